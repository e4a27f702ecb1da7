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
    auto r = parse_dns_reply(m.data(), m.size(), 0x1234);
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
    auto r = parse_dns_reply(m.data(), m.size(), 0x1234);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rcode, 2);
    EXPECT_FALSE(parse_dns_reply(m.data(), m.size(), 0x1235));
    EXPECT_FALSE(parse_dns_reply(m.data(), 11, 0x1234));
    auto bad = reply(0, {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 1, 2, 3}, 1); // 3-byte A
    EXPECT_FALSE(parse_dns_reply(bad.data(), bad.size(), 0x1234));
    auto lies = reply(0, {}, 5); // counts answers that are not there
    EXPECT_FALSE(parse_dns_reply(lies.data(), lies.size(), 0x1234));
}

} // namespace
} // namespace mxs
