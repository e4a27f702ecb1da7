// Window evidence from counter snapshots, then judged.
#include "health/evidence.h"
#include "window_evidence.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

using test::ev;

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
    // Outcomes: 48 answers, 10 unanswered, 3 unreachable (39 still in flight).
    EXPECT_EQ(e.attempts, 61u);
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
    auto slow = ev(10, 0, 10);
    slow.latency = {{mxs_hist_bucket(200'000'000), 1}};
    const auto e = combine({ev(10, 0, 0), ev(0, 0, 0), slow});
    EXPECT_EQ(e.attempts, 20u);
    EXPECT_EQ(e.timeouts, 10u);
    EXPECT_EQ(e.samples, 1u);
    EXPECT_NEAR(e.p99_s, 0.2, 0.2 * 0.04); // from the merged samples
    EXPECT_EQ(judge(e, Thresholds{}), TargetState::Down);
}

// Every failure has its cause, named as the reason counts it; retransmissions
// are loss (kernel `retried` / `connect_retransmitted`), not failures.
TEST(Evidence, CausesAndRetransmissions) {
    DnsCounters before, after;
    after.queries = 40;
    after.responses[MXS_RCODE_NOERROR] = 30;
    after.responses[MXS_RCODE_REFUSED] = 2;
    after.unanswered = 8;
    after.retried = 5;
    auto e = dns_evidence(before, after);
    EXPECT_EQ(e.noun, "queries");
    EXPECT_EQ(e.retransmitted, 5u);
    EXPECT_EQ(e.errors + e.timeouts, 10u);
    EXPECT_EQ(e.causes,
              (std::map<std::string, std::uint64_t>{{"queries answered REFUSED", 2},
                                                    {"queries unanswered (timeouts)", 8}}));
    SmtpCounters sb, sa;
    sa.outcomes[MXS_SMTP_ESTABLISHED] = 20;
    sa.outcomes[MXS_SMTP_REFUSED] = 4;
    sa.connect_retransmitted = 3;
    sa.greetings[MXS_SMTP_421] = 1;
    sa.connect.counts[mxs_hist_bucket(3'000'000)] = 17;
    e = smtp_evidence(sb, sa);
    EXPECT_EQ(e.noun, "connections");
    EXPECT_EQ(e.retransmitted, 3u);
    EXPECT_EQ(e.samples, 17u);
    EXPECT_EQ(e.causes, (std::map<std::string, std::uint64_t>{{"connections refused", 4},
                                                              {"greetings 421", 1}}));
}

// What only the probe knows: a TCP connect that failed before any DNS message
// (the kernel's DNS counters never see it) is an attempt and a failure; an
// answer the kernel counted is not counted again unless the role rejects it.
TEST(Evidence, ProbeOnlyEvidence) {
    auto e = dns_probe_evidence("refused", false, true);
    EXPECT_EQ(e.attempts, 1u);
    EXPECT_EQ(e.errors, 1u);
    EXPECT_EQ(e.causes.at("connections refused"), 1u);
    e = dns_probe_evidence("timeout", false, true);
    EXPECT_EQ(e.attempts, 1u);
    EXPECT_EQ(e.timeouts, 1u);
    EXPECT_EQ(e.causes.at("connections timed out"), 1u);
    // Sent: the kernel counted the query and judges REFUSED and unanswered itself.
    for (const char* counted : {"ok", "rcode_refused", "rcode_servfail", "timeout"}) {
        e = dns_probe_evidence(counted, true, false);
        EXPECT_EQ(e.attempts + e.errors + e.timeouts, 0u) << counted;
    }
    e = dns_probe_evidence("not_authoritative", true, false);
    EXPECT_EQ(e.attempts, 0u);
    EXPECT_EQ(e.errors, 1u);
    EXPECT_EQ(e.causes.at("answers not authoritative (AA=0)"), 1u);
    e = smtp_probe_evidence("tls_failed", "TLS handshake");
    EXPECT_EQ(e.errors, 1u);
    e = smtp_probe_evidence("refused", "connect");
    EXPECT_EQ(e.errors, 0u); // the kernel saw the RST
    e = smtp_probe_evidence("rejected", "greeting");
    EXPECT_EQ(e.errors, 0u); // the kernel counted the 4xx/5xx greeting
    e = smtp_probe_evidence("rejected", "EHLO");
    EXPECT_EQ(e.errors, 1u);
}

} // namespace
} // namespace mxs
