// write_exposition against prometheus-cpp's own TextSerializer: the same bytes for every
// metric type, label escapes, special values, timestamps and random values.
#include "views/exposition.h"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <prometheus/text_serializer.h>
#include <random>
#include <sstream>

namespace mxs {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string library_text(const std::vector<MetricFamily>& families) {
    std::ostringstream s;
    prometheus::TextSerializer().Serialize(s, families);
    return s.str();
}

std::string our_text(const std::vector<MetricFamily>& families) {
    std::string out = "kept:"; // appends, never overwrites
    write_exposition(out, families);
    EXPECT_EQ(out.rfind("kept:", 0), 0u);
    return out.substr(5);
}

ClientMetric labelled(std::vector<ClientMetric::Label> labels) {
    ClientMetric m;
    m.label = std::move(labels);
    return m;
}

TEST(Exposition, EveryTypeLikeTheLibrary) {
    std::vector<MetricFamily> fs;
    MetricFamily c{"c_total", "A counter.", MetricType::Counter, {}};
    auto m = labelled({{"server", "198.18.0.1"}, {"role", "client"}});
    m.counter.value = 12345;
    c.metric.push_back(m);
    auto plain = labelled({});
    plain.counter.value = 0.5;
    plain.timestamp_ms = 1700000000123;
    c.metric.push_back(plain);
    fs.push_back(c);

    MetricFamily g{"g", "", MetricType::Gauge, {}}; // no HELP line when empty
    for (const double v :
         {0.0, -0.0, 1e-7, -3.25, 1e20, std::nan(""), std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity()}) {
        auto x = labelled({{"v", "x"}});
        x.gauge.value = v;
        g.metric.push_back(x);
    }
    fs.push_back(g);

    MetricFamily u{"u", "Untyped.", MetricType::Untyped, {}};
    auto ux = labelled({{"esc", "a\\b\"c\nd"}, {"runs", "\n\n\"\\\\x"}, {"plain", "p"}});
    ux.untyped.value = 7;
    u.metric.push_back(ux);
    fs.push_back(u);

    MetricFamily h{"h_seconds", "A histogram.", MetricType::Histogram, {}};
    auto hx = labelled({{"server", "fd00::1"}});
    hx.histogram.sample_count = 10;
    hx.histogram.sample_sum = 0.123456789;
    hx.histogram.bucket = {{1, 0.0001}, {4, 0.0025}, {9, 1}};
    h.metric.push_back(hx);
    auto hinf = labelled({});
    hinf.histogram.sample_count = 3;
    hinf.histogram.sample_sum = 2;
    hinf.histogram.bucket = {{3, std::numeric_limits<double>::infinity()}}; // no second +Inf
    h.metric.push_back(hinf);
    fs.push_back(h);

    MetricFamily s{"s", "A summary.", MetricType::Summary, {}};
    auto sx = labelled({{"a", "b"}});
    sx.summary.sample_count = 4;
    sx.summary.sample_sum = 8.5;
    sx.summary.quantile = {{0.5, 1.5}, {0.99, 3}};
    s.metric.push_back(sx);
    fs.push_back(s);

    EXPECT_EQ(our_text(fs), library_text(fs));
}

TEST(Exposition, RandomValuesLikeTheLibrary) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> mant(-10, 10);
    std::uniform_int_distribution<int> exp10(-12, 22);
    MetricFamily g{"r", "Random.", MetricType::Gauge, {}};
    MetricFamily h{"rh", "Random histogram.", MetricType::Histogram, {}};
    for (int i = 0; i < 5000; ++i) {
        auto x = labelled({{"i", std::to_string(i)}});
        // Every third a whole number, as counters are.
        x.gauge.value = i % 3 ? mant(rng) * std::pow(10.0, exp10(rng))
                              : std::trunc(mant(rng) * std::pow(10.0, exp10(rng) + 12));
        g.metric.push_back(x);
        auto y = labelled({{"i", std::to_string(i)}});
        y.histogram.sample_count = rng();
        y.histogram.sample_sum = std::abs(mant(rng)) * std::pow(10.0, exp10(rng));
        y.histogram.bucket = {{rng() % 1000, std::pow(10.0, exp10(rng))}};
        h.metric.push_back(y);
    }
    const std::vector<MetricFamily> fs{g, h};
    EXPECT_EQ(our_text(fs), library_text(fs));
}

} // namespace
} // namespace mxs
