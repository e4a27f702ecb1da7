#include "config/origins.h"

#include <fmt/format.h>

namespace mxs {

void Origins::flag(const std::string& key, const std::string& flag) {
    for (auto it = where_.lower_bound(key); it != where_.end() && it->first.starts_with(key);)
        it = where_.erase(it);
    where_[key] = {0, flag};
}

const Origins::Where* Origins::find(std::string_view field) const {
    // The field itself, else the nearest enclosing field the reader recorded:
    // "domains[0].mx[1].addresses" -> "domains[0].mx[1]" -> "domains[0].mx" -> "domains[0]".
    for (std::string_view f = field; !f.empty();) {
        if (const auto it = where_.find(f); it != where_.end())
            return &it->second;
        const auto cut = f.find_last_of(".[");
        if (cut == std::string_view::npos)
            break;
        f = f.substr(0, cut);
    }
    return nullptr;
}

std::string Origins::prefix(std::string_view field) const {
    if (const auto* w = find(field))
        return w->flag.empty() ? fmt::format("{}:{}", file_, w->line) : w->flag;
    return file_;
}

std::string Origins::where(std::string_view field) const {
    const auto* w = find(field);
    if (w && !w->flag.empty())
        return w->flag;
    const auto p = prefix(field);
    return p.empty() ? std::string(field) : fmt::format("{}: {}", p, field);
}

std::string Origins::name(std::string_view key) const {
    if (const auto it = where_.find(key); it != where_.end() && !it->second.flag.empty())
        return it->second.flag;
    return std::string(key);
}

} // namespace mxs
