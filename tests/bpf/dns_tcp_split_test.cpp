// DNS over TCP whose message start is split across segments (issue 10 item 3): the 2-byte
// length alone, a 1-byte first segment, a boundary inside the header or the question; in both
// directions and roles, IPv4 and IPv6. Expected values are the messages sent.
#include "dns_exchange.h"

#include <algorithm>
#include <numeric>

namespace mxs::test {
namespace {

class TcpSplitTest : public ExchangeTest {
  protected:
    // Send msg behind its 2-byte length, in segments cut at the given stream offsets.
    void send_split(Exchange& x, bool from_client, const Bytes& msg,
                    const std::vector<std::size_t>& cuts) {
        const Bytes stream = dns::tcp_stream({msg});
        std::size_t from = 0;
        for (std::size_t c : cuts) {
            send_raw(x, from_client, Bytes(stream.begin() + from, stream.begin() + c));
            from = c;
        }
        send_raw(x, from_client, Bytes(stream.begin() + from, stream.end()));
    }
    void expect_clean(const Exchange& x, std::uint64_t exchanges) {
        const auto c = stats(x);
        EXPECT_EQ(c.queries, exchanges);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], exchanges);
        EXPECT_EQ(c.latency.count(), exchanges);
        EXPECT_EQ(c.unsolicited + c.mismatched + c.matched_without_question, 0u);
        for (auto r : {MXS_C_DNS_SHORT, MXS_C_DNS_QDCOUNT, MXS_C_DNS_NAME, MXS_C_DNS_TCP_LOST,
                       MXS_C_UNSOLICITED_UNKNOWN})
            EXPECT_EQ(counter(r), 0u) << r;
        // Nothing left in flight to be booked unanswered.
        EXPECT_EQ(sweep_all().expired_total, 0u);
    }
};

const std::string kName = "split.example.test";
// Stream offsets: the length is bytes 0-1, the header 2-13, the question from 14 on.
constexpr std::size_t kQuestionEnd = 2 + 12 + 20 + 4; // "split.example.test" is 20 bytes

TEST_F(TcpSplitTest, MessageStartSplitAnywhere) {
    const std::vector<std::vector<std::size_t>> cut_sets = {
        {2},                // the length alone (a writer that sends it apart)
        {1},                // a 1-byte first segment
        {2 + 5},            // inside the header
        {2 + 12},           // header complete, no question
        {2 + 12 + 7},       // inside the qname
        {kQuestionEnd - 2}, // inside QCLASS
        {1, 2},             // the length in two segments
        {1, 9, 20},         // four segments, all inside the start
        {2, 3, 4},
    };
    for (auto x : both_roles_both_families(kTcp)) {
        for (const auto& cuts : cut_sets) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x) + " cut at " +
                         std::accumulate(cuts.begin(), cuts.end(), std::string(),
                                         [](std::string a, std::size_t c) {
                                             return a + std::to_string(c) + " ";
                                         }));
            send_split(x, true, dns::query(0x6101, kName), cuts);
            send_split(x, false, dns::response(0x6101, kName), cuts);
            expect_clean(x, 1);
            EXPECT_EQ(counter(MXS_C_DNS_TCP_HELD), 2u); // each message's start, once
        }
    }
}

// Control: a boundary right after the question needs nothing held.
TEST_F(TcpSplitTest, BoundaryAfterTheQuestionHoldsNothing) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        send_split(x, true, dns::query(0x6201, kName), {kQuestionEnd});
        send_split(x, false, dns::response(0x6201, kName), {kQuestionEnd});
        expect_clean(x, 1);
        EXPECT_EQ(counter(MXS_C_DNS_TCP_HELD), 0u);
    }
}

// The segment completing a held start carries more messages, and ends inside another start.
TEST_F(TcpSplitTest, HeldStartFollowedByMoreMessages) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        const Bytes q = dns::tcp_stream({dns::query(1, "a." + kName), dns::query(2, "b." + kName),
                                         dns::query(3, "c." + kName)});
        const Bytes r =
            dns::tcp_stream({dns::response(1, "a." + kName), dns::response(2, "b." + kName),
                             dns::response(3, "c." + kName)});
        // Segments: the first length alone | rest of 1, all of 2, 5 bytes of 3 | rest of 3.
        const std::size_t third_q = q.size() - (2 + dns::query(3, "c." + kName).size());
        const std::size_t third_r = r.size() - (2 + dns::response(3, "c." + kName).size());
        for (auto [from_client, s, third] :
             {std::tuple{true, q, third_q}, std::tuple{false, r, third_r}}) {
            send_raw(x, from_client, Bytes(s.begin(), s.begin() + 2));
            send_raw(x, from_client, Bytes(s.begin() + 2, s.begin() + third + 5));
            send_raw(x, from_client, Bytes(s.begin() + third + 5, s.end()));
        }
        expect_clean(x, 3);
    }
}

// A long response whose start is split: the segments with its rest are skipped, and the
// message after it is read.
TEST_F(TcpSplitTest, LongResponseWithSplitStart) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x6301, kName));
        query(x, dns::query(0x6302, kName));
        auto big = dns::response(0x6301, kName);
        big.resize(big.size() + 600, 0x41);
        const Bytes s = dns::tcp_stream({big, dns::response(0x6302, kName)});
        // Inside the header | question and some answer | answer only | rest, then the next.
        for (auto [from, to] :
             {std::pair<std::size_t, std::size_t>{0, 7}, {7, 100}, {100, 400}, {400, s.size()}})
            send_raw(x, false, Bytes(s.begin() + from, s.begin() + to));
        expect_clean(x, 2);
        EXPECT_EQ(counter(MXS_C_DNS_TCP_CONT), 1u); // the answer-only segment
    }
}

// Retransmissions: of the held bytes (skipped), and of the whole start overlapping them.
TEST_F(TcpSplitTest, RetransmittedHeldBytes) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        const Bytes s = dns::tcp_stream({dns::query(0x6401, kName)});
        send_raw(x, true, Bytes(s.begin(), s.begin() + 2));
        x.client_seq -= 2;
        send_raw(x, true, Bytes(s.begin(), s.begin() + 2)); // the length again
        EXPECT_EQ(counter(MXS_C_DNS_TCP_CONT), 1u);
        send_raw(x, true, Bytes(s.begin() + 2, s.begin() + 9));
        x.client_seq -= 9;
        send_raw(x, true, s); // the whole message, overlapping what was held
        const Bytes r = dns::tcp_stream({dns::response(0x6401, kName)});
        send_raw(x, false, Bytes(r.begin(), r.begin() + 1));
        send_raw(x, false, Bytes(r.begin() + 1, r.end()));
        x.server_seq -= static_cast<std::uint32_t>(r.size());
        send_raw(x, false, r); // a retransmitted answer: not unsolicited
        expect_clean(x, 1);
    }
}

// The segment after a held start is lost: what was held is accounted, its header pairing the
// answer by id; with less than a header nothing is, and the next segment is read as a start.
TEST_F(TcpSplitTest, LostContinuation) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        const Bytes a = dns::tcp_stream({dns::query(0x6501, kName)});
        send_raw(x, true, Bytes(a.begin(), a.begin() + 2 + 12 + 3));         // header, qname cut
        x.client_seq += static_cast<std::uint32_t>(a.size() - (2 + 12 + 3)); // the rest: lost
        query(x, dns::query(0x6502, kName));
        EXPECT_EQ(counter(MXS_C_DNS_TCP_LOST), 1u);
        answer(x, dns::response(0x6501, kName));
        answer(x, dns::response(0x6502, kName));
        auto c = stats(x);
        EXPECT_EQ(c.queries, 2u);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 2u);
        EXPECT_EQ(c.matched_without_question, 1u); // the first, by its header
        EXPECT_EQ(c.latency.count(), 2u);
        EXPECT_EQ(c.unsolicited, 0u);

        // One byte held, then a gap: nothing to account; the next segment starts a message.
        const Bytes b = dns::tcp_stream({dns::query(0x6503, kName)});
        send_raw(x, true, Bytes(b.begin(), b.begin() + 1));
        x.client_seq += static_cast<std::uint32_t>(b.size() - 1);
        query(x, dns::query(0x6504, kName));
        answer(x, dns::response(0x6504, kName));
        EXPECT_EQ(counter(MXS_C_DNS_TCP_LOST), 2u);
        c = stats(x);
        EXPECT_EQ(c.queries, 3u);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 3u);
    }
}

// Pipelined messages coalesced into one segment (a client that writes faster than the network
// takes, Nagle): up to 32 are read; more are counted (the lab saw 13 in one segment under load).
TEST_F(TcpSplitTest, PipelinedMessagesInOneSegment) {
    for (auto x : both_roles_both_families(kTcp)) {
        for (unsigned n : {13u, 32u, 40u}) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x) + " " + std::to_string(n) + " messages");
            std::vector<Bytes> qs, rs;
            for (unsigned i = 0; i < n; ++i) {
                const auto id = static_cast<std::uint16_t>(0x6600 + i);
                qs.push_back(dns::query(id, kName));
                rs.push_back(dns::response(id, kName));
            }
            send_raw(x, true, dns::tcp_stream(qs));
            send_raw(x, false, dns::tcp_stream(rs));
            const std::uint64_t read = std::min(n, 32u); // not the constant: the claim

            const auto c = stats(x);
            EXPECT_EQ(c.queries, read);
            EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], read);
            EXPECT_EQ(c.latency.count(), read);
            EXPECT_EQ(c.unsolicited, 0u);
            EXPECT_EQ(counter(MXS_C_DNS_TCP_MSGS), n > 32 ? 2u : 0u);
        }
    }
}

} // namespace
} // namespace mxs::test
