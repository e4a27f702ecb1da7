// What the health monitor decided: a target went down or up, a domain failed over or back.
// The hooks (actions/hook_runner.h) and the alert webhook act on it; their environment
// carries each field as MXSENSE_<FIELD> (README "Hooks").
#pragma once

#include <string>

namespace mxs {

struct HookEvent {
    std::string event; // target_down, target_up, domain_failover, domain_failback
    std::string domain, target, from, to, state, reason;
};

} // namespace mxs
