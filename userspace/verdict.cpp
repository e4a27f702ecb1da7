#include "verdict.h"

#include <algorithm>

namespace mxs {
namespace {

int severity(TargetState s) {
    switch (s) {
    case TargetState::Healthy:
        return 0;
    case TargetState::Degraded:
        return 1;
    case TargetState::Down:
        return 2;
    default:
        return -1;
    }
}

} // namespace

const char* state_name(TargetState s) {
    switch (s) {
    case TargetState::Healthy:
        return "HEALTHY";
    case TargetState::Degraded:
        return "DEGRADED";
    case TargetState::Down:
        return "DOWN";
    default:
        return "UNKNOWN";
    }
}

TargetState judge(const WindowEvidence& e, const Thresholds& t) {
    if (e.attempts < t.min_attempts || e.attempts == 0)
        return TargetState::Unknown;
    const double failures = static_cast<double>(e.errors + e.timeouts);
    const double ratio = failures / static_cast<double>(e.attempts);
    if (ratio >= t.down_failure_ratio)
        return TargetState::Down;
    if (ratio >= t.degraded_failure_ratio || e.p99_s >= t.degraded_p99_s)
        return TargetState::Degraded;
    return TargetState::Healthy;
}

std::optional<Transition> TargetVerdict::observe(TargetState window) {
    if (since_change_ < ~0u / 2)
        ++since_change_;
    const bool held = since_change_ < policy_.hold_down_windows;

    if (window == TargetState::Unknown) {
        ++silent_;
        streak_ = 0;
        candidate_ = TargetState::Unknown;
        if (silent_ >= policy_.unknown_after && state_ != TargetState::Unknown && !held) {
            const Transition t{state_, TargetState::Unknown};
            state_ = TargetState::Unknown;
            since_change_ = 0;
            return t;
        }
        return std::nullopt;
    }
    silent_ = 0;
    if (window == candidate_) {
        ++streak_;
    } else {
        candidate_ = window;
        streak_ = 1;
    }
    if (candidate_ == state_)
        return std::nullopt;
    // Better states need `rise` windows, worse ones `fall`; out of UNKNOWN, by direction too.
    const bool better = state_ == TargetState::Unknown ? candidate_ == TargetState::Healthy
                                                       : severity(candidate_) < severity(state_);
    const unsigned needed = better ? policy_.rise : policy_.fall;
    if (streak_ < needed || held)
        return std::nullopt;
    const Transition t{state_, candidate_};
    state_ = candidate_;
    since_change_ = 0;
    return t;
}

std::optional<std::size_t> effective_mx(const std::vector<TargetState>& by_preference) {
    const auto it = std::find(by_preference.begin(), by_preference.end(), TargetState::Healthy);
    if (it == by_preference.end())
        return std::nullopt;
    return static_cast<std::size_t>(it - by_preference.begin());
}

bool all_down(const std::vector<TargetState>& window) {
    return !window.empty() && std::all_of(window.begin(), window.end(),
                                          [](TargetState s) { return s == TargetState::Down; });
}

} // namespace mxs
