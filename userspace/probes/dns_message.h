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

// Reads an answer to the query with `id`; answers of other types are kept as text.
Result<DnsReply> parse_dns_reply(const std::uint8_t* msg, std::size_t len, std::uint16_t id);

} // namespace mxs
