// Agent settings: one field per option, its member initializer the default. Which key, flag,
// range and reload behaviour each has is in option_table.h; validate.h checks the whole.
// Where a stage takes a part of the options as its own struct (the sensor's ports and maps,
// a hook's command and timing, the verdict thresholds), the options extend that struct, so
// every default is written once, beside the code that uses it.
#pragma once

#include "actions/hook_spec.h"
#include "audit/audit_policy.h"
#include "config/web_config.h"
#include "health/thresholds.h"
#include "kernel/sensor_config.h"
#include "views/http_limits.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace mxs {

// 9100-9999 is fully allocated to exporters; 10053 ("DNS 53") collides with none of them.
inline constexpr const char* kDefaultListen = "127.0.0.1:10053";

// Exported histogram bounds at most (each is one series per server and role).
inline constexpr std::size_t kMaxLatencyBuckets = 64;

// An MX host of a domain, in preference order; its verdict combines all its addresses.
struct MxHost {
    std::string host;
    std::vector<std::string> addresses;

    bool operator==(const MxHost&) const = default;
};

struct Domain {
    std::string name;
    std::vector<MxHost> mx;     // preference order: the first is the primary
    bool discover = false;      // MX hosts (and their addresses) from DNS, refreshed by TTL
    bool authoritative = false; // also judge the domain's name servers (from its NS records)

    bool operator==(const Domain&) const = default;
};

// What one DNS server is asked by the probes, instead of what its role implies.
struct ProbeTarget {
    std::string address;
    std::string role; // resolver | authoritative
    std::string name; // resolver: the name to resolve; authoritative: its zone (required)
    std::string type; // empty: MX for a resolver, SOA for an authoritative server

    bool operator==(const ProbeTarget&) const = default;
};

// Active probes for targets without passive traffic in the last window.
struct ProbeOptions {
    bool enabled = true;
    double interval_s = 10;
    double timeout_s = 5;
    // Resolvers (dns_servers, resolv.conf) are asked dns_name/dns_type recursively;
    // empty: each configured domain's MX in turn, or ". NS" without domains. An
    // authoritative server (a domain's NS) is asked its zone's SOA, not recursively.
    std::string dns_name;
    std::string dns_type;             // empty: MX (with dns_name)
    std::string ehlo_name;            // empty: this host's name
    bool starttls = true;             // STARTTLS (and a TLS handshake) where the server offers it
    std::vector<ProbeTarget> targets; // per-address overrides
};

// MX, A/AAAA and NS lookups for discovered domains.
struct DiscoveryOptions {
    std::string resolver; // empty: the first judged DNS server
    double min_refresh_s = 30;
    double max_refresh_s = 3600;
    double retry_s = 30; // after a failed lookup
};

// A hook as configured: its command and timing (HookSpec) and the events that run it.
struct HookConfig : HookSpec {
    std::vector<std::string> events; // target_down, target_up, domain_failover, domain_failback

    bool operator==(const HookConfig&) const = default;
};

// The evidence limits (Thresholds), how states change between windows, and the failback hold.
struct VerdictOptions : Thresholds {
    double window_s = 10;
    unsigned rise = 2;
    unsigned fall = 2;
    unsigned hold_down_windows = 3;
    unsigned unknown_after_windows = 6;
    double failback_hold_s = 300;
};

inline const char* const kHookEvents[] = {"target_down", "target_up", "domain_failover",
                                          "domain_failback"};

// The Alertmanager webhook: off unless enabled; the token is read from token_file.
struct WebhookOptions {
    bool enabled = false;
    std::string token_file;
    std::string hook; // the name of the hook a firing/resolved alert runs
    std::string token;
    // ADDR:PORT of a listener of its own, which serves the webhook alone (and `listen` then
    // does not); empty: the webhook is served on `listen`.
    std::string listen;
};

// The periodic mail-domain audit of the configured domains (README "Mail-domain audit").
struct AuditAgentOptions : AuditPolicy {
    double interval_s = 3600; // 0: no periodic audit
};

// The ports and map sizes are the sensor's (SensorConfig); the rest is the agent's.
struct AgentOptions : SensorConfig {
    std::vector<std::string> interfaces; // empty: the default-route interface
    std::string listen = kDefaultListen;
    double dns_timeout_s = 5.0;
    double sweep_interval_s = 1.0;
    std::uint32_t max_labelled_servers = 256;
    /// The MX port: the first of smtp_ports that is not implicit TLS (25 by default), where
    /// senders deliver, MX hosts are probed, and their verdict evidence comes from.
    std::uint16_t mx_port() const {
        for (auto p : smtp_ports)
            if (std::find(smtp_tls_ports.begin(), smtp_tls_ports.end(), p) == smtp_tls_ports.end())
                return p;
        return smtp_ports.empty() ? 25 : smtp_ports.front();
    }
    double smtp_connect_timeout_s = 10.0;
    double smtp_idle_timeout_s = 600.0;
    std::vector<double> latency_buckets_s = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
    std::string xdp_mode = "auto";  // auto | native | generic
    std::string log_level = "info"; // debug | info | warn (warning) | error
    // auto: journal when stderr is the journal, else text; text: "2026-11-30T03:00:00.000Z info
    // ..." lines (UTC); journal: "<6>..." (sd-daemon priority, no time); json: one object per
    // line with "time" (UTC, RFC 3339), "level" and "message", for log shippers
    // (base/log_format.h).
    std::string log_format = "auto";
    // Health verdicts (issue 4).
    std::vector<std::string> dns_servers; // empty: the nameservers of /etc/resolv.conf
    std::vector<Domain> domains;
    VerdictOptions verdicts;
    std::vector<HookConfig> hooks;
    ProbeOptions probes;
    DiscoveryOptions discovery;
    WebhookOptions webhook;
    AuditAgentOptions audit;
    HttpLimits http; // connections and requests of the HTTP server (README "HTTP limits")
    // The web configuration file (TLS, basic auth; README "Web configuration"), and what it
    // held when the options were read (load_web_options()); empty: plain HTTP, no auth.
    std::string web_config_file;
    WebConfig web;
    // Which domains are failed over (and their preference order), kept across
    // restarts and reloads so a switched zone is still switched back; empty: none.
    std::string state_file = "/var/lib/mxsense/state.json";
    // The account to switch to once the sensor is attached (names or ids); empty: stay.
    // The group defaults to the user's primary group. Changes need a restart.
    std::string user;
    std::string group;
    std::string config_path; // the --config file, reread on SIGHUP
};

} // namespace mxs
