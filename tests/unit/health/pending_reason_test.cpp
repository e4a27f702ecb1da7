// A target whose windows have evidence but have not yet made its state says how
// far the streak is, with the window's own figures - never "no evidence yet"
// (adversarial review of issue 10, D: a resolver alternating SERVFAIL and ok
// windows stayed UNKNOWN "no evidence yet" for minutes).
#include "health/health.h"
#include "kernel/kernel_types.h"
#include "window_evidence.h"

#include <gtest/gtest.h>

namespace mxs {
namespace pending_reason_test {
namespace {

const std::string R = "198.18.0.53";

WindowEvidence answered(std::uint64_t n, double seconds) {
    WindowEvidence e;
    e.attempts = n;
    e.noun = "queries";
    e.latency = {{mxs_hist_bucket(static_cast<std::uint64_t>(seconds * 1e9)), n}};
    e.samples = n;
    e.p99_s = sparse_p99(e.latency);
    return e;
}

WindowEvidence servfail(std::uint64_t n) {
    auto e = test::ev(n, n, 0);
    e.noun = "queries";
    e.causes["queries answered SERVFAIL"] = n;
    return e;
}

TEST(PendingReason, AlternatingWindowsSayHowFarTheStreakIs) {
    AgentOptions o;
    o.verdicts.rise = 2;
    o.verdicts.fall = 2;
    o.verdicts.hold_down_windows = 0;
    HealthMonitor m(o, {R});
    auto window = [&](WindowEvidence udp) { m.window({{{R, {{"udp", udp}}}}, {}}); };
    EXPECT_EQ(m.targets()[0].reason, "no evidence yet");
    for (int i = 0; i < 3; ++i) {
        window(answered(1, 0.003));
        ASSERT_EQ(m.targets()[0].state, TargetState::Unknown);
        EXPECT_EQ(m.targets()[0].reason, "1 of 2 HEALTHY windows needed (udp ok, p99 3.0 ms)");
        window(servfail(1));
        ASSERT_EQ(m.targets()[0].state, TargetState::Unknown);
        // Old code: "no evidence yet" although every window had evidence.
        EXPECT_EQ(m.targets()[0].reason,
                  "1 of 2 DOWN windows needed (udp: 1/1 queries answered SERVFAIL)");
    }
    window(answered(1, 0.003));
    window(answered(1, 0.003));
    EXPECT_EQ(m.targets()[0].state, TargetState::Healthy);
    EXPECT_EQ(m.targets()[0].reason, "udp ok, p99 3.0 ms");
}

TEST(PendingReason, AHeldChangeSaysSo) {
    AgentOptions o;
    o.verdicts.rise = 1;
    o.verdicts.fall = 1;
    o.verdicts.hold_down_windows = 3;
    o.verdicts.unknown_after_windows = 1;
    HealthMonitor m(o, {R});
    auto window = [&](WindowEvidence udp) { m.window({{{R, {{"udp", udp}}}}, {}}); };
    window(answered(1, 0.003));
    ASSERT_EQ(m.targets()[0].state, TargetState::Healthy);
    for (int i = 0; i < 3; ++i)
        window({}); // silence: UNKNOWN once the hold-down allows
    ASSERT_EQ(m.targets()[0].state, TargetState::Unknown);
    EXPECT_EQ(m.targets()[0].reason, "no traffic and no probe answers for 1 windows");
    window(answered(1, 0.003)); // the next change is held down
    ASSERT_EQ(m.targets()[0].state, TargetState::Unknown);
    EXPECT_EQ(m.targets()[0].reason,
              "1 of 1 HEALTHY windows, held down 2 more windows (udp ok, p99 3.0 ms)");
}

} // namespace
} // namespace pending_reason_test
} // namespace mxs
