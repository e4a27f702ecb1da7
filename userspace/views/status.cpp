#include "views/status.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace mxs {

std::string status_json(const HealthSnapshot& h) {
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
    return nlohmann::json{{"targets", targets},
                          {"domains", domains},
                          {"sensor_blind", h.blind},
                          {"recent_transitions", transitions},
                          {"recent_hook_runs", runs}}
               .dump(2) +
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
        return out;
    } catch (const std::exception& e) {
        return Error{fmt::format("unexpected status document: {}", e.what())};
    }
}

} // namespace mxs
