#include "base/shown.h"

#include <fmt/format.h>

namespace mxs {

namespace {

void escape(std::string& out, unsigned char c) {
    switch (c) {
    case '\n':
        out += "\\n";
        break;
    case '\r':
        out += "\\r";
        break;
    case '\t':
        out += "\\t";
        break;
    default:
        if (c < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
}

} // namespace

std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s)
        escape(out, static_cast<unsigned char>(c));
    return out;
}

std::string shown(std::string_view s, std::size_t max) {
    std::string out = "'";
    const auto n = std::min(s.size(), max);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '\'' || c == '\\')
            out += '\\';
        escape(out, c);
    }
    out += '\'';
    if (n < s.size())
        out += fmt::format("... ({} bytes)", s.size());
    return out;
}

} // namespace mxs
