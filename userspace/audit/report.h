// The audit's findings and how they are reported: one line each as text, a JSON document, and
// an exit code as monitoring plugins give it (Monitoring Plugins guidelines: 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN).
#pragma once

#include "audit/finding.h"

#include <string>
#include <vector>

namespace mxs {

/// The worst status of all reports: CRITICAL over WARNING over UNKNOWN over OK (an UNKNOWN
/// means a check could not tell; a WARNING or CRITICAL found something wrong), as
/// Monitoring::Plugin's check_messages ranks them.
AuditStatus worst(const std::vector<AuditReport>& reports);

/// The worse of two statuses, ranked as worst() ranks them.
AuditStatus worse_of(AuditStatus a, AuditStatus b);

/// One line per finding: "CRITICAL ns_tcp 198.18.0.3: ... (example.test)".
std::string audit_text(const std::vector<AuditReport>& reports);

/// One JSON object per domain: {"domain":..., "checks":[{"check","target","status","detail"}]};
/// one domain: that object; several: an array of them.
std::string audit_json(const std::vector<AuditReport>& reports);

} // namespace mxs
