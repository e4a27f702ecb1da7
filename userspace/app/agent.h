// The agent: wires the stages of the data path (docs/architecture.md) on one io_context —
// the kernel datapath, the counters, the health monitor with its failover store, the probes
// and discovery, the hooks and the alert webhook, the HTTP views — and owns the timers
// (sweep, verdict window, probe round), the signals and the reload.
#pragma once

#include "actions/alert_webhook.h"
#include "actions/hook_set.h"
#include "audit/audit_runner.h"
#include "config/options.h"
#include "counters/dns_model.h"
#include "counters/smtp_model.h"
#include "health/failover_store.h"
#include "health/health.h"
#include "health/window_delta.h"
#include "kernel/datapath.h"
#include "probes/discovery.h"
#include "probes/prober.h"
#include "views/basic_auth.h"
#include "views/http_server.h"
#include "views/metrics.h"
#include "views/snapshot.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mxs {

class Agent {
  public:
    // opts: as agent_options(args) read them; a reload (SIGHUP) reads args again (the
    // configuration file anew, the command line over it).
    Agent(AgentOptions opts, std::vector<std::string> args);
    ~Agent();
    // Sets up, runs until SIGINT/SIGTERM, detaches. Returns the exit code.
    int run();

  private:
    // agent.cpp: start, timers, windows, views
    bool setup();
    // After attaching: keep only what the running agent needs, switch to `user:` (privileges.h).
    bool drop_privileges();
    void every(boost::asio::steady_timer& timer, const double* seconds, void (Agent::*job)(),
               const char* what);
    void probe_round();
    void judge_window();
    void sweep();
    void refresh();
    HttpResponse handle(const HttpRequest& req);
    void read_process();
    HttpResponse handle_webhook(const HttpRequest& req); // webhook.listen's listener
    // The listeners the web configuration applies to, as configured (exposure_warnings()).
    std::vector<WebListener> web_listeners() const;
    // The web configuration (opts_.web) on the listeners: at start and on every reload.
    void apply_web();
    // agent_config.cpp: what a configuration sets up, at start and on every reload
    void setup_health();
    void start_discovery();
    void apply_targets();
    std::vector<std::string> lookup_resolvers() const;
    void configure_audit();
    void reload();
    void apply_reload(Result<AgentOptions> c);
    void reload_failed();
    static double unix_now(); // seconds since the epoch, as the metrics carry time
    void wait_hup();

    AgentOptions opts_;
    std::vector<std::string> args_;       // the command line after "agent"
    std::vector<std::string> interfaces_; // the watched interfaces (the default-route one)
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::signal_set hup_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::steady_timer window_timer_;
    boost::asio::steady_timer probe_timer_;
    std::vector<std::string> dns_servers_; // configured or from resolv.conf
    // resolv.conf's nameservers as written, local stubs included: discovery's lookups
    // (not pinned to an interface) may use them; empty with dns_servers configured.
    std::vector<std::string> lookup_resolvers_;
    // This host's own addresses, and the judged addresses the sensor cannot observe
    // (loopback or own: their traffic does not cross a watched interface) with why.
    std::set<std::string> own_addresses_;
    std::map<std::string, std::string> unobservable_;
    std::set<std::string> warned_probe_targets_; // probes.targets entries that are no target
    std::shared_ptr<Discovery> discovery_;
    std::map<std::string, DiscoveredDomain> discovered_;
    FailoverStore failover_store_;
    // SIGHUP: the file is read and parsed on a thread of its own (reload()), its result
    // applied here; a SIGHUP during a read asks for another read after it.
    struct ReloadGate { // the agent still takes results (closed by ~Agent)
        std::mutex m;
        bool open = true;
    };
    std::shared_ptr<ReloadGate> reload_gate_ = std::make_shared<ReloadGate>();
    bool reloading_ = false;
    bool reload_again_ = false;
    std::unique_ptr<HealthMonitor> health_;
    HookSet hooks_{io_};
    AlertWebhook webhook_;
    Prober prober_{io_};
    AuditRunner audit_{io_};   // the periodic audit; its blocking thread joined before io_ goes
    WindowDelta window_delta_; // the counters' totals at the last window
    std::shared_ptr<Verifier> verifier_ = std::make_shared<Verifier>(); // basic auth's thread
    std::unique_ptr<HttpServer> http_;
    // The basic auth in force (null: none): a reload's new one keeps its remembered pairs.
    std::shared_ptr<BasicAuth> auth_;
    std::unique_ptr<HttpServer> webhook_http_; // webhook.listen's, when set
    std::unique_ptr<Datapath> datapath_;
    DnsAggregator dns_;
    SmtpAggregator smtp_;
    Snapshot snapshot_;
    bool process_unreadable_logged_ = false;
    MetricsOptions metrics_opts_;
};

} // namespace mxs
