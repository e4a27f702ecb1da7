#include "http_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <spdlog/spdlog.h>

namespace mxs {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, std::shared_ptr<HttpServer::Handler> handler)
        : stream_(std::move(socket)), handler_(std::move(handler)) {}

    void read() {
        parser_.emplace();
        parser_->body_limit(kBodyLimit);
        stream_.expires_after(std::chrono::seconds(30));
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (!ec) {
                                 self->req_ = self->parser_->release();
                                 self->respond();
                             }
                         });
    }

  private:
    void respond() {
        HttpResponse r;
        try {
            r = (*handler_)(
                HttpRequest{std::string(req_.method_string()), std::string(req_.target()),
                            std::string(req_[http::field::authorization]), std::move(req_.body())});
        } catch (const std::exception& e) {
            spdlog::error("http handler for {}: {}", std::string(req_.target()), e.what());
            r = {500, "text/plain; charset=utf-8", "internal error\n"};
        }
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(r.status), req_.version());
        res->set(http::field::server, "mxsense");
        res->set(http::field::content_type, r.content_type);
        res->keep_alive(req_.keep_alive());
        res->body() = std::move(r.body);
        res->prepare_payload();
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec)
                                  return;
                              if (res->keep_alive())
                                  self->read();
                              else
                                  self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                          });
    }

    beast::tcp_stream stream_;
    static constexpr std::size_t kBodyLimit = 1 << 20; // Alertmanager batches stay far below
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::request<http::string_body> req_;
    std::shared_ptr<HttpServer::Handler> handler_;
};

} // namespace

HttpServer::HttpServer(boost::asio::io_context& io, Handler handler)
    : io_(io), acceptor_(io), handler_(std::make_shared<Handler>(std::move(handler))) {}

Result<std::unique_ptr<HttpServer>> HttpServer::bind(boost::asio::io_context& io,
                                                     const ListenAddress& addr, Handler handler) {
    std::unique_ptr<HttpServer> s(new HttpServer(io, std::move(handler)));
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(addr.host, ec);
    if (ec)
        return Error{fmt::format("cannot listen on {}: {}", addr.host, ec.message())};
    const tcp::endpoint ep(ip, addr.port);
    s->acceptor_.open(ep.protocol(), ec);
    if (!ec)
        s->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        s->acceptor_.bind(ep, ec);
    if (!ec)
        s->acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec)
        return Error{fmt::format("cannot listen on {}:{}: {}", addr.host, addr.port, ec.message())};
    return s;
}

void HttpServer::start() {
    accept();
}

void HttpServer::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

boost::asio::ip::tcp::endpoint HttpServer::local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void HttpServer::accept() {
    acceptor_.async_accept(io_, [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted)
            return;
        if (!ec)
            std::make_shared<Session>(std::move(socket), handler_)->read();
        accept();
    });
}

} // namespace mxs
