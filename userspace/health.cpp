#include "health.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <spdlog/spdlog.h>

namespace mxs {

HealthMonitor::HealthMonitor(const AgentOptions& o, std::vector<std::string> dns_servers)
    : opts_(o) {
    set_targets(o.domains, dns_servers);
}

void HealthMonitor::restore_failover(const std::string& domain, const std::string& to) {
    for (std::size_t d = 0; d < domains_.size(); ++d)
        if (domains_[d].name == domain) {
            domains_[d].failover_active = true;
            domains_[d].failed_over_to = to;
            primary_healthy_since_[d] = 0;
            spdlog::warn("domain {}: failed over to {} before this start; it fails back once "
                         "its primary stays HEALTHY for the failback hold",
                         domain, to);
        }
}

TransitionPolicy HealthMonitor::policy() const {
    const auto& v = opts_.verdicts;
    return {v.rise, v.fall, v.hold_down_windows, v.unknown_after_windows};
}

void HealthMonitor::set_targets(const std::vector<Domain>& domains,
                                const std::vector<std::string>& dns) {
    // Old state by key, taken over by the new lists where the names match.
    std::map<std::pair<std::string, std::string>, std::pair<TargetStatus, TargetVerdict>> old;
    for (std::size_t i = 0; i < targets_.size(); ++i)
        old.emplace(std::make_pair(targets_[i].kind, targets_[i].name),
                    std::make_pair(targets_[i], verdicts_[i]));
    std::map<std::string, std::pair<DomainStatus, std::uint64_t>> old_domains;
    for (std::size_t d = 0; d < domains_.size(); ++d)
        old_domains.emplace(domains_[d].name,
                            std::make_pair(domains_[d], primary_healthy_since_[d]));
    targets_.clear();
    verdicts_.clear();
    domains_.clear();
    domain_targets_.clear();
    primary_healthy_since_.clear();

    std::map<std::pair<std::string, std::string>, std::size_t> index;
    auto add = [&](const std::string& kind, const std::string& name,
                   const std::vector<std::string>& addrs) {
        const auto key = std::make_pair(kind, name);
        if (auto it = index.find(key); it != index.end()) {
            // The same MX host under two domains: one target, the union of addresses.
            for (const auto& a : addrs)
                if (auto& have = targets_[it->second].addresses;
                    std::find(have.begin(), have.end(), a) == have.end())
                    have.push_back(a);
            return it->second;
        }
        if (auto it = old.find(key); it != old.end()) {
            targets_.push_back(it->second.first);
            verdicts_.push_back(it->second.second);
        } else {
            targets_.push_back(
                TargetStatus{name, kind, TargetState::Unknown, {}, {}, {}, {}, 0, {}});
            verdicts_.emplace_back(policy());
        }
        targets_.back().addresses = addrs;
        index.emplace(key, targets_.size() - 1);
        return targets_.size() - 1;
    };
    for (const auto& d : domains) {
        if (auto it = old_domains.find(d.name); it != old_domains.end()) {
            domains_.push_back(it->second.first);
            primary_healthy_since_.push_back(it->second.second);
        } else {
            domains_.push_back({d.name, std::nullopt, false, {}, {}});
            primary_healthy_since_.push_back(0);
        }
        domain_targets_.emplace_back();
        domains_.back().mx.clear();
        for (const auto& m : d.mx) {
            domain_targets_.back().push_back(add("mx", m.host, m.addresses));
            domains_.back().mx.push_back(m.host);
        }
    }
    for (const auto& s : dns)
        add("dns", s, {s});
}

void HealthMonitor::window(const Window& w) {
    ++windows_;
    const Thresholds th{opts_.verdicts.min_attempts, opts_.verdicts.down_failure_ratio,
                        opts_.verdicts.degraded_failure_ratio, opts_.verdicts.degraded_p99_s};
    std::vector<TargetState> judged;
    std::vector<std::optional<Transition>> changes;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        const auto& source = targets_[i].kind == "mx" ? w.smtp : w.dns;
        std::vector<WindowEvidence> parts;
        for (const auto& a : targets_[i].addresses)
            if (auto it = source.find(a); it != source.end())
                parts.push_back(it->second);
        targets_[i].last = combine(parts);
        judged.push_back(judge(targets_[i].last, th));
    }
    // Every target with evidence DOWN in the same window: suspect our own network.
    std::vector<TargetState> with_evidence;
    for (auto s : judged)
        if (s != TargetState::Unknown)
            with_evidence.push_back(s);
    blind_ = with_evidence.size() >= 2 && all_down(with_evidence);
    if (blind_) {
        ++blind_windows_;
        spdlog::warn("every target is DOWN in this window: suspecting the sensor's own network, "
                     "no verdict changes and no actions");
        return;
    }
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        auto t = verdicts_[i].observe(judged[i]);
        if (!t)
            continue;
        auto& ts = targets_[i];
        ts.state = t->to;
        ++ts.transitions[{state_name(t->from), state_name(t->to)}];
        ts.last_from = state_name(t->from);
        ts.last_to = state_name(t->to);
        ts.last_change_unix = static_cast<std::int64_t>(std::time(nullptr));
        new_transitions_.push_back(
            {ts.last_change_unix, ts.name, ts.kind, ts.last_from, ts.last_to});
        spdlog::info("target {} ({}): {} -> {}", ts.name, ts.kind, state_name(t->from),
                     state_name(t->to));
        if (on_event && t->from != TargetState::Unknown &&
            (t->to == TargetState::Down ||
             (t->from == TargetState::Down && t->to == TargetState::Healthy)))
            on_event({t->to == TargetState::Down ? "target_down" : "target_up", "", ts.name,
                      state_name(t->from), state_name(t->to), state_name(t->to),
                      fmt::format("{} attempts, {} errors, {} timeouts", ts.last.attempts,
                                  ts.last.errors, ts.last.timeouts)});
    }
    for (std::size_t d = 0; d < domains_.size(); ++d)
        domain_window(d, windows_);
}

void HealthMonitor::domain_window(std::size_t di, std::uint64_t window_index) {
    auto& dom = domains_[di];
    const auto& idx = domain_targets_[di];
    if (idx.empty()) { // discovery has not found its MX hosts yet
        dom.effective_mx.reset();
        return;
    }
    std::vector<TargetState> states;
    for (auto i : idx)
        states.push_back(targets_[i].state);
    const auto eff = effective_mx(states);
    dom.effective_mx = eff ? std::optional<std::string>(targets_[idx[*eff]].name) : std::nullopt;
    const TargetState primary = states[0];
    const std::string& primary_name = targets_[idx[0]].name;

    if (primary == TargetState::Healthy) {
        if (primary_healthy_since_[di] == 0)
            primary_healthy_since_[di] = window_index;
    } else {
        primary_healthy_since_[di] = 0;
    }
    if (!dom.failover_active) {
        // Fail over only away from a DOWN primary and only to a HEALTHY backup.
        if (primary == TargetState::Down && eff && *eff > 0) {
            if (on_event && !on_event({"domain_failover", dom.name, primary_name, primary_name,
                                       *dom.effective_mx, "DOWN", "primary MX down"}))
                return; // a hook refused: try again next window
            dom.failover_active = true;
            dom.failed_over_to = *dom.effective_mx;
            spdlog::warn("domain {}: failover {} -> {}", dom.name, primary_name, *dom.effective_mx);
        }
        return;
    }
    const double held_s = primary_healthy_since_[di] == 0
                              ? 0
                              : static_cast<double>(window_index - primary_healthy_since_[di] + 1) *
                                    opts_.verdicts.window_s;
    if (primary == TargetState::Healthy && held_s >= opts_.verdicts.failback_hold_s) {
        if (on_event &&
            !on_event({"domain_failback", dom.name, primary_name, dom.failed_over_to, primary_name,
                       "HEALTHY", "primary MX healthy for the failback hold"}))
            return; // a hook refused: try again next window
        dom.failover_active = false;
        spdlog::info("domain {}: failback to {}", dom.name, primary_name);
    }
}

} // namespace mxs
