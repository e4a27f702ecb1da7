#include "base/addr.h"
#include "counters/dns_model.h"
#include "counters/smtp_model.h"

#include <cstring>
#include <gtest/gtest.h>

namespace mxs {
namespace {

mxs_server_key v4key(std::uint8_t last, std::uint8_t role = MXS_ROLE_CLIENT,
                     std::uint8_t proto = 17) {
    mxs_server_key k{};
    k.addr[10] = k.addr[11] = 0xff;
    k.addr[12] = 198;
    k.addr[13] = 18;
    k.addr[15] = last;
    k.port = 53;
    k.proto = proto;
    k.role = role;
    return k;
}

TEST(Addr, CanonicalText) {
    EXPECT_EQ(addr_to_string(v4key(2).addr), "198.18.0.2");
    std::uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    EXPECT_EQ(addr_to_string(v6), "fd00::2");
}

TEST(Addr, ParseListen) {
    auto a = parse_listen("127.0.0.1:10053");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 10053);
    auto b = parse_listen("[::1]:9");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    for (const char* bad : {"", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "host:80", "[::1]80",
                            "::1:80", "1.2.3.4:8x"})
        EXPECT_FALSE(parse_listen(bad)) << bad;
}

TEST(Labeler, BusiestFirstThenOtherForGood) {
    ServerLabeler l(2);
    l.offer({"a", "b", "c"});
    EXPECT_EQ(l.label("a"), "a");
    EXPECT_EQ(l.label("b"), "b");
    EXPECT_EQ(l.label("c"), kOtherServer);
    l.offer({"c", "d"});
    EXPECT_EQ(l.label("c"), kOtherServer); // never promoted: "other" must not go backwards
    EXPECT_EQ(l.labelled(), 2u);
}

TEST(Aggregator, SumsOverflowServersUnderOther) {
    DnsAggregator agg(1);
    std::map<mxs_server_key, DnsCounters, ServerKeyLess> t;
    t[v4key(1)].queries = 5;
    t[v4key(2)].queries = 9;
    t[v4key(3)].queries = 1;
    t[v4key(2, MXS_ROLE_CLIENT, 6)].queries = 2;
    agg.set_kernel_totals(t);
    agg.add_swept(v4key(3), 4);
    const auto s = agg.series();
    EXPECT_EQ(s.at(SeriesKey{"198.18.0.2", "client", "udp"}).queries, 9u);
    EXPECT_EQ(s.at(SeriesKey{"198.18.0.2", "client", "tcp"}).queries, 2u);
    EXPECT_EQ(s.at(SeriesKey{"other", "client", "udp"}).queries, 6u);
    EXPECT_EQ(s.at(SeriesKey{"other", "client", "udp"}).unanswered, 4u);
    EXPECT_EQ(s.size(), 3u);
}

TEST(SmtpAggregator, TimeoutsJoinKernelOutcomes) {
    SmtpAggregator agg(8);
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> t;
    auto k = v4key(25, MXS_ROLE_CLIENT, 6);
    t[k].outcomes[MXS_SMTP_ESTABLISHED] = 2;
    agg.set_kernel_totals(t);
    agg.add_swept(k, 3);
    const auto s = agg.series();
    ASSERT_EQ(s.size(), 1u);
    const auto& c = s.at(SmtpSeriesKey{"198.18.0.25", "client"});
    EXPECT_EQ(c.outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(c.outcomes[MXS_SMTP_TIMEOUT], 3u);
}

// Verdict evidence is what this host asked of the service port, per (address, transport); the
// sweep's counts join the kernel's the way each protocol books them.
TEST(Aggregator, EvidenceIsTheClientRoleOnTheServicePort) {
    SmtpAggregator smtp(8);
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> t;
    auto mx = v4key(25, MXS_ROLE_CLIENT, 6), submission = mx, inbound = mx;
    mx.port = 25;
    submission.port = 587;
    inbound.port = 25;
    inbound.role = MXS_ROLE_SERVER;
    t[mx].outcomes[MXS_SMTP_ESTABLISHED] = 2;
    t[submission].outcomes[MXS_SMTP_REFUSED] = 9;
    t[inbound].outcomes[MXS_SMTP_REFUSED] = 7;
    smtp.set_kernel_totals(t);
    smtp.add_swept(mx, 1);
    smtp.add_swept(submission, 5);
    const auto e = smtp.client_by_address(25);
    ASSERT_EQ(e.size(), 1u);
    const auto& c = e.at({"198.18.0.25", "tcp"});
    EXPECT_EQ(c.outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(c.outcomes[MXS_SMTP_TIMEOUT], 1u);
    EXPECT_EQ(c.outcomes[MXS_SMTP_REFUSED], 0u);

    DnsAggregator dns(8);
    std::map<mxs_server_key, DnsCounters, ServerKeyLess> d;
    auto udp = v4key(53), tcp = v4key(53, MXS_ROLE_CLIENT, 6), other = v4key(53);
    other.port = 5353;
    d[udp].queries = 4;
    d[tcp].queries = 2;
    d[other].queries = 8;
    dns.set_kernel_totals(d);
    dns.add_swept(udp, 3);
    const auto de = dns.client_by_address(53);
    ASSERT_EQ(de.size(), 2u);
    EXPECT_EQ(de.at({"198.18.0.53", "udp"}).queries, 4u);
    EXPECT_EQ(de.at({"198.18.0.53", "udp"}).unanswered, 3u);
    EXPECT_EQ(de.at({"198.18.0.53", "tcp"}).queries, 2u);
}

} // namespace
} // namespace mxs
