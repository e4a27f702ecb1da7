// mxsense: command line.
#include "app/agent.h"
#include "app/audit_command.h"
#include "app/logging.h"
#include "base/bounded_file.h"
#include "base/log_format.h"
#include "config/command_line.h"
#include "config/config.h"
#include "config/options.h"
#include "config/validate.h"
#include "views/http_client.h"
#include "views/status.h"

#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <iostream>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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
    std::string status_ca_file;
    std::string status_user;
    std::string status_password_file;
    mxs::AuditCommand audit;

    explicit Cli(mxs::AgentOptions& o) {
        app.require_subcommand(1);
        app.set_version_flag("--version", std::string("mxsense ") + MXS_VERSION);
        agent = app.add_subcommand("agent", "Load the sensor, attach it, serve metrics");
        agent
            ->add_option("-c,--config", config,
                         "YAML configuration file; options given here override it")
            ->check(CLI::ExistingFile);
        // For --help and usage errors; agent_options() reads them again, over the file.
        mxs::add_agent_flags(*agent, o);
        agent->footer(mxs::file_options_help());
        check = app.add_subcommand("check-config", "Check a configuration file and exit");
        check->add_option("file", check_file, "YAML configuration file")->required();
        status = app.add_subcommand("status", "Print the agent's targets, states and domains");
        status
            ->add_option("-a,--agent", status_agent,
                         "The agent: its listen address ADDR:PORT, or https://HOST:PORT when its "
                         "web configuration has TLS")
            ->capture_default_str();
        status
            ->add_option("--ca-file", status_ca_file,
                         "CA certificates (PEM) the agent's certificate is verified against "
                         "(default: the system's store)")
            ->check(CLI::ExistingFile);
        status->add_option("--user", status_user, "Basic auth user (the web configuration's)");
        status
            ->add_option("--password-file", status_password_file,
                         "File whose first line is --user's password (never on the command line)")
            ->needs(status->get_option("--user"));
        status->get_option("--user")->needs(status->get_option("--password-file"));
        status->add_flag("--json", status_json, "Print the JSON document as served");
        audit.add_to(app);
    }
};

int main(int argc, char** argv) {
    // libcurl (the audit's MTA-STS fetch) is initialised once, before any thread starts.
    curl_global_init(CURL_GLOBAL_DEFAULT);
    // Until the agent reads its options: spdlog's own default logger would stamp local time.
    mxs::setup_logging("info", "auto");
    // The priority prefix of lines written to stderr directly, under the journal ("" else).
    const auto err = mxs::stderr_journal_prefix(spdlog::level::err);
    const auto warn = mxs::stderr_journal_prefix(spdlog::level::warn);
    mxs::AgentOptions o;
    Cli cli(o);
    try {
        cli.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0, usage errors 2; audit's 3 (UNKNOWN: 2 is CRITICAL).
        const bool audit = argc > 1 && std::string_view(argv[1]) == "audit";
        // CLI11's error lines get the journal's error priority like every other error (the
        // help and version text, on stdout, none).
        std::ostringstream message;
        const int code = cli.app.exit(e, std::cout, message);
        std::istringstream lines(message.str());
        for (std::string line; std::getline(lines, line);)
            std::cerr << err << line << "\n";
        return code == 0 ? 0 : audit ? 3 : 2;
    }

    if (cli.audit.cmd->parsed())
        return cli.audit.run();

    if (cli.check->parsed()) {
        mxs::Origins origins;
        auto c = mxs::load_config(cli.check_file, &origins);
        if (!c) {
            std::cerr << err << c.error() << "\n";
            return 1;
        }
        // As compilers print them ("FILE:LINE: warning: ..."); the file is still ok.
        for (const auto& w : mxs::config_warnings(*c, origins))
            std::cerr << warn << (w.where.empty() ? cli.check_file : w.where)
                      << ": warning: " << w.message << "\n";
        for (const auto& w : mxs::web_config_warnings(c->web))
            std::cerr << warn << "warning: " << w << "\n";
        std::vector<mxs::WebListener> listeners{{"listen", c->listen, true}};
        if (!c->webhook.listen.empty())
            listeners.push_back({"webhook.listen", c->webhook.listen, false});
        for (const auto& w : mxs::exposure_warnings(listeners, c->web))
            std::cerr << warn << "warning: " << w << "\n";
        std::cout << cli.check_file << ": ok\n";
        return 0;
    }

    if (cli.status->parsed()) {
        mxs::HttpClientOptions ho{cli.status_agent, cli.status_ca_file, cli.status_user, {}};
        if (auto url = mxs::agent_url(ho.agent); !url) {
            std::cerr << err << "mxsense status: " << url.error() << "\n";
            return 2;
        }
        if (!ho.user.empty()) { // before the password is read: it goes nowhere unsafe
            const auto route = mxs::credentials_route(*mxs::agent_url(ho.agent));
            if (route == mxs::CredentialsRoute::refused) {
                std::cerr << err << "mxsense status: --user over plain http:// to "
                          << *mxs::agent_url(ho.agent)
                          << " would send the password in plain text to another host; use "
                             "https:// (the agent's web configuration with TLS)\n";
                return 2;
            }
            if (route == mxs::CredentialsRoute::loopback)
                std::cerr << warn
                          << "mxsense status: warning: --user over plain http:// (this "
                             "host only: loopback)\n";
        }
        if (!cli.status_password_file.empty()) {
            auto p = mxs::read_bounded_file(cli.status_password_file, mxs::kTokenFileLimit);
            if (!p) {
                std::cerr << "mxsense status: --password-file: " << p.error() << "\n";
                return 2;
            }
            ho.password = p->substr(0, p->find('\n'));
            if (!ho.password.empty() && ho.password.back() == '\r')
                ho.password.pop_back();
        }
        auto body = mxs::http_get(ho, "/api/v1/status");
        if (!body) {
            std::cerr << err << "mxsense status: " << body.error() << "\n";
            return 1;
        }
        if (cli.status_json) {
            std::cout << *body;
            return 0;
        }
        const auto table = mxs::status_table(*body);
        if (!table) {
            std::cerr << err << "mxsense status: " << table.error() << "\n";
            return 1;
        }
        std::cout << *table;
        return 0;
    }

    if (cli.agent->parsed()) {
        // The arguments after "agent": read again, over the file, by agent_options() (at
        // start and on every reload).
        std::vector<std::string> args;
        for (int i = 1; i < argc; ++i)
            if (std::string_view(argv[i]) == "agent") {
                args.assign(argv + i + 1, argv + argc);
                break;
            }
        // A file refused on its own is 1 (as check-config); the whole, with the flags, 2.
        if (!cli.config.empty())
            if (auto f = mxs::load_config(cli.config); !f) {
                std::cerr << err << "mxsense agent: " << f.error() << "\n";
                return 1;
            }
        auto c = mxs::agent_options(args);
        if (!c) {
            std::cerr << err << "mxsense agent: " << c.error() << "\n";
            return 2;
        }
        mxs::setup_logging(c->log_level, c->log_format);
        try {
            return mxs::Agent(std::move(*c), std::move(args)).run();
        } catch (const std::exception& e) {
            spdlog::critical("fatal: {}", e.what());
            return 1;
        }
    }
    return 0;
}
