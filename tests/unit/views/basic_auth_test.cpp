// Basic auth: the credentials' syntax (RFC 7617), bcrypt against hashes made by other
// implementations (Apache's htpasswd, APR's bcrypt; OpenBSD's published vectors), and the
// bounds of BasicAuth (cache, queue, unknown users).
#include "views/basic_auth.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <memory>
#include <openssl/evp.h>
#include <random>
#include <string>
#include <vector>

namespace mxs {
namespace {

using Verdict = BasicAuth::Verdict;

// `htpasswd -nbBC 4 alice 'correct horse'`, `htpasswd -nbB bob 'pa:ss wörd'` (cost 5),
// `htpasswd -nbBC 12 carol x` (apache2-utils 2.4.62).
const std::string kAlice = "$2y$04$wtzBiTm4HB2abosIQoo97uNhyBP8C19VodhdcpJLIU8kCKvkN1KnG";
const std::string kBob = "$2y$05$g/BgcelVSk0R9BtEE3iHuOi6bipk5owh2gJgZjDP3tVwBVRrX5iYu";
const std::string kCarol = "$2y$12$SF6YIbpkJvQiejX14ERbKe.oyoLpdl2ZjEyKqQ7kTeHLJlplfrCVS";
// `printf 'alice:correct horse' | base64`, `printf 'bob:pa:ss wörd' | base64` (coreutils).
const std::string kAliceBasic = "Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==";
const std::string kBobBasic = "Basic Ym9iOnBhOnNzIHfDtnJk";

TEST(BasicAuth, ParsesCredentialsAsRfc7617Says) {
    auto a = parse_basic(kAliceBasic);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first, "alice");
    EXPECT_EQ(a->second, "correct horse");
    auto b = parse_basic("bAsIc   Ym9iOnBhOnNzIHfDtnJk "); // scheme in any case, spaces
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "bob");
    EXPECT_EQ(b->second, "pa:ss w\xc3\xb6rd"); // the password may hold ':'
    for (const char* bad :
         {"", "Basic", "Basic ", "Bearer YWxpY2U6eA==", "BasicYWxpY2U6eA==", "Basic YWxpY2U6eA=",
          "Basic YWxpY2U6e===", "Basic YWxp Y2U6eA==", "Basic YWxpY2U=" /* "alice": no colon */,
          "Basic YQB4Onk=" /* "a\0x:y" */, "Basic YWxpY2U6eA=a"})
        EXPECT_FALSE(parse_basic(bad)) << bad;
}

TEST(BasicAuth, VerifiesHashesOfOtherImplementations) {
    EXPECT_TRUE(bcrypt_verify("correct horse", kAlice));
    EXPECT_TRUE(bcrypt_verify("pa:ss w\xc3\xb6rd", kBob));
    EXPECT_FALSE(bcrypt_verify("correct horse ", kAlice));
    EXPECT_FALSE(bcrypt_verify("Correct horse", kAlice));
    EXPECT_FALSE(bcrypt_verify("", kAlice));
    // OpenBSD's bcrypt test vectors ($2a$, cost 5).
    EXPECT_TRUE(
        bcrypt_verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
    EXPECT_TRUE(bcrypt_verify("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"));
    EXPECT_FALSE(
        bcrypt_verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"));
    // Not bcrypt, or broken: false, never a crash or a match.
    EXPECT_FALSE(bcrypt_verify("x", ""));
    EXPECT_FALSE(bcrypt_verify("x", "$2y$04$short"));
    EXPECT_FALSE(bcrypt_verify("correct horse", kAlice.substr(0, 59)));
}

// Fresh hashes from htpasswd (in the test set of scripts/setup), random passwords each run.
TEST(BasicAuth, VerifiesFreshHtpasswdHashes) {
    std::mt19937 rng(std::random_device{}());
    for (int i = 0; i < 3; ++i) {
        std::string password;
        for (int k = 0; k < 12; ++k)
            password.push_back(static_cast<char>('a' + rng() % 26));
        const auto cmd = "htpasswd -nbBC 4 user '" + password + "' 2>&1";
        std::unique_ptr<FILE, decltype(&pclose)> p(popen(cmd.c_str(), "r"), pclose);
        ASSERT_TRUE(p);
        char line[256] = "";
        ASSERT_TRUE(fgets(line, sizeof line, p.get())) << "htpasswd (apache2-utils) did not run";
        std::string out = line;
        ASSERT_TRUE(out.starts_with("user:$2y$04$")) << out;
        const auto hash = out.substr(5, 60);
        EXPECT_TRUE(bcrypt_verify(password, hash)) << password << " " << hash;
        password.back() = password.back() == 'a' ? 'b' : 'a';
        EXPECT_FALSE(bcrypt_verify(password, hash));
    }
}

struct Checker {
    boost::asio::io_context io;
    std::shared_ptr<Verifier> verifier = std::make_shared<Verifier>();
    std::shared_ptr<BasicAuth> auth;
    std::vector<Verdict> got;

    explicit Checker(std::map<std::string, std::string> users)
        : auth(std::make_shared<BasicAuth>(std::move(users), verifier)) {}
    ~Checker() { verifier->close(); } // before io goes: a verification may still be running
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;
    // The verdict's arrival: at once (synchronously) or only once the loop runs.
    bool check_now(const std::string& authorization, const std::string& peer = "192.0.2.1") {
        const auto before = got.size();
        auth->check(authorization, peer, io.get_executor(),
                    [this](Verdict v) { got.push_back(v); });
        return got.size() > before;
    }
    Verdict run_until(std::size_t n) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (got.size() < n && std::chrono::steady_clock::now() < end) {
            io.restart();
            io.run_for(std::chrono::milliseconds(20));
        }
        return got.size() >= n ? got[n - 1] : Verdict::busy;
    }
};

TEST(BasicAuth, VerifiesOffTheLoopAndRemembersCorrectPairs) {
    Checker c({{"alice", kAlice}, {"bob", kBob}});
    EXPECT_FALSE(c.check_now(kAliceBasic)); // a verification: on the Verifier's thread
    EXPECT_EQ(c.run_until(1), Verdict::ok);
    EXPECT_TRUE(c.check_now(kAliceBasic)); // remembered: at once
    EXPECT_EQ(c.got.back(), Verdict::ok);
    EXPECT_FALSE(c.check_now("Basic YWxpY2U6d3Jvbmc=")); // alice:wrong
    EXPECT_EQ(c.run_until(3), Verdict::invalid);
    EXPECT_FALSE(c.check_now("Basic YWxpY2U6d3Jvbmc=")); // a wrong pair is never remembered
    EXPECT_EQ(c.run_until(4), Verdict::invalid);
    // An unknown user is verified (against the dummy salt) like a known one, and fails.
    EXPECT_FALSE(c.check_now("Basic bWFsbG9yeTpjb3JyZWN0IGhvcnNl")); // mallory:correct horse
    EXPECT_EQ(c.run_until(5), Verdict::invalid);
    EXPECT_TRUE(c.check_now("Bearer abc"));
    EXPECT_EQ(c.got.back(), Verdict::missing);
    EXPECT_TRUE(c.check_now(""));
    EXPECT_EQ(c.got.back(), Verdict::missing);
    EXPECT_FALSE(c.check_now(kBobBasic));
    EXPECT_EQ(c.run_until(8), Verdict::ok);
}

// Wrong passwords in a burst: Verifier::kMaxPending wait, the rest are refused at once (busy)
// and cost nothing; a remembered pair is still answered at once meanwhile.
TEST(BasicAuth, BoundsTheVerificationsWaiting) {
    Checker c({{"carol", kCarol}});                  // cost 12: each verification takes a while
    EXPECT_FALSE(c.check_now("Basic Y2Fyb2w6eA==")); // carol:x
    EXPECT_EQ(c.run_until(1), Verdict::ok);
    std::size_t at_once = 0;
    const std::size_t burst = Verifier::kMaxPending + 8;
    for (std::size_t i = 0; i < burst; ++i) // from as many addresses: no share is exceeded
        at_once += c.check_now("Basic Y2Fyb2w6eQ==", "198.51.100." + std::to_string(i));
    EXPECT_GE(at_once, 8u);
    EXPECT_LE(at_once, 9u); // one may have finished meanwhile: no more
    for (std::size_t i = 1; i <= at_once; ++i)
        EXPECT_EQ(c.got[i], Verdict::busy);
    EXPECT_TRUE(c.check_now("Basic Y2Fyb2w6eA=="));
    EXPECT_EQ(c.got.back(), Verdict::ok);
}

// One address's burst of wrong passwords takes Verifier::kMaxPerPeer places; another address's
// correct password is still queued (not refused) and verified (review finding 1: a flood from
// one address after a reload had kept every scrape out).
TEST(BasicAuth, SharesTheQueueBetweenAddresses) {
    Checker c({{"carol", kCarol}}); // cost 12: the burst is still waiting when the last comes
    std::size_t at_once = 0;
    for (int i = 0; i < 10; ++i)
        at_once += c.check_now("Basic Y2Fyb2w6eQ==", "203.0.113.7"); // carol:y
    EXPECT_GE(at_once, 10 - Verifier::kMaxPerPeer - 1); // one may have finished meanwhile
    EXPECT_LE(at_once, 10 - Verifier::kMaxPerPeer);
    for (std::size_t i = 0; i < at_once; ++i)
        EXPECT_EQ(c.got[i], Verdict::busy);
    // The same /64 is the same client; another /64 is another.
    EXPECT_TRUE(c.check_now("Basic Y2Fyb2w6eQ==",
                            auth_peer(boost::asio::ip::make_address("::ffff:203.0.113.7"))));
    EXPECT_EQ(c.got.back(), Verdict::busy);
    EXPECT_EQ(auth_peer(boost::asio::ip::make_address("2001:db8:1:2:aaaa::1")),
              auth_peer(boost::asio::ip::make_address("2001:db8:1:2:bbbb::9")));
    EXPECT_NE(auth_peer(boost::asio::ip::make_address("2001:db8:1:2::1")),
              auth_peer(boost::asio::ip::make_address("2001:db8:1:3::1")));
    const auto n = c.got.size();
    EXPECT_FALSE(c.check_now("Basic Y2Fyb2w6eA==", "203.0.113.8")); // carol:x, another address
    EXPECT_EQ(c.run_until(n + 1 + (10 - at_once)), Verdict::ok);    // after the burst's queued
}

// A reload's BasicAuth keeps the pairs remembered for users whose hash is the same, and only
// those: alice (same hash) is answered at once, bob (re-hashed) and a removed user are verified.
TEST(BasicAuth, KeepsRememberedPairsAcrossAReloadForUnchangedHashes) {
    Checker c({{"alice", kAlice}, {"bob", kBob}});
    EXPECT_FALSE(c.check_now(kAliceBasic));
    EXPECT_EQ(c.run_until(1), Verdict::ok);
    EXPECT_FALSE(c.check_now(kBobBasic));
    EXPECT_EQ(c.run_until(2), Verdict::ok);
    // bob's new hash: `htpasswd -nbB bob 'pa:ss wörd'` again (another salt).
    const std::string kBob2 = "$2y$05$KUPaGJIelyYC3rZgcdjs.e9TZwlZjwkxhcChS9GJzS6zXqz7aQftC";
    c.auth = std::make_shared<BasicAuth>(
        std::map<std::string, std::string>{{"alice", kAlice}, {"bob", kBob2}}, c.verifier,
        c.auth.get());
    EXPECT_TRUE(c.check_now(kAliceBasic));
    EXPECT_EQ(c.got.back(), Verdict::ok);
    EXPECT_FALSE(c.check_now(kBobBasic)); // verified anew against the new hash
    EXPECT_EQ(c.run_until(4), Verdict::ok);
    c.auth = std::make_shared<BasicAuth>(std::map<std::string, std::string>{{"bob", kBob}},
                                         c.verifier, c.auth.get());
    EXPECT_FALSE(c.check_now(kAliceBasic)); // alice removed: forgotten, and unknown now
    EXPECT_EQ(c.run_until(5), Verdict::invalid);
}

std::string basic(const std::string& user, const std::string& password) {
    const std::string text = user + ":" + password;
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

// bcrypt reads 72 bytes of a password (htpasswd's hash of 72 'y' matches it with anything
// after); BasicAuth refuses a longer password at once, so none is cut silently.
TEST(BasicAuth, RefusesPasswordsLongerThanBcryptReads) {
    const std::string password(kBcryptMaxPassword, 'y');
    std::unique_ptr<FILE, decltype(&pclose)> p(
        popen(("htpasswd -nbBC 4 user '" + password + "' 2>&1").c_str(), "r"), pclose);
    ASSERT_TRUE(p);
    char line[256] = "";
    ASSERT_TRUE(fgets(line, sizeof line, p.get())) << "htpasswd (apache2-utils) did not run";
    const auto hash = std::string(line).substr(5, 60);
    ASSERT_TRUE(bcrypt_verify(password + "JUNK", hash)); // what bcrypt itself does
    Checker c({{"user", hash}});
    EXPECT_TRUE(c.check_now(basic("user", password + "JUNK")));
    EXPECT_EQ(c.got.back(), Verdict::invalid);
    EXPECT_FALSE(c.check_now(basic("user", password)));
    EXPECT_EQ(c.run_until(2), Verdict::ok);
}

} // namespace
} // namespace mxs
