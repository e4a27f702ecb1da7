// Checks of a whole configuration, after the file and the command line are read: every number
// within its range (option_table()), and what no single option can check alone (a TLS port
// among the SMTP ports, a timeout shorter than its interval, names that are DNS names, a hook
// the webhook names). Errors name the option as the operator gave it (Origins).
#pragma once

#include "base/addr.h"
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

// Whether two listeners cannot both be bound (Linux, IPV6_V6ONLY off as the agent binds): the
// same port, and the same address, or either a wildcard covering the other: "::" covers every
// address (a dual-stack socket), "0.0.0.0" every IPv4 one. Addresses that do not parse: false.
bool listeners_overlap(const ListenAddress& a, const ListenAddress& b);

// A warning about a configuration that is valid: where it is ("FILE:LINE", "--flag", "FILE"
// for a default, "" without a file; Origins::prefix()) and what ("KEY.PATH: reason", one line).
struct ConfigWarning {
    std::string where;
    std::string message;
    // "WHERE: MESSAGE", or the message alone without a where.
    std::string text() const;
};

// What is allowed but likely a mistake, or not on this host now but possibly later, one each
// (check-config prints them and still exits 0; the agent logs them at start and reload): an
// interface this host does not have, a hook program that cannot be run (missing, not a
// regular file, not executable: the system's reason), MX hosts of one domain sharing an
// address, probes.targets entries that can be no target. `origins` gives each its line.
std::vector<ConfigWarning> config_warnings(const AgentOptions& o,
                                           const Origins& origins = Origins());

} // namespace mxs
