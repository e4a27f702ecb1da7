#include "metrics.h"

#include <bpf/libbpf_version.h>
#include <fmt/format.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace mxs {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

struct Family {
    MetricFamily f;
    Family(std::string name, std::string help, MetricType type) {
        f.name = std::move(name);
        f.help = std::move(help);
        f.type = type;
    }
    ClientMetric& add(std::vector<ClientMetric::Label> labels) {
        f.metric.emplace_back();
        f.metric.back().label = std::move(labels);
        return f.metric.back();
    }
    void counter(std::vector<ClientMetric::Label> labels, double v) {
        add(std::move(labels)).counter.value = v;
    }
    void gauge(std::vector<ClientMetric::Label> labels, double v) {
        add(std::move(labels)).gauge.value = v;
    }
};

std::vector<ClientMetric::Label> dns_labels(const SeriesKey& k) {
    return {{"server", k.server}, {"role", k.role}, {"proto", k.proto}};
}

const char* counter_reason(std::uint32_t c) {
    switch (c) {
    case MXS_C_ETH_TRUNC:
        return "eth_truncated";
    case MXS_C_VLAN_DEPTH:
        return "vlan_too_deep";
    case MXS_C_IP4_TRUNC:
        return "ipv4_truncated";
    case MXS_C_IP6_TRUNC:
        return "ipv6_truncated";
    case MXS_C_IP6_EXT:
        return "ipv6_extension_headers";
    case MXS_C_L4_TRUNC:
        return "l4_truncated";
    case MXS_C_DNS_SHORT:
        return "dns_short";
    case MXS_C_DNS_QDCOUNT:
        return "dns_qdcount";
    case MXS_C_DNS_NAME:
        return "dns_qname";
    case MXS_C_DNS_TCP_MSGS:
        return "dns_tcp_too_many_messages";
    default:
        return nullptr;
    }
}

} // namespace

std::string render_metrics(const Snapshot& snap, const MetricsOptions& opts) {
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

    for (const auto& [key, c] : snap.dns) {
        queries.counter(dns_labels(key), static_cast<double>(c.queries));
        for (std::uint32_t r = 0; r < MXS_RCODE_MAX; ++r) {
            auto l = dns_labels(key);
            l.push_back({"rcode", rcode_name(r)});
            responses.counter(std::move(l), static_cast<double>(c.responses[r]));
        }
        auto& h = duration.add(dns_labels(key)).histogram;
        h.sample_count = c.latency.count();
        h.sample_sum = static_cast<double>(c.latency.sum_ns) / 1e9;
        const auto cum = cumulative_counts(c.latency, opts.latency_buckets_s);
        for (std::size_t i = 0; i < cum.size(); ++i)
            h.bucket.push_back({cum[i], opts.latency_buckets_s[i]});
        unanswered.counter(dns_labels(key), static_cast<double>(c.unanswered));
        truncated.counter(dns_labels(key), static_cast<double>(c.truncated));
        unsolicited.counter(dns_labels(key), static_cast<double>(c.unsolicited));
        mismatched.counter(dns_labels(key), static_cast<double>(c.mismatched));
    }
    for (auto* f :
         {&queries, &responses, &duration, &unanswered, &truncated, &unsolicited, &mismatched})
        out.push_back(std::move(f->f));

    const auto& s = snap.sensor;
    Family packets("mxsense_sensor_packets_total", "Packets seen by the sensor.",
                   MetricType::Counter);
    for (const auto& i : s.interfaces) {
        for (int d = 0; d < MXS_DIR_MAX; ++d) {
            const char* dir = d == MXS_DIR_INGRESS ? "ingress" : "egress";
            packets.counter({{"interface", i.name}, {"direction", dir}},
                            static_cast<double>(i.packets[d]));
        }
    }
    Family parse("mxsense_sensor_parse_errors_total",
                 "Packets or DNS messages the sensor could not parse, by reason.",
                 MetricType::Counter);
    for (std::uint32_t c = 0; c < MXS_C_MAX; ++c)
        if (const char* r = counter_reason(c))
            parse.counter({{"reason", r}}, static_cast<double>(s.counters[c]));
    Family frags("mxsense_sensor_fragments_total", "IP fragments seen.", MetricType::Counter);
    frags.counter({}, static_cast<double>(s.counters[MXS_C_FRAGMENTS]));
    Family frag_skip("mxsense_sensor_fragments_skipped_total",
                     "Non-first IP fragments, never parsed as DNS.", MetricType::Counter);
    frag_skip.counter({}, static_cast<double>(s.counters[MXS_C_FRAG_SKIPPED]));
    Family full("mxsense_sensor_map_full_total",
                "Inserts refused because a map was full (sample or query lost).",
                MetricType::Counter);
    full.counter({{"map", "dns_stats"}}, static_cast<double>(s.counters[MXS_C_STATS_FULL]));
    full.counter({{"map", "dns_inflight"}}, static_cast<double>(s.counters[MXS_C_INFLIGHT_FULL]));
    Family evict("mxsense_sensor_dns_inflight_evictions_total",
                 "In-flight queries removed by the timeout sweep.", MetricType::Counter);
    evict.counter({}, static_cast<double>(s.expired_total));
    Family dup("mxsense_sensor_dns_retransmitted_queries_total",
               "Queries already in flight (retransmissions), not counted again.",
               MetricType::Counter);
    dup.counter({}, static_cast<double>(s.counters[MXS_C_DUP_QUERY]));
    Family late("mxsense_sensor_dns_late_responses_total",
                "Responses to queries the sweep had already counted unanswered.",
                MetricType::Counter);
    late.counter({}, static_cast<double>(s.counters[MXS_C_LATE_RESPONSE]));
    Family cont("mxsense_sensor_dns_tcp_continuations_total",
                "TCP segments carrying only the rest of a DNS message seen earlier.",
                MetricType::Counter);
    cont.counter({}, static_cast<double>(s.counters[MXS_C_DNS_TCP_CONT]));
    Family unknown("mxsense_sensor_dns_unsolicited_unknown_total",
                   "Responses from servers never queried (no per-server entry is made for them).",
                   MetricType::Counter);
    unknown.counter({}, static_cast<double>(s.counters[MXS_C_UNSOLICITED_UNKNOWN]));
    Family entries("mxsense_sensor_map_entries", "Entries in a sensor map.", MetricType::Gauge);
    entries.gauge({{"map", "dns_inflight"}}, static_cast<double>(s.inflight_entries));
    entries.gauge({{"map", "dns_stats"}}, static_cast<double>(s.stats_entries));
    Family capacity("mxsense_sensor_map_capacity", "Maximum entries of a sensor map.",
                    MetricType::Gauge);
    capacity.gauge({{"map", "dns_inflight"}}, static_cast<double>(s.inflight_capacity));
    capacity.gauge({{"map", "dns_stats"}}, static_cast<double>(s.stats_capacity));
    Family attach("mxsense_sensor_attach_mode",
                  "How each program is attached (1 for the mode in use).", MetricType::Gauge);
    for (const auto& a : s.attachments)
        attach.gauge({{"interface", a.interface}, {"hook", a.hook}, {"mode", a.mode}}, 1);
    Family sweeps("mxsense_sensor_sweeps_total", "Timeout sweeps of the in-flight queries.",
                  MetricType::Counter);
    sweeps.counter({}, static_cast<double>(s.sweeps_total));
    Family build("mxsense_build_info", "Build of this agent.", MetricType::Gauge);
    build.gauge({{"version", MXS_VERSION},
                 {"libbpf", fmt::format("{}.{}", LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION)}},
                1);
    for (auto* f : {&packets, &parse, &frags, &frag_skip, &full, &evict, &dup, &late, &cont,
                    &unknown, &entries, &capacity, &attach, &sweeps, &build})
        out.push_back(std::move(f->f));

    return prometheus::TextSerializer().Serialize(out);
}

} // namespace mxs
