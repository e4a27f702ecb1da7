#include "counters/labels.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mxs {

const char* role_name(std::uint8_t role) {
    return role == MXS_ROLE_SERVER ? "server" : "client";
}

const char* proto_name(std::uint8_t proto) {
    return proto == 6 ? "tcp" : "udp";
}

bool ServerKeyLess::operator()(const mxs_server_key& a, const mxs_server_key& b) const {
    return std::memcmp(&a, &b, sizeof(a)) < 0;
}

void ServerLabeler::offer(const std::vector<std::string>& busiest_first) {
    for (const auto& addr : busiest_first) {
        if (labelled_.count(addr) || other_.count(addr))
            continue;
        if (labelled_.size() < limit_)
            labelled_.insert(addr);
        else
            other_.insert(addr);
    }
}

void ServerLabeler::offer_by_activity(
    const std::unordered_map<std::string, std::uint64_t>& activity) {
    std::vector<std::pair<std::string, std::uint64_t>> order(activity.begin(), activity.end());
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<std::string> names;
    for (auto& [name, n] : order)
        names.push_back(name);
    offer(names);
}

std::string ServerLabeler::label(const std::string& addr) const {
    return labelled_.count(addr) ? addr : kOtherServer;
}

} // namespace mxs
