#include "views/http_server.h"

#include "views/http_session.h"

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <list>
#include <optional>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

namespace mxs {

using namespace http_session;

namespace {

// Which connection makes room for a new one: the oldest idle (or closing) one, else the
// one whose request has been arriving longest, else the one whose answer has been stalled
// longest (kStalledAnswer). An answer in progress for less than that is never cut: the new
// connection is refused instead.
SessionBase* victim(const std::list<SessionBase*>& sessions) {
    SessionBase* reading = nullptr;
    SessionBase* stalled = nullptr;
    const auto stalled_since = std::chrono::steady_clock::now() - kStalledAnswer;
    for (auto* s : sessions) {
        const Phase p = s->phase();
        if (p == Phase::Idle || p == Phase::Closing)
            return s;
        if (!reading && (p == Phase::Header || p == Phase::Body))
            reading = s;
        if (!stalled && p == Phase::Busy && s->answering_since() <= stalled_since)
            stalled = s;
    }
    return reading ? reading : stalled;
}

std::uint64_t open_descriptors() {
    std::error_code ec;
    std::uint64_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n > 0 ? n - 1 : 0; // the iterator's own
}

} // namespace

std::size_t connection_budget(std::size_t wanted, std::uint64_t soft_limit, std::uint64_t open) {
    constexpr std::uint64_t kFloor = 4;
    const std::uint64_t used = open + HttpServer::kDescriptorReserve;
    const std::uint64_t room = soft_limit > used ? soft_limit - used : 0;
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(wanted, std::max<std::uint64_t>(room, kFloor)));
}

HttpServer::HttpServer(boost::asio::io_context& io, Handler handler, const HttpLimits& limits)
    : io_(io), acceptor_(io), backoff_(io), shared_(std::make_shared<Shared>()) {
    shared_->limits = limits;
    shared_->max_connections = limits.max_connections;
    shared_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
    stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::bind(boost::asio::io_context& io,
                                                     const ListenAddress& addr, Handler handler,
                                                     const HttpLimits& limits) {
    std::unique_ptr<HttpServer> s(new HttpServer(io, std::move(handler), limits));
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
    rlimit nofile{};
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
        const auto open = open_descriptors();
        const auto budget =
            connection_budget(shared_->limits.max_connections, nofile.rlim_cur, open);
        if (budget < shared_->limits.max_connections)
            spdlog::warn("http: the descriptor limit {} ({} open, {} kept for probes and hooks) "
                         "leaves room for {} connections, not http.max_connections {}; raise "
                         "it (LimitNOFILE=) for more",
                         nofile.rlim_cur, open, kDescriptorReserve, budget,
                         shared_->limits.max_connections);
        shared_->max_connections = budget;
    }
    accept();
}

void HttpServer::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    backoff_.cancel();
    while (!shared_->sessions.empty())
        shared_->sessions.front()->close(); // unlists itself
}

boost::asio::ip::tcp::endpoint HttpServer::local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
}

HttpStats HttpServer::stats() const {
    HttpStats s = shared_->stats;
    s.connections = shared_->sessions.size();
    s.max_connections = shared_->max_connections;
    return s;
}

void HttpServer::accept() {
    acceptor_.async_accept(io_, [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted)
            return;
        // The peer gave up while queued: that connection is gone, the next one may be fine.
        if (ec && ec != boost::asio::error::connection_aborted)
            return back_off(ec);
        if (burst_failures_) {
            spdlog::info(
                "http: accepting again after {} failed attempts in {:.1f} s", burst_failures_,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - burst_start_)
                    .count());
            burst_failures_ = 0;
        }
        if (!ec)
            admit(std::move(socket));
        accept();
    });
}

// EMFILE/ENFILE (or ENOBUFS, ENOMEM…) leave the connection in the kernel's queue, so an
// immediate retry fails again at once: that loop spun the CPU. Wait, then retry; say so once
// per burst. Queued connections wait (the kernel keeps the handshake), they are not lost.
void HttpServer::back_off(const boost::system::error_code& ec) {
    if (ec == boost::system::errc::too_many_files_open ||
        ec == boost::system::errc::too_many_files_open_in_system)
        ++shared_->stats.rejected["descriptors"];
    if (burst_failures_++ == 0) {
        burst_start_ = std::chrono::steady_clock::now();
        spdlog::warn("http: accept failed: {}; {} connections open; retrying every {} ms",
                     ec.message(), shared_->sessions.size(), kAcceptBackoff.count());
    }
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([this](const boost::system::error_code& e) {
        if (!e)
            accept();
    });
}

void HttpServer::admit(tcp::socket socket) {
    auto& s = *shared_;
    if (s.sessions.size() >= s.max_connections) {
        // Refusing the new connection instead would let idle connections (which cost the
        // attacker nothing) lock every scrape out until their deadline; closing the oldest
        // idle one keeps a scrape's connection, the newest, alive long enough to be answered.
        SessionBase* old = victim(s.sessions);
        const auto now = std::chrono::steady_clock::now();
        if (!limit_logged_ || now - *limit_logged_ >= std::chrono::minutes(1)) {
            limit_logged_ = now;
            static const char* const doing[] = {"idle", "sending a request header",
                                                "sending a request body", "not reading its answer",
                                                "closing"};
            spdlog::warn("http: {} connections open, the limit: {} (counted in "
                         "mxsense_http_connections_rejected_total; said once a minute)",
                         s.sessions.size(),
                         old ? fmt::format("closed an older one ({}) for a new one",
                                           doing[static_cast<int>(old->phase())])
                             : std::string("refused a new one, every open one being answered"));
        }
        if (old) {
            ++s.stats.rejected["evicted"];
            old->close();
        } else {
            ++s.stats.rejected["limit"];
            boost::system::error_code ec;
            socket.close(ec);
            return;
        }
    }
    if (s.tls)
        start_tls(std::move(socket), shared_, s.tls);
    else
        start_plain(std::move(socket), shared_);
}

void HttpServer::secure(std::shared_ptr<boost::asio::ssl::context> tls,
                        std::shared_ptr<BasicAuth> auth, std::string auth_exempt) {
    shared_->tls = std::move(tls);
    shared_->auth = std::move(auth);
    shared_->auth_exempt = std::move(auth_exempt);
}

bool HttpServer::tls() const {
    return shared_->tls != nullptr;
}

} // namespace mxs
