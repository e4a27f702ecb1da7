// DNS retransmissions (issue 10): a query sent again while in flight is not a new query, and its
// answer is counted (rcode, `retried`) but gives no latency sample: the time since the first copy
// includes the client's retry timer, not the server's answer time.
#include "dns_exchange.h"

namespace mxs::test {
namespace {

class RetryTest : public ExchangeTest {};

TEST_F(RetryTest, AnswerToARetransmittedQueryIsNoSample) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            // Retried, answered SERVFAIL; then one sent once, answered NOERROR.
            query(x, dns::query(0xa101, "retry.example.test"));
            query(x, dns::query(0xa101, "retry.example.test"));
            answer(x, dns::response(0xa101, "retry.example.test", dns::kA, 2));
            query(x, dns::query(0xa102, "once.example.test"));
            answer(x, dns::response(0xa102, "once.example.test"));
            const auto c = stats(x);
            EXPECT_EQ(c.queries, 2u);
            EXPECT_EQ(counter(MXS_C_DUP_QUERY), 1u);
            EXPECT_EQ(c.responses[MXS_RCODE_SERVFAIL], 1u);
            EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
            EXPECT_EQ(c.retried, 1u);
            EXPECT_EQ(c.latency.count(), 1u); // the one sent once only
            EXPECT_EQ(c.unsolicited, 0u);
            EXPECT_EQ(sweep_all().expired_total, 0u);
        }
}

// A retried query that is never answered is unanswered once.
TEST_F(RetryTest, UnansweredRetriedQueryCountsOnce) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        for (int i = 0; i < 3; ++i)
            query(x, dns::query(0xa201, "lost.example.test"));
        const auto r = sweep_all();
        EXPECT_EQ(r.expired_total, 1u);
        EXPECT_EQ(stats(x).queries, 1u);
        EXPECT_EQ(counter(MXS_C_DUP_QUERY), 2u);
    }
}

} // namespace
} // namespace mxs::test
