// HTTP basic authentication (RFC 7617) against bcrypt hashes (the web configuration's
// basic_auth_users), verified by libxcrypt's crypt_r on a thread of its own: a verification
// takes tens of milliseconds by design, and the agent's one loop must not wait for it.
//
// What a client sending wrong passwords can take is bounded: one verification at a time (one
// core of the host at most), kMaxPending waiting and kMaxPerPeer of them from one client
// address (beyond: 503, counted), and a correct (user, password) pair is remembered (keyed by
// an HMAC of the password under a key of this process), across reloads while the user's hash
// stays the same, so Prometheus' scrapes cost no verification after the first and are answered
// at once while a flood of wrong passwords waits. The per-address share keeps one address
// flooding guesses from filling the queue, so a correct password from another address waits
// behind a few verifications at most (review finding: after a reload, scrapes got 0 of 13).
// An unknown user is verified against a dummy salt of the users' highest cost, so the time
// does not tell which users exist.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mxs {

// The user and password of an Authorization value "Basic BASE64(user:password)" (the scheme in
// any case, RFC 7235 §2.1; the password may hold ':'), or nullopt when it is not one: another
// scheme, bad base-64, no ':', a NUL byte (crypt_r would read the password cut there).
std::optional<std::pair<std::string, std::string>> parse_basic(std::string_view authorization);

// Whether password hashes to `hash` (a bcrypt hash, "$2y$10$..."): crypt_r with the hash as
// its setting, the result compared in constant time (CRYPTO_memcmp). False when libxcrypt
// refuses the hash. Takes 2^cost rounds: call it off the agent's loop.
bool bcrypt_verify(const std::string& password, const std::string& hash);

// Bytes of a password bcrypt reads at most: it ignores the rest (OpenBSD's bcrypt(3); libxcrypt
// likewise), so a longer password is refused (BasicAuth: invalid) rather than cut silently.
inline constexpr std::size_t kBcryptMaxPassword = 72;

// The client a verification is counted against (Verifier::kMaxPerPeer): an IPv4 address as
// text, an IPv6 address's /64 prefix ("2001:db8::/64": one host commonly holds a whole /64), an
// IPv4-mapped IPv6 address as its IPv4 address.
std::string auth_peer(const boost::asio::ip::address& address);

// The thread that runs verifications one at a time, shared by every BasicAuth (a reload makes
// a new BasicAuth; the thread stays). Detached: a verification of a high cost never holds up
// the agent's exit. Results are posted to `done`'s executor only while the Verifier lives.
class Verifier {
  public:
    Verifier();
    ~Verifier();
    Verifier(const Verifier&) = delete;
    Verifier& operator=(const Verifier&) = delete;

    // No result is posted from now on, and what waits is dropped; the owner calls it before
    // the loop results go to is destroyed (queued jobs may keep the Verifier alive).
    void close();

    // Queues work for peer (auth_peer()): false when kMaxPending wait already, or kMaxPerPeer
    // of peer's; its result goes to done on ex.
    bool submit(const std::string& peer, std::function<bool()> work,
                boost::asio::any_io_executor ex, std::function<void(bool)> done);

    // Verifications waiting or running at most; beyond, a request is answered 503 at once.
    static constexpr std::size_t kMaxPending = 16;
    // Of them, one client address's (waiting or running) at most: a flood from one address
    // leaves kMaxPending - kMaxPerPeer places to the others.
    static constexpr std::size_t kMaxPerPeer = 2;

    struct State;

  private:
    void start_thread();

    std::shared_ptr<State> state_;
    bool started_ = false; // under state_->m
};

class BasicAuth : public std::enable_shared_from_this<BasicAuth> {
  public:
    enum class Verdict {
        ok,
        missing, // no Authorization, or not Basic credentials
        invalid, // unknown user or wrong password (not told apart)
        busy,    // kMaxPending verifications wait already, or kMaxPerPeer of peer's: 503
    };

    // users: name -> bcrypt hash (checked by the web configuration's reader). `previous` (the
    // BasicAuth of the configuration before a reload, or null): its remembered pairs are kept
    // for the users whose hash is the same in `users`; those of users removed or re-hashed go.
    BasicAuth(std::map<std::string, std::string> users, std::shared_ptr<Verifier> verifier,
              const BasicAuth* previous = nullptr);

    // The verdict on an Authorization value from client peer (auth_peer()), to done on ex (the
    // agent's loop): at once from the cache, for missing credentials or a password longer than
    // kBcryptMaxPassword (invalid), else after a verification on the Verifier's thread.
    void check(std::string_view authorization, const std::string& peer,
               boost::asio::any_io_executor ex, std::function<void(Verdict)> done);

    // Correct pairs remembered at most; the cache is emptied when full.
    static constexpr std::size_t kCacheEntries = 256;

  private:
    std::string mac(const std::string& user, const std::string& password) const;

    std::map<std::string, std::string> users_;
    std::shared_ptr<Verifier> verifier_;
    std::string dummy_;                        // a salt of the highest cost: unknown users
    std::string key_;                          // the HMAC key of the cache, random
    std::map<std::string, std::string> cache_; // MACs of correct pairs -> user (loop only)
};

} // namespace mxs
