// Warnings about a valid configuration: what it asks may not do what the operator meant.
#include "config/validate.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace mxs {

std::vector<std::string> config_warnings(const AgentOptions& o) {
    std::vector<std::string> out;
    for (const auto& d : o.domains) {
        std::map<std::string, std::string> owner; // address -> the first host with it
        for (const auto& m : d.mx)
            for (const auto& a : m.addresses)
                if (auto [it, fresh] = owner.emplace(a, m.host); !fresh && it->second != m.host)
                    out.push_back(fmt::format(
                        "domains.{}: MX hosts {} and {} share the address {}: they are judged "
                        "alike, and a failover between them cannot help",
                        d.name, it->second, m.host, a));
    }
    // Without dns_servers the judged resolvers come from resolv.conf on the agent's host,
    // and with an authoritative domain from DNS: the agent warns then, once it knows.
    const bool auth = std::any_of(o.domains.begin(), o.domains.end(),
                                  [](const Domain& d) { return d.authoritative; });
    if (!o.dns_servers.empty() && !auth)
        for (const auto& t : o.probes.targets)
            if (std::find(o.dns_servers.begin(), o.dns_servers.end(), t.address) ==
                o.dns_servers.end())
                out.push_back(fmt::format("probes.targets.{}: not a judged DNS server (not in "
                                          "dns_servers, and no domain is authoritative): the "
                                          "entry has no effect",
                                          t.address));
    return out;
}

} // namespace mxs
