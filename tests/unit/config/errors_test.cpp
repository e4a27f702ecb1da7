// check-config's messages: every error "FILE:LINE: KEY.PATH: reason" (YAML syntax errors
// "FILE:LINE:COLUMN: YAML syntax error: ..."), unreadable files with the system's reason, and
// warnings for what this host lacks now (an interface, a hook's program) with their line.
// The expected lines and columns are counted by hand in the texts below.
#include "config/config.h"
#include "config/validate.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace mxs {
namespace errors_test {
namespace {

std::string error_of(const std::string& text) {
    auto c = parse_config(text, "in.yaml");
    return c ? std::string("ok") : c.error();
}

TEST(ConfigErrors, EveryErrorNamesLineAndKeyPath) {
    const std::vector<std::pair<const char*, const char*>> cases = {
        // Unknown keys, at any depth.
        {"dns:\n  timeout: 1\n  tiemout: 2\n", "in.yaml:3: dns.tiemout: unknown key"},
        {"verdicts:\n  window: 10\n  hold: 3\n", "in.yaml:3: verdicts.hold: unknown key"},
        {"domains:\n  - name: a.test\n    mx:\n      - host: mx.a.test\n        adresses: "
         "[198.18.0.1]\n",
         "in.yaml:5: domains[0].mx[0].adresses: unknown key"},
        {"hooks:\n  - name: h\n    evnts: [target_down]\n    argv: [/bin/true]\n",
         "in.yaml:3: hooks[0].evnts: unknown key"},
        {"metrics:\n  path: /m\n", "in.yaml:1: metrics: unknown key"},
        // Wrong types.
        {"dns:\n  ports: 53\n", "in.yaml:2: dns.ports: expected a list of ports"},
        {"interfaces: eth0\n", "in.yaml:1: interfaces: expected a list"},
        {"domains:\n  name: a.test\n", "in.yaml:2: domains: expected a list of domains"},
        {"probes: [1]\n", "in.yaml:1: probes: expected a mapping"},
        {"listen:\n  - 127.0.0.1:10053\n", "in.yaml:2: listen: expected a string"},
        {"probes:\n  enabled: yes please\n",
         "in.yaml:2: probes.enabled: expected true or false, got 'yes please'"},
        {"log_format: xml\n", "in.yaml:1: log_format: 'xml': expected auto, text, journal or json"},
        // Out of range.
        {"dns:\n  ports: [53, 0]\n",
         "in.yaml:2: dns.ports[1]: expected a whole number from 1 to 65535, got '0'"},
        {"hooks:\n  - name: h\n    events: [target_down]\n    argv: [/bin/true]\n    timeout: 0\n",
         "in.yaml:5: hooks[0].timeout: expected a number from 0.001 to 3600 seconds, got '0'"},
        // Keys given twice.
        {"probes:\n  interval: 20\n  interval: 30\n",
         "in.yaml:3: probes.interval: key given twice (first on line 2)"},
        {"hooks:\n  - name: a\n    name: b\n",
         "in.yaml:3: hooks[0].name: key given twice (first on line 2)"},
        // Bad list items.
        {"dns_servers: [198.18.0.53, [1]]\n", "in.yaml:1: dns_servers[1]: expected a string"},
        {"dns_servers:\n  - 198.18.0.53\n  - not-an-address\n",
         "in.yaml:3: dns_servers[1]: 'not-an-address' is not an IP address"},
        {"domains:\n  - name: a.test\n    mx:\n      - 198.18.0.1\n",
         "in.yaml:4: domains[0].mx[0]: expected a mapping"},
        {"hooks:\n  - just-a-name\n", "in.yaml:2: hooks[0]: expected a mapping"},
        {"probes:\n  targets:\n    - {address: 198.18.0.53, role: resolver}\n    - {address: "
         "198.18.0.54}\n",
         "in.yaml:4: probes.targets[1]: needs a role (resolver or authoritative)"},
        {"interfaces:\n  - lo\n  - lo\n", "in.yaml:3: interfaces[1]: lo is listed twice"},
        {"webhook:\n  enabled: true\n", "in.yaml:2: webhook.enabled: needs webhook.token_file"},
        // YAML syntax, as yaml-cpp finds it, with its line and column; a tab named.
        {"dns:\n\tports: [53]\n", "in.yaml:2:7: YAML syntax error: illegal map value (a tab in "
                                  "the indentation: YAML indents with spaces)"},
        {"dns:\n  timeout: 3\n\tports: [53]\n",
         "in.yaml:3:1: YAML syntax error: illegal tab when looking for indentation"},
        {"dns:\n  ports: [53\nlisten: x\n",
         "in.yaml:3:7: YAML syntax error: end of sequence flow not found"},
        {"listen: a: b\n", "in.yaml:1:10: YAML syntax error: illegal map value"},
        {"listen: *nope\n", "in.yaml:1:9: YAML syntax error: the referenced anchor is not defined"},
        // What yaml-cpp takes silently: a quote that never closes swallows the rest of the file
        // (here the domains), and a list followed by a mapping is read as two documents.
        {"state_file: \"/var/lib/mxsense/state.json\ndomains:\n  - name: a.test\n",
         "in.yaml:1: state_file: a quoted string without its closing \" (it would run to the end "
         "of the file)"},
        {"dns:\n  ports: [53]\nlisten: '127.0.0.1:10053\n",
         "in.yaml:3: listen: a quoted string without its closing ' (it would run to the end of "
         "the file)"},
        {"- a\nb: 1\n", "in.yaml:1: top level: expected a mapping"},
    };
    for (const auto& [text, want] : cases)
        EXPECT_EQ(error_of(text), want) << text;
    // Quotes that close, with their escapes, are fine.
    EXPECT_EQ(
        error_of("state_file: '/var/lib/it''s.json'\nlisten: \"127.0.0.1:10053\"\n"
                 "hooks:\n  - {name: \"a\\\"b\", events: [target_down], argv: [/bin/true]}\n"),
        "ok");
}

class ConfigFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/config-files-" + std::to_string(::getpid());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) {
        const auto p = dir_ + "/" + name;
        std::ofstream(p) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }
    std::string dir_;
};

// The reason is the system's (strerror of the errno open or stat gave), compared here with
// strerror() itself. Root reads any file whatever its mode, so the failures are ones root
// meets too: a missing file, a dangling symbolic link, a path through a regular file.
TEST_F(ConfigFiles, UnreadableFilesGiveTheSystemsReason) {
    const auto cfg = write("c.yaml", "listen: 127.0.0.1:10053\n");
    const auto dangling = dir_ + "/dangling.yaml";
    std::filesystem::create_symlink(dir_ + "/gone", dangling);
    const std::pair<std::string, int> paths[] = {
        {dir_ + "/missing.yaml", ENOENT}, {dangling, ENOENT}, {cfg + "/x.yaml", ENOTDIR}};
    for (const auto& [path, err] : paths) {
        auto c = load_config(path);
        ASSERT_FALSE(c) << path;
        EXPECT_EQ(c.error(), path + ": cannot read it: " + std::strerror(err));
    }
    // The token file and the CA file: the key's line, the path, the reason.
    const auto token = dir_ + "/token";
    std::filesystem::create_symlink(dir_ + "/no-token", token);
    const auto wh = write("wh.yaml", "hooks:\n  - {name: h, events: [], argv: [/bin/true]}\n"
                                     "webhook:\n  enabled: true\n  token_file: " +
                                         token + "\n  hook: h\n");
    auto c = load_config(wh);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), wh + ":5: webhook.token_file: " + token +
                             ": cannot read it: " + std::strerror(ENOENT));
    const auto ca = write("ca.yaml", "audit:\n  ca_file: " + cfg + "/ca.pem\n");
    c = load_config(ca);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), ca + ":2: audit.ca_file: " + cfg +
                             "/ca.pem: cannot read it: " + std::strerror(ENOTDIR));
}

std::vector<std::string> warnings_of(const std::string& path) {
    Origins at;
    auto c = load_config(path, &at);
    EXPECT_TRUE(c) << c.error();
    std::vector<std::string> out;
    if (c)
        for (const auto& w : config_warnings(*c, at))
            out.push_back(w.text());
    return out;
}

// A hook's program and an interface may come later than the file (configuration management,
// a VLAN made at boot): warnings, with the line and the system's reason, not errors.
TEST_F(ConfigFiles, MissingHooksAndInterfacesAreWarnings) {
    const auto run = write("run.sh", "#!/bin/sh\n", 0755);
    const auto plain = write("plain.sh", "#!/bin/sh\n", 0644);
    const auto dangling = dir_ + "/dangling.sh";
    std::filesystem::create_symlink(dir_ + "/gone.sh", dangling);
    const auto cfg = write("w.yaml", fmt::format(R"(interfaces:
  - lo
  - mxs-nosuch0
hooks:
  - name: ok
    events: [target_down]
    argv: [{}]
  - name: missing
    events: [target_down]
    argv: [{}/none.sh, --flag]
  - name: dangling
    events: [target_up]
    argv: [{}]
  - name: plain
    events: [target_up]
    argv: [{}]
  - name: dir
    events: [target_up]
    argv: [{}]
)",
                                                 run, dir_, dangling, plain, dir_));
    EXPECT_EQ(warnings_of(cfg),
              (std::vector<std::string>{
                  cfg + ":3: interfaces[1]: 'mxs-nosuch0': no such interface on this host now "
                        "(the agent does not start without it)",
                  fmt::format("{}:10: hooks[1].argv[0]: hook 'missing': cannot run '{}/none.sh': "
                              "{} (each run fails until it can)",
                              cfg, dir_, std::strerror(ENOENT)),
                  fmt::format("{}:13: hooks[2].argv[0]: hook 'dangling': cannot run '{}': {} "
                              "(each run fails until it can)",
                              cfg, dangling, std::strerror(ENOENT)),
                  fmt::format("{}:16: hooks[3].argv[0]: hook 'plain': cannot run '{}': {} "
                              "(each run fails until it can)",
                              cfg, plain, std::strerror(EACCES)),
                  fmt::format("{}:19: hooks[4].argv[0]: hook 'dir': cannot run '{}': not a "
                              "regular file but a directory (each run fails until it can)",
                              cfg, dir_),
              }));
    // Once the program is there and executable, the warning is gone.
    ::chmod(plain.c_str(), 0755);
    EXPECT_EQ(warnings_of(cfg).size(), 4u);
}

// Hooks run as the agent's `user:`: a program only its owner (root here) may run is a warning
// naming that user, the mode and the owner; one the others may run is none.
TEST_F(ConfigFiles, HookProgramsAreCheckedForTheAgentsUser) {
    const auto mine = write("mine.sh", "#!/bin/sh\n", 0700);
    const auto all = write("all.sh", "#!/bin/sh\n", 0755);
    struct stat st {};
    ASSERT_EQ(::stat(mine.c_str(), &st), 0);
    const auto cfg = write("u.yaml", fmt::format("user: nobody\nhooks:\n"
                                                 "  - {{name: mine, events: [target_down], argv: "
                                                 "[{}]}}\n"
                                                 "  - {{name: all, events: [target_down], argv: "
                                                 "[{}]}}\n",
                                                 mine, all));
    EXPECT_EQ(warnings_of(cfg),
              (std::vector<std::string>{fmt::format(
                  "{}:3: hooks[0].argv[0]: hook 'mine': cannot run '{}': not executable by user "
                  "'nobody' (mode 0700, owner {}:{}) (each run fails until it can)",
                  cfg, mine, st.st_uid, st.st_gid)}));
}

// The shared-address and probe-target warnings name the key path where they were read.
TEST(ConfigWarnings, NameTheKeyPathAndLine) {
    Origins at;
    auto c = load_config(std::string(MXS_TEST_CONFIG_DIR) + "/warn-shared-address.yaml", &at);
    ASSERT_TRUE(c) << c.error();
    const auto w = config_warnings(*c, at);
    ASSERT_EQ(w.size(), 2u);
    const auto file = std::string(MXS_TEST_CONFIG_DIR) + "/warn-shared-address.yaml";
    EXPECT_EQ(w[0].where, file + ":6");
    EXPECT_EQ(w[0].message, "domains[0].mx[1].addresses[0]: MX hosts mx1.example.test and "
                            "mx2.example.test of example.test share the address 198.18.0.10: "
                            "they are judged alike, and a failover between them cannot help");
    EXPECT_EQ(w[1].where, file + ":10");
    EXPECT_TRUE(w[1].message.starts_with("probes.targets[0].address: 198.18.0.54: not a judged"))
        << w[1].message;
    // Without origins (the agent's reload): the key path alone.
    EXPECT_EQ(config_warnings(*c)[0].text(), w[0].message);
}

} // namespace
} // namespace errors_test
} // namespace mxs
