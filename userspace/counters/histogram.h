// The kernel's log-linear latency histogram in user space: bucket edges,
// cumulative counts for exported bounds, and quantiles.
#pragma once

#include "kernel/kernel_types.h"

#include <array>
#include <cstdint>
#include <vector>

namespace mxs {

struct FineHistogram {
    std::array<std::uint64_t, MXS_HIST_BUCKETS> counts{};
    std::uint64_t sum_ns = 0;

    std::uint64_t count() const;
    void add(const FineHistogram& other);
};

// Edges of fine bucket b in ns: [lower, upper). The last bucket's upper edge is +inf.
double bucket_lower_ns(std::uint32_t b);
double bucket_upper_ns(std::uint32_t b);

// Cumulative counts at each bound (seconds, ascending): a sample counts below a
// bound when its fine bucket's upper edge is at or below it, so a count is never
// inflated and errs by at most one fine bucket (3.1%).
std::vector<std::uint64_t> cumulative_counts(const FineHistogram& h,
                                             const std::vector<double>& bounds_s);

// Quantile q in [0, 1], in seconds, interpolated linearly inside the fine
// bucket; NaN when the histogram is empty.
double quantile_seconds(const FineHistogram& h, double q);

} // namespace mxs
