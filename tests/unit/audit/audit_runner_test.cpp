#include "audit/audit_runner.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

// The agent follows differing serials across runs: each run's sighting is the next run's start
// of the count, and the next run comes when the earliest grace ends, not an interval later.
TEST(AuditRunner, SerialGraceAcrossRuns) {
    std::vector<AuditReport> reports(3);
    reports[0].domain = "a.test";
    reports[0].serials_differ_since = 1000;
    reports[1].domain = "b.test"; // serials agree
    reports[2].domain = "c.test";
    reports[2].serials_differ_since = 1500;
    const auto since = serials_differ_since(reports);
    EXPECT_EQ(since, (std::map<std::string, double>{{"a.test", 1000}, {"c.test", 1500}}));

    // grace 600 s, interval 3600 s, now 1200: a.test's grace ends at 1600, c.test's at 2100.
    EXPECT_DOUBLE_EQ(next_audit_in(since, 600, 3600, 1200), 401);
    // a.test's has ended (CRITICAL already): c.test's is next.
    EXPECT_DOUBLE_EQ(next_audit_in(since, 600, 3600, 1700), 401);
    // Every grace over, or none pending: the interval.
    EXPECT_DOUBLE_EQ(next_audit_in(since, 600, 3600, 2200), 3600);
    EXPECT_DOUBLE_EQ(next_audit_in({}, 600, 3600, 1200), 3600);
    // A grace longer than the interval changes nothing.
    EXPECT_DOUBLE_EQ(next_audit_in(since, 86400, 3600, 1200), 3600);
}

} // namespace
} // namespace mxs
