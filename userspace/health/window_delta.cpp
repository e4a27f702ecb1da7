#include "health/window_delta.h"

#include "health/evidence.h"

namespace mxs {

HealthMonitor::Window WindowDelta::next(DnsTotals dns_now, SmtpTotals smtp_now) {
    HealthMonitor::Window w;
    for (const auto& [key, c] : dns_now) // (address, "udp" | "tcp")
        w.dns[key.first][key.second] = dns_evidence(dns_prev_[key], c);
    for (const auto& [key, c] : smtp_now) // (address, "tcp")
        w.smtp[key.first] = smtp_evidence(smtp_prev_[key], c);
    dns_prev_ = std::move(dns_now);
    smtp_prev_ = std::move(smtp_now);
    return w;
}

} // namespace mxs
