// What the agent knows of the kernel: prepared on the agent's loop, rendered at scrape time.
#pragma once

#include "dns_model.h"
#include "health.h"
#include "http_limits.h"
#include "kernel_types.h"
#include "smtp_model.h"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace mxs {

struct InterfaceCounters {
    std::string name;
    std::array<std::uint64_t, MXS_DIR_MAX> packets{};
};

struct Attachment {
    std::string interface;
    std::string hook; // xdp | tc
    std::string mode; // native | generic | tcx | netlink
};

// Entries in one sensor map and its capacity (max_entries).
struct MapUsage {
    std::uint64_t entries = 0;
    std::uint64_t capacity = 0;
};

struct SensorSnapshot {
    std::array<std::uint64_t, MXS_C_MAX> counters{};
    std::vector<InterfaceCounters> interfaces;
    std::vector<Attachment> attachments;
    std::uint64_t inflight_entries = 0; // client role (this host's queries)
    std::uint64_t inflight_capacity = 0;
    std::uint64_t inflight_server_entries = 0; // server role (queries to this host)
    std::uint64_t inflight_server_capacity = 0;
    std::uint64_t stats_entries = 0;
    std::uint64_t stats_capacity = 0;
    std::uint64_t expired_total = 0; // in-flight queries the sweeper removed
    std::uint64_t sweeps_total = 0;
    std::uint64_t smtp_flow_entries = 0;
    std::uint64_t smtp_flow_capacity = 0;
    std::uint64_t smtp_stats_entries = 0; // SMTP servers with statistics in the kernel
    std::uint64_t smtp_stats_capacity = 0;
    std::uint64_t smtp_evicted_total = 0; // idle connections the sweeper removed
    // Maps no sweep walks, counted when a scrape asks, by their `map` label (Sensor::map_usage).
    std::map<std::string, MapUsage> counted_maps;
};

inline constexpr std::size_t kRecent = 50; // transitions and hook runs kept for the views

struct HookRunRecord {
    std::int64_t unix_time = 0;
    std::string hook, event, result;
    int exit_status = -1;
    unsigned attempt = 0;
};

struct HealthSnapshot {
    std::vector<TargetStatus> targets;
    std::vector<DomainStatus> domains;
    bool blind = false;
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t>
        hook_runs;                                   // (hook, event, result) -> runs
    std::deque<TransitionRecord> recent_transitions; // oldest first
    std::deque<HookRunRecord> recent_hook_runs;
};

// Active probes: runs by (kind, target, result), the last run's duration, and
// rounds a target was not probed because passive traffic already judged it.
struct ProbeSnapshot {
    std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> runs;
    std::map<std::pair<std::string, std::string>, double> last_seconds;
    std::map<std::pair<std::string, std::string>, std::uint64_t> skipped;
    std::uint64_t discovery_lookups = 0;
    std::uint64_t discovery_failures = 0;
};

// Alertmanager webhook deliveries by result, and alerts by status and result.
struct WebhookSnapshot {
    std::map<std::string, std::uint64_t> requests;
    std::map<std::pair<std::string, std::string>, std::uint64_t> alerts;
};

struct Snapshot {
    std::map<SeriesKey, DnsCounters> dns;
    std::map<SmtpSeriesKey, SmtpCounters> smtp;
    HealthSnapshot health;
    ProbeSnapshot probes;
    WebhookSnapshot webhook;
    HttpStats http;
    bool config_reload_ok = true;
    std::uint64_t config_reloads = 0;
    SensorSnapshot sensor;
};

} // namespace mxs
