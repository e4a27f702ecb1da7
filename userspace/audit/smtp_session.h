// What an MX host says when asked to take a domain's mail, without sending any: greeting,
// EHLO, STARTTLS (and the certificate it shows), MAIL FROM:<>, RCPT TO:<postmaster@DOMAIN>,
// RSET, QUIT -- never DATA.
#pragma once

#include "probes/coro.h"

#include <cstdint>
#include <string>

namespace mxs {

/// What one session with an MX address showed.
struct SmtpSessionFacts {
    std::string failure; // why the dialogue stopped before RCPT ("connect: refused", ...); "" none
    bool connected = false;     // the TCP connection was made
    int stop_code = 0;          // the reply that stopped the dialogue before RCPT (greeting, EHLO)
    bool starttls = false;      // EHLO listed STARTTLS (RFC 3207)
    bool tls = false;           // the handshake completed
    std::string tls_error;      // why it did not
    bool cert_seen = false;     // the server showed a certificate
    bool name_matches = false;  // it covers the MX host name (RFC 6125, X509_check_host)
    std::string chain_error;    // "" when the chain verified against the trust store
    std::int64_t not_after = 0; // the certificate's expiry, Unix seconds
    bool rcpt_answered = false; // MAIL FROM:<> and RCPT were asked and answered
    int rcpt_code = 0;          // the reply to RCPT TO:<postmaster@DOMAIN> (or a refused MAIL)
    std::string rcpt_reply;     // its text
};

/// A session with `address`:`port` for MX host `host` of `domain`; `ca_file` empty: the
/// system's trust store. Never throws.
boost::asio::awaitable<SmtpSessionFacts> smtp_session(std::string address, std::uint16_t port,
                                                      std::string host, std::string domain,
                                                      std::string ehlo_name, double timeout_s,
                                                      std::string ca_file);

} // namespace mxs
