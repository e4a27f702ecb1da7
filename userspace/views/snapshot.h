// What the agent shows: the counters, verdicts, probes, webhook, HTTP server and kernel as of
// the last refresh, prepared on the agent's loop and rendered at scrape time (metrics, status).
#pragma once

#include "actions/webhook_counts.h"
#include "audit/finding.h"
#include "counters/dns_model.h"
#include "counters/smtp_model.h"
#include "health/health.h"
#include "kernel/build_info.h"
#include "kernel/kernel_types.h"
#include "kernel/sensor_snapshot.h"
#include "probes/probe_counts.h"
#include "views/http_limits.h"
#include "views/process_metrics.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mxs {

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

struct Snapshot {
    std::map<SeriesKey, DnsCounters> dns;
    std::map<SmtpSeriesKey, SmtpCounters> smtp;
    HealthSnapshot health;
    ProbeCounts probes;
    WebhookCounts webhook;
    HttpStats http;
    bool config_reload_ok = true;             // the last reload (SIGHUP) applied its file
    std::uint64_t config_reloads = 0;         // reloads applied
    std::uint64_t config_reload_failures = 0; // reloads refused (the file) or not done (no thread)
    // Unix time the running configuration was read (the start, then each applied reload);
    // 0: never.
    double config_last_reload_success_s = 0;
    BuildInfo build;
    std::optional<ProcessStats> process; // read at each scrape; nullopt: not read
    SensorSnapshot sensor;
    AuditSnapshot audit;
};

} // namespace mxs
