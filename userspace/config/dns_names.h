// Names and addresses in the configuration: what is a DNS name, an IP address, an RR type.
#pragma once

#include "base/result.h"

#include <optional>
#include <string>

namespace mxs {

// Whether a is an IPv4 or IPv6 address in text form.
bool is_address(const std::string& a);

// Whether name is a DNS name (RFC 1035 §2.3.4: labels of 1-63 octets, 253 in all without the
// final dot; letters, digits, '-' and '_'); the error says what breaks it ("an empty label").
// "." is the root, allowed only where `root` says.
Result<> check_dns_name(const std::string& name, bool root);

// The RR type code of the names probes accept (A, AAAA, NS, MX, SOA, TXT; any case).
std::optional<int> dns_type_code(const std::string& name);

// A DNS name compared as DNS compares names: lower case, without the final dot.
std::string dns_name_key(const std::string& name);

} // namespace mxs
