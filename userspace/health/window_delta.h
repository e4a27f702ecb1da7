// One verdict window's evidence from the counters' running totals: what each (address,
// transport) did since the previous window.
#pragma once

#include "counters/dns_model.h"
#include "counters/smtp_model.h"
#include "health/health.h"

#include <map>
#include <string>
#include <utility>

namespace mxs {

/// Keeps the totals the last window saw and turns the next totals into a window's evidence
/// (dns_evidence(), smtp_evidence() of the difference). An address first seen counts from zero:
/// its totals so far all fall into the window that first sees it.
class WindowDelta {
  public:
    /// (address, transport) -> totals, as Aggregator::client_by_address() gives them.
    using DnsTotals = std::map<std::pair<std::string, std::string>, DnsCounters>;
    using SmtpTotals = std::map<std::pair<std::string, std::string>, SmtpCounters>;

    /// The window since the previous call; these totals become the new baseline. An address
    /// missing from the totals (its kernel entry was removed, and with it its totals) starts
    /// from zero when it comes back.
    HealthMonitor::Window next(DnsTotals dns_now, SmtpTotals smtp_now);

  private:
    DnsTotals dns_prev_;
    SmtpTotals smtp_prev_;
};

} // namespace mxs
