#include "health/health.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace mxs {

HealthMonitor::HealthMonitor(const AgentOptions& o, std::vector<std::string> dns_servers,
                             std::map<std::string, std::string> dns_roles)
    : opts_(o) {
    set_targets(o.domains, dns_servers, dns_roles);
}

void HealthMonitor::reconfigure(const AgentOptions& o) {
    opts_ = o;
    for (auto& t : tracks_)
        t.verdict.set_policy(policy());
}

void HealthMonitor::restore_failover(const std::string& domain, const std::string& to) {
    for (std::size_t d = 0; d < domains_.size(); ++d)
        if (domains_[d].name == domain) {
            domains_[d].failover_active = true;
            domains_[d].failed_over_to = to;
            primary_up_since_[d] = 0;
            spdlog::warn("domain {}: failed over to {} before this start; it fails back once "
                         "its primary has not been DOWN for the failback hold and is HEALTHY",
                         domain, to);
        }
}

TransitionPolicy HealthMonitor::policy() const {
    const auto& v = opts_.verdicts;
    return {v.rise, v.fall, v.hold_down_windows, v.unknown_after_windows};
}

Thresholds HealthMonitor::thresholds() const {
    return opts_.verdicts;
}

void HealthMonitor::set_targets(const std::vector<Domain>& domains,
                                const std::vector<std::string>& dns,
                                const std::map<std::string, std::string>& dns_roles) {
    // Old state by key, taken over by the new lists where the names match.
    std::map<std::pair<std::string, std::string>, std::pair<TargetStatus, Track>> old;
    for (std::size_t i = 0; i < targets_.size(); ++i)
        old.emplace(std::make_pair(targets_[i].kind, targets_[i].name),
                    std::make_pair(targets_[i], tracks_[i]));
    std::map<std::string, std::pair<DomainStatus, std::uint64_t>> old_domains;
    for (std::size_t d = 0; d < domains_.size(); ++d)
        old_domains.emplace(domains_[d].name, std::make_pair(domains_[d], primary_up_since_[d]));
    targets_.clear();
    tracks_.clear();
    domains_.clear();
    domain_targets_.clear();
    primary_up_since_.clear();

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
            tracks_.push_back(it->second.second);
        } else {
            TargetStatus t;
            t.name = name;
            t.kind = kind;
            targets_.push_back(std::move(t));
            tracks_.push_back({TargetVerdict(policy()), {}, {}});
        }
        targets_.back().addresses = addrs;
        if (kind == "dns") {
            const auto r = dns_roles.find(name);
            targets_.back().role = r == dns_roles.end() ? "" : r->second;
        }
        index.emplace(key, targets_.size() - 1);
        return targets_.size() - 1;
    };
    for (const auto& d : domains) {
        if (auto it = old_domains.find(d.name); it != old_domains.end()) {
            domains_.push_back(it->second.first);
            primary_up_since_.push_back(it->second.second);
        } else {
            domains_.push_back({d.name, std::nullopt, false, {}, {}, {}});
            primary_up_since_.push_back(0);
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

void HealthMonitor::set_unobservable(const std::map<std::string, std::string>& why) {
    for (auto& t : targets_) {
        std::string reason;
        for (const auto& a : t.addresses) {
            const auto it = why.find(a);
            if (it == why.end()) {
                reason.clear();
                break;
            }
            if (reason.empty())
                reason = it->second;
        }
        if (!reason.empty())
            t.reason = t.window_reason = reason;
        else if (!t.not_judged.empty() && t.state == TargetState::Unknown)
            t.reason = "no evidence yet";
        t.not_judged = reason;
    }
}

void HealthMonitor::window(const Window& w) {
    ++windows_;
    const Thresholds th = thresholds();
    std::vector<TargetState> judged;
    std::vector<std::string> reasons;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        auto& ts = targets_[i];
        if (!ts.not_judged.empty()) { // its traffic never crosses a watched interface
            ts.last = {};
            ts.transports.clear();
            ts.transport_state.clear();
            ts.window_reason = ts.not_judged;
            judged.push_back(TargetState::Unknown);
            reasons.emplace_back();
            continue;
        }
        std::map<std::string, WindowEvidence> by_transport;
        for (const auto& a : ts.addresses) {
            if (ts.kind == "mx") {
                if (auto it = w.smtp.find(a); it != w.smtp.end())
                    by_transport["smtp"].merge(it->second);
            } else if (auto it = w.dns.find(a); it != w.dns.end()) {
                for (const auto& [transport, e] : it->second)
                    by_transport[transport].merge(e);
            }
        }
        auto& history = tracks_[i].history;
        for (const auto& [transport, e] : by_transport)
            history[transport]; // a transport seen for the first time gets its history
        std::vector<Judgement> parts, carried;
        ts.transport_state.clear();
        for (auto& [transport, h] : history) {
            const auto it = by_transport.find(transport);
            h.push_back(it == by_transport.end() ? WindowEvidence{} : it->second);
            while (h.size() > std::max(1u, th.latency_horizon))
                h.pop_front();
            parts.push_back(judge(h, th, transport));
            auto& prev = tracks_[i].previous[transport];
            carried.push_back(parts.back().state == TargetState::Unknown ? prev : parts.back());
            prev = parts.back();
            if (parts.back().state != TargetState::Unknown)
                ts.transport_state[transport] = parts.back().state;
        }
        auto j = combine_transports(parts);
        // A transport that had evidence last window but none in this one (a probe's outcome
        // landing just after the window's end) must not change the window's state by its
        // absence: if it would, the window is neutral (no evidence) and the streak waits.
        if (combine_transports(carried).state != j.state)
            j.state = TargetState::Unknown;
        std::vector<WindowEvidence> all;
        for (const auto& [transport, e] : by_transport)
            all.push_back(e);
        ts.last = combine(all);
        ts.transports = std::move(by_transport);
        ts.window_reason =
            j.reason.empty() ? "no traffic and no probe answers in this window" : j.reason;
        judged.push_back(j.state);
        reasons.push_back(j.reason);
        auto& tr = tracks_[i];
        if (j.state != TargetState::Unknown) {
            if (j.state == TargetState::Down && tr.last_judged != TargetState::Down)
                tr.down_run_start = windows_;
            else if (j.state != TargetState::Down)
                tr.down_run_start = 0;
            tr.last_judged = j.state;
            tr.last_judged_window = windows_;
        }
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
        auto& ts = targets_[i];
        auto t = tracks_[i].verdict.observe(judged[i]);
        const auto state = tracks_[i].verdict.state();
        if (judged[i] != TargetState::Unknown && judged[i] == state)
            ts.reason = reasons[i]; // the latest figures that agree with the state
        else if (judged[i] != TargetState::Unknown && state == TargetState::Unknown)
            ts.reason = pending_reason(tracks_[i].verdict.pending(), reasons[i]); // "1 of 2 …"
        if (!t) {
            if (!ts.not_judged.empty())
                ts.reason = ts.not_judged;
            continue;
        }
        if (t->to == TargetState::Unknown)
            ts.reason = !ts.not_judged.empty()
                            ? ts.not_judged
                            : fmt::format("no traffic and no probe answers for {} windows",
                                          opts_.verdicts.unknown_after_windows);
        ts.state = t->to;
        ++ts.transitions[{state_name(t->from), state_name(t->to)}];
        ts.last_from = state_name(t->from);
        ts.last_to = state_name(t->to);
        ts.last_change_unix = static_cast<std::int64_t>(std::time(nullptr));
        new_transitions_.push_back(
            {ts.last_change_unix, ts.name, ts.kind, ts.last_from, ts.last_to, ts.reason});
        // Into DOWN or DEGRADED is what an operator acts on (journalctl -p warning shows it);
        // recoveries and UNKNOWN (no evidence) are information.
        const bool worse = t->to == TargetState::Down || t->to == TargetState::Degraded;
        spdlog::log(worse ? spdlog::level::warn : spdlog::level::info,
                    "target {} ({}): {} -> {}: {}", ts.name, ts.kind, state_name(t->from),
                    state_name(t->to), ts.reason);
        if (on_event && t->from != TargetState::Unknown &&
            (t->to == TargetState::Down ||
             (t->from == TargetState::Down && t->to == TargetState::Healthy)))
            on_event({t->to == TargetState::Down ? "target_down" : "target_up", "", ts.name,
                      state_name(t->from), state_name(t->to), state_name(t->to), ts.reason});
    }
    for (std::size_t d = 0; d < domains_.size(); ++d)
        domain_window(d, windows_);
}

std::optional<std::string> HealthMonitor::failover_backup(const std::string& domain) const {
    for (std::size_t di = 0; di < domains_.size(); ++di) {
        if (domains_[di].name != domain || domain_targets_[di].empty())
            continue;
        std::vector<TargetState> states{TargetState::Down};
        for (std::size_t k = 1; k < domain_targets_[di].size(); ++k)
            states.push_back(targets_[domain_targets_[di][k]].state);
        if (const auto to = failover_target(states))
            return targets_[domain_targets_[di][*to]].name;
    }
    return std::nullopt;
}

bool HealthMonitor::healthy_since_primary_failed(std::size_t b, std::size_t p) const {
    const Track& bt = tracks_[b];
    return bt.last_judged == TargetState::Healthy &&
           bt.last_judged_window > tracks_[p].down_run_start;
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
    const TargetState primary = states[0];
    const auto& pt = targets_[idx[0]];
    const std::string& primary_name = pt.name;

    // The failback hold runs from the window the primary stopped being DOWN (or UNKNOWN).
    if (primary == TargetState::Healthy || primary == TargetState::Degraded) {
        if (primary_up_since_[di] == 0)
            primary_up_since_[di] = window_index;
    } else {
        primary_up_since_[di] = 0;
    }
    // What senders see: while failed over, the chosen backup first, then the rest in order.
    auto effective = [&] {
        std::vector<std::size_t> order(idx.size());
        for (std::size_t k = 0; k < idx.size(); ++k)
            order[k] = k;
        if (dom.failover_active)
            std::stable_partition(order.begin(), order.end(), [&](std::size_t k) {
                return targets_[idx[k]].name == dom.failed_over_to;
            });
        std::vector<TargetState> seen;
        for (auto k : order)
            seen.push_back(states[k]);
        const auto e = effective_mx(seen);
        dom.effective_mx =
            e ? std::optional<std::string>(targets_[idx[order[*e]]].name) : std::nullopt;
    };
    if (!dom.failover_active) {
        // Fail over only away from a DOWN primary and only to a HEALTHY backup that
        // showed its health after the primary began failing.
        std::vector<TargetState> proven = states;
        std::vector<std::string> stale;
        for (std::size_t k = 1; k < idx.size(); ++k)
            if (proven[k] == TargetState::Healthy &&
                !healthy_since_primary_failed(idx[k], idx[0])) {
                proven[k] = TargetState::Unknown;
                stale.push_back(targets_[idx[k]].name);
            }
        std::string held;
        if (primary == TargetState::Down && !failover_target(proven) && !stale.empty())
            held = fmt::format("{} HEALTHY only before {} began failing: waiting for evidence "
                               "(the fault may be on this host's path to every MX host)",
                               fmt::join(stale, ", "), primary_name);
        if (held != dom.failover_held && !held.empty())
            spdlog::warn("domain {}: no failover yet: {}", dom.name, held);
        dom.failover_held = held;
        if (const auto to = failover_target(proven)) {
            const std::string& backup = targets_[idx[*to]].name;
            const auto reason =
                fmt::format("{} DOWN ({}); {} HEALTHY", primary_name, pt.reason, backup);
            if (on_event && !on_event({"domain_failover", dom.name, primary_name, primary_name,
                                       backup, "DOWN", reason})) {
                effective();
                return; // a hook refused: try again next window
            }
            dom.failover_active = true;
            dom.failed_over_to = backup;
            spdlog::warn("domain {}: failover {} -> {}: {}", dom.name, primary_name, backup,
                         reason);
        }
        effective();
        return;
    }
    const double held_s = primary_up_since_[di] == 0
                              ? 0
                              : static_cast<double>(window_index - primary_up_since_[di] + 1) *
                                    opts_.verdicts.window_s;
    if (primary == TargetState::Healthy && held_s >= opts_.verdicts.failback_hold_s) {
        const auto reason =
            fmt::format("{} not DOWN for {:g} s and HEALTHY ({})", primary_name, held_s, pt.reason);
        if (on_event && !on_event({"domain_failback", dom.name, primary_name, dom.failed_over_to,
                                   primary_name, "HEALTHY", reason})) {
            effective();
            return; // a hook refused: try again next window
        }
        dom.failover_active = false;
        spdlog::info("domain {}: failback to {}: {}", dom.name, primary_name, reason);
    }
    effective();
}

} // namespace mxs
