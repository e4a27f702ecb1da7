// The YAML reader of the configuration file (config.cpp): strict mappings, numbers within
// their ranges, and where each key was read (Origins). Internal to config/.
#pragma once

#include "base/bounded_file.h"
#include "base/shown.h"
#include "config/option_table.h"
#include "config/options.h"
#include "config/origins.h"

#include <fmt/format.h>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace mxs::yaml {

// Thrown inside the parser only; turned into a Result at the boundary.
struct ConfigError {
    std::string message;
};

class Reader {
  public:
    // text: the document (for the check of quoted strings in unique_keys()).
    Reader(std::string name, Origins& origins, std::string_view text = {})
        : name_(std::move(name)), origins_(origins), text_(text) {}

    [[noreturn]] void fail(const YAML::Node& n, const std::string& field,
                           const std::string& what) const {
        const auto m = n.Mark();
        throw ConfigError{printable(
            fmt::format("{}:{}: {}: {}", name_, m.is_null() ? 0 : m.line + 1, field, what))};
    }

    // Calls handlers[key] for each key of the mapping n; unknown keys are errors.
    void
    mapping(const YAML::Node& n, const std::string& where,
            const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
                handlers) {
        if (!n.IsMap())
            fail(n, where.empty() ? "top level" : where, "expected a mapping");
        for (const auto& kv : n) {
            const auto key = key_of(kv.first, where);
            const auto field = where.empty() ? key : where + "." + key;
            const auto h = handlers.find(key);
            if (h == handlers.end())
                fail(kv.first, field, "unknown key");
            record(kv.first, field);
            h->second(kv.second, field);
        }
    }

    // A mapping of options and sections (the top level, "dns", "verdicts", ...): each key is an
    // option of option_table() or a section of them; unknown keys are errors.
    void options(const YAML::Node& n, const std::string& where, AgentOptions& o) {
        if (!n.IsMap())
            fail(n, where.empty() ? "top level" : where, "expected a mapping");
        for (const auto& kv : n) {
            const auto key = key_of(kv.first, where);
            const auto field = where.empty() ? key : where + "." + key;
            const auto* spec = find_option(field);
            if (spec && !std::holds_alternative<std::monostate>(spec->field)) {
                record(kv.first, field);
                option(*spec, kv.second, field, o);
            } else if (is_section(field)) {
                record(kv.first, field);
                options(kv.second, field, o);
            } else {
                fail(kv.first, field, "unknown key");
            }
        }
    }

    // A value of type V: a number (within field's range), a count, a boolean, a string or a
    // list of them.
    template <class V> V value(const YAML::Node& n, const std::string& field) {
        if constexpr (std::is_same_v<V, double>)
            return number(n, field);
        else if constexpr (std::is_same_v<V, bool>)
            return boolean(n, field);
        else if constexpr (std::is_integral_v<V>)
            return static_cast<V>(count(n, field));
        else if constexpr (std::is_same_v<V, std::string>)
            return str(n, field);
        else if constexpr (std::is_same_v<V, std::vector<std::string>>)
            return strings(n, field);
        else if constexpr (std::is_same_v<V, std::vector<std::uint16_t>>)
            return ports(n, field);
        else
            static_assert(sizeof(V) == 0, "no reader for this type");
    }

    // One option's value, read as its field's type says.
    void option(const OptionSpec& spec, const YAML::Node& n, const std::string& field,
                AgentOptions& o);

    // Where a key was read, for the errors of later checks (validate()).
    void record(const YAML::Node& key, const std::string& field) {
        const auto m = key.Mark();
        origins_.line(field, m.is_null() ? 0 : m.line + 1);
    }

    // A string: any scalar, without a NUL byte (the system calls a path or an argument goes
    // to would read it cut there) and at most kMaxString bytes.
    std::string str(const YAML::Node& n, const std::string& field) const {
        if (!n.IsScalar())
            fail(n, field, "expected a string");
        const auto& s = n.Scalar();
        if (s.find('\0') != std::string::npos)
            fail(n, field, fmt::format("{} contains a NUL byte", shown(s)));
        if (s.size() > kMaxString)
            fail(n, field, fmt::format("{} is longer than {} bytes", shown(s), kMaxString));
        return s;
    }

    // A scalar as an error shows it: "a string '10'" when quoted or tagged !!str, so that
    // "expected a number, got a string '10'" says why.
    static std::string scalar_shown(const YAML::Node& n) {
        if (!n.IsScalar())
            return n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "nothing";
        return (n.Tag() == "?" ? "" : "a string ") + shown(n.Scalar());
    }

    // A plain scalar (its type follows from its text), or one tagged with one of the YAML
    // core schema's `types` ("!!int"). A quoted scalar (tag "!") or one tagged !!str is text.
    static bool plain_or_tagged(const YAML::Node& n,
                                std::initializer_list<std::string_view> types) {
        const auto& t = n.Tag();
        if (t == "?")
            return true;
        for (auto type : types)
            if (t == std::string("tag:yaml.org,2002:").append(type))
                return true;
        return false;
    }

    // A key of a mapping: a plain name, without the '.' and '[' that separate a path's parts
    // ("dns.ports" at the top level would be an option named twice, as it and as dns: ports:).
    std::string key_of(const YAML::Node& k, const std::string& where) const {
        const auto in = where.empty() ? std::string("top level") : where;
        if (!k.IsScalar())
            fail(k, in, fmt::format("a key must be a name, not {}", scalar_shown(k)));
        const auto& key = k.Scalar();
        if (key.find_first_of(".[]") != std::string::npos || key.empty())
            fail(k, in,
                 fmt::format("unknown key {} (nest sections: dns: {{ports: ...}})", shown(key)));
        return key;
    }

    // A number within the range number_ranges() gives for field (list positions as "[]"), as
    // read_number() reads it (also for the command line): plain decimal, finite, and whole
    // where the range says so. A quoted or !!str-tagged scalar is a string, not a number.
    double number(const YAML::Node& n, const std::string& field) const {
        if (!n.IsScalar() || !plain_or_tagged(n, {"int", "float"}))
            fail(n, field, fmt::format("expected a number, got {}", scalar_shown(n)));
        const auto* range = number_range(range_key(field));
        if (!range) // every numeric key has a range: a test loads good.yaml, which has them all
            fail(n, field, "no range is defined for this key (a bug: add it to number_ranges())");
        auto v = read_number(*range, n.Scalar());
        if (!v)
            fail(n, field, fmt::format("{}, got {}", v.error(), shown(n.Scalar())));
        return *v;
    }

    // A whole number (its range says whole; see number()).
    std::uint64_t count(const YAML::Node& n, const std::string& field) const {
        const double v = number(n, field);
        if (!number_range(range_key(field))->whole)
            fail(n, field, "read as a count but its range is not whole (a bug in number_ranges())");
        return static_cast<std::uint64_t>(v);
    }

    std::vector<std::uint16_t> ports(const YAML::Node& n, const std::string& field) {
        if (!n.IsSequence())
            fail(n, field, "expected a list of ports");
        std::vector<std::uint16_t> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto f = fmt::format("{}[{}]", field, i);
            record(n[i], f);
            out.push_back(static_cast<std::uint16_t>(count(n[i], f)));
        }
        return out;
    }

    // A list of numbers, each within the range of the list's key ("latency_buckets[]").
    std::vector<double> numbers(const YAML::Node& n, const std::string& field, const char* unit) {
        if (!n.IsSequence())
            fail(n, field, fmt::format("expected a list of {}", *unit ? unit : "numbers"));
        std::vector<double> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto f = fmt::format("{}[{}]", field, i);
            record(n[i], f);
            out.push_back(number(n[i], f));
        }
        return out;
    }

    bool boolean(const YAML::Node& n, const std::string& field) const {
        bool v = false;
        if (!n.IsScalar() || !plain_or_tagged(n, {"bool"}) || !YAML::convert<bool>::decode(n, v))
            fail(n, field, fmt::format("expected true or false, got {}", scalar_shown(n)));
        return v;
    }

    std::vector<std::string> strings(const YAML::Node& n, const std::string& field) {
        if (!n.IsSequence())
            fail(n, field, "expected a list");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto f = fmt::format("{}[{}]", field, i);
            record(n[i], f);
            out.push_back(str(n[i], f));
        }
        return out;
    }

    // Every mapping of the document, at every depth, names each key once (YAML 1.2.2,
    // 3.2.1.1). yaml-cpp keeps both of two equal keys and a lookup finds one of them, so
    // `listen:` twice would be read silently with one value lost. Aliases are walked where
    // they are used: `budget` (nodes still to visit) and the depth bound a document of
    // nested aliases (a "billion laughs") to an error instead of an expansion.
    void unique_keys(const YAML::Node& n, const std::string& where, std::size_t& budget,
                     int depth = 0) const {
        if (budget == 0)
            fail(n, where.empty() ? "top level" : where,
                 fmt::format("more than {} nodes (with aliases expanded)", kMaxNodes));
        --budget;
        if (depth > kMaxDepth)
            fail(n, where, fmt::format("nested deeper than {} levels", kMaxDepth));
        if (n.IsScalar()) {
            quote_closed(n, where);
        } else if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i)
                unique_keys(n[i], fmt::format("{}[{}]", where, i), budget, depth + 1);
        } else if (n.IsMap()) {
            std::map<std::string, YAML::Mark> seen;
            for (const auto& kv : n) {
                if (!kv.first.IsScalar())
                    continue; // no key of ours is one; mapping() refuses it
                const auto& key = kv.first.Scalar();
                const auto field = where.empty() ? key : where + "." + key;
                quote_closed(kv.first, field);
                if (auto [it, fresh] = seen.emplace(key, kv.first.Mark()); !fresh)
                    fail(kv.first, field,
                         fmt::format("key given twice (first on line {})", it->second.line + 1));
                unique_keys(kv.second, field, budget, depth + 1);
            }
        }
    }

    // More nodes than an alias-free file of kConfigFileLimit bytes can have (each takes at
    // least two bytes, as in "[1,1,...]").
    static constexpr std::size_t kMaxNodes = kConfigFileLimit;
    // The configuration nests 5 levels deep (domains[0].mx[0].addresses[0]).
    static constexpr int kMaxDepth = 32;
    // A string option's bytes: a path (PATH_MAX is 4096) or a hook's argument.
    static constexpr std::size_t kMaxString = 4096;

  private:
    // yaml-cpp (0.7) ends a quoted scalar whose closing quote is missing at the end of the
    // document, silently: `state_file: "/x` followed by the rest of the file would be one
    // string and every later key lost. A quoted scalar must have its closing quote in the text.
    void quote_closed(const YAML::Node& n, const std::string& field) const {
        const auto pos = n.Mark().pos;
        if (n.Tag() == "?" || pos < 0 || static_cast<std::size_t>(pos) >= text_.size())
            return;
        const char q = text_[static_cast<std::size_t>(pos)];
        if (q != '\'' && q != '"')
            return; // a block scalar, or one with an explicit tag
        for (auto i = static_cast<std::size_t>(pos) + 1; i < text_.size(); ++i) {
            if (q == '"' && text_[i] == '\\') {
                ++i; // an escape: \" is no end
            } else if (text_[i] == q) {
                if (q == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
                    ++i; // '' is a quote inside '...'
                    continue;
                }
                return;
            }
        }
        fail(n, field.empty() ? "top level" : field,
             fmt::format("a quoted string without its closing {} (it would run to the end of "
                         "the file)",
                         q));
    }

    // The key of field's range: "hooks[1].timeout" is "hooks[].timeout".
    static std::string range_key(const std::string& field) { return option_key(field); }

    std::string name_;
    Origins& origins_;
    std::string_view text_;
};

using Handler = std::function<void(const YAML::Node&, const std::string&)>;

// The lists with items of their own (domains, hooks, probes.targets), read item by item.
std::vector<Domain> read_domains(Reader& r, const YAML::Node& n, const std::string& f);
std::vector<HookConfig> read_hooks(Reader& r, const YAML::Node& n, const std::string& f);
std::vector<ProbeTarget> read_targets(Reader& r, const YAML::Node& n, const std::string& f);

} // namespace mxs::yaml
