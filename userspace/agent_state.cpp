// The agent's state file: which domains are failed over, across restarts.
#include "agent.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace mxs {

// The state file: {"failed_over": {DOMAIN: {"to": MX, "order": [MX, ...]}}}.
// A missing file is a first start; an unreadable one is logged and ignored.
void Agent::load_state() {
    if (opts_.state_file.empty())
        return;
    std::ifstream in(opts_.state_file);
    if (!in)
        return;
    try {
        const auto j = nlohmann::json::parse(in);
        for (const auto& [name, d] : j.at("failed_over").items())
            failed_over_[name] = {d.at("to").get<std::string>(),
                                  d.at("order").get<std::vector<std::string>>()};
        saved_state_ = j.dump();
        if (!failed_over_.empty())
            spdlog::info("state {}: {} domain(s) failed over before this start", opts_.state_file,
                         failed_over_.size());
    } catch (const std::exception& e) {
        spdlog::error("state {}: unreadable, ignored ({})", opts_.state_file, e.what());
    }
}

// Writes the failed-over domains when they change (write, then rename).
void Agent::save_state() {
    nlohmann::json domains = nlohmann::json::object();
    std::map<std::string, FailedOver> now;
    for (const auto& d : health_->domains()) {
        if (!d.failover_active)
            continue;
        // Not discovered again yet since the start: the remembered order stands.
        const auto before = failed_over_.find(d.name);
        auto order = d.mx.empty() && before != failed_over_.end() ? before->second.order : d.mx;
        domains[d.name] = {{"to", d.failed_over_to}, {"order", order}};
        now[d.name] = {d.failed_over_to, std::move(order)};
    }
    failed_over_ = std::move(now);
    const auto text = nlohmann::json{{"failed_over", domains}}.dump();
    if (opts_.state_file.empty() || text == saved_state_)
        return;
    std::error_code ec;
    const std::filesystem::path path(opts_.state_file);
    std::filesystem::create_directories(path.parent_path(), ec);
    const auto tmp = opts_.state_file + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text << "\n";
        if (!out.flush()) {
            spdlog::error("state {}: cannot write it; failovers are not kept across a restart",
                          tmp);
            return;
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        spdlog::error("state {}: {}", opts_.state_file, ec.message());
        return;
    }
    saved_state_ = text;
}

} // namespace mxs
