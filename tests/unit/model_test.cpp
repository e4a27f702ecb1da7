#include "addr.h"
#include "dns_model.h"
#include "metrics.h"
#include "options.h"
#include "smtp_model.h"

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
          "dns.timeout (--dns-timeout) 0: must be a number from 0.001 to 3600 seconds");
    check(
        [](AgentOptions& o) {
            o.latency_buckets_s = {0.1, 0.01};
        },
        "--latency-buckets: bounds must be strictly increasing");
    check([](AgentOptions& o) { o.late_map_entries = 0; },
          "maps.dns_late (--late-map-size) 0: must be from 1 to 16777216 entries");
    check([](AgentOptions& o) { o.inflight_server_map_entries = 4294967295u; },
          "maps.dns_inflight_server (--inflight-server-map-size) 4294967295: must be from 1 to "
          "16777216 entries");
    check([](AgentOptions& o) { o.xdp_mode = "fast"; },
          "--xdp-mode 'fast': expected auto, native or generic");
    check([](AgentOptions& o) { o.smtp_tls_ports = {2465}; },
          "--smtp-tls-port 2465: not among the --smtp-port ports");
    check(
        [](AgentOptions& o) {
            o.smtp_ports = {25, 465, 53};
        },
        "port 53 is both a DNS and an SMTP port");
    check([](AgentOptions& o) { o.smtp_idle_timeout_s = 5; },
          "smtp.idle_timeout (--smtp-idle-timeout) 5: must exceed the connect timeout 10");
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
    c.unreachable = 5;
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
             "mxsense_dns_unreachable_total{" + l + "} 5",
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

// The kernel counters of issue 10: each under its own name or reason label.
TEST(Metrics, RendersPairingRetryDirectionAndMapCounters) {
    Snapshot snap;
    auto& c = snap.dns[SeriesKey{"198.18.0.2", "server", "tcp"}];
    c.matched_without_question = 3;
    c.retried = 4;
    auto& k = snap.sensor.counters;
    k[MXS_C_STATS_INSERT_FAIL] = 5;
    k[MXS_C_SMTP_INSERT_FAIL] = 6;
    k[MXS_C_INFLIGHT_FULL] = 7;
    k[MXS_C_INFLIGHT_SRV_FULL] = 8;
    k[MXS_C_DNS_SAME_DIR] = 9;
    k[MXS_C_DNS_EDNS_UNREAD] = 10;
    k[MXS_C_DNS_TCP_HELD] = 11;
    k[MXS_C_DNS_TCP_LOST] = 12;
    snap.sensor.inflight_server_entries = 13;
    snap.sensor.inflight_server_capacity = 14;
    snap.sensor.smtp_stats_entries = 15;
    snap.sensor.smtp_stats_capacity = 16;
    snap.sensor.counted_maps["dns_late_server"] = MapUsage{17, 18};
    const auto text = render_metrics(snap, MetricsOptions{{0.001}});
    const std::string l = "server=\"198.18.0.2\",role=\"server\",proto=\"tcp\"";
    for (const std::string& line :
         std::vector<std::string>{"mxsense_dns_responses_without_question_total{" + l + "} 3",
                                  "mxsense_dns_retried_responses_total{" + l + "} 4",
                                  "mxsense_sensor_map_insert_failures_total{map=\"dns_stats\"} 5",
                                  "mxsense_sensor_map_insert_failures_total{map=\"smtp_stats\"} 6",
                                  "mxsense_sensor_map_full_total{map=\"dns_inflight\"} 7",
                                  "mxsense_sensor_map_full_total{map=\"dns_inflight_server\"} 8",
                                  "mxsense_sensor_dns_same_direction_responses_total 9",
                                  "mxsense_sensor_dns_edns_unread_total 10",
                                  "mxsense_sensor_dns_tcp_held_starts_total 11",
                                  "mxsense_sensor_dns_tcp_held_lost_total 12",
                                  "mxsense_sensor_map_entries{map=\"dns_inflight_server\"} 13",
                                  "mxsense_sensor_map_capacity{map=\"dns_inflight_server\"} 14",
                                  "mxsense_sensor_map_entries{map=\"smtp_stats\"} 15",
                                  "mxsense_sensor_map_capacity{map=\"smtp_stats\"} 16",
                                  "mxsense_sensor_map_entries{map=\"dns_late_server\"} 17",
                                  "mxsense_sensor_map_capacity{map=\"dns_late_server\"} 18"})
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
}

TEST(Metrics, RendersSmtpOutcomesCodesAndHistograms) {
    Snapshot snap;
    auto& c = snap.smtp[SmtpSeriesKey{"198.18.0.25", "server"}];
    c.outcomes[MXS_SMTP_ESTABLISHED] = 4;
    c.outcomes[MXS_SMTP_TIMEOUT] = 1;
    c.greetings[MXS_SMTP_421] = 3;
    c.replies[MXS_SMTP_5XX] = 2;
    c.starttls[MXS_STARTTLS_REFUSED] = 1;
    c.closed_before_greeting = 1;
    c.connect.counts[mxs_hist_bucket(20'000'000)] = 4; // 20 ms
    c.connect.sum_ns = 80'000'000;
    const auto text = render_metrics(snap, MetricsOptions{{0.01, 0.05}});
    const std::string l = "server=\"198.18.0.25\",role=\"server\"";
    for (const std::string& line : std::vector<std::string>{
             "mxsense_smtp_connections_total{" + l + ",outcome=\"established\"} 4",
             "mxsense_smtp_connections_total{" + l + ",outcome=\"timeout\"} 1",
             "mxsense_smtp_connections_total{" + l + ",outcome=\"refused\"} 0",
             "mxsense_smtp_greetings_total{" + l + ",code=\"421\"} 3",
             "mxsense_smtp_replies_total{" + l + ",code=\"5xx\"} 2",
             "mxsense_smtp_starttls_total{" + l + ",result=\"refused\"} 1",
             "mxsense_smtp_closed_before_greeting_total{" + l + "} 1",
             "mxsense_smtp_connect_duration_seconds_bucket{" + l + ",le=\"0.01\"} 0",
             "mxsense_smtp_connect_duration_seconds_bucket{" + l + ",le=\"0.05\"} 4",
             "mxsense_smtp_connect_duration_seconds_count{" + l + "} 4"})
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
    // Codes never seen are not exported.
    EXPECT_EQ(text.find("mxsense_smtp_greetings_total{" + l + ",code=\"220\"}"), std::string::npos);
}

TEST(SmtpAggregator, TimeoutsJoinKernelOutcomes) {
    SmtpAggregator agg(8);
    std::map<mxs_server_key, SmtpCounters, ServerKeyLess> t;
    auto k = v4key(25, MXS_ROLE_CLIENT, 6);
    t[k].outcomes[MXS_SMTP_ESTABLISHED] = 2;
    agg.set_kernel_totals(t);
    agg.add_timeouts(k, 3);
    const auto s = agg.series();
    ASSERT_EQ(s.size(), 1u);
    const auto& c = s.at(SmtpSeriesKey{"198.18.0.25", "client"});
    EXPECT_EQ(c.outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(c.outcomes[MXS_SMTP_TIMEOUT], 3u);
}

} // namespace
} // namespace mxs
