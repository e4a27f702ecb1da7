#include "views/metrics.h"

#include "views/exposition.h"
#include "views/metrics_parts.h"

#include <algorithm>
#include <prometheus/metric_family.h>
#include <string_view>

namespace mxs {
namespace {

using namespace metrics_parts;

std::vector<ClientMetric::Label> dns_labels(const SeriesKey& k) {
    return {{"server", k.server}, {"role", k.role}, {"proto", k.proto}};
}

// The sensor's counters as bpf/mxsense.h declares them (MXS_COUNTERS): metric, labels, help.
struct KernelCounter {
    const char* metric;
    const char* labels; // "key=value,..."
    const char* help;   // the family's, with its first counter
};
constexpr KernelCounter kKernelCounters[MXS_C_MAX] = {
#define MXS_COUNTER_ROW(name, metric, labels, help) {metric, labels, help},
    MXS_COUNTERS(MXS_COUNTER_ROW)
#undef MXS_COUNTER_ROW
};

std::vector<ClientMetric::Label> parse_labels(std::string_view text) {
    std::vector<ClientMetric::Label> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto pair = text.substr(0, comma);
        const auto eq = pair.find('=');
        out.push_back({std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1))});
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    }
    return out;
}

// Every kernel counter under its family, the families in the order the table first names them.
void render_kernel_counters(const SensorSnapshot& s, std::vector<MetricFamily>& out) {
    std::vector<Family> families;
    for (std::uint32_t c = 0; c < MXS_C_MAX; ++c) {
        const auto& k = kKernelCounters[c];
        const std::string name = std::string("mxsense_sensor_") + k.metric;
        auto f = std::find_if(families.begin(), families.end(),
                              [&](const Family& x) { return x.f.name == name; });
        if (f == families.end())
            f = families.emplace(families.end(), name, k.help, MetricType::Counter);
        f->counter(parse_labels(k.labels), static_cast<double>(s.counters[c]));
    }
    for (auto& f : families)
        out.push_back(std::move(f.f));
}

} // namespace

std::vector<MetricFamily> metric_families(const Snapshot& snap, const MetricsOptions& opts) {
    std::vector<MetricFamily> out;
    Family queries("mxsense_dns_queries_total", "DNS queries seen, per server.",
                   MetricType::Counter);
    Family responses("mxsense_dns_responses_total",
                     "DNS responses matched to a query, per server and rcode.",
                     MetricType::Counter);
    Family duration("mxsense_dns_response_duration_seconds",
                    "Time from a DNS query to its matched response.", MetricType::Histogram);
    Family unanswered("mxsense_dns_unanswered_total",
                      "DNS queries with no response within the timeout.", MetricType::Counter);
    Family truncated("mxsense_dns_truncated_responses_total",
                     "Matched DNS responses with the TC bit set.", MetricType::Counter);
    Family unsolicited("mxsense_dns_unsolicited_responses_total",
                       "DNS responses with no query in flight (RFC 5452).", MetricType::Counter);
    Family mismatched("mxsense_dns_mismatched_responses_total",
                      "DNS responses whose question differs from the query's.",
                      MetricType::Counter);
    Family without_question(
        "mxsense_dns_responses_without_question_total",
        "DNS responses matched by endpoints and id alone: the response or its query had no "
        "readable question (e.g. NOTIMP or FORMERR with QDCOUNT=0).",
        MetricType::Counter);
    Family retried("mxsense_dns_retried_responses_total",
                   "DNS responses to queries retransmitted while in flight: counted by rcode, no "
                   "latency sample (it would include the client's retry timer).",
                   MetricType::Counter);
    Family unreachable("mxsense_dns_unreachable_total",
                       "DNS queries (UDP) ended by an ICMP/ICMPv6 destination unreachable.",
                       MetricType::Counter);

    for (const auto& [key, c] : snap.dns) {
        queries.counter(dns_labels(key), static_cast<double>(c.queries));
        for (std::uint32_t r = 0; r < MXS_RCODE_MAX; ++r) {
            auto l = dns_labels(key);
            l.push_back({"rcode", rcode_name(r)});
            responses.counter(std::move(l), static_cast<double>(c.responses[r]));
        }
        histogram(duration, dns_labels(key), c.latency, opts.latency_buckets_s);
        unanswered.counter(dns_labels(key), static_cast<double>(c.unanswered));
        truncated.counter(dns_labels(key), static_cast<double>(c.truncated));
        unsolicited.counter(dns_labels(key), static_cast<double>(c.unsolicited));
        mismatched.counter(dns_labels(key), static_cast<double>(c.mismatched));
        without_question.counter(dns_labels(key), static_cast<double>(c.matched_without_question));
        retried.counter(dns_labels(key), static_cast<double>(c.retried));
        unreachable.counter(dns_labels(key), static_cast<double>(c.unreachable));
    }
    for (auto* f : {&queries, &responses, &duration, &unanswered, &truncated, &unsolicited,
                    &mismatched, &without_question, &retried, &unreachable})
        out.push_back(std::move(f->f));

    render_smtp(snap, opts, out);
    render_health(snap.health, out);
    render_probes(snap.probes, out);
    render_audit(snap.audit, out);
    Family wreq("mxsense_webhook_requests_total",
                "Alertmanager webhook deliveries by result (ok, refused, unauthorized, "
                "bad_request).",
                MetricType::Counter);
    for (const auto& [r, n] : snap.webhook.requests)
        wreq.counter({{"result", r}}, static_cast<double>(n));
    Family walerts("mxsense_webhook_alerts_total",
                   "Alerts in webhook deliveries by status and result (acted, duplicate, "
                   "ignored, refused).",
                   MetricType::Counter);
    for (const auto& [k, n] : snap.webhook.alerts)
        walerts.counter({{"status", k.first}, {"result", k.second}}, static_cast<double>(n));
    out.push_back(std::move(wreq.f));
    out.push_back(std::move(walerts.f));
    render_http(snap.http, out);
    // As Prometheus and Alertmanager name their own (prometheus_config_last_reload_*).
    Family reload_ok("mxsense_config_last_reload_successful",
                     "0 when the last SIGHUP reload failed and the old configuration stayed.",
                     MetricType::Gauge);
    reload_ok.gauge({}, snap.config_reload_ok ? 1 : 0);
    Family reload_at("mxsense_config_last_reload_success_timestamp_seconds",
                     "When the running configuration was read: the start, or the last reload "
                     "applied.",
                     MetricType::Gauge);
    reload_at.gauge({}, snap.config_last_reload_success_s);
    for (auto* f : {&reload_ok, &reload_at})
        out.push_back(std::move(f->f));
    // Unlabelled counters, a family each, in the order the exposition has them.
    const auto& s = snap.sensor;
    const struct {
        const char* name;
        const char* help;
        double value;
    } singles[] = {
        {"mxsense_config_reloads_total", "Successful configuration reloads.",
         static_cast<double>(snap.config_reloads)},
        {"mxsense_config_reload_failures_total",
         "Configuration reloads that failed: the file did not read or validate (or no thread "
         "could read it); the previous configuration stays.",
         static_cast<double>(snap.config_reload_failures)},
        {"mxsense_sensor_smtp_flow_evictions_total",
         "SMTP connections forgotten after the idle timeout.",
         static_cast<double>(s.smtp_evicted_total)},
        {"mxsense_sensor_dns_inflight_evictions_total",
         "In-flight queries removed by the timeout sweep.", static_cast<double>(s.expired_total)},
        {"mxsense_sensor_sweeps_total", "Timeout sweeps of the in-flight queries.",
         static_cast<double>(s.sweeps_total)},
        {"mxsense_sensor_sweep_seconds_total",
         "Wall time spent in the timeout sweeps (DNS in-flight tables and SMTP flows).",
         s.sweep_seconds_total},
        {"mxsense_sensor_dns_sweep_seconds_total",
         "Wall time spent sweeping the DNS in-flight tables (part of sweep_seconds_total).",
         s.dns_sweep_seconds_total},
    };
    for (const auto& m : singles) {
        Family f(m.name, m.help, MetricType::Counter);
        f.counter({}, m.value);
        out.push_back(std::move(f.f));
    }

    Family packets("mxsense_sensor_packets_total", "Packets seen by the sensor.",
                   MetricType::Counter);
    for (const auto& i : s.interfaces) {
        for (int d = 0; d < MXS_DIR_MAX; ++d) {
            const char* dir = d == MXS_DIR_INGRESS ? "ingress" : "egress";
            packets.counter({{"interface", i.name}, {"direction", dir}},
                            static_cast<double>(i.packets[d]));
        }
    }
    render_kernel_counters(s, out);
    Family entries("mxsense_sensor_map_entries", "Entries in a sensor map.", MetricType::Gauge);
    entries.gauge({{"map", "dns_inflight"}}, static_cast<double>(s.inflight_entries));
    entries.gauge({{"map", "dns_inflight_server"}}, static_cast<double>(s.inflight_server_entries));
    entries.gauge({{"map", "dns_stats"}}, static_cast<double>(s.stats_entries));
    entries.gauge({{"map", "smtp_flows"}}, static_cast<double>(s.smtp_flow_entries));
    entries.gauge({{"map", "smtp_stats"}}, static_cast<double>(s.smtp_stats_entries));
    for (const auto& [name, u] : s.counted_maps)
        entries.gauge({{"map", name}}, static_cast<double>(u.entries));
    Family capacity("mxsense_sensor_map_capacity", "Maximum entries of a sensor map.",
                    MetricType::Gauge);
    capacity.gauge({{"map", "dns_inflight"}}, static_cast<double>(s.inflight_capacity));
    capacity.gauge({{"map", "dns_inflight_server"}},
                   static_cast<double>(s.inflight_server_capacity));
    capacity.gauge({{"map", "dns_stats"}}, static_cast<double>(s.stats_capacity));
    capacity.gauge({{"map", "smtp_flows"}}, static_cast<double>(s.smtp_flow_capacity));
    capacity.gauge({{"map", "smtp_stats"}}, static_cast<double>(s.smtp_stats_capacity));
    for (const auto& [name, u] : s.counted_maps)
        capacity.gauge({{"map", name}}, static_cast<double>(u.capacity));
    Family attach("mxsense_sensor_attach_mode",
                  "How each program is attached (1 for the mode in use).", MetricType::Gauge);
    for (const auto& a : s.attachments)
        attach.gauge({{"interface", a.interface}, {"hook", a.hook}, {"mode", a.mode}}, 1);
    Family build("mxsense_build_info",
                 "The agent's version and git revision, the libbpf it loaded and the kernel "
                 "release it runs on.",
                 MetricType::Gauge);
    build.gauge({{"version", snap.build.version},
                 {"revision", snap.build.revision},
                 {"libbpf", snap.build.libbpf},
                 {"kernel", snap.build.kernel}},
                1);
    for (auto* f : {&packets, &entries, &capacity, &attach, &build})
        out.push_back(std::move(f->f));
    if (snap.process)
        render_process(*snap.process, out);
    return out;
}

std::string render_metrics(const Snapshot& snap, const MetricsOptions& opts) {
    const auto families = metric_families(snap, opts);

    // Written into a buffer already as large as the last exposition (plus an eighth), not
    // one grown by doubling: the copies of each growth were a third of the rendering's time
    // with 256 servers (perf, bench/scrape_bench). Only the agent's I/O thread renders.
    static std::size_t last_size = 0;
    std::string result;
    result.reserve(last_size + last_size / 8 + 4096);
    write_exposition(result, families);
    last_size = result.size();
    return result;
}

} // namespace mxs
