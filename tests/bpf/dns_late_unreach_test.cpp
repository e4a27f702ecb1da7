// Issue 11 items 2 and 3: an answer after the sweep is late (the sweep counted its query
// unanswered), never unsolicited; an ICMP/ICMPv6 destination unreachable quoting a query in
// flight ends it as unreachable, not unanswered. Both roles, IPv4 and IPv6.
#include "dns_exchange.h"

namespace mxs::test {
namespace dns_late_unreach_test {
namespace {

class LateTest : public ExchangeTest {
  protected:
    std::uint64_t unsolicited_anywhere(const Exchange& x) {
        return server(x.server(), MXS_ROLE_CLIENT, x.proto).unsolicited +
               server(x.server(), MXS_ROLE_SERVER, x.proto).unsolicited +
               counter(MXS_C_UNSOLICITED_UNKNOWN);
    }
};

// An answer 3 s after its query (timeout 2 s): the sweep counts it unanswered once, the answer
// is late once; a second copy of the answer is not late again.
TEST_F(LateTest, AnswerAfterSweepIsLateNotUnsolicited) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            query(x, dns::query(0x9101, "slow.example.test"));
            const auto r = sweep_all();
            EXPECT_EQ(r.expired_total, 1u);
            ASSERT_EQ(r.expired.size(), 1u);
            EXPECT_EQ(r.expired.begin()->first.role, x.role);
            answer(x, dns::response(0x9101, "slow.example.test"));
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
            EXPECT_EQ(unsolicited_anywhere(x), 0u);
            const auto c = stats(x);
            EXPECT_EQ(responses(c), 0u);
            EXPECT_EQ(c.latency.count(), 0u);
            EXPECT_EQ(sweep_all().expired_total, 0u); // unanswered once
            if (proto == kUdp) {
                // A duplicate of the answer: its query is gone and already late.
                answer(x, dns::response(0x9101, "slow.example.test"));
                EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
                EXPECT_EQ(unsolicited_anywhere(x), 1u);
            }
        }
}

// The roles remember swept queries apart: a flood of spoofed queries to this host (server
// role), all swept unanswered, does not evict the record of this host's own query, whose late
// answer is still late. Small maps, so the flood overflows the server role's.
TEST_F(LateTest, ServerRoleFloodDoesNotEvictClientRecords) {
    SensorConfig cfg;
    cfg.late_map_entries = 8;
    load(cfg);
    Exchange mine; // client role: this host's query
    query(mine, dns::query(0x9201, "mine.example.test"));
    for (int i = 0; i < 64; ++i) {
        Exchange spoof;
        spoof.role = MXS_ROLE_SERVER;
        spoof.client_port = static_cast<std::uint16_t>(20000 + i);
        query(spoof, dns::query(static_cast<std::uint16_t>(0xa000 + i), "x.example.test"));
    }
    EXPECT_EQ(sweep_all().expired_total, 65u);
    answer(mine, dns::response(0x9201, "mine.example.test"));
    EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
    EXPECT_EQ(unsolicited_anywhere(mine), 0u);
}

// A late "answer" travelling the query's way (forged, as if from the server) is not late; the
// real one still is.
TEST_F(LateTest, SameDirectionLateAnswerIsNotLate) {
    for (auto x : both_roles_both_families(kUdp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x9102, "slow.example.test"));
        EXPECT_EQ(sweep_all().expired_total, 1u);
        pass(x, true, x.frame(false, dns::response(0x9102, "slow.example.test"), 0));
        EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 0u);
        answer(x, dns::response(0x9102, "slow.example.test"));
        EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
    }
}

// A response to a query never sent stays unsolicited (the swept map is not a wildcard).
TEST_F(LateTest, UnknownIdStaysUnsolicited) {
    for (auto x : both_roles_both_families(kUdp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        query(x, dns::query(0x9103, "slow.example.test"));
        EXPECT_EQ(sweep_all().expired_total, 1u);
        answer(x, dns::response(0x9104, "slow.example.test"));
        EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 0u);
        EXPECT_EQ(unsolicited_anywhere(x), 1u);
    }
}

constexpr std::uint16_t kQR = 0x8000, kRD = 0x0100;

// A late answer is checked against its query's question as an answer in time is: another qname,
// QTYPE or QCLASS is mismatched (where an answer in time with another question counts), not
// late, and leaves the record for the real answer, which is late, once. UDP and TCP, both roles
// and families.
TEST_F(LateTest, LateAnswerWithAnotherQuestionIsMismatchedNotLate) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            query(x, dns::query(0x9301, "slow.example.test", dns::kMX));
            EXPECT_EQ(sweep_all().expired_total, 1u);
            answer(x, dns::response(0x9301, "other.example.test", dns::kMX)); // qname
            answer(x, dns::response(0x9301, "slow.example.test", dns::kA));   // qtype
            dns::Message chaos{0x9301, 0x8180, 1, dns::name("slow.example.test"), dns::kMX, 3, {}};
            answer(x, chaos.bytes()); // qclass CH
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 0u);
            auto c = stats(x);
            EXPECT_EQ(c.mismatched, 3u);
            EXPECT_EQ(unsolicited_anywhere(x), 0u);
            // The real answer, its qname in other letter case (RFC 4343): late, once.
            answer(x, dns::response(0x9301, "SLOW.Example.TEST", dns::kMX));
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
            c = stats(x);
            EXPECT_EQ(c.mismatched, 3u);
            EXPECT_EQ(responses(c), 0u);
            EXPECT_EQ(c.latency.count(), 0u);
            EXPECT_EQ(unsolicited_anywhere(x), 0u);
        }
}

// QDCOUNT=0 late answers follow the rule of answers in time (README, "QDCOUNT=0"): to a query
// with a question only FORMERR, NOTIMP or an extended rcode may leave it out; any other is
// mismatched. To a query without a question (cookie-only, RFC 7873 §5.4) any answer fits by id.
TEST_F(LateTest, LateAnswerWithoutQuestionFollowsTheOnTimeRule) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x));
            query(x, dns::query(0x9401, "q.example.test")); // with a question
            query(x, dns::query(0x9402, "q.example.test")); // with a question
            query(x, dns_header(0x9403, kRD, 0));           // without one
            EXPECT_EQ(sweep_all().expired_total, 3u);
            answer(x, dns_header(0x9401, kQR | kRD | 0)); // NOERROR, no question: forged
            answer(x, dns_header(0x9401, kQR | kRD | 3)); // NXDOMAIN, no question: forged
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 0u);
            EXPECT_EQ(stats(x).mismatched, 2u);
            answer(x, dns_header(0x9401, kQR | kRD | 1)); // FORMERR without a question: fits
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);
            answer(x, dns_header(0x9402, kQR | kRD | 4)); // NOTIMP without a question: fits
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 2u);
            answer(x, dns::response(0x9403, "any.example.test")); // its query had none
            EXPECT_EQ(counter(MXS_C_LATE_RESPONSE), 3u);
            const auto c = stats(x);
            EXPECT_EQ(c.mismatched, 2u);
            EXPECT_EQ(responses(c), 0u);
            EXPECT_EQ(unsolicited_anywhere(x), 0u);
        }
}

class UnreachTest : public LateTest {
  protected:
    // An ICMP/ICMPv6 destination unreachable quoting `quoted_len` bytes of the query frame's IP
    // packet (0: all of it), travelling from the server's side (reverse: the query's way).
    void unreach(const Exchange& x, const Bytes& query_frame, std::uint8_t code,
                 std::size_t quoted_len = 0, bool reverse = false) {
        Bytes q(query_frame.begin() + 14, query_frame.end());
        if (quoted_len && quoted_len < q.size())
            q.resize(quoted_len);
        // From the server's address (this host's in the server role).
        const std::string from = x.server(), to = x.client();
        const Bytes f = Packet().eth().ip(x.v6, from, to).icmp(x.v6 ? 1 : 3, code, q).build();
        // The ICMP comes back the way the answer would: into this host when it asked.
        pass(x, reverse, f);
    }
    Bytes send_query(Exchange& x, std::uint16_t id) {
        const Bytes f = x.frame(true, dns::query(id, "www.example.test"), x.client_seq);
        pass(x, true, f);
        return f;
    }
};

// Port, host, admin-prohibited (ICMP 3/13, 10), address/port/admin (ICMPv6 1/3/4/1): the query
// ends at once, unreachable, and the sweep has nothing left to count unanswered.
TEST_F(UnreachTest, UnreachableEndsTheQuery) {
    for (auto x : both_roles_both_families(kUdp)) {
        const std::vector<std::uint8_t> codes =
            x.v6 ? std::vector<std::uint8_t>{1, 3, 4} : std::vector<std::uint8_t>{1, 3, 10, 13};
        for (std::uint8_t code : codes) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x) + " code " + std::to_string(code));
            const Bytes qf = send_query(x, 0x9201);
            unreach(x, qf, code);
            const auto c = stats(x);
            EXPECT_EQ(c.queries, 1u);
            EXPECT_EQ(c.unreachable, 1u);
            EXPECT_EQ(responses(c), 0u);
            EXPECT_EQ(sweep_all().expired_total, 0u);
            // A second copy of the ICMP: the query is over, nothing more.
            unreach(x, qf, code);
            EXPECT_EQ(stats(x).unreachable, 1u);
            // The other role's counters do not move.
            EXPECT_EQ(server(x.server(), x.role ^ 1, kUdp).unreachable, 0u);
        }
    }
}

// What must not end a query: an ICMP going the query's own way, one quoting another id, one
// quoting only 8 bytes after the IP header (no id: counted), ICMPv4 fragmentation needed.
TEST_F(UnreachTest, UnmatchedUnreachableLeavesTheQueryInFlight) {
    for (auto x : both_roles_both_families(kUdp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        const Bytes qf = send_query(x, 0x9202);
        unreach(x, qf, x.v6 ? 4 : 3, 0, true); // same direction as the query
        const Bytes other = x.frame(true, dns::query(0x9203, "www.example.test"), 0);
        unreach(x, other, x.v6 ? 4 : 3); // another id
        const std::size_t ip = x.v6 ? 40 : 20;
        unreach(x, qf, x.v6 ? 4 : 3, ip + 8); // RFC 792's minimum quote
        EXPECT_EQ(counter(MXS_C_DNS_UNREACH_NOID), 1u);
        if (!x.v6)
            unreach(x, qf, 4);  // fragmentation needed (RFC 1191)
        Bytes as_response = qf; // the same id, but the quoted message is a response (QR=1)
        as_response[14 + ip + 8 + 2] |= 0x80;
        unreach(x, as_response, x.v6 ? 4 : 3);
        if (!x.v6) {
            Bytes later_fragment = qf; // a quoted non-first fragment: no UDP header in it
            later_fragment[14 + 7] = 0x10;
            unreach(x, later_fragment, 3);
        }
        EXPECT_EQ(stats(x).unreachable, 0u);
        EXPECT_EQ(sweep_all().expired_total, 1u); // still in flight until the timeout
    }
}

constexpr std::uint8_t kHop = 0, kRouting = 43, kFragment = 44, kAH = 51, kDstOpts = 60;

// A query whose IPv6 header is followed by extension headers, answered by an ICMPv6 destination
// unreachable quoting it whole: the quote's chain is walked as the query's own was, and the
// query ends unreachable. Every kind alone (AH: 24 bytes, RFC 4302's length rule), and a chain
// of six (the walk's bound).
TEST_F(UnreachTest, QuotedExtensionHeadersAreWalked) {
    const std::vector<std::vector<std::pair<std::uint8_t, std::size_t>>> chains = {
        {{kHop, 8}},
        {{kDstOpts, 16}},
        {{kRouting, 24}},
        {{kFragment, 8}}, // a first fragment: offset 0
        {{kAH, 24}},
        {{kHop, 8}, {kDstOpts, 8}, {kRouting, 16}, {kAH, 24}, {kFragment, 8}, {kDstOpts, 8}},
    };
    for (auto x : both_roles_both_families(kUdp)) {
        if (!x.v6)
            continue;
        for (const auto& chain : chains) {
            sensor_->clear_maps();
            x.ext = chain;
            SCOPED_TRACE(describe(x) + " behind " + std::to_string(chain.size()) +
                         " headers, first " + std::to_string(chain[0].first));
            const Bytes qf = send_query(x, 0x9501);
            EXPECT_EQ(stats(x).queries, 1u);
            unreach(x, qf, 4); // port unreachable
            const auto c = stats(x);
            EXPECT_EQ(c.unreachable, 1u);
            EXPECT_EQ(responses(c), 0u);
            EXPECT_EQ(sweep_all().expired_total, 0u);
            EXPECT_EQ(counter(MXS_C_IP6_EXT), 0u);
        }
    }
}

// What a quoted chain must not match: a quote cut inside the chain, a quoted non-first
// fragment (no UDP header behind it), a chain of seven (too many to walk). The IPv4 counterpart
// (a query with IP options, quoted by ICMP) ends its query: the quote's IHL is followed.
TEST_F(UnreachTest, QuotedChainsThatDoNotMatch) {
    for (auto x : both_roles_both_families(kUdp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        if (!x.v6) {
            Packet p;
            p.eth().ipv4(x.client(), x.server()).ipv4_options({0x94, 0x04, 0, 0});
            const Bytes qf =
                p.udp(x.client_port, 53).payload(dns::query(0x9601, "www.example.test")).build();
            x.client_frames_leave() ? egress(qf) : ingress(qf);
            unreach(x, qf, 3);
            EXPECT_EQ(stats(x).unreachable, 1u);
            continue;
        }
        x.ext = {{kHop, 8}, {kAH, 24}};
        const Bytes qf = send_query(x, 0x9602);
        unreach(x, qf, 4, 40 + 8 + 12); // cut inside the AH
        Packet p;                       // the same query as a non-first fragment
        p.eth().ipv6(x.client(), x.server()).ipv6_ext(kHop, 8).ipv6_frag(2, false);
        unreach(x, p.udp(x.client_port, 53).payload(dns::query(0x9602, "www.example.test")).build(),
                4);
        Packet seven;
        seven.eth().ipv6(x.client(), x.server());
        for (int i = 0; i < 7; ++i)
            seven.ipv6_ext(i % 2 ? kAH : kDstOpts, i % 2 ? 12 : 8);
        unreach(
            x, seven.udp(x.client_port, 53).payload(dns::query(0x9602, "www.example.test")).build(),
            4);
        EXPECT_EQ(stats(x).unreachable, 0u);
        EXPECT_EQ(counter(MXS_C_IP6_EXT), 0u); // quotes are not the sensor's own parse errors
        EXPECT_EQ(sweep_all().expired_total, 1u);
    }
}

// DNS over TCP: an ICMP unreachable quoting a segment that carries a query (its length and id
// in the quote) ends nothing. For an established connection it is a soft error (RFC 1122
// §4.2.3.9, RFC 5461 §4): the client's TCP retransmits and the answer may still come, which
// then still pairs; the query ends by its answer or its timeout.
TEST_F(UnreachTest, TcpQueryIsNotEndedByUnreachable) {
    for (auto x : both_roles_both_families(kTcp)) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        const Bytes stream = dns::tcp_stream({dns::query(0x9701, "tcp.example.test")});
        const Bytes qf = x.frame(true, stream, x.client_seq);
        x.client_seq += static_cast<std::uint32_t>(stream.size());
        x.client_frames_leave() ? egress(qf) : ingress(qf);
        unreach(x, qf, x.v6 ? 4 : 3);
        unreach(x, qf, x.v6 ? 3 : 1); // address / host unreachable
        auto c = stats(x);
        EXPECT_EQ(c.queries, 1u);
        EXPECT_EQ(c.unreachable, 0u);
        answer(x, dns::response(0x9701, "tcp.example.test"));
        c = stats(x);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], 1u);
        EXPECT_EQ(c.latency.count(), 1u);
        EXPECT_EQ(smtp(x.server(), x.role).outcomes[MXS_SMTP_UNREACHABLE], 0u);
    }
}

} // namespace
} // namespace dns_late_unreach_test
} // namespace mxs::test
