// What the probes did, for the views (mxsense_probe_*, mxsense_discovery_*).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace mxs {

// What the probes did: runs by (kind, target, result), the last run's duration (seconds) by
// (kind, target), rounds a target was skipped because passive traffic already judged it, and
// discovery's lookups (Discovery counts them here).
struct ProbeCounts {
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> runs;
    std::map<std::pair<std::string, std::string>, double> last_seconds;
    std::map<std::pair<std::string, std::string>, std::uint64_t> skipped;
    std::uint64_t discovery_lookups = 0;
    std::uint64_t discovery_failures = 0;
};

} // namespace mxs
