#include "probes/smtp_probe.h"

#include "probes/bind_device.h"
#include "probes/smtp_dialogue.h"
#include "probes/watchdog.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fmt/format.h>
#include <unistd.h>
#include <vector>

namespace mxs {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {
using smtp::command;
using smtp::offers_starttls;
using smtp::read_reply;
using smtp::Reply;

// Greeting, EHLO, STARTTLS and TLS where offered; a refusal sets out.result.
// True when QUIT is still to be sent in clear (false: it went inside TLS).
asio::awaitable<bool> dialogue(asio::ip::tcp::socket& sock, std::string& buf,
                               const SmtpProbeSpec& spec, SmtpProbeResult& out, std::string& step) {
    step = "greeting";
    const auto greet = co_await read_reply(sock, buf);
    if (greet.code != 220) {
        out.result = "rejected";
        out.detail = std::to_string(greet.code) + " greeting";
        co_return true;
    }
    step = "EHLO";
    const auto ehlo = co_await command(sock, buf, "EHLO " + spec.ehlo_name);
    if (ehlo.code != 250) {
        out.result = "rejected";
        out.detail = std::to_string(ehlo.code) + " to EHLO";
        co_return true;
    }
    if (!spec.starttls || !offers_starttls(ehlo))
        co_return true;
    step = "STARTTLS";
    const auto st = co_await command(sock, buf, "STARTTLS");
    if (st.code != 220) {
        out.result = "tls_failed";
        out.detail = std::to_string(st.code) + " to STARTTLS";
        co_return true;
    }
    // A health probe checks that TLS comes up, not whom it reaches.
    step = "TLS handshake";
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket&> tls(sock, ctx);
    co_await tls.async_handshake(asio::ssl::stream_base::client, use_awaitable);
    out.tls = true;
    buf.clear();
    step = "QUIT";
    co_await command(tls, buf, "QUIT");
    co_return false;
}

} // namespace

asio::awaitable<SmtpProbeResult> smtp_probe(SmtpProbeSpec spec) {
    SmtpProbeResult out;
    const auto start = std::chrono::steady_clock::now();
    auto ex = co_await asio::this_coro::executor;
    auto sock = std::make_shared<asio::ip::tcp::socket>(ex);
    Watchdog dog(ex, spec.timeout_s, [sock] { sock->close(); });
    std::string step = "connect";
    try {
        boost::system::error_code ec;
        const auto addr = asio::ip::make_address(spec.address, ec);
        if (ec)
            throw std::runtime_error("not an address: " + spec.address);
        sock->open(addr.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6());
        bind_to_device(*sock, spec.device);
        co_await sock->async_connect({addr, spec.port}, use_awaitable);
        std::string buf;
        if (co_await dialogue(*sock, buf, spec, out, step)) {
            step = "QUIT";
            co_await command(*sock, buf, "QUIT");
        }
        if (out.result.empty())
            out.result = "ok";
    } catch (const boost::system::system_error& e) {
        const auto c = e.code();
        if (dog.fired())
            out.result = "timeout";
        else if (c == asio::error::connection_refused && step == "connect")
            out.result = "refused";
        else if ((c == asio::error::host_unreachable || c == asio::error::network_unreachable) &&
                 step == "connect")
            out.result = "unreachable";
        else if (step == "TLS handshake")
            out.result = "tls_failed";
        else if (out.result.empty())
            out.result = "error";
        if (out.detail.empty())
            out.detail = step + ": " + c.message();
    } catch (const std::exception& e) {
        if (out.result.empty())
            out.result = "error";
        out.detail = step + ": " + e.what();
    }
    out.step = step;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    co_return out;
}

std::string ehlo_name_or_host(const std::string& configured) {
    if (!configured.empty())
        return configured;
    char host[256] = {};
    return gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "mxsense.invalid";
}

} // namespace mxs
