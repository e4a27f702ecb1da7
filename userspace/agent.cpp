#include "agent.h"

#include "config.h"
#include "dns_client.h"
#include "libbpf_log.h"
#include "preflight.h"
#include "smtp_probe.h"
#include "status.h"
#include "status_page.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <net/if.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>
#include <unistd.h>

namespace mxs {

Agent::Agent(AgentOptions opts)
    : opts_(std::move(opts)), signals_(io_, SIGINT, SIGTERM), hup_(io_, SIGHUP), sweep_timer_(io_),
      window_timer_(io_), probe_timer_(io_), dns_(opts_.max_labelled_servers),
      smtp_(opts_.max_labelled_servers) {
    metrics_opts_.latency_buckets_s = opts_.latency_buckets_s;
}

Agent::~Agent() = default;

namespace {

// The nameservers of /etc/resolv.conf: the DNS servers judged by default.
std::vector<std::string> resolv_conf_servers() {
    std::vector<std::string> out;
    std::ifstream in("/etc/resolv.conf");
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string key, addr;
        if (words >> key >> addr && key == "nameserver")
            out.push_back(addr.substr(0, addr.find('%')));
    }
    return out;
}

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
    auto http = HttpServer::bind(io_, *parse_listen(opts_.listen),
                                 [this](const HttpRequest& r) { return handle(r); });
    if (!http) {
        spdlog::error("{}", http.error());
        return false;
    }
    http_ = std::move(*http);

    load_state();
    setup_health();

    route_libbpf_logs();
    SensorConfig cfg;
    cfg.dns_ports = opts_.dns_ports;
    cfg.stats_map_entries = opts_.stats_map_entries;
    cfg.inflight_map_entries = opts_.inflight_map_entries;
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
        hooks_.clear(); // kills any hook still running, with its process group
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
// Counters live in the aggregators and survive; verdict states start over.
void Agent::setup_health() {
    if (health_) { // a reload: the running monitor knows best which domains are failed over
        failed_over_.clear();
        for (const auto& d : health_->domains())
            if (d.failover_active)
                failed_over_[d.name] = {d.failed_over_to, d.mx};
    }
    dns_servers_ = opts_.dns_servers.empty() ? resolv_conf_servers() : opts_.dns_servers;
    health_ = std::make_unique<HealthMonitor>(opts_, dns_servers_);
    hooks_.clear();
    for (const auto& h : opts_.hooks) {
        hooks_.push_back(std::make_unique<HookRunner>(
            io_, HookSpec{h.name, h.argv, h.timeout_s, h.cooldown_s, h.retries, h.backoff_s}));
        hooks_.back()->on_run = [this](const HookRun& run) {
            ++snapshot_.health.hook_runs[{run.hook, run.event, run.result}];
            auto& recent = snapshot_.health.recent_hook_runs;
            recent.push_back({static_cast<std::int64_t>(std::time(nullptr)), run.hook, run.event,
                              run.result, run.exit_status, run.attempt});
            if (recent.size() > kRecent)
                recent.pop_front();
        };
    }
    health_->on_event = [this](const HookEvent& ev) {
        bool accepted = true;
        for (std::size_t i = 0; i < hooks_.size(); ++i) {
            const auto& ev_names = opts_.hooks[i].events;
            if (std::find(ev_names.begin(), ev_names.end(), ev.event) != ev_names.end())
                accepted = hooks_[i]->fire(ev) && accepted;
        }
        return accepted;
    };
    discovered_.clear();
    for (const auto& [name, f] : failed_over_)
        health_->restore_failover(name, f.to);
    apply_targets();

    if (discovery_)
        discovery_->stop();
    discovery_.reset();
    if (std::none_of(opts_.domains.begin(), opts_.domains.end(),
                     [](const Domain& d) { return d.discover || d.authoritative; }))
        return;
    const auto resolver = !opts_.discovery.resolver.empty()
                              ? opts_.discovery.resolver
                              : (dns_servers_.empty() ? std::string() : dns_servers_.front());
    if (resolver.empty()) {
        spdlog::error("discovery: no resolver (set discovery.resolver or dns_servers); domains "
                      "to discover stay without MX hosts");
        return;
    }
    spdlog::info("discovery: asking {} for the MX and NS records of the configured domains",
                 resolver);
    discovery_ = std::make_shared<Discovery>(
        io_, opts_.discovery, resolver, opts_.probes.timeout_s, opts_.dns_ports.front(),
        &snapshot_.probes.discovery_lookups, &snapshot_.probes.discovery_failures);
    discovery_->start(opts_.domains, [this](const std::string& name, const DiscoveredDomain& d) {
        discovered_[name] = d;
        apply_targets();
    });
}

// The state file: {"failed_over": {DOMAIN: {"to": MX, "order": [MX, ...]}}}.
// A missing file is a first start; an unreadable one is logged and ignored.
void Agent::load_state() {
    if (opts_.state_file.empty())
        return;
    std::ifstream in(opts_.state_file);
    if (!in)
        return;
    try {
        const auto j = nlohmann::json::parse(in);
        for (const auto& [name, d] : j.at("failed_over").items())
            failed_over_[name] = {d.at("to").get<std::string>(),
                                  d.at("order").get<std::vector<std::string>>()};
        saved_state_ = j.dump();
        if (!failed_over_.empty())
            spdlog::info("state {}: {} domain(s) failed over before this start", opts_.state_file,
                         failed_over_.size());
    } catch (const std::exception& e) {
        spdlog::error("state {}: unreadable, ignored ({})", opts_.state_file, e.what());
    }
}

// Writes the failed-over domains when they change (write, then rename).
void Agent::save_state() {
    nlohmann::json domains = nlohmann::json::object();
    std::map<std::string, FailedOver> now;
    for (const auto& d : health_->domains()) {
        if (!d.failover_active)
            continue;
        // Not discovered again yet since the start: the remembered order stands.
        const auto before = failed_over_.find(d.name);
        auto order = d.mx.empty() && before != failed_over_.end() ? before->second.order : d.mx;
        domains[d.name] = {{"to", d.failed_over_to}, {"order", order}};
        now[d.name] = {d.failed_over_to, std::move(order)};
    }
    failed_over_ = std::move(now);
    const auto text = nlohmann::json{{"failed_over", domains}}.dump();
    if (opts_.state_file.empty() || text == saved_state_)
        return;
    std::error_code ec;
    const std::filesystem::path path(opts_.state_file);
    std::filesystem::create_directories(path.parent_path(), ec);
    const auto tmp = opts_.state_file + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text << "\n";
        if (!out.flush()) {
            spdlog::error("state {}: cannot write it; failovers are not kept across a restart",
                          tmp);
            return;
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        spdlog::error("state {}: {}", opts_.state_file, ec.message());
        return;
    }
    saved_state_ = text;
}

// The judged targets: configured domains with what discovery found, the DNS
// servers, and the name servers of `authoritative` domains.
void Agent::apply_targets() {
    auto domains = opts_.domains;
    auto dns = dns_servers_;
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
        for (const auto& a : it->second.auth_servers)
            if (std::find(dns.begin(), dns.end(), a) == dns.end())
                dns.push_back(a);
    }
    health_->set_targets(domains, dns);
    std::vector<std::string> mx_addrs;
    for (const auto& d : domains)
        for (const auto& m : d.mx)
            mx_addrs.insert(mx_addrs.end(), m.addresses.begin(), m.addresses.end());
    dns_.reserve_labels(dns);
    smtp_.reserve_labels(mx_addrs);
    snapshot_.health.targets = health_->targets();
    snapshot_.health.domains = health_->domains();
}

// Probes every judged address that had no passive traffic in the last window:
// DNS servers over UDP and TCP, MX addresses with an SMTP dialogue. The kernel
// measures them like any traffic; their own outcome feeds mxsense_probe_*.
void Agent::probe_round() {
    if (!opts_.probes.enabled)
        return;
    const auto& p = opts_.probes;
    const auto type = *dns_type_code(p.dns_type);
    std::uint16_t smtp_port = opts_.smtp_ports.front();
    for (auto port : opts_.smtp_ports)
        if (!std::count(opts_.smtp_tls_ports.begin(), opts_.smtp_tls_ports.end(), port)) {
            smtp_port = port;
            break;
        }
    std::string ehlo = p.ehlo_name;
    if (ehlo.empty()) {
        char host[256] = {};
        ehlo = gethostname(host, sizeof host - 1) == 0 && host[0] ? host : "mxsense.invalid";
    }
    auto record = [this](const std::string& kind, const std::string& target,
                         const std::string& result, double seconds) {
        ++snapshot_.probes.runs[{kind, target, result}];
        snapshot_.probes.last_seconds[{kind, target}] = seconds;
        spdlog::debug("probe {} {}: {} in {:.1f} ms", kind, target, result, seconds * 1000);
    };
    for (const auto& t : health_->targets()) {
        for (const auto& addr : t.addresses) {
            const auto key = std::make_pair(t.kind, addr);
            if (passive_.count(key)) {
                ++snapshot_.probes.skipped[key];
                continue;
            }
            if (t.kind == "dns") {
                probed_now_[key] += 2;
                for (bool tcp : {false, true})
                    boost::asio::co_spawn(
                        io_,
                        [this, record, addr, tcp, type, p]() -> boost::asio::awaitable<void> {
                            auto r = co_await dns_exchange(addr, opts_.dns_ports.front(),
                                                           p.dns_name, type, tcp, p.timeout_s);
                            std::string result = r.failure;
                            if (result.empty())
                                result = r.rcode == 0 || r.rcode == 3 ? "ok"
                                         : r.rcode == 2               ? "rcode_servfail"
                                         : r.rcode == 5               ? "rcode_refused"
                                                                      : "rcode_other";
                            record(tcp ? "dns_tcp" : "dns_udp", addr, result, r.seconds);
                        },
                        boost::asio::detached);
            } else {
                probed_now_[key] += 1;
                SmtpProbeSpec spec{addr, smtp_port, ehlo, p.starttls, p.timeout_s};
                boost::asio::co_spawn(
                    io_,
                    [record, spec]() -> boost::asio::awaitable<void> {
                        auto r = co_await smtp_probe(spec);
                        if (r.result != "ok")
                            spdlog::info("SMTP probe {}:{}: {} ({})", spec.address, spec.port,
                                         r.result, r.detail);
                        record("smtp", spec.address, r.result, r.seconds);
                    },
                    boost::asio::detached);
            }
        }
    }
}

void Agent::reload() {
    if (opts_.config_path.empty()) {
        spdlog::info("SIGHUP: started without --config, nothing to reload");
        return;
    }
    auto c = load_config(opts_.config_path);
    if (!c) {
        snapshot_.config_reload_ok = false;
        spdlog::error("reload failed, the running configuration stays: {}", c.error());
        return;
    }
    // What the kernel programs were loaded and attached with needs a restart.
    if ((!c->interfaces.empty() && c->interfaces != opts_.interfaces) ||
        c->dns_ports != opts_.dns_ports || c->smtp_ports != opts_.smtp_ports ||
        c->smtp_tls_ports != opts_.smtp_tls_ports || c->listen != opts_.listen)
        spdlog::warn("reload: interfaces, ports and the listen address change only with a "
                     "restart; they stay as they are");
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
    dns_prev_.clear();
    smtp_prev_.clear();
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
    auto dns_now = dns_.client_by_address();
    auto smtp_now = smtp_.client_by_address();
    HealthMonitor::Window w;
    for (const auto& [addr, c] : dns_now)
        w.dns[addr] = dns_evidence(dns_prev_[addr], c);
    for (const auto& [addr, c] : smtp_now)
        w.smtp[addr] = smtp_evidence(smtp_prev_[addr], c);
    dns_prev_ = std::move(dns_now);
    smtp_prev_ = std::move(smtp_now);
    // Passive traffic: more attempts than the probes of this and the last window
    // (a probe's answer may land in the window after it was sent).
    passive_.clear();
    for (const auto* m : {&w.dns, &w.smtp})
        for (const auto& [addr, e] : *m) {
            const auto key = std::make_pair(m == &w.dns ? "dns" : "mx", addr);
            if (e.attempts > probed_now_[key] + probed_before_[key])
                passive_.insert(key);
        }
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

// POST from Alertmanager: a firing alert about an MX host (label `target`)
// fails over every domain whose primary it is, to this agent's first HEALTHY
// backup; resolved fails back. Only a change of an alert's status acts.
HttpResponse Agent::webhook(const HttpRequest& req) {
    auto& ws = snapshot_.webhook;
    auto reply = [&ws](unsigned code, const std::string& result, const std::string& text) {
        ++ws.requests[result];
        return HttpResponse{code, "text/plain; charset=utf-8", text + "\n"};
    };
    if (!opts_.webhook.enabled)
        return {404, "text/plain; charset=utf-8", "not found\n"};
    if (req.method != "POST")
        return reply(405, "bad_request", "POST only");
    if (!bearer_matches(req.authorization, opts_.webhook.token)) {
        spdlog::warn("webhook: delivery refused: missing or wrong bearer token");
        return reply(401, "unauthorized", "unauthorized");
    }
    auto notices = parse_alertmanager(req.body);
    if (!notices) {
        spdlog::warn("webhook: {}", notices.error());
        return reply(400, "bad_request", notices.error());
    }
    const auto hook =
        std::find_if(opts_.hooks.begin(), opts_.hooks.end(),
                     [&](const HookConfig& h) { return h.name == opts_.webhook.hook; });
    auto& runner = *hooks_[static_cast<std::size_t>(hook - opts_.hooks.begin())];
    bool refused = false;
    for (const auto& n : *notices) {
        const char* status = n.firing ? "firing" : "resolved";
        auto count = [&](const char* result) { ++ws.alerts[{status, result}]; };
        if (!alerts_.is_new(n)) {
            count("duplicate");
            continue;
        }
        bool acted = false, ok = true;
        for (const auto& d : health_->domains()) {
            if (d.mx.empty() || d.mx.front() != n.target)
                continue;
            HookEvent ev{n.firing ? "domain_failover" : "domain_failback",
                         d.name,
                         n.target,
                         "",
                         "",
                         n.firing ? "DOWN" : "HEALTHY",
                         fmt::format("alert {} {}", n.alertname, status)};
            if (n.firing) {
                ev.from = n.target;
                for (std::size_t i = 1; i < d.mx.size() && ev.to.empty(); ++i)
                    for (const auto& t : health_->targets())
                        if (t.kind == "mx" && t.name == d.mx[i] && t.state == TargetState::Healthy)
                            ev.to = t.name;
                if (ev.to.empty()) {
                    spdlog::warn("webhook: {} firing for {}: no HEALTHY backup MX of {} here; "
                                 "no failover",
                                 n.alertname, n.target, d.name);
                    ok = false;
                    continue;
                }
            } else {
                ev.from = d.failed_over_to;
                ev.to = n.target;
            }
            spdlog::info("webhook: {} {} for {}: {} of {} to {}", n.alertname, status, n.target,
                         ev.event, d.name, ev.to);
            acted = true;
            ok = runner.fire(ev) && ok;
        }
        if (!ok) {
            refused = true; // not recorded: Alertmanager's retry acts again
            count("refused");
        } else {
            alerts_.record(n);
            count(acted ? "acted" : "ignored");
        }
    }
    if (refused)
        return reply(503, "refused", "not all alerts could be acted on now; retry");
    return reply(200, "ok", "ok");
}

void Agent::sweep() {
    const auto timeout_ns = static_cast<std::uint64_t>(opts_.dns_timeout_s * 1e9);
    auto r = sensor_->sweep(monotonic_ns(), timeout_ns);
    for (const auto& [key, n] : r.expired)
        dns_.add_unanswered(key, n);
    auto& s = snapshot_.sensor;
    s.expired_total += r.expired_total;
    s.inflight_entries = r.remaining;
    auto sr = sensor_->sweep_smtp(monotonic_ns(),
                                  static_cast<std::uint64_t>(opts_.smtp_connect_timeout_s * 1e9),
                                  static_cast<std::uint64_t>(opts_.smtp_idle_timeout_s * 1e9));
    for (const auto& [key, n] : sr.timeouts)
        smtp_.add_timeouts(key, n);
    s.smtp_evicted_total += sr.evicted;
    s.smtp_flow_entries = sr.remaining;
    ++s.sweeps_total;
}

// Per-server values are large (the fine histogram, per CPU): read them when a
// scrape asks, not on every sweep.
void Agent::refresh() {
    auto& s = snapshot_.sensor;
    auto totals = sensor_->read_dns_stats();
    s.stats_entries = totals.size();
    dns_.set_kernel_totals(std::move(totals));
    snapshot_.dns = dns_.series();
    smtp_.set_kernel_totals(sensor_->read_smtp_stats());
    snapshot_.smtp = smtp_.series();
    s.smtp_flow_capacity = sensor_->smtp_flow_capacity();
    s.counters = sensor_->read_counters();
    s.inflight_capacity = sensor_->inflight_capacity();
    s.stats_capacity = sensor_->stats_capacity();
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
        return {405, "text/plain; charset=utf-8", "method not allowed\n"};
    if (path == "/metrics") {
        refresh(); // fresh kernel totals; sweeps stay on the timer
        return {200, "text/plain; version=0.0.4; charset=utf-8",
                render_metrics(snapshot_, metrics_opts_)};
    }
    if (path == "/api/v1/status")
        return {200, "application/json", status_json(snapshot_.health)};
    if (path == "/") {
        refresh();
        return {200, "text/html; charset=utf-8", status_html(snapshot_, 5)};
    }
    return {404, "text/plain; charset=utf-8", "not found\n"};
}

} // namespace mxs
