// The agent's one HTTP server (Boost.Beast), on the agent's own io_context, so
// a handler reads agent state without locks. Every connection and request is
// bounded (HttpLimits): a client can hold neither the loop nor the descriptors.
#pragma once

#include "base/addr.h"
#include "base/result.h"
#include "views/http_limits.h"
#include "views/http_message.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mxs {

class BasicAuth;

class HttpServer {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;

    // Binds now, so a busy port is reported before anything else starts.
    static Result<std::unique_ptr<HttpServer>> bind(boost::asio::io_context& io,
                                                    const ListenAddress& addr, Handler handler,
                                                    const HttpLimits& limits = {});
    ~HttpServer();
    // Starts accepting. The connection limit in force is limits.max_connections, lowered
    // (and logged) when the descriptor limit (RLIMIT_NOFILE) minus the descriptors open now
    // minus kDescriptorReserve leaves less: the server never takes the descriptors probes
    // and hooks need (a probe that cannot open its socket would be booked as a failure).
    void start();
    // The web configuration (README "Web configuration"): TLS with `tls` (nullptr: plain
    // HTTP), basic auth with `auth` (nullptr: none) for every path but auth_exempt. Applies to
    // connections accepted from now on (a reload); open ones keep what they began with, except
    // that every request is checked against the auth in force.
    void secure(std::shared_ptr<boost::asio::ssl::context> tls, std::shared_ptr<BasicAuth> auth,
                std::string auth_exempt = {});
    bool tls() const;
    // Stops accepting and closes every connection.
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    HttpStats stats() const;

    // Descriptors left for everything but HTTP connections (probes, discovery, hooks).
    static constexpr std::size_t kDescriptorReserve = 64;
    // After an accept failed for want of descriptors (EMFILE/ENFILE) or another resource.
    static constexpr std::chrono::milliseconds kAcceptBackoff{100};

    struct Shared;

  private:
    HttpServer(boost::asio::io_context& io, Handler handler, const HttpLimits& limits);
    void accept();
    void admit(boost::asio::ip::tcp::socket socket);
    void back_off(const boost::system::error_code& ec);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    std::shared_ptr<Shared> shared_; // shared with the connections, which may outlive us
    // The current burst of failed accepts (logged once when it starts and once when it ends).
    std::uint64_t burst_failures_ = 0;
    std::chrono::steady_clock::time_point burst_start_;
    // When the connection limit was last reported in the log (at most once a minute).
    std::optional<std::chrono::steady_clock::time_point> limit_logged_;
};

// The connection limit the descriptor limit leaves room for: `wanted`, or less when
// `soft_limit` - `open` - HttpServer::kDescriptorReserve is smaller (never below 4).
std::size_t connection_budget(std::size_t wanted, std::uint64_t soft_limit, std::uint64_t open);

} // namespace mxs
