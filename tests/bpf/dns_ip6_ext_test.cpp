// The IPv6 extension-header walk (issue 11 item 4): 0 to 6 headers parse, 7 are too many
// (counted, nothing tracked), whatever the kinds in the chain, AH included: AH's length is
// (Payload Len + 2) * 4 bytes (RFC 4302 §2.2), not (Hdr Ext Len + 1) * 8 as the others' (RFC
// 8200 §4.3). Both roles, UDP and TCP; expected values are the exchanges sent.
#include "dns_exchange.h"

namespace mxs::test {
namespace dns_ip6_ext_test {
namespace {

constexpr std::uint8_t kHop = 0, kRouting = 43, kFragment = 44, kAH = 51, kDstOpts = 60;
using Chain = std::vector<std::pair<std::uint8_t, std::size_t>>;

class Ip6ExtTest : public ExchangeTest {
  protected:
    // One query and its answer, both behind the chain; the counters the sensor kept.
    DnsCounters exchange(Exchange& x, std::uint16_t id) {
        query(x, dns::query(id, "ext.example.test"));
        answer(x, dns::response(id, "ext.example.test"));
        return stats(x);
    }
};

// The first n headers of each chain. AH is 24 bytes (Payload Len 4: read by the other
// headers' rule it would be 40 and run past the chain), or 12 (Payload Len 1: 16 by the
// other rule).
const std::vector<Chain> kChains = {
    {{kHop, 8}, {kAH, 24}, {kRouting, 16}, {kFragment, 8}, {kAH, 12}, {kDstOpts, 8}, {kDstOpts, 8}},
    {{kAH, 24}, {kAH, 24}, {kAH, 24}, {kAH, 24}, {kAH, 24}, {kAH, 24}, {kAH, 24}},
    {{kAH, 12}, {kAH, 12}, {kAH, 12}, {kAH, 12}, {kAH, 12}, {kAH, 12}, {kAH, 12}},
    {{kDstOpts, 8},
     {kRouting, 24},
     {kDstOpts, 16},
     {kRouting, 8},
     {kDstOpts, 8},
     {kAH, 24},
     {kAH, 24}},
};

TEST_F(Ip6ExtTest, ZeroToSixHeadersParseSevenAreTooMany) {
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto)) {
            if (!x.v6)
                continue;
            for (std::size_t c = 0; c < kChains.size(); ++c)
                for (std::size_t n = 0; n <= 7; ++n) {
                    sensor_->clear_maps();
                    x.ext = Chain(kChains[c].begin(), kChains[c].begin() + n);
                    SCOPED_TRACE(describe(x) + ", chain " + std::to_string(c) + ", " +
                                 std::to_string(n) + " headers");
                    const auto s = exchange(x, static_cast<std::uint16_t>(0x7100 + n));
                    if (n <= 6) {
                        EXPECT_EQ(s.queries, 1u);
                        EXPECT_EQ(s.responses[MXS_RCODE_NOERROR], 1u);
                        EXPECT_EQ(s.latency.count(), 1u);
                        EXPECT_EQ(counter(MXS_C_IP6_EXT), 0u);
                    } else {
                        EXPECT_EQ(servers(), 0u);
                        EXPECT_EQ(counter(MXS_C_IP6_EXT), 2u); // the query and its answer
                    }
                }
        }
}

} // namespace
} // namespace dns_ip6_ext_test
} // namespace mxs::test
