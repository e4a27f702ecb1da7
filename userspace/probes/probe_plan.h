// What the probes ask each DNS server, by its role, and how its answer is read.
//
// A resolver (dns_servers, resolv.conf) is asked recursively (RD=1) for a name
// the operator depends on: probes.dns_name/dns_type, else each configured
// domain's MX in turn, else ". NS". An authoritative server (a domain's NS, with
// `authoritative: true`) is asked its zone's SOA without recursion (RD=0) and
// must answer NOERROR with AA=1 (RFC 1035 4.1.1); REFUSED for its own zone is a
// failure. probes.targets overrides role and question per address.
#pragma once

#include "config/options.h"
#include "probes/dns_message.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mxs {

struct DnsQuestion {
    std::string name;
    int type = 0;
    bool recursion = true;     // RD
    bool authoritative = true; // the answer must carry AA=1 and NOERROR
    bool operator==(const DnsQuestion&) const = default;
};

// A DNS target's role and the questions it is asked (one per probe round, in turn).
struct DnsRole {
    std::string role; // resolver | authoritative
    std::vector<DnsQuestion> questions;
    // "resolver", "authoritative for example.test": for the views.
    std::string describe() const;
};

// The role of every judged DNS server: `resolvers` (dns_servers or resolv.conf),
// `zones` (address -> the authoritative domains whose NS it is), overrides from
// opts.probes.targets. An address that is both a resolver and a name server is
// judged as the resolver the host depends on.
std::map<std::string, DnsRole>
dns_roles(const AgentOptions& opts, const std::vector<std::string>& resolvers,
          const std::map<std::string, std::vector<std::string>>& zones);

// What tells a resolver's own failure from a domain's. A resolver answering
// SERVFAIL for a domain's question q is asked at once, on the same transport, a
// question it must be able to answer: another of its questions that was answered
// at its latest turn (`others`: each other question with whether its latest
// outcome was a failure), else `. NS` (RD=1) when no other has been asked yet.
// The SERVFAIL is taken back (excuse_servfail) and the check's outcome counts
// instead. None - the SERVFAIL counts - when every other question failed at its
// latest turn (the resolver, not one domain, is failing: its cache may still hold
// the root's NS), for `. NS` itself, and for questions without recursion (an
// authoritative server's own zone).
std::optional<DnsQuestion> servfail_check(const DnsQuestion& q,
                                          const std::vector<std::pair<DnsQuestion, bool>>& others);

// The probe's result label for an exchange: ok, timeout, refused, unreachable,
// error; rcode_servfail, rcode_refused, rcode_nxdomain (authoritative only),
// rcode_other; not_authoritative (AA=0 from an authoritative server).
std::string dns_probe_result(const DnsReply& r, const DnsQuestion& q);

} // namespace mxs
