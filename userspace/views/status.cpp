#include "views/status.h"

#include "audit/finding_json.h"
#include "audit/report.h"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace mxs {

namespace {

nlohmann::json audit_json(const AuditSnapshot& a) {
    auto reports = nlohmann::json::array();
    for (const auto& r : a.reports)
        reports.push_back(report_json(r));
    return {{"enabled", a.enabled},
            {"runs", a.runs},
            {"last_run_unix_time", a.last_run_s},
            {"duration_seconds", a.duration_s},
            {"reports", std::move(reports)}};
}

// The audit part of the table: a summary line, then each finding that is not ok.
std::string audit_table(const nlohmann::json& a) {
    if (!a.at("enabled").get<bool>())
        return "\nAUDIT off (audit.interval 0, or no domains)\n";
    if (a.at("runs").get<std::uint64_t>() == 0)
        return "\nAUDIT not run yet\n";
    std::vector<AuditReport> reports;
    std::size_t total = 0, not_ok = 0;
    for (const auto& r : a.at("reports")) {
        AuditReport report{r.at("domain").get<std::string>(), {}, {}, {}, {}};
        for (const auto& c : r.at("checks")) {
            ++total;
            const auto status = status_from_name(c.at("status").get<std::string>());
            if (!status)
                throw std::invalid_argument("audit status " + c.at("status").dump());
            if (*status == AuditStatus::ok)
                continue;
            ++not_ok;
            report.findings.push_back({c.at("check").get<std::string>(),
                                       c.at("target").get<std::string>(), *status,
                                       c.at("detail").get<std::string>()});
        }
        reports.push_back(std::move(report));
    }
    const auto age_s =
        static_cast<double>(std::time(nullptr)) - a.at("last_run_unix_time").get<double>();
    std::string out = fmt::format("\nAUDIT {}: {} finding(s), {} not ok, {:.0f} s ago\n",
                                  status_name(worst(reports)), total, not_ok, std::max(0.0, age_s));
    return out + audit_text(reports);
}

} // namespace

std::string status_json(const HealthSnapshot& h, const AuditSnapshot& audit) {
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : h.targets) {
        nlohmann::json j = {{"target", t.name},
                            {"kind", t.kind},
                            {"state", state_name(t.state)},
                            {"addresses", t.addresses},
                            {"window",
                             {{"attempts", t.last.attempts},
                              {"errors", t.last.errors},
                              {"timeouts", t.last.timeouts},
                              {"p99_seconds", t.last.p99_s}}},
                            {"reason", t.reason},
                            {"window_reason", t.window_reason}};
        if (!t.role.empty())
            j["role"] = t.role;
        j["judged"] = t.not_judged.empty(); // false: loopback or this host's own address
        nlohmann::json transports = nlohmann::json::object();
        for (const auto& [name, e] : t.transports) {
            const auto st = t.transport_state.find(name);
            transports[name] = {
                {"state",
                 state_name(st == t.transport_state.end() ? TargetState::Unknown : st->second)},
                {"attempts", e.attempts},
                {"errors", e.errors},
                {"timeouts", e.timeouts},
                {"retransmitted", e.retransmitted},
                {"samples", e.samples},
                {"p99_seconds", e.p99_s}};
        }
        j["transports"] = std::move(transports);
        if (!t.last_to.empty())
            j["last_transition"] = {
                {"from", t.last_from}, {"to", t.last_to}, {"unix_time", t.last_change_unix}};
        targets.push_back(std::move(j));
    }
    nlohmann::json domains = nlohmann::json::array();
    for (const auto& d : h.domains)
        domains.push_back({{"domain", d.name},
                           {"effective_mx", d.effective_mx ? nlohmann::json(*d.effective_mx)
                                                           : nlohmann::json(nullptr)},
                           {"failover_active", d.failover_active},
                           {"failover_held", d.failover_held},
                           {"mx", d.mx}});
    nlohmann::json transitions = nlohmann::json::array();
    for (const auto& t : h.recent_transitions)
        transitions.push_back({{"unix_time", t.unix_time},
                               {"target", t.target},
                               {"kind", t.kind},
                               {"from", t.from},
                               {"to", t.to},
                               {"reason", t.reason}});
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : h.recent_hook_runs)
        runs.push_back({{"unix_time", r.unix_time},
                        {"hook", r.hook},
                        {"event", r.event},
                        {"attempt", r.attempt},
                        {"result", r.result},
                        {"exit_status", r.exit_status}});
    return nlohmann::json{{"targets", targets},       {"domains", domains},
                          {"sensor_blind", h.blind},  {"recent_transitions", transitions},
                          {"recent_hook_runs", runs}, {"audit", audit_json(audit)}}
               // Audit details carry what servers said, in any bytes: invalid UTF-8 becomes
               // U+FFFD rather than an exception.
               .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
}

Result<std::string> status_table(const std::string& json) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
        std::string out =
            fmt::format("{:<28} {:<4} {:<9} {:>8} {:>7} {:>8} {:>9}  {}\n", "TARGET", "KIND",
                        "STATE", "ATTEMPTS", "ERRORS", "TIMEOUTS", "P99", "ADDRESSES");
        for (const auto& t : j.at("targets")) {
            const auto& w = t.at("window");
            out += fmt::format(
                "{:<28} {:<4} {:<9} {:>8} {:>7} {:>8} {:>8.1f}ms  {}\n",
                t.at("target").get<std::string>(), t.at("kind").get<std::string>(),
                t.at("state").get<std::string>(), w.at("attempts").get<std::uint64_t>(),
                w.at("errors").get<std::uint64_t>(), w.at("timeouts").get<std::uint64_t>(),
                w.at("p99_seconds").get<double>() * 1000,
                fmt::join(t.value("addresses", std::vector<std::string>{}), " "));
            const auto reason = t.value("reason", std::string());
            if (!reason.empty())
                out += fmt::format("  {:<27} {}\n", t.value("role", std::string()), reason);
        }
        out += fmt::format("\n{:<28} {:<28} {}\n", "DOMAIN", "EFFECTIVE MX", "FAILOVER");
        for (const auto& d : j.at("domains"))
            out += fmt::format("{:<28} {:<28} {}\n", d.at("domain").get<std::string>(),
                               d.at("effective_mx").is_null()
                                   ? std::string("-")
                                   : d.at("effective_mx").get<std::string>(),
                               d.at("failover_active").get<bool>() ? "yes"
                               : d.value("failover_held", std::string()).empty()
                                   ? "no"
                                   : "held: " + d.at("failover_held").get<std::string>());
        if (j.at("sensor_blind").get<bool>())
            out += "\nSENSOR BLIND: every target went DOWN at once; no action is taken\n";
        if (j.contains("audit"))
            out += audit_table(j.at("audit"));
        return out;
    } catch (const std::exception& e) {
        return Error{fmt::format("unexpected status document: {}", e.what())};
    }
}

} // namespace mxs
