// What a configuration sets up, at start and on every reload (SIGHUP): the judged targets and
// their roles, the health monitor's thresholds, the hooks, discovery.
#include "app/agent.h"
#include "base/local_addr.h"
#include "config/command_line.h"
#include "config/option_table.h"
#include "config/validate.h"
#include "probes/smtp_probe.h"
#include "probes/target_plan.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <thread>
#include <tuple>
#include <unistd.h>

namespace mxs {

namespace {

constexpr const char* kResolvConf = "/etc/resolv.conf";
// Seconds one periodic audit asks again while a domain's SOA serials differ: a NOTIFY and a
// transfer take seconds; a longer audit.serial_grace is followed across runs.
constexpr double kAgentSerialWaitS = 10;
// systemd-resolved's upstream servers (the stub 127.0.0.53 forwards to them).
constexpr const char* kResolvedConf = "/run/systemd/resolve/resolv.conf";

} // namespace

// Targets, verdicts and hooks from opts_: at start and on every good reload.
// Counters live in the aggregators and survive; so do the verdict states, window
// histories and failovers of the targets and domains a reload keeps (by name), and
// the hook runners of the hooks it keeps (by name: a run in progress, cooldown, retries).
void Agent::setup_health() {
    for (const auto& w : config_warnings(opts_))
        spdlog::warn("configuration: {}", w.text());
    own_addresses_ = host_addresses();
    lookup_resolvers_.clear();
    warned_probe_targets_.clear();
    prober_.forget_questions();
    if (opts_.dns_servers.empty()) {
        // A local stub's traffic never crosses a watched interface: its upstream servers
        // (systemd-resolved's) are judged instead, else it is left out.
        auto d = default_resolvers(kResolvConf, kResolvedConf, own_addresses_,
                                   fmt::format("{}", fmt::join(interfaces_, ", ")));
        if (!d.replaced.empty())
            spdlog::info("{}", d.replaced);
        if (!d.left_out.empty())
            spdlog::warn("{}", d.left_out);
        for (const auto& e : d.unreadable)
            spdlog::warn("{}", e);
        dns_servers_ = std::move(d.judged);
        lookup_resolvers_ = std::move(d.lookup);
    } else {
        dns_servers_ = opts_.dns_servers;
    }
    const bool start = !health_;
    if (start)
        health_ = std::make_unique<HealthMonitor>(opts_, dns_servers_);
    else // changed thresholds and policy apply from the next window
        health_->reconfigure(opts_);
    hooks_.apply(opts_.hooks);
    health_->on_event = [this](const HookEvent& ev) { return hooks_.dispatch(ev); };
    if (start) {
        for (const auto& [name, f] : failover_store_.failed_over())
            health_->restore_failover(name, f.to);
    }
    // What discovery found stays until it looks again, for the domains that still ask it:
    // their MX hosts and name servers (and so their verdicts) are not dropped meanwhile.
    for (auto it = discovered_.begin(); it != discovered_.end();) {
        const auto d = std::find_if(opts_.domains.begin(), opts_.domains.end(),
                                    [&](const Domain& c) { return c.name == it->first; });
        if (d == opts_.domains.end() || !(d->discover || d->authoritative)) {
            it = discovered_.erase(it);
            continue;
        }
        if (!d->discover)
            it->second.mx.clear();
        if (!d->authoritative)
            it->second.auth_servers.clear();
        ++it;
    }
    apply_targets();

    start_discovery();
    configure_audit();
}

// Who answers the agent's own lookups (discovery, the audit): discovery.resolver first, then
// resolv.conf's own (a local stub resolves fine for this host), then every judged DNS server.
std::vector<std::string> Agent::lookup_resolvers() const {
    std::vector<std::string> resolvers;
    if (!opts_.discovery.resolver.empty())
        resolvers.push_back(opts_.discovery.resolver);
    for (const auto* list : {&lookup_resolvers_, &dns_servers_})
        for (const auto& s : *list)
            if (std::find(resolvers.begin(), resolvers.end(), s) == resolvers.end())
                resolvers.push_back(s);
    return resolvers;
}

// The periodic audit of the configured domains, asking the first lookup resolver.
void Agent::configure_audit() {
    std::vector<std::string> domains;
    for (const auto& d : opts_.domains)
        domains.push_back(d.name);
    AuditOptions o;
    static_cast<AuditPolicy&>(o) = opts_.audit;
    // A run waits for differing serials at most this long; the runner remembers a difference
    // across runs and audits again when its grace ends.
    o.serial_wait_s = std::min(o.serial_grace_s, kAgentSerialWaitS);
    const auto resolvers = lookup_resolvers();
    if (!resolvers.empty())
        o.resolver = resolvers.front();
    o.timeout_s = opts_.probes.timeout_s;
    o.smtp_port = opts_.mx_port();
    for (const auto& d : health_->domains())
        if (d.failover_active)
            o.failed_over.insert(d.name);
    o.ehlo_name = ehlo_name_or_host(opts_.probes.ehlo_name); // as the SMTP probes say it
    const bool can = !domains.empty() && !o.resolver.empty();
    if (!domains.empty() && o.resolver.empty())
        spdlog::warn("audit: no resolver to ask (set discovery.resolver or dns_servers): the "
                     "domains are not audited");
    audit_.configure(std::move(domains), std::move(o), can ? opts_.audit.interval_s : 0);
}

// Discovery's lookup loops for the domains that ask for it (discover: or authoritative:), from
// scratch: the loops of the last configuration end.
void Agent::start_discovery() {
    if (discovery_)
        discovery_->stop();
    discovery_.reset();
    if (std::none_of(opts_.domains.begin(), opts_.domains.end(),
                     [](const Domain& d) { return d.discover || d.authoritative; }))
        return;
    const auto resolvers = lookup_resolvers();
    if (resolvers.empty()) // the loops still run: each round fails, counted and retried
        spdlog::error("discovery: no resolver (set discovery.resolver or dns_servers); domains "
                      "to discover stay without MX hosts");
    else
        spdlog::info("discovery: asking {} (in turn) for the MX and NS records of the configured "
                     "domains",
                     fmt::join(resolvers, ", "));
    discovery_ =
        std::make_shared<Discovery>(io_, opts_.discovery, resolvers, opts_.probes.timeout_s,
                                    opts_.dns_ports.front(), &prober_.counts().discovery_lookups);
    discovery_->start(opts_.domains, [this](const std::string& name, const DiscoveredDomain& d) {
        discovered_[name] = d;
        apply_targets();
        audit_.run_soon(); // what the audit checks may have changed
    });
}

// The judged targets: configured domains with what discovery found, the DNS
// servers, and the name servers of `authoritative` domains.
void Agent::apply_targets() {
    auto [domains, dns, zones, mx_addrs] =
        plan_targets(opts_.domains, dns_servers_, discovered_, health_->domains(),
                     failover_store_.failed_over());
    auto dns_role = dns_roles(opts_, dns_servers_, zones);
    std::map<std::string, std::string> roles;
    for (const auto& [addr, r] : dns_role)
        roles[addr] = r.describe();
    prober_.set_roles(std::move(dns_role));
    health_->set_targets(domains, dns, roles);
    // Loopback and this host's own addresses: their traffic does not cross a watched
    // interface, so they are neither probed nor judged (each logged once).
    const auto ifaces = fmt::format("{}", fmt::join(interfaces_, ", "));
    auto before = std::exchange(unobservable_, {});
    for (const auto* list : {&dns, &mx_addrs})
        for (const auto& a : *list)
            if (auto why = unobservable_reason(a, own_addresses_, ifaces); !why.empty()) {
                if (!before.count(a))
                    spdlog::warn("target address {}: {}", a, why);
                unobservable_[a] = std::move(why);
            }
    health_->set_unobservable(unobservable_);
    // An override for an address that is no DNS target does nothing: say so once, when the
    // name servers of every authoritative domain are known.
    const bool ns_known = std::all_of(opts_.domains.begin(), opts_.domains.end(), [&](auto& d) {
        return !d.authoritative || discovered_.count(d.name);
    });
    for (const auto& t : opts_.probes.targets)
        if (ns_known && std::find(dns.begin(), dns.end(), t.address) == dns.end() &&
            warned_probe_targets_.insert(t.address).second)
            spdlog::warn("probes.targets: {} is not a judged DNS server (not in dns_servers, "
                         "resolv.conf or an authoritative domain's NS): the entry has no effect",
                         t.address);
    dns_.reserve_labels(dns);
    smtp_.reserve_labels(mx_addrs);
    snapshot_.health.targets = health_->targets();
    snapshot_.health.domains = health_->domains();
}

// SIGHUP: the file is read and parsed on a thread of its own, and the result applied on the
// agent's thread (apply_reload). read_bounded_file() takes regular files only, non-blocking
// and at most 1 MiB, so on a local disk the read is short; but a regular file on a hung NFS
// server or a FUSE file system blocks in stat(2), open(2) or read(2) however it is opened, and
// the agent's one thread also serves the metrics and runs the timers and hooks. The thread is
// detached: one stuck in the kernel cannot be joined, and must not hold up the exit; it owns
// its copies and a share of the gate, and posts its result only while the gate is open.
void Agent::reload() {
    if (opts_.config_path.empty()) {
        spdlog::info("SIGHUP: started without --config, nothing to reload");
        return;
    }
    if (reloading_) {
        reload_again_ = true; // the file may have changed after the running read began
        return;
    }
    auto read = [gate = reload_gate_, path = opts_.config_path, args = args_,
                 ex = io_.get_executor(), this] {
        Result<AgentOptions> c = Error{""};
        try {
            c = agent_options(args); // the file anew, the command line over it
        } catch (const std::exception& e) {
            c = Error{fmt::format("{}: {}", path, e.what())};
        }
        std::lock_guard lock(gate->m);
        if (gate->open)
            boost::asio::post(ex, [this, c = std::move(c)]() mutable {
                reloading_ = false;
                try {
                    apply_reload(std::move(c));
                } catch (const std::exception& e) {
                    reload_failed();
                    spdlog::error("reload: {}", e.what());
                }
                if (std::exchange(reload_again_, false))
                    reload();
            });
    };
    try {
        std::thread(std::move(read)).detach();
        reloading_ = true;
    } catch (const std::exception& e) { // no thread (EAGAIN): this SIGHUP is not acted on
        reload_failed();
        spdlog::error("reload: cannot start the thread that reads {}: {}", opts_.config_path,
                      e.what());
    }
}

void Agent::apply_reload(Result<AgentOptions> c) {
    if (!c) {
        reload_failed();
        spdlog::error("reload failed, the running configuration stays: {}", c.error());
        return;
    }
    // A reload that takes TLS or basic auth away from a listener reachable beyond this host
    // is refused: a half-saved or emptied web configuration file must not expose the agent
    // (review finding). Serving it unprotected on purpose takes a restart.
    std::vector<std::string> exposed, local;
    for (const auto& loss : protections_removed(web_listeners(), opts_.web, c->web))
        (loss.exposed ? exposed : local).push_back(loss.what);
    if (!exposed.empty()) {
        reload_failed();
        spdlog::error("reload refused, the running configuration stays: it removes {}, reachable "
                      "beyond this host; restore web_config_file (or restart the agent to serve "
                      "it so)",
                      fmt::join(exposed, ", "));
        return;
    }
    if (!local.empty())
        spdlog::warn("reload: removes {} (loopback only)", fmt::join(local, ", "));
    // What the sensor was loaded and attached with, the port bound and the account privileges
    // were dropped to need a restart: a reload re-attaches nothing and has no capability to.
    std::vector<std::string> restart;
    for (const auto& s : option_table())
        if (s.apply == Apply::restart && !same_option(s, *c, opts_))
            restart.push_back(s.key);
    if (!restart.empty())
        spdlog::warn("reload: {} change only with a restart (the sensor is attached and its "
                     "privileges dropped once); they stay as they are",
                     fmt::join(restart, ", "));
    // A file saved half-written (or cut by a bad merge) may still parse: say what the reload
    // takes away, so that a vanished hook or domain is never silent.
    std::vector<std::string> gone;
    for (const auto& h : opts_.hooks)
        if (std::none_of(c->hooks.begin(), c->hooks.end(),
                         [&](const auto& n) { return n.name == h.name; }))
            gone.push_back("hook " + h.name);
    for (const auto& d : opts_.domains)
        if (std::none_of(c->domains.begin(), c->domains.end(),
                         [&](const auto& n) { return n.name == d.name; }))
            gone.push_back("domain " + d.name);
    if (opts_.webhook.enabled && !c->webhook.enabled)
        gone.push_back("the webhook");
    if (!gone.empty())
        spdlog::warn("reload: {} removes {}; if that is not meant (a file saved half-written), "
                     "restore it and reload again",
                     opts_.config_path, fmt::join(gone, ", "));
    for (const auto& s : option_table())
        if (s.apply == Apply::reload)
            copy_option(s, opts_, *c);      // timers read their intervals anew
    opts_.webhook.token = c->webhook.token; // read from webhook.token_file
    opts_.web = c->web;                     // read from web_config_file: certificate, key, users
    apply_web();
    metrics_opts_.latency_buckets_s = opts_.latency_buckets_s;
    setup_health();
    snapshot_.config_reload_ok = true;
    ++snapshot_.config_reloads;
    snapshot_.config_last_reload_success_s = unix_now();
    spdlog::info("reloaded {}: {} domains, {} DNS servers, {} hooks", opts_.config_path,
                 opts_.domains.size(), snapshot_.health.targets.size(), opts_.hooks.size());
}

// mxsense_config_last_reload_successful 0, one more mxsense_config_reload_failures_total.
void Agent::reload_failed() {
    snapshot_.config_reload_ok = false;
    ++snapshot_.config_reload_failures;
}

void Agent::wait_hup() {
    hup_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec)
            return;
        try {
            reload();
        } catch (const std::exception& e) {
            reload_failed();
            spdlog::error("reload: {}", e.what());
        }
        wait_hup();
    });
}

} // namespace mxs
