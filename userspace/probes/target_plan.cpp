#include "probes/target_plan.h"

#include <algorithm>

namespace mxs {

TargetPlan plan_targets(const std::vector<Domain>& configured,
                        const std::vector<std::string>& dns_servers,
                        const std::map<std::string, DiscoveredDomain>& discovered,
                        const std::vector<DomainStatus>& states,
                        const std::map<std::string, FailoverStore::FailedOver>& failed_over) {
    TargetPlan p{configured, dns_servers, {}, {}};
    for (auto& d : p.domains) {
        const auto it = discovered.find(d.name);
        if (it == discovered.end())
            continue;
        if (d.discover) {
            d.mx = it->second.mx;
            for (const auto& st : states)
                if (st.name == d.name && st.failover_active) {
                    const auto f = failed_over.find(d.name);
                    d.mx = keep_order(std::move(d.mx), !st.mx.empty() || f == failed_over.end()
                                                           ? st.mx
                                                           : f->second.order);
                }
        }
        for (const auto& a : it->second.auth_servers) {
            if (std::find(p.dns.begin(), p.dns.end(), a) == p.dns.end())
                p.dns.push_back(a);
            if (d.authoritative)
                p.zones[a].push_back(d.name);
        }
    }
    for (const auto& d : p.domains)
        for (const auto& m : d.mx)
            p.mx_addresses.insert(p.mx_addresses.end(), m.addresses.begin(), m.addresses.end());
    return p;
}

} // namespace mxs
