// Per-server DNS counters: what the kernel counts per server (struct mxs_dns_stats and its
// histogram) with the agent's unanswered counts, and their aggregation (aggregator.h).
#pragma once

#include "counters/aggregator.h"
#include "counters/histogram.h"
#include "kernel/kernel_types.h"

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace mxs {

struct DnsCounters {
    std::uint64_t queries = 0;
    std::array<std::uint64_t, MXS_RCODE_MAX> responses{};
    std::uint64_t truncated = 0;
    std::uint64_t unsolicited = 0;
    std::uint64_t mismatched = 0;
    // Responses paired by endpoints and id alone: no question to compare on one side.
    std::uint64_t matched_without_question = 0;
    // Responses to queries retransmitted while in flight: in `responses`, but no latency
    // sample (the time since the first copy includes the client's retry timer).
    std::uint64_t retried = 0;
    std::uint64_t unanswered = 0;
    // Queries ended by an ICMP/ICMPv6 destination unreachable (not also unanswered).
    std::uint64_t unreachable = 0;
    FineHistogram latency;

    // Kernel values: the per-CPU counters of one CPU, or the shared histogram.
    void add(const mxs_dns_stats& k);
    void add(const mxs_dns_hist& k);
    void add(const DnsCounters& other);
};

// The labels of one exported series.
struct SeriesKey {
    std::string server;
    std::string role;  // client | server
    std::string proto; // udp | tcp
    auto operator<=>(const SeriesKey&) const = default;
};

const char* rcode_name(std::uint32_t slot);

struct DnsTraits {
    using Counters = DnsCounters;
    using SeriesKey = mxs::SeriesKey;
    static std::uint64_t activity(const DnsCounters& c) { return c.queries; }
    static void add_swept(DnsCounters& c, std::uint64_t n) { c.unanswered += n; }
    static SeriesKey series_key(std::string label, const mxs_server_key& k) {
        return {std::move(label), role_name(k.role), proto_name(k.proto)};
    }
};

// DNS per server, role and transport; the sweep's counts are unanswered queries.
using DnsAggregator = Aggregator<DnsTraits>;

} // namespace mxs
