// A response must travel opposite to its query (issue 10 item 7): a forged answer going the same
// way as the query is no match and no latency sample; the real answer still pairs.
#include "dns_exchange.h"

namespace mxs::test {
namespace {

class DirectionTest : public ExchangeTest {};

// Someone queries this host, then sends an "answer" with this host as its source, inbound; or
// this host asks a server and an "answer" as if from that server leaves this host. Neither
// matches; on TCP the forged segment (same sequence numbers as the real answer) does not
// disturb the real answer's stream either.
TEST_F(DirectionTest, SameDirectionAnswerIsNoMatch) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            query(x, dns::query(0x8101, "dir.example.test"));
            auto msg = dns::response(0x8101, "dir.example.test", dns::kA, 3);
            const Bytes forged =
                x.frame(false, x.proto == kTcp ? dns::tcp_stream({msg}) : msg, x.server_seq);
            pass(x, true, forged); // the query's way: leaves if it left, arrives if it arrived
            EXPECT_EQ(counter(MXS_C_DNS_SAME_DIR), 1u);
            for (std::uint8_t role : {MXS_ROLE_CLIENT, MXS_ROLE_SERVER}) {
                const auto c = server(x.server(), role, x.proto);
                EXPECT_EQ(responses(c), 0u) << "role " << int(role);
                EXPECT_EQ(c.latency.count(), 0u) << "role " << int(role);
            }
            // The real answer, the other way, still pairs.
            answer(x, dns::response(0x8101, "dir.example.test"));
            const auto c = stats(x);
            EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
            EXPECT_EQ(responses(c), 1u);
            EXPECT_EQ(c.latency.count(), 1u);
            EXPECT_EQ(c.unsolicited, 0u);
            EXPECT_EQ(counter(MXS_C_DNS_TCP_CONT), 0u);
        }
}

} // namespace
} // namespace mxs::test
