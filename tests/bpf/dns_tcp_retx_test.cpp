// A DNS-over-TCP query segment that arrives again after its answer left (the answer was lost,
// so the client's TCP sends its query again and the server's TCP its answer) used to count as
// a new query, and the answer's retransmission was skipped as a continuation, so the sweep
// booked the new "query" unanswered: one answered exchange gave queries 2, responses 1,
// unanswered 1 (found with issue 12's fuzz work).
//
// Fixed where the connection's handshake was seen (its record, bpf/lib/tcp.h, knows the bytes were
// read before). KNOWN LIMIT, disabled: a connection whose SYN the sensor did not see (the agent
// started later, the record evicted) still gives the old counts. Run it with
//   build/tests/bpf_tests --gtest_also_run_disabled_tests --gtest_filter='*AfterItsAnswer*'
#include "dns_exchange.h"

namespace mxs::test {
namespace {

class TcpRetransmissionTest : public ExchangeTest {
  protected:
    // The query and its answer, both sent again (the answer was lost on the way): one
    // exchange, nothing booked unanswered.
    void exchange_twice(Exchange& x, std::uint16_t id) {
        const Bytes q = dns::tcp_stream({dns::query(id, "retx.example.test")});
        const Bytes a = dns::tcp_stream({dns::response(id, "retx.example.test")});
        const Bytes qf = x.frame(true, q, x.client_seq);
        const Bytes af = x.segment(false, 0x18, x.server_seq,
                                   x.client_seq + static_cast<std::uint32_t>(q.size()), a);
        for (int i = 0; i < 2; ++i) {
            pass(x, true, qf);
            pass(x, false, af);
        }
        const auto c = stats(x);
        EXPECT_EQ(c.queries, 1u);
        EXPECT_EQ(responses(c), 1u);
        EXPECT_EQ(sweep_all().expired_total, 0u);
    }
};

TEST_F(TcpRetransmissionTest, DISABLED_QueryAfterItsAnswerIsNotNew) {
    for (auto x : both_roles_both_families(kTcp)) {
        // (As a client this host's TCP does not send a query again once the answer, which
        // acknowledges it, arrived; the sensor gives the same counts there.)
        if (x.role != MXS_ROLE_SERVER)
            continue;
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        exchange_twice(x, 0x7101);
    }
}

TEST_F(TcpRetransmissionTest, QueryAfterItsAnswerIsNotNewOnAConnectionSeenFromItsSyn) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        handshake(x);
        exchange_twice(x, 0x7102);
    }
}

} // namespace
} // namespace mxs::test
