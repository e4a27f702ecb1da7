#include "audit/checks.h"

#include "base/shown.h"
#include "config/dns_names.h"

#include <algorithm>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mxs {
namespace {

Finding found(const char* check, const std::string& target, AuditStatus s, std::string detail) {
    return {check, target, s, std::move(detail)};
}

// Why a query got no usable answer, or "" when it got one (any rcode).
std::string no_answer(const DnsReply& r) {
    if (!r.failure.empty())
        return r.failure == "timeout" ? "no answer (timeout)" : "no answer (" + r.failure + ")";
    return r.rcode < 0 ? "no answer" : "";
}

std::vector<const DnsRecord*> of_type(const DnsReply& r, int type) {
    std::vector<const DnsRecord*> out;
    for (const auto& a : r.answers)
        if (a.type == type)
            out.push_back(&a);
    return out;
}

const char* rcode_text(int rcode) {
    switch (rcode) {
    case ns_r_noerror:
        return "NOERROR";
    case ns_r_formerr:
        return "FORMERR";
    case ns_r_servfail:
        return "SERVFAIL";
    case ns_r_nxdomain:
        return "NXDOMAIN";
    case ns_r_notimpl:
        return "NOTIMP";
    case ns_r_refused:
        return "REFUSED";
    default:
        return "another rcode";
    }
}

} // namespace

std::string resolver_failure(const DnsReply& r) {
    if (auto why = no_answer(r); !why.empty())
        return why;
    if (r.rcode != ns_r_noerror && r.rcode != ns_r_nxdomain)
        return fmt::format("answered {}", rcode_text(r.rcode));
    return "";
}

Finding judge_mx_present(const std::string& domain, const DnsReply& mx, bool null_mx_declared) {
    if (auto why = no_answer(mx); !why.empty())
        return found("mx_present", domain, AuditStatus::unknown, "MX query: " + why);
    if (mx.rcode == ns_r_nxdomain)
        return found("mx_present", domain, AuditStatus::critical, "the domain does not exist");
    if (mx.rcode != ns_r_noerror)
        return found("mx_present", domain, AuditStatus::unknown,
                     fmt::format("MX query answered {}", rcode_text(mx.rcode)));
    const auto records = of_type(mx, ns_t_mx);
    if (records.empty())
        return found("mx_present", domain, AuditStatus::critical,
                     "no MX records: senders deliver to the domain's own address (RFC 5321 5.1)");
    // A host listed twice (any case) is one host; a null MX ("0 .") is none.
    std::vector<std::string> hosts;
    bool has_null = false;
    for (const auto* r : records) {
        const auto host = dns_key(r->data);
        if (host.empty())
            has_null = true;
        else if (std::none_of(hosts.begin(), hosts.end(), [&](const std::string& h) {
                     return h.substr(h.find(' ') + 1) == host;
                 }))
            hosts.push_back(fmt::format("{} {}", r->preference, host));
    }
    if (has_null && !hosts.empty())
        return found("mx_present", domain, AuditStatus::critical,
                     fmt::format("a null MX beside other MX records ({}): a domain with a null MX "
                                 "must have no other (RFC 7505 3); senders may take it for a "
                                 "domain that takes no mail",
                                 fmt::join(hosts, ", ")));
    const bool null_mx = has_null;
    if (null_mx_declared)
        return null_mx ? found("mx_present", domain, AuditStatus::ok,
                               "a null MX, as declared: the domain accepts no mail (RFC 7505)")
                       : found("mx_present", domain, AuditStatus::critical,
                               "declared to take no mail, but it has no null MX (RFC 7505)");
    if (null_mx)
        return found("mx_present", domain, AuditStatus::critical,
                     "a null MX: the domain accepts no mail (RFC 7505)");
    if (hosts.size() == 1)
        return found("mx_present", domain, AuditStatus::warning,
                     fmt::format("one MX host ({}): nothing to fail over to", hosts[0]));
    return found("mx_present", domain, AuditStatus::ok,
                 fmt::format("{} MX hosts: {}", hosts.size(), fmt::join(hosts, ", ")));
}

Finding judge_mx_target(const std::string& host, const DnsReply& a) {
    if (is_address(host) || (host.size() > 2 && host.front() == '['))
        return found("mx_target_valid", host, AuditStatus::critical,
                     "an address literal, not a host name (RFC 5321 5.1)");
    if (auto why = resolver_failure(a); !why.empty())
        return found("mx_target_valid", host, AuditStatus::unknown, "A query: " + why);
    for (const auto* c : of_type(a, ns_t_cname))
        if (dns_key(c->name) == dns_key(host))
            return found("mx_target_valid", host, AuditStatus::critical,
                         fmt::format("an alias (CNAME to {}); an MX target must not be one "
                                     "(RFC 2181 10.3)",
                                     dns_key(c->data)));
    return found("mx_target_valid", host, AuditStatus::ok, "a host name, not an alias");
}

Finding judge_mx_resolves(const std::string& host, const std::vector<std::string>& addresses,
                          const std::map<std::string, std::string>& connects) {
    if (addresses.empty())
        return found("mx_resolves", host, AuditStatus::critical, "no A or AAAA records");
    std::vector<std::string> failed, unreachable;
    for (const auto& a : addresses) {
        const auto it = connects.find(a);
        if (it == connects.end())
            failed.push_back(a + " not tried");
        else if (it->second == "unreachable from this host" || it->second == "deadline")
            unreachable.push_back(
                a + (it->second == "deadline" ? " (the audit's deadline passed)" : " (no route)"));
        else if (!it->second.empty())
            failed.push_back(fmt::format("{} {}", a, it->second));
    }
    const auto answering = addresses.size() - failed.size() - unreachable.size();
    if (answering == 0 && failed.empty())
        return found("mx_resolves", host, AuditStatus::unknown,
                     fmt::format("not reached from this host: {}", fmt::join(unreachable, ", ")));
    if (!failed.empty())
        return found("mx_resolves", host,
                     answering == 0 ? AuditStatus::critical : AuditStatus::warning,
                     fmt::format("port 25 does not answer at {}", fmt::join(failed, ", ")));
    return found(
        "mx_resolves", host, AuditStatus::ok,
        fmt::format("{} of {} address(es) accept connections", answering, addresses.size()));
}

Finding judge_mx_ttl(const std::string& domain, std::uint32_t ttl, std::uint32_t min_s,
                     std::uint32_t max_s, bool failed_over) {
    if (ttl < min_s && failed_over)
        return found("mx_ttl", domain, AuditStatus::ok,
                     fmt::format("MX TTL {} s, below {} s while the domain is failed over (short "
                                 "on purpose until the failback)",
                                 ttl, min_s));
    if (ttl < min_s || ttl > max_s)
        return found("mx_ttl", domain, AuditStatus::warning,
                     fmt::format("MX TTL {} s is outside {} to {} s", ttl, min_s, max_s));
    return found("mx_ttl", domain, AuditStatus::ok, fmt::format("MX TTL {} s", ttl));
}

Finding judge_ns_count(const std::string& domain, const std::vector<std::string>& ns,
                       const std::vector<std::string>& addresses, bool addresses_unknown) {
    if (ns.size() < 2)
        return found("ns_count", domain, AuditStatus::critical,
                     fmt::format("{} name server{}: at least two are needed (RFC 1034 4.1)",
                                 ns.size(), ns.size() == 1 ? "" : "s"));
    if (addresses.empty() && addresses_unknown)
        return found("ns_count", domain, AuditStatus::unknown,
                     fmt::format("{} name servers, their addresses not learned (the resolver "
                                 "failed)",
                                 ns.size()));
    if (addresses.empty())
        return found("ns_count", domain, AuditStatus::critical,
                     fmt::format("{} name servers, none with an address: {}", ns.size(),
                                 fmt::join(ns, ", ")));
    if (addresses.size() == 1 && !addresses_unknown)
        return found("ns_count", domain, AuditStatus::critical,
                     fmt::format("{} name servers on one address ({}): one server (RFC 2182 5)",
                                 ns.size(), addresses.front()));
    return found("ns_count", domain, AuditStatus::ok,
                 fmt::format("{} name servers: {}", ns.size(), fmt::join(ns, ", ")));
}

Finding judge_ns_transport(const std::string& check, const std::string& address,
                           const std::string& zone, const DnsReply& soa) {
    const auto* c = check.c_str();
    if (soa.failure == "unreachable") // no route from the auditing host: nothing learned
        return found(c, address, AuditStatus::unknown,
                     fmt::format("SOA {}: no route from this host", zone));
    if (soa.failure == "deadline") // not asked: the audit's deadline passed
        return found(c, address, AuditStatus::unknown,
                     fmt::format("SOA {}: not asked, the audit's deadline passed", zone));
    if (auto why = no_answer(soa); !why.empty())
        return found(c, address, AuditStatus::critical, fmt::format("SOA {}: {}", zone, why));
    if (soa.rcode != ns_r_noerror)
        return found(c, address, AuditStatus::critical,
                     fmt::format("SOA {}: {}", zone, rcode_text(soa.rcode)));
    if (!soa.authoritative)
        return found(c, address, AuditStatus::critical,
                     fmt::format("SOA {}: not authoritative (AA clear)", zone));
    if (of_type(soa, ns_t_soa).size() != 1)
        return found(c, address, AuditStatus::critical,
                     fmt::format("SOA {}: no SOA record in the answer", zone));
    return found(
        c, address, AuditStatus::ok,
        fmt::format("SOA {} serial {}, authoritative", zone, of_type(soa, ns_t_soa)[0]->serial));
}

Finding judge_prefix_diversity(const std::string& domain,
                               const std::vector<std::string>& addresses) {
    std::set<std::string> v4, v6;
    std::size_t n4 = 0, n6 = 0;
    for (const auto& a : addresses) {
        unsigned char b[16];
        if (inet_pton(AF_INET, a.c_str(), b) == 1) {
            ++n4;
            v4.insert(fmt::format("{}.{}.{}.0/24", b[0], b[1], b[2]));
        } else if (inet_pton(AF_INET6, a.c_str(), b) == 1) {
            ++n6;
            v6.insert(fmt::format("{:02x}{:02x}:{:02x}{:02x}:{:02x}{:02x}::/48", b[0], b[1], b[2],
                                  b[3], b[4], b[5]));
        }
    }
    if (n4 >= 2 && v4.size() == 1)
        return found("ns_prefix_diversity", domain, AuditStatus::warning,
                     fmt::format("all {} IPv4 addresses of the name servers are in {} "
                                 "(RFC 2182 3.1: separate networks)",
                                 n4, *v4.begin()));
    if (n6 >= 2 && v6.size() == 1)
        return found("ns_prefix_diversity", domain, AuditStatus::warning,
                     fmt::format("all {} IPv6 addresses of the name servers are in {} "
                                 "(RFC 2182 3.1: separate networks)",
                                 n6, *v6.begin()));
    return found("ns_prefix_diversity", domain, AuditStatus::ok,
                 fmt::format("{} IPv4 /24 and {} IPv6 /48 prefixes", v4.size(), v6.size()));
}

Finding judge_serials(const std::string& domain,
                      const std::map<std::string, std::optional<std::uint32_t>>& serials,
                      double differ_s, double grace_s, const std::set<std::string>& silent) {
    std::map<std::uint32_t, std::vector<std::string>> by_serial;
    for (const auto& [addr, s] : serials)
        if (s)
            by_serial[*s].push_back(addr);
    if (by_serial.empty())
        return found("soa_serial_consistent", domain, AuditStatus::unknown,
                     "no name server gave a serial");
    if (by_serial.size() == 1)
        return found("soa_serial_consistent", domain, AuditStatus::ok,
                     fmt::format("serial {} everywhere", by_serial.begin()->first));
    std::set<std::uint32_t> answering;
    for (const auto& [addr, s] : serials)
        if (s && !silent.count(addr))
            answering.insert(*s);
    if (answering.size() <= 1)
        return found("soa_serial_consistent", domain, AuditStatus::unknown,
                     fmt::format("the serials differed, then {} stopped answering; the servers "
                                 "that still answer agree",
                                 fmt::join(silent, ", ")));
    std::vector<std::string> parts;
    for (const auto& [serial, addrs] : by_serial)
        parts.push_back(fmt::format("{} at {}", serial, fmt::join(addrs, ", ")));
    if (differ_s < grace_s)
        return found("soa_serial_consistent", domain, AuditStatus::ok,
                     fmt::format("serials differ for {:.0f} s, within the grace of {:g} s: {}",
                                 differ_s, grace_s, fmt::join(parts, "; ")));
    return found(
        "soa_serial_consistent", domain, AuditStatus::critical,
        fmt::format("serials differ for {:.0f} s and more: {}", differ_s, fmt::join(parts, "; ")));
}

Finding judge_ns_sets(const std::string& domain,
                      const std::map<std::string, std::set<std::string>>& sets) {
    std::map<std::set<std::string>, std::vector<std::string>> by_set;
    for (const auto& [addr, s] : sets)
        by_set[s].push_back(addr);
    if (by_set.empty())
        return found("ns_set_consistent", domain, AuditStatus::unknown,
                     "no name server gave its NS records");
    if (by_set.size() == 1)
        return found(
            "ns_set_consistent", domain, AuditStatus::ok,
            fmt::format("the same NS set everywhere: {}", fmt::join(by_set.begin()->first, ", ")));
    std::vector<std::string> parts;
    for (const auto& [set, addrs] : by_set)
        parts.push_back(fmt::format("{{{}}} at {}", fmt::join(set, ", "), fmt::join(addrs, ", ")));
    return found("ns_set_consistent", domain, AuditStatus::critical,
                 fmt::format("the NS sets differ: {}", fmt::join(parts, "; ")));
}

Finding
judge_fcrdns(const std::string& address, const DnsReply& ptr,
             const std::map<std::string, std::optional<std::vector<std::string>>>& forward) {
    if (auto why = resolver_failure(ptr); !why.empty())
        return found("ptr_fcrdns", address, AuditStatus::unknown, "PTR query: " + why);
    const auto names = of_type(ptr, ns_t_ptr);
    if (names.empty())
        return found("ptr_fcrdns", address, AuditStatus::warning,
                     "no PTR record: receivers that check reverse DNS distrust the host");
    std::vector<std::string> tried, unknown;
    for (const auto* n : names) {
        const auto name = dns_key(n->data);
        const auto it = forward.find(name);
        if (it == forward.end())
            continue; // past the bound on PTR names
        if (!it->second)
            unknown.push_back(name);
        else if (std::find(it->second->begin(), it->second->end(), address) != it->second->end())
            return found("ptr_fcrdns", address, AuditStatus::ok,
                         fmt::format("PTR {} resolves back to it", name));
        else
            tried.push_back(name);
    }
    if (!unknown.empty())
        return found("ptr_fcrdns", address, AuditStatus::unknown,
                     fmt::format("PTR {}: the address lookup failed", fmt::join(unknown, ", ")));
    return found("ptr_fcrdns", address, AuditStatus::warning,
                 fmt::format("PTR {} does not resolve back to it", fmt::join(tried, ", ")));
}

Finding judge_smtp_accepts(const std::string& host, const std::string& address,
                           const SmtpSessionFacts& s) {
    const char* check = "smtp_accepts_domain";
    if (!s.rcpt_answered) {
        // No connection: nothing learned about the domain's mail (mx_resolves judges whether
        // port 25 answers). A 5xx greeting refuses every session (RFC 5321 §3.1); anything
        // else that stopped the dialogue makes senders try again later.
        if (!s.connected || s.failure.rfind("deadline", 0) == 0)
            return found(check, host, AuditStatus::unknown,
                         fmt::format("{}: not asked: {}", address,
                                     s.failure.empty() ? "no connection" : s.failure));
        if (s.stop_code / 100 == 5 && s.failure.rfind("greeting", 0) == 0)
            return found(check, host, AuditStatus::critical,
                         fmt::format("{}: refuses every session: {}", address, s.failure));
        std::string why = s.failure;
        if (why.empty())
            why = "STARTTLS failed: " +
                  (s.tls_error.empty() ? std::string("no reason given") : s.tls_error);
        return found(check, host, AuditStatus::warning,
                     fmt::format("{}: RCPT not asked: {}", address, why));
    }
    if (s.rcpt_code / 100 == 2)
        return found(
            "smtp_accepts_domain", host, AuditStatus::ok,
            fmt::format("{}: RCPT TO:<postmaster@...> answered {}", address, s.rcpt_reply));
    if (s.rcpt_code / 100 == 5)
        return found("smtp_accepts_domain", host, AuditStatus::critical,
                     fmt::format("{}: would bounce the domain's mail: {}", address, s.rcpt_reply));
    if (s.rcpt_code / 100 == 4)
        return found("smtp_accepts_domain", host, AuditStatus::warning,
                     fmt::format("{}: defers the domain's mail: {}", address, s.rcpt_reply));
    return found(
        "smtp_accepts_domain", host, AuditStatus::warning,
        fmt::format("{}: an answer that is no SMTP reply code: {}", address, s.rcpt_reply));
}

Finding judge_starttls_consistent(const std::string& host, bool primary_offers, bool offers,
                                  bool is_primary) {
    if (!is_primary && primary_offers && !offers)
        return found("starttls_consistent", host, AuditStatus::warning,
                     "no STARTTLS, which the primary offers: mail would travel in clear "
                     "during a failover");
    return found("starttls_consistent", host, AuditStatus::ok,
                 offers ? "offers STARTTLS" : "no STARTTLS (nor the primary)");
}

std::optional<Finding> judge_tls_name(const std::string& host, const SmtpSessionFacts& s,
                                      std::int64_t now) {
    if (!s.starttls)
        return std::nullopt;
    if (!s.tls)
        return found("tls_name_matches", host, AuditStatus::warning,
                     "STARTTLS offered, the handshake failed: " + s.tls_error);
    if (!s.cert_seen)
        return found("tls_name_matches", host, AuditStatus::warning, "no certificate shown");
    std::tm tm{};
    const auto t = static_cast<std::time_t>(s.not_after);
    gmtime_r(&t, &tm);
    const auto until =
        fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (s.not_after <= now)
        return found("tls_name_matches", host, AuditStatus::critical,
                     "the certificate expired on " + until);
    if (!s.name_matches)
        return found("tls_name_matches", host, AuditStatus::warning,
                     "the certificate does not cover " + host + " (RFC 6125)");
    if (!s.chain_error.empty())
        return found("tls_name_matches", host, AuditStatus::warning,
                     "the certificate does not verify: " + s.chain_error);
    if (s.not_after - now < 14 * 86400)
        return found("tls_name_matches", host, AuditStatus::warning,
                     "the certificate expires on " + until);
    return found("tls_name_matches", host, AuditStatus::ok,
                 "the certificate covers it, valid until " + until);
}

std::vector<Finding> judge_mta_sts(const std::string& domain, const DnsReply& txt,
                                   const HttpsResponse* policy,
                                   const std::vector<std::string>& hosts) {
    const char* check = "mta_sts_covers_mx";
    if (auto why = resolver_failure(txt); !why.empty())
        return {found(check, domain, AuditStatus::unknown, "_mta-sts TXT query: " + why)};
    std::size_t records = 0;
    for (const auto* r : of_type(txt, ns_t_txt))
        records += is_mta_sts_record(r->data) ? 1 : 0;
    if (records == 0)
        return {found(check, domain, AuditStatus::ok, "no MTA-STS policy announced")};
    if (records > 1) // RFC 8461 3.1: then senders assume no policy
        return {found(check, domain, AuditStatus::warning,
                      fmt::format("{} _mta-sts TXT records: senders see no policy (RFC 8461 "
                                  "3.1)",
                                  records))};
    if (!policy)
        return {found(check, domain, AuditStatus::warning,
                      "MTA-STS announced, but mta-sts." + domain + " has no address")};
    if (!policy->error.empty() || policy->status != 200)
        return {found(check, domain, AuditStatus::warning,
                      fmt::format("MTA-STS announced, the policy not fetched: {} (RFC 8461 "
                                  "3.3)",
                                  policy->error.empty() ? fmt::format("HTTP {}", policy->status)
                                                        : policy->error))};
    // RFC 8461 §3.2: the policy is served as text/plain, and senders may check it.
    auto type = policy->content_type.substr(0, policy->content_type.find(';'));
    type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (type != "text/plain")
        return {found(check, domain, AuditStatus::warning,
                      fmt::format("the MTA-STS policy is served as {}, not text/plain: senders "
                                  "may ignore it (RFC 8461 3.2)",
                                  policy->content_type.empty() ? std::string("no media type")
                                                               : shown(policy->content_type)))};
    const auto p = parse_mta_sts_policy(policy->body);
    if (!p)
        return {found(check, domain, AuditStatus::warning,
                      "the MTA-STS policy is malformed: " + p.error())};
    if (p->mode == "none")
        return {found(check, domain, AuditStatus::ok, "MTA-STS mode none")};
    std::vector<Finding> out;
    for (const auto& h : hosts) {
        const bool covered = std::any_of(p->mx.begin(), p->mx.end(), [&](const auto& pattern) {
            return mx_pattern_matches(pattern, h);
        });
        if (covered)
            out.push_back(found(check, h, AuditStatus::ok,
                                fmt::format("covered by the MTA-STS policy ({})", p->mode)));
        else
            out.push_back(
                found(check, h, p->mode == "enforce" ? AuditStatus::critical : AuditStatus::warning,
                      fmt::format("matches no mx of the MTA-STS policy ({}: {}): senders enforcing "
                                  "it refuse to deliver here",
                                  p->mode, fmt::join(p->mx, ", "))));
    }
    return out;
}

std::optional<std::string> reverse_name(const std::string& address) {
    unsigned char b[16];
    if (inet_pton(AF_INET, address.c_str(), b) == 1)
        return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
    if (inet_pton(AF_INET6, address.c_str(), b) != 1)
        return std::nullopt;
    std::string out;
    for (int i = 15; i >= 0; --i)
        out += fmt::format("{:x}.{:x}.", b[i] & 0xf, b[i] >> 4);
    return out + "ip6.arpa";
}

} // namespace mxs
