// Health of the configured targets and domains, window by window (issue 4):
// evidence -> per-transport judgements -> per-target verdicts with a reason ->
// domain effective MX -> hook events, with the safety rules: no action on
// UNKNOWN, none when every target is DOWN at once (the sensor's own network), a
// failover only away from a DOWN primary and only to a HEALTHY backup, a
// failback only once the primary has not been DOWN for the failback hold and
// is HEALTHY (DEGRADED spells do not restart the hold).
#pragma once

#include "config/options.h"
#include "health/evidence.h"
#include "health/hook_event.h"
#include "health/verdict.h"

#include <cstdint>
#include <deque>
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
    // Why the target is in its state: the reason of the latest window that
    // agreed with it, e.g. "tcp: 4/4 connections refused; udp ok, p99 3 ms".
    std::string reason = "no evidence yet";
    std::string window_reason;                          // what the last window alone showed
    std::string role;                                   // DNS: resolver | authoritative for ZONE
    std::map<std::string, WindowEvidence> transports;   // the last window by transport
    std::map<std::string, TargetState> transport_state; // its judgement by transport
    // Non-empty: every address is loopback or this host's own (local_addr.h), so its
    // traffic never crosses a watched interface: not judged (UNKNOWN, never DOWN); why.
    std::string not_judged;
};

struct TransitionRecord {
    std::int64_t unix_time = 0;
    std::string target, kind, from, to;
    std::string reason;
};

struct DomainStatus {
    std::string name;
    std::optional<std::string> effective_mx;
    bool failover_active = false;
    std::string failed_over_to;  // the backup chosen at failover
    std::vector<std::string> mx; // MX hosts in preference order (configured or discovered)
    // Why a DOWN primary is not failed over this window (empty when it is not DOWN or
    // when it failed over), e.g. "mx2.example.test HEALTHY only before mx1 failed".
    std::string failover_held;
};

class HealthMonitor {
  public:
    // Evidence of one window: per address, client role (this host asks / connects).
    struct Window {
        // by server address, then transport ("udp", "tcp")
        std::map<std::string, std::map<std::string, WindowEvidence>> dns;
        std::map<std::string, WindowEvidence> smtp; // by MX address
    };

    // dns_roles: address -> the role shown with a DNS target ("resolver", …).
    HealthMonitor(const AgentOptions& o, std::vector<std::string> dns_servers,
                  std::map<std::string, std::string> dns_roles = {});

    // A reload's options: verdict thresholds and the transition policy apply from the
    // next window; every target keeps its state, streak and window history (call
    // set_targets for the new target lists).
    void reconfigure(const AgentOptions& o);

    // A domain failed over before a restart: failed over to `to`, so
    // it fails back (not over again) once its primary is HEALTHY for the hold.
    void restore_failover(const std::string& domain, const std::string& to);

    // Replaces the targets (domains with their MX hosts and addresses, DNS
    // servers) as discovery learns them; a target or domain kept by name keeps
    // its state, streaks and counts.
    void set_targets(const std::vector<Domain>& domains, const std::vector<std::string>& dns,
                     const std::map<std::string, std::string>& dns_roles = {});

    // Addresses the sensor cannot observe, with why (local_addr.h): a target all of
    // whose addresses are among them is not judged (TargetStatus::not_judged).
    // Call after set_targets; a target no longer among them is judged again.
    void set_unobservable(const std::map<std::string, std::string>& why);

    // Judges one window; calls on_event for each hook event it decides.
    void window(const Window& w);

    // Runs the hooks of an event; false when a hook refused (busy, cooldown): a
    // domain then keeps its state and the switch is tried again next window.
    std::function<bool(const HookEvent&)> on_event;

    // The backup a failover of `domain` away from its primary goes to when the primary is
    // judged DOWN elsewhere (an Alertmanager alert from other vantage points): the first
    // HEALTHY MX host after the primary in preference order (failover_target with the
    // primary taken as DOWN). nullopt for an unknown domain or when no backup is HEALTHY.
    std::optional<std::string> failover_backup(const std::string& domain) const;

    const std::vector<TargetStatus>& targets() const { return targets_; }
    const std::vector<DomainStatus>& domains() const { return domains_; }
    bool blind() const { return blind_; }
    // The transitions since the last call, oldest first.
    std::vector<TransitionRecord> take_transitions() { return std::exchange(new_transitions_, {}); }
    std::uint64_t blind_windows() const { return blind_windows_; }

  private:
    // A target's verdict and its recent windows by transport (the horizon).
    struct Track {
        TargetVerdict verdict;
        std::map<std::string, std::deque<WindowEvidence>> history;
        std::map<std::string, Judgement> previous; // the last window's, by transport
        // The latest window judged with evidence (not UNKNOWN) and its judgement.
        TargetState last_judged = TargetState::Unknown;
        std::uint64_t last_judged_window = 0;
        // The first window of the current run of DOWN judgements (0: not judged DOWN last).
        std::uint64_t down_run_start = 0;
    };

    // Whether backup target `b` showed health after primary `p` began failing: its
    // latest judgement with evidence is HEALTHY and from a window after the first
    // window of the primary's run of DOWN judgements. A backup judged HEALTHY only
    // before the primary failed (an idle backup whose probe has not come back yet)
    // is not proof: the failure may be on the sensor's own path to both.
    bool healthy_since_primary_failed(std::size_t b, std::size_t p) const;

    void domain_window(std::size_t di, std::uint64_t window_index);
    TransitionPolicy policy() const;
    Thresholds thresholds() const;

    AgentOptions opts_;
    std::vector<TargetStatus> targets_;
    std::vector<Track> tracks_;
    std::vector<DomainStatus> domains_;
    std::vector<std::vector<std::size_t>> domain_targets_; // per domain, MX targets in order
    // Per domain: the window since which the primary has been neither DOWN nor
    // UNKNOWN (0: it is DOWN or UNKNOWN now) - the failback hold counts from it.
    std::vector<std::uint64_t> primary_up_since_;
    std::uint64_t windows_ = 0;
    bool blind_ = false;
    std::uint64_t blind_windows_ = 0;
    std::vector<TransitionRecord> new_transitions_;
};

} // namespace mxs
