// Configuration files under tests/config, good and bad, asserted by exact text.
#include "base/bounded_file.h"
#include "config/config.h"
#include "config/dns_names.h"
#include "config/option_table.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace mxs {
namespace {

const std::string kDir = MXS_TEST_CONFIG_DIR;

TEST(Config, GoodFileSetsEveryKey) {
    auto c = load_config(kDir + "/good.yaml");
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->interfaces, (std::vector<std::string>{"eth0", "eth1"}));
    EXPECT_EQ(c->listen, "[::1]:10053");
    EXPECT_EQ(c->xdp_mode, "generic");
    EXPECT_EQ(c->log_level, "debug");
    EXPECT_DOUBLE_EQ(c->audit.interval_s, 1800);
    EXPECT_EQ(c->audit.mx_ttl_min_s, 600u);
    EXPECT_EQ(c->audit.mx_ttl_max_s, 7200u);
    EXPECT_EQ(c->audit.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(c->audit.serial_grace_s, 900);
    EXPECT_EQ(c->log_format, "json");
    EXPECT_EQ(c->state_file, "/run/mxsense/state.json");
    EXPECT_EQ(c->user, "nobody");
    EXPECT_EQ(c->group, "nogroup");
    EXPECT_DOUBLE_EQ(c->sweep_interval_s, 0.5);
    EXPECT_EQ(c->max_labelled_servers, 64u);
    EXPECT_EQ(c->latency_buckets_s, (std::vector<double>{0.001, 0.01, 0.1, 1}));
    EXPECT_EQ(c->dns_ports, (std::vector<std::uint16_t>{53, 5353}));
    EXPECT_DOUBLE_EQ(c->dns_timeout_s, 3);
    EXPECT_EQ(c->smtp_ports, (std::vector<std::uint16_t>{25, 465, 587, 2525}));
    EXPECT_EQ(c->smtp_tls_ports, (std::vector<std::uint16_t>{465}));
    EXPECT_DOUBLE_EQ(c->smtp_connect_timeout_s, 8);
    EXPECT_DOUBLE_EQ(c->smtp_idle_timeout_s, 300);
    EXPECT_EQ(c->stats_map_entries, 2048u);
    EXPECT_EQ(c->inflight_map_entries, 131072u);
    EXPECT_EQ(c->inflight_server_map_entries, 16384u);
    EXPECT_EQ(c->late_map_entries, 2048u);
    EXPECT_EQ(c->tcp_stream_map_entries, 8192u);
    EXPECT_EQ(c->smtp_stats_map_entries, 512u);
    EXPECT_EQ(c->smtp_flow_map_entries, 32768u);
    EXPECT_EQ(c->dns_servers, (std::vector<std::string>{"198.18.0.53", "fd00::53"}));
    const auto& v = c->verdicts;
    EXPECT_DOUBLE_EQ(v.window_s, 5);
    EXPECT_EQ(v.rise, 3u);
    EXPECT_EQ(v.fall, 2u);
    EXPECT_EQ(v.hold_down_windows, 4u);
    EXPECT_EQ(v.unknown_after_windows, 10u);
    EXPECT_EQ(v.min_attempts, 3u);
    EXPECT_DOUBLE_EQ(v.down_failure_ratio, 0.6);
    EXPECT_DOUBLE_EQ(v.degraded_failure_ratio, 0.1);
    EXPECT_DOUBLE_EQ(v.degraded_p99_s, 0.5);
    EXPECT_EQ(v.latency_min_samples, 50u);
    EXPECT_EQ(v.latency_horizon, 8u);
    EXPECT_DOUBLE_EQ(v.degraded_loss_ratio, 0.4);
    EXPECT_DOUBLE_EQ(v.failback_hold_s, 120);
    ASSERT_EQ(c->domains.size(), 3u);
    EXPECT_FALSE(c->domains[0].discover);
    EXPECT_FALSE(c->domains[0].authoritative);
    EXPECT_TRUE(c->domains[1].discover);
    EXPECT_TRUE(c->domains[1].authoritative);
    EXPECT_TRUE(c->domains[2].discover); // no mx key: discovered
    EXPECT_FALSE(c->domains[2].authoritative);
    const auto& p = c->probes;
    EXPECT_FALSE(p.enabled);
    EXPECT_DOUBLE_EQ(p.interval_s, 20);
    EXPECT_DOUBLE_EQ(p.timeout_s, 2);
    EXPECT_EQ(p.dns_name, "example.test");
    EXPECT_EQ(p.dns_type, "SOA");
    EXPECT_EQ(p.ehlo_name, "probe.example.test");
    EXPECT_FALSE(p.starttls);
    ASSERT_EQ(p.targets.size(), 2u);
    EXPECT_EQ(p.targets[0].address, "198.18.0.53");
    EXPECT_EQ(p.targets[0].role, "resolver");
    EXPECT_EQ(p.targets[0].name, "example.org");
    EXPECT_EQ(p.targets[0].type, "A");
    EXPECT_EQ(p.targets[1].address, "fd00::53");
    EXPECT_EQ(p.targets[1].role, "authoritative");
    EXPECT_EQ(p.targets[1].name, "example.test");
    EXPECT_EQ(p.targets[1].type, "");
    EXPECT_EQ(c->discovery.resolver, "fd00::53");
    EXPECT_DOUBLE_EQ(c->discovery.min_refresh_s, 10);
    EXPECT_DOUBLE_EQ(c->discovery.max_refresh_s, 600);
    EXPECT_DOUBLE_EQ(c->discovery.retry_s, 15);
    EXPECT_EQ(c->domains[0].name, "example.test");
    ASSERT_EQ(c->domains[0].mx.size(), 2u);
    EXPECT_EQ(c->domains[0].mx[0].host, "mx1.example.test");
    EXPECT_EQ(c->domains[0].mx[0].addresses, (std::vector<std::string>{"198.18.0.10", "fd00::10"}));
    EXPECT_EQ(c->domains[0].mx[1].addresses, (std::vector<std::string>{"198.18.0.11"}));
    ASSERT_EQ(c->hooks.size(), 1u);
    const auto& h = c->hooks[0];
    EXPECT_EQ(h.name, "switchover");
    EXPECT_EQ(h.events, (std::vector<std::string>{"domain_failover", "domain_failback"}));
    EXPECT_EQ(h.argv,
              (std::vector<std::string>{"/usr/sbin/mx-switchover", "--zone", "example.test"}));
    EXPECT_DOUBLE_EQ(h.timeout_s, 20);
    EXPECT_DOUBLE_EQ(h.cooldown_s, 30);
    EXPECT_EQ(h.retries, 1u);
    EXPECT_DOUBLE_EQ(h.backoff_s, 2);
}

TEST(Config, EmptyFileIsTheDefaults) {
    auto c = load_config(kDir + "/empty.yaml");
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->listen, AgentOptions{}.listen);
    EXPECT_EQ(c->smtp_ports, AgentOptions{}.smtp_ports);
}

TEST(Config, BadFilesNameFileLineAndField) {
    const std::pair<const char*, const char*> cases[] = {
        {"bad-unknown-key.yaml", "bad-unknown-key.yaml:4: dns.timeuot: unknown key"},
        {"bad-type.yaml",
         "bad-type.yaml:2: dns.timeout: expected a number from 0.001 to 3600 seconds, got 'soon'"},
        {"bad-port.yaml",
         "bad-port.yaml:2: smtp.ports[1]: expected a whole number from 1 to 65535, got '70000'"},
        {"bad-negative.yaml",
         "bad-negative.yaml:2: maps.dns_stats: expected a whole number from 1 to 65534 "
         "entries, got '-1'"},
        {"bad-section.yaml", "bad-section.yaml:1: dns: expected a mapping"},
        {"bad-tls-port.yaml",
         "bad-tls-port.yaml:3: smtp.tls_ports[0]: 465 is not one of smtp.ports (25)"},
        {"bad-buckets.yaml", "bad-buckets.yaml:1: latency_buckets[1]: 0.01 after 0.1: bounds "
                             "must be strictly increasing"},
        {"bad-mx-key.yaml", "bad-mx-key.yaml:5: domains[0].mx[0].prio: unknown key"},
        {"bad-mx-address.yaml", "bad-mx-address.yaml:5: domains[0].mx[0].addresses[0]: "
                                "'mx1.example.test' is not an IP address"},
        {"bad-hook-event.yaml",
         "bad-hook-event.yaml:3: hooks[0].events[0]: hook 'switch': unknown event 'mx_down'"},
        {"bad-probe-type.yaml", "bad-probe-type.yaml:2: probes.dns_type: 'PTR': expected one of "
                                "A, AAAA, NS, MX, SOA, TXT"},
        {"bad-probe-flag.yaml",
         "bad-probe-flag.yaml:2: probes.starttls: expected true or false, got 'maybe'"},
        {"bad-mx-discover.yaml",
         "bad-mx-discover.yaml:3: domains[0].mx: expected a list of MX hosts or 'discover'"},
        {"bad-state-file.yaml",
         "bad-state-file.yaml:1: state_file: 'state.json': must be an absolute path (or empty: "
         "none)"},
        {"bad-hook-argv.yaml",
         "bad-hook-argv.yaml:4: hooks[0].argv: hook 'switch': argv must start with an absolute "
         "path"},
        {"bad-probe-target-key.yaml",
         "bad-probe-target-key.yaml:4: probes.targets[0].zone: unknown key"},
        {"bad-probe-target-role.yaml",
         "bad-probe-target-role.yaml:3: probes.targets[0].role: 'primary': expected resolver or "
         "authoritative"},
        {"bad-probe-target-zone.yaml",
         "bad-probe-target-zone.yaml:3: probes.targets[0]: an authoritative server needs its zone "
         "as name"},
        {"bad-probe-target-address.yaml",
         "bad-probe-target-address.yaml:3: probes.targets[0].address: 'ns1.example.test' is not "
         "an IP address"},
        {"bad-probe-target-twice.yaml",
         "bad-probe-target-twice.yaml:4: probes.targets[1].address: 198.18.0.2 is listed twice"},
        {"bad-probe-target-role-missing.yaml",
         "bad-probe-target-role-missing.yaml:3: probes.targets[0]: needs a role (resolver or "
         "authoritative)"},
        {"bad-loss-ratio.yaml", "bad-loss-ratio.yaml:1: verdicts.degraded_loss_ratio: expected a "
                                "number from 0 (excluded) to 1, got '1.5'"},
        // Accepted silently before (adversarial review of issue 10, D).
        {"bad-domain-name.yaml",
         "bad-domain-name.yaml:2: domains[0].name: 'bad..name' is not a DNS name: an empty "
         "label"},
        {"bad-domain-twice.yaml",
         "bad-domain-twice.yaml:4: domains[1].name: 'Example.Test.' is listed twice (as "
         "'example.test'; DNS names ignore case and the final dot)"},
        {"bad-mx-host-twice.yaml",
         "bad-mx-host-twice.yaml:5: domains[0].mx[1].host: 'MX1.example.test.' is listed twice "
         "in example.test (as 'mx1.example.test')"},
        {"bad-mx-host-name.yaml",
         "bad-mx-host-name.yaml:4: domains[0].mx[0].host: 'mx1 example.test' is not a DNS name: "
         "character ' ' in label 'mx1 example'"},
        {"bad-mx-address-twice.yaml",
         "bad-mx-address-twice.yaml:4: domains[0].mx[0].addresses[1]: fd00::10 is listed twice "
         "for mx1.example.test"},
        {"bad-number-octal.yaml", "bad-number-octal.yaml:1: max_servers: expected a number "
                                  "without a leading zero (octal in YAML 1.1 and in C), got '010'"},
        {"bad-interfaces-empty.yaml",
         "bad-interfaces-empty.yaml:1: interfaces: an empty list: name the interfaces, or leave "
         "the key out for the default-route interface"},
        {"bad-second-document.yaml",
         "bad-second-document.yaml:3: a second YAML document (after \"---\"): the "
         "configuration is one document"},
        {"bad-number-tiny.yaml", "bad-number-tiny.yaml:2: http.idle_timeout: expected a number "
                                 "from 0.001 to 3600 seconds, got '1e-300'"},
        // Adversarial review of issue 14: an audit each millisecond; a CA file that is none.
        {"bad-audit-interval.yaml",
         "bad-audit-interval.yaml:2: audit.interval: 0.001 s: 0 (no audit) or at least 60 s (each "
         "run opens an SMTP session with every MX host)"},
        {"bad-audit-ca-file.yaml",
         "bad-audit-ca-file.yaml:2: audit.ca_file: /etc/hostname: no PEM certificate in it"},
        {"bad-audit-ca-missing.yaml", "bad-audit-ca-missing.yaml:2: audit.ca_file: "
                                      "/nonexistent/ca.pem: cannot read it: No such file or "
                                      "directory"},
        {"bad-sweep-window.yaml",
         "bad-sweep-window.yaml:1: sweep_interval: 5 s is longer than verdicts.window (2 s): a "
         "window must see at least one sweep of expired queries"},
        {"bad-dns-server-twice.yaml",
         "bad-dns-server-twice.yaml:1: dns_servers[1]: 198.18.0.53 is listed twice"},
        {"bad-probe-name.yaml",
         "bad-probe-name.yaml:1: probes.dns_name: 'example..test': not a DNS name: an empty "
         "label"},
        // Accepted before, the last of two equal keys winning (issue 12, bounded inputs).
        {"bad-duplicate-listen.yaml",
         "bad-duplicate-listen.yaml:3: listen: key given twice (first on line 1)"},
        {"bad-duplicate-nested.yaml",
         "bad-duplicate-nested.yaml:6: domains[0].mx[0].host: key given twice (first on line 4)"},
        {"bad-duplicate-flow.yaml",
         "bad-duplicate-flow.yaml:1: dns.timeout: key given twice (first on line 1)"},
        {"bad-duplicate-section.yaml",
         "bad-duplicate-section.yaml:4: verdicts: key given twice (first on line 1)"},
        // Numbers out of range, not finite, or past what the option can use (issue 12).
        {"bad-number-nan.yaml", "bad-number-nan.yaml:2: dns.timeout: expected a number from "
                                "0.001 to 3600 seconds, got '.nan'"},
        {"bad-number-inf.yaml", "bad-number-inf.yaml:5: hooks[0].cooldown: expected a number "
                                "from 0 to 86400 seconds, got '.inf'"},
        {"bad-number-1e300.yaml", "bad-number-1e300.yaml:5: hooks[0].timeout: expected a number "
                                  "from 0.001 to 3600 seconds, got '1e300'"},
        {"bad-number-4294967295.yaml",
         "bad-number-4294967295.yaml:2: maps.dns_inflight: expected a whole number from 1 to "
         "16777216 entries, got '4294967295'"},
        {"bad-number-max-servers.yaml",
         "bad-number-max-servers.yaml:1: max_servers: expected a whole number from 1 to 65536 "
         "servers, got '4294967295'"},
        {"bad-number-negative.yaml",
         "bad-number-negative.yaml:2: verdicts.failback_hold: expected a number from 0 to 604800 "
         "seconds, got '-30'"},
        {"bad-number-horizon.yaml",
         "bad-number-horizon.yaml:2: verdicts.latency_horizon: expected a whole number from 1 "
         "to 100 windows, got '100000'"},
        {"bad-number-bucket.yaml",
         "bad-number-bucket.yaml:1: latency_buckets[2]: expected a number from 0.000001 to "
         "3600 seconds, got '1e300'"},
        {"bad-user.yaml", "bad-user.yaml:1: user 'pv-no-such-user': no such user"},
    };
    for (const auto& [file, want] : cases) {
        auto c = load_config(kDir + "/" + file);
        ASSERT_FALSE(c) << file;
        EXPECT_EQ(c.error(), kDir + "/" + want) << file;
    }
}

// DNS types in any case; addresses in the canonical form the kernel's keys use (a
// configured "2001:DB8::A" never matched the sensor's "2001:db8::a").
TEST(Config, TypesIgnoreCaseAndAddressesAreCanonical) {
    auto c = parse_config(R"(dns_servers: ["2001:DB8:0::53", "::ffff:198.18.0.53"]
domains:
  - name: example.test
    mx: [{host: mx1.example.test, addresses: ["FD00::10"]}]
probes:
  dns_name: example.test
  dns_type: mx
  targets: [{address: "2001:db8::53", role: authoritative, name: example.test, type: soa}]
discovery: {resolver: "FD00::53"}
)",
                          "case.yaml");
    ASSERT_TRUE(c) << c.error(); // old code: "probes.dns_type 'mx': expected one of A, ..."
    EXPECT_EQ(c->dns_servers, (std::vector<std::string>{"2001:db8::53", "198.18.0.53"}));
    EXPECT_EQ(c->domains[0].mx[0].addresses, (std::vector<std::string>{"fd00::10"}));
    EXPECT_EQ(c->discovery.resolver, "fd00::53");
    EXPECT_EQ(dns_type_code("mx"), 15);
    EXPECT_EQ(dns_type_code("Soa"), 6);
    // Names: a final dot and the root where a question may be the root's.
    EXPECT_TRUE(parse_config("probes: {dns_name: '.', dns_type: NS}\ndomains: [{name: "
                             "example.test., mx: discover}]\n",
                             "root.yaml"))
        << "root";
    EXPECT_FALSE(parse_config("domains: [{name: '.', mx: discover}]\n", "root.yaml"));
}

TEST(Config, WebhookTokenComesFromItsFile) {
    const auto dir = ::testing::TempDir();
    const auto token = dir + "/webhook.token", cfg = dir + "/webhook.yaml";
    auto write = [](const std::string& path, const std::string& text) {
        std::ofstream(path) << text;
    };
    const std::string yaml = "webhook: {enabled: true, token_file: " + token +
                             ", hook: switchover}\nhooks:\n  - {name: switchover, events: [], "
                             "argv: [/bin/true]}\n";
    write(cfg, yaml);
    write(token, "s3cret-s3cret-s3cret\n");
    auto c = load_config(cfg);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->webhook.token, "s3cret-s3cret-s3cret");
    EXPECT_EQ(c->webhook.hook, "switchover");
    write(token, "short\n");
    c = load_config(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), cfg + ":1: webhook.token_file: " + token +
                             ": the token needs at least 16 characters");
    std::remove(token.c_str());
    c = load_config(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), cfg + ":1: webhook.token_file: " + token +
                             ": cannot read it: No such file or directory");
    write(cfg, "webhook: {enabled: true, token_file: " + token + ", hook: nosuch}\n");
    c = load_config(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), cfg + ":1: webhook.hook: 'nosuch': no hook of that name");
    write(cfg, "hooks:\n  - {name: h, events: [], argv: [/bin/true]}\n");
    c = load_config(cfg);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(),
              cfg + ":2: hooks[0]: hook 'h': no events (only the webhook's hook may have none)");
}

TEST(Config, SyntaxErrorsAndMissingFiles) {
    auto c = load_config(kDir + "/bad-yaml.yaml");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().rfind(kDir + "/bad-yaml.yaml:", 0), 0u) << c.error();
    auto m = load_config(kDir + "/nonexistent.yaml");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), kDir + "/nonexistent.yaml: cannot read it: No such file or directory");
}

// The YAML for one numeric key of number_ranges() set to v: "hooks[].timeout" is
// "hooks: [{timeout: V}]".
std::string yaml_for(const std::string& key, const std::string& v) {
    const auto dot = key.find('.');
    const auto head = key.substr(0, dot);
    const auto inner = dot == std::string::npos ? v : "{" + yaml_for(key.substr(dot + 1), v) + "}";
    if (head.size() > 2 && head.ends_with("[]"))
        return head.substr(0, head.size() - 2) + ": [" + inner + "]";
    return head + ": " + inner;
}

// Every numeric key refuses what lies outside its range, with the key and the line; a value
// of the range itself is no range error. Old code: 1e300 for hooks[].timeout, 4294967295 for
// max_servers, .inf for verdicts.failback_hold and more passed.
TEST(Config, EveryNumberIsFiniteAndWithinItsRange) {
    for (const auto& r : number_ranges()) {
        std::string field = r.key;
        for (std::size_t at; (at = field.find("[]")) != std::string::npos;)
            field.replace(at, 2, "[0]");
        const auto words = std::string(r.whole ? "whole " : "") + "number " + describe_range(r);
        std::vector<std::string> bad = {".nan", ".inf", "-.inf", "1e300", "-1e300"};
        bad.push_back(fmt::format("{}", r.max + (r.whole ? 1 : r.max / 1000)));
        bad.push_back(fmt::format("{}", r.min - (r.whole ? 1 : 0.001)));
        if (r.min_excluded)
            bad.push_back(fmt::format("{}", r.min));
        if (r.whole)
            bad.push_back(fmt::format("{}", r.min + 0.5));
        for (const auto& v : bad) {
            auto c = parse_config(yaml_for(r.key, v) + "\n", "n.yaml");
            ASSERT_FALSE(c) << r.key << " = " << v;
            EXPECT_EQ(c.error(),
                      fmt::format("n.yaml:1: {}: expected a {}, got '{}'", field, words, v));
        }
        std::vector<double> good = {r.max};
        if (!r.min_excluded)
            good.push_back(r.min);
        for (double v : good) {
            auto c = parse_config(yaml_for(r.key, fmt::format("{}", v)) + "\n", "n.yaml");
            // Other checks may refuse it (probes.timeout 60 >= the interval), not this one.
            if (!c) {
                EXPECT_EQ(c.error().find(": expected a"), std::string::npos) << c.error();
            }
        }
    }
}

// Each range is in the README's table, as the reader states it.
TEST(Config, ReadmeListsEveryRange) {
    std::ifstream in(MXS_README);
    std::stringstream readme;
    readme << in.rdbuf();
    ASSERT_FALSE(readme.str().empty()) << MXS_README;
    for (const auto& r : number_ranges()) {
        const auto row = fmt::format("| `{}` | {} |", r.key, describe_range(r));
        EXPECT_NE(readme.str().find(row), std::string::npos) << "README lacks: " << row;
    }
}

// Aliases are expanded by the walk that finds duplicate keys; a document of nested
// aliases stops at the node budget instead of running for ages.
TEST(Config, AliasBombIsRefused) {
    std::string y = "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1]\n";
    for (int i = 1; i <= 9; ++i)
        y += fmt::format("a{}: &a{} [*a{}, *a{}, *a{}, *a{}, *a{}, *a{}, *a{}, *a{}]\n", i, i,
                         i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    // 8^10 nodes expanded; the walk stops at the budget, which the message proves (it is only
    // given when the budget ran out). No wall-clock bound: the walk of 2^20 nodes took 5.3 s
    // in the sanitizer build under CPU stress, and a clock says nothing the count does not.
    auto c = parse_config(y, "bomb.yaml");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().find("more than 1048576 nodes (with aliases expanded)"), std::string::npos)
        << c.error();
    // Anchors and aliases as such are fine.
    auto ok = parse_config("dns_servers: &s [198.18.0.53]\nprobes: {interval: 20, timeout: 2}\n",
                           "alias.yaml");
    EXPECT_TRUE(ok) << ok.error();
}

class BoundedFile : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/bounded-file-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

// Regular files only, symbolic links followed, at most the limit; each refusal names the
// path and what it is. Old code (std::ifstream): /dev/zero read until memory ran out, a FIFO
// blocked in open(2), a directory read as an empty (valid) file.
TEST_F(BoundedFile, RegularFilesOnlyAndAtMostTheLimit) {
    const auto file = dir_ + "/f", link = dir_ + "/link", fifo = dir_ + "/fifo",
               zero = dir_ + "/zero";
    std::ofstream(file) << "0123456789";
    std::filesystem::create_symlink(file, link);
    std::filesystem::create_symlink("/dev/zero", zero);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_EQ(*read_bounded_file(file, 10), "0123456789"); // exactly the limit
    EXPECT_EQ(*read_bounded_file(link, 10), "0123456789");
    auto big = read_bounded_file(file, 9);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error(), file + ": larger than the limit of 9 bytes");
    auto f = read_bounded_file(fifo, 10);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error(), fifo + ": not a regular file but a FIFO");
    auto z = read_bounded_file(zero, 10);
    ASSERT_FALSE(z);
    EXPECT_EQ(z.error(), zero + ": not a regular file but a character device");
    auto d = read_bounded_file(dir_, 10);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), dir_ + ": not a regular file but a directory");
    auto m = read_bounded_file(dir_ + "/none", 10);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error_code(), ENOENT);
    EXPECT_EQ(m.error(), dir_ + "/none: cannot read it: No such file or directory");
    auto c = load_config(fifo);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), fifo + ": not a regular file but a FIFO");
    // A configuration of more than 1 MiB (comments: valid YAML) is refused, not parsed.
    std::ofstream(file) << std::string(kConfigFileLimit, '#') << "\n";
    c = load_config(file);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), file + ": larger than the limit of 1048576 bytes");
}

// http: the HTTP server's bounds (README "HTTP limits"); each setting has a range.
// probes.ehlo_name goes on the wire in every SMTP probe: a CR or LF in it would be commands.
TEST(Config, EhloNameIsADomainOrAnAddressLiteral) {
    for (const char* good : {"mx.example.test", "[198.18.0.1]", "[IPv6:fd00::1]"})
        EXPECT_TRUE(parse_config(fmt::format("probes: {{ehlo_name: \"{}\"}}", good), "e.yaml"))
            << good;
    for (const char* bad : {"a\\r\\nMAIL FROM:<x@example.test>", "bad name", "[not-an-address]"}) {
        auto r = parse_config(fmt::format("probes: {{ehlo_name: \"{}\"}}", bad), "e.yaml");
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().find("probes.ehlo_name"), std::string::npos) << r.error();
    }
}

TEST(Config, HttpLimits) {
    auto c = load_config(kDir + "/good.yaml");
    ASSERT_TRUE(c) << c.error();
    const auto& h = c->http;
    EXPECT_EQ(h.max_connections, 16u);
    EXPECT_DOUBLE_EQ(h.idle_timeout_s, 20);
    EXPECT_DOUBLE_EQ(h.header_timeout_s, 5);
    EXPECT_DOUBLE_EQ(h.body_timeout_s, 15);
    EXPECT_EQ(h.max_header_bytes, 16384u);
    EXPECT_EQ(h.max_body_bytes, 2097152u);
    const std::pair<const char*, const char*> bad[] = {
        {"http: {max_connections: 0}", "h.yaml:1: http.max_connections: expected a whole number "
                                       "from 1 to 65536 connections, got '0'"},
        {"http: {header_timeout: 0}", "h.yaml:1: http.header_timeout: expected a number from "
                                      "0.001 to 3600 seconds, got '0'"},
        {"http: {idle_timeout: 1e300}", "h.yaml:1: http.idle_timeout: expected a number from "
                                        "0.001 to 3600 seconds, got '1e300'"},
        {"http: {max_header_bytes: 100}", "h.yaml:1: http.max_header_bytes: expected a whole "
                                          "number from 1024 to 1048576 bytes, got '100'"},
        {"http: {max_body_bytes: 1e12}", "h.yaml:1: http.max_body_bytes: expected a whole number "
                                         "from 1024 to 67108864 bytes, got '1e12'"},
        {"http: {keepalive: 5}", "h.yaml:1: http.keepalive: unknown key"},
    };
    for (const auto& [text, error] : bad) {
        auto r = parse_config(text, "h.yaml");
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error(), error);
    }
}

} // namespace
} // namespace mxs

namespace mxs {
namespace {

std::string config_error(const std::string& text) {
    auto c = parse_config(text, "in.yaml");
    return c ? std::string("ok") : c.error();
}

// The file is read as written or refused, naming the key and line: a dotted key is not a
// section (it would name an option twice), a quoted or !!str scalar is text (not a number or a
// boolean), a number is plain decimal, a string has no NUL, and a value shown in an error is
// quoted, escaped and bounded (it cannot forge a line or drive a terminal).
TEST(Config, InputIsReadAsWrittenOrRefused) {
    EXPECT_EQ(config_error("\"dns.ports\": [5353]\n"),
              "in.yaml:1: top level: unknown key 'dns.ports' (nest sections: dns: {ports: ...})");
    EXPECT_EQ(config_error("verdicts: {window: 20}\nverdicts.window: 5\n"),
              "in.yaml:2: top level: unknown key 'verdicts.window' (nest sections: dns: {ports: "
              "...})");
    EXPECT_EQ(config_error("? [a, b]\n: 1\n"),
              "in.yaml:1: top level: a key must be a name, not a list");
    EXPECT_EQ(config_error("max_servers: \"10\"\n"),
              "in.yaml:1: max_servers: expected a number, got a string '10'");
    EXPECT_EQ(config_error("max_servers: !!str 10\n"),
              "in.yaml:1: max_servers: expected a number, got a string '10'");
    EXPECT_EQ(config_error("dns: {ports: [\"53\"]}\n"),
              "in.yaml:1: dns.ports[0]: expected a number, got a string '53'");
    EXPECT_EQ(config_error("probes: {enabled: \"true\"}\n"),
              "in.yaml:1: probes.enabled: expected true or false, got a string 'true'");
    EXPECT_EQ(config_error("max_servers: !!int 10\nprobes: {enabled: !!bool false}\n"), "ok");
    EXPECT_EQ(config_error("max_servers: 1e2\n"), "ok");
    for (const char* bad : {"0x10", "0o20", "1_000", ".inf", "-.inf", ".nan", "16 servers", "1e"})
        EXPECT_EQ(config_error(fmt::format("max_servers: {}\n", bad)),
                  fmt::format("in.yaml:1: max_servers: expected a whole number from 1 to 65536 "
                              "servers, got '{}'",
                              bad))
            << bad;
    EXPECT_EQ(config_error("state_file: \"/tmp/x\\0y\"\n"),
              "in.yaml:1: state_file: '/tmp/x\\x00y' contains a NUL byte");
    const auto forged = config_error("listen: \"x\\nfake.yaml: ok\\e[31mRED\"\n");
    EXPECT_EQ(forged, "in.yaml:1: listen: 'x\\nfake.yaml: ok\\x1b[31mRED': expected ADDR:PORT or "
                      "[V6ADDR]:PORT");
    const auto long_value = config_error("listen: " + std::string(4000, 'x') + "\n");
    EXPECT_LT(long_value.size(), 200u) << long_value;
    EXPECT_NE(long_value.find("... (4000 bytes): expected ADDR:PORT"), std::string::npos);
    const auto too_long = config_error("listen: " + std::string(5000, 'x') + "\n");
    EXPECT_LT(too_long.size(), 200u) << too_long;
    EXPECT_TRUE(too_long.ends_with("... (5000 bytes) is longer than 4096 bytes")) << too_long;
}

// Interface names as the kernel takes them (dev_valid_name()): 1 to 15 bytes, not "." or
// "..", none of '/', ':' or white space.
TEST(Config, InterfaceNamesAreDeviceNames) {
    EXPECT_EQ(config_error("interfaces: [eth0, veth-abcdefghij]\n"), "ok"); // 15 bytes
    for (const char* bad :
         {"\"\"", "veth-abcdefghijk", "a/b", "\"a b\"", "eth0:1", "..", "\"a\\tb\""}) {
        const auto e = config_error(fmt::format("interfaces: [{}]\n", bad));
        EXPECT_TRUE(e.starts_with("in.yaml:1: interfaces[0]: '") &&
                    e.ends_with("is not an interface name (1 to 15 bytes, none of '/', ':' or "
                                "white space)"))
            << bad << ": " << e;
    }
}

} // namespace
} // namespace mxs
