// The exposition: counters, cumulative histograms and the kernel's counters under their names.
#include "views/metrics.h"

#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <string_view>

namespace mxs {
namespace {

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
    for (const std::string& line : std::vector<std::string>{
             "mxsense_dns_responses_without_question_total{" + l + "} 3",
             "mxsense_dns_retried_responses_total{" + l + "} 4",
             "mxsense_sensor_map_insert_failures_total{map=\"dns_stats\"} 5",
             "mxsense_sensor_map_insert_failures_total{map=\"smtp_stats\"} 6",
             "mxsense_sensor_map_buckets_full_total{map=\"dns_inflight\"} 7",
             "mxsense_sensor_map_buckets_full_total{map=\"dns_inflight_server\"} 8",
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

// Every counter of the contract (MXS_COUNTERS in bpf/mxsense.h) is exported, under its family
// and labels, with its own value: a new counter needs nothing in the agent.
TEST(Metrics, EveryKernelCounterIsExported) {
    Snapshot snap;
    for (std::uint32_t c = 0; c < MXS_C_MAX; ++c)
        snap.sensor.counters[c] = 1000 + c;
    const auto text = render_metrics(snap, MetricsOptions{{0.001}});
    struct Row {
        const char* metric;
        const char* labels;
    };
    const Row rows[MXS_C_MAX] = {
#define MXS_TEST_ROW(name, metric, labels, help) {metric, labels},
        MXS_COUNTERS(MXS_TEST_ROW)
#undef MXS_TEST_ROW
    };
    for (std::uint32_t c = 0; c < MXS_C_MAX; ++c) {
        std::string labels;
        for (std::string_view l = rows[c].labels; !l.empty();) {
            const auto comma = l.find(',');
            const auto pair = l.substr(0, comma);
            const auto eq = pair.find('=');
            labels += (labels.empty() ? "" : ",") + std::string(pair.substr(0, eq)) + "=\"" +
                      std::string(pair.substr(eq + 1)) + "\"";
            l = comma == std::string_view::npos ? std::string_view() : l.substr(comma + 1);
        }
        const auto line = std::string("mxsense_sensor_") + rows[c].metric +
                          (labels.empty() ? "" : "{" + labels + "}") + " " +
                          std::to_string(1000 + c) + "\n";
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
    // One HELP and TYPE per family, however many counters it has.
    std::size_t helps = 0;
    for (auto at = text.find("# HELP mxsense_sensor_parse_errors_total"); at != std::string::npos;
         at = text.find("# HELP mxsense_sensor_parse_errors_total", at + 1))
        ++helps;
    EXPECT_EQ(helps, 1u);
}

// The audit's findings and the figures behind them; a serial's lag in serial arithmetic
// (RFC 1982: 1 is newer than 4294967295).
TEST(Metrics, AuditFindingsSerialsAndExpiry) {
    Snapshot snap;
    EXPECT_EQ(render_metrics(snap, MetricsOptions{{0.001}}).find("mxsense_audit_"),
              std::string::npos); // before the first run: nothing
    snap.audit.enabled = true;
    snap.audit.runs = 1;
    snap.audit.last_run_s = 1800000000;
    snap.audit.reports.push_back({"example.test",
                                  {{"ns_tcp", "198.18.0.3", AuditStatus::critical, "timeout"}},
                                  {{"198.18.0.2", 1}, {"198.18.0.3", 4294967295u}},
                                  {{"mx1.example.test", 1800086400}},
                                  {}});
    const auto text = render_metrics(snap, MetricsOptions{{0.001}});
    for (const char* want :
         {"mxsense_audit_check_status{domain=\"example.test\",check=\"ns_tcp\",target=\"198.18.0."
          "3\"} 2",
          "mxsense_audit_soa_serial_lag{domain=\"example.test\",server=\"198.18.0.3\"} 2",
          "mxsense_audit_soa_serial_lag{domain=\"example.test\",server=\"198.18.0.2\"} 0",
          "mxsense_audit_certificate_expiry_timestamp_seconds{domain=\"example.test\",host=\"mx1."
          "example.test\"} 1800086400",
          "mxsense_audit_last_run_timestamp_seconds 1800000000"})
        EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
}

// mxsense_build_info's four labels, the reload families, discovery by domain and result.
TEST(Metrics, BuildInfoReloadsAndDiscoveryLookups) {
    Snapshot snap;
    snap.build = {"0.1.0", "b4ca52b-dirty", "1.1", "6.1.0-18-amd64"};
    snap.config_reload_ok = false;
    snap.config_reloads = 2;
    snap.config_reload_failures = 3;
    snap.config_last_reload_success_s = 1800000000.5;
    snap.probes.discovery_lookups[{"example.test", "ok"}] = 4;
    snap.probes.discovery_lookups[{"example.test", "timeout"}] = 1;
    const auto text = render_metrics(snap, MetricsOptions{{0.001}});
    for (const char* want :
         {"mxsense_build_info{version=\"0.1.0\",revision=\"b4ca52b-dirty\",libbpf=\"1.1\","
          "kernel=\"6.1.0-18-amd64\"} 1\n",
          "mxsense_config_last_reload_successful 0\n",
          "# TYPE mxsense_config_last_reload_success_timestamp_seconds gauge\n"
          "mxsense_config_last_reload_success_timestamp_seconds 1800000000.5\n",
          "mxsense_config_reloads_total 2\n",
          "# TYPE mxsense_config_reload_failures_total counter\n"
          "mxsense_config_reload_failures_total 3\n",
          "mxsense_discovery_lookups_total{domain=\"example.test\",result=\"ok\"} 4\n",
          "mxsense_discovery_lookups_total{domain=\"example.test\",result=\"timeout\"} 1\n"})
        EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
}

} // namespace
} // namespace mxs
