#include "config/command_line.h"

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

// A number's range, checked on the text before CLI11 converts it (each value of a list).
CLI::Validator range_check(const Range& r) {
    return CLI::Validator(
        [r](std::string& text) -> std::string {
            double v = 0;
            std::size_t used = 0;
            try {
                v = std::stod(text, &used);
            } catch (const std::exception&) {
                return fmt::format("'{}': expected a number", text);
            }
            if (used != text.size() || !within(r, v))
                return fmt::format("'{}': expected a {}number {}", text, r.whole ? "whole " : "",
                                   describe_range(r));
            return "";
        },
        describe_range(r));
}

} // namespace

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
            opt->check(range_check(*s.range));
        out.emplace_back(opt, &s);
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
            return Error{e.what()};
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
        return Error{e.what()};
    }
    for (const auto& [opt, spec] : flags)
        if (opt->count() > 0)
            origins.flag(spec->key, spec->long_flag());
    if (auto v = validate(o, origins); !v)
        return Error{v.error()};
    return o;
}

} // namespace mxs
