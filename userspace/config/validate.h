// Checks of a whole configuration, after the file and the command line are read: every number
// within its range (option_table()), and what no single option can check alone (a TLS port
// among the SMTP ports, a timeout shorter than its interval, names that are DNS names, a hook
// the webhook names). Errors name the option as the operator gave it (Origins).
#pragma once

#include "base/result.h"
#include "config/dns_names.h"
#include "config/options.h"
#include "config/origins.h"

#include <optional>
#include <string>
#include <vector>

namespace mxs {

// Fine when the options are usable, else one line naming what is wrong. `origins` says where
// each option came from; without it, errors name the YAML keys.
Result<> validate(const AgentOptions& o, const Origins& origins = Origins());

// What is allowed but likely a mistake, one line each (check-config prints them, the
// agent logs them at start and reload): MX hosts of one domain sharing an address,
// probes.targets entries that can be no target.
std::vector<std::string> config_warnings(const AgentOptions& o);

} // namespace mxs
