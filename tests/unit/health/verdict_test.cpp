// The verdict engine over scripted evidence.
#include "health/verdict.h"
#include "kernel/kernel_types.h"
#include "window_evidence.h"

#include <deque>
#include <gtest/gtest.h>
#include <vector>

namespace mxs {
namespace verdict_test {
namespace {

using test::ev;

using S = TargetState;
constexpr S H = S::Healthy, D = S::Down, G = S::Degraded, U = S::Unknown;

// Feeds windows; returns every transition with the window index it happened in.
std::vector<std::pair<int, Transition>> run(TargetVerdict& v, const std::vector<S>& windows) {
    std::vector<std::pair<int, Transition>> out;
    for (std::size_t i = 0; i < windows.size(); ++i)
        if (auto t = v.observe(windows[i]))
            out.push_back({static_cast<int>(i), *t});
    return out;
}

// n latency samples of `seconds` each, as one window's evidence of n attempts.
WindowEvidence timed(std::uint64_t n, double seconds, std::uint64_t attempts = 0) {
    WindowEvidence e;
    e.attempts = attempts ? attempts : n;
    if (n)
        e.latency = {{mxs_hist_bucket(static_cast<std::uint64_t>(seconds * 1e9)), n}};
    e.samples = n;
    e.p99_s = sparse_p99(e.latency);
    return e;
}

TEST(Judge, RatiosAndLatency) {
    Thresholds t;
    EXPECT_EQ(judge(ev(0, 0, 0), t), U);
    EXPECT_EQ(judge(ev(100, 0, 0), t), H);
    EXPECT_EQ(judge(ev(100, 3, 2), t), G);   // 5% failures
    EXPECT_EQ(judge(timed(100, 2.5), t), G); // slow, with enough samples
    EXPECT_EQ(judge(ev(100, 10, 40), t), D); // 50% failures
    EXPECT_EQ(judge(ev(4, 0, 4), t), D);     // every attempt timed out
    t.min_attempts = 10;
    EXPECT_EQ(judge(ev(4, 0, 4), t), U);
}

TEST(TargetVerdict, CleanFailureAndRecovery) {
    TargetVerdict v({2, 3, 3, 6});
    auto tr = run(v, {H, H, H, H, D, D, D, D, H, H, H});
    ASSERT_EQ(tr.size(), 3u);
    EXPECT_EQ(tr[0].first, 1); // UNKNOWN -> HEALTHY after rise = 2
    EXPECT_EQ(tr[0].second.to, H);
    EXPECT_EQ(tr[1].first, 6); // DOWN after fall = 3 bad windows
    EXPECT_EQ(tr[1].second.from, H);
    EXPECT_EQ(tr[1].second.to, D);
    EXPECT_EQ(tr[2].first, 9); // HEALTHY after rise = 2, hold-down (3) passed
    EXPECT_EQ(v.state(), H);
}

TEST(TargetVerdict, OneBadWindowChangesNothing) {
    TargetVerdict v({2, 2, 3, 6});
    auto tr = run(v, {H, H, D, H, H, D, H, G, H});
    ASSERT_EQ(tr.size(), 1u); // only UNKNOWN -> HEALTHY
    EXPECT_EQ(v.state(), H);
}

TEST(TargetVerdict, OscillationNeverBeatsTheHoldDown) {
    for (unsigned period : {1u, 2u, 3u, 4u, 5u, 7u}) {
        TransitionPolicy p{2, 2, 6, 100};
        TargetVerdict v(p);
        std::vector<S> windows;
        for (int i = 0; i < 120; ++i)
            windows.push_back((i / period) % 2 ? D : H);
        auto tr = run(v, windows);
        for (std::size_t i = 1; i < tr.size(); ++i)
            EXPECT_GE(static_cast<unsigned>(tr[i].first - tr[i - 1].first), p.hold_down_windows)
                << "period " << period;
        if (period == 1) {
            EXPECT_EQ(tr.size(), 0u); // never two windows in a row
        }
    }
}

TEST(TargetVerdict, DegradedIsItsOwnState) {
    TargetVerdict v({2, 2, 1, 6});
    auto tr = run(v, {H, H, G, G, D, D, G, H, H});
    ASSERT_EQ(tr.size(), 4u);
    EXPECT_EQ(tr[1].second.to, G);
    EXPECT_EQ(tr[2].second.to, D);
    EXPECT_EQ(tr[3].second.to, H);
    EXPECT_EQ(tr[3].second.from, D);
}

// A window without evidence (a probe's outcome landing in the next window) does
// not break a streak: the windows with evidence still agree.
TEST(TargetVerdict, SilentWindowsDoNotBreakAStreak) {
    TargetVerdict v({2, 2, 0, 6});
    auto tr = run(v, {H, U, H, D, U, D});
    ASSERT_EQ(tr.size(), 2u); // old code: none (each silent window restarted the streak)
    EXPECT_EQ(tr[0].first, 2);
    EXPECT_EQ(tr[0].second.to, H);
    EXPECT_EQ(tr[1].first, 5);
    EXPECT_EQ(tr[1].second.to, D);
}

TEST(TargetVerdict, SilenceBecomesUnknown) {
    TargetVerdict v({1, 1, 1, 3});
    auto tr = run(v, {H, U, U, U, U});
    ASSERT_EQ(tr.size(), 2u);
    EXPECT_EQ(tr[1].first, 3);
    EXPECT_EQ(tr[1].second.to, U);
}

TEST(Domain, EffectiveMxAndAllDown) {
    EXPECT_EQ(effective_mx({H, H}), 0u);
    EXPECT_EQ(effective_mx({D, H}), 1u);
    EXPECT_EQ(effective_mx({U, H}), 1u);
    EXPECT_EQ(effective_mx({D, G}), 1u); // a DEGRADED backup still receives the mail
    EXPECT_FALSE(effective_mx({D, U}));
    EXPECT_FALSE(failover_target({D, G})); // backup not HEALTHY: no failover target
    EXPECT_TRUE(all_down({D, D, D}));
    EXPECT_FALSE(all_down({D, H}));
    EXPECT_FALSE(all_down({}));
}

// Senders try the MX hosts in order and move on only when a connection fails:
// a DEGRADED primary still takes the mail, so it stays the effective MX and no
// failover leaves it; only a DOWN primary hands over, and only to a HEALTHY backup.
TEST(Domain, ADegradedPrimaryStaysEffective) {
    EXPECT_EQ(effective_mx({G, H}), 0u); // old rule (first HEALTHY): 1
    EXPECT_EQ(effective_mx({U, G, H}), 1u);
    EXPECT_FALSE(failover_target({G, H}));
    EXPECT_FALSE(failover_target({U, H}));
    EXPECT_EQ(failover_target({D, G, H}), 2u);
    EXPECT_EQ(failover_target({D, H, H}), 1u);
}

// One lost SYN or SYN-ACK costs Linux's 1 s initial retransmission timeout
// (RFC 6298): a connect that needed one measures 1.00-1.07 s. The default p99
// limit stays clear of it (and of two retransmissions, 3 s).
TEST(Judge, DefaultLatencyLimitIsClearOfTheSynQuantum) {
    const Thresholds t;
    EXPECT_GT(t.degraded_p99_s, 1.07 * 1.2);
    EXPECT_LT(t.degraded_p99_s, 3.0);
    auto e = timed(19, 0.02, 20);
    e.merge(timed(1, 1.07, 0)); // one connect a retransmission late
    EXPECT_EQ(judge(e, t), H);  // old default (1.0 s): DEGRADED
    EXPECT_EQ(judge(timed(20, 2.1), t), G);
}

// A latency judgement needs latency_min_samples in its horizon: one window with
// a few slow answers says nothing; the horizon reaches back over earlier windows
// (at most latency_horizon) until it holds enough.
TEST(Judge, LatencyNeedsEnoughSamplesInTheHorizon) {
    Thresholds t;
    t.latency_min_samples = 20;
    t.latency_horizon = 6;
    std::deque<WindowEvidence> h{timed(5, 5.0)};
    EXPECT_EQ(judge(h, t, "smtp").state, H); // 5 samples: no latency judgement (old: DEGRADED)
    h.push_back(timed(5, 5.0));
    h.push_back(timed(5, 5.0));
    EXPECT_EQ(judge(h, t, "smtp").state, H); // 15
    h.push_back(timed(5, 5.0));
    const auto j = judge(h, t, "smtp"); // 20 samples in 4 windows
    EXPECT_EQ(j.state, G);
    EXPECT_EQ(j.reason, "smtp: p99 5.1 s over 20 samples in 4 windows (limit 2.0 s)");
    // The horizon is the newest windows that reach the count: 20 fast ones now decide alone.
    h.push_back(timed(20, 0.003));
    EXPECT_EQ(judge(h, t, "smtp").state, H);
    // No more than latency_horizon windows: 6 windows of 3 samples are not enough.
    std::deque<WindowEvidence> sparse_h;
    for (int i = 0; i < 10; ++i)
        sparse_h.push_back(timed(3, 5.0));
    t.latency_horizon = 6;
    EXPECT_EQ(judge(sparse_h, t, "smtp").state, H);
    t.latency_horizon = 7;
    EXPECT_EQ(judge(sparse_h, t, "smtp").state, G);
}

// Retransmissions are network loss: never failures, never slow samples; only a
// large share of them over the horizon (degraded_loss_ratio) is DEGRADED, and
// the reason says it is loss.
TEST(Judge, RetransmissionsAreLossNotSlowness) {
    Thresholds t;
    auto e = timed(18, 0.02, 20);
    e.retransmitted = 2; // their latency is not in the histogram (the kernel leaves it out)
    auto j = judge(std::deque<WindowEvidence>{e}, t, "smtp");
    EXPECT_EQ(j.state, H);
    EXPECT_EQ(j.reason, "smtp ok, p99 20 ms, 2/20 retransmitted");
    e.retransmitted = 12;
    j = judge(std::deque<WindowEvidence>{e}, t, "smtp");
    EXPECT_EQ(j.state, G);
    EXPECT_EQ(j.reason, "smtp: 12/20 attempts retransmitted in 1 window (network loss)");
}

TEST(Judge, ReasonsCountFailuresByCause) {
    Thresholds t;
    WindowEvidence udp;
    udp.noun = "queries";
    udp.attempts = 12;
    udp.timeouts = 12;
    udp.causes["queries unanswered (timeouts)"] = 12;
    auto j = judge(std::deque<WindowEvidence>{udp}, t, "udp");
    EXPECT_EQ(j.state, D);
    EXPECT_EQ(j.reason, "udp: 12/12 queries unanswered (timeouts)");
    WindowEvidence mixed;
    mixed.attempts = 10;
    mixed.errors = 3;
    mixed.timeouts = 1;
    mixed.causes = {{"queries answered SERVFAIL", 3}, {"queries unanswered (timeouts)", 1}};
    j = judge(std::deque<WindowEvidence>{mixed}, t, "udp");
    EXPECT_EQ(j.state, G);
    EXPECT_EQ(j.reason, "udp: 3/10 queries answered SERVFAIL, 1/10 queries unanswered (timeouts)");
}

// UDP and TCP are judged apart: one failing transport is DEGRADED with its
// reason first, all failing is DOWN; a transport without evidence does not count.
TEST(Judge, TransportsCombine) {
    const Judgement udp_ok{H, "udp ok, p99 3.0 ms"};
    const Judgement tcp_down{D, "tcp: 4/4 connections refused"};
    const Judgement udp_down{D, "udp: 12/12 queries unanswered (timeouts)"};
    auto j = combine_transports({udp_ok, tcp_down});
    EXPECT_EQ(j.state, G);
    EXPECT_EQ(j.reason, "tcp: 4/4 connections refused; udp ok, p99 3.0 ms");
    j = combine_transports({udp_down, tcp_down});
    EXPECT_EQ(j.state, D);
    j = combine_transports({udp_down, Judgement{}});
    EXPECT_EQ(j.state, D);
    EXPECT_EQ(j.reason, "udp: 12/12 queries unanswered (timeouts)");
    j = combine_transports({Judgement{}, Judgement{}});
    EXPECT_EQ(j.state, U);
    j = combine_transports({udp_ok, Judgement{G, "tcp: p99 2.5 s over 20 samples"}});
    EXPECT_EQ(j.state, G);
    EXPECT_EQ(human_seconds(0.0032), "3.2 ms");
    EXPECT_EQ(human_seconds(0.25), "250 ms");
    EXPECT_EQ(human_seconds(2.44), "2.4 s");
}

} // namespace
} // namespace verdict_test
} // namespace mxs
