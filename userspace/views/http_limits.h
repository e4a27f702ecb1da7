// Bounds of the agent's HTTP server (config `http:`) and what it counted against them.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mxs {

// Upper bounds of the settings (validate()): a request body is held in memory whole.
inline constexpr std::uint64_t kMaxHttpBody = 64ull << 20;
inline constexpr std::uint32_t kMaxHttpHeader = 1u << 20;
inline constexpr std::uint32_t kMaxHttpConnections = 65536;
inline constexpr double kMaxHttpTimeout = 3600;

// What one client may hold of the HTTP server. Seconds; bytes.
struct HttpLimits {
    // Open connections. At the limit a new connection closes the oldest idle one (else the
    // oldest still sending its request; never one being answered), so a scrape still gets
    // through a flood of idle connections. The descriptor limit may lower it (HttpServer).
    std::uint32_t max_connections = 64;
    // Keep-alive: from a response until the next request's first byte.
    double idle_timeout_s = 30;
    // The whole request header (RFC 9112 §2.2: request line and fields), from the accept or
    // from the request's first byte on a kept-alive connection: slowloris ends here.
    double header_timeout_s = 10;
    // The body after its header; also sending the response.
    double body_timeout_s = 30;
    // Request line and header fields together: 431 above (RFC 6585 §5).
    std::uint32_t max_header_bytes = 8192;
    // A request body: 413 above (RFC 9110 §15.5.14). The webhook's Alertmanager notification
    // is ~1 KiB per alert (labels, annotations, URLs), so 1 MiB holds several hundred.
    std::uint64_t max_body_bytes = 1 << 20;

    bool operator==(const HttpLimits&) const = default;
};

// What the HTTP server counted, for the metrics; keys are the exported label values.
struct HttpStats {
    std::uint64_t connections = 0;     // open now
    std::uint64_t max_connections = 0; // the limit in force
    // Connections closed for a limit: `limit` (a new one, at once: every open connection was
    // being answered, none for a second yet), `evicted` (an older idle or slow one, or one
    // whose client has not read its answer for a second, to make room for a new one),
    // `descriptors` (accepts that failed with EMFILE/ENFILE: the connection waits in the
    // kernel's queue; one per attempt, attempts 100 ms apart).
    std::map<std::string, std::uint64_t> rejected;
    // Connections closed at a deadline, by what they were doing: idle, header, body, send.
    std::map<std::string, std::uint64_t> timed_out;
    // Requests answered by the server itself and closed: malformed (400), header_too_large
    // (431: the header, a chunk header or the trailer section), body_too_large (413),
    // unsupported (501: a transfer coding other than chunked; 417: an expectation other than
    // 100-continue).
    std::map<std::string, std::uint64_t> bad_requests;
    // TLS connections that ended before a request: plain_http (no ClientHello: answered 400 in
    // plain text), handshake (the handshake failed: no common version or suite, a client
    // certificate refused, garbage). A handshake past its deadline is timed_out["handshake"].
    std::map<std::string, std::uint64_t> tls_failed;
    // Requests answered 401 by basic auth: missing (no Basic credentials), invalid (an
    // unknown user or a wrong password: not told apart).
    std::map<std::string, std::uint64_t> unauthorized;
    // Requests answered 503 because BasicAuth's verification queue was full.
    std::uint64_t auth_busy = 0;
};

} // namespace mxs
