#include "views/http_client.h"

#include "base/addr.h"
#include "base/shown.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <curl/curl.h>
#include <fmt/format.h>
#include <memory>

namespace mxs {

namespace {

constexpr std::size_t kMaxBody = 64 << 20;

struct Sink {
    std::string body;
    bool too_large = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* p) {
    auto* sink = static_cast<Sink*>(p);
    if (sink->body.size() + size * n > kMaxBody) {
        sink->too_large = true;
        return 0; // libcurl stops with CURLE_WRITE_ERROR
    }
    sink->body.append(data, size * n);
    return size * n;
}

} // namespace

Result<std::string> agent_url(const std::string& agent) {
    for (const char* scheme : {"http://", "https://"})
        if (agent.starts_with(scheme)) {
            const auto rest = agent.substr(std::string_view(scheme).size());
            const auto host = rest.substr(0, rest.find('/'));
            if (host.empty())
                break;
            return std::string(scheme) + host;
        }
    if (auto a = parse_listen(agent)) {
        const bool v6 = a->host.find(':') != std::string::npos;
        return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
    }
    return Error{fmt::format("--agent '{}': expected ADDR:PORT, [V6ADDR]:PORT or "
                             "http(s)://HOST:PORT",
                             agent)};
}

CredentialsRoute credentials_route(const std::string& base_url) {
    if (base_url.starts_with("https://"))
        return CredentialsRoute::tls;
    constexpr std::string_view http = "http://";
    if (!base_url.starts_with(http))
        return CredentialsRoute::refused;
    std::string host = base_url.substr(http.size());
    host = host.substr(0, host.find('/'));
    if (host.starts_with('[')) // [V6]:PORT
        host = host.substr(1, host.find(']') - 1);
    else
        host = host.substr(0, host.rfind(':'));
    if (host == "localhost")
        return CredentialsRoute::loopback;
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(host, ec);
    return !ec && a.is_loopback() ? CredentialsRoute::loopback : CredentialsRoute::refused;
}

Result<std::string> http_get(const HttpClientOptions& o, const std::string& target) {
    auto base = agent_url(o.agent);
    if (!base)
        return Error{base.error()};
    if (!o.user.empty() && credentials_route(*base) == CredentialsRoute::refused)
        return Error{fmt::format("{}: --user's password would go in plain text to another host; "
                                 "use https:// (the agent's web configuration with TLS)",
                                 *base)};
    const auto url = *base + target;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl)
        return Error{"libcurl: cannot make a handle"};
    CURL* c = curl.get();
    char error[CURL_ERROR_SIZE] = "";
    Sink sink;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!o.ca_file.empty())
        curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
    if (!o.user.empty()) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        curl_easy_setopt(c, CURLOPT_USERNAME, o.user.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, o.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (const auto rc = curl_easy_perform(c); rc != CURLE_OK) {
        if (sink.too_large)
            return Error{fmt::format("{}: more than {} bytes", url, kMaxBody)};
        return Error{fmt::format("cannot reach the agent at {}: {}", url,
                                 *error ? error : curl_easy_strerror(rc))};
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 && o.user.empty())
        return Error{fmt::format("{}: HTTP 401: the agent asks for basic auth; give --user and "
                                 "--password-file",
                                 url)};
    if (status == 401)
        return Error{fmt::format("{}: HTTP 401: the agent refused the credentials of user {} (a "
                                 "wrong user or password)",
                                 url, shown(o.user))};
    if (status != 200) {
        std::string text = sink.body;
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
            text.pop_back();
        return Error{
            fmt::format("{}: HTTP {}{}", url, status, text.empty() ? "" : ": " + shown(text, 200))};
    }
    return std::move(sink.body);
}

} // namespace mxs
