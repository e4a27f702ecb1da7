#include "config/command_line.h"

#include "base/shown.h"
#include "config/config.h"
#include "config/option_table.h"
#include "config/validate.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fmt/format.h>
#include <type_traits>
#include <variant>

namespace mxs {
namespace {

// A number read as the file's numbers are (read_number: the one reader), then handed to CLI11
// as the value read, so what was checked is what is stored ("053" would otherwise pass the
// check as 53 and be stored as octal 43).
CLI::Validator range_check(const Range& r) {
    return CLI::Validator(
        [r](std::string& text) -> std::string {
            auto v = read_number(r, text);
            if (!v)
                return fmt::format("{}: {}", shown(text), v.error());
            text =
                r.whole ? fmt::format("{}", static_cast<std::uint64_t>(*v)) : fmt::format("{}", *v);
            return "";
        },
        describe_range(r));
}

} // namespace

void read_as_number(CLI::Option* opt, const Range& r) {
    opt->transform(range_check(r));
}

std::vector<std::pair<CLI::Option*, const OptionSpec*>> add_agent_flags(CLI::App& app,
                                                                        AgentOptions& o) {
    std::vector<std::pair<CLI::Option*, const OptionSpec*>> out;
    for (const auto& s : option_table()) {
        if (!*s.flag)
            continue;
        CLI::Option* opt = std::visit(
            [&](auto get) -> CLI::Option* {
                using F = decltype(get);
                if constexpr (std::is_same_v<F, std::monostate> ||
                              std::is_same_v<F, FieldOf<std::vector<Domain>>> ||
                              std::is_same_v<F, FieldOf<std::vector<HookConfig>>> ||
                              std::is_same_v<F, FieldOf<std::vector<ProbeTarget>>>)
                    return nullptr; // the file alone sets these
                else
                    return app.add_option(s.flag, get(o), s.help)->capture_default_str();
            },
            s.field);
        if (!opt)
            continue;
        if (std::holds_alternative<FieldOf<std::vector<double>>>(s.field))
            opt->delimiter(',');
        if (s.range)
            opt->transform(range_check(*s.range)); // transform: the checked text is stored
        out.emplace_back(opt, &s);
    }
    return out;
}

std::string file_options_help() {
    AgentOptions defaults;
    std::string out = "Options of the configuration file (--config) without a flag, with their "
                      "defaults (README \"Configuration\"):\n";
    for (const auto& s : option_table()) {
        if (*s.flag)
            continue;
        std::string line = fmt::format("  {:<30} {}", s.key, s.help);
        if (s.range)
            line += fmt::format(" ({})", describe_range(*s.range));
        else if (s.choices)
            line += fmt::format(" ({})", describe_choices(s));
        std::string d;
        if (!std::holds_alternative<std::monostate>(s.field))
            d = show_option(s, defaults);
        std::visit(
            [&](auto member) {
                using M = decltype(member);
                if constexpr (!std::is_same_v<M, std::monostate>)
                    if constexpr (std::is_arithmetic_v<typename MemberTraits<M>::Value>)
                        d = fmt::format("{}", typename MemberTraits<M>::Item{}.*member);
            },
            s.item);
        if (!d.empty() && d != "[]")
            line += fmt::format("; default {}", d);
        out += line + "\n";
    }
    return out;
}

Result<AgentOptions> agent_options(const std::vector<std::string>& args) {
    // First the file: --config, wherever it stands among the flags.
    std::string config;
    {
        CLI::App scan;
        scan.allow_extras();
        scan.add_option("-c,--config", config);
        auto reversed = args;
        std::reverse(reversed.begin(), reversed.end()); // CLI11 takes them last first
        try {
            scan.parse(reversed);
        } catch (const CLI::ParseError& e) {
            return Error{printable(e.what())};
        }
    }
    AgentOptions o;
    Origins origins;
    if (!config.empty()) {
        auto c = load_config(config, &origins);
        if (!c)
            return Error{c.error()};
        o = std::move(*c);
        o.config_path = config;
    }
    // Then the flags over it.
    CLI::App app;
    app.add_option("-c,--config", config);
    const auto flags = add_agent_flags(app, o);
    auto reversed = args;
    std::reverse(reversed.begin(), reversed.end());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        return Error{printable(e.what())};
    }
    bool web_flag = false;
    for (const auto& [opt, spec] : flags)
        if (opt->count() > 0) {
            origins.flag(spec->key, spec->long_flag());
            web_flag = web_flag || std::string_view(spec->key) == "web_config_file";
        }
    if (auto v = validate(o, origins); !v)
        return Error{v.error()};
    if (web_flag) // the file's web_config_file, if any, was loaded by load_config()
        if (auto w = load_web_options(o, origins); !w)
            return Error{w.error()};
    return o;
}

} // namespace mxs
