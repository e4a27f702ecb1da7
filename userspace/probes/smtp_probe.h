// The SMTP probe: connect, greeting, EHLO, STARTTLS (and a TLS handshake)
// where offered, QUIT. The kernel sensor measures it like any connection; the
// outcome here feeds the probe metrics.
#pragma once

#include "probes/coro.h"

#include <cstdint>
#include <string>

namespace mxs {

struct SmtpProbeResult {
    // ok | refused | timeout | unreachable | rejected (4xx/5xx greeting or EHLO)
    // | tls_failed | error
    std::string result;
    std::string detail; // the reply or error that decided the result
    std::string step;   // the dialogue step it ended at: connect, greeting, EHLO, STARTTLS, …
    bool tls = false;   // STARTTLS offered and the handshake done
    double seconds = 0;
};

struct SmtpProbeSpec {
    std::string address;
    std::uint16_t port = 25;
    std::string ehlo_name;
    bool starttls = true;
    double timeout_s = 5;
    std::string device; // the interface to leave through; empty: as routed
};

// Never throws.
boost::asio::awaitable<SmtpProbeResult> smtp_probe(SmtpProbeSpec spec);

/// What an SMTP client of the agent says in EHLO: `configured`, else this host's name, else
/// "mxsense.invalid" (RFC 6761: a name that resolves nowhere).
std::string ehlo_name_or_host(const std::string& configured);

} // namespace mxs
