#include "config/dns_names.h"

#include <arpa/inet.h>
#include <cctype>
#include <fmt/format.h>
#include <strings.h>
#include <utility>

namespace mxs {

bool is_address(const std::string& a) {
    in6_addr a6;
    in_addr a4;
    return inet_pton(AF_INET, a.c_str(), &a4) == 1 || inet_pton(AF_INET6, a.c_str(), &a6) == 1;
}

Result<> check_dns_name(const std::string& name, bool root) {
    if (name == ".")
        return root ? Result<>() : Error{"the root is no domain here"};
    const std::string n =
        !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    if (n.empty())
        return Error{"empty"};
    if (n.size() > 253)
        return Error{"longer than 253 octets"};
    std::size_t start = 0;
    for (;;) {
        const auto dot = n.find('.', start);
        const auto label = n.substr(start, dot == std::string::npos ? dot : dot - start);
        if (label.empty())
            return Error{"an empty label"};
        if (label.size() > 63)
            return Error{fmt::format("label '{}' longer than 63 octets", label)};
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                return Error{fmt::format("character '{}' in label '{}'", c, label)};
        if (dot == std::string::npos)
            return {};
        start = dot + 1;
    }
}

std::optional<int> dns_type_code(const std::string& name) {
    static const std::pair<const char*, int> types[] = {{"A", 1},   {"NS", 2},   {"SOA", 6},
                                                        {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};
    for (const auto& [n, code] : types)
        if (strcasecmp(name.c_str(), n) == 0) // "mx" is MX
            return code;
    return std::nullopt;
}

std::string dns_name_key(const std::string& name) {
    std::string k = name.size() > 1 && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    for (auto& c : k)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
}

} // namespace mxs
