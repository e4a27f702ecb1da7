#include "audit/report.h"

#include "audit/finding_json.h"
#include "base/shown.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace mxs {

namespace {

int severity(AuditStatus s) {
    switch (s) {
    case AuditStatus::ok:
        return 0;
    case AuditStatus::unknown:
        return 1;
    case AuditStatus::warning:
        return 2;
    case AuditStatus::critical:
        return 3;
    }
    return 1;
}

} // namespace

AuditStatus worse_of(AuditStatus a, AuditStatus b) {
    return severity(b) > severity(a) ? b : a;
}

AuditStatus worst(const std::vector<AuditReport>& reports) {
    AuditStatus w = AuditStatus::ok;
    for (const auto& r : reports)
        for (const auto& f : r.findings)
            w = worse_of(w, f.status);
    return w;
}

namespace {
constexpr std::size_t kMaxDetail = 400; // bytes of a detail in a text line
} // namespace

std::string audit_text(const std::vector<AuditReport>& reports) {
    std::string out;
    for (const auto& r : reports)
        for (const auto& f : r.findings) {
            std::string status = status_name(f.status);
            std::transform(status.begin(), status.end(), status.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            // Details carry what servers said (an SMTP reply, a policy's text): one line each,
            // no terminal escapes, bounded.
            const auto detail =
                f.detail.size() > kMaxDetail ? f.detail.substr(0, kMaxDetail) + "..." : f.detail;
            out += fmt::format("{:<8} {} {}: {} ({})\n", status, printable(f.check),
                               printable(f.target), printable(detail), printable(r.domain));
        }
    return out;
}

std::string audit_json(const std::vector<AuditReport>& reports) {
    auto doc = nlohmann::json::array();
    for (const auto& r : reports)
        doc.push_back(report_json(r));
    const auto& out = reports.size() == 1 ? doc.front() : doc;
    return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace mxs
