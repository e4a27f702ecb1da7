#include "probes/prober.h"

#include "health/evidence.h"
#include "probes/dns_client.h"
#include "probes/smtp_probe.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

namespace mxs {

void Prober::record(const std::string& kind, const std::string& target, const std::string& result,
                    double seconds) {
    ++counts_.runs[{kind, target, result}];
    counts_.last_seconds[{kind, target}] = seconds;
    spdlog::debug("probe {} {}: {} in {:.1f} ms", kind, target, result, seconds * 1000);
}

void Prober::round(const ProbeOptions& p, const std::vector<TargetStatus>& targets,
                   const std::map<std::string, std::string>& unobservable,
                   const ProbeRoute& route) {
    if (!p.enabled)
        return;
    const auto round = rounds_++;
    for (const auto& t : targets) {
        for (const auto& addr : t.addresses) {
            const auto key = std::make_pair(t.kind, addr);
            if (unobservable.count(addr))
                continue; // a pinned probe cannot reach it, the sensor would not see it
            if (passive_.count(key)) {
                ++counts_.skipped[key];
                continue;
            }
            if (t.kind == "dns") {
                // The question fits the target's role; several take turns, one per round.
                const auto role = roles_.find(addr);
                if (role == roles_.end() || role->second.questions.empty())
                    continue;
                const auto& questions = role->second.questions;
                probed_now_[key] += 2;
                probe_dns(p, addr, questions[round % questions.size()], questions, route);
            } else {
                probed_now_[key] += 1;
                probe_smtp(p, addr, route);
            }
        }
    }
}

void Prober::probe_dns(const ProbeOptions& p, const std::string& addr, const DnsQuestion& q,
                       const std::vector<DnsQuestion>& questions, const ProbeRoute& route) {
    const auto key = std::make_pair(std::string("dns"), addr);
    for (bool tcp : {false, true})
        boost::asio::co_spawn(
            io_,
            [this, key, addr, tcp, q, questions, timeout_s = p.timeout_s,
             route]() -> boost::asio::awaitable<void> {
                const auto port = route.dns_port;
                auto r = co_await dns_exchange(addr, port, q.name, q.type, tcp, timeout_s,
                                               route.device, q.recursion);
                auto result = dns_probe_result(r, q);
                const char* transport = tcp ? "tcp" : "udp";
                record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                if (result != "ok")
                    spdlog::debug("DNS probe {} {} {} {}: {}{}", addr, transport, q.name, q.type,
                                  result, r.sent ? "" : " (before any DNS message)");
                auto qkey = [&](const DnsQuestion& x) {
                    return std::make_tuple(addr, std::string(transport),
                                           fmt::format("{}/{}", x.name, x.type));
                };
                std::vector<std::pair<DnsQuestion, bool>> others;
                for (const auto& o : questions)
                    if (!(o == q))
                        if (auto f = question_failed_.find(qkey(o)); f != question_failed_.end())
                            others.emplace_back(o, f->second);
                question_failed_[qkey(q)] = result != "ok";
                // A SERVFAIL for a domain may be the domain's fault (its name servers
                // unreachable): the kernel's count of it is taken back at once, and the
                // resolver is asked a question it must be able to answer; that answer is
                // judged instead.
                const auto check =
                    result == "rcode_servfail" ? servfail_check(q, others) : std::nullopt;
                if (check) {
                    ++servfail_excused_[{addr, transport}];
                    probed_now_[key] += 1;
                    r = co_await dns_exchange(addr, port, check->name, check->type, tcp, timeout_s,
                                              route.device, check->recursion);
                    result = dns_probe_result(r, *check);
                    record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                    question_failed_[qkey(*check)] = result != "ok";
                    spdlog::debug("DNS probe {} {}: {} answered SERVFAIL, {} {}: {}", addr,
                                  transport, q.name, check->name, result,
                                  result == "ok" ? "the domain's fault, not counted"
                                                 : "the resolver's failure");
                }
                auto extra = dns_probe_evidence(result, r.sent, tcp);
                if (extra.attempts || extra.errors || extra.timeouts)
                    evidence_[{"dns", addr, transport}].merge(extra);
            },
            boost::asio::detached);
}

void Prober::probe_smtp(const ProbeOptions& p, const std::string& addr, const ProbeRoute& route) {
    SmtpProbeSpec spec{addr,       route.smtp_port, ehlo_name_or_host(p.ehlo_name),
                       p.starttls, p.timeout_s,     route.device};
    boost::asio::co_spawn(
        io_,
        [this, spec]() -> boost::asio::awaitable<void> {
            auto r = co_await smtp_probe(spec);
            if (r.result != "ok")
                spdlog::info("SMTP probe {}:{}: {} ({})", spec.address, spec.port, r.result,
                             r.detail);
            record("smtp", spec.address, r.result, r.seconds);
            auto extra = smtp_probe_evidence(r.result, r.step);
            if (extra.attempts || extra.errors || extra.timeouts)
                evidence_[{"mx", spec.address, "smtp"}].merge(extra);
        },
        boost::asio::detached);
}

void Prober::fold_into(HealthMonitor::Window& w) {
    // Resolver probes' SERVFAILs for a domain, taken back once the resolver was asked a question
    // it must answer (servfail_check): that answer counts instead. An excuse whose SERVFAIL an
    // earlier window already judged is dropped, never kept for a later SERVFAIL.
    for (const auto& [key, n] : std::exchange(servfail_excused_, {}))
        if (auto a = w.dns.find(key.first); a != w.dns.end())
            if (auto e = a->second.find(key.second); e != a->second.end())
                excuse_servfail(e->second, n);
    // What only the probes saw (a TCP connect refused before any DNS message, an
    // answer that is not authoritative, a failed STARTTLS).
    for (const auto& [key, e] : std::exchange(evidence_, {})) {
        const auto& [kind, addr, transport] = key;
        auto& into = kind == "dns" ? w.dns[addr][transport] : w.smtp[addr];
        into.merge(e);
        // A failure whose attempt the kernel booked in the previous window.
        into.attempts = std::max(into.attempts, into.errors + into.timeouts);
    }
    // Passive traffic: more attempts than the probes of this and the last window
    // (a probe's answer may land in the window after it was sent).
    passive_.clear();
    auto passive = [&](const char* kind, const std::string& addr, std::uint64_t attempts) {
        const auto key = std::make_pair(std::string(kind), addr);
        if (attempts > probed_now_[key] + probed_before_[key])
            passive_.insert(key);
    };
    for (const auto& [addr, by_transport] : w.dns) {
        std::uint64_t n = 0;
        for (const auto& [transport, e] : by_transport)
            n += e.attempts;
        passive("dns", addr, n);
    }
    for (const auto& [addr, e] : w.smtp)
        passive("mx", addr, e.attempts);
    probed_before_ = std::move(probed_now_);
    probed_now_.clear();
}

} // namespace mxs
