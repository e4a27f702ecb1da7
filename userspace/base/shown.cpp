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
        if (c < 0x20 || c == 0x7f || c >= 0x80) // a byte >= 0x80 here is not UTF-8
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
}

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4: no overlong form, no
// surrogate, at most U+10FFFF) and its code point; 0 when there is none.
std::size_t utf8_at(std::string_view s, std::size_t i, char32_t& cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
    const unsigned char c = b(0);
    if (c >= 0xc2 && c <= 0xdf && cont(1)) {
        cp = (c & 0x1fu) << 6 | (b(1) & 0x3fu);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef && cont(1) && cont(2)) {
        cp = (c & 0x0fu) << 12 | (b(1) & 0x3fu) << 6 | (b(2) & 0x3fu);
        return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4 && cont(1) && cont(2) && cont(3)) {
        cp = (c & 0x07u) << 18 | (b(1) & 0x3fu) << 12 | (b(2) & 0x3fu) << 6 | (b(3) & 0x3fu);
        return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
    }
    return 0;
}

// Code points that drive a terminal or reorder what it shows: the C1 controls (U+0080 to
// U+009F, CSI among them), the line and paragraph separators (U+2028, U+2029: a new line to
// some viewers), and the invisible format and bidirectional controls (Unicode
// Bidirectional Algorithm, UAX #9: LRM, RLM, ALM, the embeddings, overrides and isolates; the
// zero-width characters and BOM).
bool hidden(char32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

// s[0, n) as printable() and shown() give it; `quote`: a quote and a backslash escaped too.
std::string escaped(std::string_view s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (quote && (c == '\'' || c == '\\'))
                out += '\\';
            escape(out, c);
            ++i;
            continue;
        }
        char32_t cp = 0;
        const auto n = utf8_at(s, i, cp);
        if (n == 0) {
            escape(out, c);
            ++i;
        } else {
            if (hidden(cp))
                out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
            else
                out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

} // namespace

std::string printable(std::string_view s) {
    return escaped(s, false);
}

std::string shown(std::string_view s, std::size_t max) {
    const auto n = std::min(s.size(), max);
    std::string out = "'" + escaped(s.substr(0, n), true) + "'";
    if (n < s.size())
        out += fmt::format("... ({} bytes)", s.size());
    return out;
}

} // namespace mxs
