// Pairing when a question cannot be read (issue 10, issue 11 item 1): a response whose header
// is readable is paired by endpoints, protocol and id alone; a query whose header is readable is
// tracked so that its answer pairs. Neither is ever a latency sample without a query in flight.
#include "dns_exchange.h"

namespace mxs::test {
namespace {

constexpr std::uint16_t kQR = 0x8000, kOpcode3 = 0x1800, kRD = 0x0100;

class PairingTest : public ExchangeTest {};

// BIND answers an opcode it does not implement with NOTIMP and no question (QDCOUNT=0); FORMERR
// answers do the same.
TEST_F(PairingTest, AnswerWithoutQuestionIsPairedByIdAndEndpoints) {
    for (std::uint8_t proto : {kUdp, kTcp}) {
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            dns::Message q{0x5101, kOpcode3, 1, dns::name("example.test"), dns::kA, 1, {}};
            query(x, q.bytes());
            answer(x, dns_header(0x5101, kQR | kOpcode3 | 4)); // NOTIMP
            query(x, dns::query(0x5102, "example.test"));
            answer(x, dns_header(0x5102, kQR | kRD | 1)); // FORMERR
            const auto c = stats(x);
            EXPECT_EQ(c.queries, 2u);
            EXPECT_EQ(c.responses[MXS_RCODE_NOTIMP], 1u);
            EXPECT_EQ(c.responses[MXS_RCODE_FORMERR], 1u);
            EXPECT_EQ(c.matched_without_question, 2u);
            EXPECT_EQ(c.latency.count(), 2u);
            EXPECT_EQ(c.unsolicited + c.mismatched, 0u);
            for (auto r : {MXS_C_DNS_SHORT, MXS_C_DNS_QDCOUNT, MXS_C_DNS_NAME})
                EXPECT_EQ(counter(r), 0u) << r;
            // Nothing left in flight to be counted unanswered.
            EXPECT_EQ(sweep_all().expired_total, 0u);
        }
    }
}

// Only FORMERR and NOTIMP may leave the question out (RFC 1035 §4.1.1). A QDCOUNT=0 "answer"
// with another rcode to a query that had a question is forged or broken: not paired (counted
// mismatched), so it is no sample and the real answer still pairs.
TEST_F(PairingTest, AnswerWithoutQuestionOtherRcodeIsNotPaired) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x5401, "victim.example.test"));
        answer(x, dns_header(0x5401, kQR | kRD | 0)); // NOERROR, no question
        answer(x, dns_header(0x5401, kQR | kRD | 3)); // NXDOMAIN, no question
        auto c = stats(x);
        EXPECT_EQ(c.mismatched, 2u);
        EXPECT_EQ(c.latency.count(), 0u);
        answer(x, dns::response(0x5401, "victim.example.test"));
        c = stats(x);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NXDOMAIN], 0u);
        EXPECT_EQ(c.matched_without_question, 0u);
        EXPECT_EQ(c.latency.count(), 1u);
        EXPECT_EQ(c.unsolicited, 0u);
    }
}

// A response cut inside its question (a short UDP payload): the header still pairs it.
TEST_F(PairingTest, ResponseWithCutQuestionIsPaired) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x5201, "cut.example.test"));
        auto r = dns::response(0x5201, "cut.example.test", dns::kA, 2);
        r.resize(dns::kHeader + 6); // the qname's first label, cut
        answer(x, r);
        const auto c = stats(x);
        EXPECT_EQ(c.responses[MXS_RCODE_SERVFAIL], 1u);
        EXPECT_EQ(c.matched_without_question, 1u);
        EXPECT_EQ(c.latency.count(), 1u);
        EXPECT_EQ(counter(MXS_C_DNS_SHORT), 1u); // still counted as unparsed
        EXPECT_EQ(sweep_all().expired_total, 0u);
    }
}

// A query whose question is cut short is tracked by id: its answer pairs, and counts as
// matched without a question. Both cut points: inside the name and inside QTYPE/QCLASS.
TEST_F(PairingTest, QueryWithCutQuestionIsTracked) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        auto in_name = dns::query(0x5301, "cut.example.test");
        in_name.resize(dns::kHeader + 3);
        auto in_qtype = dns::query(0x5302, "cut.example.test");
        in_qtype.resize(in_qtype.size() - 3);
        query(x, in_name);
        query(x, in_qtype);
        EXPECT_EQ(counter(MXS_C_DNS_SHORT), 2u);
        answer(x, dns::response(0x5301, "cut.example.test", dns::kA, 5));
        answer(x, dns::response(0x5302, "cut.example.test", dns::kA, 3));
        const auto c = stats(x);
        EXPECT_EQ(c.queries, 2u);
        EXPECT_EQ(c.responses[MXS_RCODE_REFUSED], 1u);
        EXPECT_EQ(c.responses[MXS_RCODE_NXDOMAIN], 1u);
        EXPECT_EQ(c.matched_without_question, 2u);
        EXPECT_EQ(c.latency.count(), 2u);
        EXPECT_EQ(c.unsolicited + c.mismatched, 0u);
    }
}

// Bytes that are no DNS message we understand (QDCOUNT > 1, a compression pointer or label
// type in the question: what stream bytes read out of step look like) are never tracked or
// paired: garbage must not become an unanswered query, nor an answer.
TEST_F(PairingTest, MalformedQuestionIsNeverUsed) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        dns::Message ptr{0x5401, kRD, 1, {3, 'w', 'w', 'w', 0xc0, 0x0c}, dns::kA, 1, {}};
        dns::Message two{0x5402, kRD, 2, dns::name("two.example.test"), dns::kA, 1, {}};
        dns::Message label{0x5403, kRD, 1, {0x41, 'x', 0}, dns::kA, 1, {}};
        for (const auto* m : {&ptr, &two, &label})
            query(x, m->bytes());
        EXPECT_EQ(counter(MXS_C_DNS_NAME), 2u);
        EXPECT_EQ(counter(MXS_C_DNS_QDCOUNT), 1u);
        EXPECT_EQ(servers(), 0u);
        EXPECT_EQ(sweep_all().expired_total, 0u);
        // A well-formed query, then malformed "answers" with its id: not paired.
        query(x, dns::query(0x5404, "ok.example.test"));
        for (auto m : {ptr, two}) {
            m.id = 0x5404;
            m.flags = 0x8180;
            answer(x, m.bytes());
        }
        const auto c = stats(x);
        EXPECT_EQ(responses(c), 0u);
        EXPECT_EQ(c.latency.count(), 0u);
        answer(x, dns::response(0x5404, "ok.example.test"));
        EXPECT_EQ(stats(x).latency.count(), 1u);
    }
}

// A question-less answer matches nothing in flight: unsolicited, never a sample; the query it
// does not match stays outstanding and its real answer pairs with its question checked.
TEST_F(PairingTest, AnswerWithoutQuestionAndNoQueryIsNoSample) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x5401, "q.example.test"));
        answer(x, dns_header(0x5402, kQR | kRD | 4)); // another id
        auto c = stats(x);
        EXPECT_EQ(c.unsolicited, 1u);
        EXPECT_EQ(responses(c), 0u);
        EXPECT_EQ(c.latency.count(), 0u);
        answer(x, dns::response(0x5401, "q.example.test"));
        c = stats(x);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(c.matched_without_question, 0u);
        EXPECT_EQ(c.latency.count(), 1u);
    }
}

TEST_F(PairingTest, ShorterThanAHeaderIsUnparsed) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, Bytes(dns::kHeader - 1, 0));
        EXPECT_EQ(counter(MXS_C_DNS_SHORT), 1u);
        EXPECT_EQ(servers(), 0u);
    }
}

} // namespace
} // namespace mxs::test
