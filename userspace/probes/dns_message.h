// DNS messages for probes and discovery, built and read by the C library's resolver routines
// (res_mkquery, ns_initparse): a query, and what an answer says.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mxs {

struct DnsRecord {
    std::string name;
    int type = 0;
    std::uint32_t ttl = 0;
    std::string data; // address, the name (MX, NS, CNAME, PTR, SOA's MNAME), TXT's strings joined
    std::uint16_t preference = 0; // MX only
    std::uint32_t serial = 0;     // SOA only (data: the MNAME)
};

struct DnsReply {
    std::string failure; // empty: an answer came; else timeout | refused | unreachable | error
    // The query left this host (UDP sent, TCP connected and written): the kernel
    // sensor saw it. False: the exchange failed before any DNS message (a TCP
    // connect refused or timed out), which only this reply knows of.
    bool sent = false;
    int rcode = -1;
    bool authoritative = false; // AA (RFC 1035 4.1.1)
    bool truncated = false;
    std::vector<DnsRecord> answers;
    double seconds = 0; // from the first byte sent to the answer (or the failure)
};

// The query message for name/type with the given id; RD set when `recursion`
// (a resolver's question), clear for an authoritative server (RFC 1035 4.1.1).
Result<std::vector<std::uint8_t>> build_dns_query(const std::string& name, int type,
                                                  std::uint16_t id, bool recursion = true);

/// A DNS name as names are compared (RFC 4343: case-insensitively): lower case, without the
/// final dot.
std::string dns_key(std::string name);

// Reads the answer to the query with `id` for `qname`/`qtype` (class IN); answers of other types
// are kept with their type and TTL. Not an answer to that query (RFC 5452 §9.1: the ID, QR, and
// the question, the name compared case-insensitively) is an error; an error rcode may come
// without the question (FORMERR, SERVFAIL, NOTIMP, REFUSED). Of the answer section only the
// records owned by qname or by a name its CNAME chain leads to are kept (RFC 2181 §5.4.1: the
// rest proves nothing about the question).
Result<DnsReply> parse_dns_reply(const std::uint8_t* msg, std::size_t len, std::uint16_t id,
                                 const std::string& qname, int qtype);

} // namespace mxs
