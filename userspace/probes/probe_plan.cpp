#include "probes/probe_plan.h"

#include "config/validate.h"

#include <algorithm>
#include <arpa/nameser.h>

namespace mxs {

std::string DnsRole::describe() const {
    if (role != "authoritative" || questions.empty())
        return role;
    std::string zones;
    for (const auto& q : questions)
        zones += (zones.empty() ? "" : ", ") + q.name;
    return role + " for " + zones;
}

std::map<std::string, DnsRole>
dns_roles(const AgentOptions& opts, const std::vector<std::string>& resolvers,
          const std::map<std::string, std::vector<std::string>>& zones) {
    const auto& p = opts.probes;
    std::vector<DnsQuestion> recursive;
    if (!p.dns_name.empty()) {
        recursive.push_back(
            {p.dns_name, *dns_type_code(p.dns_type.empty() ? "MX" : p.dns_type), true, false});
    } else {
        for (const auto& d : opts.domains)
            recursive.push_back({d.name, ns_t_mx, true, false});
        if (recursive.empty())
            recursive.push_back({".", ns_t_ns, true, false});
    }
    std::map<std::string, DnsRole> out;
    for (const auto& [addr, names] : zones) {
        auto& r = out[addr];
        r.role = "authoritative";
        for (const auto& z : names)
            r.questions.push_back({z, ns_t_soa, false, true});
    }
    for (const auto& a : resolvers)
        out[a] = {"resolver", recursive};
    for (const auto& t : p.targets) {
        DnsRole r;
        r.role = t.role;
        const bool auth = t.role == "authoritative";
        if (t.name.empty())
            r.questions = recursive; // a resolver without its own question
        else
            r.questions.push_back({t.name,
                                   *dns_type_code(t.type.empty() ? (auth ? "SOA" : "MX") : t.type),
                                   !auth, auth});
        out[t.address] = std::move(r);
    }
    return out;
}

std::optional<DnsQuestion> servfail_check(const DnsQuestion& q,
                                          const std::vector<std::pair<DnsQuestion, bool>>& others) {
    if (!q.recursion || q.authoritative || (q.name == "." && q.type == ns_t_ns))
        return std::nullopt;
    if (others.empty())
        return DnsQuestion{".", ns_t_ns, true, false};
    for (const auto& [o, failed] : others)
        if (!failed && !(o == q))
            return o;
    return std::nullopt;
}

std::string dns_probe_result(const DnsReply& r, const DnsQuestion& q) {
    if (!r.failure.empty())
        return r.failure;
    switch (r.rcode) {
    case ns_r_noerror:
        return q.authoritative && !r.authoritative ? "not_authoritative" : "ok";
    case ns_r_nxdomain:
        return q.authoritative ? "rcode_nxdomain" : "ok"; // a resolver answered
    case ns_r_servfail:
        return "rcode_servfail";
    case ns_r_refused:
        return "rcode_refused";
    default:
        return "rcode_other";
    }
}

} // namespace mxs
