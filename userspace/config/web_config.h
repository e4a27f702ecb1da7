// The web configuration file (`web_config_file`, `--web-config-file`): TLS and basic
// authentication for the agent's HTTP endpoints, in the format of the Prometheus
// exporter-toolkit (docs/web-configuration.md there), so one file serves this agent and the
// exporters beside it. What the toolkit offers and the agent does not is refused by name,
// never ignored: a file that asks for a protection must not load without it.
#pragma once

#include "base/result.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace mxs {

// tls_server_config: paths as written (relative ones resolved against the web configuration
// file's directory, as the toolkit does), policy names as the toolkit spells them.
struct WebTls {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
    // NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert (Go's names).
    std::string client_auth_type = "NoClientCert";
    std::string min_version = "TLS12"; // TLS12 or TLS13
    std::string max_version = "TLS13";
};

// A web configuration as loaded: what the file says, and the TLS context built from its
// certificate and key (shared: connections keep the context they began with across a reload).
struct WebConfig {
    std::string file; // the file it came from; "" when there is none (plain HTTP, no auth)
    std::optional<WebTls> tls;
    // basic_auth_users: user name -> bcrypt hash ($2a$, $2b$ or $2y$, cost 4..31); empty:
    // no authentication.
    std::map<std::string, std::string> users;
    std::shared_ptr<boost::asio::ssl::context> tls_context; // set when tls is
};

// Bytes of a web configuration file, a certificate chain, a key at most.
inline constexpr std::size_t kWebConfigLimit = 1 << 20;

// The bcrypt cost of a hash of basic_auth_users ("$2y$10$..." -> 10), or nullopt when it is not
// a bcrypt hash libxcrypt reads: "$2a$", "$2b$" or "$2y$", two digits of cost from 4 to 31,
// "$", then 53 characters of bcrypt's base-64 alphabet (22 of salt, 31 of hash).
std::optional<unsigned> bcrypt_cost(const std::string& hash);

// The file's text parsed (name stands for the file in errors): every error is
// "NAME:LINE: KEY.PATH: what", like the agent's configuration. Files are not read.
Result<WebConfig> parse_web_config(const std::string& text, const std::string& name);

// The file at path read (read_bounded_file: a regular file, its system error otherwise) and
// parsed, its certificate, key and client CA read and the TLS context built: a key that does
// not match the certificate, an encrypted key (the agent cannot ask for a passphrase) or a file
// without a PEM certificate are errors naming the file's line of the key.
Result<WebConfig> load_web_config(const std::string& path);

// What is allowed but costly or likely a mistake, one line each: bcrypt costs above 12 (each
// wrong password costs that much of the verification thread), users with different costs (an
// unknown user's timing is that of the highest cost).
std::vector<std::string> web_config_warnings(const WebConfig& w);

// One of the agent's listeners as the checks below see it.
struct WebListener {
    std::string option;     // "listen" or "webhook.listen"
    std::string address;    // as configured: "ADDR:PORT" or "[V6ADDR]:PORT"
    bool basic_auth = true; // basic auth applies (webhook.listen: its bearer token instead)
};

// Whether a listen address ("ADDR:PORT") reaches this host only: 127.0.0.0/8 or ::1. A
// wildcard or any other address (or one that does not parse) is exposed.
bool loopback_only(const std::string& listen);

// One line per listener bound beyond loopback that w serves without TLS or without basic auth
// (where it applies): the agent logs them at start and on every reload, check-config prints
// them.
std::vector<std::string> exposure_warnings(const std::vector<WebListener>& listeners,
                                           const WebConfig& w);

// What going from `before` to `after` removes from a listener ("TLS from listen 0.0.0.0:10053",
// "basic auth from listen ..."), and whether that listener is bound beyond loopback.
struct WebLoss {
    std::string what;
    bool exposed = false;
};
std::vector<WebLoss> protections_removed(const std::vector<WebListener>& listeners,
                                         const WebConfig& before, const WebConfig& after);

} // namespace mxs
