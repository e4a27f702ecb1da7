// The judged targets: the configured domains with what discovery found, the DNS servers, and
// the name servers of `authoritative` domains.
#pragma once

#include "config/options.h"
#include "health/failover_store.h"
#include "health/health.h"
#include "probes/discovery.h"

#include <map>
#include <string>
#include <vector>

namespace mxs {

/// What the agent judges and probes after a configuration or discovery change.
struct TargetPlan {
    std::vector<Domain> domains;  // configured, a discovered domain with its MX hosts
    std::vector<std::string> dns; // the judged DNS servers, then the name servers found
    // NS address -> the `authoritative` domains it serves (for dns_roles()).
    std::map<std::string, std::vector<std::string>> zones;
    std::vector<std::string> mx_addresses; // every MX host's addresses, domain by domain
};

/// The plan from the configured domains and DNS servers and what discovery found so far.
/// While a discovered domain is failed over, its MX hosts keep the order they had before the
/// switch (keep_order(): the switched order DNS now serves is not the operator's preference):
/// the order the monitor holds (`states`), else the one the state file kept (`failed_over`).
TargetPlan plan_targets(const std::vector<Domain>& configured,
                        const std::vector<std::string>& dns_servers,
                        const std::map<std::string, DiscoveredDomain>& discovered,
                        const std::vector<DomainStatus>& states,
                        const std::map<std::string, FailoverStore::FailedOver>& failed_over);

} // namespace mxs
