#include "config/web_config.h"

#include "base/addr.h"
#include "base/bounded_file.h"
#include "base/shown.h"
#include "config/yaml_reader.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <set>

namespace mxs {
namespace {

namespace ssl = boost::asio::ssl;
using yaml::Reader;

constexpr const char* kMakeHash = "make one with: htpasswd -nBC 10 USER";
// bcrypt's base-64 alphabet (OpenBSD's bcrypt.c).
constexpr std::string_view kBcryptAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
// Above this a verification of a new password takes ~0.3 s and more here (it doubles with
// each step): a client sending wrong passwords keeps the verification thread that busy.
constexpr unsigned kCostyAbove = 12;

// "$2y$10$" + 53 characters: the cost as written (any two digits), or nullopt.
std::optional<unsigned> written_cost(const std::string& h) {
    if (h.size() != 60 || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' ||
        !std::isdigit(static_cast<unsigned char>(h[4])) ||
        !std::isdigit(static_cast<unsigned char>(h[5])) || h[6] != '$')
        return std::nullopt;
    if (h.find_first_not_of(kBcryptAlphabet, 7) != std::string::npos)
        return std::nullopt;
    return static_cast<unsigned>((h[4] - '0') * 10 + (h[5] - '0'));
}

// A key the toolkit knows and the agent does not support: refused with why.
yaml::Handler refuse(Reader& r, const std::string& why) {
    return [&r, why](const YAML::Node& n, const std::string& f) { r.fail(n, f, why); };
}

WebTls read_tls(Reader& r, const YAML::Node& n, const std::string& where) {
    WebTls t;
    auto text = [&r](std::string& into) {
        return [&r, &into](const YAML::Node& v, const std::string& f) { into = r.str(v, f); };
    };
    const std::string inline_pem = "inline PEM is not supported: name a file (cert_file, "
                                   "key_file, client_ca_file)";
    r.mapping(
        n, where,
        {{"cert_file", text(t.cert_file)},
         {"key_file", text(t.key_file)},
         {"client_ca_file", text(t.client_ca_file)},
         {"client_auth_type", text(t.client_auth_type)},
         {"min_version", text(t.min_version)},
         {"max_version", text(t.max_version)},
         {"cert", refuse(r, inline_pem)},
         {"key", refuse(r, inline_pem)},
         {"client_ca", refuse(r, inline_pem)},
         {"cipher_suites",
          refuse(r, "not supported: TLS 1.2 offers OpenSSL's ECDHE suites with AES-GCM or "
                    "ChaCha20-Poly1305 (forward secrecy, AEAD), TLS 1.3 all of its own; leave "
                    "the key out")},
         {"curve_preferences",
          refuse(r, "not supported: OpenSSL's default groups are offered; leave the key out")},
         {"client_allowed_sans",
          refuse(r, "not supported: a client certificate is verified against client_ca_file "
                    "only; give such clients a CA of their own")},
         {"prefer_server_cipher_suites", [&r](const YAML::Node& v, const std::string& f) {
              if (!r.boolean(v, f)) // the server's order is what the agent uses
                  r.fail(v, f, "false is not supported: the server's order is used");
          }}});
    auto version = [&](const std::string& v, const char* key) {
        if (v == "TLS10" || v == "TLS11")
            r.fail(n[key], where + "." + key,
                   fmt::format("{}: versions below TLS 1.2 are not offered", shown(v)));
        if (v != "TLS12" && v != "TLS13")
            r.fail(n[key], where + "." + key, fmt::format("{}: expected TLS12 or TLS13", shown(v)));
    };
    version(t.min_version, "min_version");
    version(t.max_version, "max_version");
    if (t.min_version == "TLS13" && t.max_version == "TLS12")
        r.fail(n["max_version"], where + ".max_version", "TLS12 is below min_version TLS13");
    const auto& a = t.client_auth_type;
    const auto at = where + ".client_auth_type";
    if (a == "RequestClientCert" || a == "RequireAnyClientCert")
        r.fail(n["client_auth_type"], at,
               fmt::format("{} takes any certificate without verifying it: not supported; use "
                           "RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with "
                           "client_ca_file",
                           a));
    if (a != "NoClientCert" && a != "VerifyClientCertIfGiven" && a != "RequireAndVerifyClientCert")
        r.fail(n["client_auth_type"], at,
               fmt::format("{}: expected NoClientCert, VerifyClientCertIfGiven or "
                           "RequireAndVerifyClientCert",
                           shown(a)));
    if (a != "NoClientCert" && t.client_ca_file.empty())
        r.fail(n["client_auth_type"], at, fmt::format("{} needs client_ca_file", a));
    if (a == "NoClientCert" && !t.client_ca_file.empty())
        r.fail(n["client_ca_file"], where + ".client_ca_file",
               "without client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert "
               "no client certificate is asked for");
    if (t.cert_file.empty() || t.key_file.empty())
        r.fail(n, where, "needs cert_file and key_file");
    return t;
}

std::map<std::string, std::string> read_users(Reader& r, const YAML::Node& n,
                                              const std::string& where) {
    if (!n.IsMap())
        r.fail(n, where, "expected a mapping of user names to bcrypt hashes");
    std::map<std::string, std::string> users;
    for (const auto& kv : n) {
        if (!kv.first.IsScalar())
            r.fail(kv.first, where, "a user name must be a string");
        const auto& user = kv.first.Scalar();
        const auto f = where + "." + user;
        r.record(kv.first, f);
        // RFC 7617 §2: the user-id ends at the first colon; control characters are refused.
        if (user.empty() || user.find(':') != std::string::npos ||
            std::any_of(user.begin(), user.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            r.fail(kv.first, f,
                   fmt::format("{}: a user name must be non-empty, without ':' and control "
                               "characters (RFC 7617)",
                               shown(user)));
        const auto hash = r.str(kv.second, f);
        const auto cost = written_cost(hash);
        if (!cost)
            r.fail(kv.second, f,
                   fmt::format("not a bcrypt hash ($2y$, $2b$ or $2a$, two digits of cost, then "
                               "53 characters); {}",
                               kMakeHash));
        if (*cost < 4 || *cost > 31)
            r.fail(kv.second, f, fmt::format("bcrypt cost {}: must be from 4 to 31", *cost));
        users[user] = hash;
    }
    return users;
}

Result<WebConfig> parse(const std::string& text, const std::string& name, Origins& at) {
    WebConfig w;
    Reader r(name, at);
    try {
        YAML::Node root;
        try {
            auto docs = YAML::LoadAll(text);
            if (docs.size() > 1)
                return Error{fmt::format("{}:{}: a second YAML document (after \"---\"): the web "
                                         "configuration is one document",
                                         name, docs[1].Mark().line + 1)};
            if (!docs.empty())
                root = docs.front();
        } catch (const YAML::ParserException& e) {
            return Error{fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg)};
        }
        if (root.IsNull())
            return w; // an empty file: plain HTTP, no authentication (as the toolkit)
        std::size_t budget = Reader::kMaxNodes;
        r.unique_keys(root, "", budget);
        r.mapping(
            root, "",
            {{"tls_server_config",
              [&](const YAML::Node& n, const std::string& f) { w.tls = read_tls(r, n, f); }},
             {"basic_auth_users",
              [&](const YAML::Node& n, const std::string& f) { w.users = read_users(r, n, f); }},
             {"http_server_config",
              [&](const YAML::Node& n, const std::string& f) {
                  r.mapping(n, f,
                            {{"http2",
                              [&r](const YAML::Node& v, const std::string& k) {
                                  if (r.boolean(v, k))
                                      r.fail(v, k,
                                             "HTTP/2 is not supported: the agent serves HTTP/1.1 "
                                             "(set false or leave the key out)");
                              }},
                             {"headers", refuse(r, "not supported: the agent sets its own "
                                                   "response headers; leave the key out")}});
              }},
             {"rate_limit",
              refuse(r, "not supported: the agent bounds connections and requests itself "
                        "(README \"HTTP limits\"); leave the key out")}});
    } catch (const yaml::ConfigError& e) {
        return Error{e.message};
    } catch (const YAML::Exception& e) {
        return Error{fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg)};
    }
    return w;
}

// A file named by the web configuration: relative to that file's directory.
std::string resolve(const std::string& config, const std::string& file) {
    const std::filesystem::path p(file);
    if (p.is_absolute())
        return file;
    return (std::filesystem::path(config).parent_path() / p).string();
}

// The server's TLS context: TLS 1.2 or later (as the file narrows it), no renegotiation (a
// client could make the server repeat handshakes on one connection), no compression (CRIME),
// ECDHE with AEAD ciphers only for TLS 1.2, the server's preference.
Result<std::shared_ptr<ssl::context>> make_context(const WebTls& t, const std::string& cert,
                                                   const std::string& key, const std::string& ca,
                                                   const Origins& at) {
    try {
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
        SSL_CTX* c = ctx->native_handle();
        auto version = [](const std::string& v) {
            return v == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION;
        };
        SSL_CTX_set_min_proto_version(c, version(t.min_version));
        SSL_CTX_set_max_proto_version(c, version(t.max_version));
        SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                   SSL_OP_CIPHER_SERVER_PREFERENCE);
        if (SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL") != 1)
            return Error{"OpenSSL offers none of the TLS 1.2 cipher suites asked for"};
        // Never the terminal's passphrase prompt (OpenSSL's default for an encrypted key).
        ctx->set_password_callback(
            [](std::size_t, ssl::context::password_purpose) { return std::string(); });
        boost::system::error_code ec;
        ctx->use_certificate_chain(boost::asio::buffer(cert), ec);
        if (ec)
            return Error{fmt::format("{}: {}: not a usable PEM certificate chain: {}",
                                     at.where("tls_server_config.cert_file"), t.cert_file,
                                     ec.message())};
        ctx->use_private_key(boost::asio::buffer(key), ssl::context::pem, ec);
        if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
            ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
            ec = {}; // said below in words
        if (ec || SSL_CTX_check_private_key(c) != 1)
            return Error{fmt::format("{}: {}: {}", at.where("tls_server_config.key_file"),
                                     t.key_file,
                                     ec ? "not a usable PEM private key: " + ec.message()
                                        : std::string("the key does not match the certificate "
                                                      "of cert_file"))};
        if (t.client_auth_type != "NoClientCert") {
            ctx->add_certificate_authority(boost::asio::buffer(ca), ec);
            if (ec)
                return Error{fmt::format("{}: {}: not a usable PEM certificate: {}",
                                         at.where("tls_server_config.client_ca_file"),
                                         t.client_ca_file, ec.message())};
            ctx->set_verify_mode(t.client_auth_type == "RequireAndVerifyClientCert"
                                     ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                                     : ssl::verify_peer);
            // Resumed sessions keep the verified client (OpenSSL refuses to resume without).
            static const unsigned char kId[] = "mxsense";
            SSL_CTX_set_session_id_context(c, kId, sizeof kId - 1);
        }
        return ctx;
    } catch (const std::exception& e) {
        return Error{fmt::format("TLS context: {}", e.what())};
    }
}

} // namespace

std::optional<unsigned> bcrypt_cost(const std::string& hash) {
    const auto c = written_cost(hash);
    if (!c || *c < 4 || *c > 31)
        return std::nullopt;
    return c;
}

Result<WebConfig> parse_web_config(const std::string& text, const std::string& name) {
    Origins at(name);
    return parse(text, name, at);
}

Result<WebConfig> load_web_config(const std::string& path) {
    auto text = read_bounded_file(path, kWebConfigLimit);
    if (!text)
        return Error{text.error()};
    Origins at(path);
    auto w = parse(*text, path, at);
    if (!w)
        return w;
    w->file = path;
    if (!w->tls)
        return w;
    auto& t = *w->tls;
    auto read = [&](const std::string& file, const char* key) -> Result<std::string> {
        if (file.empty())
            return std::string();
        auto pem = read_bounded_file(resolve(path, file), kWebConfigLimit);
        if (!pem)
            return Error{fmt::format("{}: {}", at.where(key), pem.error())};
        return pem;
    };
    auto cert = read(t.cert_file, "tls_server_config.cert_file");
    if (!cert)
        return Error{cert.error()};
    auto key = read(t.key_file, "tls_server_config.key_file");
    if (!key)
        return Error{key.error()};
    auto ca = read(t.client_ca_file, "tls_server_config.client_ca_file");
    if (!ca)
        return Error{ca.error()};
    // PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and the traditional form ("Proc-Type: 4,ENCRYPTED").
    if (key->find("ENCRYPTED") != std::string::npos)
        return Error{fmt::format(
            "{}: {}: the private key is encrypted: the agent cannot ask for a passphrase; store "
            "it unencrypted, readable by the agent only (openssl pkey -in KEY -out PLAIN)",
            at.where("tls_server_config.key_file"), t.key_file)};
    auto ctx = make_context(t, *cert, *key, *ca, at);
    if (!ctx)
        return Error{ctx.error()};
    w->tls_context = std::move(*ctx);
    return w;
}

std::vector<std::string> web_config_warnings(const WebConfig& w) {
    std::vector<std::string> out;
    std::set<unsigned> costs;
    for (const auto& [user, hash] : w.users) {
        const auto c = bcrypt_cost(hash).value_or(0);
        costs.insert(c);
        if (c > kCostyAbove)
            out.push_back(fmt::format(
                "{}: basic_auth_users.{}: bcrypt cost {} (above {}): each new password, right "
                "or wrong, takes 2^{} rounds of the verification thread",
                w.file, user, c, kCostyAbove, c));
    }
    if (costs.size() > 1)
        out.push_back(fmt::format("{}: basic_auth_users: hashes of different costs: an unknown "
                                  "user is verified at the highest, so a user of a lower cost "
                                  "answers faster; give every user the same cost",
                                  w.file));
    if (!w.users.empty() && !w.tls)
        out.push_back(fmt::format("{}: basic_auth_users without tls_server_config: passwords "
                                  "cross the network readable by anyone on the path",
                                  w.file));
    return out;
}

bool loopback_only(const std::string& listen) {
    const auto a = parse_listen(listen);
    if (!a)
        return false;
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(a->host, ec);
    return !ec && ip.is_loopback();
}

std::vector<std::string> exposure_warnings(const std::vector<WebListener>& listeners,
                                           const WebConfig& w) {
    std::vector<std::string> out;
    for (const auto& l : listeners) {
        if (loopback_only(l.address))
            continue;
        std::vector<std::string> without;
        if (!w.tls)
            without.emplace_back("TLS");
        if (l.basic_auth && w.users.empty())
            without.emplace_back("authentication");
        if (!without.empty())
            out.push_back(fmt::format(
                "{} {} is reachable beyond this host and serves {} without {}{}", l.option,
                l.address, l.basic_auth ? "the metrics, status page and API" : "the webhook",
                fmt::join(without, " and "),
                w.file.empty() ? " (no web_config_file; README \"Web configuration\")" : ""));
    }
    return out;
}

std::vector<WebLoss> protections_removed(const std::vector<WebListener>& listeners,
                                         const WebConfig& before, const WebConfig& after) {
    std::vector<WebLoss> out;
    for (const auto& l : listeners) {
        const bool exposed = !loopback_only(l.address);
        if (before.tls && !after.tls)
            out.push_back({fmt::format("TLS from {} {}", l.option, l.address), exposed});
        if (l.basic_auth && !before.users.empty() && after.users.empty())
            out.push_back({fmt::format("basic auth from {} {}", l.option, l.address), exposed});
    }
    return out;
}

} // namespace mxs
