#include "addr.h"
#include "dns_model.h"
#include "metrics.h"
#include "options.h"

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
    agg.add_unanswered(v4key(3), 4);
    const auto s = agg.series();
    EXPECT_EQ(s.at(SeriesKey{"198.18.0.2", "client", "udp"}).queries, 9u);
    EXPECT_EQ(s.at(SeriesKey{"198.18.0.2", "client", "tcp"}).queries, 2u);
    EXPECT_EQ(s.at(SeriesKey{"other", "client", "udp"}).queries, 6u);
    EXPECT_EQ(s.at(SeriesKey{"other", "client", "udp"}).unanswered, 4u);
    EXPECT_EQ(s.size(), 3u);
}

TEST(Options, DefaultsAreValid) {
    EXPECT_FALSE(validate(AgentOptions{}));
}

TEST(Options, ErrorsNameTheOption) {
    auto check = [](auto mutate, const std::string& want) {
        AgentOptions o;
        mutate(o);
        auto e = validate(o);
        ASSERT_TRUE(e);
        EXPECT_EQ(*e, want);
    };
    check([](AgentOptions& o) { o.listen = "nowhere"; },
          "--listen 'nowhere': expected ADDR:PORT or [V6ADDR]:PORT");
    check([](AgentOptions& o) { o.dns_ports = {53, 53}; }, "--dns-port: a port is listed twice");
    check([](AgentOptions& o) { o.dns_ports = {1, 2, 3, 4, 5, 6, 7, 8, 9}; },
          "--dns-port: between 1 and 8 ports");
    check([](AgentOptions& o) { o.dns_timeout_s = 0; },
          "--dns-timeout 0: must be in (0, 3600] seconds");
    check(
        [](AgentOptions& o) {
            o.latency_buckets_s = {0.1, 0.01};
        },
        "--latency-buckets: bounds must be strictly increasing");
    check([](AgentOptions& o) { o.xdp_mode = "fast"; },
          "--xdp-mode 'fast': expected auto, native or generic");
    check(
        [](AgentOptions& o) {
            o.interfaces = {"eth0", "eth0"};
        },
        "--interface eth0: listed twice");
}

TEST(Metrics, RendersCountersAndCumulativeHistogram) {
    Snapshot snap;
    auto& c = snap.dns[SeriesKey{"198.18.0.2", "client", "udp"}];
    c.queries = 3;
    c.responses[MXS_RCODE_NXDOMAIN] = 2;
    c.unanswered = 1;
    c.latency.counts[mxs_hist_bucket(2'000'000)] = 2; // 2 ms
    c.latency.sum_ns = 4'000'000;
    snap.sensor.counters[MXS_C_DNS_SHORT] = 7;
    snap.sensor.interfaces.push_back({"veth0", {1, 2}});
    snap.sensor.attachments.push_back({"veth0", "xdp", "native"});
    const auto text = render_metrics(snap, MetricsOptions{{0.001, 0.0025}});
    const std::string l = "server=\"198.18.0.2\",role=\"client\",proto=\"udp\"";
    for (const std::string& line : std::vector<std::string>{
             "mxsense_dns_queries_total{" + l + "} 3",
             "mxsense_dns_responses_total{" + l + ",rcode=\"NXDOMAIN\"} 2",
             "mxsense_dns_responses_total{" + l + ",rcode=\"NOERROR\"} 0",
             "mxsense_dns_unanswered_total{" + l + "} 1",
             "mxsense_dns_response_duration_seconds_bucket{" + l + ",le=\"0.001\"} 0",
             "mxsense_dns_response_duration_seconds_bucket{" + l + ",le=\"0.0025\"} 2",
             "mxsense_dns_response_duration_seconds_bucket{" + l + ",le=\"+Inf\"} 2",
             "mxsense_dns_response_duration_seconds_sum{" + l + "} 0.004",
             "mxsense_dns_response_duration_seconds_count{" + l + "} 2",
             std::string("mxsense_sensor_parse_errors_total{reason=\"dns_short\"} 7"),
             std::string(
                 "mxsense_sensor_packets_total{interface=\"veth0\",direction=\"egress\"} 2"),
             std::string(
                 "mxsense_sensor_attach_mode{interface=\"veth0\",hook=\"xdp\",mode=\"native\"} 1"),
             std::string("# TYPE mxsense_dns_response_duration_seconds histogram")})
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
}

} // namespace
} // namespace mxs
