// A small blocking HTTP(S) GET for the CLI (`mxsense status`), through libcurl: TLS verified
// against the system's CA store or a CA file, basic auth (the web configuration's users).
#pragma once

#include "base/result.h"

#include <string>

namespace mxs {

// How `mxsense status` reaches an agent.
struct HttpClientOptions {
    // "ADDR:PORT", "[V6ADDR]:PORT" (plain HTTP), or a URL "http://HOST:PORT",
    // "https://HOST:PORT" (a path after it is ignored).
    std::string agent;
    std::string ca_file;  // PEM CA certificates for https (empty: the system's store)
    std::string user;     // basic auth (empty: none)
    std::string password; // read from a file by the caller, never from the command line
};

// The base URL of an agent as `HttpClientOptions::agent` writes it ("https://h:1"), or an
// error naming the text ("expected ADDR:PORT, [V6ADDR]:PORT or http(s)://HOST:PORT").
Result<std::string> agent_url(const std::string& agent);

// Where basic credentials may be sent to the agent at base_url (agent_url()'s form): over
// https; over plain http only to a loopback address or "localhost" (they stay on this host);
// never in plain text to another host, where anyone on the path reads them.
enum class CredentialsRoute { tls, loopback, refused };
CredentialsRoute credentials_route(const std::string& base_url);

// GET target (a path: "/api/v1/status") of the agent: its body on 200; else an error with the
// status and the server's text (its first 200 bytes, shown() escaped: "HTTP 400: 'this port
// speaks TLS: use https:// to reach it'"), saying on a 401 whether credentials were given and
// refused, or libcurl's reason (connection refused, a certificate that does not verify). 5 s
// at most; 64 MiB at most. Credentials are sent only where credentials_route() allows.
Result<std::string> http_get(const HttpClientOptions& o, const std::string& target);

} // namespace mxs
