// Prometheus text exposition format 0.0.4 of prometheus-cpp's metric model, written with fmt
// into one string.
#pragma once

#include <prometheus/metric_family.h>
#include <string>
#include <vector>

namespace mxs {

/// Appends `families` to `out` in the text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/), byte for byte what
/// prometheus::TextSerializer (prometheus-cpp 1.0, Debian 12's) writes for them: values and
/// `le`/`quantile` labels with 16 significant digits (%.16g), NaN as `Nan`, infinities as
/// `+Inf`/`-Inf`, label values with `\`, `"` and newline escaped, HELP text as given, a
/// timestamp (ms) only when non-zero. The same text keeps every exported series' identity (its `le`
/// strings) what it was; only the cost changes: the standard streams' per-insert overhead was half
/// of a scrape with 256 servers (perf, bench/scrape_bench). Never throws but for std::bad_alloc.
void write_exposition(std::string& out, const std::vector<prometheus::MetricFamily>& families);

} // namespace mxs
