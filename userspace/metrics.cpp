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

void histogram(Family& f, std::vector<ClientMetric::Label> labels, const FineHistogram& fine,
               const std::vector<double>& bounds) {
    auto& h = f.add(std::move(labels)).histogram;
    h.sample_count = fine.count();
    h.sample_sum = static_cast<double>(fine.sum_ns) / 1e9;
    const auto cum = cumulative_counts(fine, bounds);
    for (std::size_t i = 0; i < cum.size(); ++i)
        h.bucket.push_back({cum[i], bounds[i]});
}

std::vector<ClientMetric::Label> with(std::vector<ClientMetric::Label> l, std::string name,
                                      std::string value) {
    l.push_back({std::move(name), std::move(value)});
    return l;
}

void render_smtp(const Snapshot& snap, const MetricsOptions& opts, std::vector<MetricFamily>& out) {
    Family conns("mxsense_smtp_connections_total",
                 "SMTP connection attempts by outcome (a retransmitted SYN is not a new attempt).",
                 MetricType::Counter);
    Family connect("mxsense_smtp_connect_duration_seconds",
                   "Time from SYN to SYN-ACK, of connections whose SYN was not sent again.",
                   MetricType::Histogram);
    Family connect_retx("mxsense_smtp_connect_retransmitted_total",
                        "Connections established after their SYN was sent again (network loss; "
                        "not in the connect histogram).",
                        MetricType::Counter);
    Family greetings("mxsense_smtp_greetings_total",
                     "Greetings by code (tls: the ServerHello on an implicit-TLS port).",
                     MetricType::Counter);
    Family greeting("mxsense_smtp_greeting_duration_seconds",
                    "Time from the handshake to the greeting.", MetricType::Histogram);
    Family replies("mxsense_smtp_replies_total", "Replies after the greeting, by code.",
                   MetricType::Counter);
    Family starttls("mxsense_smtp_starttls_total", "STARTTLS outcomes.", MetricType::Counter);
    Family closed("mxsense_smtp_closed_before_greeting_total",
                  "Connections closed or reset before any greeting.", MetricType::Counter);
    for (const auto& [key, c] : snap.smtp) {
        const std::vector<ClientMetric::Label> l = {{"server", key.server}, {"role", key.role}};
        for (std::uint32_t o = 0; o < MXS_SMTP_OUTCOME_MAX; ++o)
            conns.counter(with(l, "outcome", smtp_outcome_name(o)),
                          static_cast<double>(c.outcomes[o]));
        histogram(connect, l, c.connect, opts.latency_buckets_s);
        connect_retx.counter(l, static_cast<double>(c.connect_retransmitted));
        histogram(greeting, l, c.greeting, opts.latency_buckets_s);
        // Codes are many: export those seen, so a series appears with its first reply.
        for (std::uint32_t k = 0; k < MXS_SMTP_CODE_MAX; ++k) {
            if (c.greetings[k])
                greetings.counter(with(l, "code", smtp_code_name(k)),
                                  static_cast<double>(c.greetings[k]));
            if (c.replies[k])
                replies.counter(with(l, "code", smtp_code_name(k)),
                                static_cast<double>(c.replies[k]));
        }
        for (std::uint32_t r = 0; r < MXS_STARTTLS_MAX; ++r)
            starttls.counter(with(l, "result", starttls_result_name(r)),
                             static_cast<double>(c.starttls[r]));
        closed.counter(l, static_cast<double>(c.closed_before_greeting));
    }
    for (auto* f :
         {&conns, &connect, &connect_retx, &greetings, &greeting, &replies, &starttls, &closed})
        out.push_back(std::move(f->f));
}

void render_health(const HealthSnapshot& h, std::vector<MetricFamily>& out) {
    Family state("mxsense_target_state", "1 for the target's current state.", MetricType::Gauge);
    Family trans("mxsense_target_transitions_total", "Target state changes.", MetricType::Counter);
    for (const auto& t : h.targets) {
        for (auto s :
             {TargetState::Unknown, TargetState::Healthy, TargetState::Degraded, TargetState::Down})
            state.gauge({{"target", t.name}, {"kind", t.kind}, {"state", state_name(s)}},
                        t.state == s ? 1 : 0);
        for (const auto& [ft, n] : t.transitions)
            trans.counter(
                {{"target", t.name}, {"kind", t.kind}, {"from", ft.first}, {"to", ft.second}},
                static_cast<double>(n));
    }
    Family eff("mxsense_domain_effective_mx",
               "1 for the MX host a sender reaches now (the first HEALTHY by preference).",
               MetricType::Gauge);
    Family failover("mxsense_domain_failover_active",
                    "1 while the domain is failed over to a backup MX.", MetricType::Gauge);
    for (const auto& d : h.domains) {
        if (d.effective_mx)
            eff.gauge({{"domain", d.name}, {"mx", *d.effective_mx}}, 1);
        failover.gauge({{"domain", d.name}}, d.failover_active ? 1 : 0);
    }
    Family blind("mxsense_sensor_blind",
                 "1 when every target went DOWN in the same window (no action taken).",
                 MetricType::Gauge);
    blind.gauge({}, h.blind ? 1 : 0);
    Family runs("mxsense_hook_runs_total", "Hook runs and refusals by result.",
                MetricType::Counter);
    for (const auto& [k, n] : h.hook_runs)
        runs.counter(
            {{"hook", std::get<0>(k)}, {"event", std::get<1>(k)}, {"result", std::get<2>(k)}},
            static_cast<double>(n));
    for (auto* f : {&state, &trans, &eff, &failover, &blind, &runs})
        out.push_back(std::move(f->f));
}

void render_probes(const ProbeSnapshot& p, std::vector<MetricFamily>& out) {
    Family runs("mxsense_probe_runs_total",
                "Active probes by kind (dns_udp, dns_tcp, smtp), target address and result.",
                MetricType::Counter);
    for (const auto& [k, n] : p.runs)
        runs.counter(
            {{"kind", std::get<0>(k)}, {"target", std::get<1>(k)}, {"result", std::get<2>(k)}},
            static_cast<double>(n));
    Family last("mxsense_probe_duration_seconds", "How long the last probe took, end to end.",
                MetricType::Gauge);
    for (const auto& [k, v] : p.last_seconds)
        last.gauge({{"kind", k.first}, {"target", k.second}}, v);
    Family skipped("mxsense_probe_skipped_total",
                   "Probe rounds a target was left alone: passive traffic judged it.",
                   MetricType::Counter);
    for (const auto& [k, n] : p.skipped)
        skipped.counter({{"kind", k.first}, {"target", k.second}}, static_cast<double>(n));
    Family lookups("mxsense_discovery_lookups_total",
                   "MX/NS discovery lookups of the configured domains, by result.",
                   MetricType::Counter);
    lookups.counter({{"result", "ok"}},
                    static_cast<double>(p.discovery_lookups - p.discovery_failures));
    lookups.counter({{"result", "failed"}}, static_cast<double>(p.discovery_failures));
    for (auto* f : {&runs, &last, &skipped, &lookups})
        out.push_back(std::move(f->f));
}

// The HTTP server's bounds: every label value from the start, so a rate() sees the first event.
void render_http(const HttpStats& h, std::vector<MetricFamily>& out) {
    Family conns("mxsense_http_connections", "Open HTTP connections.", MetricType::Gauge);
    conns.gauge({}, static_cast<double>(h.connections));
    Family limit("mxsense_http_connections_limit",
                 "HTTP connection limit in force (http.max_connections, or less when the "
                 "descriptor limit leaves less room).",
                 MetricType::Gauge);
    limit.gauge({}, static_cast<double>(h.max_connections));
    auto counted = [](const std::map<std::string, std::uint64_t>& m, const char* k) {
        const auto it = m.find(k);
        return static_cast<double>(it == m.end() ? 0 : it->second);
    };
    Family rejected("mxsense_http_connections_rejected_total",
                    "HTTP connections closed for the connection limit (limit: a new one at once; "
                    "evicted: an older idle, slow or not-reading one, for a new one) and accepts "
                    "that failed "
                    "for want of descriptors (descriptors; retried every 100 ms).",
                    MetricType::Counter);
    for (const char* r : {"limit", "evicted", "descriptors"})
        rejected.counter({{"reason", r}}, counted(h.rejected, r));
    Family timed_out("mxsense_http_connections_timed_out_total",
                     "HTTP connections closed at a deadline, by phase (idle keep-alive, header, "
                     "body, send).",
                     MetricType::Counter);
    for (const char* p : {"idle", "header", "body", "send"})
        timed_out.counter({{"phase", p}}, counted(h.timed_out, p));
    Family bad("mxsense_http_bad_requests_total",
               "HTTP requests answered by the server itself and closed: malformed (400), "
               "header_too_large (431: header, chunk header or trailer section), "
               "body_too_large (413), unsupported (501 transfer coding, 417 expectation).",
               MetricType::Counter);
    for (const char* r : {"malformed", "header_too_large", "body_too_large", "unsupported"})
        bad.counter({{"reason", r}}, counted(h.bad_requests, r));
    for (auto* f : {&conns, &limit, &rejected, &timed_out, &bad})
        out.push_back(std::move(f->f));
}

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
    case MXS_C_SMTP_UNPARSED:
        return "smtp_unparsed";
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
    Family reload_ok("mxsense_config_last_reload_successful",
                     "0 when the last SIGHUP reload failed and the old configuration stayed.",
                     MetricType::Gauge);
    reload_ok.gauge({}, snap.config_reload_ok ? 1 : 0);
    out.push_back(std::move(reload_ok.f));
    // Unlabelled counters, a family each, in the order the exposition has them.
    const auto& s = snap.sensor;
    const auto kernel = [&s](std::uint32_t c) { return static_cast<double>(s.counters[c]); };
    const struct {
        const char* name;
        const char* help;
        double value;
    } singles[] = {
        {"mxsense_config_reloads_total", "Successful configuration reloads.",
         static_cast<double>(snap.config_reloads)},
        {"mxsense_sensor_fragments_total", "IP fragments seen.", kernel(MXS_C_FRAGMENTS)},
        {"mxsense_sensor_fragments_skipped_total", "Non-first IP fragments, never parsed as DNS.",
         kernel(MXS_C_FRAG_SKIPPED)},
        {"mxsense_sensor_smtp_flow_evictions_total",
         "SMTP connections forgotten after the idle timeout.",
         static_cast<double>(s.smtp_evicted_total)},
        {"mxsense_sensor_smtp_syn_retransmissions_total", "Retransmitted SYNs (not new attempts).",
         kernel(MXS_C_SMTP_SYN_RETRANS)},
        {"mxsense_sensor_dns_inflight_evictions_total",
         "In-flight queries removed by the timeout sweep.", static_cast<double>(s.expired_total)},
        {"mxsense_sensor_dns_retransmitted_queries_total",
         "Queries already in flight (retransmissions), not counted again.",
         kernel(MXS_C_DUP_QUERY)},
        {"mxsense_sensor_dns_late_responses_total",
         "Responses to queries the sweep had already counted unanswered.",
         kernel(MXS_C_LATE_RESPONSE)},
        {"mxsense_sensor_dns_tcp_continuations_total",
         "TCP segments carrying only bytes of DNS messages seen earlier (the rest of a message, or "
         "a retransmitted response).",
         kernel(MXS_C_DNS_TCP_CONT)},
        {"mxsense_sensor_dns_tcp_held_starts_total",
         "DNS-over-TCP message starts (length, header or question) cut by a segment's end and held "
         "until the next segment.",
         kernel(MXS_C_DNS_TCP_HELD)},
        {"mxsense_sensor_dns_tcp_held_lost_total",
         "Held DNS-over-TCP message starts whose next bytes did not come in order: accounted with "
         "what was held (a header pairs by id), else lost.",
         kernel(MXS_C_DNS_TCP_LOST)},
        {"mxsense_sensor_dns_edns_unread_total",
         "Responses with additional records whose OPT record (extended rcode) was not reached "
         "(beyond the bytes read, too many records): the header's rcode was used.",
         kernel(MXS_C_DNS_EDNS_UNREAD)},
        {"mxsense_sensor_dns_same_direction_responses_total",
         "DNS responses travelling the same way as the query they would match (forged): no match, "
         "no sample.",
         kernel(MXS_C_DNS_SAME_DIR)},
        {"mxsense_sensor_dns_unreachable_without_id_total",
         "ICMP/ICMPv6 destination unreachables quoting a DNS query without its id (8-byte quotes): "
         "not matched, the query times out.",
         kernel(MXS_C_DNS_UNREACH_NOID)},
        {"mxsense_sensor_dns_unsolicited_unknown_total",
         "Responses from servers never queried (no per-server entry is made for them).",
         kernel(MXS_C_UNSOLICITED_UNKNOWN)},
        {"mxsense_sensor_sweeps_total", "Timeout sweeps of the in-flight queries.",
         static_cast<double>(s.sweeps_total)},
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
    Family parse("mxsense_sensor_parse_errors_total",
                 "Packets or DNS messages the sensor could not parse, by reason.",
                 MetricType::Counter);
    for (std::uint32_t c = 0; c < MXS_C_MAX; ++c)
        if (const char* r = counter_reason(c))
            parse.counter({{"reason", r}}, static_cast<double>(s.counters[c]));
    Family rejected("mxsense_sensor_tcp_rejected_total",
                    "TCP segments (SMTP, DNS over TCP) the receiving end's TCP would not accept "
                    "(forged, or out of step), by protocol and reason: never evidence.",
                    MetricType::Counter);
    // enum mxs_tcp_reject: RFC 9293 §3.10.7, RFC 5961.
    constexpr const char* kRejectReason[MXS_TCP_REJ_MAX] = {"rst", "syn_ack", "window", "ack"};
    for (std::uint32_t r = 0; r < MXS_TCP_REJ_MAX; ++r) {
        rejected.counter({{"protocol", "smtp"}, {"reason", kRejectReason[r]}},
                         static_cast<double>(s.counters[MXS_C_SMTP_REJ_RST + r]));
        rejected.counter({{"protocol", "dns"}, {"reason", kRejectReason[r]}},
                         static_cast<double>(s.counters[MXS_C_DNS_TCP_REJ_RST + r]));
    }
    Family full("mxsense_sensor_map_full_total",
                "Inserts refused because a map was full (sample or query lost).",
                MetricType::Counter);
    full.counter({{"map", "dns_stats"}}, static_cast<double>(s.counters[MXS_C_STATS_FULL]));
    full.counter({{"map", "dns_inflight"}}, static_cast<double>(s.counters[MXS_C_INFLIGHT_FULL]));
    full.counter({{"map", "dns_inflight_server"}},
                 static_cast<double>(s.counters[MXS_C_INFLIGHT_SRV_FULL]));
    full.counter({{"map", "smtp_stats"}}, static_cast<double>(s.counters[MXS_C_SMTP_STATS_FULL]));
    full.counter({{"map", "smtp_flows"}}, static_cast<double>(s.counters[MXS_C_SMTP_FLOWS_FULL]));
    Family insert_failed("mxsense_sensor_map_insert_failures_total",
                         "Inserts refused for a reason other than a full map (sample lost).",
                         MetricType::Counter);
    insert_failed.counter({{"map", "dns_stats"}},
                          static_cast<double>(s.counters[MXS_C_STATS_INSERT_FAIL]));
    insert_failed.counter({{"map", "smtp_stats"}},
                          static_cast<double>(s.counters[MXS_C_SMTP_INSERT_FAIL]));
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
    Family build("mxsense_build_info", "Build of this agent.", MetricType::Gauge);
    build.gauge({{"version", MXS_VERSION},
                 {"libbpf", fmt::format("{}.{}", LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION)}},
                1);
    for (auto* f :
         {&packets, &parse, &rejected, &full, &insert_failed, &entries, &capacity, &attach, &build})
        out.push_back(std::move(f->f));

    return prometheus::TextSerializer().Serialize(out);
}

} // namespace mxs
