// One connection of the agent's HTTP server (http_server.cpp alone includes this): its phase,
// deadlines and bounds, the request parser, and the shared state of the server. Internal.
#pragma once

#include "views/http_server.h"

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

class Session;

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
    std::list<http_session::Session*> sessions;
};

namespace http_session {

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
        : stream_(std::move(socket)), shared_(std::move(shared)),
          accepted_(std::chrono::steady_clock::now()),
          buffer_(shared_->limits.max_header_bytes + kReadSlack) {
        shared_->sessions.push_back(this);
        pos_ = std::prev(shared_->sessions.end());
    }
    ~Session() { unlist(); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start() { wait_request(); }

    Phase phase() const { return phase_; }
    /// Since when the connection has been answering without a pause: the start of the
    /// answer to the first request of a pipelined run (meaningful in Phase::Busy).
    std::chrono::steady_clock::time_point answering_since() const { return answering_since_; }

    // Closes the connection now (to make room, or at stop()); its pending operation ends
    // with an error and the last reference goes with it.
    void close() {
        unlist();
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }

  private:
    const HttpLimits& limits() const { return shared_->limits; }

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

    // The first request's header must be complete header_timeout after the accept; a
    // kept-alive connection may then wait idle_timeout for the next request's first byte.
    void wait_request() {
        set_phase(Phase::Idle);
        if (buffer_.size() > 0) // pipelined: the next request is here already
            return read_header();
        if (first_)
            stream_.expires_at(accepted_ + seconds(limits().header_timeout_s));
        else
            stream_.expires_after(seconds(limits().idle_timeout_s));
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
            stream_.expires_after(seconds(limits().header_timeout_s));
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
        stream_.expires_after(seconds(limits().body_timeout_s));
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
        stream_.expires_after(seconds(limits().body_timeout_s));
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
        stream_.expires_after(seconds(limits().body_timeout_s));
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
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(kLingerTime);
        drain();
    }

    void drain() {
        stream_.async_read_some(boost::asio::buffer(drain_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->drained_ += n;
                                    if (!ec && self->drained_ < kLingerBytes)
                                        self->drain();
                                });
    }

    void respond() {
        set_phase(Phase::Busy);
        if (!pipelined_)
            answering_since_ = std::chrono::steady_clock::now();
        auto req = parser_->release();
        const bool head = req.method() == http::verb::head;
        HttpResponse r;
        try {
            r = shared_->handler(
                HttpRequest{std::string(req.method_string()), origin_form(req.target()),
                            std::string(req[http::field::authorization]), std::move(req.body())});
        } catch (const std::exception& e) {
            spdlog::error("http handler for {}: {}", std::string(req.target()), e.what());
            r = {500, "text/plain; charset=utf-8", "internal error\n", {}};
        }
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(r.status), req.version());
        res->set(http::field::server, "mxsense");
        res->set(http::field::content_type, r.content_type);
        if (!r.allow.empty())
            res->set(http::field::allow, r.allow);
        res->keep_alive(req.keep_alive());
        const auto length = r.body.size();
        res->body() = std::move(r.body);
        res->prepare_payload();
        if (head) { // the length of what GET would send, and no body (RFC 9110 §9.3.2)
            res->body().clear();
            res->content_length(length);
        }
        stream_.expires_after(seconds(limits().body_timeout_s));
        http::async_write(stream_, *res,
                          [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                              if (ec)
                                  return self->failed(ec);
                              if (res->keep_alive()) {
                                  self->first_ = false;
                                  self->pipelined_ = self->buffer_.size() > 0;
                                  return self->wait_request();
                              }
                              self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                          });
    }

    beast::tcp_stream stream_;
    std::shared_ptr<HttpServer::Shared> shared_;
    std::list<Session*>::iterator pos_;
    bool listed_ = true;
    Phase phase_ = Phase::Idle;
    std::chrono::steady_clock::time_point answering_since_;
    bool pipelined_ = false; // the next request was here when the last answer was sent
    bool first_ = true;      // no request answered yet
    std::chrono::steady_clock::time_point accepted_;
    beast::flat_buffer buffer_;
    std::optional<RequestParser> parser_;
    std::array<char, 4096> drain_{};
    std::size_t drained_ = 0;
};

} // namespace http_session
} // namespace mxs
