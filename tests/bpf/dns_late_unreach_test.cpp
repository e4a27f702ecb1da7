// Issue 11 items 2 and 3: an answer after the sweep is late (the sweep counted its query
// unanswered), never unsolicited; an ICMP/ICMPv6 destination unreachable quoting a query in
// flight ends it as unreachable, not unanswered. Both roles, IPv4 and IPv6.
#include "dns_exchange.h"

namespace mxs::test {
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

} // namespace
} // namespace mxs::test
