// The labels of exported per-server series: bounded `server` labels (the busiest servers keep
// their own, the rest are summed as "other" for good), role and transport names, and an order
// of raw kernel keys for maps.
#pragma once

#include "kernel/kernel_types.h"

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace mxs {

const char* role_name(std::uint8_t role);   // client | server
const char* proto_name(std::uint8_t proto); // udp | tcp

inline constexpr const char* kOtherServer = "other"; // the label of the servers beyond the limit

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

} // namespace mxs
