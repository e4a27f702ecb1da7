// A window's evidence is what each (address, transport) did since the previous window.
#include "health/window_delta.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

TEST(WindowDelta, EachWindowIsTheDifferenceSinceTheLast) {
    WindowDelta delta;
    WindowDelta::DnsTotals dns;
    WindowDelta::SmtpTotals smtp;
    auto& udp = dns[{"198.18.0.53", "udp"}];
    udp.responses[MXS_RCODE_NOERROR] = 4;
    udp.unanswered = 1;
    smtp[{"198.18.0.25", "tcp"}].outcomes[MXS_SMTP_ESTABLISHED] = 3;
    // The first window: the totals so far.
    auto w = delta.next(dns, smtp);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").attempts, 5u);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").timeouts, 1u);
    EXPECT_EQ(w.smtp.at("198.18.0.25").attempts, 3u);

    udp.responses[MXS_RCODE_NOERROR] = 10;
    udp.responses[MXS_RCODE_SERVFAIL] = 2;
    smtp[{"198.18.0.25", "tcp"}].outcomes[MXS_SMTP_ESTABLISHED] = 5;
    w = delta.next(dns, smtp);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").attempts, 8u); // 6 answers, 2 SERVFAIL
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").errors, 2u);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").timeouts, 0u);
    EXPECT_EQ(w.smtp.at("198.18.0.25").attempts, 2u);

    // Nothing new: a window of nothing, not the totals again.
    w = delta.next(dns, smtp);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").attempts, 0u);
    EXPECT_EQ(w.smtp.at("198.18.0.25").attempts, 0u);

    // The kernel entry went (and its totals with it): it starts again from zero.
    w = delta.next({}, smtp);
    EXPECT_TRUE(w.dns.empty());
    WindowDelta::DnsTotals again;
    again[{"198.18.0.53", "udp"}].responses[MXS_RCODE_NOERROR] = 1;
    w = delta.next(again, smtp);
    EXPECT_EQ(w.dns.at("198.18.0.53").at("udp").attempts, 1u);
}

} // namespace
} // namespace mxs
