// The audit's findings and how they are reported: one line each as text, a JSON document, and
// an exit code as monitoring plugins give it (Monitoring Plugins guidelines: 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN).
#pragma once

#include <string>
#include <vector>

namespace mxs {

/// A finding's status; its value is the exit code and the metric's value.
enum class AuditStatus { ok = 0, warning = 1, critical = 2, unknown = 3 };

/// "ok", "warning", "critical", "unknown".
const char* status_name(AuditStatus s);

/// One check's verdict on one target (a domain, an MX host, an address, a name server).
struct Finding {
    std::string check;  // mx_present, ns_udp, ... (README "Audit")
    std::string target; // what it is about
    AuditStatus status = AuditStatus::unknown;
    std::string detail; // why, in a sentence
    bool operator==(const Finding&) const = default;
};

/// Every finding of one domain's audit, in the order the checks ran.
struct AuditReport {
    std::string domain;
    std::vector<Finding> findings;
};

/// The worst status of all reports: CRITICAL over WARNING over UNKNOWN over OK (an UNKNOWN
/// means a check could not tell; a WARNING or CRITICAL found something wrong), as
/// Monitoring::Plugin's check_messages ranks them.
AuditStatus worst(const std::vector<AuditReport>& reports);

/// One line per finding: "CRITICAL ns_tcp 198.18.0.3: ... (example.test)".
std::string audit_text(const std::vector<AuditReport>& reports);

/// One JSON object per domain: {"domain":..., "checks":[{"check","target","status","detail"}]};
/// one domain: that object; several: an array of them.
std::string audit_json(const std::vector<AuditReport>& reports);

} // namespace mxs
