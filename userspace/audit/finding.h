// An audit's findings as records: what the audit produces and the views show (a plain
// header: views/ includes it without linking the audit).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxs {

/// A finding's status; its value is the exit code and the metric's value.
enum class AuditStatus { ok = 0, warning = 1, critical = 2, unknown = 3 };

/// "ok", "warning", "critical", "unknown".
constexpr const char* status_name(AuditStatus s) {
    switch (s) {
    case AuditStatus::ok:
        return "ok";
    case AuditStatus::warning:
        return "warning";
    case AuditStatus::critical:
        return "critical";
    case AuditStatus::unknown:
        break;
    }
    return "unknown";
}

/// The status named by status_name(); nullopt for any other text.
constexpr std::optional<AuditStatus> status_from_name(std::string_view name) {
    for (auto s :
         {AuditStatus::ok, AuditStatus::warning, AuditStatus::critical, AuditStatus::unknown})
        if (name == status_name(s))
            return s;
    return std::nullopt;
}

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
    // Figures behind the findings, for the metrics: each name server's SOA serial (by address)
    // and each MX host's certificate expiry (Unix seconds, by host name).
    std::map<std::string, std::uint32_t> serials;
    std::map<std::string, std::int64_t> certificate_expiry;
    // Since when (Unix seconds) the name servers' serials differ; nullopt: they agree, or no
    // serials were compared.
    std::optional<double> serials_differ_since;
};

/// The agent's periodic audit as the views show it.
struct AuditSnapshot {
    bool enabled = false;
    std::vector<AuditReport> reports; // the last completed run, a report per domain
    double last_run_s = 0;            // when it completed, Unix seconds; 0: not yet
    double duration_s = 0;            // how long it took
    std::uint64_t runs = 0;           // completed runs
};

} // namespace mxs
