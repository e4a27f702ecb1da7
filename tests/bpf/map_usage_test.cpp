// mxsense_sensor_map_entries / _capacity of the maps no sweep walks: dns_late and
// dns_late_server (queries the sweep expired, per role), tcp_streams (DNS-over-TCP streams whose
// next message start is remembered) and tcp_streams_held (held message starts), against the
// entries the packets put in, rendered as the agent exports them.
#include "dns_exchange.h"
#include "views/metrics.h"

#include <fmt/format.h>

namespace mxs::test {
namespace {

class MapUsageTest : public ExchangeTest {};

TEST_F(MapUsageTest, CountedMapsEqualTheEntriesThePacketsMade) {
    SensorConfig cfg;
    cfg.late_map_entries = 512;
    cfg.tcp_stream_map_entries = 256;
    load(cfg);
    constexpr unsigned kClient = 5, kServer = 3, kRunOn = 4, kHeld = 2;
    std::vector<Exchange> mine;
    for (unsigned i = 0; i < kClient + kServer; ++i) {
        Exchange x;
        x.role = i < kClient ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER;
        x.v6 = (i % 2) != 0;
        x.client_port = static_cast<std::uint16_t>(30000 + i);
        query(x, dns::query(static_cast<std::uint16_t>(0x8100 + i), "late.example.test"));
        mine.push_back(x);
    }
    // Swept unanswered: one record per query, in its role's map.
    EXPECT_EQ(sensor_->sweep(monotonic_ns() + 10'000'000'000ull, 1).expired_total,
              kClient + kServer);
    // A late answer takes its record.
    answer(mine[0], dns::response(0x8100, "late.example.test"));
    ASSERT_EQ(counter(MXS_C_LATE_RESPONSE), 1u);

    // TCP queries longer than their segment (header and question in it): the stream's next
    // message start is remembered; queries cut inside the qname: their start is held.
    dns::Message longer{0, 0x0100, 1, dns::name("tcp.example.test"), dns::kA, 1, Bytes(100, 0)};
    for (unsigned i = 0; i < kRunOn + kHeld; ++i) {
        Exchange t;
        t.proto = kTcp;
        t.v6 = (i % 2) != 0;
        t.client_port = static_cast<std::uint16_t>(31000 + i);
        longer.id = static_cast<std::uint16_t>(0x8200 + i);
        const Bytes stream = dns::tcp_stream({longer.bytes()});
        const std::size_t cut = i < kRunOn ? 2 + 12 + 18 + 4 + 10 : 2 + 12 + 5;
        send_raw(t, true, Bytes(stream.begin(), stream.begin() + cut));
    }
    ASSERT_EQ(counter(MXS_C_DNS_TCP_HELD), kHeld);

    const auto usage = sensor_->map_usage();
    const std::map<std::string, MapUsage> want = {
        {"dns_late", {kClient - 1, 512}},
        {"dns_late_server", {kServer, 512}},
        {"tcp_streams", {kRunOn, 256}},
        {"tcp_streams_held", {kHeld, 256}},
    };
    ASSERT_EQ(usage.size(), want.size());
    for (const auto& [name, u] : want) {
        SCOPED_TRACE(name);
        ASSERT_EQ(usage.count(name), 1u);
        EXPECT_EQ(usage.at(name).entries, u.entries);
        EXPECT_EQ(usage.at(name).capacity, u.capacity);
    }

    Snapshot snap;
    snap.sensor.counted_maps = usage;
    const auto text = render_metrics(snap, MetricsOptions{{0.001}});
    for (const auto& [name, u] : want)
        for (const auto& line :
             {fmt::format("mxsense_sensor_map_entries{{map=\"{}\"}} {}", name, u.entries),
              fmt::format("mxsense_sensor_map_capacity{{map=\"{}\"}} {}", name, u.capacity)})
            EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n---\n" << text;
}

} // namespace
} // namespace mxs::test
