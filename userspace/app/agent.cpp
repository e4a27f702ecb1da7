#include "app/agent.h"

#include "base/local_addr.h"
#include "base/privileges.h"
#include "kernel/preflight.h"
#include "probes/dns_message.h"
#include "views/status.h"
#include "views/status_page.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <utility>

namespace mxs {

namespace {

// The MX hosts the sensor saw accept every connection of the last window (HEALTHY, judged):
// the audit's mx_resolves takes that evidence over a connection of its own (README
// "Mail-domain audit").
std::map<std::string, std::string> mx_seen_accepting(const std::vector<TargetStatus>& targets) {
    std::map<std::string, std::string> seen;
    for (const auto& t : targets)
        if (t.kind == "mx" && t.state == TargetState::Healthy && t.not_judged.empty() &&
            t.last.attempts > 0 && t.last.errors == 0 && t.last.timeouts == 0)
            seen[dns_key(t.name)] = fmt::format(
                "its last window (traffic and probes) saw it accept all of {} connection(s)",
                t.last.attempts);
    return seen;
}

} // namespace

Agent::Agent(AgentOptions opts, std::vector<std::string> args)
    : opts_(std::move(opts)), args_(std::move(args)), signals_(io_, SIGINT, SIGTERM),
      hup_(io_, SIGHUP), sweep_timer_(io_), window_timer_(io_), probe_timer_(io_),
      dns_(opts_.max_labelled_servers), smtp_(opts_.max_labelled_servers) {
    metrics_opts_.latency_buckets_s = opts_.latency_buckets_s;
    snapshot_.build = build_info();
    // The configuration in force was read now (agent_options() before this): a reload's
    // timestamp starts here, as Prometheus's own does.
    snapshot_.config_last_reload_success_s = unix_now();
    hooks_.on_run = [this](const HookRun& run) {
        ++snapshot_.health.hook_runs[{run.hook, run.event, run.result}];
        auto& recent = snapshot_.health.recent_hook_runs;
        recent.push_back({static_cast<std::int64_t>(std::time(nullptr)), run.hook, run.event,
                          run.result, run.exit_status, run.attempt});
        if (recent.size() > kRecent)
            recent.pop_front();
    };
}

Agent::~Agent() {
    verifier_->close(); // a verification still running posts nothing to io_ from now on
    // A reload thread still reading (a hung network file system) posts nothing from now on.
    std::lock_guard lock(reload_gate_->m);
    reload_gate_->open = false;
}

bool Agent::setup() {
    auto interfaces = Datapath::resolve(opts_.interfaces);
    if (!interfaces) {
        spdlog::error("{}", interfaces.error());
        return false;
    }
    for (const auto& i : *interfaces)
        interfaces_.push_back(i.name);
    for (const auto& check : {check_btf(), check_privileges()})
        if (!check) {
            spdlog::error("{}", check.error());
            return false;
        }
    // Before the port is bound: nothing waits on this read. Read before the switch to `user:`
    // (if any): that account's files are the agent's own.
    uid_t agent = ::geteuid();
    if (!opts_.state_file.empty() && !opts_.user.empty())
        if (auto as = resolve_run_as(opts_.user, opts_.group))
            agent = as->uid;
    failover_store_.load(opts_.state_file, agent);
    auto http = HttpServer::bind(
        io_, *parse_listen(opts_.listen), [this](const HttpRequest& r) { return handle(r); },
        opts_.http);
    if (!http) {
        spdlog::error("{}", http.error());
        return false;
    }
    http_ = std::move(*http);
    if (!opts_.webhook.listen.empty()) {
        auto w = HttpServer::bind(
            io_, *parse_listen(opts_.webhook.listen),
            [this](const HttpRequest& r) { return handle_webhook(r); }, opts_.http);
        if (!w) {
            spdlog::error("webhook.listen: {}", w.error());
            return false;
        }
        webhook_http_ = std::move(*w);
    }
    apply_web();

    setup_health();

    auto datapath = Datapath::attach(std::move(*interfaces), opts_.xdp_mode, opts_);
    if (!datapath) {
        spdlog::error("{}", datapath.error());
        return false;
    }
    datapath_ = std::move(*datapath);
    return drop_privileges();
}

// Everything privileged is done: the maps are read and the syscall program run through
// descriptors the agent holds, links detach when closed, probes bind a fresh socket to the
// interface and the listen port is bound -- none of it needs a capability (README
// "Privileges"). Only a netlink TC filter (kernels before 6.6) needs CAP_NET_ADMIN to be
// removed at exit. A reload re-attaches nothing and never needs more.
bool Agent::drop_privileges() {
    std::vector<unsigned> keep;
    if (datapath_->netlink_tc())
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
        datapath_.reset();
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
        audit_.stop();
        if (discovery_)
            discovery_->stop();
        hup_.cancel();
        hooks_.stop(); // SIGTERM to a hook still running, SIGKILL after kHookStopGraceS
        http_->stop();
        if (webhook_http_)
            webhook_http_->stop();
        io_.stop();
    });
    http_->start();
    const auto url = [](const HttpServer& s) {
        const auto ep = s.local_endpoint();
        const auto a = ep.address().to_string();
        return fmt::format("{}://{}:{}", s.tls() ? "https" : "http",
                           ep.address().is_v6() ? "[" + a + "]" : a, ep.port());
    };
    spdlog::info("serving metrics on {}/metrics", url(*http_));
    if (webhook_http_) {
        webhook_http_->start();
        spdlog::info("serving the Alertmanager webhook on {}{}", url(*webhook_http_), kWebhookPath);
    }
    every(sweep_timer_, &opts_.sweep_interval_s, &Agent::sweep, "sweep");
    every(window_timer_, &opts_.verdicts.window_s, &Agent::judge_window, "verdict window");
    probe_round(); // the first round at once: no target has shown passive traffic yet
    every(probe_timer_, &opts_.probes.interval_s, &Agent::probe_round, "probe round");
    io_.run();
    datapath_.reset(); // closes links, removes netlink filters
    spdlog::info("detached from every interface");
    return 0;
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

// Probes every judged address that had no passive traffic in the last window (prober.h).
void Agent::probe_round() {
    prober_.round(opts_.probes, health_->targets(), unobservable_,
                  {opts_.dns_ports.front(), opts_.mx_port(), datapath_->probe_device()});
}

// One verdict window: counter deltas per address since the last window.
void Agent::judge_window() {
    refresh();
    if (auto own = host_addresses(); own != own_addresses_) { // an address came or went
        own_addresses_ = std::move(own);
        apply_targets();
    }
    auto w = window_delta_.next(dns_.client_by_address(opts_.dns_ports.front()),
                                smtp_.client_by_address(opts_.mx_port()));
    prober_.fold_into(w);
    const auto failed_over = [](const std::vector<DomainStatus>& ds) {
        std::vector<bool> v;
        for (const auto& d : ds)
            v.push_back(d.failover_active);
        return v;
    };
    const auto before = failed_over(health_->domains());
    health_->window(w);
    if (failed_over(health_->domains()) != before) {
        std::set<std::string> now;
        for (const auto& d : health_->domains())
            if (d.failover_active)
                now.insert(d.name);
        audit_.set_failed_over(std::move(now));
        audit_.run_soon(); // a switchover: the path the mail takes now
    }
    audit_.set_mx_seen_accepting(mx_seen_accepting(health_->targets()));
    failover_store_.save(health_->domains());
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
    auto& sensor = datapath_->sensor();
    const auto timeout_ns = static_cast<std::uint64_t>(opts_.dns_timeout_s * 1e9);
    const std::uint64_t started = monotonic_ns();
    auto r = sensor.sweep(started, timeout_ns);
    const std::uint64_t dns_done = monotonic_ns();
    for (const auto& [key, n] : r.expired)
        dns_.add_swept(key, n);
    auto& s = snapshot_.sensor;
    s.expired_total += r.expired_total;
    s.inflight_entries = r.remaining_client;
    s.inflight_server_entries = r.remaining_server;
    auto sr = sensor.sweep_smtp(monotonic_ns(),
                                static_cast<std::uint64_t>(opts_.smtp_connect_timeout_s * 1e9),
                                static_cast<std::uint64_t>(opts_.smtp_idle_timeout_s * 1e9));
    for (const auto& [key, n] : sr.timeouts)
        smtp_.add_swept(key, n);
    s.smtp_evicted_total += sr.evicted;
    s.smtp_flow_entries = sr.remaining;
    ++s.sweeps_total;
    s.dns_sweep_seconds_total += static_cast<double>(dns_done - started) / 1e9;
    s.sweep_seconds_total += static_cast<double>(monotonic_ns() - started) / 1e9;
    HookRunner::contain_strays(); // a hook that killed its supervisor: what it left
}

// Per-server values are large (the fine histogram, per CPU): read them when a
// scrape asks, not on every sweep.
void Agent::refresh() {
    snapshot_.http = http_->stats();
    if (webhook_http_) { // both listeners' counts in one set of series
        const auto w = webhook_http_->stats();
        auto& h = snapshot_.http;
        h.connections += w.connections;
        h.max_connections += w.max_connections;
        using Counts = std::map<std::string, std::uint64_t>;
        const std::pair<Counts*, const Counts*> both[] = {{&h.rejected, &w.rejected},
                                                          {&h.timed_out, &w.timed_out},
                                                          {&h.bad_requests, &w.bad_requests},
                                                          {&h.tls_failed, &w.tls_failed},
                                                          {&h.unauthorized, &w.unauthorized}};
        for (const auto& [to, from] : both)
            for (const auto& [k, n] : *from)
                (*to)[k] += n;
        h.auth_busy += w.auth_busy;
    }
    snapshot_.probes = prober_.counts();
    snapshot_.webhook = webhook_.counts();
    snapshot_.audit = audit_.snapshot();
    const auto& sensor = datapath_->sensor();
    auto& s = snapshot_.sensor;
    auto totals = sensor.read_dns_stats();
    s.stats_entries = totals.size();
    dns_.set_kernel_totals(std::move(totals));
    snapshot_.dns = dns_.series();
    auto smtp_totals = sensor.read_smtp_stats();
    s.smtp_stats_entries = smtp_totals.size();
    s.smtp_stats_capacity = sensor.smtp_stats_capacity();
    smtp_.set_kernel_totals(std::move(smtp_totals));
    snapshot_.smtp = smtp_.series();
    s.smtp_flow_capacity = sensor.smtp_flow_capacity();
    s.counters = sensor.read_counters();
    s.inflight_capacity = sensor.inflight_capacity();
    s.inflight_server_capacity = sensor.inflight_server_capacity();
    s.stats_capacity = sensor.stats_capacity();
    s.counted_maps = sensor.map_usage();
    datapath_->read_interfaces(s);
}

double Agent::unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// process_*: this process as /proc shows it now. Without /proc (not mounted) the families
// are left out, said once.
void Agent::read_process() {
    auto p = read_process_stats();
    if (p) {
        snapshot_.process = *p;
        return;
    }
    if (std::exchange(process_unreadable_logged_, true) == false)
        spdlog::warn("metrics: process_* left out: {}", p.error());
    snapshot_.process.reset();
}

HttpResponse Agent::handle(const HttpRequest& req) {
    const auto path = req.target.substr(0, req.target.find('?'));
    if (path == kWebhookPath && !webhook_http_)
        return webhook_.deliver(opts_.webhook, req, *health_, hooks_);
    if (path == kWebhookPath) // served on webhook.listen only
        return {
            404, "text/plain; charset=utf-8", "not found (the webhook is on webhook.listen)\n", {}};
    if (req.method != "GET" && req.method != "HEAD")
        return {405, "text/plain; charset=utf-8", "method not allowed\n", "GET, HEAD"};
    if (path == "/metrics") {
        refresh(); // fresh kernel totals; sweeps stay on the timer
        read_process();
        return {200,
                "text/plain; version=0.0.4; charset=utf-8",
                render_metrics(snapshot_, metrics_opts_),
                {}};
    }
    if (path == "/api/v1/status") {
        snapshot_.audit = audit_.snapshot(); // the last run, not the last scrape's copy of it
        return {200, "application/json", status_json(snapshot_.health, snapshot_.audit), {}};
    }
    if (path == "/") {
        refresh();
        return {200, "text/html; charset=utf-8", status_html(snapshot_, 5), {}};
    }
    return {404, "text/plain; charset=utf-8", "not found\n", {}};
}

// webhook.listen's listener serves the webhook and nothing else: the metrics and status stay
// on `listen` (which may be loopback only, or behind basic auth).
HttpResponse Agent::handle_webhook(const HttpRequest& req) {
    if (req.target.substr(0, req.target.find('?')) == kWebhookPath)
        return webhook_.deliver(opts_.webhook, req, *health_, hooks_);
    return {404,
            "text/plain; charset=utf-8",
            "not found (this listener serves the webhook only)\n",
            {}};
}

std::vector<WebListener> Agent::web_listeners() const {
    std::vector<WebListener> l{{"listen", opts_.listen, true}};
    if (webhook_http_)
        l.push_back({"webhook.listen", opts_.webhook.listen, false});
    return l;
}

// TLS on both listeners; basic auth on `listen` for everything but the webhook, which keeps
// its bearer token (Alertmanager's http_config sends one Authorization header: a bearer token
// or basic credentials, not both). The webhook's own listener has no basic auth.
void Agent::apply_web() {
    const auto& w = opts_.web;
    std::shared_ptr<BasicAuth> auth;
    if (!w.users.empty()) // the pairs remembered for users whose hash is the same stay
        auth = std::make_shared<BasicAuth>(w.users, verifier_, auth_.get());
    auth_ = auth;
    http_->secure(w.tls_context, auth, kWebhookPath);
    if (webhook_http_)
        webhook_http_->secure(w.tls_context, nullptr);
    for (const auto& warning : web_config_warnings(w))
        spdlog::warn("web configuration: {}", warning);
    for (const auto& warning : exposure_warnings(web_listeners(), w))
        spdlog::warn("web configuration: {}", warning);
    if (w.file.empty())
        spdlog::info("web configuration: none (plain HTTP, no authentication)");
    else
        spdlog::info("web configuration {}: {}, {}", w.file,
                     w.tls ? fmt::format("TLS ({} to {}{})", w.tls->min_version, w.tls->max_version,
                                         w.tls->client_auth_type == "NoClientCert"
                                             ? ""
                                             : ", client certificates: " + w.tls->client_auth_type)
                           : std::string("no TLS"),
                     w.users.empty() ? std::string("no basic auth")
                                     : fmt::format("basic auth for {} user(s)", w.users.size()));
}

} // namespace mxs
