// Health of the configured targets and domains, window by window (issue 4):
// evidence -> per-target verdicts -> domain effective MX -> hook events, with
// the safety rules: no action on UNKNOWN, none when every target is DOWN at
// once (the sensor's own network), a failover only to a HEALTHY backup, a
// failback only after the primary stayed HEALTHY for the failback hold.
#pragma once

#include "evidence.h"
#include "hook_runner.h"
#include "options.h"
#include "verdict.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mxs {

struct TargetStatus {
    std::string name; // MX host name or DNS server address
    std::string kind; // mx | dns
    TargetState state = TargetState::Unknown;
    WindowEvidence last; // the last window's figures
    std::map<std::pair<std::string, std::string>, std::uint64_t> transitions; // (from,to) -> n
    std::string last_from, last_to; // the last transition, if any
    std::int64_t last_change_unix = 0;
    std::vector<std::string> addresses; // what the evidence is read from
};

struct TransitionRecord {
    std::int64_t unix_time = 0;
    std::string target, kind, from, to;
};

struct DomainStatus {
    std::string name;
    std::optional<std::string> effective_mx;
    bool failover_active = false;
    std::string failed_over_to;  // the backup chosen at failover
    std::vector<std::string> mx; // MX hosts in preference order (configured or discovered)
};

class HealthMonitor {
  public:
    // Evidence of one window: per address, client role (this host asks / connects).
    struct Window {
        std::map<std::string, WindowEvidence> dns;  // by server address
        std::map<std::string, WindowEvidence> smtp; // by MX address
    };

    HealthMonitor(const AgentOptions& o, std::vector<std::string> dns_servers);

    // A domain failed over before a restart or reload: failed over to `to`, so
    // it fails back (not over again) once its primary is HEALTHY for the hold.
    void restore_failover(const std::string& domain, const std::string& to);

    // Replaces the targets (domains with their MX hosts and addresses, DNS
    // servers) as discovery learns them; a target or domain kept by name keeps
    // its state, streaks and counts.
    void set_targets(const std::vector<Domain>& domains, const std::vector<std::string>& dns);

    // Judges one window; calls on_event for each hook event it decides.
    void window(const Window& w);

    // Runs the hooks of an event; false when a hook refused (busy, cooldown): a
    // domain then keeps its state and the switch is tried again next window.
    std::function<bool(const HookEvent&)> on_event;

    const std::vector<TargetStatus>& targets() const { return targets_; }
    const std::vector<DomainStatus>& domains() const { return domains_; }
    bool blind() const { return blind_; }
    // The transitions since the last call, oldest first.
    std::vector<TransitionRecord> take_transitions() { return std::exchange(new_transitions_, {}); }
    std::uint64_t blind_windows() const { return blind_windows_; }

  private:
    void domain_window(std::size_t di, std::uint64_t window_index);
    TransitionPolicy policy() const;

    AgentOptions opts_;
    std::vector<TargetStatus> targets_;
    std::vector<TargetVerdict> verdicts_;
    std::vector<DomainStatus> domains_;
    std::vector<std::vector<std::size_t>> domain_targets_; // per domain, MX targets in order
    std::vector<std::uint64_t> primary_healthy_since_;     // window index, per domain
    std::uint64_t windows_ = 0;
    bool blind_ = false;
    std::uint64_t blind_windows_ = 0;
    std::vector<TransitionRecord> new_transitions_;
};

} // namespace mxs
