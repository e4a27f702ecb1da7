// How one hook runs: its command and its timing. A configured hook (config/options.h
// HookConfig) extends this with the events that fire it, so each default is written here only.
#pragma once

#include <string>
#include <vector>

namespace mxs {

/// One hook's command line and timing (seconds).
struct HookSpec {
    std::string name;
    std::vector<std::string> argv; // executed without a shell
    double timeout_s = 30;         // per attempt, then the attempt is killed
    double cooldown_s = 60;        // after a finished run, before the next may start
    unsigned retries = 2;          // further attempts after a failed one
    double backoff_s = 5;          // before the first retry; doubled after each failed attempt

    bool operator==(const HookSpec&) const = default;
};

} // namespace mxs
