// MTA-STS (RFC 8461): the policy a domain publishes over HTTPS, and which MX hosts it covers.
#pragma once

#include "base/result.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mxs {

/// A policy file's fields (RFC 8461 §3.2).
struct MtaStsPolicy {
    std::string mode;            // enforce | testing | none
    std::vector<std::string> mx; // patterns: "mx1.example.test", "*.example.test"
    std::uint64_t max_age_s = 0;
};

/// Parses a policy: "key: value" lines (CRLF or LF), version STSv1, a known mode, max_age a
/// whole number; errors name the first fault.
Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view text);

/// Whether an MX host matches a policy's mx pattern (RFC 8461 §4.1: exact, or "*." matching
/// exactly one leftmost label), case-insensitively, without final dots.
bool mx_pattern_matches(std::string_view pattern, std::string_view host);

/// Whether a _mta-sts TXT string announces a policy (RFC 8461 §3.1: starts "v=STSv1").
bool is_mta_sts_record(std::string_view txt);

/// What an HTTPS GET returned.
struct HttpsResponse {
    long status = 0;          // HTTP status, 0 when none came
    std::string body;         // at most 64 KiB
    std::string error;        // the transfer's fault ("SSL certificate problem: ..."), "" none
    std::string content_type; // the Content-Type header's value, "" when none
};

/// GET https://host/path from `address` (the name resolved by the caller), no redirects, the
/// certificate verified for `host` against `ca_file` (empty: the system's store), bounded by
/// timeout_s and 64 KiB (RFC 8461 §3.3). Blocks the calling thread (libcurl's easy
/// interface); curl_global_init must have run (main() does, before any thread).
HttpsResponse https_get(const std::string& host, const std::string& address,
                        const std::string& path, double timeout_s, const std::string& ca_file);

} // namespace mxs
