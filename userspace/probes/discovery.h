// MX discovery: for each domain configured with `mx: discover`, its MX RRset
// (by preference), then the A/AAAA of every MX host, and with `authoritative:
// true` its NS RRset and their addresses; looked up again when the shortest TTL
// runs out (clamped to [min_refresh, max_refresh]), retried after a failure
// while the last good answer stays in use.
//
// Each round of a domain is counted by result (mxsense_discovery_lookups_total):
//   ok           every question answered
//   nxdomain     the domain does not exist (NXDOMAIN to its MX or NS question): what that
//                says is used (no MX hosts), and it is asked again after discovery.retry
//   servfail, refused   a resolver answered that rcode to one of the round's questions
//   timeout      no answer within the probes' timeout
//   unreachable  ICMP unreachable, or no server on the port (connection refused)
//   error        anything else: another rcode, an answer that does not parse, no resolver
// A failed round is the failure of the first resolver asked (the one that answered last);
// the log line names every resolver's.
#pragma once

#include "config/options.h"
#include "probes/coro.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

    // (domain, result) -> rounds: the counts, owned by the caller, which outlives the
    // io_context's run; every result of a domain is there (at 0) once its loop starts.
    using Counts = std::map<std::pair<std::string, std::string>, std::uint64_t>;
    // Resolvers are asked in turn: one that fails a lookup hands over to the
    // next, and the one that answered is asked first from then on. None: every round fails
    // (error).
    Discovery(boost::asio::io_context& io, DiscoveryOptions opts,
              std::vector<std::string> resolvers, double query_timeout_s, std::uint16_t dns_port,
              Counts* lookups);

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
    Counts* lookups_;
};

} // namespace mxs
