// Window evidence from counter snapshots, then judged.
#include "evidence.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

TEST(Evidence, DnsWindow) {
    DnsCounters before, after;
    before.queries = 100;
    after.queries = 200;
    after.responses[MXS_RCODE_SERVFAIL] = 5;
    after.responses[MXS_RCODE_REFUSED] = 3;
    after.responses[MXS_RCODE_NXDOMAIN] = 40; // an answer, not an error
    before.unanswered = 2;
    after.unanswered = 12;
    before.unreachable = 1;
    after.unreachable = 4; // ICMP unreachable: failures like timeouts
    after.latency.counts[mxs_hist_bucket(2'000'000)] = 99;  // 2 ms
    after.latency.counts[mxs_hist_bucket(900'000'000)] = 1; // 900 ms
    const auto e = dns_evidence(before, after);
    EXPECT_EQ(e.attempts, 100u);
    EXPECT_EQ(e.errors, 8u);
    EXPECT_EQ(e.timeouts, 13u); // 10 unanswered + 3 unreachable
    EXPECT_NEAR(e.p99_s, 0.002, 0.002 * 0.04);
    EXPECT_EQ(judge(e, Thresholds{}), TargetState::Degraded); // 21% failures
}

TEST(Evidence, SmtpWindow) {
    SmtpCounters before, after;
    after.outcomes[MXS_SMTP_ESTABLISHED] = 6;
    after.outcomes[MXS_SMTP_REFUSED] = 1;
    after.outcomes[MXS_SMTP_TIMEOUT] = 2;
    after.outcomes[MXS_SMTP_UNREACHABLE] = 1;
    after.greetings[MXS_SMTP_220] = 3;
    after.greetings[MXS_SMTP_421] = 2;
    after.greetings[MXS_SMTP_5XX] = 1;
    const auto e = smtp_evidence(before, after);
    EXPECT_EQ(e.attempts, 10u);
    EXPECT_EQ(e.errors, 4u);                              // refused + 421 + 5xx
    EXPECT_EQ(e.timeouts, 3u);                            // timeout + unreachable
    EXPECT_EQ(judge(e, Thresholds{}), TargetState::Down); // 70% failures
}

TEST(Evidence, SilentWindowIsUnknownAndHostsCombine) {
    EXPECT_EQ(judge(dns_evidence({}, {}), Thresholds{}), TargetState::Unknown);
    const auto e = combine({{10, 0, 0, 0.01}, {0, 0, 0, 0}, {10, 0, 10, 0.2}});
    EXPECT_EQ(e.attempts, 20u);
    EXPECT_EQ(e.timeouts, 10u);
    EXPECT_DOUBLE_EQ(e.p99_s, 0.2);
    EXPECT_EQ(judge(e, Thresholds{}), TargetState::Down);
}

} // namespace
} // namespace mxs
