// An audit's findings as JSON, one shape for `mxsense audit --json` and the agent's
// /api/v1/status (a header: views/ uses it without linking the audit).
#pragma once

#include "audit/finding.h"

#include <nlohmann/json.hpp>

namespace mxs {

/// {"check", "target", "status" ("ok", "warning", "critical", "unknown"), "detail"}.
inline nlohmann::json finding_json(const Finding& f) {
    return {{"check", f.check},
            {"target", f.target},
            {"status", status_name(f.status)},
            {"detail", f.detail}};
}

/// {"domain": ..., "checks": [finding_json()...]}: the audit document.
inline nlohmann::json report_json(const AuditReport& r) {
    auto checks = nlohmann::json::array();
    for (const auto& f : r.findings)
        checks.push_back(finding_json(f));
    return {{"domain", r.domain}, {"checks", std::move(checks)}};
}

} // namespace mxs
