// The agent's active probes (coroutines on the agent's io_context).
#include "agent.h"
#include "dns_client.h"
#include "evidence.h"
#include "probe_plan.h"
#include "smtp_probe.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace mxs {

// Probes every judged address that had no passive traffic in the last window:
// DNS servers over UDP and TCP, MX addresses with an SMTP dialogue. The kernel
// measures them like any traffic; their own outcome feeds mxsense_probe_*.
void Agent::probe_round() {
    if (!opts_.probes.enabled)
        return;
    const auto& p = opts_.probes;
    const auto round = probe_rounds_++;
    const std::uint16_t smtp_port = opts_.mx_port();
    std::string ehlo = p.ehlo_name;
    if (ehlo.empty()) {
        char host[256] = {};
        ehlo = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "mxsense.invalid";
    }
    // One watched interface: probes leave through it, whatever the routes prefer.
    const std::string device = watched_.size() == 1 ? watched_.front().name : std::string();
    auto record = [this](const std::string& kind, const std::string& target,
                         const std::string& result, double seconds) {
        ++snapshot_.probes.runs[{kind, target, result}];
        snapshot_.probes.last_seconds[{kind, target}] = seconds;
        spdlog::debug("probe {} {}: {} in {:.1f} ms", kind, target, result, seconds * 1000);
    };
    for (const auto& t : health_->targets()) {
        for (const auto& addr : t.addresses) {
            const auto key = std::make_pair(t.kind, addr);
            if (unobservable_.count(addr))
                continue; // a pinned probe cannot reach it, the sensor would not see it
            if (passive_.count(key)) {
                ++snapshot_.probes.skipped[key];
                continue;
            }
            if (t.kind == "dns") {
                // The question fits the target's role; several take turns, one per round.
                const auto role = dns_roles_.find(addr);
                if (role == dns_roles_.end() || role->second.questions.empty())
                    continue;
                const auto& questions = role->second.questions;
                const auto q = questions[round % questions.size()];
                probed_now_[key] += 2;
                for (bool tcp : {false, true})
                    boost::asio::co_spawn(
                        io_,
                        [this, record, key, addr, tcp, q, questions, p,
                         device]() -> boost::asio::awaitable<void> {
                            const auto port = opts_.dns_ports.front();
                            auto r = co_await dns_exchange(addr, port, q.name, q.type, tcp,
                                                           p.timeout_s, device, q.recursion);
                            auto result = dns_probe_result(r, q);
                            const char* transport = tcp ? "tcp" : "udp";
                            record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                            if (result != "ok")
                                spdlog::debug("DNS probe {} {} {} {}: {}{}", addr, transport,
                                              q.name, q.type, result,
                                              r.sent ? "" : " (before any DNS message)");
                            auto qkey = [&](const DnsQuestion& x) {
                                return std::make_tuple(addr, std::string(transport),
                                                       fmt::format("{}/{}", x.name, x.type));
                            };
                            std::vector<std::pair<DnsQuestion, bool>> others;
                            for (const auto& o : questions)
                                if (!(o == q))
                                    if (auto f = question_failed_.find(qkey(o));
                                        f != question_failed_.end())
                                        others.emplace_back(o, f->second);
                            question_failed_[qkey(q)] = result != "ok";
                            // A SERVFAIL for a domain may be the domain's fault (its name
                            // servers unreachable): the kernel's count of it is taken back
                            // at once, and the resolver is asked a question it must be able
                            // to answer; that answer is judged instead.
                            const auto check = result == "rcode_servfail"
                                                   ? servfail_check(q, others)
                                                   : std::nullopt;
                            if (check) {
                                ++servfail_excused_[{addr, transport}];
                                probed_now_[key] += 1;
                                r = co_await dns_exchange(addr, port, check->name, check->type, tcp,
                                                          p.timeout_s, device, check->recursion);
                                result = dns_probe_result(r, *check);
                                record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                                question_failed_[qkey(*check)] = result != "ok";
                                spdlog::debug("DNS probe {} {}: {} answered SERVFAIL, {} {}: {}",
                                              addr, transport, q.name, check->name, result,
                                              result == "ok" ? "the domain's fault, not counted"
                                                             : "the resolver's failure");
                            }
                            auto extra = dns_probe_evidence(result, r.sent, tcp);
                            if (extra.attempts || extra.errors || extra.timeouts)
                                probe_evidence_[{"dns", addr, transport}].merge(extra);
                        },
                        boost::asio::detached);
            } else {
                probed_now_[key] += 1;
                SmtpProbeSpec spec{addr, smtp_port, ehlo, p.starttls, p.timeout_s, device};
                boost::asio::co_spawn(
                    io_,
                    [this, record, spec]() -> boost::asio::awaitable<void> {
                        auto r = co_await smtp_probe(spec);
                        if (r.result != "ok")
                            spdlog::info("SMTP probe {}:{}: {} ({})", spec.address, spec.port,
                                         r.result, r.detail);
                        record("smtp", spec.address, r.result, r.seconds);
                        auto extra = smtp_probe_evidence(r.result, r.step);
                        if (extra.attempts || extra.errors || extra.timeouts)
                            probe_evidence_[{"mx", spec.address, "smtp"}].merge(extra);
                    },
                    boost::asio::detached);
            }
        }
    }
}

} // namespace mxs
