// Per-server counters in user space, one generic aggregator over two traits (DNS, SMTP): the
// kernel's absolute totals per server key (summed over CPUs by the Sensor), the counts the
// agent's sweep adds (unanswered queries, unanswered SYNs), and bounded `server` labels.
//
// Traits: Counters (with add(const Counters&)), SeriesKey, and
//   static std::uint64_t activity(const Counters&)   how busy a server is, for its label
//   static void add_swept(Counters&, std::uint64_t)  where the sweep's counts go
//   static SeriesKey series_key(std::string label, const mxs_server_key&)
#pragma once

#include "base/addr.h"
#include "counters/labels.h"
#include "kernel/kernel_types.h"

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mxs {

template <class Traits> class Aggregator {
  public:
    using Counters = typename Traits::Counters;
    using SeriesKey = typename Traits::SeriesKey;
    using ByKey = std::map<mxs_server_key, Counters, ServerKeyLess>;

    explicit Aggregator(std::size_t max_labelled) : labeler_(max_labelled) {}

    // The kernel's absolute totals (its map entries are never deleted); the busiest servers
    // are offered their own label first.
    void set_kernel_totals(ByKey totals) {
        kernel_ = std::move(totals);
        std::unordered_map<std::string, std::uint64_t> activity;
        for (const auto& [k, c] : kernel_)
            activity[addr_to_string(k.addr)] += Traits::activity(c);
        labeler_.offer_by_activity(activity);
    }

    // What the agent's sweep found of `key`'s (queries or connection attempts unanswered past
    // their timeout): counted where Traits::add_swept puts it.
    void add_swept(const mxs_server_key& key, std::uint64_t n) {
        swept_[key] += n;
        labeler_.offer({addr_to_string(key.addr)});
    }

    // Every exported series: by label (the address, or "other"), role and what else SeriesKey
    // holds.
    std::map<SeriesKey, Counters> series() const {
        std::map<SeriesKey, Counters> out;
        auto key_of = [&](const mxs_server_key& k) {
            return Traits::series_key(labeler_.label(addr_to_string(k.addr)), k);
        };
        for (const auto& [k, c] : kernel_)
            out[key_of(k)].add(c);
        for (const auto& [k, n] : swept_)
            Traits::add_swept(out[key_of(k)], n);
        return out;
    }

    // Verdict evidence: totals per (server address, transport "udp" | "tcp") for this host as a
    // client, on server port `port` only (the port targets are judged and probed on: dns.ports'
    // first, the MX port). Other ports are counted in series() but are no evidence: a refused
    // submission port is no reason to fail over an MX host, and any local process could
    // connect there.
    std::map<std::pair<std::string, std::string>, Counters>
    client_by_address(std::uint16_t port) const {
        std::map<std::pair<std::string, std::string>, Counters> out;
        for (const auto& [k, c] : kernel_)
            if (k.role == MXS_ROLE_CLIENT && k.port == port)
                out[{addr_to_string(k.addr), proto_name(k.proto)}].add(c);
        for (const auto& [k, n] : swept_)
            if (k.role == MXS_ROLE_CLIENT && k.port == port)
                Traits::add_swept(out[{addr_to_string(k.addr), proto_name(k.proto)}], n);
        return out;
    }

    // Addresses that must keep their own label (configured targets).
    void reserve_labels(const std::vector<std::string>& addrs) { labeler_.offer(addrs); }

  private:
    ServerLabeler labeler_;
    ByKey kernel_;
    std::map<mxs_server_key, std::uint64_t, ServerKeyLess> swept_;
};

} // namespace mxs
