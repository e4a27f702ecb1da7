// Separate in-flight budgets per role (issue 10 item 8): a flood of spoofed queries to this host
// (server role) fills only the server role's map, is counted there, and cannot starve the
// tracking of the host's own queries (client role); nor the reverse.
#include "dns_exchange.h"

namespace mxs::test {
namespace {

class BudgetTest : public ExchangeTest {
  protected:
    void SetUp() override {
        ExchangeTest::SetUp();
        if (IsSkipped())
            return;
        SensorConfig cfg;
        cfg.inflight_map_entries = kCapacity;
        cfg.inflight_server_map_entries = kCapacity;
        load(cfg);
    }
    // One bucket per role (8 slots): refused exactly when the table is full. (With more
    // buckets a query is refused when its two buckets are full, before the table is.)
    static constexpr unsigned kCapacity = MXS_FLIGHT_WAYS, kFlood = 200, kOwn = kCapacity;

    // kFlood queries from spoofed sources to this host's port 53 (they arrive: server role),
    // or from this host to random servers (they leave: client role).
    void flood(bool v6, std::uint8_t role) {
        for (unsigned i = 0; i < kFlood; ++i) {
            Exchange x;
            x.v6 = v6;
            x.role = role;
            x.client_port = static_cast<std::uint16_t>(1024 + i);
            query(x, dns::query(static_cast<std::uint16_t>(i), "flood.example.test"));
        }
    }
    // kOwn queries of the given role, each answered; returns the server's counters.
    DnsCounters own(bool v6, std::uint8_t role) {
        Exchange x;
        x.v6 = v6;
        x.role = role;
        x.client_port = 50000;
        for (unsigned i = 0; i < kOwn; ++i) {
            const auto id = static_cast<std::uint16_t>(0x9000 + i);
            query(x, dns::query(id, "own.example.test"));
            answer(x, dns::response(id, "own.example.test"));
        }
        return stats(x);
    }
};

TEST_F(BudgetTest, ServerRoleFloodLeavesClientQueriesMeasured) {
    for (bool v6 : {false, true}) {
        sensor_->clear_maps();
        SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
        flood(v6, MXS_ROLE_SERVER);
        EXPECT_EQ(counter(MXS_C_INFLIGHT_SRV_FULL), kFlood - kCapacity);
        EXPECT_EQ(counter(MXS_C_INFLIGHT_FULL), 0u);
        const auto c = own(v6, MXS_ROLE_CLIENT);
        EXPECT_EQ(c.queries, kOwn);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], kOwn);
        EXPECT_EQ(c.latency.count(), kOwn);
        EXPECT_EQ(c.unsolicited, 0u);
        EXPECT_EQ(counter(MXS_C_INFLIGHT_FULL), 0u);
        auto r = sensor_->sweep(monotonic_ns(), 60'000'000'000ull);
        EXPECT_EQ(r.remaining_server, kCapacity);
        EXPECT_EQ(r.remaining_client, 0u);
        // The sweep expires both roles' queries.
        r = sweep_all();
        EXPECT_EQ(r.expired_total, kCapacity);
        EXPECT_EQ(r.remaining, 0u);
    }
}

TEST_F(BudgetTest, ClientRoleBurstLeavesServerRoleMeasured) {
    for (bool v6 : {false, true}) {
        sensor_->clear_maps();
        SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
        flood(v6, MXS_ROLE_CLIENT);
        EXPECT_EQ(counter(MXS_C_INFLIGHT_FULL), kFlood - kCapacity);
        const auto c = own(v6, MXS_ROLE_SERVER);
        EXPECT_EQ(c.queries, kOwn);
        EXPECT_EQ(c.responses[MXS_RCODE_NOERROR], kOwn);
        EXPECT_EQ(c.latency.count(), kOwn);
        EXPECT_EQ(counter(MXS_C_INFLIGHT_SRV_FULL), 0u);
        const auto r = sweep_all();
        EXPECT_EQ(r.expired_total, kCapacity);
    }
}

} // namespace
} // namespace mxs::test
