#include "counters/histogram.h"

#include <cmath>
#include <gtest/gtest.h>

namespace mxs {
namespace {

TEST(Histogram, BucketOfItsOwnEdges) {
    for (std::uint32_t b = 1; b + 1 < MXS_HIST_BUCKETS; ++b) {
        const auto lo = static_cast<std::uint64_t>(bucket_lower_ns(b));
        const auto hi = static_cast<std::uint64_t>(bucket_upper_ns(b));
        ASSERT_EQ(mxs_hist_bucket(lo), b) << lo;
        ASSERT_EQ(mxs_hist_bucket(hi - 1), b) << hi;
        ASSERT_EQ(mxs_hist_bucket(hi), b + 1) << hi;
    }
    EXPECT_EQ(mxs_hist_bucket(0), 0u);
    EXPECT_EQ(mxs_hist_bucket(511), 0u);
    EXPECT_EQ(mxs_hist_bucket(~0ull), MXS_HIST_BUCKETS - 1);
}

TEST(Histogram, AtMostFivePercentWideFromOneMicrosecondToSixtySeconds) {
    for (std::uint64_t ns = 1000; ns <= 60'000'000'000ull; ns = ns * 21 / 20 + 1) {
        const auto b = mxs_hist_bucket(ns);
        const double lo = bucket_lower_ns(b), hi = bucket_upper_ns(b);
        ASSERT_LE(lo, static_cast<double>(ns));
        ASSERT_GT(hi, static_cast<double>(ns));
        ASSERT_LE((hi - lo) / lo, 0.05) << ns;
    }
}

TEST(Histogram, CumulativeCountsNeverExceedTheTruth) {
    FineHistogram h;
    // 10 samples at 1 ms, 5 at 20 ms, 1 at 2 s.
    h.counts[mxs_hist_bucket(1'000'000)] += 10;
    h.counts[mxs_hist_bucket(20'000'000)] += 5;
    h.counts[mxs_hist_bucket(2'000'000'000)] += 1;
    const auto c = cumulative_counts(h, {0.0005, 0.00104, 0.02, 0.021, 1, 10});
    EXPECT_EQ(c, (std::vector<std::uint64_t>{0, 10, 10, 15, 15, 16}));
    EXPECT_EQ(h.count(), 16u);
}

TEST(Histogram, QuantilesWithinOneBucket) {
    FineHistogram h;
    for (std::uint64_t i = 1; i <= 1000; ++i)
        h.counts[mxs_hist_bucket(i * 100'000)]++; // 0.1 ms .. 100 ms uniform
    EXPECT_NEAR(quantile_seconds(h, 0.5), 0.050, 0.050 * 0.04);
    EXPECT_NEAR(quantile_seconds(h, 0.99), 0.099, 0.099 * 0.04);
    EXPECT_TRUE(std::isnan(quantile_seconds(FineHistogram{}, 0.5)));
}

} // namespace
} // namespace mxs
