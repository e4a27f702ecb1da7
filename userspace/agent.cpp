#include "agent.h"

#include "config.h"
#include "libbpf_log.h"
#include "local_addr.h"
#include "preflight.h"
#include "privileges.h"
#include "status.h"
#include "status_page.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <linux/capability.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace mxs {

Agent::Agent(AgentOptions opts)
    : opts_(std::move(opts)), signals_(io_, SIGINT, SIGTERM), hup_(io_, SIGHUP), sweep_timer_(io_),
      window_timer_(io_), probe_timer_(io_), dns_(opts_.max_labelled_servers),
      smtp_(opts_.max_labelled_servers) {
    metrics_opts_.latency_buckets_s = opts_.latency_buckets_s;
}

Agent::~Agent() {
    // A reload thread still reading (a hung network file system) posts nothing from now on.
    std::lock_guard lock(reload_gate_->m);
    reload_gate_->open = false;
}

namespace {

constexpr const char* kResolvConf = "/etc/resolv.conf";
// systemd-resolved's upstream servers (the stub 127.0.0.53 forwards to them).
constexpr const char* kResolvedConf = "/run/systemd/resolve/resolv.conf";

} // namespace

bool Agent::setup() {
    if (opts_.interfaces.empty()) {
        auto def = default_route_interface();
        if (!def) {
            spdlog::error("no --interface given and no default route to pick one from");
            return false;
        }
        opts_.interfaces.push_back(*def);
        spdlog::info("watching the default-route interface {}", *def);
    }
    for (const auto& name : opts_.interfaces) {
        const unsigned idx = if_nametoindex(name.c_str());
        if (idx == 0) {
            spdlog::error("unknown interface '{}'", name);
            return false;
        }
        for (const auto& w : watched_)
            if (mxs_ifslot(w.ifindex) == mxs_ifslot(idx)) {
                spdlog::error("interfaces {} and {} would share a packet-counter slot "
                              "(ifindex {} and {}, modulo {}); watch one of them",
                              w.name, name, w.ifindex, idx, MXS_MAX_IFINDEX);
                return false;
            }
        watched_.push_back(Watched{name, static_cast<int>(idx), nullptr, nullptr});
    }
    if (auto e = check_btf()) {
        spdlog::error("{}", *e);
        return false;
    }
    if (auto e = check_privileges()) {
        spdlog::error("{}", *e);
        return false;
    }
    load_state(); // before the port is bound: nothing waits on this read
    auto http = HttpServer::bind(
        io_, *parse_listen(opts_.listen), [this](const HttpRequest& r) { return handle(r); },
        opts_.http);
    if (!http) {
        spdlog::error("{}", http.error());
        return false;
    }
    http_ = std::move(*http);

    setup_health();

    route_libbpf_logs();
    SensorConfig cfg;
    cfg.dns_ports = opts_.dns_ports;
    cfg.stats_map_entries = opts_.stats_map_entries;
    cfg.inflight_map_entries = opts_.inflight_map_entries;
    cfg.inflight_server_map_entries = opts_.inflight_server_map_entries;
    cfg.late_map_entries = opts_.late_map_entries;
    cfg.tcp_stream_map_entries = opts_.tcp_stream_map_entries;
    cfg.smtp_ports = opts_.smtp_ports;
    cfg.smtp_tls_ports = opts_.smtp_tls_ports;
    cfg.smtp_stats_map_entries = opts_.smtp_stats_map_entries;
    cfg.smtp_flow_map_entries = opts_.smtp_flow_map_entries;
    auto sensor = Sensor::load(cfg);
    if (!sensor) {
        spdlog::error("{}", sensor.error());
        return false;
    }
    sensor_ = std::move(*sensor);

    for (auto& w : watched_) {
        auto xdp = XdpAttachment::attach(sensor_->xdp_prog_fd(), w.ifindex, opts_.xdp_mode);
        if (!xdp) {
            spdlog::error("{}", xdp.error());
            return false;
        }
        w.xdp = std::move(*xdp);
        auto tc = TcEgressAttachment::attach(sensor_->tc_prog_fd(), w.ifindex);
        if (!tc) {
            spdlog::error("{}", tc.error());
            return false;
        }
        w.tc = std::move(*tc);
        spdlog::info("attached to {}: XDP ingress ({}), TC egress ({})", w.name, w.xdp->mode(),
                     w.tc->mode());
    }
    return drop_privileges();
}

// Everything privileged is done: the maps are read and the syscall program run through
// descriptors the agent holds, links detach when closed, probes bind a fresh socket to the
// interface and the listen port is bound -- none of it needs a capability (README
// "Privileges"). Only a netlink TC filter (kernels before 6.6) needs CAP_NET_ADMIN to be
// removed at exit. A reload re-attaches nothing and never needs more.
bool Agent::drop_privileges() {
    std::vector<unsigned> keep;
    for (const auto& w : watched_)
        if (w.tc->mode() == "netlink")
            keep = {CAP_NET_ADMIN};
    std::optional<RunAs> as;
    if (!opts_.user.empty()) {
        auto r = resolve_run_as(opts_.user, opts_.group);
        if (!r) {
            spdlog::error("{}", r.error());
            return false;
        }
        as = *r;
    }
    // The state file's directory: made now if missing (for the new user), checked after.
    std::filesystem::path state_dir;
    if (!opts_.state_file.empty()) {
        state_dir = std::filesystem::path(opts_.state_file).parent_path();
        std::error_code ec;
        if (std::filesystem::create_directories(state_dir, ec)) {
            std::filesystem::permissions(state_dir, std::filesystem::perms(0750), ec);
            if (as && chown(state_dir.c_str(), as->uid, as->gid) != 0)
                spdlog::warn("state_file: cannot give {} to user {}: {}", state_dir.string(),
                             as->user, std::strerror(errno));
        }
    }
    auto d = mxs::drop_privileges(keep, as);
    if (!d) {
        spdlog::error("{}", d.error());
        return false;
    }
    spdlog::info("privileges: running as uid {} gid {}{}; capabilities kept: {} ({}); bounding "
                 "set {}; no_new_privs set",
                 d->uid, d->gid, as ? fmt::format(" ({}:{})", as->user, as->group) : "",
                 capability_names(d->kept),
                 d->kept.empty() ? "nothing needs one after attaching"
                                 : "to remove the netlink TC filter at exit",
                 d->bounding_cleared ? "empty" : "left as it was (no CAP_SETPCAP)");
    if (!state_dir.empty() && access(state_dir.c_str(), W_OK | X_OK) != 0) {
        spdlog::error("state_file {}: its directory {} is not writable by uid {} ({}): failovers "
                      "would not be kept across a restart. Give it to that user (chown), use "
                      "systemd's StateDirectory=, or set state_file: \"\"",
                      opts_.state_file, state_dir.string(), d->uid, std::strerror(errno));
        return false;
    }
    if (!opts_.config_path.empty() && access(opts_.config_path.c_str(), R_OK) != 0)
        spdlog::warn("{}: not readable by uid {} ({}): a reload (SIGHUP) will fail",
                     opts_.config_path, d->uid, std::strerror(errno));
    return true;
}

int Agent::run() {
    if (!setup()) {
        watched_.clear();
        return 1;
    }
    wait_hup();
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec)
            return;
        spdlog::info("signal {}: detaching and exiting", sig);
        sweep_timer_.cancel();
        window_timer_.cancel();
        probe_timer_.cancel();
        if (discovery_)
            discovery_->stop();
        hup_.cancel();
        stop_hooks(); // SIGTERM to a hook still running, SIGKILL after kHookStopGraceS
        http_->stop();
        io_.stop();
    });
    http_->start();
    const auto ep = http_->local_endpoint();
    spdlog::info("serving metrics on http://{}:{}/metrics", ep.address().to_string(), ep.port());
    every(sweep_timer_, &opts_.sweep_interval_s, &Agent::sweep, "sweep");
    every(window_timer_, &opts_.verdicts.window_s, &Agent::judge_window, "verdict window");
    probe_round(); // the first round at once: no target has shown passive traffic yet
    every(probe_timer_, &opts_.probes.interval_s, &Agent::probe_round, "probe round");
    io_.run();
    watched_.clear(); // closes links, removes netlink filters
    spdlog::info("detached from every interface");
    return 0;
}

// Targets, verdicts and hooks from opts_: at start and on every good reload.
// Counters live in the aggregators and survive; so do the verdict states, window
// histories and failovers of the targets and domains a reload keeps (by name), and
// the hook runners of the hooks it keeps (by name: a run in progress, cooldown, retries).
void Agent::setup_health() {
    for (const auto& w : config_warnings(opts_))
        spdlog::warn("configuration: {}", w);
    own_addresses_ = host_addresses();
    lookup_resolvers_.clear();
    warned_probe_targets_.clear();
    question_failed_.clear();
    if (opts_.dns_servers.empty()) {
        // A local stub's traffic never crosses a watched interface: its upstream servers
        // (systemd-resolved's) are judged instead, else it is left out.
        auto d = default_resolvers(kResolvConf, kResolvedConf, own_addresses_,
                                   fmt::format("{}", fmt::join(opts_.interfaces, ", ")));
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
    apply_hooks();
    health_->on_event = [this](const HookEvent& ev) {
        bool accepted = true;
        for (const auto& h : opts_.hooks)
            if (std::find(h.events.begin(), h.events.end(), ev.event) != h.events.end())
                accepted = hooks_.at(h.name)->fire(ev) && accepted;
        return accepted;
    };
    if (start) {
        for (const auto& [name, f] : failed_over_)
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

    if (discovery_)
        discovery_->stop();
    discovery_.reset();
    if (std::none_of(opts_.domains.begin(), opts_.domains.end(),
                     [](const Domain& d) { return d.discover || d.authoritative; }))
        return;
    // discovery.resolver first, then resolv.conf's own (a local stub resolves fine for this
    // host), then every judged DNS server.
    std::vector<std::string> resolvers;
    if (!opts_.discovery.resolver.empty())
        resolvers.push_back(opts_.discovery.resolver);
    for (const auto& s : lookup_resolvers_)
        if (std::find(resolvers.begin(), resolvers.end(), s) == resolvers.end())
            resolvers.push_back(s);
    for (const auto& s : dns_servers_)
        if (std::find(resolvers.begin(), resolvers.end(), s) == resolvers.end())
            resolvers.push_back(s);
    if (resolvers.empty()) {
        spdlog::error("discovery: no resolver (set discovery.resolver or dns_servers); domains "
                      "to discover stay without MX hosts");
        return;
    }
    spdlog::info("discovery: asking {} (in turn) for the MX and NS records of the configured "
                 "domains",
                 fmt::join(resolvers, ", "));
    discovery_ = std::make_shared<Discovery>(
        io_, opts_.discovery, resolvers, opts_.probes.timeout_s, opts_.dns_ports.front(),
        &snapshot_.probes.discovery_lookups, &snapshot_.probes.discovery_failures);
    discovery_->start(opts_.domains, [this](const std::string& name, const DiscoveredDomain& d) {
        discovered_[name] = d;
        apply_targets();
    });
}

// The hook runners of opts_.hooks, by name. A runner of a hook still configured stays
// (a changed spec applies from its next run); a removed hook's runner goes at once when
// idle, else once its run in progress has ended (no retry).
void Agent::apply_hooks() {
    std::map<std::string, std::unique_ptr<HookRunner>> next;
    for (const auto& h : opts_.hooks) {
        HookSpec spec{h.name, h.argv, h.timeout_s, h.cooldown_s, h.retries, h.backoff_s};
        std::unique_ptr<HookRunner> r;
        if (auto it = hooks_.find(h.name); it != hooks_.end()) {
            r = std::move(it->second);
            hooks_.erase(it);
        } else if (auto rt = std::find_if(retired_.begin(), retired_.end(),
                                          [&](const auto& x) { return x->spec().name == h.name; });
                   rt != retired_.end()) { // removed and added back while its run goes on
            r = std::move(*rt);
            retired_.erase(rt);
        }
        if (r) {
            r->update(std::move(spec));
        } else {
            r = std::make_unique<HookRunner>(io_, std::move(spec));
            r->on_run = [this](const HookRun& run) {
                ++snapshot_.health.hook_runs[{run.hook, run.event, run.result}];
                auto& recent = snapshot_.health.recent_hook_runs;
                recent.push_back({static_cast<std::int64_t>(std::time(nullptr)), run.hook,
                                  run.event, run.result, run.exit_status, run.attempt});
                if (recent.size() > kRecent)
                    recent.pop_front();
            };
            r->on_idle = [this, raw = r.get()] {
                // Not from within the runner's own handler: a retired runner goes afterwards.
                boost::asio::post(io_, [this, raw] {
                    std::erase_if(retired_,
                                  [&](const auto& x) { return x.get() == raw && !raw->busy(); });
                });
            };
        }
        next.emplace(h.name, std::move(r));
    }
    for (auto& [name, r] : hooks_) // removed from the configuration
        if (r->retire())
            retired_.push_back(std::move(r));
    hooks_ = std::move(next);
}

// Agent shutdown: every hook still running gets SIGTERM, SIGKILL kHookStopGraceS later
// (its supervisor sends them); returns once their processes are gone.
void Agent::stop_hooks() {
    for (auto& [name, r] : hooks_)
        r->stop();
    for (auto& r : retired_)
        r->stop();
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(kHookStopGraceS + 2));
    for (auto& [name, r] : hooks_)
        r->wait_stopped(deadline);
    for (auto& r : retired_)
        r->wait_stopped(deadline);
    hooks_.clear();
    retired_.clear();
}

// The judged targets: configured domains with what discovery found, the DNS
// servers, and the name servers of `authoritative` domains.
void Agent::apply_targets() {
    auto domains = opts_.domains;
    auto dns = dns_servers_;
    std::map<std::string, std::vector<std::string>> zones; // NS address -> its domains
    for (auto& d : domains) {
        const auto it = discovered_.find(d.name);
        if (it == discovered_.end())
            continue;
        if (d.discover) {
            d.mx = it->second.mx;
            for (const auto& st : health_->domains())
                if (st.name == d.name && st.failover_active) {
                    const auto f = failed_over_.find(d.name);
                    d.mx = keep_order(std::move(d.mx), !st.mx.empty() || f == failed_over_.end()
                                                           ? st.mx
                                                           : f->second.order);
                }
        }
        for (const auto& a : it->second.auth_servers) {
            if (std::find(dns.begin(), dns.end(), a) == dns.end())
                dns.push_back(a);
            if (d.authoritative)
                zones[a].push_back(d.name);
        }
    }
    dns_roles_ = dns_roles(opts_, dns_servers_, zones);
    std::map<std::string, std::string> roles;
    for (const auto& [addr, r] : dns_roles_)
        roles[addr] = r.describe();
    health_->set_targets(domains, dns, roles);
    std::vector<std::string> mx_addrs;
    for (const auto& d : domains)
        for (const auto& m : d.mx)
            mx_addrs.insert(mx_addrs.end(), m.addresses.begin(), m.addresses.end());
    // Loopback and this host's own addresses: their traffic does not cross a watched
    // interface, so they are neither probed nor judged (each logged once).
    const auto ifaces = fmt::format("{}", fmt::join(opts_.interfaces, ", "));
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
    auto read = [gate = reload_gate_, path = opts_.config_path, ex = io_.get_executor(), this] {
        Result<AgentOptions> c = Error{""};
        try {
            c = load_config(path);
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
                    snapshot_.config_reload_ok = false;
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
        snapshot_.config_reload_ok = false;
        spdlog::error("reload: cannot start the thread that reads {}: {}", opts_.config_path,
                      e.what());
    }
}

void Agent::apply_reload(Result<AgentOptions> c) {
    if (!c) {
        snapshot_.config_reload_ok = false;
        spdlog::error("reload failed, the running configuration stays: {}", c.error());
        return;
    }
    // What the sensor was loaded and attached with, and the account privileges were dropped
    // to, need a restart: a reload re-attaches nothing and has no capability to.
    std::vector<std::string> restart;
    auto differs = [&restart](bool changed, const char* what) {
        if (changed)
            restart.push_back(what);
    };
    auto maps = [](const AgentOptions& o) {
        return std::tuple(o.stats_map_entries, o.inflight_map_entries,
                          o.inflight_server_map_entries, o.late_map_entries,
                          o.tcp_stream_map_entries, o.smtp_stats_map_entries,
                          o.smtp_flow_map_entries);
    };
    differs(!c->interfaces.empty() && c->interfaces != opts_.interfaces, "interfaces");
    differs(c->xdp_mode != opts_.xdp_mode, "xdp_mode");
    differs(c->dns_ports != opts_.dns_ports || c->smtp_ports != opts_.smtp_ports ||
                c->smtp_tls_ports != opts_.smtp_tls_ports,
            "ports");
    differs(maps(*c) != maps(opts_), "maps");
    differs(c->listen != opts_.listen, "listen");
    differs(c->http != opts_.http, "http");
    differs(c->user != opts_.user || c->group != opts_.group, "user/group");
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
    opts_.sweep_interval_s = c->sweep_interval_s; // read anew by its timer
    opts_.dns_servers = c->dns_servers;
    opts_.domains = c->domains;
    opts_.verdicts = c->verdicts;
    opts_.hooks = c->hooks;
    opts_.webhook = c->webhook;
    opts_.probes = c->probes;
    opts_.discovery = c->discovery;
    opts_.dns_timeout_s = c->dns_timeout_s;
    opts_.smtp_connect_timeout_s = c->smtp_connect_timeout_s;
    opts_.smtp_idle_timeout_s = c->smtp_idle_timeout_s;
    metrics_opts_.latency_buckets_s = opts_.latency_buckets_s = c->latency_buckets_s;
    setup_health();
    snapshot_.config_reload_ok = true;
    ++snapshot_.config_reloads;
    spdlog::info("reloaded {}: {} domains, {} DNS servers, {} hooks", opts_.config_path,
                 opts_.domains.size(), snapshot_.health.targets.size(), opts_.hooks.size());
}

void Agent::wait_hup() {
    hup_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec)
            return;
        try {
            reload();
        } catch (const std::exception& e) {
            snapshot_.config_reload_ok = false;
            spdlog::error("reload: {}", e.what());
        }
        wait_hup();
    });
}

// Runs job every *seconds (read anew each time: a reload may change it) until
// the timer is cancelled; no exception escapes the loop.
void Agent::every(boost::asio::steady_timer& timer, const double* seconds, void (Agent::*job)(),
                  const char* what) {
    timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(*seconds)));
    timer.async_wait([this, &timer, seconds, job, what](const boost::system::error_code& ec) {
        if (ec)
            return;
        try {
            (this->*job)();
        } catch (const std::exception& ex) {
            spdlog::error("{}: {}", what, ex.what());
        }
        every(timer, seconds, job, what);
    });
}

// One verdict window: counter deltas per address since the last window.
void Agent::judge_window() {
    refresh();
    if (auto own = host_addresses(); own != own_addresses_) { // an address came or went
        own_addresses_ = std::move(own);
        apply_targets();
    }
    auto dns_now = dns_.client_by_address_proto(opts_.dns_ports.front());
    auto smtp_now = smtp_.client_by_address(opts_.mx_port());
    HealthMonitor::Window w;
    for (const auto& [key, c] : dns_now)
        w.dns[key.first][key.second] = dns_evidence(dns_prev_[key], c);
    for (const auto& [addr, c] : smtp_now)
        w.smtp[addr] = smtp_evidence(smtp_prev_[addr], c);
    dns_prev_ = std::move(dns_now);
    smtp_prev_ = std::move(smtp_now);
    // Resolver probes' SERVFAILs for a domain, taken back once the resolver was asked a question
    // it must answer (servfail_check): that answer counts instead. An excuse whose SERVFAIL an
    // earlier window already judged is dropped, never kept for a later SERVFAIL.
    for (const auto& [key, n] : std::exchange(servfail_excused_, {}))
        if (auto a = w.dns.find(key.first); a != w.dns.end())
            if (auto e = a->second.find(key.second); e != a->second.end())
                excuse_servfail(e->second, n);
    // What only the probes saw (a TCP connect refused before any DNS message, an
    // answer that is not authoritative, a failed STARTTLS).
    for (const auto& [key, e] : std::exchange(probe_evidence_, {})) {
        const auto& [kind, addr, transport] = key;
        auto& into = kind == "dns" ? w.dns[addr][transport] : w.smtp[addr];
        into.merge(e);
        // A failure whose attempt the kernel booked in the previous window.
        into.attempts = std::max(into.attempts, into.errors + into.timeouts);
    }
    // Passive traffic: more attempts than the probes of this and the last window
    // (a probe's answer may land in the window after it was sent).
    passive_.clear();
    auto passive = [&](const char* kind, const std::string& addr, std::uint64_t attempts) {
        const auto key = std::make_pair(std::string(kind), addr);
        if (attempts > probed_now_[key] + probed_before_[key])
            passive_.insert(key);
    };
    for (const auto& [addr, by_transport] : w.dns) {
        std::uint64_t n = 0;
        for (const auto& [transport, e] : by_transport)
            n += e.attempts;
        passive("dns", addr, n);
    }
    for (const auto& [addr, e] : w.smtp)
        passive("mx", addr, e.attempts);
    probed_before_ = std::move(probed_now_);
    probed_now_.clear();
    health_->window(w);
    save_state();
    snapshot_.health.targets = health_->targets();
    snapshot_.health.domains = health_->domains();
    snapshot_.health.blind = health_->blind();
    for (const auto& t : health_->take_transitions()) {
        snapshot_.health.recent_transitions.push_back(t);
        if (snapshot_.health.recent_transitions.size() > kRecent)
            snapshot_.health.recent_transitions.pop_front();
    }
}

void Agent::sweep() {
    const auto timeout_ns = static_cast<std::uint64_t>(opts_.dns_timeout_s * 1e9);
    auto r = sensor_->sweep(monotonic_ns(), timeout_ns);
    for (const auto& [key, n] : r.expired)
        dns_.add_unanswered(key, n);
    auto& s = snapshot_.sensor;
    s.expired_total += r.expired_total;
    s.inflight_entries = r.remaining_client;
    s.inflight_server_entries = r.remaining_server;
    auto sr = sensor_->sweep_smtp(monotonic_ns(),
                                  static_cast<std::uint64_t>(opts_.smtp_connect_timeout_s * 1e9),
                                  static_cast<std::uint64_t>(opts_.smtp_idle_timeout_s * 1e9));
    for (const auto& [key, n] : sr.timeouts)
        smtp_.add_timeouts(key, n);
    s.smtp_evicted_total += sr.evicted;
    s.smtp_flow_entries = sr.remaining;
    ++s.sweeps_total;
    HookRunner::contain_strays(); // a hook that killed its supervisor: what it left
}

// Per-server values are large (the fine histogram, per CPU): read them when a
// scrape asks, not on every sweep.
void Agent::refresh() {
    snapshot_.http = http_->stats();
    auto& s = snapshot_.sensor;
    auto totals = sensor_->read_dns_stats();
    s.stats_entries = totals.size();
    dns_.set_kernel_totals(std::move(totals));
    snapshot_.dns = dns_.series();
    auto smtp_totals = sensor_->read_smtp_stats();
    s.smtp_stats_entries = smtp_totals.size();
    s.smtp_stats_capacity = sensor_->smtp_stats_capacity();
    smtp_.set_kernel_totals(std::move(smtp_totals));
    snapshot_.smtp = smtp_.series();
    s.smtp_flow_capacity = sensor_->smtp_flow_capacity();
    s.counters = sensor_->read_counters();
    s.inflight_capacity = sensor_->inflight_capacity();
    s.inflight_server_capacity = sensor_->inflight_server_capacity();
    s.stats_capacity = sensor_->stats_capacity();
    s.counted_maps = sensor_->map_usage();
    s.interfaces.clear();
    s.attachments.clear();
    for (const auto& w : watched_) {
        const auto st = sensor_->read_ifstats(w.ifindex);
        InterfaceCounters ic{w.name, {}};
        for (int d = 0; d < MXS_DIR_MAX; ++d)
            ic.packets[d] = st.packets[d];
        s.interfaces.push_back(ic);
        s.attachments.push_back({w.name, "xdp", w.xdp->mode()});
        s.attachments.push_back({w.name, "tc", w.tc->mode()});
    }
}

HttpResponse Agent::handle(const HttpRequest& req) {
    const auto path = req.target.substr(0, req.target.find('?'));
    if (path == kWebhookPath)
        return webhook(req);
    if (req.method != "GET" && req.method != "HEAD")
        return {405, "text/plain; charset=utf-8", "method not allowed\n", "GET, HEAD"};
    if (path == "/metrics") {
        refresh(); // fresh kernel totals; sweeps stay on the timer
        return {200,
                "text/plain; version=0.0.4; charset=utf-8",
                render_metrics(snapshot_, metrics_opts_),
                {}};
    }
    if (path == "/api/v1/status")
        return {200, "application/json", status_json(snapshot_.health), {}};
    if (path == "/") {
        refresh();
        return {200, "text/html; charset=utf-8", status_html(snapshot_, 5), {}};
    }
    return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

} // namespace mxs
