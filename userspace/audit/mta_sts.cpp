#include "audit/mta_sts.h"

#include "base/shown.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <curl/curl.h>
#include <fmt/format.h>
#include <memory>

namespace mxs {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    while (!out.empty() && out.back() == '.')
        out.pop_back();
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

constexpr std::size_t kMaxPolicy = 64 << 10; // RFC 8461 §3.3: senders may refuse larger

} // namespace

Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view text) {
    MtaStsPolicy p;
    std::string version;
    bool max_age = false;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty())
            continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return Error{fmt::format("a line without 'key: value': {}", shown(line, 60))};
        const auto key = trim(line.substr(0, colon));
        const auto value = trim(line.substr(colon + 1));
        if (key == "version")
            version = value;
        else if (key == "mode")
            p.mode = value;
        else if (key == "mx")
            p.mx.emplace_back(value);
        else if (key == "max_age") {
            const auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), p.max_age_s);
            if (ec != std::errc() || end != value.data() + value.size())
                return Error{fmt::format("max_age {} is not a whole number", shown(value, 40))};
            max_age = true;
        } // other keys: extensions, ignored (§3.2)
    }
    if (version != "STSv1")
        return Error{"no 'version: STSv1'"};
    if (p.mode != "enforce" && p.mode != "testing" && p.mode != "none")
        return Error{fmt::format("mode {} is none of enforce, testing, none", shown(p.mode, 40))};
    if (!max_age)
        return Error{"no max_age"};
    if (p.mx.empty() && p.mode != "none")
        return Error{"no mx patterns"};
    return p;
}

bool mx_pattern_matches(std::string_view pattern, std::string_view host) {
    const auto p = lower(pattern), h = lower(host);
    if (p.starts_with("*.")) {
        const auto dot = h.find('.');
        return dot != std::string::npos && dot > 0 && h.substr(dot + 1) == p.substr(2);
    }
    return p == h;
}

bool is_mta_sts_record(std::string_view txt) {
    txt = trim(txt);
    return txt.starts_with("v=STSv1") &&
           (txt.size() == 7 || txt[7] == ';' || txt[7] == ' ' || txt[7] == '\t');
}

HttpsResponse https_get(const std::string& host, const std::string& address,
                        const std::string& path, double timeout_s, const std::string& ca_file) {
    HttpsResponse out;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) {
        out.error = "cannot start an HTTPS client";
        return out;
    }
    const bool v6 = address.find(':') != std::string::npos;
    const auto pin = fmt::format("{}:443:{}{}{}", host, v6 ? "[" : "", address, v6 ? "]" : "");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> resolve(
        curl_slist_append(nullptr, pin.c_str()), curl_slist_free_all);
    const auto url = fmt::format("https://{}{}", host, path);
    char error[CURL_ERROR_SIZE] = {};
    auto* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); // RFC 8461 §3.3: no redirects
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, static_cast<long>(kMaxPolicy));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    if (!ca_file.empty())
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
    curl_easy_setopt(
        c, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t, std::size_t n, void* body) {
            auto* b = static_cast<std::string*>(body);
            if (b->size() + n > kMaxPolicy)
                return std::size_t{0}; // ends the transfer: larger than a policy may be
            b->append(data, n);
            return n;
        });
    if (const auto rc = curl_easy_perform(c); rc != CURLE_OK)
        out.error = *error ? error : curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    if (char* type = nullptr;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        out.content_type = type;
    return out;
}

} // namespace mxs
