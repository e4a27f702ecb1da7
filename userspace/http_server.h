// The agent's one HTTP server (Boost.Beast), on the agent's own io_context, so
// a handler reads agent state without locks.
#pragma once

#include "addr.h"
#include "result.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace mxs {

struct HttpResponse {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

struct HttpRequest {
    std::string method;
    std::string target;
    std::string authorization; // the Authorization header, if any
    std::string body;
};

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // Binds now, so a busy port is reported before anything else starts.
    static Result<std::unique_ptr<HttpServer>> bind(boost::asio::io_context& io,
                                                    const ListenAddress& addr, Handler handler);
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

  private:
    HttpServer(boost::asio::io_context& io, Handler handler);
    void accept();

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<Handler> handler_;
};

} // namespace mxs
