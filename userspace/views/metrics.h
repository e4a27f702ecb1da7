// Prometheus text exposition of a snapshot (prometheus-cpp's serializer).
#pragma once

#include "views/snapshot.h"

#include <string>
#include <vector>

namespace mxs {

struct MetricsOptions {
    std::vector<double> latency_buckets_s; // exported histogram bounds, ascending
};

std::string render_metrics(const Snapshot& snap, const MetricsOptions& opts);

} // namespace mxs
