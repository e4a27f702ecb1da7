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
    std::string result = "ok";             // the round's result (discovery.h)
    std::string why;
};

// What a question found: the records (of the type asked), the least TTL among them (~0u when
// there are none) and whether the name does not exist; or, with `failure` set to the round's
// result it makes (discovery.h), why it failed.
template <class T> struct Answer {
    std::vector<T> records;
    std::uint32_t ttl = ~0u;
    bool nxdomain = false;
    std::string failure; // "": answered
    std::string why;
};

// The result a failed exchange makes: its transport failure (dns_client.h) or its rcode.
std::string failure_result(const DnsReply& r) {
    if (r.failure == "timeout")
        return "timeout";
    if (r.failure == "refused" || r.failure == "unreachable") // no server on the port, ICMP
        return "unreachable";
    if (!r.failure.empty())
        return "error";
    if (r.rcode == ns_r_servfail)
        return "servfail";
    if (r.rcode == ns_r_refused)
        return "refused";
    return "error";
}

const char* type_name(int type) {
    switch (type) {
    case ns_t_mx:
        return "MX";
    case ns_t_ns:
        return "NS";
    case ns_t_a:
        return "A";
    case ns_t_aaaa:
        return "AAAA";
    default:
        return "?";
    }
}

// One question, UDP first and TCP when the answer is truncated; a failure
// (transport or SERVFAIL/REFUSED/another rcode) is an error, NXDOMAIN/NODATA an empty answer.
asio::awaitable<Answer<DnsRecord>> ask(const std::string& server, std::uint16_t port,
                                       const std::string& name, int type, double timeout_s) {
    auto r = co_await dns_exchange(server, port, name, type, false, timeout_s);
    if (r.failure.empty() && r.truncated)
        r = co_await dns_exchange(server, port, name, type, true, timeout_s);
    Answer<DnsRecord> out;
    if (!r.failure.empty() || (r.rcode != ns_r_noerror && r.rcode != ns_r_nxdomain)) {
        out.failure = failure_result(r);
        out.why = fmt::format("{} {} via {}: {}", name, type_name(type), server,
                              r.failure.empty() ? fmt::format("rcode {}", r.rcode) : r.failure);
        co_return out;
    }
    out.nxdomain = r.rcode == ns_r_nxdomain;
    for (auto& a : r.answers)
        if (a.type == type) {
            out.ttl = std::min(out.ttl, a.ttl);
            out.records.push_back(std::move(a));
        }
    co_return out;
}

// A host's addresses: A, then AAAA.
asio::awaitable<Answer<std::string>> addresses_of(const std::string& server, std::uint16_t port,
                                                  const std::string& host, double timeout_s) {
    Answer<std::string> out;
    for (int type : {ns_t_a, ns_t_aaaa}) {
        auto rrs = co_await ask(server, port, host, type, timeout_s);
        if (!rrs.failure.empty()) {
            out.failure = std::move(rrs.failure);
            out.why = std::move(rrs.why);
            co_return out;
        }
        out.ttl = std::min(out.ttl, rrs.ttl);
        for (const auto& rr : rrs.records)
            out.records.push_back(rr.data);
    }
    co_return out;
}

// The round failed at this question: its result and why.
template <class T> Lookup failed(Answer<T>& a) {
    Lookup l;
    l.result = std::move(a.failure);
    l.why = std::move(a.why);
    return l;
}

asio::awaitable<Lookup> lookup(const std::string& server, std::uint16_t port, const Domain& d,
                               double timeout_s) {
    Lookup l;
    DiscoveredDomain dd;
    std::uint32_t ttl = ~0u;
    if (d.discover) {
        auto answer = co_await ask(server, port, d.name, ns_t_mx, timeout_s);
        if (!answer.failure.empty())
            co_return failed(answer);
        if (answer.nxdomain)
            l.result = "nxdomain";
        ttl = std::min(ttl, answer.ttl);
        auto& mx = answer.records;
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
            if (!addrs.failure.empty())
                co_return failed(addrs);
            ttl = std::min(ttl, addrs.ttl);
            if (std::none_of(dd.mx.begin(), dd.mx.end(),
                             [&](const MxHost& h) { return h.host == rr.data; }))
                dd.mx.push_back({rr.data, std::move(addrs.records)});
        }
    } else {
        dd.mx = d.mx;
    }
    if (d.authoritative) {
        auto answer = co_await ask(server, port, d.name, ns_t_ns, timeout_s);
        if (!answer.failure.empty())
            co_return failed(answer);
        if (answer.nxdomain)
            l.result = "nxdomain";
        ttl = std::min(ttl, answer.ttl);
        auto& ns = answer.records;
        std::sort(ns.begin(), ns.end(),
                  [](const DnsRecord& a, const DnsRecord& b) { return a.data < b.data; });
        for (const auto& rr : ns) {
            auto addrs = co_await addresses_of(server, port, rr.data, timeout_s);
            if (!addrs.failure.empty())
                co_return failed(addrs);
            ttl = std::min(ttl, addrs.ttl);
            for (auto& a : addrs.records)
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
                     std::uint16_t dns_port, Counts* lookups)
    : io_(io), opts_(std::move(opts)), resolvers_(std::move(resolvers)),
      timeout_s_(query_timeout_s), port_(dns_port), lookups_(lookups) {}

void Discovery::start(const std::vector<Domain>& domains, OnChange on_change) {
    on_change_ = std::move(on_change);
    for (const auto& d : domains) {
        if (!d.discover && !d.authoritative)
            continue;
        // Every result from the start, so that a rate() sees a domain's first failure.
        for (const char* r :
             {"ok", "nxdomain", "servfail", "refused", "timeout", "unreachable", "error"})
            (*lookups_)[{d.name, r}] += 0;
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
        Lookup l;
        std::string why;
        std::string result; // of the first resolver asked, when none answers
        for (std::size_t i = 0; i < resolvers_.size() && !l.found && !stopped_; ++i) {
            const auto r = (current_ + i) % resolvers_.size();
            l = co_await lookup(resolvers_[r], port_, d, timeout_s_);
            if (l.found && r != current_) {
                spdlog::warn("discovery: {} answered for {}; asking it first from now on",
                             resolvers_[r], d.name);
                current_ = r;
            }
            if (!l.found && result.empty())
                result = l.result;
            why += (why.empty() ? "" : "; ") + l.why;
        }
        if (stopped_)
            co_return;
        l.why = why.empty() ? "no resolver to ask" : why;
        if (!l.found)
            l.result = result.empty() ? "error" : result;
        ++(*lookups_)[{d.name, l.result}];
        double wait_s = opts_.retry_s;
        if (!l.found) {
            spdlog::warn("discovery of {}: {}; keeping {} and retrying in {} s", d.name, l.why,
                         last ? "the last answer" : "no MX hosts", opts_.retry_s);
        } else {
            // A domain that does not exist is asked again as soon as a failure is: it is
            // likely a fault (a lapsed registration, a typo) and its fix should show soon.
            if (l.result == "ok")
                wait_s = std::clamp(static_cast<double>(l.found->ttl), opts_.min_refresh_s,
                                    opts_.max_refresh_s);
            if (!last || !(*last == *l.found)) {
                std::string hosts;
                for (const auto& m : l.found->mx)
                    hosts += fmt::format("{}{} [{}]", hosts.empty() ? "" : ", ", m.host,
                                         fmt::join(m.addresses, " "));
                spdlog::log(l.result == "ok" ? spdlog::level::info : spdlog::level::warn,
                            "discovery of {}: {}MX {}{}{}; name servers [{}]; next lookup in {} s",
                            d.name,
                            l.result == "nxdomain" ? "NXDOMAIN (the domain does not exist): " : "",
                            hosts.empty() ? "none" : hosts,
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
