#include "probes/smtp_probe.h"

#include "probes/bind_device.h"
#include "probes/watchdog.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <fmt/format.h>
#include <vector>

namespace mxs {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

struct Reply {
    int code = 0;
    std::vector<std::string> lines; // text after "NNN-" / "NNN "
};

// Bytes of a server's reply held at most while its line end is awaited. RFC 5321 §4.5.3.1.5
// allows 512 octets a reply line; without a bound a server that never sends CRLF grew the
// agent's memory at line rate until the probe's timeout.
constexpr std::size_t kMaxReplyBuffer = 64 << 10;

// Reads one (possibly multi-line) reply.
template <class Stream> asio::awaitable<Reply> read_reply(Stream& s, std::string& buf) {
    Reply r;
    for (int n = 0; n < 100; ++n) {
        std::size_t len = 0;
        try {
            len = co_await asio::async_read_until(s, asio::dynamic_buffer(buf, kMaxReplyBuffer),
                                                  "\r\n", use_awaitable);
        } catch (const boost::system::system_error& e) {
            if (e.code() != asio::error::not_found) // not_found: the bound was reached
                throw;
            throw std::runtime_error(
                fmt::format("no line end within {} bytes of reply", kMaxReplyBuffer));
        }
        std::string line = buf.substr(0, len - 2);
        buf.erase(0, len);
        if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])))
            throw std::runtime_error("malformed reply line '" + line.substr(0, 60) + "'");
        r.code = std::stoi(line.substr(0, 3));
        r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
        if (line.size() == 3 || line[3] == ' ')
            co_return r;
    }
    throw std::runtime_error("reply longer than 100 lines");
}

template <class Stream>
asio::awaitable<Reply> command(Stream& s, std::string& buf, const std::string& line) {
    const std::string out = line + "\r\n";
    co_await asio::async_write(s, asio::buffer(out), use_awaitable);
    co_return co_await read_reply(s, buf);
}

bool offers_starttls(const Reply& ehlo) {
    for (const auto& l : ehlo.lines) {
        std::string w = l.substr(0, l.find(' '));
        for (auto& c : w)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (w == "STARTTLS")
            return true;
    }
    return false;
}

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

} // namespace mxs
