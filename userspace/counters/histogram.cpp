#include "counters/histogram.h"

#include <array>
#include <cmath>
#include <limits>

namespace mxs {

std::uint64_t FineHistogram::count() const {
    std::uint64_t n = 0;
    for (auto c : counts)
        n += c;
    return n;
}

void FineHistogram::add(const FineHistogram& other) {
    for (std::size_t i = 0; i < counts.size(); ++i)
        counts[i] += other.counts[i];
    sum_ns += other.sum_ns;
}

double bucket_lower_ns(std::uint32_t b) {
    if (b == 0)
        return 0;
    if (b >= MXS_HIST_BUCKETS - 1)
        return std::ldexp(1.0, MXS_HIST_MAX_EXP + 1);
    const std::uint32_t e = MXS_HIST_MIN_EXP + (b - 1) / MXS_HIST_SUB;
    const std::uint32_t s = (b - 1) % MXS_HIST_SUB;
    return std::ldexp(1.0, e) + s * std::ldexp(1.0, e - MXS_HIST_SUB_BITS);
}

double bucket_upper_ns(std::uint32_t b) {
    if (b >= MXS_HIST_BUCKETS - 1)
        return std::numeric_limits<double>::infinity();
    return bucket_lower_ns(b + 1);
}

std::vector<std::uint64_t> cumulative_counts(const FineHistogram& h,
                                             const std::vector<double>& bounds_s) {
    // Each fine bucket's upper edge in seconds, computed once: a scrape asks this for every
    // server and bound, and ldexp per bucket was a tenth of a scrape's time.
    static const auto upper = [] {
        std::array<double, MXS_HIST_BUCKETS> u{};
        for (std::uint32_t b = 0; b < MXS_HIST_BUCKETS; ++b)
            u[b] = bucket_upper_ns(b) / 1e9;
        return u;
    }();
    std::vector<std::uint64_t> out(bounds_s.size(), 0);
    std::uint64_t running = 0;
    std::size_t bi = 0;
    for (std::uint32_t b = 0; b < MXS_HIST_BUCKETS && bi < bounds_s.size(); ++b) {
        const double upper_s = upper[b];
        while (bi < bounds_s.size() && upper_s > bounds_s[bi])
            out[bi++] = running;
        running += h.counts[b];
    }
    while (bi < bounds_s.size())
        out[bi++] = running;
    return out;
}

double quantile_seconds(const FineHistogram& h, double q) {
    const std::uint64_t n = h.count();
    if (n == 0)
        return std::numeric_limits<double>::quiet_NaN();
    const double rank = q * static_cast<double>(n);
    std::uint64_t below = 0;
    for (std::uint32_t b = 0; b < MXS_HIST_BUCKETS; ++b) {
        const std::uint64_t c = h.counts[b];
        if (c == 0)
            continue;
        if (static_cast<double>(below + c) >= rank) {
            const double lo = bucket_lower_ns(b);
            double hi = bucket_upper_ns(b);
            if (std::isinf(hi))
                return lo / 1e9;
            const double frac = (rank - static_cast<double>(below)) / static_cast<double>(c);
            return (lo + frac * (hi - lo)) / 1e9;
        }
        below += c;
    }
    return bucket_lower_ns(MXS_HIST_BUCKETS - 1) / 1e9;
}

} // namespace mxs
