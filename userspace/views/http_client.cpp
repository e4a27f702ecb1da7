#include "views/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fmt/format.h>

namespace mxs {

Result<std::string> http_get(const ListenAddress& addr, const std::string& target) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(addr.host, ec);
    if (ec)
        return Error{fmt::format("{}: {}", addr.host, ec.message())};
    stream.expires_after(std::chrono::seconds(5));
    stream.connect({ip, addr.port}, ec);
    if (ec)
        return Error{
            fmt::format("cannot reach the agent at {}:{}: {}", addr.host, addr.port, ec.message())};
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, addr.host);
    http::write(stream, req, ec);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (!ec)
        http::read(stream, buf, res, ec);
    if (ec)
        return Error{fmt::format("{}{}: {}", addr.host, target, ec.message())};
    if (res.result() != http::status::ok)
        return Error{fmt::format("{}: HTTP {}", target, res.result_int())};
    return res.body();
}

} // namespace mxs
