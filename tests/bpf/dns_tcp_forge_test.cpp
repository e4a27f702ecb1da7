// DNS over TCP: a segment the receiving TCP would drop is never read as a DNS message (issue 10,
// adversarial review): a forged "answer" outside the client's receive window must not pair with
// the query in flight (the real answer would then be unsolicited), nor a forged query outside the
// server's window be booked (and then unanswered). Both roles, both address families; expected
// values come from the packets sent.
#include "dns_exchange.h"

namespace mxs::test {
namespace dns_tcp_forge_test {
namespace {

// The bound for a segment's start past the receive point: the largest window without scaling
// (RFC 9293 §3.1), as the README states.
constexpr std::uint32_t kWindowBound = 65535;
constexpr std::uint8_t kPsh = 0x08, kPshAck = 0x18, kSyn = 0x02, kSynAck = 0x12;
const std::string kName = "forge.example.test";

class DnsTcpForgeTest : public ExchangeTest {
  protected:
    std::uint64_t rejected(std::uint32_t reason) {
        return counter(static_cast<mxs_counter>(MXS_C_DNS_TCP_REJ_RST + reason));
    }
    // Queries the sweep finds unanswered 10 s later.
    std::uint64_t unanswered() {
        return sensor_->sweep(monotonic_ns() + 10'000'000'000ull, 1).expired_total;
    }
};

// Client role: forged answers from the server's address arrive from outside. Server role: the
// same frames are this host's own; one acknowledging more than the sensor saw of the client would
// move the client's receive point instead (this host's TCP received it), so that variant is sent
// in role client only.
TEST_F(DnsTcpForgeTest, AnswerOutsideTheWindowDoesNotPair) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        handshake(x);
        query(x, dns::query(0x7101, kName));
        const std::uint32_t s = x.server_seq, k = x.client_seq; // receive points
        const Bytes forged = dns::tcp_stream({dns::response(0x7101, kName, dns::kA, 3)});
        for (std::uint32_t seq : {s + (1u << 31) + 5, s + kWindowBound, s - 1, s - 100000})
            pass(x, false, x.segment(false, kPshAck, seq, k, forged));
        pass(x, false, x.segment(false, kPsh, s, 0, forged));          // no ACK
        pass(x, false, x.segment(false, kPshAck, s, k - 100, forged)); // before the query
        pass(x, false, x.segment(false, kPshAck, s, k + (1u << 31), forged));
        if (x.role == MXS_ROLE_CLIENT)
            pass(x, false, x.segment(false, kPshAck, s, k + 1, forged)); // acks unsent data
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 4u);
        EXPECT_EQ(rejected(MXS_TCP_REJ_ACK), x.role == MXS_ROLE_CLIENT ? 4u : 3u);
        answer(x, dns::response(0x7101, kName));
        const auto c = stats(x);
        EXPECT_EQ(c.queries, 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NXDOMAIN], 0u);
        EXPECT_EQ(c.latency.count(), 1u);
        EXPECT_EQ(c.unsolicited + c.mismatched, 0u);
        EXPECT_EQ(unanswered(), 0u);
    }
}

// Server role: a forged query from outside the server's window is not tracked (it would be
// booked unanswered). Role client: the frames are this host's own, so the ACK variant there would
// resynchronise the server's stream and is left out.
TEST_F(DnsTcpForgeTest, QueryOutsideTheWindowIsNotTracked) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        handshake(x);
        const std::uint32_t s = x.server_seq, k = x.client_seq;
        const Bytes forged = dns::tcp_stream({dns::query(0x7201, "forged." + kName)});
        for (std::uint32_t seq : {k + (1u << 31) + 5, k + kWindowBound, k - 1, k - 100000})
            pass(x, true, x.segment(true, kPshAck, seq, s, forged));
        pass(x, true, x.segment(true, kPsh, k, 0, forged)); // no ACK
        if (x.role == MXS_ROLE_SERVER)
            pass(x, true, x.segment(true, kPshAck, k, s + 1, forged)); // acks unsent data
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 4u);
        EXPECT_EQ(rejected(MXS_TCP_REJ_ACK), x.role == MXS_ROLE_SERVER ? 2u : 1u);
        query(x, dns::query(0x7202, kName));
        answer(x, dns::response(0x7202, kName));
        const auto c = stats(x);
        EXPECT_EQ(c.queries, 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(unanswered(), 0u);
    }
}

// The bound's edge: an answer starting kWindowBound - 1 bytes past the receive point is one the
// client's TCP may take (out of order); it is read, as a segment after a gap always was.
TEST_F(DnsTcpForgeTest, AnswerJustInsideTheBoundIsRead) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        handshake(x);
        query(x, dns::query(0x7301, kName));
        pass(x, false,
             x.segment(false, kPshAck, x.server_seq + kWindowBound - 1, x.client_seq,
                       dns::tcp_stream({dns::response(0x7301, kName, dns::kA, 3)})));
        EXPECT_EQ(stats(x).responses[MXS_RCODE_NXDOMAIN], 1u);
        for (std::uint32_t r = 0; r < MXS_TCP_REJ_MAX; ++r)
            EXPECT_EQ(rejected(r), 0u) << r;
    }
}

// A SYN-ACK must acknowledge the SYN (RFC 9293 §3.10.7.3); before an acceptable one the server
// has no stream, so nothing from it is read. The real SYN-ACK then starts it.
TEST_F(DnsTcpForgeTest, SynAckMustAcknowledgeTheSyn) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        pass(x, true, x.segment(true, kSyn, x.client_seq++, 0));
        const std::uint32_t forged_isn = x.server_seq + (1u << 31);
        pass(x, false, x.segment(false, kSynAck, forged_isn, 123456789));
        EXPECT_EQ(rejected(MXS_TCP_REJ_SYNACK), 1u);
        const Bytes forged = dns::tcp_stream({dns::response(0x7401, kName, dns::kA, 3)});
        pass(x, false, x.segment(false, kPshAck, forged_isn + 1, x.client_seq, forged));
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 1u); // no server stream yet
        pass(x, false, x.segment(false, kSynAck, x.server_seq++, x.client_seq));
        pass(x, true, x.segment(true, 0x10, x.client_seq, x.server_seq));
        query(x, dns::query(0x7401, kName));
        // The forged stream's data again: outside the real stream's window now.
        pass(x, false, x.segment(false, kPshAck, forged_isn + 1, x.client_seq, forged));
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 2u);
        answer(x, dns::response(0x7401, kName));
        const auto c = stats(x);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NXDOMAIN], 0u);
        EXPECT_EQ(c.unsolicited, 0u);
    }
}

// A SYN on a live connection's 4-tuple (forged: the server's TCP answers it with a challenge ACK,
// RFC 5961 §4) does not reset the connection's record: its next query is still read. A new
// connection on the same 4-tuple, which the server takes (its SYN-ACK acknowledges the new SYN),
// starts a new record.
TEST_F(DnsTcpForgeTest, SynOnALiveConnectionWaitsForItsSynAck) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        handshake(x);
        pass(x, true, x.segment(true, kSyn, x.client_seq + 0x40000000u, 0));
        query(x, dns::query(0x7501, kName));
        answer(x, dns::response(0x7501, kName));
        // The client reuses the 4-tuple for a new connection (TIME-WAIT reuse).
        x.client_seq += 0x10000000u;
        x.server_seq += 0x20000000u;
        handshake(x);
        query(x, dns::query(0x7502, kName));
        answer(x, dns::response(0x7502, kName));
        const auto c = stats(x);
        EXPECT_EQ(c.queries, 2u);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 2u);
        for (std::uint32_t r = 0; r < MXS_TCP_REJ_MAX; ++r)
            EXPECT_EQ(rejected(r), 0u) << r;
    }
}

} // namespace
} // namespace dns_tcp_forge_test
} // namespace mxs::test
