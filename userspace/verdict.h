// Health verdicts (issue 4, engine only: not wired into the agent yet).
//
// Each target is judged once per window from that window's evidence; a state
// changes only after `rise` (better) or `fall` (worse) consecutive windows
// agree, and never sooner than `hold_down_windows` after the previous change,
// so an oscillating fault cannot flip a state faster than the hold-down allows
// (HAProxy's rise/fall, with a hold-down on top).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mxs {

enum class TargetState { Unknown, Healthy, Degraded, Down };

const char* state_name(TargetState s);

// What one window showed of a target: attempts and how they ended.
struct WindowEvidence {
    std::uint64_t attempts = 0; // queries sent / connections tried
    std::uint64_t errors = 0;   // SERVFAIL/REFUSED answers; refused or 4xx/5xx greetings
    std::uint64_t timeouts = 0; // unanswered / timed out / unreachable
    double p99_s = 0;           // latency quantile of the answered ones (0: none)
};

struct Thresholds {
    std::uint64_t min_attempts = 1;  // fewer: no evidence (UNKNOWN window)
    double down_failure_ratio = 0.5; // (errors + timeouts) / attempts
    double degraded_failure_ratio = 0.05;
    double degraded_p99_s = 1.0;
};

struct TransitionPolicy {
    unsigned rise = 2;              // healthy windows to get better
    unsigned fall = 2;              // bad windows to get worse
    unsigned hold_down_windows = 3; // windows after a change before the next may happen
    unsigned unknown_after = 6;     // windows without evidence before UNKNOWN
};

// The state one window's evidence alone points to.
TargetState judge(const WindowEvidence& e, const Thresholds& t);

struct Transition {
    TargetState from, to;
};

// One target's state over windows.
class TargetVerdict {
  public:
    explicit TargetVerdict(TransitionPolicy p) : policy_(p) {}

    // Feed one window's judgement; returns the transition it caused, if any.
    std::optional<Transition> observe(TargetState window);
    TargetState state() const { return state_; }

  private:
    TransitionPolicy policy_;
    TargetState state_ = TargetState::Unknown;
    TargetState candidate_ = TargetState::Unknown; // what the streak points to
    unsigned streak_ = 0;                          // consecutive windows agreeing on candidate_
    unsigned since_change_ = ~0u / 2;              // windows since the last transition
    unsigned silent_ = 0;                          // consecutive windows without evidence
};

} // namespace mxs

#include <vector>

namespace mxs {

// The effective MX of a domain: the first HEALTHY host in preference order,
// none when no host is HEALTHY (then nothing may be switched).
std::optional<std::size_t> effective_mx(const std::vector<TargetState>& by_preference);

// Every target judged DOWN in the same window: the sensor's own network is the
// likelier fault, so no action may follow (fail open).
bool all_down(const std::vector<TargetState>& window);

} // namespace mxs
