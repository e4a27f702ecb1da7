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
    std::uint16_t smtp_port = opts_.smtp_ports.front();
    for (auto port : opts_.smtp_ports)
        if (!std::count(opts_.smtp_tls_ports.begin(), opts_.smtp_tls_ports.end(), port)) {
            smtp_port = port;
            break;
        }
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
            if (passive_.count(key)) {
                ++snapshot_.probes.skipped[key];
                continue;
            }
            if (t.kind == "dns") {
                // The question fits the target's role; several take turns, one per round.
                const auto role = dns_roles_.find(addr);
                if (role == dns_roles_.end() || role->second.questions.empty())
                    continue;
                const auto q = role->second.questions[round % role->second.questions.size()];
                probed_now_[key] += 2;
                for (bool tcp : {false, true})
                    boost::asio::co_spawn(
                        io_,
                        [this, record, addr, tcp, q, p, device]() -> boost::asio::awaitable<void> {
                            auto r =
                                co_await dns_exchange(addr, opts_.dns_ports.front(), q.name, q.type,
                                                      tcp, p.timeout_s, device, q.recursion);
                            const auto result = dns_probe_result(r, q);
                            const char* transport = tcp ? "tcp" : "udp";
                            record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                            if (result != "ok")
                                spdlog::debug("DNS probe {} {} {} {}: {}{}", addr, transport,
                                              q.name, q.type, result,
                                              r.sent ? "" : " (before any DNS message)");
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
