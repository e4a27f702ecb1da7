// mxsense: command line.
#include "agent.h"
#include "config.h"
#include "http_client.h"
#include "options.h"
#include "status.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace {

void setup_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("mxsense");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
}

} // namespace

// The command line, bound to o: an option writes o only when it is given, so
// parsing over options loaded from a file overrides just what was given.
struct Cli {
    CLI::App app{"mxsense: passive DNS and SMTP health sensor for mail hosts"};
    CLI::App* agent;
    CLI::App* check;
    std::string config;
    std::string check_file;
    CLI::App* status;
    std::string status_agent = mxs::kDefaultListen;
    bool status_json = false;

    explicit Cli(mxs::AgentOptions& o) {
        app.require_subcommand(1);
        app.set_version_flag("--version", std::string("mxsense ") + MXS_VERSION);
        agent = app.add_subcommand("agent", "Load the sensor, attach it, serve metrics");
        agent
            ->add_option("-c,--config", config,
                         "YAML configuration file; options given here override it")
            ->check(CLI::ExistingFile);
        agent->add_option("-i,--interface", o.interfaces,
                          "Interface to watch (repeatable; default: the default-route interface)");
        agent->add_option("-l,--listen", o.listen, "Metrics address ADDR:PORT or [V6]:PORT")
            ->capture_default_str();
        agent->add_option("--dns-port", o.dns_ports, "DNS port to watch (repeatable, up to 8)")
            ->capture_default_str();
        agent
            ->add_option("--dns-timeout", o.dns_timeout_s,
                         "Seconds after which an unanswered query counts as unanswered")
            ->capture_default_str();
        agent
            ->add_option("--sweep-interval", o.sweep_interval_s,
                         "Seconds between sweeps of unanswered queries")
            ->capture_default_str();
        agent
            ->add_option("--max-servers", o.max_labelled_servers,
                         "Servers with their own label; the rest are summed as server=\"other\"")
            ->capture_default_str();
        agent->add_option("--stats-map-size", o.stats_map_entries, "Per-server stats map entries")
            ->capture_default_str();
        agent
            ->add_option("--inflight-map-size", o.inflight_map_entries,
                         "In-flight queries map entries for this host's own queries (client role)")
            ->capture_default_str();
        agent
            ->add_option("--inflight-server-map-size", o.inflight_server_map_entries,
                         "In-flight queries map entries for queries to this host (server role)")
            ->capture_default_str();
        agent
            ->add_option("--late-map-size", o.late_map_entries,
                         "Swept (unanswered) queries remembered to recognise late answers (LRU)")
            ->capture_default_str();
        agent
            ->add_option("--tcp-stream-map-size", o.tcp_stream_map_entries,
                         "TCP DNS streams whose last message spans segments, and TCP DNS "
                         "connections per role (LRU)")
            ->capture_default_str();
        agent->add_option("--smtp-port", o.smtp_ports, "SMTP port to watch (repeatable, up to 4)")
            ->capture_default_str();
        agent
            ->add_option("--smtp-tls-port", o.smtp_tls_ports,
                         "SMTP port with implicit TLS, where the ServerHello is the greeting")
            ->capture_default_str();
        agent
            ->add_option("--smtp-connect-timeout", o.smtp_connect_timeout_s,
                         "Seconds after which an unanswered SYN counts as a timeout")
            ->capture_default_str();
        agent
            ->add_option("--smtp-idle-timeout", o.smtp_idle_timeout_s,
                         "Seconds after which an idle SMTP connection is forgotten (evicted)")
            ->capture_default_str();
        agent
            ->add_option("--smtp-stats-map-size", o.smtp_stats_map_entries,
                         "Per-server SMTP stats map entries")
            ->capture_default_str();
        agent
            ->add_option("--smtp-flow-map-size", o.smtp_flow_map_entries,
                         "SMTP connections map entries")
            ->capture_default_str();
        agent
            ->add_option("--latency-buckets", o.latency_buckets_s,
                         "Exported latency histogram bounds in seconds, ascending")
            ->delimiter(',');
        agent
            ->add_option("--xdp-mode", o.xdp_mode, "auto (native, else generic), native or generic")
            ->capture_default_str();
        agent->add_option("--log-level", o.log_level, "debug, info, warn or error")
            ->capture_default_str();
        agent
            ->add_option("-u,--user", o.user,
                         "Run as this user (name or uid) once the sensor is attached; changing it "
                         "needs a restart")
            ->capture_default_str();
        agent
            ->add_option("--group", o.group,
                         "With --user: this group instead of the user's primary group")
            ->capture_default_str();

        check = app.add_subcommand("check-config", "Check a configuration file and exit");
        check->add_option("file", check_file, "YAML configuration file")->required();
        status = app.add_subcommand("status", "Print the agent's targets, states and domains");
        status->add_option("-a,--agent", status_agent, "The agent's listen address ADDR:PORT")
            ->capture_default_str();
        status->add_flag("--json", status_json, "Print the JSON document as served");
    }
};

int main(int argc, char** argv) {
    mxs::AgentOptions o;
    Cli cli(o);
    try {
        cli.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.app.exit(e) == 0 ? 0 : 2; // --help and --version exit 0, usage errors 2
    }

    if (cli.check->parsed()) {
        auto c = mxs::load_config(cli.check_file);
        if (!c) {
            std::cerr << c.error() << "\n";
            return 1;
        }
        for (const auto& w : mxs::config_warnings(*c))
            std::cerr << cli.check_file << ": warning: " << w << "\n";
        std::cout << cli.check_file << ": ok\n";
        return 0;
    }

    if (cli.status->parsed()) {
        const auto addr = mxs::parse_listen(cli.status_agent);
        if (!addr) {
            std::cerr << "mxsense status: --agent '" << cli.status_agent
                      << "': expected ADDR:PORT or [V6ADDR]:PORT\n";
            return 2;
        }
        auto body = mxs::http_get(*addr, "/api/v1/status");
        if (!body) {
            std::cerr << "mxsense status: " << body.error() << "\n";
            return 1;
        }
        if (cli.status_json) {
            std::cout << *body;
            return 0;
        }
        std::string err;
        const auto table = mxs::status_table(*body, err);
        if (!err.empty()) {
            std::cerr << "mxsense status: " << err << "\n";
            return 1;
        }
        std::cout << table;
        return 0;
    }

    if (cli.agent->parsed()) {
        if (!cli.config.empty()) {
            auto c = mxs::load_config(cli.config);
            if (!c) {
                std::cerr << "mxsense agent: " << c.error() << "\n";
                return 1;
            }
            o = std::move(*c);
            o.config_path = cli.config;
            Cli again(o); // the command line again, over the file's values
            again.app.parse(argc, argv);
        }
        if (auto err = mxs::validate(o)) {
            std::cerr << "mxsense agent: " << *err << "\n";
            return 2;
        }
        setup_logging(o.log_level);
        try {
            return mxs::Agent(std::move(o)).run();
        } catch (const std::exception& e) {
            spdlog::critical("fatal: {}", e.what());
            return 1;
        }
    }
    return 0;
}
