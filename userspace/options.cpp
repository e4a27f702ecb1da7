#include "options.h"

#include "addr.h"
#include "kernel_types.h"
#include "privileges.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <set>
#include <strings.h>

namespace mxs {

namespace {

bool is_address(const std::string& a) {
    in6_addr a6;
    in_addr a4;
    return inet_pton(AF_INET, a.c_str(), &a4) == 1 || inet_pton(AF_INET6, a.c_str(), &a6) == 1;
}

// What makes name no DNS name (RFC 1035 2.3.4: labels of 1-63 octets, 253 in all
// without the final dot; letters, digits, '-' and '_'), or nullopt. "." is the
// root, allowed only where `root` says.
std::optional<std::string> dns_name_error(const std::string& name, bool root) {
    if (name == ".")
        return root ? std::nullopt : std::optional<std::string>("the root is no domain here");
    const std::string n =
        !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    if (n.empty())
        return std::string("empty");
    if (n.size() > 253)
        return std::string("longer than 253 octets");
    std::size_t start = 0;
    for (;;) {
        const auto dot = n.find('.', start);
        const auto label = n.substr(start, dot == std::string::npos ? dot : dot - start);
        if (label.empty())
            return std::string("an empty label");
        if (label.size() > 63)
            return fmt::format("label '{}' longer than 63 octets", label);
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                return fmt::format("character '{}' in label '{}'", c, label);
        if (dot == std::string::npos)
            return std::nullopt;
        start = dot + 1;
    }
}

// Whether v lies in the range number_ranges() gives `key`: the YAML reader's check, applied to
// values from flags and defaults too.
bool in_range(const char* key, double v) {
    return within(*number_range(key), v);
}

// "what v: must be a number from MIN to MAX unit", for the range of `key`.
std::string out_of_range(const std::string& what, const char* key, double v) {
    return fmt::format("{} {}: must be a number {}", what, v, describe_range(*number_range(key)));
}

std::optional<std::string> validate_verdicts(const AgentOptions& o) {
    const auto& v = o.verdicts;
    if (!(v.window_s >= 1 && v.window_s <= 3600))
        return fmt::format("verdicts.window {}: must be in [1, 3600] seconds", v.window_s);
    if (v.rise == 0 || v.fall == 0 || v.unknown_after_windows == 0)
        return std::string("verdicts: rise, fall and unknown_after must be at least 1");
    if (!(v.degraded_failure_ratio > 0 && v.degraded_failure_ratio <= v.down_failure_ratio &&
          v.down_failure_ratio <= 1))
        return std::string("verdicts: need 0 < degraded_failure_ratio <= down_failure_ratio <= 1");
    if (!in_range("verdicts.degraded_p99", v.degraded_p99_s))
        return out_of_range("verdicts.degraded_p99", "verdicts.degraded_p99", v.degraded_p99_s);
    if (!(v.failback_hold_s >= 0))
        return std::string("verdicts: failback_hold must not be negative");
    if (v.latency_min_samples == 0 || v.latency_horizon_windows == 0)
        return std::string("verdicts: latency_min_samples and latency_horizon must be at least 1");
    if (!(v.degraded_loss_ratio > 0 && v.degraded_loss_ratio <= 1))
        return std::string("verdicts: degraded_loss_ratio must be in (0, 1]");
    std::set<std::string> servers;
    for (const auto& s : o.dns_servers) {
        if (!is_address(s))
            return fmt::format("dns_servers: '{}' is not an IP address", s);
        if (!servers.insert(s).second)
            return fmt::format("dns_servers: {} listed twice", s);
    }
    std::map<std::string, std::string> names; // canonical -> as written
    for (const auto& d : o.domains) {
        if (d.name.empty())
            return std::string("domains: a domain without a name");
        if (auto e = dns_name_error(d.name, false))
            return fmt::format("domains: '{}' is not a DNS name: {}", d.name, *e);
        if (auto [it, fresh] = names.emplace(dns_name_key(d.name), d.name); !fresh)
            return fmt::format("domains: '{}' is listed twice (as '{}'; DNS names ignore case "
                               "and the final dot)",
                               d.name, it->second);
        if (d.mx.empty() && !d.discover)
            return fmt::format("domains.{}: no MX hosts (list them or set 'mx: discover')", d.name);
        std::map<std::string, std::string> hosts;
        for (const auto& m : d.mx) {
            if (m.host.empty() || m.addresses.empty())
                return fmt::format("domains.{}: every MX host needs a name and addresses", d.name);
            if (auto e = dns_name_error(m.host, false))
                return fmt::format("domains.{}: MX host '{}' is not a DNS name: {}", d.name, m.host,
                                   *e);
            if (auto [it, fresh] = hosts.emplace(dns_name_key(m.host), m.host); !fresh)
                return fmt::format("domains.{}: MX host '{}' is listed twice (as '{}')", d.name,
                                   m.host, it->second);
            std::set<std::string> addrs;
            for (const auto& a : m.addresses) {
                if (!is_address(a))
                    return fmt::format("domains.{}.{}: '{}' is not an IP address", d.name, m.host,
                                       a);
                if (!addrs.insert(a).second)
                    return fmt::format("domains.{}.{}: address {} listed twice", d.name, m.host, a);
            }
        }
    }
    const auto& p = o.probes;
    if (!in_range("probes.interval", p.interval_s))
        return out_of_range("probes.interval", "probes.interval", p.interval_s);
    if (!in_range("probes.timeout", p.timeout_s))
        return out_of_range("probes.timeout", "probes.timeout", p.timeout_s);
    if (p.timeout_s >= p.interval_s)
        return std::string("probes: timeout must be shorter than the interval");
    if (!p.dns_type.empty() && !dns_type_code(p.dns_type))
        return fmt::format("probes.dns_type '{}': expected one of A, AAAA, NS, MX, SOA, TXT",
                           p.dns_type);
    if (!p.dns_name.empty())
        if (auto e = dns_name_error(p.dns_name, true))
            return fmt::format("probes.dns_name '{}': not a DNS name: {}", p.dns_name, *e);
    if (p.dns_name.empty() && !p.dns_type.empty())
        return fmt::format("probes.dns_type '{}': needs probes.dns_name", p.dns_type);
    // RFC 5321 §4.1.1.1: EHLO's argument is a domain or an address literal. Anything else
    // (a CR or LF above all) would be sent to every probed server as commands of its own.
    if (!p.ehlo_name.empty()) {
        const auto& e = p.ehlo_name;
        const bool literal = e.size() > 2 && e.front() == '[' && e.back() == ']' &&
                             (is_address(e.substr(1, e.size() - 2)) ||
                              (e.rfind("[IPv6:", 0) == 0 && is_address(e.substr(6, e.size() - 7))));
        if (!literal)
            if (auto why = dns_name_error(e, false))
                return fmt::format("probes.ehlo_name '{}': neither a domain nor an address "
                                   "literal: {}",
                                   e, *why);
    }
    std::set<std::string> overridden;
    for (const auto& t : p.targets) {
        const auto where = fmt::format("probes.targets.{}", t.address);
        if (!is_address(t.address))
            return fmt::format("probes.targets: '{}' is not an IP address", t.address);
        if (!overridden.insert(t.address).second)
            return fmt::format("{}: listed twice", where);
        if (t.role != "resolver" && t.role != "authoritative")
            return fmt::format("{}: role '{}': expected resolver or authoritative", where, t.role);
        if (t.role == "authoritative" && t.name.empty())
            return fmt::format("{}: an authoritative server needs its zone as name", where);
        if (!t.name.empty())
            if (auto e = dns_name_error(t.name, true))
                return fmt::format("{}: name '{}': not a DNS name: {}", where, t.name, *e);
        if (!t.type.empty() && !dns_type_code(t.type))
            return fmt::format("{}: type '{}': expected one of A, AAAA, NS, MX, SOA, TXT", where,
                               t.type);
        if (t.name.empty() && !t.type.empty())
            return fmt::format("{}: type '{}' needs a name", where, t.type);
    }
    const auto& dc = o.discovery;
    if (!dc.resolver.empty() && !is_address(dc.resolver))
        return fmt::format("discovery.resolver: '{}' is not an IP address", dc.resolver);
    if (!(dc.min_refresh_s >= 1 && dc.min_refresh_s <= dc.max_refresh_s &&
          dc.max_refresh_s <= 86400 && dc.retry_s >= 1 && dc.retry_s <= 86400))
        return std::string("discovery: need 1 <= min_refresh <= max_refresh <= 86400 and retry "
                           "in [1, 86400] seconds");
    std::set<std::string> hook_names;
    for (const auto& h : o.hooks) {
        if (h.name.empty() || !hook_names.insert(h.name).second)
            return fmt::format("hooks: '{}' is empty or listed twice", h.name);
        if (h.argv.empty() || h.argv[0].empty() || h.argv[0][0] != '/')
            return fmt::format("hooks.{}: argv must start with an absolute path", h.name);
        if (h.events.empty() && !(o.webhook.enabled && o.webhook.hook == h.name))
            return fmt::format("hooks.{}: no events (only the webhook's hook may have none)",
                               h.name);
        for (const auto& e : h.events)
            if (std::find(std::begin(kHookEvents), std::end(kHookEvents), e) ==
                std::end(kHookEvents))
                return fmt::format("hooks.{}: unknown event '{}'", h.name, e);
        if (!in_range("hooks[].timeout", h.timeout_s))
            return out_of_range(fmt::format("hooks.{}.timeout", h.name), "hooks[].timeout",
                                h.timeout_s);
        if (!(h.cooldown_s >= 0) || !(h.backoff_s >= 0))
            return fmt::format("hooks.{}: cooldown and backoff must not be negative", h.name);
    }
    if (!o.state_file.empty() && o.state_file[0] != '/')
        return fmt::format("state_file '{}': must be an absolute path (or empty: none)",
                           o.state_file);
    if (o.webhook.enabled) {
        if (o.webhook.token_file.empty())
            return std::string("webhook: enabled without a token_file");
        if (!hook_names.count(o.webhook.hook))
            return fmt::format("webhook.hook '{}': no hook of that name", o.webhook.hook);
    }
    return std::nullopt;
}

} // namespace

namespace {

// Above 2^24 entries the kernel refuses a map (or the memory) with an errno that names nothing.
constexpr double kMaxMapEntries = 1u << 24;

// Lower bounds: a timeout of at least a millisecond, a latency bound of at least a microsecond
// (1e-300 was accepted and became a zero-length timer).
// Upper bounds: what still makes sense for a host's sensor, and keeps a typo (1e300, 2^32 - 1)
// from becoming a timer that never fires, an allocation the kernel refuses, or a history that
// eats the memory (latency_horizon keeps that many windows per target and transport).
constexpr NumberRange kNumberRanges[] = {
    {"sweep_interval", 0.05, 60, false, false, "seconds"},
    {"max_servers", 1, 65536, false, true, "servers"},
    {"latency_buckets[]", 0.000001, 3600, false, false, "seconds"},
    {"dns.ports[]", 1, 65535, false, true, ""},
    {"dns.timeout", 0.001, 3600, false, false, "seconds"},
    {"smtp.ports[]", 1, 65535, false, true, ""},
    {"smtp.tls_ports[]", 1, 65535, false, true, ""},
    {"smtp.connect_timeout", 0.001, 3600, false, false, "seconds"},
    {"smtp.idle_timeout", 0.001, 86400, false, false, "seconds"},
    {"maps.dns_stats", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.dns_inflight", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.dns_inflight_server", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.dns_late", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.tcp_streams", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.smtp_stats", 1, kMaxMapEntries, false, true, "entries"},
    {"maps.smtp_flows", 1, kMaxMapEntries, false, true, "entries"},
    {"verdicts.window", 1, 3600, false, false, "seconds"},
    {"verdicts.rise", 1, 1000, false, true, "windows"},
    {"verdicts.fall", 1, 1000, false, true, "windows"},
    {"verdicts.hold_down", 0, 1000, false, true, "windows"},
    {"verdicts.unknown_after", 1, 1000, false, true, "windows"},
    {"verdicts.min_attempts", 1, 1000000, false, true, "attempts"},
    {"verdicts.down_failure_ratio", 0, 1, true, false, ""},
    {"verdicts.degraded_failure_ratio", 0, 1, true, false, ""},
    {"verdicts.degraded_p99", 0.000001, 3600, false, false, "seconds"},
    {"verdicts.latency_min_samples", 1, 1000000, false, true, "samples"},
    {"verdicts.latency_horizon", 1, 100, false, true, "windows"},
    {"verdicts.degraded_loss_ratio", 0, 1, true, false, ""},
    {"verdicts.failback_hold", 0, 604800, false, false, "seconds"},
    {"hooks[].timeout", 0.001, 3600, false, false, "seconds"},
    {"hooks[].cooldown", 0, 86400, false, false, "seconds"},
    {"hooks[].retries", 0, 10, false, true, ""},
    {"hooks[].backoff", 0, 3600, false, false, "seconds"},
    {"probes.interval", 1, 86400, false, false, "seconds"},
    {"probes.timeout", 0.001, 60, false, false, "seconds"},
    {"discovery.min_refresh", 1, 86400, false, false, "seconds"},
    {"discovery.max_refresh", 1, 86400, false, false, "seconds"},
    {"discovery.retry", 1, 86400, false, false, "seconds"},
    {"http.max_connections", 1, kMaxHttpConnections, false, true, "connections"},
    {"http.idle_timeout", 0.001, kMaxHttpTimeout, false, false, "seconds"},
    {"http.header_timeout", 0.001, kMaxHttpTimeout, false, false, "seconds"},
    {"http.body_timeout", 0.001, kMaxHttpTimeout, false, false, "seconds"},
    {"http.max_header_bytes", 1024, kMaxHttpHeader, false, true, "bytes"},
    {"http.max_body_bytes", 1024, static_cast<double>(kMaxHttpBody), false, true, "bytes"},
};

} // namespace

std::span<const NumberRange> number_ranges() {
    return kNumberRanges;
}

const NumberRange* number_range(std::string_view key) {
    for (const auto& r : kNumberRanges)
        if (key == r.key)
            return &r;
    return nullptr;
}

namespace {

// A bound as people write it: 0.000001 rather than 1e-06, 16777216 rather than 1.6777216e+07.
std::string plain(double v) {
    auto t = fmt::format("{:.6f}", v);
    t.erase(t.find_last_not_of('0') + 1);
    if (t.back() == '.')
        t.pop_back();
    return t;
}

} // namespace

bool within(const NumberRange& r, double v) {
    const bool above = r.min_excluded ? v > r.min : v >= r.min;
    return above && v <= r.max && (!r.whole || v == std::floor(v));
}

std::string describe_range(const NumberRange& r) {
    return fmt::format("from {}{} to {}{}{}", plain(r.min), r.min_excluded ? " (excluded)" : "",
                       plain(r.max), *r.unit ? " " : "", r.unit);
}

std::optional<int> dns_type_code(const std::string& name) {
    static const std::pair<const char*, int> types[] = {{"A", 1},   {"NS", 2},   {"SOA", 6},
                                                        {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};
    for (const auto& [n, code] : types)
        if (strcasecmp(name.c_str(), n) == 0) // "mx" is MX
            return code;
    return std::nullopt;
}

std::string dns_name_key(const std::string& name) {
    std::string k = name.size() > 1 && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    for (auto& c : k)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
}

std::vector<std::string> config_warnings(const AgentOptions& o) {
    std::vector<std::string> out;
    for (const auto& d : o.domains) {
        std::map<std::string, std::string> owner; // address -> the first host with it
        for (const auto& m : d.mx)
            for (const auto& a : m.addresses)
                if (auto [it, fresh] = owner.emplace(a, m.host); !fresh && it->second != m.host)
                    out.push_back(fmt::format(
                        "domains.{}: MX hosts {} and {} share the address {}: they are judged "
                        "alike, and a failover between them cannot help",
                        d.name, it->second, m.host, a));
    }
    // Without dns_servers the judged resolvers come from resolv.conf on the agent's host,
    // and with an authoritative domain from DNS: the agent warns then, once it knows.
    const bool auth = std::any_of(o.domains.begin(), o.domains.end(),
                                  [](const Domain& d) { return d.authoritative; });
    if (!o.dns_servers.empty() && !auth)
        for (const auto& t : o.probes.targets)
            if (std::find(o.dns_servers.begin(), o.dns_servers.end(), t.address) ==
                o.dns_servers.end())
                out.push_back(fmt::format("probes.targets.{}: not a judged DNS server (not in "
                                          "dns_servers, and no domain is authoritative): the "
                                          "entry has no effect",
                                          t.address));
    return out;
}

namespace {

std::optional<std::string> validate_http(const HttpLimits& h) {
    if (h.max_connections < 1 || h.max_connections > kMaxHttpConnections)
        return fmt::format("http.max_connections {}: must be in [1, {}]", h.max_connections,
                           kMaxHttpConnections);
    for (auto [name, v] : {std::pair{"idle_timeout", h.idle_timeout_s},
                           std::pair{"header_timeout", h.header_timeout_s},
                           std::pair{"body_timeout", h.body_timeout_s}})
        if (const auto key = fmt::format("http.{}", name); !in_range(key.c_str(), v))
            return out_of_range(key, key.c_str(), v);
    if (h.max_header_bytes < 1024 || h.max_header_bytes > kMaxHttpHeader)
        return fmt::format("http.max_header_bytes {}: must be in [1024, {}]", h.max_header_bytes,
                           kMaxHttpHeader);
    if (h.max_body_bytes < 1024 || h.max_body_bytes > kMaxHttpBody)
        return fmt::format("http.max_body_bytes {}: must be in [1024, {}]", h.max_body_bytes,
                           kMaxHttpBody);
    return std::nullopt;
}

} // namespace

std::optional<std::string> validate(const AgentOptions& o) {
    if (auto e = validate_http(o.http))
        return e;
    if (!parse_listen(o.listen))
        return fmt::format("--listen '{}': expected ADDR:PORT or [V6ADDR]:PORT", o.listen);
    if (o.dns_ports.empty() || o.dns_ports.size() > MXS_MAX_PORTS)
        return fmt::format("--dns-port: between 1 and {} ports", MXS_MAX_PORTS);
    if (std::set<std::uint16_t>(o.dns_ports.begin(), o.dns_ports.end()).size() !=
        o.dns_ports.size())
        return std::string("--dns-port: a port is listed twice");
    if (std::count(o.dns_ports.begin(), o.dns_ports.end(), 0))
        return std::string("--dns-port: port 0 is not a port");
    if (o.smtp_ports.empty() || o.smtp_ports.size() > MXS_MAX_SMTP_PORTS)
        return fmt::format("--smtp-port: between 1 and {} ports", MXS_MAX_SMTP_PORTS);
    if (o.smtp_tls_ports.size() > MXS_MAX_SMTP_PORTS)
        return fmt::format("--smtp-tls-port: at most {} ports", MXS_MAX_SMTP_PORTS);
    for (auto list : {&o.smtp_ports, &o.smtp_tls_ports}) {
        if (std::set<std::uint16_t>(list->begin(), list->end()).size() != list->size())
            return std::string("--smtp-port/--smtp-tls-port: a port is listed twice");
        if (std::count(list->begin(), list->end(), 0))
            return std::string("--smtp-port/--smtp-tls-port: port 0 is not a port");
    }
    for (auto p : o.smtp_tls_ports)
        if (!std::count(o.smtp_ports.begin(), o.smtp_ports.end(), p))
            return fmt::format("--smtp-tls-port {}: not among the --smtp-port ports", p);
    for (auto p : o.smtp_ports)
        if (std::count(o.dns_ports.begin(), o.dns_ports.end(), p))
            return fmt::format("port {} is both a DNS and an SMTP port", p);
    if (!in_range("smtp.connect_timeout", o.smtp_connect_timeout_s))
        return out_of_range("smtp.connect_timeout (--smtp-connect-timeout)", "smtp.connect_timeout",
                            o.smtp_connect_timeout_s);
    if (!in_range("smtp.idle_timeout", o.smtp_idle_timeout_s))
        return out_of_range("smtp.idle_timeout (--smtp-idle-timeout)", "smtp.idle_timeout",
                            o.smtp_idle_timeout_s);
    if (!(o.smtp_idle_timeout_s > o.smtp_connect_timeout_s))
        return fmt::format("smtp.idle_timeout (--smtp-idle-timeout) {}: must exceed the connect "
                           "timeout {}",
                           o.smtp_idle_timeout_s, o.smtp_connect_timeout_s);
    if (!in_range("dns.timeout", o.dns_timeout_s))
        return out_of_range("dns.timeout (--dns-timeout)", "dns.timeout", o.dns_timeout_s);
    if (!(o.sweep_interval_s >= 0.05 && o.sweep_interval_s <= 60))
        return fmt::format("--sweep-interval {}: must be in [0.05, 60] seconds",
                           o.sweep_interval_s);
    // The sweep books unanswered queries and SMTP timeouts: slower than the window, a window
    // would get none and a later one several windows' worth at once, a burst of failures
    // against that window's attempts (a false DOWN).
    if (o.sweep_interval_s > o.verdicts.window_s)
        return fmt::format("sweep_interval (--sweep-interval) {} s is longer than verdicts.window "
                           "{} s: a window must see at least one sweep of expired queries",
                           o.sweep_interval_s, o.verdicts.window_s);
    if (o.max_labelled_servers == 0 || o.max_labelled_servers > number_range("max_servers")->max)
        return fmt::format("--max-servers {}: must be {}", o.max_labelled_servers,
                           describe_range(*number_range("max_servers")));
    // Each map by its YAML key and flag (kMaxMapEntries).
    const std::pair<const char*, std::uint32_t> maps[] = {
        {"maps.dns_stats (--stats-map-size)", o.stats_map_entries},
        {"maps.dns_inflight (--inflight-map-size)", o.inflight_map_entries},
        {"maps.dns_inflight_server (--inflight-server-map-size)", o.inflight_server_map_entries},
        {"maps.dns_late (--late-map-size)", o.late_map_entries},
        {"maps.tcp_streams (--tcp-stream-map-size)", o.tcp_stream_map_entries},
        {"maps.smtp_stats (--smtp-stats-map-size)", o.smtp_stats_map_entries},
        {"maps.smtp_flows (--smtp-flow-map-size)", o.smtp_flow_map_entries}};
    for (const auto& [name, n] : maps)
        if (n == 0 || n > kMaxMapEntries)
            return fmt::format("{} {}: must be from 1 to {} entries", name, n,
                               static_cast<std::uint32_t>(kMaxMapEntries));
    if (o.latency_buckets_s.empty() || o.latency_buckets_s.size() > kMaxLatencyBuckets)
        return fmt::format("--latency-buckets: from 1 to {} bounds", kMaxLatencyBuckets);
    for (std::size_t i = 0; i < o.latency_buckets_s.size(); ++i) {
        const double b = o.latency_buckets_s[i];
        if (!in_range("latency_buckets[]", b))
            return fmt::format("--latency-buckets: bound {} is not {}", b,
                               describe_range(*number_range("latency_buckets[]")));
        if (i && !(b > o.latency_buckets_s[i - 1]))
            return std::string("--latency-buckets: bounds must be strictly increasing");
    }
    if (o.xdp_mode != "auto" && o.xdp_mode != "native" && o.xdp_mode != "generic")
        return fmt::format("--xdp-mode '{}': expected auto, native or generic", o.xdp_mode);
    if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn" &&
        o.log_level != "error")
        return fmt::format("--log-level '{}': expected debug, info, warn or error", o.log_level);
    if (!o.group.empty() && o.user.empty())
        return fmt::format("group '{}': needs a user to switch to", o.group);
    if (!o.user.empty())
        if (auto as = resolve_run_as(o.user, o.group); !as)
            return as.error();
    if (auto e = validate_verdicts(o))
        return e;
    std::set<std::string> seen;
    for (const auto& i : o.interfaces)
        if (!seen.insert(i).second)
            return fmt::format("--interface {}: listed twice", i);
    return std::nullopt;
}

} // namespace mxs
