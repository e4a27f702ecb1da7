#include "webhook.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
        return Error{fmt::format("not an Alertmanager notification: {}", e.what())};
    }
    return out;
}

bool bearer_matches(const std::string& authorization, const std::string& token) {
    static const std::string prefix = "Bearer ";
    if (token.empty() || authorization.size() != prefix.size() + token.size() ||
        authorization.compare(0, prefix.size(), prefix) != 0)
        return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i)
        diff |= static_cast<unsigned char>(authorization[prefix.size() + i] ^ token[i]);
    return diff == 0;
}

} // namespace mxs
