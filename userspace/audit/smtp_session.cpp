#include "audit/smtp_session.h"

#include "probes/smtp_dialogue.h"
#include "probes/watchdog.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <ctime>
#include <memory>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace mxs {
namespace asio = boost::asio;
using smtp::command;
using smtp::read_reply;

namespace {

std::int64_t unix_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

// MAIL FROM:<> (a bounce's sender: no sender domain to judge), RCPT TO:<postmaster@DOMAIN>
// (RFC 5321 §4.5.1: every domain that takes mail has one), then RSET and QUIT.
template <class Stream>
asio::awaitable<void> ask_rcpt(Stream& s, std::string& buf, const std::string& domain,
                               SmtpSessionFacts& out) {
    const auto mail = co_await command(s, buf, "MAIL FROM:<>");
    out.rcpt_answered = true;
    if (mail.code / 100 != 2) {
        out.rcpt_code = mail.code;
        out.rcpt_reply = "MAIL FROM:<> answered " + std::to_string(mail.code) + " " +
                         (mail.lines.empty() ? "" : mail.lines.back());
    } else {
        const auto rcpt = co_await command(s, buf, "RCPT TO:<postmaster@" + domain + ">");
        out.rcpt_code = rcpt.code;
        out.rcpt_reply =
            std::to_string(rcpt.code) + " " + (rcpt.lines.empty() ? "" : rcpt.lines.back());
    }
    co_await command(s, buf, "RSET");
    co_await command(s, buf, "QUIT");
}

} // namespace

asio::awaitable<SmtpSessionFacts> smtp_session(std::string address, std::uint16_t port,
                                               std::string host, std::string domain,
                                               std::string ehlo_name, double timeout_s,
                                               std::string ca_file) {
    SmtpSessionFacts out;
    auto ex = co_await asio::this_coro::executor;
    auto sock = std::make_shared<asio::ip::tcp::socket>(ex);
    Watchdog dog(ex, timeout_s, [sock] { sock->close(); });
    std::string step = "connect";
    try {
        const auto addr = asio::ip::make_address(address);
        co_await sock->async_connect({addr, port}, asio::use_awaitable);
        out.connected = true;
        std::string buf;
        step = "greeting";
        const auto greet = co_await read_reply(*sock, buf);
        if (greet.code != 220) {
            out.stop_code = greet.code;
            out.failure = "greeting " + std::to_string(greet.code);
            co_return out;
        }
        step = "EHLO";
        const auto ehlo = co_await command(*sock, buf, "EHLO " + ehlo_name);
        if (ehlo.code != 250) {
            out.stop_code = ehlo.code;
            out.failure = "EHLO answered " + std::to_string(ehlo.code);
            co_return out;
        }
        out.starttls = smtp::offers_starttls(ehlo);
        if (!out.starttls) {
            step = "RCPT";
            co_await ask_rcpt(*sock, buf, domain, out);
            co_return out;
        }
        step = "STARTTLS";
        const auto st = co_await command(*sock, buf, "STARTTLS");
        if (st.code != 220) {
            out.tls_error = "STARTTLS answered " + std::to_string(st.code);
            co_return out;
        }
        // The handshake goes on whatever the chain: its verdict is recorded, not enforced (a
        // sender without MTA-STS or DANE delivers anyway; the finding says what it would see).
        asio::ssl::context ctx(asio::ssl::context::tls_client);
        boost::system::error_code ca_ec;
        if (ca_file.empty())
            ctx.set_default_verify_paths(ca_ec);
        else
            ctx.load_verify_file(ca_file, ca_ec);
        if (ca_ec) // the trust store, not the server: the chain is reported unverified
            out.chain_error = "trust store not loaded: " + ca_ec.message();
        ctx.set_verify_mode(asio::ssl::verify_peer);
        ctx.set_verify_callback([&out](bool ok, asio::ssl::verify_context& v) {
            if (!ok && out.chain_error.empty()) // the first fault of the chain
                out.chain_error =
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(v.native_handle()));
            return true;
        });
        asio::ssl::stream<asio::ip::tcp::socket&> tls(*sock, ctx);
        SSL_set_tlsext_host_name(tls.native_handle(), host.c_str()); // SNI (RFC 6066 §3)
        step = "TLS handshake";
        co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        out.tls = true;
        if (X509* cert = SSL_get_peer_certificate(tls.native_handle())) {
            out.cert_seen = true;
            out.name_matches = X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
            out.not_after = unix_time(X509_get0_notAfter(cert));
            X509_free(cert);
        }
        buf.clear();
        step = "EHLO after STARTTLS"; // RFC 3207 §4.2: the session starts over
        const auto again = co_await command(tls, buf, "EHLO " + ehlo_name);
        if (again.code != 250) {
            out.stop_code = again.code;
            out.failure = "EHLO after STARTTLS answered " + std::to_string(again.code);
            co_return out;
        }
        step = "RCPT";
        co_await ask_rcpt(tls, buf, domain, out);
    } catch (const boost::system::system_error& e) {
        const auto why = dog.fired() ? std::string("timeout") : e.code().message();
        if (step == "TLS handshake")
            out.tls_error = why;
        else if (!out.rcpt_answered)
            out.failure = step + ": " + why;
    } catch (const std::exception& e) {
        if (!out.rcpt_answered)
            out.failure = step + ": " + e.what();
    }
    co_return out;
}

} // namespace mxs
