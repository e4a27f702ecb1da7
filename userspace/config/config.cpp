#include "config/config.h"

#include "base/local_addr.h"
#include "base/shown.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

#include <filesystem>
#include <type_traits>
#include <variant>

namespace mxs {
namespace yaml {

void Reader::option(const OptionSpec& spec, const YAML::Node& n, const std::string& field,
                    AgentOptions& o) {
    std::visit(
        [&](auto get) {
            using F = decltype(get);
            if constexpr (std::is_same_v<F, std::monostate>) {
                fail(n, field, "read by its list's reader (a bug in option_table())");
            } else {
                auto& v = get(o);
                using V = std::decay_t<decltype(v)>;
                if constexpr (std::is_arithmetic_v<V> || std::is_same_v<V, std::string> ||
                              std::is_same_v<V, std::vector<std::string>> ||
                              std::is_same_v<V, std::vector<std::uint16_t>>)
                    v = value<V>(n, field);
                else if constexpr (std::is_same_v<V, std::vector<double>>)
                    v = numbers(n, field, spec.range ? spec.range->unit : "");
                else if constexpr (std::is_same_v<V, std::vector<Domain>>)
                    v = read_domains(*this, n, field);
                else if constexpr (std::is_same_v<V, std::vector<HookConfig>>)
                    v = read_hooks(*this, n, field);
                else
                    v = read_targets(*this, n, field);
            }
        },
        spec.field);
    // Left out, the default-route interface is watched; an empty list read as that would
    // watch an interface the file never named.
    if (field == "interfaces" && o.interfaces.empty())
        fail(n, field,
             "an empty list: name the interfaces, or leave the key out for the default-route "
             "interface");
}

} // namespace yaml

namespace {

// Addresses as the kernel's keys print them ("2001:DB8::A" would never match "2001:db8::a").
void canonicalize_addresses(AgentOptions& o) {
    auto canonical = [](std::string& a) {
        if (auto c = canonical_address(a); c && a.find('%') == std::string::npos)
            a = *c;
    };
    for (auto& a : o.dns_servers)
        canonical(a);
    for (auto& d : o.domains)
        for (auto& m : d.mx)
            for (auto& a : m.addresses)
                canonical(a);
    for (auto& t : o.probes.targets)
        canonical(t.address);
    if (!o.discovery.resolver.empty())
        canonical(o.discovery.resolver);
}

// yaml-cpp's error as "FILE:LINE:COLUMN: YAML syntax error: WHAT". A tab in the indentation
// of that line (YAML 1.2.2 §6.1: indentation is spaces only) is named, for yaml-cpp reports it
// as "illegal map value" or "end of map not found" as often as by name.
std::string syntax_error(const std::string& name, const std::string& text,
                         const YAML::Exception& e) {
    if (e.mark.is_null())
        return printable(fmt::format("{}: YAML error: {}", name, e.msg));
    std::size_t start = 0;
    for (int l = 0; l < e.mark.line && start != std::string::npos; ++l) {
        start = text.find('\n', start);
        if (start != std::string::npos)
            ++start;
    }
    std::string hint;
    if (start != std::string::npos) {
        const auto indent = text.substr(start, text.find_first_not_of(" \t", start) - start);
        if (indent.find('\t') != std::string::npos && e.msg.find("tab") == std::string::npos)
            hint = " (a tab in the indentation: YAML indents with spaces)";
    }
    return printable(fmt::format("{}:{}:{}: YAML syntax error: {}{}", name, e.mark.line + 1,
                                 e.mark.column + 1, e.msg, hint));
}

} // namespace

Result<AgentOptions> parse_config(const std::string& text, const std::string& name,
                                  Origins* origins) {
    AgentOptions o;
    Origins local(name);
    Origins& where = origins ? *origins : local;
    where = Origins(name);
    yaml::Reader r(name, where, text);
    try {
        YAML::Node root;
        try {
            // One document: yaml-cpp's Load() would read the first and silently drop the rest
            // of a file that a stray "---" split (its hooks, its listen address…).
            auto docs = YAML::LoadAll(text);
            if (docs.size() > 1 && !docs[0].IsMap())
                r.fail(docs[0], "top level", "expected a mapping");
            if (docs.size() > 1)
                return Error{fmt::format("{}:{}: a second YAML document (after \"---\"): the "
                                         "configuration is one document",
                                         name, docs[1].Mark().line + 1)};
            if (!docs.empty())
                root = docs.front();
        } catch (const YAML::ParserException& e) {
            return Error{syntax_error(name, text, e)};
        }
        if (root.IsNull())
            return o; // an empty file: every default
        std::size_t budget = yaml::Reader::kMaxNodes;
        r.unique_keys(root, "", budget);
        r.options(root, "", o);
    } catch (const yaml::ConfigError& e) {
        return Error{e.message};
    } catch (const YAML::Exception& e) {
        return Error{syntax_error(name, text, e)};
    }
    canonicalize_addresses(o);
    if (auto v = validate(o, where); !v)
        return Error{v.error()};
    return o;
}

Result<AgentOptions> load_config(const std::string& path, Origins* origins) {
    Origins local;
    Origins& at = origins ? *origins : local;
    // Regular files only, at most kConfigFileLimit bytes (bounded_file.h).
    auto text = read_bounded_file(path, kConfigFileLimit);
    if (!text)
        return Error{text.error()};
    auto o = parse_config(*text, path, &at);
    // A relative web_config_file is the config file's neighbour, as the paths inside the web
    // configuration are its own file's (under systemd the cwd is /); --web-config-file stays
    // relative to the cwd, as command-line paths are.
    if (o && !o->web_config_file.empty() && std::filesystem::path(o->web_config_file).is_relative())
        o->web_config_file =
            (std::filesystem::path(path).parent_path() / o->web_config_file).string();
    if (o && o->webhook.enabled) {
        // The secret stays out of the configuration file (which is often world-readable).
        auto t = read_bounded_file(o->webhook.token_file, kTokenFileLimit);
        if (!t)
            return Error{fmt::format("{}: {}", at.where("webhook.token_file"), t.error())};
        std::string token = t->substr(0, t->find('\n'));
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
            token.pop_back();
        if (token.size() < 16)
            return Error{fmt::format("{}: {}: the token needs at least 16 characters",
                                     at.where("webhook.token_file"), o->webhook.token_file)};
        o->webhook.token = token;
    }
    if (o)
        if (auto w = load_web_options(*o, at); !w)
            return Error{w.error()};
    if (o && !o->audit.ca_file.empty()) {
        // Checked here as `mxsense audit --ca-file` checks it: a file that holds no certificate
        // would make every MX certificate and the MTA-STS policy fail to verify, a fault of
        // this host's configuration reported as the servers'.
        auto pem = read_bounded_file(o->audit.ca_file, kCaFileLimit);
        if (!pem)
            return Error{fmt::format("{}: {}", at.where("audit.ca_file"), pem.error())};
        if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
            return Error{fmt::format("{}: {}: no PEM certificate in it", at.where("audit.ca_file"),
                                     o->audit.ca_file)};
    }
    return o;
}

Result<> load_web_options(AgentOptions& o, const Origins& at) {
    o.web = WebConfig{};
    if (o.web_config_file.empty())
        return {};
    auto w = load_web_config(o.web_config_file);
    if (!w)
        return Error{fmt::format("{}: {}", at.where("web_config_file"), w.error())};
    o.web = std::move(*w);
    return {};
}

} // namespace mxs
