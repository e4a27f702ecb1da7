// The verdict engine over scripted evidence.
#include "verdict.h"

#include <gtest/gtest.h>
#include <vector>

namespace mxs {
namespace {

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

TEST(Judge, RatiosAndLatency) {
    Thresholds t;
    EXPECT_EQ(judge({0, 0, 0, 0}, t), U);
    EXPECT_EQ(judge({100, 0, 0, 0.01}, t), H);
    EXPECT_EQ(judge({100, 3, 2, 0.01}, t), G);   // 5% failures
    EXPECT_EQ(judge({100, 0, 0, 1.5}, t), G);    // slow
    EXPECT_EQ(judge({100, 10, 40, 0.01}, t), D); // 50% failures
    EXPECT_EQ(judge({4, 0, 4, 0}, t), D);        // every attempt timed out
    t.min_attempts = 10;
    EXPECT_EQ(judge({4, 0, 4, 0}, t), U);
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
    EXPECT_FALSE(effective_mx({D, G})); // backup unhealthy: no failover target
    EXPECT_TRUE(all_down({D, D, D}));
    EXPECT_FALSE(all_down({D, H}));
    EXPECT_FALSE(all_down({}));
}

} // namespace
} // namespace mxs
