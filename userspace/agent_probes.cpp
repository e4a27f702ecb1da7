// The agent's active probes (coroutines on the agent's io_context).
#include "agent.h"
#include "dns_client.h"
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
    const auto type = *dns_type_code(p.dns_type);
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
                probed_now_[key] += 2;
                for (bool tcp : {false, true})
                    boost::asio::co_spawn(
                        io_,
                        [this, record, addr, tcp, type, p,
                         device]() -> boost::asio::awaitable<void> {
                            auto r =
                                co_await dns_exchange(addr, opts_.dns_ports.front(), p.dns_name,
                                                      type, tcp, p.timeout_s, device);
                            std::string result = r.failure;
                            if (result.empty())
                                result = r.rcode == 0 || r.rcode == 3 ? "ok"
                                         : r.rcode == 2               ? "rcode_servfail"
                                         : r.rcode == 5               ? "rcode_refused"
                                                                      : "rcode_other";
                            record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                        },
                        boost::asio::detached);
            } else {
                probed_now_[key] += 1;
                SmtpProbeSpec spec{addr, smtp_port, ehlo, p.starttls, p.timeout_s, device};
                boost::asio::co_spawn(
                    io_,
                    [record, spec]() -> boost::asio::awaitable<void> {
                        auto r = co_await smtp_probe(spec);
                        if (r.result != "ok")
                            spdlog::info("SMTP probe {}:{}: {} ({})", spec.address, spec.port,
                                         r.result, r.detail);
                        record("smtp", spec.address, r.result, r.seconds);
                    },
                    boost::asio::detached);
            }
        }
    }
}

} // namespace mxs
