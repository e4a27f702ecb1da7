// The web configuration file (exporter-toolkit format): what it reads, every refusal with its
// line and key, and the files it names (tests/config/web: a certificate and keys made by
// `openssl req`/`openssl pkey`, see tests/config/web/README).
#include "config/command_line.h"
#include "config/config.h"
#include "config/validate.h"
#include "config/web_config.h"

#include <arpa/inet.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace mxs {
namespace web_config_test {
namespace {

const std::string kWeb = std::string(MXS_TEST_CONFIG_DIR) + "/web";
// htpasswd -nbBC 4 alice 'correct horse' (apache2-utils: APR's bcrypt, not libxcrypt's).
// prometheus.example: python3 -c "import crypt; crypt.crypt('x',
// crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))"
const std::string kAlice = "$2y$04$wtzBiTm4HB2abosIQoo97uNhyBP8C19VodhdcpJLIU8kCKvkN1KnG";

std::string error_of(const std::string& text) {
    auto w = parse_web_config(text, "web.yml");
    return w ? "(accepted)" : w.error();
}

TEST(WebConfig, EmptyFileIsPlainHttpWithoutAuth) {
    for (const auto* text : {"", "# nothing\n"}) {
        auto w = parse_web_config(text, "web.yml");
        ASSERT_TRUE(w) << w.error();
        EXPECT_FALSE(w->tls);
        EXPECT_TRUE(w->users.empty());
    }
}

TEST(WebConfig, ReadsTheToolkitsKeys) {
    auto w = parse_web_config(fmt::format(R"(tls_server_config:
  cert_file: /etc/mxsense/cert.pem
  key_file: key.pem
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.pem
  min_version: TLS13
  max_version: TLS13
  prefer_server_cipher_suites: true
http_server_config:
  http2: false
basic_auth_users:
  alice: {}
  prometheus.example: '$2b$10$ZjNIHu9cMMuQhycQ4GTt7ugkBTM72GvnWg6i86PTlcF1ndUh2/xc6'
)",
                                          kAlice),
                              "web.yml");
    ASSERT_TRUE(w) << w.error();
    ASSERT_TRUE(w->tls);
    EXPECT_EQ(w->tls->cert_file, "/etc/mxsense/cert.pem");
    EXPECT_EQ(w->tls->key_file, "key.pem");
    EXPECT_EQ(w->tls->client_auth_type, "RequireAndVerifyClientCert");
    EXPECT_EQ(w->tls->client_ca_file, "ca.pem");
    EXPECT_EQ(w->tls->min_version, "TLS13");
    EXPECT_EQ(w->users.size(), 2u);
    EXPECT_EQ(w->users.at("alice"), kAlice);
    EXPECT_EQ(bcrypt_cost(kAlice), 4u);
    EXPECT_EQ(bcrypt_cost(w->users.at("prometheus.example")), 10u);
}

// Every refusal of the parser: the file's line, the key's path, what is wrong.
TEST(WebConfig, EveryRefusalNamesTheLineAndKey) {
    const std::pair<std::string, std::string> cases[] = {
        {"tls_config: {}\n", "web.yml:1: tls_config: unknown key"},
        {"rate_limit: {interval: 1s, burst: 20}\n",
         "web.yml:1: rate_limit: not supported: the agent bounds connections and requests itself "
         "(README \"HTTP limits\"); leave the key out"},
        {"tls_server_config: [a]\n", "web.yml:1: tls_server_config: expected a mapping"},
        {"tls_server_config:\n  cert_file: c.pem\n",
         "web.yml:2: tls_server_config: needs cert_file and key_file"},
        {"tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  nope: 1\n",
         "web.yml:4: tls_server_config.nope: unknown key"},
        {"tls_server_config:\n  cert: |\n    -----BEGIN\n",
         "web.yml:2: tls_server_config.cert: inline PEM is not supported: name a file "
         "(cert_file, key_file, client_ca_file)"},
        {"tls_server_config:\n  key: x\n",
         "web.yml:2: tls_server_config.key: inline PEM is not supported: name a file "
         "(cert_file, key_file, client_ca_file)"},
        {"tls_server_config:\n  client_ca: x\n",
         "web.yml:2: tls_server_config.client_ca: inline PEM is not supported: name a file "
         "(cert_file, key_file, client_ca_file)"},
        {"tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
         "web.yml:2: tls_server_config.cipher_suites: not supported: TLS 1.2 offers OpenSSL's "
         "ECDHE suites with AES-GCM or ChaCha20-Poly1305 (forward secrecy, AEAD), TLS 1.3 all of "
         "its own; leave the key out"},
        {"tls_server_config:\n  curve_preferences: [X25519]\n",
         "web.yml:2: tls_server_config.curve_preferences: not supported: OpenSSL's default "
         "groups are offered; leave the key out"},
        {"tls_server_config:\n  client_allowed_sans: [a]\n",
         "web.yml:2: tls_server_config.client_allowed_sans: not supported: a client certificate "
         "is verified against client_ca_file only; give such clients a CA of their own"},
        {"tls_server_config:\n  prefer_server_cipher_suites: false\n",
         "web.yml:2: tls_server_config.prefer_server_cipher_suites: false is not supported: the "
         "server's order is used"},
        {"tls_server_config:\n  prefer_server_cipher_suites: maybe\n",
         "web.yml:2: tls_server_config.prefer_server_cipher_suites: expected true or false, got "
         "'maybe'"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS11\n",
         "web.yml:4: tls_server_config.min_version: 'TLS11': versions below TLS 1.2 are not "
         "offered"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  max_version: TLS14\n",
         "web.yml:4: tls_server_config.max_version: 'TLS14': expected TLS12 or TLS13"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n  "
         "max_version: TLS12\n",
         "web.yml:5: tls_server_config.max_version: TLS12 is below min_version TLS13"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: "
         "RequireAnyClientCert\n",
         "web.yml:4: tls_server_config.client_auth_type: RequireAnyClientCert takes any "
         "certificate without verifying it: not supported; use RequireAndVerifyClientCert (or "
         "VerifyClientCertIfGiven) with client_ca_file"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Always\n",
         "web.yml:4: tls_server_config.client_auth_type: 'Always': expected NoClientCert, "
         "VerifyClientCertIfGiven or RequireAndVerifyClientCert"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: "
         "RequireAndVerifyClientCert\n",
         "web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs "
         "client_ca_file"},
        {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca.pem\n",
         "web.yml:4: tls_server_config.client_ca_file: without client_auth_type "
         "VerifyClientCertIfGiven or RequireAndVerifyClientCert no client certificate is asked "
         "for"},
        {"tls_server_config:\n  cert_file: [c]\n",
         "web.yml:2: tls_server_config.cert_file: expected a string"},
        {"http_server_config:\n  http2: true\n",
         "web.yml:2: http_server_config.http2: HTTP/2 is not supported: the agent serves "
         "HTTP/1.1 (set false or leave the key out)"},
        {"http_server_config:\n  headers: {X-Frame-Options: deny}\n",
         "web.yml:2: http_server_config.headers: not supported: the agent sets its own response "
         "headers; leave the key out"},
        {"http_server_config:\n  http3: false\n",
         "web.yml:2: http_server_config.http3: unknown key"},
        {"basic_auth_users: [alice]\n",
         "web.yml:1: basic_auth_users: expected a mapping of user names to bcrypt hashes"},
        {"basic_auth_users:\n  alice: secret\n",
         "web.yml:2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, two digits "
         "of cost, then 53 characters); make one with: htpasswd -nBC 10 USER"},
        {"basic_auth_users:\n  alice: '$1$abc$0123456789012345678901'\n",
         "web.yml:2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, two digits "
         "of cost, then 53 characters); make one with: htpasswd -nBC 10 USER"},
        {"basic_auth_users:\n  alice: '" + kAlice.substr(0, 59) + "'\n",
         "web.yml:2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, two digits "
         "of cost, then 53 characters); make one with: htpasswd -nBC 10 USER"},
        {"basic_auth_users:\n  alice: '" + kAlice.substr(0, 59) + "!'\n",
         "web.yml:2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, two digits "
         "of cost, then 53 characters); make one with: htpasswd -nBC 10 USER"},
        {"basic_auth_users:\n  alice: '$2y$03$" + kAlice.substr(7) + "'\n",
         "web.yml:2: basic_auth_users.alice: bcrypt cost 3: must be from 4 to 31"},
        {"basic_auth_users:\n  alice: '$2y$32$" + kAlice.substr(7) + "'\n",
         "web.yml:2: basic_auth_users.alice: bcrypt cost 32: must be from 4 to 31"},
        {"basic_auth_users:\n  alice: [x]\n",
         "web.yml:2: basic_auth_users.alice: expected a string"},
        {"basic_auth_users:\n  'al:ice': '" + kAlice + "'\n",
         "web.yml:2: basic_auth_users.al:ice: 'al:ice': a user name must be non-empty, without "
         "':' and control characters (RFC 7617)"},
        {"basic_auth_users:\n  '': '" + kAlice + "'\n",
         "web.yml:2: basic_auth_users.: '': a user name must be non-empty, without ':' and "
         "control characters (RFC 7617)"},
        {"basic_auth_users:\n  alice: '" + kAlice + "'\n  alice: '" + kAlice + "'\n",
         "web.yml:3: basic_auth_users.alice: key given twice (first on line 2)"},
        {"basic_auth_users: {}\n---\nbasic_auth_users: {}\n",
         "web.yml:3: a second YAML document (after \"---\"): the web configuration is one "
         "document"},
        {"tls_server_config: {cert_file: c\n", "web.yml:2: end of map flow not found"},
    };
    for (const auto& [text, want] : cases)
        EXPECT_EQ(error_of(text), want) << text;
}

// ---- files -------------------------------------------------------------------------------

class WebFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               fmt::format("mxsense-web-test-{}-{}", getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string write(const std::string& name, const std::string& text) {
        const auto p = (dir_ / name).string();
        std::ofstream(p) << text;
        return p;
    }
    std::string tls(const std::string& cert, const std::string& key, const std::string& more = "") {
        return write("web.yml", fmt::format("# web\ntls_server_config:\n  cert_file: {}\n  "
                                            "key_file: {}\n{}",
                                            cert, key, more));
    }
    std::filesystem::path dir_;
};

TEST_F(WebFiles, LoadsTheCertificateAndKeyRelativeToTheFile) {
    std::filesystem::copy_file(kWeb + "/cert.pem", dir_ / "cert.pem");
    std::filesystem::copy_file(kWeb + "/key.pem", dir_ / "key.pem");
    auto w = load_web_config(tls("cert.pem", "key.pem"));
    ASSERT_TRUE(w) << w.error();
    EXPECT_TRUE(w->tls_context);
    EXPECT_EQ(w->file, (dir_ / "web.yml").string());
}

TEST_F(WebFiles, FileErrorsCarryTheSystemsReason) {
    EXPECT_EQ(load_web_config((dir_ / "none.yml").string()).error(),
              (dir_ / "none.yml").string() + ": cannot read it: No such file or directory");
    const auto web = tls(kWeb + "/missing.pem", kWeb + "/key.pem");
    EXPECT_EQ(load_web_config(web).error(),
              web + ":3: tls_server_config.cert_file: " + kWeb +
                  "/missing.pem: cannot read it: No such file or directory");
    tls(kWeb + "/cert.pem", dir_.string());
    EXPECT_EQ(load_web_config(web).error(), web +
                                                ":4: tls_server_config.key_file: " + dir_.string() +
                                                ": not a regular file but a directory");
}

TEST_F(WebFiles, RefusesEncryptedMismatchedAndBrokenKeys) {
    for (const char* encrypted : {"encrypted-key.pem", "encrypted-traditional-key.pem"}) {
        const auto web = tls(kWeb + "/cert.pem", kWeb + "/" + encrypted);
        EXPECT_EQ(load_web_config(web).error(),
                  fmt::format("{}:4: tls_server_config.key_file: {}/{}: the private key is "
                              "encrypted: the agent cannot ask for a passphrase; store it "
                              "unencrypted, readable by the agent only (openssl pkey -in KEY -out "
                              "PLAIN)",
                              web, kWeb, encrypted));
    }
    auto web = tls(kWeb + "/cert.pem", kWeb + "/other-key.pem");
    EXPECT_EQ(load_web_config(web).error(),
              fmt::format("{}:4: tls_server_config.key_file: {}/other-key.pem: the key does not "
                          "match the certificate of cert_file",
                          web, kWeb));
    // A key as the certificate, a certificate as the key.
    web = tls(kWeb + "/key.pem", kWeb + "/key.pem");
    EXPECT_TRUE(load_web_config(web).error().starts_with(
        fmt::format("{}:3: tls_server_config.cert_file: {}/key.pem: not a usable PEM "
                    "certificate chain: ",
                    web, kWeb)))
        << load_web_config(web).error();
    web = tls(kWeb + "/cert.pem", kWeb + "/cert.pem");
    EXPECT_TRUE(load_web_config(web).error().starts_with(fmt::format(
        "{}:4: tls_server_config.key_file: {}/cert.pem: not a usable PEM private key: ", web,
        kWeb)))
        << load_web_config(web).error();
    web = tls(kWeb + "/cert.pem", kWeb + "/key.pem",
              "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + kWeb +
                  "/key.pem\n");
    EXPECT_TRUE(load_web_config(web).error().starts_with(fmt::format(
        "{}:6: tls_server_config.client_ca_file: {}/key.pem: not a usable PEM certificate: ", web,
        kWeb)))
        << load_web_config(web).error();
}

// The agent's configuration names the file; its errors come after the option's own line.
TEST_F(WebFiles, TheAgentConfigurationLoadsIt) {
    const auto web = write("web.yml", "basic_auth_users:\n  alice: '" + kAlice + "'\n");
    auto agent = write("agent.yaml", "state_file: ''\nweb_config_file: " + web + "\n");
    auto c = load_config(agent);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->web.users.at("alice"), kAlice);
    EXPECT_EQ(c->web.file, web);
    write("web.yml", "basic_auth_users:\n  alice: nope\n");
    EXPECT_EQ(load_config(agent).error(),
              agent + ":2: web_config_file: " + web +
                  ":2: basic_auth_users.alice: not a bcrypt hash ($2y$, $2b$ or $2a$, two digits "
                  "of cost, then 53 characters); make one with: htpasswd -nBC 10 USER");
}

// A relative web_config_file is read from the agent's configuration file's directory (as the
// paths inside it are from its own), whatever the current directory; --web-config-file from
// the current directory, as command-line paths are.
TEST_F(WebFiles, ARelativeFileIsTheConfigFilesNeighbour) {
    write("web.yml", "basic_auth_users:\n  alice: '" + kAlice + "'\n");
    const auto agent = write("agent.yaml", "state_file: ''\nweb_config_file: web.yml\n");
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path("/");
    auto c = load_config(agent);
    std::filesystem::current_path(cwd);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->web.file, (dir_ / "web.yml").string());
    EXPECT_EQ(c->web.users.at("alice"), kAlice);
    std::filesystem::current_path(dir_);
    auto flag = agent_options({"--web-config-file", "web.yml"});
    std::filesystem::current_path("/");
    auto none = agent_options({"--web-config-file", "web.yml"});
    std::filesystem::current_path(cwd);
    ASSERT_TRUE(flag) << flag.error();
    EXPECT_EQ(flag->web.file, "web.yml");
    EXPECT_FALSE(none);
}

// --web-config-file over the file's web_config_file, its errors naming the flag.
TEST_F(WebFiles, TheFlagLoadsItOverTheFile) {
    const auto web = write("web.yml", "basic_auth_users:\n  alice: '" + kAlice + "'\n");
    auto o = agent_options({"--web-config-file", web});
    ASSERT_TRUE(o) << o.error();
    EXPECT_EQ(o->web.file, web);
    const auto none = (dir_ / "none.yml").string();
    EXPECT_EQ(agent_options({"--web-config-file", none}).error(),
              "--web-config-file: " + none + ": cannot read it: No such file or directory");
}

TEST(WebhookListen, RefusedWithoutTheWebhookMalformedOrOnListen) {
    const std::pair<std::string, std::string> cases[] = {
        {"webhook: {listen: '127.0.0.1:10054'}\n",
         "agent.yaml:1: webhook.listen: without webhook.enabled: nothing to serve there"},
        {"webhook: {enabled: true,\n  listen: nowhere}\n",
         "agent.yaml:2: webhook.listen: 'nowhere': expected ADDR:PORT or [V6ADDR]:PORT"},
        {"listen: '127.0.0.1:10053'\nwebhook:\n  enabled: true\n  listen: '127.0.0.1:10053'\n",
         "agent.yaml:4: webhook.listen: '127.0.0.1:10053': the same as listen; leave "
         "webhook.listen out to serve the webhook there"},
        {"listen: '0.0.0.0:10097'\nwebhook:\n  enabled: true\n  listen: '127.0.0.1:10097'\n",
         "agent.yaml:4: webhook.listen: '127.0.0.1:10097': the same port as listen "
         "'0.0.0.0:10097' on an overlapping address (a wildcard covers every address of its "
         "family): both cannot be bound; use another port"},
    };
    for (const auto& [text, want] : cases) {
        auto c = parse_config(text, "agent.yaml");
        EXPECT_EQ(c ? "(accepted)" : c.error(), want) << text;
    }
}

// listeners_overlap() against the kernel: two sockets bound as the agent binds them
// (SO_REUSEADDR, IPV6_V6ONLY left as the system has it), the first listening; the second's
// bind fails exactly when the pair overlaps.
TEST(WebhookListen, OverlapIsWhatTheKernelRefuses) {
    auto open_bound = [](const std::string& host, std::uint16_t port) -> int {
        sockaddr_storage ss{};
        socklen_t len = 0;
        const bool v6 = host.find(':') != std::string::npos;
        if (v6) {
            auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(port);
            inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
            len = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in*>(&ss);
            a->sin_family = AF_INET;
            a->sin_port = htons(port);
            inet_pton(AF_INET, host.c_str(), &a->sin_addr);
            len = sizeof *a;
        }
        const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 1) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    };
    auto port_of = [](int fd) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    };
    const std::pair<std::string, std::string> pairs[] = {
        {"0.0.0.0", "127.0.0.1"},   {"127.0.0.1", "0.0.0.0"},
        {"127.0.0.1", "127.0.0.1"}, {"127.0.0.1", "127.0.0.2"},
        {"::", "127.0.0.1"},        {"127.0.0.1", "::"},
        {"0.0.0.0", "::1"},         {"::", "::1"},
        {"::1", "127.0.0.1"},       {"::", "0.0.0.0"}};
    for (const auto& [a, b] : pairs) {
        const int first = open_bound(a, 0);
        ASSERT_GE(first, 0) << a;
        const auto port = port_of(first);
        const int second = open_bound(b, port);
        const bool kernel_refused = second < 0;
        if (second >= 0)
            close(second);
        close(first);
        EXPECT_EQ(listeners_overlap({a, port}, {b, port}), kernel_refused) << a << " " << b;
        EXPECT_FALSE(listeners_overlap({a, port}, {b, static_cast<std::uint16_t>(port + 1)}));
    }
}

// Listeners beyond loopback without TLS or auth are warned of; a reload that removes either
// says so, and whether the listener is exposed.
TEST(WebConfig, WarnsOfExposedListenersAndRemovedProtections) {
    WebConfig none;
    WebConfig full;
    full.file = "web.yml";
    full.tls = WebTls{};
    full.users = {{"alice", kAlice}};
    WebConfig tls_only = full;
    tls_only.users.clear();
    const std::vector<WebListener> exposed{{"listen", "0.0.0.0:10053", true},
                                           {"webhook.listen", "[::1]:10054", false}};
    EXPECT_TRUE(loopback_only("127.0.0.2:1"));
    EXPECT_TRUE(loopback_only("[::1]:1"));
    EXPECT_FALSE(loopback_only("0.0.0.0:1"));
    EXPECT_FALSE(loopback_only("[::]:1"));
    EXPECT_FALSE(loopback_only("198.18.0.1:1"));
    EXPECT_TRUE(exposure_warnings(exposed, full).empty());
    EXPECT_TRUE(exposure_warnings({{"listen", "127.0.0.1:10053", true}}, none).empty());
    auto w = exposure_warnings(exposed, none);
    ASSERT_EQ(w.size(), 1u); // the webhook's listener is on loopback
    EXPECT_EQ(w[0], "listen 0.0.0.0:10053 is reachable beyond this host and serves the metrics, "
                    "status page and API without TLS and authentication (no web_config_file; "
                    "README \"Web configuration\")");
    w = exposure_warnings({{"webhook.listen", "198.18.0.1:10054", false}}, tls_only);
    EXPECT_TRUE(w.empty()); // its bearer token, not basic auth
    w = exposure_warnings(exposed, tls_only);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], "listen 0.0.0.0:10053 is reachable beyond this host and serves the metrics, "
                    "status page and API without authentication");
    auto lost = protections_removed(exposed, full, tls_only);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].what, "basic auth from listen 0.0.0.0:10053");
    EXPECT_TRUE(lost[0].exposed);
    lost = protections_removed(exposed, full, none);
    ASSERT_EQ(lost.size(), 3u);
    EXPECT_EQ(lost[0].what, "TLS from listen 0.0.0.0:10053");
    EXPECT_EQ(lost[2].what, "TLS from webhook.listen [::1]:10054");
    EXPECT_FALSE(lost[2].exposed);
    EXPECT_TRUE(protections_removed(exposed, none, full).empty());
}

TEST(WebConfig, WarnsOfCostlyOrUnevenHashesAndAuthWithoutTls) {
    WebConfig w;
    w.file = "web.yml";
    w.users = {{"alice", kAlice}, {"bob", "$2y$13$" + kAlice.substr(7)}};
    const auto warnings = web_config_warnings(w);
    ASSERT_EQ(warnings.size(), 3u);
    EXPECT_EQ(warnings[0], "web.yml: basic_auth_users.bob: bcrypt cost 13 (above 12): each new "
                           "password, right or wrong, takes 2^13 rounds of the verification "
                           "thread");
}

} // namespace
} // namespace web_config_test
} // namespace mxs
