#include "views/exposition.h"

#include <cmath>
#include <fmt/format.h>
#include <iterator>
#include <limits>
#include <string_view>

namespace mxs {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Out = std::back_insert_iterator<std::string>;

// A value as prometheus-cpp 1.0's WriteValue(double): 16 significant digits in the shortest
// of fixed and exponent notation (printf's %.16g), "Nan" and signed "Inf" spelled as it
// spells them.
void write_value(std::string& out, double v) {
    if (std::isnan(v))
        out += "Nan";
    else if (std::isinf(v))
        out += v < 0 ? "-Inf" : "+Inf";
    else if (v == std::trunc(v) && std::abs(v) < 1e16 && !(v == 0 && std::signbit(v)))
        // Whole numbers (every counter) below 10^16 print as %.16g prints them, all digits
        // and no point, at a fraction of the general conversion's cost.
        fmt::format_to(Out(out), "{}", static_cast<long long>(v));
    else
        fmt::format_to(Out(out), "{:.16g}", v);
}

// A label value with `\` and `"` escaped by a backslash and a newline as `\n` (the
// exposition format's escaping).
void write_label_value(std::string& out, std::string_view v) {
    for (auto special = v.find_first_of("\\\"\n"); special != std::string_view::npos;
         special = v.find_first_of("\\\"\n")) {
        out.append(v.substr(0, special));
        out += v[special] == '\n' ? "\\n" : v[special] == '"' ? "\\\"" : "\\\\";
        v.remove_prefix(special + 1);
    }
    out.append(v);
}

// The name (with `suffix`) and the label set, with an extra label written by `extra`.
template <class Extra>
void write_head(std::string& out, const MetricFamily& f, const ClientMetric& m,
                std::string_view suffix, std::string_view extra_name, Extra&& extra) {
    out += f.name;
    out += suffix;
    if (!m.label.empty() || !extra_name.empty()) {
        out += '{';
        const char* sep = "";
        for (const auto& l : m.label) {
            out += sep;
            out += l.name;
            out += "=\"";
            write_label_value(out, l.value);
            out += '"';
            sep = ",";
        }
        if (!extra_name.empty()) {
            out += sep;
            out += extra_name;
            out += "=\"";
            extra(out);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
}

void write_head(std::string& out, const MetricFamily& f, const ClientMetric& m,
                std::string_view suffix = {}) {
    write_head(out, f, m, suffix, {}, [](std::string&) {});
}

void write_tail(std::string& out, const ClientMetric& m) {
    if (m.timestamp_ms != 0)
        fmt::format_to(Out(out), " {}", m.timestamp_ms);
    out += '\n';
}

void write_metric(std::string& out, const MetricFamily& f, const ClientMetric& m) {
    switch (f.type) {
    case MetricType::Counter:
        write_head(out, f, m);
        write_value(out, m.counter.value);
        write_tail(out, m);
        break;
    case MetricType::Gauge:
        write_head(out, f, m);
        write_value(out, m.gauge.value);
        write_tail(out, m);
        break;
    case MetricType::Untyped:
        write_head(out, f, m);
        write_value(out, m.untyped.value);
        write_tail(out, m);
        break;
    case MetricType::Summary: {
        const auto& s = m.summary;
        write_head(out, f, m, "_count");
        fmt::format_to(Out(out), "{}", s.sample_count);
        write_tail(out, m);
        write_head(out, f, m, "_sum");
        write_value(out, s.sample_sum);
        write_tail(out, m);
        for (const auto& q : s.quantile) {
            write_head(out, f, m, {}, "quantile",
                       [&](std::string& o) { write_value(o, q.quantile); });
            write_value(out, q.value);
            write_tail(out, m);
        }
        break;
    }
    case MetricType::Histogram: {
        const auto& h = m.histogram;
        write_head(out, f, m, "_count");
        fmt::format_to(Out(out), "{}", h.sample_count);
        write_tail(out, m);
        write_head(out, f, m, "_sum");
        write_value(out, h.sample_sum);
        write_tail(out, m);
        double last = -std::numeric_limits<double>::infinity();
        for (const auto& b : h.bucket) {
            write_head(out, f, m, "_bucket", "le",
                       [&](std::string& o) { write_value(o, b.upper_bound); });
            last = b.upper_bound;
            fmt::format_to(Out(out), "{}", b.cumulative_count);
            write_tail(out, m);
        }
        if (last != std::numeric_limits<double>::infinity()) {
            write_head(out, f, m, "_bucket", "le", [](std::string& o) { o += "+Inf"; });
            fmt::format_to(Out(out), "{}", h.sample_count);
            write_tail(out, m);
        }
        break;
    }
    }
}

const char* type_name(MetricType t) {
    switch (t) {
    case MetricType::Counter:
        return "counter";
    case MetricType::Gauge:
        return "gauge";
    case MetricType::Summary:
        return "summary";
    case MetricType::Histogram:
        return "histogram";
    case MetricType::Untyped:
        break;
    }
    return "untyped";
}

} // namespace

void write_exposition(std::string& out, const std::vector<MetricFamily>& families) {
    for (const auto& f : families) {
        if (!f.help.empty()) {
            out += "# HELP ";
            out += f.name;
            out += ' ';
            out += f.help;
            out += '\n';
        }
        out += "# TYPE ";
        out += f.name;
        out += ' ';
        out += type_name(f.type);
        out += '\n';
        for (const auto& m : f.metric)
            write_metric(out, f, m);
    }
}

} // namespace mxs
