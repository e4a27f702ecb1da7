// The limits one transport's evidence is judged by (verdict.h judge()). The verdict options
// (config/options.h VerdictOptions) extend this struct, so each default is written here only.
#pragma once

#include <cstdint>

namespace mxs {

/// Evidence limits: counts, ratios (0..1), seconds, windows.
struct Thresholds {
    std::uint64_t min_attempts = 1;  // fewer: no evidence (UNKNOWN window)
    double down_failure_ratio = 0.5; // (errors + timeouts) / attempts
    double degraded_failure_ratio = 0.05;
    // Clear of the protocol timer quanta: one lost SYN costs 1 s (RFC 6298 initial RTO),
    // two cost 3 s; a resolver's upstream retry about 0.4-1.2 s.
    double degraded_p99_s = 2.0;
    std::uint64_t latency_min_samples = 20; // fewer in the horizon: no latency/loss judgement
    unsigned latency_horizon = 6;           // windows the horizon may span
    double degraded_loss_ratio = 0.5;       // retransmitted / attempts over the horizon
};

} // namespace mxs
