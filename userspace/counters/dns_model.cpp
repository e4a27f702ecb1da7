#include "counters/dns_model.h"

#include "base/addr.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace mxs {

void DnsCounters::add(const mxs_dns_stats& k) {
    queries += k.queries;
    for (std::size_t i = 0; i < responses.size(); ++i)
        responses[i] += k.responses[i];
    truncated += k.truncated;
    unsolicited += k.unsolicited;
    mismatched += k.mismatched;
    matched_without_question += k.matched_without_question;
    retried += k.retried;
    unreachable += k.unreachable;
    latency.sum_ns += k.latency_sum_ns;
}

void DnsCounters::add(const mxs_dns_hist& k) {
    for (std::size_t i = 0; i < latency.counts.size(); ++i)
        latency.counts[i] += k.hist[i];
}

void DnsCounters::add(const DnsCounters& o) {
    queries += o.queries;
    for (std::size_t i = 0; i < responses.size(); ++i)
        responses[i] += o.responses[i];
    truncated += o.truncated;
    unsolicited += o.unsolicited;
    mismatched += o.mismatched;
    matched_without_question += o.matched_without_question;
    retried += o.retried;
    unanswered += o.unanswered;
    unreachable += o.unreachable;
    latency.add(o.latency);
}

const char* role_name(std::uint8_t role) {
    return role == MXS_ROLE_SERVER ? "server" : "client";
}

const char* proto_name(std::uint8_t proto) {
    return proto == 6 ? "tcp" : "udp";
}

const char* rcode_name(std::uint32_t slot) {
    static constexpr const char* names[MXS_RCODE_MAX] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "OTHER"};
    return slot < MXS_RCODE_MAX ? names[slot] : "OTHER";
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

void DnsAggregator::set_kernel_totals(std::map<mxs_server_key, DnsCounters, ServerKeyLess> totals) {
    kernel_ = std::move(totals);
    std::unordered_map<std::string, std::uint64_t> activity;
    for (const auto& [k, c] : kernel_)
        activity[addr_to_string(k.addr)] += c.queries;
    labeler_.offer_by_activity(activity);
}

void DnsAggregator::add_unanswered(const mxs_server_key& key, std::uint64_t n) {
    unanswered_[key] += n;
    labeler_.offer({addr_to_string(key.addr)});
}

std::map<std::string, DnsCounters> DnsAggregator::client_by_address() const {
    std::map<std::string, DnsCounters> out;
    for (const auto& [k, c] : kernel_)
        if (k.role == MXS_ROLE_CLIENT)
            out[addr_to_string(k.addr)].add(c);
    for (const auto& [k, n] : unanswered_)
        if (k.role == MXS_ROLE_CLIENT)
            out[addr_to_string(k.addr)].unanswered += n;
    return out;
}

std::map<std::pair<std::string, std::string>, DnsCounters>
DnsAggregator::client_by_address_proto(std::uint16_t port) const {
    std::map<std::pair<std::string, std::string>, DnsCounters> out;
    for (const auto& [k, c] : kernel_)
        if (k.role == MXS_ROLE_CLIENT && k.port == port)
            out[{addr_to_string(k.addr), proto_name(k.proto)}].add(c);
    for (const auto& [k, n] : unanswered_)
        if (k.role == MXS_ROLE_CLIENT && k.port == port)
            out[{addr_to_string(k.addr), proto_name(k.proto)}].unanswered += n;
    return out;
}

std::map<SeriesKey, DnsCounters> DnsAggregator::series() const {
    std::map<SeriesKey, DnsCounters> out;
    auto key_of = [&](const mxs_server_key& k) {
        return SeriesKey{labeler_.label(addr_to_string(k.addr)), role_name(k.role),
                         proto_name(k.proto)};
    };
    for (const auto& [k, c] : kernel_)
        out[key_of(k)].add(c);
    for (const auto& [k, n] : unanswered_)
        out[key_of(k)].unanswered += n;
    return out;
}

} // namespace mxs
