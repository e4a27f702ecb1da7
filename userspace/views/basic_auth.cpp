#include "views/basic_auth.h"

#include "config/web_config.h"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cctype>
#include <condition_variable>
#include <crypt.h>
#include <deque>
#include <map>
#include <mutex>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace mxs {

namespace {

// RFC 4648 §4 base 64, padded, nothing else (no spaces or line breaks: RFC 7617's token68).
std::optional<std::string> base64_decode(std::string_view in) {
    if (in.empty() || in.size() % 4 != 0)
        return std::nullopt;
    auto sextet = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=') : 0;
        if (pad == 1 && in[i + 2] == '=') // "x=y=" and the like
            return std::nullopt;
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) {
            const int s = k >= 4 - pad ? 0 : sextet(in[i + k]);
            if (s < 0)
                return std::nullopt;
            v = (v << 6) | static_cast<std::uint32_t>(s);
        }
        out.push_back(static_cast<char>(v >> 16));
        if (pad < 2)
            out.push_back(static_cast<char>((v >> 8) & 0xff));
        if (pad < 1)
            out.push_back(static_cast<char>(v & 0xff));
    }
    return out;
}

} // namespace

std::optional<std::pair<std::string, std::string>> parse_basic(std::string_view a) {
    constexpr std::string_view scheme = "basic";
    if (a.size() <= scheme.size() || a[scheme.size()] != ' ')
        return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != scheme[i])
            return std::nullopt;
    a.remove_prefix(scheme.size());
    while (!a.empty() && a.front() == ' ')
        a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ')
        a.remove_suffix(1);
    auto text = base64_decode(a);
    if (!text || text->find('\0') != std::string::npos)
        return std::nullopt;
    const auto colon = text->find(':');
    if (colon == std::string::npos)
        return std::nullopt;
    return std::pair{text->substr(0, colon), text->substr(colon + 1)};
}

bool bcrypt_verify(const std::string& password, const std::string& hash) {
    auto data = std::make_unique<crypt_data>(); // ~32 KiB: not on the stack
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    // libxcrypt returns a "*0"/"*1" failure token (or NULL) for a setting it refuses.
    if (!out || out[0] == '*')
        return false;
    const std::string_view got(out);
    const bool same_length = got.size() == hash.size();
    return CRYPTO_memcmp(same_length ? got.data() : hash.data(), hash.data(), hash.size()) == 0 &&
           same_length;
}

std::string auth_peer(const boost::asio::ip::address& address) {
    if (address.is_v4())
        return address.to_string();
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

// ---- Verifier ----------------------------------------------------------------------------

struct Verifier::State {
    struct Job {
        std::string peer;
        std::function<bool()> work;
        boost::asio::any_io_executor ex;
        std::function<void(bool)> done;
    };
    std::mutex m;
    std::condition_variable cv;
    std::deque<Job> jobs;
    std::size_t running = 0;
    std::map<std::string, std::size_t> per_peer; // jobs waiting or running, by peer
    bool open = true; // results are posted (closed by ~Verifier, before the loop goes)
};

Verifier::Verifier() : state_(std::make_shared<State>()) {}

// The thread starts with the first verification, not with the Verifier: the agent drops its
// capabilities while it is the only thread (base/privileges.h), after the Verifier is made.
void Verifier::start_thread() {
    std::thread([s = state_] {
        while (true) {
            State::Job job;
            {
                std::unique_lock lock(s->m);
                s->cv.wait(lock, [&] { return !s->open || !s->jobs.empty(); });
                if (!s->open)
                    return;
                job = std::move(s->jobs.front());
                s->jobs.pop_front();
                ++s->running;
            }
            bool ok = false;
            try {
                ok = job.work();
            } catch (const std::exception&) {
                ok = false;
            }
            std::lock_guard lock(s->m);
            --s->running;
            if (auto p = s->per_peer.find(job.peer); p != s->per_peer.end() && --p->second == 0)
                s->per_peer.erase(p);
            if (s->open) // post() never runs the handler here: the lock is not taken again
                boost::asio::post(job.ex, [done = std::move(job.done), ok] { done(ok); });
            // `job` (what it holds may be the last BasicAuth, whose Verifier's close() locks)
            // goes after the lock, declared after it.
        }
    }).detach();
}

Verifier::~Verifier() {
    close();
}

void Verifier::close() {
    std::deque<State::Job> dropped; // destroyed unlocked: a job may hold the last BasicAuth
    std::lock_guard lock(state_->m);
    state_->open = false;
    dropped.swap(state_->jobs);
    state_->per_peer.clear();
    state_->cv.notify_all();
}

bool Verifier::submit(const std::string& peer, std::function<bool()> work,
                      boost::asio::any_io_executor ex, std::function<void(bool)> done) {
    std::lock_guard lock(state_->m);
    if (!state_->open || state_->jobs.size() + state_->running >= kMaxPending)
        return false;
    if (auto p = state_->per_peer.find(peer);
        p != state_->per_peer.end() && p->second >= kMaxPerPeer)
        return false;
    if (!started_) {
        start_thread(); // may throw std::system_error (no thread): BasicAuth says busy
        started_ = true;
    }
    ++state_->per_peer[peer];
    state_->jobs.push_back({peer, std::move(work), std::move(ex), std::move(done)});
    state_->cv.notify_one();
    return true;
}

// ---- BasicAuth ---------------------------------------------------------------------------

BasicAuth::BasicAuth(std::map<std::string, std::string> users, std::shared_ptr<Verifier> verifier,
                     const BasicAuth* previous)
    : users_(std::move(users)), verifier_(std::move(verifier)) {
    unsigned cost = 4;
    for (const auto& [u, h] : users_)
        cost = std::max(cost, bcrypt_cost(h).value_or(4));
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
    if (!crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt.data(), static_cast<int>(salt.size())))
        throw std::runtime_error("crypt_gensalt_rn: no bcrypt salt");
    dummy_ = salt.data();
    if (previous) { // the same key, so the MACs kept still match
        key_ = previous->key_;
        for (const auto& [mac, user] : previous->cache_) {
            const auto now = users_.find(user);
            const auto then = previous->users_.find(user);
            if (now != users_.end() && then != previous->users_.end() &&
                now->second == then->second)
                cache_.emplace(mac, user);
        }
        return;
    }
    key_.resize(32);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) !=
        1)
        throw std::runtime_error("RAND_bytes: no key for the credentials cache");
}

std::string BasicAuth::mac(const std::string& user, const std::string& password) const {
    std::string msg = user;
    msg.push_back('\0'); // a user name has no NUL: (user, password) pairs stay apart
    msg += password;
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md.data(), &len);
    OPENSSL_cleanse(msg.data(), msg.size());
    return {reinterpret_cast<const char*>(md.data()), len};
}

void BasicAuth::check(std::string_view authorization, const std::string& peer,
                      boost::asio::any_io_executor ex, std::function<void(Verdict)> done) {
    auto creds = parse_basic(authorization);
    if (!creds)
        return done(Verdict::missing);
    if (creds->second.size() > kBcryptMaxPassword) { // no hash can match it whole
        OPENSSL_cleanse(creds->second.data(), creds->second.size());
        return done(Verdict::invalid);
    }
    auto key = mac(creds->first, creds->second);
    if (cache_.count(key))
        return done(Verdict::ok);
    const auto user = users_.find(creds->first);
    // An unknown user costs what a known one does (the dummy salt's cost), and fails.
    std::string hash = user == users_.end() ? dummy_ : user->second;
    const bool known = user != users_.end();
    auto work = [password = std::move(creds->second), hash = std::move(hash), known]() mutable {
        const bool ok = bcrypt_verify(password, hash) && known;
        OPENSSL_cleanse(password.data(), password.size());
        return ok;
    };
    auto finish = [self = shared_from_this(), key = std::move(key), name = creds->first,
                   done](bool ok) mutable { // on the agent's loop
        if (ok) {
            if (self->cache_.size() >= kCacheEntries)
                self->cache_.clear();
            self->cache_.emplace(std::move(key), std::move(name));
        }
        done(ok ? Verdict::ok : Verdict::invalid);
    };
    bool queued = false;
    try {
        queued = verifier_->submit(peer, std::move(work), std::move(ex), std::move(finish));
    } catch (const std::system_error&) { // no thread could be started (EAGAIN): as if busy
        queued = false;
    }
    if (!queued)
        done(Verdict::busy);
}

} // namespace mxs
