// The parts of the exposition (metrics.cpp): a metric family being built, histograms, and
// the renderers of the agent's own families. Internal to views/.
#pragma once

#include "views/metrics.h"

#include <prometheus/metric_family.h>
#include <string>
#include <vector>

namespace mxs::metrics_parts {

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

inline void histogram(Family& f, std::vector<ClientMetric::Label> labels, const FineHistogram& fine,
                      const std::vector<double>& bounds) {
    auto& h = f.add(std::move(labels)).histogram;
    h.sample_count = fine.count();
    h.sample_sum = static_cast<double>(fine.sum_ns) / 1e9;
    const auto cum = cumulative_counts(fine, bounds);
    for (std::size_t i = 0; i < cum.size(); ++i)
        h.bucket.push_back({cum[i], bounds[i]});
}

inline std::vector<ClientMetric::Label> with(std::vector<ClientMetric::Label> l, std::string name,
                                             std::string value) {
    l.push_back({std::move(name), std::move(value)});
    return l;
}

void render_smtp(const Snapshot& snap, const MetricsOptions& opts,
                 std::vector<prometheus::MetricFamily>& out);
void render_health(const HealthSnapshot& h, std::vector<prometheus::MetricFamily>& out);
void render_probes(const ProbeCounts& p, std::vector<prometheus::MetricFamily>& out);
// mxsense_audit_*: each finding's status (0 ok, 1 warning, 2 critical, 3 unknown), when the
// last audit completed and how long it took; nothing before the first run.
void render_audit(const AuditSnapshot& a, std::vector<prometheus::MetricFamily>& out);
// process_cpu_seconds_total (a counter) and the process_* gauges of the Prometheus client
// libraries; process_open_fds only when it was read (process_metrics.cpp).
void render_process(const ProcessStats& p, std::vector<prometheus::MetricFamily>& out);
// The HTTP server's bounds: every label value from the start, so a rate() sees the first event.
void render_http(const HttpStats& h, std::vector<prometheus::MetricFamily>& out);

} // namespace mxs::metrics_parts
