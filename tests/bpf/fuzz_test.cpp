// The fuzz test (issue 12): a million random and mutated frames through both programs
// (tests/bpf/fuzz.h lists the families and mutations), every frame passed unchanged, the maps
// accounting for every query and connection after each round. The seed is printed; set
// MXS_FUZZ_SEED (and MXS_FUZZ_ROUND for one round) to reproduce a failure, MXS_FUZZ_FRAMES for
// another number of frames.
#include "bpf_fixture.h"
#include "fuzz.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace mxs::fuzz {
namespace {

// The shared load of tests/bpf/bpf_fixture.h (fuzz::run empties the maps before each round).
class FuzzTest : public mxs::test::SensorFixture {};

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v ? std::strtoull(v, nullptr, 0) : fallback;
}

TEST_F(FuzzTest, MillionFramesKeepEveryInvariant) {
    Options o;
    o.seed = seed_from_env();
    o.frames = env_u64("MXS_FUZZ_FRAMES", 1'000'000);
    o.only_round = static_cast<std::int64_t>(env_u64("MXS_FUZZ_ROUND", ~0ull));
    // Printed first, so that even a crash leaves the seed behind.
    std::cout << "fuzz seed " << o.seed << " (MXS_FUZZ_SEED=" << o.seed << ")" << std::endl;
    RecordProperty("seed", std::to_string(o.seed));
    const Report r = fuzz::run(*sensor_, o);
    std::cout << r.summary();
    EXPECT_TRUE(r.ok()) << r.violations.size()
                        << " invariant violations (first: " << (r.ok() ? "" : r.violations.front())
                        << ")";
    if (o.only_round >= 0 || o.frames < 1'000'000)
        return;
    EXPECT_EQ(r.frames, o.frames);
    // The frames reach the deep paths, not only the parse errors: every family's work shows
    // in the maps and counters.
    EXPECT_GT(r.dns_responses, 10'000u);
    EXPECT_GT(r.dns_unreachable, 0u);
    EXPECT_GT(r.dns_expired, 0u);
    EXPECT_GT(r.dns_mismatched, 0u);
    EXPECT_GT(r.dns_unsolicited, 0u);
    EXPECT_GT(r.dns_retried, 0u);
    EXPECT_GT(r.dns_noq, 0u);
    EXPECT_GT(r.dns_rcode_other, 0u); // extended rcodes from OPT records
    EXPECT_GT(r.smtp_established, 1'000u);
    EXPECT_GT(r.smtp_refused, 0u);
    EXPECT_GT(r.smtp_unreachable, 0u);
    EXPECT_GT(r.smtp_timeouts, 0u);
    EXPECT_GT(r.smtp_greetings, 0u);
    EXPECT_GT(r.smtp_tls_greetings, 0u);
    EXPECT_GT(r.smtp_closed_before_greeting, 0u);
    EXPECT_GT(r.smtp_replies, 0u);
    EXPECT_GT(r.smtp_starttls, 0u);
    for (auto c : {MXS_C_ETH_TRUNC,           MXS_C_VLAN_DEPTH,      MXS_C_IP4_TRUNC,
                   MXS_C_IP6_TRUNC,           MXS_C_IP6_EXT,         MXS_C_L4_TRUNC,
                   MXS_C_DNS_SHORT,           MXS_C_DNS_QDCOUNT,     MXS_C_DNS_NAME,
                   MXS_C_DNS_TCP_MSGS,        MXS_C_FRAGMENTS,       MXS_C_FRAG_SKIPPED,
                   MXS_C_DUP_QUERY,           MXS_C_LATE_RESPONSE,   MXS_C_DNS_TCP_CONT,
                   MXS_C_UNSOLICITED_UNKNOWN, MXS_C_SMTP_UNPARSED,   MXS_C_SMTP_SYN_RETRANS,
                   MXS_C_DNS_TCP_HELD,        MXS_C_DNS_TCP_LOST,    MXS_C_DNS_EDNS_UNREAD,
                   MXS_C_DNS_SAME_DIR,        MXS_C_DNS_UNREACH_NOID})
        EXPECT_GT(r.counters[c], 0u) << counter_name(c);
}

// Small maps fill up: queries refused by full in-flight buckets, flows by a full flow map,
// servers by full per-server maps, LRU maps evicting. Full counters appear only when the map is
// full, and every count that was taken still adds up.
TEST_F(FuzzTest, SmallMapsFillAndStayAccounted) {
    SensorConfig tracking; // in-flight, flows and LRU maps small, per-server maps roomy
    tracking.inflight_map_entries = 64;
    tracking.inflight_server_map_entries = 64;
    tracking.late_map_entries = 32;
    tracking.tcp_stream_map_entries = 16;
    tracking.smtp_flow_map_entries = 64;
    SensorConfig servers; // few servers
    servers.stats_map_entries = 16;
    servers.smtp_stats_map_entries = 8;
    for (const bool few_servers : {false, true}) {
        const SensorConfig& cfg = few_servers ? servers : tracking;
        const char* name = few_servers ? "per-server maps" : "tracking maps";
        SCOPED_TRACE(name);
        auto s = Sensor::load(cfg);
        ASSERT_TRUE(s) << s.error();
        Options o;
        o.seed = seed_from_env();
        o.frames = env_u64("MXS_FUZZ_SMALL_FRAMES", 100'000);
        std::cout << name << ": fuzz seed " << o.seed << std::endl;
        const Report r = fuzz::run(**s, o);
        std::cout << r.summary();
        EXPECT_TRUE(r.ok()) << r.violations.size() << " invariant violations (first: "
                            << (r.ok() ? "" : r.violations.front()) << ")";
        if (o.frames < 100'000)
            continue;
        if (!few_servers) {
            EXPECT_GT(r.counters[MXS_C_INFLIGHT_FULL], 0u);
            EXPECT_GT(r.counters[MXS_C_INFLIGHT_SRV_FULL], 0u);
            EXPECT_GT(r.counters[MXS_C_SMTP_FLOWS_FULL], 0u);
        } else {
            EXPECT_GT(r.counters[MXS_C_STATS_FULL], 0u);
            EXPECT_GT(r.counters[MXS_C_SMTP_STATS_FULL], 0u);
        }
    }
}

// The round checks are live: a fault planted in the maps after a round's frames is found.
class PlantedFaultTest : public FuzzTest {
  protected:
    static constexpr std::uint64_t kSeed = 12;
    Report run_with(std::function<void(const MapFds&)> plant) {
        Options o;
        o.seed = kSeed;
        o.frames = 20'000;
        o.round_frames = 10'000;
        if (plant)
            o.before_checks = [plant](std::uint64_t round, const MapFds& m) {
                if (round == 1)
                    plant(m);
            };
        return fuzz::run(*sensor_, o);
    }
    // A client-role server with counters (and its per-CPU values).
    static bool client_server(const MapFds& m, mxs_server_key& k) {
        const int fd = m.fd("mxs_dns_servers");
        mxs_server_key next{};
        const void* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
            k = next;
            prev = &k;
            if (k.role == MXS_ROLE_CLIENT)
                return true;
        }
        return false;
    }
    static bool contains(const Report& r, const std::string& what) {
        for (const auto& v : r.violations)
            if (v.find(what) != std::string::npos)
                return true;
        return false;
    }
};

TEST_F(PlantedFaultTest, ControlRunIsClean) {
    const Report r = run_with(nullptr);
    EXPECT_TRUE(r.ok()) << r.summary();
    EXPECT_EQ(r.frames, 20'000u);
}

// A query in flight that was never counted (a leaked or doubled entry).
TEST_F(PlantedFaultTest, UncountedQueryInFlightIsFound) {
    const Report r = run_with([](const MapFds& m) {
        mxs_server_key k{};
        ASSERT_TRUE(client_server(m, k));
        const auto slot = dns_slot(m, k);
        ASSERT_TRUE(slot);
        mxs_dns_bucket b{};
        const int fd = m.fd("mxs_dns_flight");
        const __u32 i = 0;
        ASSERT_EQ(bpf_map_lookup_elem(fd, &i, &b), 0);
        std::size_t w = 0;
        while (w < MXS_FLIGHT_WAYS && b.tag[w] != 0)
            ++w;
        ASSERT_LT(w, MXS_FLIGHT_WAYS);
        mxs_dns_slot& v = b.slot[w];
        std::memcpy(v.key.server, k.addr, 16);
        v.key.client[0] = 0xfd;
        v.key.client_port = 1;
        v.key.server_port = k.port;
        v.key.dns_id = 0xfffe;
        v.key.proto = k.proto;
        v.server_slot = static_cast<__u16>(*slot);
        v.dir = MXS_DIR_EGRESS;
        b.tag[w] = (std::uint64_t{1} << MXS_TAG_FP_SHIFT) | (monotonic_ns() & MXS_TAG_TS_MASK);
        ASSERT_EQ(bpf_map_update_elem(fd, &i, &b, BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "in flight")) << r.summary();
}

// More answers than queries for a server.
TEST_F(PlantedFaultTest, MoreAnswersThanQueriesIsFound) {
    const Report r = run_with([](const MapFds& m) {
        mxs_server_key k{};
        ASSERT_TRUE(client_server(m, k));
        const auto slot = dns_slot(m, k);
        ASSERT_TRUE(slot);
        const int fd = m.fd("mxs_dns_stats");
        std::vector<mxs_dns_stats> v(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        ASSERT_EQ(bpf_map_lookup_elem(fd, &*slot, v.data()), 0);
        std::uint64_t queries = 0;
        for (const auto& c : v)
            queries += c.queries;
        v[0].responses[MXS_RCODE_SERVFAIL] += queries + 1;
        ASSERT_EQ(bpf_map_update_elem(fd, &*slot, v.data(), BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "responses to")) << r.summary();
}

// An SMTP outcome with no SYN sent to that server.
TEST_F(PlantedFaultTest, OutcomeWithoutAttemptIsFound) {
    const Report r = run_with([](const MapFds& m) {
        const int fd = m.fd("mxs_smtp_stats");
        mxs_server_key k{};
        ASSERT_EQ(bpf_map_get_next_key(fd, nullptr, &k), 0);
        std::vector<mxs_smtp_stats> v(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        ASSERT_EQ(bpf_map_lookup_elem(fd, &k, v.data()), 0);
        v[0].outcomes[MXS_SMTP_REFUSED] += 1'000'000;
        ASSERT_EQ(bpf_map_update_elem(fd, &k, v.data(), BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "SYNs sent")) << r.summary();
}

// An attempt booked unreachable without an ICMP error quoting its SYN (forged evidence).
TEST_F(PlantedFaultTest, UnreachableWithoutQuoteIsFound) {
    const Report r = run_with([](const MapFds& m) {
        const int fd = m.fd("mxs_smtp_stats");
        mxs_server_key k{};
        ASSERT_EQ(bpf_map_get_next_key(fd, nullptr, &k), 0);
        std::vector<mxs_smtp_stats> v(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        ASSERT_EQ(bpf_map_lookup_elem(fd, &k, v.data()), 0);
        v[0].outcomes[MXS_SMTP_UNREACHABLE] += 1'000;
        ASSERT_EQ(bpf_map_update_elem(fd, &k, v.data(), BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "ICMP errors quoted a SYN")) << r.summary();
}

// A latency sample longer than the whole round (a timestamp from elsewhere).
TEST_F(PlantedFaultTest, LatencyLongerThanTheRoundIsFound) {
    const Report r = run_with([](const MapFds& m) {
        mxs_server_key k{};
        ASSERT_TRUE(client_server(m, k));
        const auto slot = dns_slot(m, k);
        ASSERT_TRUE(slot);
        const int fd = m.fd("mxs_dns_hist");
        auto h = std::make_unique<mxs_dns_hist>();
        ASSERT_EQ(bpf_map_lookup_elem(fd, &*slot, h.get()), 0);
        h->hist[MXS_HIST_BUCKETS - 1] += 1; // 68.7 s and more
        ASSERT_EQ(bpf_map_update_elem(fd, &*slot, h.get(), BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "longer than the round")) << r.summary();
}

// A query refused by full buckets that was tracked after all (a refusal counted wrongly).
TEST_F(PlantedFaultTest, BucketsFullMiscountIsFound) {
    const Report r = run_with([](const MapFds& m) {
        const int fd = m.fd("mxs_counters");
        const __u32 key = MXS_C_INFLIGHT_FULL;
        std::vector<std::uint64_t> v(static_cast<std::size_t>(libbpf_num_possible_cpus()));
        ASSERT_EQ(bpf_map_lookup_elem(fd, &key, v.data()), 0);
        v[0] += 1;
        ASSERT_EQ(bpf_map_update_elem(fd, &key, v.data(), BPF_EXIST), 0);
    });
    EXPECT_TRUE(contains(r, "refused by full buckets")) << r.summary();
}

} // namespace
} // namespace mxs::fuzz
