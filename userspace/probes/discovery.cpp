#include "probes/discovery.h"

#include "probes/dns_client.h"

#include <algorithm>
#include <arpa/nameser.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace mxs {

namespace asio = boost::asio;

namespace {

struct Lookup {
    std::optional<DiscoveredDomain> found; // nullopt: failed, keep the last answer
    std::string why;
};

// One question, UDP first and TCP when the answer is truncated; a failure
// (transport or SERVFAIL/REFUSED) is returned as text, NXDOMAIN/NODATA as empty.
asio::awaitable<std::optional<std::vector<DnsRecord>>>
ask(const std::string& server, std::uint16_t port, const std::string& name, int type,
    double timeout_s, std::string& why, std::uint32_t& ttl) {
    auto r = co_await dns_exchange(server, port, name, type, false, timeout_s);
    if (r.failure.empty() && r.truncated)
        r = co_await dns_exchange(server, port, name, type, true, timeout_s);
    if (!r.failure.empty() || (r.rcode != ns_r_noerror && r.rcode != ns_r_nxdomain)) {
        why = fmt::format("{} {} via {}: {}", name, type == ns_t_mx ? "MX" : std::to_string(type),
                          server, r.failure.empty() ? fmt::format("rcode {}", r.rcode) : r.failure);
        co_return std::nullopt;
    }
    std::vector<DnsRecord> out;
    for (auto& a : r.answers)
        if (a.type == type) {
            ttl = std::min(ttl, a.ttl);
            out.push_back(std::move(a));
        }
    co_return out;
}

asio::awaitable<std::optional<std::vector<std::string>>>
addresses_of(const std::string& server, std::uint16_t port, const std::string& host,
             double timeout_s, std::string& why, std::uint32_t& ttl) {
    std::vector<std::string> out;
    for (int type : {ns_t_a, ns_t_aaaa}) {
        auto rrs = co_await ask(server, port, host, type, timeout_s, why, ttl);
        if (!rrs)
            co_return std::nullopt;
        for (const auto& rr : *rrs)
            out.push_back(rr.data);
    }
    co_return out;
}

asio::awaitable<Lookup> lookup(const std::string& server, std::uint16_t port, const Domain& d,
                               double timeout_s) {
    Lookup l;
    DiscoveredDomain dd;
    std::uint32_t ttl = ~0u;
    if (d.discover) {
        auto mx = co_await ask(server, port, d.name, ns_t_mx, timeout_s, l.why, ttl);
        if (!mx)
            co_return l;
        std::stable_sort(mx->begin(), mx->end(), [](const DnsRecord& a, const DnsRecord& b) {
            return a.preference != b.preference ? a.preference < b.preference : a.data < b.data;
        });
        for (auto& rr : *mx)
            if (rr.data == ".")
                rr.data.clear();
        if (mx->size() == 1 && (*mx)[0].data.empty()) {
            dd.null_mx = true; // "0 ." : no mail for this domain
        } else if (mx->empty()) {
            dd.implicit_mx = true;
            mx->push_back({d.name, ns_t_mx, ttl, d.name, 0});
        }
        for (const auto& rr : *mx) {
            if (rr.data.empty())
                continue;
            auto addrs = co_await addresses_of(server, port, rr.data, timeout_s, l.why, ttl);
            if (!addrs)
                co_return l;
            if (std::none_of(dd.mx.begin(), dd.mx.end(),
                             [&](const MxHost& h) { return h.host == rr.data; }))
                dd.mx.push_back({rr.data, std::move(*addrs)});
        }
    } else {
        dd.mx = d.mx;
    }
    if (d.authoritative) {
        auto ns = co_await ask(server, port, d.name, ns_t_ns, timeout_s, l.why, ttl);
        if (!ns)
            co_return l;
        std::sort(ns->begin(), ns->end(),
                  [](const DnsRecord& a, const DnsRecord& b) { return a.data < b.data; });
        for (const auto& rr : *ns) {
            auto addrs = co_await addresses_of(server, port, rr.data, timeout_s, l.why, ttl);
            if (!addrs)
                co_return l;
            for (auto& a : *addrs)
                if (std::find(dd.auth_servers.begin(), dd.auth_servers.end(), a) ==
                    dd.auth_servers.end())
                    dd.auth_servers.push_back(std::move(a));
        }
    }
    dd.ttl = ttl;
    l.found = std::move(dd);
    co_return l;
}

} // namespace

std::vector<MxHost> keep_order(std::vector<MxHost> found, const std::vector<std::string>& order) {
    auto rank = [&](const MxHost& h) {
        return std::find(order.begin(), order.end(), h.host) - order.begin();
    };
    std::stable_sort(found.begin(), found.end(),
                     [&](const MxHost& a, const MxHost& b) { return rank(a) < rank(b); });
    return found;
}

Discovery::Discovery(asio::io_context& io, DiscoveryOptions opts,
                     std::vector<std::string> resolvers, double query_timeout_s,
                     std::uint16_t dns_port, std::uint64_t* lookups, std::uint64_t* failures)
    : io_(io), opts_(std::move(opts)), resolvers_(std::move(resolvers)),
      timeout_s_(query_timeout_s), port_(dns_port), lookups_(lookups), failures_(failures) {}

void Discovery::start(const std::vector<Domain>& domains, OnChange on_change) {
    on_change_ = std::move(on_change);
    for (const auto& d : domains) {
        if (!d.discover && !d.authoritative)
            continue;
        timers_.push_back(std::make_unique<asio::steady_timer>(io_));
        asio::co_spawn(io_, loop(d, timers_.size() - 1), asio::detached);
    }
}

void Discovery::stop() {
    stopped_ = true;
    for (auto& t : timers_)
        t->cancel();
}

asio::awaitable<void> Discovery::loop(Domain d, std::size_t timer) {
    auto self = shared_from_this(); // the loop outlives the agent's pointer until it sees stop
    std::optional<DiscoveredDomain> last;
    while (!stopped_) {
        ++*lookups_;
        Lookup l;
        std::string why;
        for (std::size_t i = 0; i < resolvers_.size() && !l.found && !stopped_; ++i) {
            const auto r = (current_ + i) % resolvers_.size();
            l = co_await lookup(resolvers_[r], port_, d, timeout_s_);
            if (l.found && r != current_) {
                spdlog::warn("discovery: {} answered for {}; asking it first from now on",
                             resolvers_[r], d.name);
                current_ = r;
            }
            why += (why.empty() ? "" : "; ") + l.why;
        }
        if (stopped_)
            co_return;
        l.why = why;
        double wait_s = opts_.retry_s;
        if (!l.found) {
            ++*failures_;
            spdlog::warn("discovery of {}: {}; keeping {} and retrying in {} s", d.name, l.why,
                         last ? "the last answer" : "no MX hosts", opts_.retry_s);
        } else {
            wait_s = std::clamp(static_cast<double>(l.found->ttl), opts_.min_refresh_s,
                                opts_.max_refresh_s);
            if (!last || !(*last == *l.found)) {
                std::string hosts;
                for (const auto& m : l.found->mx)
                    hosts += fmt::format("{}{} [{}]", hosts.empty() ? "" : ", ", m.host,
                                         fmt::join(m.addresses, " "));
                spdlog::info("discovery of {}: MX {}{}{}; name servers [{}]; next lookup in {} s",
                             d.name, hosts.empty() ? "none" : hosts,
                             l.found->null_mx ? " (null MX: accepts no mail)" : "",
                             l.found->implicit_mx ? " (no MX records: the domain itself)" : "",
                             fmt::join(l.found->auth_servers, " "), wait_s);
                last = l.found;
                if (on_change_)
                    on_change_(d.name, *last);
            }
        }
        auto& t = *timers_[timer];
        t.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(wait_s)));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

} // namespace mxs
