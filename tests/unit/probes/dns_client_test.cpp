// The probe/discovery DNS messages: a query as a resolver library builds it,
// and answers written out byte by byte (with name compression) read back.
#include "probes/dns_client.h"

#include <arpa/nameser.h>
#include <gtest/gtest.h>

namespace mxs {
namespace {
using namespace std::string_literals;

TEST(DnsClient, QueryCarriesIdNameTypeAndRd) {
    auto q = build_dns_query("example.test", ns_t_mx, 0xbeef);
    ASSERT_TRUE(q) << q.error();
    ASSERT_EQ(q->size(), 12u + 14 + 4);
    EXPECT_EQ((*q)[0], 0xbe);
    EXPECT_EQ((*q)[1], 0xef);
    EXPECT_EQ((*q)[2] & 0x01, 0x01); // RD
    EXPECT_EQ((*q)[5], 1);           // one question
    EXPECT_EQ(std::string(q->begin() + 12, q->begin() + 26), "\7example\4test\0"s);
    EXPECT_EQ((*q)[27], ns_t_mx);
}

const std::string kQ = "example.test"; // the question reply() asks

// Header (id 0x1234, QR|RD|RA, rcode), question example.test MX, then answers.
std::vector<std::uint8_t> reply(std::uint8_t rcode, const std::vector<std::uint8_t>& answers,
                                std::uint8_t ancount) {
    std::string m = "\x12\x34\x81"s + static_cast<char>(0x80 | rcode) + "\0\1\0"s +
                    static_cast<char>(ancount) + "\0\0\0\0"s + "\7example\4test\0"s + "\0\x0f\0\1"s;
    for (auto b : answers)
        m.push_back(static_cast<char>(b));
    return {m.begin(), m.end()};
}

TEST(DnsClient, ReadsMxAndAddressAnswersWithCompression) {
    // "example.test" is at offset 12: pointer 0xc00c.
    std::vector<std::uint8_t> an = {0xc0, 0x0c, 0, 15,  0,   1,   0,    0,    0x01, 0x2c, 0, 8,
                                    0,    20,   3, 'm', 'x', '2', 0xc0, 0x0c, 0xc0, 0x0c, 0, 28,
                                    0,    1,    0, 0,   0,   60,  0,    16,   0xfd, 0,    0, 0,
                                    0,    0,    0, 0,   0,   0,   0,    0,    0,    0,    0, 0x11};
    auto m = reply(0, an, 2);
    auto r = parse_dns_reply(m.data(), m.size(), 0x1234, kQ, ns_t_mx);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->rcode, 0);
    ASSERT_EQ(r->answers.size(), 2u);
    EXPECT_EQ(r->answers[0].type, ns_t_mx);
    EXPECT_EQ(r->answers[0].preference, 20);
    EXPECT_EQ(r->answers[0].data, "mx2.example.test");
    EXPECT_EQ(r->answers[0].ttl, 300u);
    EXPECT_EQ(r->answers[1].data, "fd00::11");
    EXPECT_EQ(r->answers[1].ttl, 60u);
}

TEST(DnsClient, RejectsOtherIdsTruncatedAndMalformedMessages) {
    auto m = reply(2, {}, 0);
    auto r = parse_dns_reply(m.data(), m.size(), 0x1234, kQ, ns_t_mx);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rcode, 2);
    EXPECT_FALSE(parse_dns_reply(m.data(), m.size(), 0x1235, kQ, ns_t_mx));
    EXPECT_FALSE(parse_dns_reply(m.data(), 11, 0x1234, kQ, ns_t_mx));
    auto bad = reply(0, {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3}, 1); // 3-byte A
    EXPECT_FALSE(parse_dns_reply(bad.data(), bad.size(), 0x1234, kQ, ns_t_mx));
    auto lies = reply(0, {}, 5); // counts answers that are not there
    EXPECT_FALSE(parse_dns_reply(lies.data(), lies.size(), 0x1234, kQ, ns_t_mx));
}

// RFC 5452 9.1: an answer is to the question asked, or it is not the answer (an off-path
// forgery, a confused server); of its records only those about the question count.
TEST(DnsClient, AnswersTheQuestionAskedOnly) {
    auto m = reply(0, {}, 0);
    EXPECT_TRUE(parse_dns_reply(m.data(), m.size(), 0x1234, "Example.TEST.", ns_t_mx));
    EXPECT_FALSE(parse_dns_reply(m.data(), m.size(), 0x1234, "evil.test", ns_t_mx));
    EXPECT_FALSE(parse_dns_reply(m.data(), m.size(), 0x1234, kQ, ns_t_a));
    // Without the question: only an error rcode, which says nothing more.
    auto header_only = [](std::uint8_t rcode) {
        std::string h = "\x12\x34\x81"s + static_cast<char>(0x80 | rcode) + "\0\0\0\0\0\0\0\0"s;
        return std::vector<std::uint8_t>(h.begin(), h.end());
    };
    auto refused = header_only(ns_r_refused);
    auto r = parse_dns_reply(refused.data(), refused.size(), 0x1234, kQ, ns_t_mx);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->rcode, ns_r_refused);
    auto empty = header_only(ns_r_noerror);
    EXPECT_FALSE(parse_dns_reply(empty.data(), empty.size(), 0x1234, kQ, ns_t_mx));
    // Records of another owner are dropped; a CNAME chain from the question is followed.
    // example.test CNAME mx.example.test (compressed), mx.example.test MX 10 mx.example.test,
    // evil.test MX 10 evil.test.
    // Offsets: the answers start at 30; "mx.example.test" is at 42, "evil.test" at 63.
    std::vector<std::uint8_t> an = {0xc0, 0x0c, 0,   5,   0,   1,    0,    0,    0,
                                    60,   0,    5,   2,   'm', 'x',  0xc0, 0x0c, // CNAME
                                    0xc0, 42,   0,   15,  0,   1,    0,    0,    0,
                                    60,   0,    4,   0,   10,  0xc0, 42, // MX
                                    4,    'e',  'v', 'i', 'l', 4,    't',  'e',  's',
                                    't',  0,    0,   15,  0,   1,    0,    0,    0,
                                    60,   0,    4,   0,   10,  0xc0, 63};
    auto chain = reply(0, an, 3);
    auto c = parse_dns_reply(chain.data(), chain.size(), 0x1234, kQ, ns_t_mx);
    ASSERT_TRUE(c) << c.error();
    ASSERT_EQ(c->answers.size(), 2u);
    EXPECT_EQ(c->answers[0].type, ns_t_cname);
    EXPECT_EQ(c->answers[0].data, "mx.example.test");
    EXPECT_EQ(c->answers[1].type, ns_t_mx);
    EXPECT_EQ(c->answers[1].name, "mx.example.test");
}

} // namespace
} // namespace mxs
