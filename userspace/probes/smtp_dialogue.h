// An SMTP client's side of the dialogue (RFC 5321 §4.2): replies read with a bound, commands
// sent; for the probe (smtp_probe.cpp) and the audit (audit/smtp_session.cpp), in clear or
// inside TLS (any stream).
#pragma once

#include "probes/coro.h"

#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <fmt/format.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace mxs::smtp {

namespace asio = boost::asio;
using asio::use_awaitable;

/// A reply: its code and the text of each line.
struct Reply {
    int code = 0;
    std::vector<std::string> lines; // text after "NNN-" / "NNN "
};

// Bytes of a server's reply held at most while its line end is awaited. RFC 5321 §4.5.3.1.5
// allows 512 octets a reply line; without a bound a server that never sends CRLF grew the
// agent's memory at line rate until the probe's timeout.
constexpr std::size_t kMaxReplyBuffer = 64 << 10;

/// Reads one (possibly multi-line) reply. Throws boost::system::system_error for the stream
/// and std::runtime_error for a malformed or unbounded reply.
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

/// Sends `line` (CRLF added) and reads the reply.
template <class Stream>
asio::awaitable<Reply> command(Stream& s, std::string& buf, const std::string& line) {
    const std::string out = line + "\r\n";
    co_await asio::async_write(s, asio::buffer(out), use_awaitable);
    co_return co_await read_reply(s, buf);
}

/// Whether an EHLO reply lists STARTTLS (RFC 3207).
inline bool offers_starttls(const Reply& ehlo) {
    for (const auto& l : ehlo.lines) {
        std::string w = l.substr(0, l.find(' '));
        for (auto& c : w)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (w == "STARTTLS")
            return true;
    }
    return false;
}

} // namespace mxs::smtp
