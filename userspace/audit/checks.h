// The audit's judgements, each from facts already gathered (auditor.cpp asks the DNS and
// connects): pure functions, one per check name, so each rule is tested without a network.
#pragma once

#include "audit/mta_sts.h"
#include "audit/report.h"
#include "audit/smtp_session.h"
#include "probes/dns_message.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mxs {

/// mx_present: the domain's MX RRset (asked of the resolver). CRITICAL without MX (mail then
/// goes to the domain's own address, RFC 5321 §5.1, rarely what the operator wants), for a
/// null MX (RFC 7505: the domain takes no mail), and for NXDOMAIN; WARNING for one MX host
/// (nothing to fail over to); UNKNOWN when the resolver gave no answer.
/// `null_mx_declared`: the operator says the domain takes no mail; its null MX is then OK (and
/// any other MX set CRITICAL: it would take mail the domain declared it does not).
Finding judge_mx_present(const std::string& domain, const DnsReply& mx,
                         bool null_mx_declared = false);

/// mx_target_valid: an MX target is a host name with address records, not an address literal
/// and not an alias (RFC 5321 §5.1 and RFC 2181 §10.3: "MUST NOT be an alias"). `a` is the
/// answer to the target's A query (a CNAME shows in it).
Finding judge_mx_target(const std::string& host, const DnsReply& a);

/// Why the resolver's reply tells nothing about the name, or "" when it does: a reply with
/// NOERROR or NXDOMAIN is a fact about the name; no reply, SERVFAIL, REFUSED and the other
/// rcodes are the resolver's trouble (a non-recursive server, an ACL, a broken chain), so a
/// check that needs the answer is UNKNOWN, never OK or CRITICAL.
std::string resolver_failure(const DnsReply& r);

/// mx_resolves: the host has A or AAAA records, and its addresses accept a connection on the
/// SMTP port (`connects`: address -> "" when it did, else why not: refused, timeout, ...).
/// CRITICAL when none does; WARNING when some do (senders try the next address, RFC 5321
/// §5.1); an address this host cannot reach at all (no route) is not held against it.
Finding judge_mx_resolves(const std::string& host, const std::vector<std::string>& addresses,
                          const std::map<std::string, std::string>& connects);

/// mx_ttl: the MX RRset's TTL (seconds, as an authoritative server gives it) within
/// [min_s, max_s]; about an hour is the usual advice, short only while failing over: for a
/// domain that is failed over (`failed_over`) a TTL below the band is noted, not a warning.
Finding judge_mx_ttl(const std::string& domain, std::uint32_t ttl, std::uint32_t min_s,
                     std::uint32_t max_s, bool failed_over = false);

/// ns_count: at least two name servers (RFC 1034 §4.1; RFC 2182 §5), on at least two
/// addresses (two names for one address are one server). `addresses_unknown`: a name server's
/// address lookup failed (resolver_failure()), so no address is no fault of the domain's.
Finding judge_ns_count(const std::string& domain, const std::vector<std::string>& ns,
                       const std::vector<std::string>& addresses, bool addresses_unknown = false);

/// ns_udp, ns_tcp: the name server at `address` answers the zone's SOA with NOERROR, AA set
/// and one SOA record (RFC 1035 §4.1.1; TCP is required, RFC 7766 §5).
Finding judge_ns_transport(const std::string& check, const std::string& address,
                           const std::string& zone, const DnsReply& soa);

/// ns_prefix_diversity: not every IPv4 address of the name servers in one /24, nor every IPv6
/// address in one /48 (RFC 2182 §3.1: name servers on separate networks).
Finding judge_prefix_diversity(const std::string& domain,
                               const std::vector<std::string>& addresses);

/// soa_serial_consistent: every name server serves the same SOA serial (`serials`: address ->
/// serial, nullopt when it gave none). Serials that differ are CRITICAL once they have differed
/// for `grace_s` (a change propagating, RFC 1996 NOTIFY then a transfer); `differ_s`: seconds
/// they have differed so far (this run's wait, or since an earlier run of the agent saw it).
/// `silent`: servers whose serial is from an earlier round (they stopped answering since);
/// when only they disagree the finding is UNKNOWN (nothing shows they still do).
Finding judge_serials(const std::string& domain,
                      const std::map<std::string, std::optional<std::uint32_t>>& serials,
                      double differ_s, double grace_s, const std::set<std::string>& silent = {});

/// ns_set_consistent: every name server serves the same NS RRset (`sets`: address -> the NS
/// names it gave, lower case without the final dot).
Finding judge_ns_sets(const std::string& domain,
                      const std::map<std::string, std::set<std::string>>& sets);

/// ptr_fcrdns: the MX address has a PTR record whose name resolves back to it (forward-
/// confirmed reverse DNS, RFC 8601 §3's "iprev"). `ptr`: the PTR answer; `forward`: each PTR
/// name -> its addresses, nullopt when its lookup failed (resolver_failure()).
Finding judge_fcrdns(const std::string& address, const DnsReply& ptr,
                     const std::map<std::string, std::optional<std::vector<std::string>>>& forward);

/// smtp_accepts_domain: the MX host (primary or backup) accepts RCPT TO:<postmaster@DOMAIN>
/// (RFC 5321 §4.5.1). A 5xx: it would bounce the domain's mail during a failover (CRITICAL);
/// a 4xx: it defers (WARNING); no dialogue at all: CRITICAL.
Finding judge_smtp_accepts(const std::string& host, const std::string& address,
                           const SmtpSessionFacts& s);

/// starttls_consistent: a backup offers STARTTLS when the primary does (WARNING: mail that was
/// encrypted to the primary would travel in clear during a failover).
Finding judge_starttls_consistent(const std::string& host, bool primary_offers, bool offers,
                                  bool is_primary);

/// tls_name_matches: the certificate an MX host shows after STARTTLS covers its host name
/// (RFC 6125; MTA-STS, RFC 8461 §4.2, and DANE senders refuse otherwise) and verifies against
/// the trust store; CRITICAL once expired, WARNING within 14 days of it. nullopt without
/// STARTTLS (starttls_consistent judges that). `now`: Unix seconds.
std::optional<Finding> judge_tls_name(const std::string& host, const SmtpSessionFacts& s,
                                      std::int64_t now);

/// mta_sts_covers_mx: with an MTA-STS policy announced (a _mta-sts TXT "v=STSv1"), every MX
/// host matches one of its mx patterns: senders that enforce it refuse to deliver to a host
/// that matches none (RFC 8461 §4.1, §5) -- a backup left out is the failover that never
/// works. CRITICAL in enforce mode, WARNING in testing; a policy announced but not fetched or
/// malformed is a WARNING (senders then go on without it, §3.3). `txt`: the _mta-sts TXT
/// answer; `policy`: the HTTPS GET of /.well-known/mta-sts.txt (nullptr: no address for
/// mta-sts.DOMAIN); `hosts`: the MX hosts.
std::vector<Finding> judge_mta_sts(const std::string& domain, const DnsReply& txt,
                                   const HttpsResponse* policy,
                                   const std::vector<std::string>& hosts);

/// The reverse-lookup name of an address ("4.3.2.1.in-addr.arpa", the ip6.arpa nibbles), or
/// nullopt for no address.
std::optional<std::string> reverse_name(const std::string& address);

} // namespace mxs
