// Per-server DNS counters in user space: kernel totals summed over CPUs, the
// agent's own unanswered counts, and bounded `server` labels.
#pragma once

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

inline constexpr const char* kOtherServer = "other";

const char* role_name(std::uint8_t role);
const char* proto_name(std::uint8_t proto);
const char* rcode_name(std::uint32_t slot);

// Raw kernel key, ordered, for use in std::map.
struct ServerKeyLess {
    bool operator()(const mxs_server_key& a, const mxs_server_key& b) const;
};

// Decides once per server address whether it gets its own label: the first
// `limit` addresses, busiest first within a refresh, keep one for good; the rest
// are summed under "other" for good, so no exported counter ever goes back.
class ServerLabeler {
  public:
    explicit ServerLabeler(std::size_t limit) : limit_(limit) {}
    // Offer the addresses seen in one refresh, busiest first.
    void offer(const std::vector<std::string>& busiest_first);
    // Offer addresses with their activity (queries, connections): busiest first.
    void offer_by_activity(const std::unordered_map<std::string, std::uint64_t>& activity);
    std::string label(const std::string& addr) const;
    std::size_t labelled() const { return labelled_.size(); }

  private:
    std::size_t limit_;
    std::set<std::string> labelled_;
    std::set<std::string> other_;
};

class DnsAggregator {
  public:
    explicit DnsAggregator(std::size_t max_labelled) : labeler_(max_labelled) {}

    // The kernel's absolute totals (its map entries are never deleted).
    void set_kernel_totals(std::map<mxs_server_key, DnsCounters, ServerKeyLess> totals);
    void add_unanswered(const mxs_server_key& key, std::uint64_t n);
    std::map<SeriesKey, DnsCounters> series() const;
    // Totals per server address for this host as a client (verdict evidence).
    std::map<std::string, DnsCounters> client_by_address() const;
    // The same per (address, transport "udp" | "tcp"), on server port `port` only (the port
    // the targets are judged and probed on: dns.ports' first); other DNS ports are counted in
    // series() but are no verdict evidence (see SmtpAggregator::client_by_address).
    std::map<std::pair<std::string, std::string>, DnsCounters>
    client_by_address_proto(std::uint16_t port) const;
    // Addresses that must keep their own label (configured targets).
    void reserve_labels(const std::vector<std::string>& addrs) { labeler_.offer(addrs); }

  private:
    ServerLabeler labeler_;
    std::map<mxs_server_key, DnsCounters, ServerKeyLess> kernel_;
    std::map<mxs_server_key, std::uint64_t, ServerKeyLess> unanswered_;
};

} // namespace mxs
