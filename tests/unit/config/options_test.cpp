// validate() over options set in code: each error names the option by its key (no file, no
// flag), the range errors as the table states them.
#include "base/shown.h"
#include "config/command_line.h"
#include "config/option_table.h"
#include "config/options.h"
#include "config/validate.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace mxs {
namespace {

TEST(Options, DefaultsAreValid) {
    const auto v = validate(AgentOptions{});
    EXPECT_TRUE(v) << v.error();
}

TEST(Options, ErrorsNameTheOption) {
    auto check = [](auto mutate, const std::string& want) {
        AgentOptions o;
        mutate(o);
        auto v = validate(o);
        ASSERT_FALSE(v) << want;
        EXPECT_EQ(v.error(), want);
    };
    check([](AgentOptions& o) { o.listen = "nowhere"; },
          "listen: 'nowhere': expected ADDR:PORT or [V6ADDR]:PORT");
    check([](AgentOptions& o) { o.dns_ports = {53, 53}; }, "dns.ports[1]: port 53 is listed twice");
    check([](AgentOptions& o) { o.dns_ports = {1, 2, 3, 4, 5, 6, 7, 8, 9}; },
          "dns.ports: between 1 and 8 ports");
    check([](AgentOptions& o) { o.dns_timeout_s = 0; },
          "dns.timeout: 0: must be a number from 0.001 to 3600 seconds");
    check(
        [](AgentOptions& o) {
            o.latency_buckets_s = {0.1, 0.01};
        },
        "latency_buckets[1]: 0.01 after 0.1: bounds must be strictly increasing");
    check([](AgentOptions& o) { o.late_map_entries = 0; },
          "maps.dns_late: 0: must be a whole number from 1 to 16777216 entries");
    check([](AgentOptions& o) { o.inflight_server_map_entries = 4294967295u; },
          "maps.dns_inflight_server: 4294967295: must be a whole number from 1 to 16777216 "
          "entries");
    check([](AgentOptions& o) { o.xdp_mode = "fast"; },
          "xdp_mode: 'fast': expected auto, native or generic");
    check([](AgentOptions& o) { o.smtp_tls_ports = {2465}; },
          "smtp.tls_ports[0]: 2465 is not one of smtp.ports (25, 465, 587)");
    check(
        [](AgentOptions& o) {
            o.smtp_ports = {25, 465, 53};
        },
        "smtp.ports[2]: port 53 is also one of dns.ports (53)");
    check([](AgentOptions& o) { o.smtp_idle_timeout_s = 5; },
          "smtp.idle_timeout: 5 s must exceed smtp.connect_timeout (10 s)");
    check(
        [](AgentOptions& o) {
            o.interfaces = {"eth0", "eth0"};
        },
        "interfaces[1]: eth0 is listed twice");
}

// The command line: a value out of range is refused as it is parsed, naming the flag; a check
// of the whole names the flag that set a value and the file's line for one the file set; a
// flag overrides the file option by option.
TEST(CommandLine, ErrorsNameTheFlagOrTheFileLine) {
    const auto file = ::testing::TempDir() + "/cl-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(file) << "dns:\n  timeout: 3\nsmtp:\n  tls_ports: [465]\n";
    auto err = [](std::vector<std::string> args) {
        auto r = agent_options(args);
        return r ? std::string("ok") : r.error();
    };
    EXPECT_EQ(err({"--dns-timeout", "0"}),
              "--dns-timeout: '0': expected a number from 0.001 to 3600 seconds");
    EXPECT_EQ(err({"--dns-port", "53", "--dns-port", "70000"}),
              "--dns-port: '70000': expected a whole number from 1 to 65535");
    EXPECT_EQ(err({"--smtp-tls-port", "2465"}),
              "--smtp-tls-port: 2465 is not one of smtp.ports (25, 465, 587)");
    EXPECT_EQ(err({"-c", file, "--smtp-port", "25"}),
              file + ":4: smtp.tls_ports[0]: 465 is not one of --smtp-port (25)");
    EXPECT_EQ(err({"--smtp-idle-timeout", "5"}),
              "--smtp-idle-timeout: 5 s must exceed smtp.connect_timeout (10 s)");
    auto o = agent_options({"--config", file, "--dns-timeout", "7"});
    ASSERT_TRUE(o) << o.error();
    EXPECT_DOUBLE_EQ(o->dns_timeout_s, 7);                           // the flag wins
    EXPECT_EQ(o->smtp_tls_ports, (std::vector<std::uint16_t>{465})); // the file's stays
    EXPECT_EQ(o->config_path, file);
    std::ofstream(file) << "dns: {timeout: soon}\n";
    auto bad = agent_options({"-c", file});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(),
              file + ":1: dns.timeout: expected a number from 0.001 to 3600 seconds, got 'soon'");
    std::remove(file.c_str());
}

// The table holds each option once: keys and flags are unique, every flag's option has a
// field, every number a range, and --help shows each flag with its default.
TEST(OptionTable, EachOptionOnceWithItsFlagAndDefault) {
    std::set<std::string> keys, flags;
    for (const auto& s : option_table()) {
        EXPECT_TRUE(keys.insert(s.key).second) << s.key;
        if (*s.flag) {
            EXPECT_TRUE(flags.insert(s.long_flag()).second) << s.flag;
            EXPECT_FALSE(std::holds_alternative<std::monostate>(s.field)) << s.key;
        }
        const bool numeric = std::holds_alternative<FieldOf<double>>(s.field) ||
                             std::holds_alternative<FieldOf<std::uint32_t>>(s.field) ||
                             std::holds_alternative<FieldOf<std::uint64_t>>(s.field) ||
                             std::holds_alternative<FieldOf<std::vector<double>>>(s.field) ||
                             std::holds_alternative<FieldOf<std::vector<std::uint16_t>>>(s.field);
        const bool item_numeric = std::holds_alternative<double HookConfig::*>(s.item) ||
                                  std::holds_alternative<unsigned HookConfig::*>(s.item);
        if (std::holds_alternative<std::monostate>(s.field)) { // inside a list item
            EXPECT_NE(std::string(s.key).find("[]."), std::string::npos) << s.key;
            EXPECT_FALSE(std::holds_alternative<std::monostate>(s.item)) << s.key;
            EXPECT_EQ(item_numeric, s.range.has_value()) << s.key;
        } else {
            EXPECT_TRUE(std::holds_alternative<std::monostate>(s.item)) << s.key;
            EXPECT_EQ(numeric, s.range.has_value()) << s.key;
        }
    }
    AgentOptions o;
    CLI::App app;
    add_agent_flags(app, o);
    const auto help = app.help();
    for (const auto& s : option_table())
        if (*s.flag) {
            EXPECT_NE(help.find(s.long_flag()), std::string::npos) << s.key;
            EXPECT_NE(help.find(s.help), std::string::npos) << s.key;
        }
    EXPECT_NE(help.find("--dns-timeout FLOAT:from 0.001 to 3600 seconds=5"), std::string::npos)
        << help;
    // The options without a flag are listed after the flags, with their defaults.
    const auto file_help = file_options_help();
    for (const auto& s : option_table())
        if (!*s.flag) {
            EXPECT_NE(file_help.find(fmt::format("  {:<30} {}", s.key, s.help)), std::string::npos)
                << s.key;
        }
    EXPECT_NE(file_help.find("hooks[].timeout                Seconds a hook run may take (from "
                             "0.001 to 3600 seconds); default 30\n"),
              std::string::npos)
        << file_help;
    // A word option's default is one of its choices.
    for (const auto& s : option_table())
        if (s.choices) {
            const auto c = s.choice_list();
            EXPECT_NE(std::find(c.begin(), c.end(), show_option(s, o)), c.end()) << s.key;
        }
}

// A number on the command line is read as the file's are (one reader), and the value checked
// is the value stored: "053" was checked as 53 and stored as octal 43.
TEST(CommandLine, NumbersAreReadAsTheFileReadsThem) {
    auto err = [](std::vector<std::string> args) {
        auto r = agent_options(args);
        return r ? std::string("ok") : r.error();
    };
    EXPECT_EQ(err({"--smtp-port", "053"}),
              "--smtp-port: '053': expected a number without a leading zero (octal in YAML 1.1 "
              "and in C)");
    for (const char* bad : {"0x35", " 53", "53 ", "5_3", "inf", "nan", "53.5"})
        EXPECT_EQ(
            err({"--dns-port", bad}),
            fmt::format("--dns-port: {}: expected a whole number from 1 to 65535", shown(bad)))
            << bad;
    EXPECT_EQ(err({"--sweep-interval", "0x1p5"}),
              "--sweep-interval: '0x1p5': expected a number from 0.05 to 60 seconds");
    auto o = agent_options({"--max-servers", "1e2", "--dns-timeout", "+2.5", "--smtp-port", "2525",
                            "--smtp-port", "465"});
    ASSERT_TRUE(o) << o.error();
    EXPECT_EQ(o->max_labelled_servers, 100u);
    EXPECT_DOUBLE_EQ(o->dns_timeout_s, 2.5);
    EXPECT_EQ(o->smtp_ports, (std::vector<std::uint16_t>{2525, 465}));
    EXPECT_EQ(err({"-i", ""}), "--interface: '' is not an interface name (1 to 15 bytes, none "
                               "of '/', ':' or white space)");
}

} // namespace
} // namespace mxs
