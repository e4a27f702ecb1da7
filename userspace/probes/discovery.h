// MX discovery: for each domain configured with `mx: discover`, its MX RRset
// (by preference), then the A/AAAA of every MX host, and with `authoritative:
// true` its NS RRset and their addresses; looked up again when the shortest TTL
// runs out (clamped to [min_refresh, max_refresh]), retried after a failure
// while the last good answer stays in use.
#pragma once

#include "config/options.h"
#include "probes/coro.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mxs {

struct DiscoveredDomain {
    std::vector<MxHost> mx;                // preference order
    std::vector<std::string> auth_servers; // addresses of the NS hosts (authoritative only)
    bool null_mx = false;                  // RFC 7505: the domain accepts no mail
    bool implicit_mx = false;              // RFC 5321 5.1: no MX, the domain's own address
    std::uint32_t ttl = 0;                 // the shortest TTL seen
    bool operator==(const DiscoveredDomain& o) const {
        return mx.size() == o.mx.size() && auth_servers == o.auth_servers && null_mx == o.null_mx &&
               implicit_mx == o.implicit_mx &&
               std::equal(mx.begin(), mx.end(), o.mx.begin(), [](const MxHost& a, const MxHost& b) {
                   return a.host == b.host && a.addresses == b.addresses;
               });
    }
};

// While a domain is failed over, DNS serves the switched MX order: the hosts
// keep the order they had (the operator's preference), new ones go last, so
// the switch is not mistaken for the operator's new preference.
std::vector<MxHost> keep_order(std::vector<MxHost> found, const std::vector<std::string>& order);

class Discovery : public std::enable_shared_from_this<Discovery> {
  public:
    using OnChange = std::function<void(const std::string& domain, const DiscoveredDomain&)>;

    // Lookups and failed lookups are added to *lookups and *failures (owned by the
    // caller, which outlives the io_context's run).
    // Resolvers are asked in turn: one that fails a lookup hands over to the
    // next, and the one that answered is asked first from then on.
    Discovery(boost::asio::io_context& io, DiscoveryOptions opts,
              std::vector<std::string> resolvers, double query_timeout_s, std::uint16_t dns_port,
              std::uint64_t* lookups, std::uint64_t* failures);

    // Starts one lookup loop per domain that asks for discovery.
    void start(const std::vector<Domain>& domains, OnChange on_change);
    // Ends the loops; no callback runs afterwards.
    void stop();

  private:
    boost::asio::awaitable<void> loop(Domain d, std::size_t timer);

    boost::asio::io_context& io_;
    DiscoveryOptions opts_;
    std::vector<std::string> resolvers_;
    std::size_t current_ = 0; // the resolver that answered last
    double timeout_s_;
    std::uint16_t port_;
    OnChange on_change_;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> timers_;
    bool stopped_ = false;
    std::uint64_t* lookups_;
    std::uint64_t* failures_;
};

} // namespace mxs
