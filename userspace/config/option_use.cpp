// What the option table's entries are used for: keys and fields, copies and comparisons for the
// reload, values as --help shows them, number ranges and the one reader of numbers, choices.
#include "config/option_table.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <type_traits>

namespace mxs {
namespace {

bool is_list(const Field& f) {
    return std::holds_alternative<FieldOf<std::vector<double>>>(f) ||
           std::holds_alternative<FieldOf<std::vector<std::uint16_t>>>(f);
}

std::vector<NumberRange> make_ranges() {
    std::vector<NumberRange> out;
    for (const auto& s : option_table())
        if (s.range) {
            NumberRange r;
            static_cast<Range&>(r) = *s.range;
            r.key = std::string(s.key) + (is_list(s.field) ? "[]" : "");
            out.push_back(std::move(r));
        }
    return out;
}

// A bound as people write it: 0.000001 rather than 1e-06, 16777216 rather than 1.6777216e+07.
std::string plain(double v) {
    auto t = fmt::format("{:.6f}", v);
    t.erase(t.find_last_not_of('0') + 1);
    if (t.back() == '.')
        t.pop_back();
    return t;
}

} // namespace

std::string OptionSpec::long_flag() const {
    const std::string_view f = flag;
    const auto at = f.find("--");
    return at == std::string_view::npos ? std::string() : std::string(f.substr(at));
}

std::string option_key(std::string_view field) {
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        out += field[i];
        if (field[i] == '[')
            while (i + 1 < field.size() && field[i + 1] != ']')
                ++i;
    }
    return out;
}

const OptionSpec* find_option(std::string_view key) {
    const auto k = option_key(key);
    for (const auto& s : option_table())
        if (k == s.key)
            return &s;
    return nullptr;
}

bool is_section(std::string_view key) {
    const auto prefix = option_key(key) + ".";
    for (const auto& s : option_table())
        if (std::string_view(s.key).starts_with(prefix))
            return true;
    return false;
}

void copy_option(const OptionSpec& s, AgentOptions& to, AgentOptions& from) {
    std::visit(
        [&](auto field) {
            if constexpr (!std::is_same_v<decltype(field), std::monostate>)
                field(to) = field(from);
        },
        s.field);
}

bool same_option(const OptionSpec& s, AgentOptions& a, AgentOptions& b) {
    return std::visit(
        [&](auto field) {
            if constexpr (std::is_same_v<decltype(field), std::monostate>)
                return true;
            else
                return field(a) == field(b);
        },
        s.field);
}

std::string show_option(const OptionSpec& s, AgentOptions& o) {
    return std::visit(
        [&](auto field) -> std::string {
            using F = decltype(field);
            if constexpr (std::is_same_v<F, std::monostate>)
                return "";
            else {
                const auto& v = field(o);
                using V = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<V, double>)
                    return plain(v);
                else if constexpr (std::is_same_v<V, std::vector<double>>) {
                    std::vector<std::string> out;
                    for (double x : v)
                        out.push_back(plain(x));
                    return fmt::format("[{}]", fmt::join(out, ", "));
                } else if constexpr (std::is_same_v<V, bool>)
                    return v ? "true" : "false";
                else if constexpr (std::is_same_v<V, std::string>)
                    return v;
                else if constexpr (std::is_same_v<V, std::vector<std::string>> ||
                                   std::is_same_v<V, std::vector<std::uint16_t>>)
                    return fmt::format("[{}]", fmt::join(v, ", "));
                else if constexpr (std::is_integral_v<V>)
                    return fmt::format("{}", v);
                else
                    return v.empty() ? "[]" : fmt::format("{} entries", v.size());
            }
        },
        s.field);
}

std::span<const NumberRange> number_ranges() {
    static const std::vector<NumberRange> ranges = make_ranges();
    return ranges;
}

const NumberRange* number_range(std::string_view key) {
    const auto k = option_key(key);
    for (const auto& r : number_ranges())
        if (k == r.key)
            return &r;
    return nullptr;
}

bool within(const Range& r, double v) {
    const bool above = r.min_excluded ? v > r.min : v >= r.min;
    return above && v <= r.max && (!r.whole || v == std::floor(v));
}

Result<double> read_number(const Range& r, std::string_view text) {
    const auto expected = [&] {
        return Error{
            fmt::format("expected a {}number {}", r.whole ? "whole " : "", describe_range(r))};
    };
    std::size_t i = 0;
    const auto digits = [&] {
        const auto from = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9')
            ++i;
        return i - from;
    };
    if (i < text.size() && (text[i] == '+' || text[i] == '-'))
        ++i;
    const auto lead = i;
    if (digits() == 0)
        return expected();
    if (text[lead] == '0' && i - lead > 1)
        return Error{"expected a number without a leading zero (octal in YAML 1.1 and in C)"};
    if (i < text.size() && text[i] == '.') {
        ++i;
        digits();
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-'))
            ++i;
        if (digits() == 0)
            return expected();
    }
    if (i != text.size())
        return expected();
    double v = 0;
    const auto* first = text.data() + (text[0] == '+' ? 1 : 0); // from_chars takes no '+'
    const auto [end, ec] = std::from_chars(first, text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !within(r, v))
        return expected(); // out of double's range, or of r
    return v;
}

std::vector<std::string_view> OptionSpec::choice_list() const {
    std::vector<std::string_view> out;
    for (std::string_view c = choices ? choices : ""; !c.empty();) {
        const auto bar = c.find('|');
        out.push_back(c.substr(0, bar));
        c = bar == std::string_view::npos ? std::string_view() : c.substr(bar + 1);
    }
    return out;
}

std::string describe_choices(const OptionSpec& s) {
    const auto c = s.choice_list();
    std::string out;
    for (std::size_t i = 0; i < c.size(); ++i)
        out += fmt::format("{}{}", i == 0 ? "" : i + 1 == c.size() ? " or " : ", ", c[i]);
    return out;
}

std::string describe_range(const Range& r) {
    return fmt::format("from {}{} to {}{}{}", plain(r.min), r.min_excluded ? " (excluded)" : "",
                       plain(r.max), *r.unit ? " " : "", r.unit);
}

} // namespace mxs
