// One connection of the agent's HTTP server (http_server.cpp and the two http_session_*.cpp
// files include this): its phase,
// deadlines and bounds, the request parser, and the shared state of the server. Internal.
#pragma once

#include "views/basic_auth.h"
#include "views/http_server.h"

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>

namespace mxs {

namespace http_session {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class SessionBase;

inline std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

// What a connection is doing; the order of the connection list is the order of these changes.
enum class Phase {
    Idle,    // waiting for a request's first byte (a fresh or kept-alive connection)
    Header,  // a request header is arriving
    Body,    // its body is arriving
    Busy,    // being answered
    Closing, // answered with an error; the client's remaining bytes are read and dropped
};

// Bytes read and dropped after an error response, at most, and for how long: closing a
// socket with unread bytes sends a RST, which may destroy the response before the client
// reads it (RFC 9112 §9.6, "tear-down"; nginx's lingering close).
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::chrono::seconds kLingerTime{2};

// A connection still answering this long after it began has a client that does not read
// its answers (a scrape of this agent's size takes milliseconds): at the connection limit it
// makes room for a new one. Pipelined requests count as one answer from the first on: each
// single answer of a client that reads slowly may complete in a fraction of this, and it
// still held the slot all along. Without this, clients pipelining requests they never read
// held every slot until the send deadline and locked scrapes out (review finding).
constexpr std::chrono::seconds kStalledAnswer{1};

// Bytes a connection's read buffer holds beyond http.max_header_bytes. Body bytes leave the
// buffer as they are parsed, so what it must hold whole is a header section, a chunk's size
// line with its extensions, or the trailer section; Beast bounds only the first (its
// header_limit), and a 33 MB trailer had grown the agent by 86 MB (review finding). With the
// buffer bounded the parser fails with buffer_overflow instead: a 431.
constexpr std::size_t kReadSlack = 16 << 10;

// Beast's request parser, except that a field (header or trailer) too long for Beast's field
// storage (65,533 bytes of name or value) fails the read with header_limit (431): Beast's own
// parser throws std::length_error out of the read, out of the agent's event loop, and the
// agent died ("fatal: field value too large") on one request with http.max_header_bytes over
// 64 KiB, or on one trailer field under any limit before the read buffer was bounded.
class RequestParser : public http::request_parser<http::string_body> {
    void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                       beast::error_code& ec) override {
        constexpr std::size_t kMaxField = std::numeric_limits<std::uint16_t>::max() - 2;
        if (name_string.size() > kMaxField || value.size() > kMaxField) {
            ec = http::error::header_limit;
            return;
        }
        get().insert(name, name_string, value);
    }
};

// The request target in origin-form: an absolute-form target ("http://host:port/path?q",
// which a server MUST accept, RFC 9112 §3.2.2) is reduced to its path and query.
inline std::string origin_form(beast::string_view target) {
    const auto sep = target.find("://");
    if (target.empty() || target.front() == '/' || sep == beast::string_view::npos)
        return std::string(target);
    const auto scheme = target.substr(0, sep);
    if (!beast::iequals(scheme, "http") && !beast::iequals(scheme, "https"))
        return std::string(target);
    const auto rest = target.substr(sep + 3);
    const auto path = rest.find_first_of("/?");
    if (path == beast::string_view::npos)
        return "/";
    return (rest[path] == '?' ? "/" : "") + std::string(rest.substr(path));
}

} // namespace http_session

struct HttpServer::Shared {
    HttpLimits limits;
    std::size_t max_connections = 0; // in force (start())
    Handler handler;
    HttpStats stats;
    // Open connections, least recently changed phase first.
    std::list<http_session::SessionBase*> sessions;
    // The web configuration in force (secure()); a connection keeps the context it began with.
    std::shared_ptr<boost::asio::ssl::context> tls;
    std::shared_ptr<BasicAuth> auth;
    std::string auth_exempt; // a path basic auth does not apply to (the webhook: its token)
};

namespace http_session {

// A TLS record of type handshake (RFC 8446 §5.1): how a ClientHello starts. Anything else on
// a TLS port is answered in plain text, as an HTTP client reads it, and closed.
constexpr unsigned char kTlsHandshakeRecord = 0x16;
inline constexpr const char* kPlainOnTls =
    "HTTP/1.1 400 Bad Request\r\nServer: mxsense\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Connection: close\r\nContent-Length: 48\r\n\r\nthis port speaks TLS: use https:// to reach "
    "it\r\n";

// What the server's connection list and eviction see of a connection, whatever its stream.
class SessionBase {
  public:
    virtual ~SessionBase() = default;
    Phase phase() const { return phase_; }
    /// Since when the connection has been answering without a pause: the start of the
    /// answer to the first request of a pipelined run (meaningful in Phase::Busy).
    std::chrono::steady_clock::time_point answering_since() const { return answering_since_; }
    // Closes the connection now (to make room, or at stop()); its pending operation ends
    // with an error and the last reference goes with it.
    virtual void close() = 0;

  protected:
    Phase phase_ = Phase::Idle;
    std::chrono::steady_clock::time_point answering_since_;
};

// One connection over Stream: beast::tcp_stream (plain HTTP) or
// beast::ssl_stream<beast::tcp_stream> (TLS, handshake first, within the header deadline).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  public:
    Session(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared) requires(!kTls)
        : stream_(std::move(socket)), shared_(std::move(shared)),
          accepted_(std::chrono::steady_clock::now()),
          buffer_(shared_->limits.max_header_bytes + kReadSlack) {
        list();
    }
    Session(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared,
            std::shared_ptr<boost::asio::ssl::context> tls) requires(kTls)
        : tls_(std::move(tls)), stream_(std::move(socket), *tls_), shared_(std::move(shared)),
          accepted_(std::chrono::steady_clock::now()),
          buffer_(shared_->limits.max_header_bytes + kReadSlack) {
        list();
    }
    ~Session() override { unlist(); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() {
        if constexpr (kTls)
            handshake();
        else
            wait_request();
    }

    void close() override {
        unlist();
        beast::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().close();
    }

  private:
    using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
    const HttpLimits& limits() const { return shared_->limits; }

    void list() {
        boost::system::error_code ec;
        const auto remote = lowest().socket().remote_endpoint(ec);
        peer_ = ec ? std::string("?") : auth_peer(remote.address());
        shared_->sessions.push_back(this);
        pos_ = std::prev(shared_->sessions.end());
    }

    void unlist() {
        if (listed_) {
            shared_->sessions.erase(pos_);
            listed_ = false;
        }
    }

    void set_phase(Phase p) {
        phase_ = p;
        if (listed_) // least recently changed first: the eviction order
            shared_->sessions.splice(shared_->sessions.end(), shared_->sessions, pos_);
    }

    // TLS: the ClientHello's first bytes, then the handshake with them; all of it within the
    // first request's header deadline (header_timeout from the accept), so a client that
    // opens connections and never completes a handshake (slowloris on TLS) is closed there.
    void handshake() {
        set_phase(Phase::Header);
        lowest().expires_at(accepted_ + seconds(limits().header_timeout_s));
        lowest().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](
                                                            beast::error_code ec, std::size_t n) {
            if (ec)
                return self->handshake_failed(ec);
            self->buffer_.commit(n);
            const auto* first = static_cast<const unsigned char*>(self->buffer_.data().data());
            if (*first != kTlsHandshakeRecord)
                return self->refuse_plain();
            self->stream_.async_handshake(boost::asio::ssl::stream_base::server,
                                          self->buffer_.data(),
                                          [self](beast::error_code e, std::size_t used) {
                                              self->buffer_.consume(used);
                                              if (e)
                                                  return self->handshake_failed(e);
                                              self->buffer_.consume(self->buffer_.size());
                                              self->wait_request();
                                          });
        });
    }

    void handshake_failed(const beast::error_code& ec) {
        if (ec == beast::error::timeout) {
            ++shared_->stats.timed_out["handshake"];
            return;
        }
        if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset ||
            ec == boost::asio::error::operation_aborted)
            return; // the client went away (or we closed it)
        ++shared_->stats.tls_failed["handshake"];
        spdlog::debug("http: TLS handshake failed: {}", ec.message());
        close();
    }

    // Plain HTTP (or anything but TLS) on the TLS port: one plain-text answer, then closed.
    void refuse_plain() {
        ++shared_->stats.tls_failed["plain_http"];
        set_phase(Phase::Busy);
        lowest().expires_after(seconds(limits().body_timeout_s));
        boost::asio::async_write(lowest(), boost::asio::buffer(std::string_view(kPlainOnTls)),
                                 [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec)
                                         return;
                                     self->linger();
                                 });
    }

    // The first request's header must be complete header_timeout after the accept; a
    // kept-alive connection may then wait idle_timeout for the next request's first byte.
    void wait_request() {
        set_phase(Phase::Idle);
        if (buffer_.size() > 0) // pipelined: the next request is here already
            return read_header();
        if (first_)
            lowest().expires_at(accepted_ + seconds(limits().header_timeout_s));
        else
            lowest().expires_after(seconds(limits().idle_timeout_s));
        stream_.async_read_some(buffer_.prepare(4096),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    if (ec)
                                        return self->failed(ec);
                                    self->buffer_.commit(n);
                                    self->read_header();
                                });
    }

    void read_header() {
        set_phase(Phase::Header);
        parser_.emplace();
        parser_->header_limit(limits().max_header_bytes);
        parser_->body_limit(limits().max_body_bytes);
        if (!first_) // the first request's deadline runs from the accept
            lowest().expires_after(seconds(limits().header_timeout_s));
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec)
                                        return self->failed(ec);
                                    self->read_body();
                                });
    }

    // What the header says about the body, checked before it is read: the framing
    // (Transfer-Encoding, RFC 9112 §6.1, §6.3) and the client's expectation (RFC 9110 §10.1.1).
    void read_body() {
        const auto& h = parser_->get();
        bool coded = false, unknown_coding = false;
        for (auto [f, end] = h.equal_range(http::field::transfer_encoding); f != end; ++f) {
            coded = true;
            for (const auto coding : http::token_list{f->value()})
                unknown_coding = unknown_coding || !beast::iequals(coding, "chunked");
        }
        auto& stats = shared_->stats;
        if (coded && !parser_->chunked()) { // Beast would read no body: request smuggling
            ++stats.bad_requests["malformed"];
            return reject(http::status::bad_request,
                          "Transfer-Encoding without chunked as the final coding: the body's "
                          "length is unknown (RFC 9112 section 6.3)");
        }
        if (unknown_coding) {
            ++stats.bad_requests["unsupported"];
            return reject(http::status::not_implemented,
                          "a transfer coding other than chunked is not supported");
        }
        const auto expect = h[http::field::expect];
        if (!expect.empty() && h.version() >= 11) { // HTTP/1.0: ignored (§10.1.1)
            if (!beast::iequals(expect, "100-continue")) {
                ++stats.bad_requests["unsupported"];
                return reject(http::status::expectation_failed,
                              "the only expectation supported is 100-continue");
            }
            if (!parser_->is_done()) // the client waits for this before it sends the body
                return continue_body();
        }
        read_rest();
    }

    void continue_body() {
        set_phase(Phase::Body);
        lowest().expires_after(seconds(limits().body_timeout_s));
        auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec)
                                  return self->failed(ec);
                              self->read_rest();
                          });
    }

    void read_rest() {
        if (parser_->is_done())
            return respond();
        set_phase(Phase::Body);
        lowest().expires_after(seconds(limits().body_timeout_s));
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec)
                                 return self->failed(ec);
                             self->respond();
                         });
    }

    void failed(const beast::error_code& ec) {
        auto& s = shared_->stats;
        if (ec == beast::error::timeout) { // tcp_stream closed the socket at the deadline
            static const char* const names[] = {"idle", "header", "body", "send", "linger"};
            if (phase_ != Phase::Closing)
                ++s.timed_out[names[static_cast<int>(phase_)]];
            return;
        }
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            ++s.bad_requests["header_too_large"];
            return reject(http::status::request_header_fields_too_large,
                          phase_ == Phase::Body ? "chunk header or trailer section too large"
                                                : "request header too large");
        }
        if (ec == http::error::body_limit) {
            ++s.bad_requests["body_too_large"];
            return reject(http::status::payload_too_large, "request body too large");
        }
        // The client closed (between requests or within one), or we did.
        if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
            ec == http::error::short_read ||
            ec.category() != http::make_error_code(http::error::bad_method).category())
            return;
        ++s.bad_requests["malformed"]; // bad method, target, version, field, chunk, length…
        reject(http::status::bad_request, "malformed request: " + ec.message());
    }

    // Answers what could not be read as a request, then closes: no request boundary is
    // left to go on from.
    void reject(http::status status, const std::string& why) {
        set_phase(Phase::Busy);
        auto res = std::make_shared<http::response<http::string_body>>(status, 11);
        res->set(http::field::server, "mxsense");
        res->set(http::field::content_type, "text/plain; charset=utf-8");
        res->keep_alive(false);
        res->body() = why + "\n";
        res->prepare_payload();
        lowest().expires_after(seconds(limits().body_timeout_s));
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec)
                                  return self->failed(ec);
                              self->linger();
                          });
    }

    void linger() {
        set_phase(Phase::Closing);
        beast::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
        lowest().expires_after(kLingerTime);
        drain();
    }

    // Bytes as they come (TLS records unread on a TLS connection), dropped.
    void drain() {
        lowest().async_read_some(boost::asio::buffer(drain_),
                                 [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                     self->drained_ += n;
                                     if (!ec && self->drained_ < kLingerBytes)
                                         self->drain();
                                 });
    }

    // The request read: basic auth first where the web configuration asks for it (off the
    // loop: BasicAuth), then the handler's answer.
    void respond() {
        set_phase(Phase::Busy);
        if (!pipelined_)
            answering_since_ = std::chrono::steady_clock::now();
        auto req = std::make_shared<http::request<http::string_body>>(parser_->release());
        // Two Authorization fields (a list is not allowed for it, RFC 9110 §5.3): which one
        // counts would differ between this server and a proxy in front of it.
        if (req->count(http::field::authorization) > 1) {
            ++shared_->stats.bad_requests["malformed"];
            return reject(http::status::bad_request, "more than one Authorization field");
        }
        auto target = origin_form(req->target());
        auto auth = shared_->auth;
        if (!auth || target.substr(0, target.find('?')) == shared_->auth_exempt)
            return answer(*req, std::move(target));
        const auto authorization = (*req)[http::field::authorization];
        auth->check(std::string_view(authorization.data(), authorization.size()), peer_,
                    lowest().get_executor(),
                    [self = shared_from_this(), req, target](BasicAuth::Verdict v) mutable {
                        if (v == BasicAuth::Verdict::ok)
                            return self->answer(*req, std::move(target));
                        self->unauthorized(*req, v);
                    });
    }

    // 401 with the challenge (RFC 7617 §2), or 503 while too many verifications wait.
    void unauthorized(const http::request<http::string_body>& req, BasicAuth::Verdict v) {
        auto& s = shared_->stats;
        HttpResponse r{401, "text/plain; charset=utf-8", "unauthorized\n", {}};
        if (v == BasicAuth::Verdict::busy) {
            ++s.auth_busy;
            r = {503, "text/plain; charset=utf-8", "busy verifying passwords; retry\n", {}};
        } else {
            ++s.unauthorized[v == BasicAuth::Verdict::missing ? "missing" : "invalid"];
        }
        write(req, std::move(r));
    }

    void answer(http::request<http::string_body>& req, std::string target) {
        HttpResponse r;
        try {
            r = shared_->handler(HttpRequest{std::string(req.method_string()), std::move(target),
                                             std::string(req[http::field::authorization]),
                                             std::move(req.body())});
        } catch (const std::exception& e) {
            spdlog::error("http handler for {}: {}", std::string(req.target()), e.what());
            r = {500, "text/plain; charset=utf-8", "internal error\n", {}};
        }
        write(req, std::move(r));
    }

    void write(const http::request<http::string_body>& req, HttpResponse r) {
        const bool head = req.method() == http::verb::head;
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(r.status), req.version());
        res->set(http::field::server, "mxsense");
        res->set(http::field::content_type, r.content_type);
        if (!r.allow.empty())
            res->set(http::field::allow, r.allow);
        if (r.status == 401)
            res->set(http::field::www_authenticate, R"(Basic realm="mxsense", charset="UTF-8")");
        if (r.status == 503)
            res->set(http::field::retry_after, "1");
        res->keep_alive(req.keep_alive());
        const auto length = r.body.size();
        res->body() = std::move(r.body);
        res->prepare_payload();
        if (head) { // the length of what GET would send, and no body (RFC 9110 §9.3.2)
            res->body().clear();
            res->content_length(length);
        }
        lowest().expires_after(seconds(limits().body_timeout_s));
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec)
                                  return self->failed(ec);
                              if (res->keep_alive()) {
                                  self->first_ = false;
                                  self->pipelined_ = self->buffer_.size() > 0;
                                  return self->wait_request();
                              }
                              self->end();
                          });
    }

    // The last answer sent (Connection: close): TLS's close_notify (RFC 8446 §6.1), then FIN.
    void end() {
        set_phase(Phase::Closing);
        if constexpr (kTls) {
            lowest().expires_after(kLingerTime);
            stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
                beast::error_code ec;
                self->lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
            });
        } else {
            beast::error_code ec;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
        }
    }

    std::shared_ptr<boost::asio::ssl::context> tls_; // outlives stream_ (TLS only)
    Stream stream_;
    std::shared_ptr<HttpServer::Shared> shared_;
    std::list<SessionBase*>::iterator pos_;
    bool listed_ = true;
    bool pipelined_ = false; // the next request was here when the last answer was sent
    bool first_ = true;      // no request answered yet
    std::chrono::steady_clock::time_point accepted_;
    beast::flat_buffer buffer_;
    std::optional<RequestParser> parser_;
    std::array<char, 4096> drain_{};
    std::size_t drained_ = 0;
    std::string peer_; // auth_peer() of the client: its share of the verifications
};

// A connection over plain HTTP, started (listed in shared->sessions, reading its first
// request). Defined in http_session_plain.cpp: each stream's Session is compiled in a file of
// its own, so the two Beast instantiations (the TLS one most of the views' compile time) build
// side by side instead of in one long translation unit.
void start_plain(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared);
/// A connection over TLS with context tls, started (handshake first). http_session_tls.cpp.
void start_tls(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared,
               std::shared_ptr<boost::asio::ssl::context> tls);

} // namespace http_session
} // namespace mxs
