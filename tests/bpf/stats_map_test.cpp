// Per-server statistics maps under bursts of new servers (issue 10 item 5): every new server
// gets its entry while there is room, and `map_full` counts exactly the servers past capacity.
#include "bpf_fixture.h"

#include <cstdio>

namespace mxs::test {
namespace {

constexpr std::uint8_t SYN = 0x02, ACK = 0x10;

// The i-th server address: 198.18.(i / 250).(i % 250 + 1), or fd00::1:i.
std::string server_addr(unsigned i, bool v6) {
    if (v6)
        return "fd00::1:" + std::to_string(i);
    return "198.18." + std::to_string(i / 250 + 1) + "." + std::to_string(i % 250 + 1);
}

Packet ip(bool v6, const std::string& src, const std::string& dst) {
    return Packet().eth().ip(v6, src, dst);
}

class StatsMapTest : public SensorFixture {
  protected:
    // One query from this host to each of n new servers (client role; half IPv6), or, with
    // server_role, one query arriving for each of n local addresses.
    void dns_burst(unsigned n, bool server_role) {
        for (unsigned i = 0; i < n; ++i) {
            const bool v6 = i % 2;
            const std::string host = v6 ? "fd00::99" : "198.18.200.1";
            const std::string srv = server_addr(i, v6);
            const auto q = dns::query(static_cast<std::uint16_t>(i), "burst.example.test");
            if (server_role)
                ingress(ip(v6, host, srv).udp(40000, 53).payload(q).build());
            else
                egress(ip(v6, host, srv).udp(40000, 53).payload(q).build());
        }
    }
    // A SYN and its SYN-ACK with each of n new SMTP servers.
    void smtp_burst(unsigned n, bool server_role) {
        for (unsigned i = 0; i < n; ++i) {
            const bool v6 = i % 2;
            const std::string host = v6 ? "fd00::99" : "198.18.200.1";
            const std::string srv = server_addr(i, v6);
            const auto syn = ip(v6, host, srv).tcp(41000, 25, SYN, 1000).build();
            const auto synack = ip(v6, srv, host).tcp(25, 41000, SYN | ACK, 5000, 1001).build();
            if (server_role) {
                ingress(syn);
                egress(synack);
            } else {
                egress(syn);
                ingress(synack);
            }
        }
    }
    std::uint64_t dns_queries() {
        std::uint64_t n = 0;
        for (const auto& [k, c] : sensor_->read_dns_stats())
            n += c.queries;
        return n;
    }
    std::uint64_t smtp_established() {
        std::uint64_t n = 0;
        for (const auto& [k, c] : sensor_->read_smtp_stats())
            n += c.outcomes[MXS_SMTP_ESTABLISHED] + c.connect.count();
        return n;
    }
};

TEST_F(StatsMapTest, ThousandNewDnsServersAllGetEntries) {
    SensorConfig cfg;
    cfg.stats_map_entries = 4096;
    load(cfg);
    for (bool server_role : {false, true}) {
        sensor_->clear_maps();
        dns_burst(1000, server_role);
        EXPECT_EQ(servers(), 1000u) << "server_role " << server_role;
        EXPECT_EQ(dns_queries(), 1000u);
        EXPECT_EQ(counter(MXS_C_STATS_FULL), 0u);
        EXPECT_EQ(counter(MXS_C_STATS_INSERT_FAIL), 0u);
    }
}

TEST_F(StatsMapTest, DnsMapFullCountsExactlyTheServersPastCapacity) {
    SensorConfig cfg;
    cfg.stats_map_entries = 64;
    load(cfg);
    dns_burst(64 + 10, false);
    EXPECT_EQ(servers(), 64u);
    EXPECT_EQ(dns_queries(), 64u);
    EXPECT_EQ(counter(MXS_C_STATS_FULL), 10u);
    EXPECT_EQ(counter(MXS_C_STATS_INSERT_FAIL), 0u);
}

// Queries to many addresses of this host (a routed IPv6 prefix; server role) take at most half
// the slots: the servers this host asks (client role) still get theirs.
TEST_F(StatsMapTest, ServerRoleTakesAtMostHalfTheSlots) {
    SensorConfig cfg;
    cfg.stats_map_entries = 64;
    load(cfg);
    dns_burst(100, true);
    EXPECT_EQ(servers(), 32u);
    EXPECT_EQ(counter(MXS_C_STATS_SRV_FULL), 68u);
    EXPECT_EQ(counter(MXS_C_STATS_FULL), 0u);
    dns_burst(40, false);
    EXPECT_EQ(servers(), 64u);
    EXPECT_EQ(dns_queries(), 64u);
    EXPECT_EQ(counter(MXS_C_STATS_FULL), 8u);
    EXPECT_EQ(counter(MXS_C_STATS_INSERT_FAIL), 0u);
}

// A query whose server got no slot is not counted, and neither is its end: its answer, its
// timeout, its ICMP unreachable. (Booking only the timeout made a server never seen answering
// look 100% failed: a false DOWN.)
TEST_F(StatsMapTest, QueryWithoutSlotCountsNothingAtItsEnd) {
    SensorConfig cfg;
    cfg.stats_map_entries = 2;
    load(cfg);
    const std::string host = "198.18.200.1";
    auto query = [&](unsigned srv, std::uint16_t id) {
        egress(ip(false, host, server_addr(srv, false))
                   .udp(40002, 53)
                   .payload(dns::query(id, "q.example.test"))
                   .build());
    };
    query(0, 1);
    query(1, 2);
    query(2, 3); // no slot left
    query(2, 4);
    EXPECT_EQ(counter(MXS_C_STATS_FULL), 2u);
    ingress(ip(false, server_addr(2, false), host)
                .udp(53, 40002)
                .payload(dns::response(3, "q.example.test"))
                .build());
    const auto r = sweep_all();
    EXPECT_EQ(r.expired_total, 3u); // servers 0 and 1, and server 2's unanswered query
    EXPECT_EQ(r.expired.size(), 2u);
    const auto stats = sensor_->read_dns_stats();
    EXPECT_EQ(stats.size(), 2u);
    for (const auto& [k, c] : stats) {
        EXPECT_EQ(c.queries, 1u);
        EXPECT_EQ(responses(c), 0u);
    }
}

TEST_F(StatsMapTest, DnsLatencyReachesTheSharedHistogram) {
    SensorConfig cfg;
    cfg.stats_map_entries = 4096;
    load(cfg);
    for (unsigned i = 0; i < 300; ++i) {
        const std::string srv = server_addr(i, false);
        const auto id = static_cast<std::uint16_t>(i);
        egress(ip(false, "198.18.200.1", srv)
                   .udp(40001, 53)
                   .payload(dns::query(id, "h.example.test"))
                   .build());
        ingress(ip(false, srv, "198.18.200.1")
                    .udp(53, 40001)
                    .payload(dns::response(id, "h.example.test"))
                    .build());
    }
    std::uint64_t samples = 0, answers = 0;
    for (const auto& [k, c] : sensor_->read_dns_stats()) {
        samples += c.latency.count();
        answers += responses(c);
        EXPECT_EQ(c.latency.count(), 1u) << addr_to_string(k.addr);
    }
    EXPECT_EQ(samples, 300u);
    EXPECT_EQ(answers, 300u);
}

TEST_F(StatsMapTest, ThousandNewSmtpServersAllGetEntries) {
    SensorConfig cfg;
    cfg.smtp_stats_map_entries = 4096;
    load(cfg);
    for (bool server_role : {false, true}) {
        sensor_->clear_maps();
        smtp_burst(1000, server_role);
        EXPECT_EQ(sensor_->read_smtp_stats().size(), 1000u) << "server_role " << server_role;
        EXPECT_EQ(smtp_established(), 2000u); // outcome and connect latency of each
        EXPECT_EQ(counter(MXS_C_SMTP_STATS_FULL), 0u);
        EXPECT_EQ(counter(MXS_C_SMTP_INSERT_FAIL), 0u);
    }
}

TEST_F(StatsMapTest, SmtpMapFullCountsExactlyTheServersPastCapacity) {
    SensorConfig cfg;
    cfg.smtp_stats_map_entries = 32;
    load(cfg);
    smtp_burst(32 + 7, false);
    EXPECT_EQ(sensor_->read_smtp_stats().size(), 32u);
    EXPECT_EQ(smtp_established(), 64u);
    EXPECT_EQ(counter(MXS_C_SMTP_STATS_FULL), 7u);
    EXPECT_EQ(counter(MXS_C_SMTP_INSERT_FAIL), 0u);
}

// The kernel memory of every map at the default sizes, printed for the README. The per-server
// values are preallocated, so this is what the sensor holds from the start.
TEST_F(StatsMapTest, MemoryAtDefaults) {
    std::uint64_t total = 0;
    for (const auto& [name, bytes] : sensor_->map_memory()) {
        std::printf("map_memory %-16s %10llu\n", name.c_str(),
                    static_cast<unsigned long long>(bytes));
        total += bytes;
    }
    std::printf("map_memory %-16s %10llu\n", "total", static_cast<unsigned long long>(total));
    EXPECT_GT(total, 0u);
}

} // namespace
} // namespace mxs::test
