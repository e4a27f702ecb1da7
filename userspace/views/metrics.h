// Prometheus metrics of a snapshot: prometheus-cpp's model, written by views/exposition.h.
#pragma once

#include "views/snapshot.h"

#include <prometheus/metric_family.h>
#include <string>
#include <vector>

namespace mxs {

struct MetricsOptions {
    std::vector<double> latency_buckets_s; // exported histogram bounds, ascending
};

/// Every exported family of a snapshot, in exposition order (prometheus-cpp's model).
std::vector<prometheus::MetricFamily> metric_families(const Snapshot& snap,
                                                      const MetricsOptions& opts);

/// The text exposition (format 0.0.4) of metric_families(): a scrape's body.
std::string render_metrics(const Snapshot& snap, const MetricsOptions& opts);

} // namespace mxs
