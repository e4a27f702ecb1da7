#include "probes/discovery.h"

#include "base/result.h"
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

// What a question found: the records (of the type asked), and the least TTL among them
// (~0u when there are none).
template <class T> struct Answer {
    std::vector<T> records;
    std::uint32_t ttl = ~0u;
};

// One question, UDP first and TCP when the answer is truncated; a failure
// (transport or SERVFAIL/REFUSED) is an error, NXDOMAIN/NODATA an empty answer.
asio::awaitable<Result<Answer<DnsRecord>>> ask(const std::string& server, std::uint16_t port,
                                               const std::string& name, int type,
                                               double timeout_s) {
    auto r = co_await dns_exchange(server, port, name, type, false, timeout_s);
    if (r.failure.empty() && r.truncated)
        r = co_await dns_exchange(server, port, name, type, true, timeout_s);
    if (!r.failure.empty() || (r.rcode != ns_r_noerror && r.rcode != ns_r_nxdomain))
        co_return Error{
            fmt::format("{} {} via {}: {}", name, type == ns_t_mx ? "MX" : std::to_string(type),
                        server, r.failure.empty() ? fmt::format("rcode {}", r.rcode) : r.failure)};
    Answer<DnsRecord> out;
    for (auto& a : r.answers)
        if (a.type == type) {
            out.ttl = std::min(out.ttl, a.ttl);
            out.records.push_back(std::move(a));
        }
    co_return out;
}

// A host's addresses: A, then AAAA.
asio::awaitable<Result<Answer<std::string>>> addresses_of(const std::string& server,
                                                          std::uint16_t port,
                                                          const std::string& host,
                                                          double timeout_s) {
    Answer<std::string> out;
    for (int type : {ns_t_a, ns_t_aaaa}) {
        auto rrs = co_await ask(server, port, host, type, timeout_s);
        if (!rrs)
            co_return Error{rrs.error()};
        out.ttl = std::min(out.ttl, rrs->ttl);
        for (const auto& rr : rrs->records)
            out.records.push_back(rr.data);
    }
    co_return out;
}

asio::awaitable<Lookup> lookup(const std::string& server, std::uint16_t port, const Domain& d,
                               double timeout_s) {
    Lookup l;
    DiscoveredDomain dd;
    std::uint32_t ttl = ~0u;
    if (d.discover) {
        auto answer = co_await ask(server, port, d.name, ns_t_mx, timeout_s);
        if (!answer) {
            l.why = answer.error();
            co_return l;
        }
        ttl = std::min(ttl, answer->ttl);
        auto& mx = answer->records;
        std::stable_sort(mx.begin(), mx.end(), [](const DnsRecord& a, const DnsRecord& b) {
            return a.preference != b.preference ? a.preference < b.preference : a.data < b.data;
        });
        for (auto& rr : mx)
            if (rr.data == ".")
                rr.data.clear();
        if (mx.size() == 1 && mx[0].data.empty()) {
            dd.null_mx = true; // "0 ." : no mail for this domain
        } else if (mx.empty()) {
            dd.implicit_mx = true;
            mx.push_back({d.name, ns_t_mx, ttl, d.name, 0});
        }
        for (const auto& rr : mx) {
            if (rr.data.empty())
                continue;
            auto addrs = co_await addresses_of(server, port, rr.data, timeout_s);
            if (!addrs) {
                l.why = addrs.error();
                co_return l;
            }
            ttl = std::min(ttl, addrs->ttl);
            if (std::none_of(dd.mx.begin(), dd.mx.end(),
                             [&](const MxHost& h) { return h.host == rr.data; }))
                dd.mx.push_back({rr.data, std::move(addrs->records)});
        }
    } else {
        dd.mx = d.mx;
    }
    if (d.authoritative) {
        auto answer = co_await ask(server, port, d.name, ns_t_ns, timeout_s);
        if (!answer) {
            l.why = answer.error();
            co_return l;
        }
        ttl = std::min(ttl, answer->ttl);
        auto& ns = answer->records;
        std::sort(ns.begin(), ns.end(),
                  [](const DnsRecord& a, const DnsRecord& b) { return a.data < b.data; });
        for (const auto& rr : ns) {
            auto addrs = co_await addresses_of(server, port, rr.data, timeout_s);
            if (!addrs) {
                l.why = addrs.error();
                co_return l;
            }
            ttl = std::min(ttl, addrs->ttl);
            for (auto& a : addrs->records)
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
