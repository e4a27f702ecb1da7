// The option table: every option of the agent, one entry each (option_table.h says what an
// entry holds; option_use.cpp what it is used for).
#include "config/option_table.h"

#include "kernel/kernel_types.h"
#include "views/http_limits.h"

namespace mxs {
namespace {

// The field of AgentOptions an option sets, as a plain function (the table is static data).
#define MXS_FIELD(member)                                                                          \
    +[](AgentOptions & o) -> auto& {                                                               \
        return o.member;                                                                           \
    }
// A field of a list's item; a hook's fields of HookSpec as fields of HookConfig.
#define MXS_ITEM(Item, member) static_cast<decltype(Item::member) Item::*>(&Item::member)

// Above 2^24 entries the kernel refuses a map (or the memory) with an errno that names nothing.
constexpr double kMaxMapEntries = 1u << 24;

constexpr Range seconds(double min, double max) {
    return {min, max, false, "seconds"};
}
constexpr Range whole(double min, double max, const char* unit = "") {
    return {min, max, true, unit};
}
constexpr Range ratio() {
    return {0, 1, false, "", true}; // (0, 1]
}
constexpr Range entries() {
    return whole(1, kMaxMapEntries, "entries");
}
constexpr Range port() {
    return whole(1, 65535);
}

// Lower bounds: a timeout of at least a millisecond, a latency bound of at least a microsecond
// (1e-300 was accepted and became a zero-length timer).
// Upper bounds: what still makes sense for a host's sensor, and keeps a typo (1e300, 2^32 - 1)
// from becoming a timer that never fires, an allocation the kernel refuses, or a history that
// eats the memory (latency_horizon keeps that many windows per target and transport).
const OptionSpec kOptions[] = {
    // What is watched, and how the agent runs: a restart applies these (the sensor is loaded
    // and attached, the port bound and privileges dropped once).
    {"interfaces", "-i,--interface",
     "Interface to watch (repeatable; default: the default-route interface)", MXS_FIELD(interfaces),
     Apply::restart},
    {"listen", "-l,--listen", "Metrics address ADDR:PORT or [V6]:PORT", MXS_FIELD(listen),
     Apply::restart},
    {"web_config_file", "--web-config-file",
     "Web configuration file (Prometheus exporter-toolkit format): TLS and basic auth for the "
     "metrics, status page and API; read again on reload",
     MXS_FIELD(web_config_file)},
    {"xdp_mode",
     "--xdp-mode",
     "auto (native, else generic), native or generic",
     MXS_FIELD(xdp_mode),
     Apply::restart,
     {},
     {},
     "auto|native|generic"},
    {"log_level",
     "--log-level",
     "debug, info, warn (or warning) or error",
     MXS_FIELD(log_level),
     Apply::restart,
     {},
     {},
     "debug|info|warn|warning|error"},
    {"log_format",
     "--log-format",
     "auto (journal when stderr is the systemd journal, else text), text (UTC time stamps), "
     "journal (<N> priority prefixes, no time stamps) or json (one object per line, for log "
     "shippers)",
     MXS_FIELD(log_format),
     Apply::restart,
     {},
     {},
     "auto|text|journal|json"},
    {"user", "-u,--user",
     "Run as this user (name or uid) once the sensor is attached; changing it needs a restart",
     MXS_FIELD(user), Apply::restart},
    {"group", "--group", "With --user: this group instead of the user's primary group",
     MXS_FIELD(group), Apply::restart},
    {"state_file", "",
     "Where failed-over domains are kept across restarts (absolute path; empty: nowhere)",
     MXS_FIELD(state_file), Apply::restart},
    {"max_servers", "--max-servers",
     "Servers with their own label; the rest are summed as server=\"other\"",
     MXS_FIELD(max_labelled_servers), Apply::restart, whole(1, 65536, "servers")},
    {"sweep_interval", "--sweep-interval", "Seconds between sweeps of unanswered queries",
     MXS_FIELD(sweep_interval_s), Apply::reload, seconds(0.05, 60)},
    {"latency_buckets", "--latency-buckets",
     "Exported latency histogram bounds in seconds, ascending", MXS_FIELD(latency_buckets_s),
     Apply::reload, seconds(0.000001, 3600)},
    {"dns_servers", "", "DNS servers judged (default: the nameservers of /etc/resolv.conf)",
     MXS_FIELD(dns_servers)},
    {"dns.ports", "--dns-port", "DNS port to watch (repeatable, up to 8)", MXS_FIELD(dns_ports),
     Apply::restart, port()},
    {"dns.timeout", "--dns-timeout", "Seconds after which an unanswered query counts as unanswered",
     MXS_FIELD(dns_timeout_s), Apply::reload, seconds(0.001, 3600)},
    {"smtp.ports", "--smtp-port", "SMTP port to watch (repeatable, up to 4)", MXS_FIELD(smtp_ports),
     Apply::restart, port()},
    {"smtp.tls_ports", "--smtp-tls-port",
     "SMTP port with implicit TLS, where the ServerHello is the greeting",
     MXS_FIELD(smtp_tls_ports), Apply::restart, port()},
    {"smtp.connect_timeout", "--smtp-connect-timeout",
     "Seconds after which an unanswered SYN counts as a timeout", MXS_FIELD(smtp_connect_timeout_s),
     Apply::reload, seconds(0.001, 3600)},
    {"smtp.idle_timeout", "--smtp-idle-timeout",
     "Seconds after which an idle SMTP connection is forgotten (evicted)",
     MXS_FIELD(smtp_idle_timeout_s), Apply::reload, seconds(0.001, 86400)},
    // A server's statistics slot is 16 bits wide in the in-flight table (MXS_NO_SERVER_SLOT).
    {"maps.dns_stats", "--stats-map-size", "DNS servers with statistics",
     MXS_FIELD(stats_map_entries), Apply::restart, whole(1, MXS_NO_SERVER_SLOT - 1, "entries")},
    {"maps.dns_inflight", "--inflight-map-size",
     "In-flight queries for this host's own queries (client role; rounded up to a multiple of 8)",
     MXS_FIELD(inflight_map_entries), Apply::restart, entries()},
    {"maps.dns_inflight_server", "--inflight-server-map-size",
     "In-flight queries for queries to this host (server role; rounded up to a multiple of 8)",
     MXS_FIELD(inflight_server_map_entries), Apply::restart, entries()},
    {"maps.dns_late", "--late-map-size",
     "Swept (unanswered) queries remembered to recognise late answers (LRU)",
     MXS_FIELD(late_map_entries), Apply::restart, entries()},
    {"maps.tcp_streams", "--tcp-stream-map-size",
     "TCP DNS streams whose last message spans segments, and TCP DNS connections per role (LRU)",
     MXS_FIELD(tcp_stream_map_entries), Apply::restart, entries()},
    {"maps.smtp_stats", "--smtp-stats-map-size", "Per-server SMTP stats map entries",
     MXS_FIELD(smtp_stats_map_entries), Apply::restart, entries()},
    {"maps.smtp_flows", "--smtp-flow-map-size", "SMTP connections map entries",
     MXS_FIELD(smtp_flow_map_entries), Apply::restart, entries()},
    // Verdicts (README "Verdicts").
    {"verdicts.window", "", "Seconds of evidence each verdict window judges",
     MXS_FIELD(verdicts.window_s), Apply::reload, seconds(1, 3600)},
    {"verdicts.rise", "", "Windows in a row to rise to a better state", MXS_FIELD(verdicts.rise),
     Apply::reload, whole(1, 1000, "windows")},
    {"verdicts.fall", "", "Windows in a row to fall to a worse state", MXS_FIELD(verdicts.fall),
     Apply::reload, whole(1, 1000, "windows")},
    {"verdicts.hold_down", "", "Windows after a transition before the next",
     MXS_FIELD(verdicts.hold_down_windows), Apply::reload, whole(0, 1000, "windows")},
    {"verdicts.unknown_after", "", "Windows without evidence before a target is UNKNOWN",
     MXS_FIELD(verdicts.unknown_after_windows), Apply::reload, whole(1, 1000, "windows")},
    {"verdicts.min_attempts", "", "Attempts a window needs to be judged",
     MXS_FIELD(verdicts.min_attempts), Apply::reload, whole(1, 1000000, "attempts")},
    {"verdicts.down_failure_ratio", "", "Failed share of attempts that is DOWN",
     MXS_FIELD(verdicts.down_failure_ratio), Apply::reload, ratio()},
    {"verdicts.degraded_failure_ratio", "", "Failed share of attempts that is DEGRADED",
     MXS_FIELD(verdicts.degraded_failure_ratio), Apply::reload, ratio()},
    {"verdicts.degraded_p99", "", "Seconds of p99 latency that is DEGRADED",
     MXS_FIELD(verdicts.degraded_p99_s), Apply::reload, seconds(0.000001, 3600)},
    {"verdicts.latency_min_samples", "", "Samples a latency or loss judgement needs",
     MXS_FIELD(verdicts.latency_min_samples), Apply::reload, whole(1, 1000000, "samples")},
    {"verdicts.latency_horizon", "", "Windows a latency judgement may reach back",
     MXS_FIELD(verdicts.latency_horizon), Apply::reload, whole(1, 100, "windows")},
    {"verdicts.degraded_loss_ratio", "", "Retransmitted share of handshakes that is DEGRADED",
     MXS_FIELD(verdicts.degraded_loss_ratio), Apply::reload, ratio()},
    {"verdicts.failback_hold", "", "Seconds a recovered primary must stay up before failback",
     MXS_FIELD(verdicts.failback_hold_s), Apply::reload, seconds(0, 604800)},
    // Domains, hooks: lists with readers of their own (config.cpp).
    {"domains", "", "Mail domains with their MX hosts (or `mx: discover`)", MXS_FIELD(domains)},
    {"hooks", "", "Commands run on verdict events", MXS_FIELD(hooks)},
    {"hooks[].name",
     "",
     "The hook's name (unique; the webhook's hook is found by it)",
     {},
     Apply::reload,
     {},
     MXS_ITEM(HookConfig, name)},
    {"hooks[].events",
     "",
     "Events that run it: target_down, target_up, domain_failover, "
     "domain_failback",
     {},
     Apply::reload,
     {},
     MXS_ITEM(HookConfig, events)},
    {"hooks[].argv",
     "",
     "Command and arguments, run without a shell (absolute path first)",
     {},
     Apply::reload,
     {},
     MXS_ITEM(HookConfig, argv)},
    {"hooks[].timeout",
     "",
     "Seconds a hook run may take",
     {},
     Apply::reload,
     seconds(0.001, 3600),
     MXS_ITEM(HookConfig, timeout_s)},
    {"hooks[].cooldown",
     "",
     "Seconds after a run before the next",
     {},
     Apply::reload,
     seconds(0, 86400),
     MXS_ITEM(HookConfig, cooldown_s)},
    {"hooks[].retries",
     "",
     "Attempts after a failed one",
     {},
     Apply::reload,
     whole(0, 10),
     MXS_ITEM(HookConfig, retries)},
    {"hooks[].backoff",
     "",
     "Seconds before the first retry (doubled after each)",
     {},
     Apply::reload,
     seconds(0, 3600),
     MXS_ITEM(HookConfig, backoff_s)},
    // Probes (README "Probes").
    {"probes.enabled", "", "Probe targets without passive traffic", MXS_FIELD(probes.enabled)},
    {"probes.interval", "", "Seconds between probe rounds", MXS_FIELD(probes.interval_s),
     Apply::reload, seconds(1, 86400)},
    {"probes.timeout", "", "Seconds a probe may take", MXS_FIELD(probes.timeout_s), Apply::reload,
     seconds(0.001, 60)},
    {"probes.dns_name", "", "Name resolvers are asked (default: each domain's MX)",
     MXS_FIELD(probes.dns_name)},
    {"probes.dns_type", "", "Type asked with dns_name (default MX)", MXS_FIELD(probes.dns_type)},
    {"probes.ehlo_name", "", "EHLO argument of SMTP probes (default: this host's name)",
     MXS_FIELD(probes.ehlo_name)},
    {"probes.starttls", "", "STARTTLS where the server offers it", MXS_FIELD(probes.starttls)},
    {"probes.targets", "", "Per-address probe roles", MXS_FIELD(probes.targets)},
    {"probes.targets[].address",
     "",
     "The DNS server's address",
     {},
     Apply::reload,
     {},
     MXS_ITEM(ProbeTarget, address)},
    {"probes.targets[].role",
     "",
     "resolver or authoritative",
     {},
     Apply::reload,
     {},
     MXS_ITEM(ProbeTarget, role)},
    {"probes.targets[].name",
     "",
     "Resolver: the name to resolve; authoritative: its zone",
     {},
     Apply::reload,
     {},
     MXS_ITEM(ProbeTarget, name)},
    {"probes.targets[].type",
     "",
     "The type asked (default: MX for a resolver, SOA for an "
     "authoritative server)",
     {},
     Apply::reload,
     {},
     MXS_ITEM(ProbeTarget, type)},
    // Discovery (README "Discovery").
    {"discovery.resolver", "", "Resolver asked first (default: resolv.conf's)",
     MXS_FIELD(discovery.resolver)},
    {"discovery.min_refresh", "", "Seconds at least between lookups of a domain",
     MXS_FIELD(discovery.min_refresh_s), Apply::reload, seconds(1, 86400)},
    {"discovery.max_refresh", "", "Seconds at most between lookups of a domain",
     MXS_FIELD(discovery.max_refresh_s), Apply::reload, seconds(1, 86400)},
    {"discovery.retry", "", "Seconds before a failed lookup is tried again",
     MXS_FIELD(discovery.retry_s), Apply::reload, seconds(1, 86400)},
    // The Alertmanager webhook (README "Alertmanager webhook").
    {"webhook.enabled", "", "Serve the Alertmanager webhook", MXS_FIELD(webhook.enabled)},
    {"webhook.token_file", "", "File holding the bearer token (16 characters at least)",
     MXS_FIELD(webhook.token_file)},
    {"webhook.hook", "", "Hook a firing or resolved alert runs", MXS_FIELD(webhook.hook)},
    {"webhook.listen", "",
     "ADDR:PORT of the webhook's own listener (empty: served on listen; README \"Web "
     "configuration\")",
     MXS_FIELD(webhook.listen), Apply::restart},
    // The periodic audit (README "Mail-domain audit").
    {"audit.interval", "", "Seconds between audits of the configured domains (0: none)",
     MXS_FIELD(audit.interval_s), Apply::reload, seconds(0, 604800)},
    {"audit.mx_ttl_min", "", "MX TTL below which mx_ttl warns (seconds)",
     MXS_FIELD(audit.mx_ttl_min_s), Apply::reload, whole(0, 604800, "seconds")},
    {"audit.mx_ttl_max", "", "MX TTL above which mx_ttl warns (seconds)",
     MXS_FIELD(audit.mx_ttl_max_s), Apply::reload, whole(0, 604800, "seconds")},
    {"audit.serial_grace", "",
     "Seconds the name servers' SOA serials may differ before soa_serial_consistent is critical",
     MXS_FIELD(audit.serial_grace_s), Apply::reload, seconds(0, 86400)},
    {"audit.ca_file", "",
     "CA certificates (PEM) for MX and MTA-STS certificates (default: the system's store)",
     MXS_FIELD(audit.ca_file)},
    // The HTTP server (README "HTTP limits").
    {"http.max_connections", "", "Open connections at most", MXS_FIELD(http.max_connections),
     Apply::restart, whole(1, kMaxHttpConnections, "connections")},
    {"http.idle_timeout", "", "Seconds a kept-alive connection may idle",
     MXS_FIELD(http.idle_timeout_s), Apply::restart, seconds(0.001, kMaxHttpTimeout)},
    {"http.header_timeout", "", "Seconds a request header may take",
     MXS_FIELD(http.header_timeout_s), Apply::restart, seconds(0.001, kMaxHttpTimeout)},
    {"http.body_timeout", "", "Seconds a request body or a response may take",
     MXS_FIELD(http.body_timeout_s), Apply::restart, seconds(0.001, kMaxHttpTimeout)},
    {"http.max_header_bytes", "", "Bytes of a request header at most",
     MXS_FIELD(http.max_header_bytes), Apply::restart, whole(1024, kMaxHttpHeader, "bytes")},
    {"http.max_body_bytes", "", "Bytes of a request body at most", MXS_FIELD(http.max_body_bytes),
     Apply::restart, whole(1024, static_cast<double>(kMaxHttpBody), "bytes")},
};

#undef MXS_FIELD
#undef MXS_ITEM

} // namespace

std::span<const OptionSpec> option_table() {
    return kOptions;
}

} // namespace mxs
