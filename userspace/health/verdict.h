// Health verdicts: one transport's window evidence -> a state and a reason;
// a target's transports -> its window state; windows -> the target's state.
//
// Each target is judged once per window from that window's evidence; a state
// changes only after `rise` (better) or `fall` (worse) consecutive windows with
// evidence agree (a window without any neither breaks nor extends the streak;
// `unknown_after` of them in a row make it UNKNOWN), and never sooner than
// `hold_down_windows` after the previous change,
// so an oscillating fault cannot flip a state faster than the hold-down allows
// (HAProxy's rise/fall, with a hold-down on top).
//
// Failures (errors, timeouts) are judged on the newest window alone. Latency
// and loss are judged over a sliding horizon: the newest windows that together
// hold at least `latency_min_samples` samples (at most `latency_horizon`
// windows); with fewer samples there is no latency or loss judgement at all.
// Retransmissions (a SYN sent again, a query asked again) are network loss:
// they never count as failures nor as slow answers, only towards the loss ratio.
#pragma once

#include "health/thresholds.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mxs {

enum class TargetState { Unknown, Healthy, Degraded, Down };

const char* state_name(TargetState s);

// Latency samples of one window, sparse: (fine histogram bucket, count), ascending buckets.
using SparseLatency = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

// What one window showed of one transport of a target (DNS over UDP or TCP, or
// an MX host's SMTP connections): attempts and how they ended.
struct WindowEvidence {
    std::uint64_t attempts = 0;      // queries sent / connections tried
    std::uint64_t errors = 0;        // SERVFAIL/REFUSED answers; refused or 4xx/5xx greetings; …
    std::uint64_t timeouts = 0;      // unanswered / timed out / unreachable
    double p99_s = 0;                // this window's latency p99 (0: no samples)
    std::uint64_t samples = 0;       // latency samples this window
    std::uint64_t retransmitted = 0; // attempts that needed a retransmission (loss), ⊆ attempts
    // Failures by cause, as the reason names them after "n/attempts ", e.g.
    // "queries unanswered (timeouts)", "connections refused"; they add up to errors + timeouts.
    std::map<std::string, std::uint64_t> causes;
    SparseLatency latency;         // the samples behind p99_s
    std::string noun = "attempts"; // "queries" or "connections": how the reason counts attempts

    // Adds another part's figures (an address, the probes' own evidence); p99_s
    // is recomputed from the merged samples.
    void merge(const WindowEvidence& o);
};

// The p99 of sparse samples in seconds (0 when there are none).
double sparse_p99(const SparseLatency& s);

// One transport's judgement: the state its evidence points to and its part of the reason.
struct Judgement {
    TargetState state = TargetState::Unknown;
    std::string reason; // "tcp: 4/4 connections refused", "udp ok, p99 3 ms"; "" when UNKNOWN
};

// Judges one transport from its recent windows (oldest first, the newest last).
// `label` prefixes the reason ("udp", "tcp", "smtp").
Judgement judge(const std::deque<WindowEvidence>& history, const Thresholds& t,
                const std::string& label);

// The same for a single window (no horizon).
TargetState judge(const WindowEvidence& e, const Thresholds& t);

// A target's window state from its transports: UNKNOWN without evidence, DOWN
// when every transport with evidence is DOWN, DEGRADED when one is DOWN or
// DEGRADED and another is not DOWN, else HEALTHY. The reason names the failing
// transports first, e.g. "tcp: 4/4 connections refused; udp ok, p99 3 ms".
Judgement combine_transports(const std::vector<Judgement>& parts);

struct TransitionPolicy {
    unsigned rise = 2;              // healthy windows to get better
    unsigned fall = 2;              // bad windows to get worse
    unsigned hold_down_windows = 3; // windows after a change before the next may happen
    unsigned unknown_after = 6;     // windows without evidence before UNKNOWN
};

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
    // A new policy (a reload) for the windows to come; state and streak are kept.
    void set_policy(TransitionPolicy p) { policy_ = p; }

    // A streak towards another state than the current one: `streak` agreeing
    // windows of the `needed` (rise or fall), and for how many more windows the
    // hold-down keeps the change back (0: none). candidate UNKNOWN: no streak.
    struct Pending {
        TargetState candidate = TargetState::Unknown;
        unsigned streak = 0, needed = 0, held = 0;
    };
    Pending pending() const;

  private:
    TransitionPolicy policy_;
    TargetState state_ = TargetState::Unknown;
    TargetState candidate_ = TargetState::Unknown; // what the streak points to
    unsigned streak_ = 0;                          // consecutive windows agreeing on candidate_
    unsigned since_change_ = ~0u / 2;              // windows since the last transition
    unsigned silent_ = 0;                          // consecutive windows without evidence
};

// The reason of a target whose windows have evidence but have not yet made its
// state, e.g. "1 of 2 HEALTHY windows needed (udp ok, p99 3.1 ms; tcp ok)" or
// "2 of 2 HEALTHY windows, held down 1 more window (...)"; `window_reason` is the
// newest window's own. "" when p has no candidate.
std::string pending_reason(const TargetVerdict::Pending& p, const std::string& window_reason);

// The effective MX of a domain: the first host, in the order senders see the
// MX records, that is neither DOWN nor UNKNOWN (a DEGRADED host still receives
// mail: senders only move on when a connection fails); none when there is none.
std::optional<std::size_t> effective_mx(const std::vector<TargetState>& in_sender_order);

// The host a failover goes to: the first HEALTHY one after the primary; none
// when the primary is not DOWN or no backup is HEALTHY.
std::optional<std::size_t> failover_target(const std::vector<TargetState>& by_preference);

// Every target judged DOWN in the same window: the sensor's own network is the
// likelier fault, so no action may follow (fail open).
bool all_down(const std::vector<TargetState>& window);

// "3 ms", "250 ms", "2.4 s": a duration for a reason.
std::string human_seconds(double s);

} // namespace mxs
