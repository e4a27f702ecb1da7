// `mxsense audit DOMAIN...`: the mail-domain audit on the command line, exit codes as
// monitoring plugins give them (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
#pragma once

#include "audit/audit_policy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace mxs {

/// The audit subcommand's arguments and its run.
struct AuditCommand : AuditPolicy {
    CLI::App* cmd = nullptr;
    std::vector<std::string> domains;
    bool json = false;
    std::string resolver; // empty: the first nameserver of /etc/resolv.conf
    double timeout_s = 5;
    double deadline_s = 0; // the whole audit's bound, seconds; 0: none
    std::vector<std::string> checks;
    std::vector<std::string> null_mx; // domains declared to take no mail
    std::string ehlo_name;            // empty: this host's name

    /// Adds the `audit` subcommand to app.
    void add_to(CLI::App& app);
    /// Runs the audit of every domain and prints the findings; the exit code (0 to 3).
    int run() const;
};

} // namespace mxs
