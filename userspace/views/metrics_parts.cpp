// The agent's own metric families: SMTP, verdicts and hooks, probes, the HTTP server.
#include "views/metrics_parts.h"

#include "audit/report.h"

#include <fmt/format.h>
#include <map>
#include <tuple>

namespace mxs::metrics_parts {

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

void render_audit(const AuditSnapshot& a, std::vector<MetricFamily>& out) {
    if (a.runs == 0)
        return;
    Family status("mxsense_audit_check_status",
                  "Audit finding by domain, check and target: 0 ok, 1 warning, 2 critical, 3 "
                  "unknown (README \"Mail-domain audit\").",
                  MetricType::Gauge);
    // One series per label set: two findings of one check on one target (none today, but a
    // duplicate series is dropped by Prometheus, the first value kept) give the worse status.
    std::map<std::tuple<std::string, std::string, std::string>, AuditStatus> statuses;
    for (const auto& r : a.reports)
        for (const auto& f : r.findings) {
            const auto [it, fresh] = statuses.try_emplace({r.domain, f.check, f.target}, f.status);
            if (!fresh)
                it->second = worse_of(it->second, f.status);
        }
    for (const auto& [key, s] : statuses)
        status.gauge({{"domain", std::get<0>(key)},
                      {"check", std::get<1>(key)},
                      {"target", std::get<2>(key)}},
                     static_cast<double>(s));
    Family serial("mxsense_audit_soa_serial",
                  "The SOA serial each name server of a domain served at the last audit.",
                  MetricType::Gauge);
    Family lag("mxsense_audit_soa_serial_lag",
               "How far a name server's SOA serial is behind the domain's highest (serial "
               "arithmetic, RFC 1982; 0: current).",
               MetricType::Gauge);
    Family expiry("mxsense_audit_certificate_expiry_timestamp_seconds",
                  "When the certificate an MX host showed after STARTTLS expires.",
                  MetricType::Gauge);
    for (const auto& r : a.reports) {
        std::uint32_t newest = 0;
        bool first = true;
        for (const auto& [server, s] : r.serials) // RFC 1982: s is newer when s - n < 2^31
            if (first || static_cast<std::uint32_t>(s - newest) - 1 < 0x7fffffffu) {
                newest = s;
                first = false;
            }
        for (const auto& [server, s] : r.serials) {
            serial.gauge({{"domain", r.domain}, {"server", server}}, static_cast<double>(s));
            lag.gauge({{"domain", r.domain}, {"server", server}},
                      static_cast<double>(static_cast<std::uint32_t>(newest - s)));
        }
        for (const auto& [host, t] : r.certificate_expiry)
            expiry.gauge({{"domain", r.domain}, {"host", host}}, static_cast<double>(t));
    }
    for (auto* f : {&serial, &lag, &expiry})
        out.push_back(std::move(f->f));
    Family last("mxsense_audit_last_run_timestamp_seconds",
                "When the last audit of the configured domains completed.", MetricType::Gauge);
    last.gauge({}, a.last_run_s);
    Family took("mxsense_audit_duration_seconds", "How long the last audit took.",
                MetricType::Gauge);
    took.gauge({}, a.duration_s);
    for (auto* f : {&status, &last, &took})
        out.push_back(std::move(f->f));
}

void render_probes(const ProbeCounts& p, std::vector<MetricFamily>& out) {
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
                   "Discovery rounds of a domain (its MX or NS records and their hosts' "
                   "A/AAAA), by result: ok, nxdomain, servfail, refused, timeout, unreachable, "
                   "error.",
                   MetricType::Counter);
    for (const auto& [k, n] : p.discovery_lookups)
        lookups.counter({{"domain", k.first}, {"result", k.second}}, static_cast<double>(n));
    for (auto* f : {&runs, &last, &skipped, &lookups})
        out.push_back(std::move(f->f));
}

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
                     "body, send, TLS handshake).",
                     MetricType::Counter);
    for (const char* p : {"idle", "header", "body", "send", "handshake"})
        timed_out.counter({{"phase", p}}, counted(h.timed_out, p));
    Family bad("mxsense_http_bad_requests_total",
               "HTTP requests answered by the server itself and closed: malformed (400), "
               "header_too_large (431: header, chunk header or trailer section), "
               "body_too_large (413), unsupported (501 transfer coding, 417 expectation).",
               MetricType::Counter);
    for (const char* r : {"malformed", "header_too_large", "body_too_large", "unsupported"})
        bad.counter({{"reason", r}}, counted(h.bad_requests, r));
    Family unauthorized("mxsense_http_unauthorized_requests_total",
                        "HTTP requests answered 401 by basic auth (web configuration): missing "
                        "(no Basic credentials), invalid (unknown user or wrong password).",
                        MetricType::Counter);
    for (const char* r : {"missing", "invalid"})
        unauthorized.counter({{"reason", r}}, counted(h.unauthorized, r));
    Family busy("mxsense_http_auth_overloaded_total",
                "HTTP requests answered 503 because too many password verifications waited.",
                MetricType::Counter);
    busy.counter({}, static_cast<double>(h.auth_busy));
    Family tls("mxsense_http_tls_failures_total",
               "TLS connections closed before a request: plain_http (no TLS handshake: "
               "answered 400 in plain text), handshake (the handshake failed).",
               MetricType::Counter);
    for (const char* r : {"plain_http", "handshake"})
        tls.counter({{"reason", r}}, counted(h.tls_failed, r));
    for (auto* f : {&conns, &limit, &rejected, &timed_out, &bad, &unauthorized, &busy, &tls})
        out.push_back(std::move(f->f));
}

} // namespace mxs::metrics_parts
