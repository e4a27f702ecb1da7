#include "actions/webhook.h"

#include <cctype>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <string_view>

namespace mxs {

Result<std::vector<AlertNotice>> parse_alertmanager(const std::string& body) {
    std::vector<AlertNotice> out;
    try {
        const auto j = nlohmann::json::parse(body);
        const auto& alerts = j.at("alerts");
        if (!alerts.is_array())
            return Error{"'alerts' is not a list"};
        for (const auto& a : alerts) {
            const auto status = a.at("status").get<std::string>();
            if (status != "firing" && status != "resolved")
                return Error{fmt::format("alert status '{}': expected firing or resolved", status)};
            const auto& labels = a.at("labels");
            if (!labels.contains("target"))
                continue;
            out.push_back({labels.value("alertname", ""), labels.at("target").get<std::string>(),
                           status == "firing"});
        }
    } catch (const std::exception& e) {
        // nlohmann's texts start with its own "[json.exception.type_error.302] ": the sender
        // needs the rest ("key 'alerts' not found", "syntax error while parsing ...").
        std::string_view why = e.what();
        if (why.starts_with("[json.exception.") && why.find("] ") != std::string_view::npos)
            why.remove_prefix(why.find("] ") + 2);
        return Error{fmt::format("not an Alertmanager notification: {}", why)};
    }
    return out;
}

bool bearer_matches(const std::string& authorization, const std::string& token) {
    constexpr std::string_view scheme = "bearer";
    const std::string_view a = authorization;
    if (token.empty() || a.size() <= scheme.size() || a[scheme.size()] != ' ')
        return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != scheme[i])
            return false;
    const auto start = a.find_first_not_of(' ', scheme.size());
    const auto credentials = start == a.npos ? std::string_view() : a.substr(start);
    // OpenSSL's comparison reads every byte whatever they hold; a credential of another
    // length is compared as the token with itself, so the time does not depend on it either.
    const bool same_length = credentials.size() == token.size();
    const void* given = same_length ? credentials.data() : token.data();
    return (CRYPTO_memcmp(given, token.data(), token.size()) == 0) && same_length;
}

} // namespace mxs
