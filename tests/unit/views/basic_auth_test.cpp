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
    bool check_now(const std::string& authorization) {
        const auto before = got.size();
        auth->check(authorization, io.get_executor(), [this](Verdict v) { got.push_back(v); });
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
    for (std::size_t i = 0; i < burst; ++i)
        at_once += c.check_now("Basic Y2Fyb2w6eQ=="); // carol:y
    EXPECT_GE(at_once, 8u);
    EXPECT_LE(at_once, 9u); // one may have finished meanwhile: no more
    for (std::size_t i = 1; i <= at_once; ++i)
        EXPECT_EQ(c.got[i], Verdict::busy);
    EXPECT_TRUE(c.check_now("Basic Y2Fyb2w6eA=="));
    EXPECT_EQ(c.got.back(), Verdict::ok);
}

} // namespace
} // namespace mxs
