// The agent: one io_context running timeout sweeps, signals and the HTTP server.
#pragma once

#include "attach.h"
#include "discovery.h"
#include "dns_model.h"
#include "health.h"
#include "hook_runner.h"
#include "http_server.h"
#include "metrics.h"
#include "options.h"
#include "probe_plan.h"
#include "result.h"
#include "sensor.h"
#include "smtp_model.h"
#include "snapshot.h"
#include "webhook.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

namespace mxs {

class Agent {
  public:
    explicit Agent(AgentOptions opts);
    ~Agent();
    // Sets up, runs until SIGINT/SIGTERM, detaches. Returns the exit code.
    int run();

  private:
    struct Watched {
        std::string name;
        int ifindex;
        std::unique_ptr<XdpAttachment> xdp;
        std::unique_ptr<TcEgressAttachment> tc;
    };

    bool setup();
    // After attaching: keep only what the running agent needs, switch to `user:` (privileges.h).
    bool drop_privileges();
    void setup_health();
    void apply_hooks();
    void stop_hooks();
    void reload();
    void apply_reload(Result<AgentOptions> c);
    void wait_hup();
    void every(boost::asio::steady_timer& timer, const double* seconds, void (Agent::*job)(),
               const char* what);
    void apply_targets();
    void load_state();
    void save_state();
    void probe_round();
    void judge_window();
    void sweep();
    void refresh();
    HttpResponse handle(const HttpRequest& req);
    HttpResponse webhook(const HttpRequest& req);

    AgentOptions opts_;
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
    // Probe attempts per (kind, address) this window and the last; addresses
    // whose last window saw more attempts than that have passive traffic.
    std::map<std::pair<std::string, std::string>, std::uint64_t> probed_now_, probed_before_;
    std::set<std::pair<std::string, std::string>> passive_;
    AlertDedup alerts_; // survives reloads: a repeated delivery stays a repeat
    // Failed-over domains: from the state file at start, from the running
    // monitor at a reload; the preference order the switch must not replace.
    struct FailedOver {
        std::string to;
        std::vector<std::string> order;
    };
    std::map<std::string, FailedOver> failed_over_;
    std::string saved_state_; // what the state file holds
    std::string state_error_; // why the last write failed ("": it did not), logged once
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
    // The hook runners by name: a reload keeps the runner of a hook still configured (its
    // run in progress, cooldown and retries); a removed hook's runner that is still running
    // is retired until its run has ended.
    std::map<std::string, std::unique_ptr<HookRunner>> hooks_;
    std::vector<std::unique_ptr<HookRunner>> retired_;
    // What the probes ask each DNS server (by its role), and the round in turn.
    std::map<std::string, DnsRole> dns_roles_;
    std::uint64_t probe_rounds_ = 0;
    // What only the probes saw since the last window, by (kind, address, transport).
    std::map<std::tuple<std::string, std::string, std::string>, WindowEvidence> probe_evidence_;
    // Resolver probes' SERVFAILs taken back since the last window, by (address,
    // transport) (excuse_servfail), and each question's latest outcome by
    // (address, transport, question): true when it failed.
    std::map<std::pair<std::string, std::string>, std::uint64_t> servfail_excused_;
    std::map<std::tuple<std::string, std::string, std::string>, bool> question_failed_;
    // per (address, transport), at the last window
    std::map<std::pair<std::string, std::string>, DnsCounters> dns_prev_;
    std::map<std::string, SmtpCounters> smtp_prev_;
    std::unique_ptr<HttpServer> http_;
    std::unique_ptr<Sensor> sensor_;
    std::vector<Watched> watched_;
    DnsAggregator dns_;
    SmtpAggregator smtp_;
    Snapshot snapshot_;
    MetricsOptions metrics_opts_;
};

} // namespace mxs
