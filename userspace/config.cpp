#include "config.h"

#include "bounded_file.h"
#include "local_addr.h"

#include <cctype>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <yaml-cpp/yaml.h>

namespace mxs {
namespace {

// Thrown inside the parser only; turned into a Result at the boundary.
struct ConfigError {
    std::string message;
};

class Reader {
  public:
    explicit Reader(std::string name) : name_(std::move(name)) {}

    [[noreturn]] void fail(const YAML::Node& n, const std::string& field,
                           const std::string& what) const {
        const auto m = n.Mark();
        throw ConfigError{
            fmt::format("{}:{}: {}: {}", name_, m.is_null() ? 0 : m.line + 1, field, what)};
    }

    // Calls handlers[key] for each key of the mapping n; unknown keys are errors.
    void
    mapping(const YAML::Node& n, const std::string& where,
            const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
                handlers) {
        if (!n.IsMap())
            fail(n, where.empty() ? "top level" : where, "expected a mapping");
        for (const auto& kv : n) {
            const auto key = kv.first.as<std::string>();
            const auto field = where.empty() ? key : where + "." + key;
            const auto h = handlers.find(key);
            if (h == handlers.end())
                fail(kv.first, field, "unknown key");
            h->second(kv.second, field);
        }
    }

    std::string str(const YAML::Node& n, const std::string& field) const {
        if (!n.IsScalar())
            fail(n, field, "expected a string");
        return n.as<std::string>();
    }

    // A number within the range number_ranges() gives for field (list positions as "[]"):
    // finite (.nan and .inf are outside every range), and whole where the range says so.
    double number(const YAML::Node& n, const std::string& field) const {
        if (!n.IsScalar())
            fail(n, field, "expected a number");
        double v = 0;
        if (!YAML::convert<double>::decode(n, v))
            fail(n, field, fmt::format("expected a number, got '{}'", n.Scalar()));
        // "010" is 8 in YAML 1.1 and 10 in YAML 1.2 (yaml-cpp reads 10): refuse the doubt.
        const auto& t = n.Scalar();
        const std::size_t d = !t.empty() && (t[0] == '+' || t[0] == '-') ? 1 : 0;
        if (t.size() > d + 1 && t[d] == '0' && std::isdigit(static_cast<unsigned char>(t[d + 1])))
            fail(n, field,
                 fmt::format("'{}': a leading zero is ambiguous (octal in YAML 1.1); write it "
                             "without",
                             t));
        const auto* range = number_range(range_key(field));
        if (!range) // every numeric key has a range: a test loads good.yaml, which has them all
            fail(n, field, "no range is defined for this key (a bug: add it to number_ranges())");
        if (!within(*range, v))
            fail(n, field,
                 fmt::format("expected a {}number {}, got '{}'", range->whole ? "whole " : "",
                             describe_range(*range), n.Scalar()));
        return v;
    }

    // A whole number (its range says whole; see number()).
    std::uint64_t count(const YAML::Node& n, const std::string& field) const {
        const double v = number(n, field);
        if (!number_range(range_key(field))->whole)
            fail(n, field, "read as a count but its range is not whole (a bug in number_ranges())");
        return static_cast<std::uint64_t>(v);
    }

    std::vector<std::uint16_t> ports(const YAML::Node& n, const std::string& field) const {
        if (!n.IsSequence())
            fail(n, field, "expected a list of ports");
        std::vector<std::uint16_t> out;
        for (std::size_t i = 0; i < n.size(); ++i)
            out.push_back(static_cast<std::uint16_t>(count(n[i], fmt::format("{}[{}]", field, i))));
        return out;
    }

    bool boolean(const YAML::Node& n, const std::string& field) const {
        bool v = false;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
            fail(n, field, "expected true or false");
        return v;
    }

    std::vector<std::string> strings(const YAML::Node& n, const std::string& field) const {
        if (!n.IsSequence())
            fail(n, field, "expected a list");
        std::vector<std::string> out;
        for (std::size_t i = 0; i < n.size(); ++i)
            out.push_back(str(n[i], fmt::format("{}[{}]", field, i)));
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
        if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i)
                unique_keys(n[i], fmt::format("{}[{}]", where, i), budget, depth + 1);
        } else if (n.IsMap()) {
            std::map<std::string, YAML::Mark> seen;
            for (const auto& kv : n) {
                if (!kv.first.IsScalar())
                    continue; // no key of ours is one; mapping() refuses it
                const auto& key = kv.first.Scalar();
                const auto field = where.empty() ? key : where + "." + key;
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

  private:
    // The key of field's range: "hooks[1].timeout" is "hooks[].timeout".
    static std::string range_key(const std::string& field) {
        std::string out;
        for (std::size_t i = 0; i < field.size(); ++i) {
            out += field[i];
            if (field[i] == '[')
                while (i + 1 < field.size() && field[i + 1] != ']')
                    ++i;
        }
        return out;
    }

    std::string name_;
};

using Handler = std::function<void(const YAML::Node&, const std::string&)>;

} // namespace

Result<AgentOptions> parse_config(const std::string& text, const std::string& name) {
    AgentOptions o;
    Reader r(name);
    try {
        YAML::Node root;
        try {
            // One document: yaml-cpp's Load() would read the first and silently drop the rest
            // of a file that a stray "---" split (its hooks, its listen address…).
            auto docs = YAML::LoadAll(text);
            if (docs.size() > 1)
                return Error{fmt::format("{}:{}: a second YAML document (after \"---\"): the "
                                         "configuration is one document",
                                         name, docs[1].Mark().line + 1)};
            if (!docs.empty())
                root = docs.front();
        } catch (const YAML::ParserException& e) {
            return Error{fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg)};
        }
        if (root.IsNull())
            return o; // an empty file: every default
        std::size_t budget = Reader::kMaxNodes;
        r.unique_keys(root, "", budget);
        // Numbers: the range of each key is in number_ranges() (options.cpp).
        auto u32 = [&](std::uint32_t& dst) -> Handler {
            return [&r, &dst](const YAML::Node& n, const std::string& f) {
                dst = static_cast<std::uint32_t>(r.count(n, f));
            };
        };
        auto number = [&](double& dst) -> Handler {
            return [&r, &dst](const YAML::Node& n, const std::string& f) { dst = r.number(n, f); };
        };
        r.mapping(
            root, "",
            {{"interfaces",
              [&](const YAML::Node& n, const std::string& f) {
                  o.interfaces = r.strings(n, f);
                  // Left out, the default-route interface is watched; an empty list read as
                  // that would watch an interface the file never named.
                  if (o.interfaces.empty())
                      r.fail(n, f,
                             "an empty list: name the interfaces, or leave the key out "
                             "for the default-route interface");
              }},
             {"listen", [&](const YAML::Node& n, const std::string& f) { o.listen = r.str(n, f); }},
             {"xdp_mode",
              [&](const YAML::Node& n, const std::string& f) { o.xdp_mode = r.str(n, f); }},
             {"state_file",
              [&](const YAML::Node& n, const std::string& f) { o.state_file = r.str(n, f); }},
             {"log_level",
              [&](const YAML::Node& n, const std::string& f) { o.log_level = r.str(n, f); }},
             {"user", [&](const YAML::Node& n, const std::string& f) { o.user = r.str(n, f); }},
             {"group", [&](const YAML::Node& n, const std::string& f) { o.group = r.str(n, f); }},
             {"sweep_interval", number(o.sweep_interval_s)},
             {"max_servers", u32(o.max_labelled_servers)},
             {"latency_buckets",
              [&](const YAML::Node& n, const std::string& f) {
                  if (!n.IsSequence())
                      r.fail(n, f, "expected a list of seconds");
                  o.latency_buckets_s.clear();
                  for (std::size_t i = 0; i < n.size(); ++i)
                      o.latency_buckets_s.push_back(r.number(n[i], fmt::format("{}[{}]", f, i)));
              }},
             {"dns",
              [&](const YAML::Node& n, const std::string& f) {
                  r.mapping(n, f,
                            {{"ports", [&](const YAML::Node& m,
                                           const std::string& g) { o.dns_ports = r.ports(m, g); }},
                             {"timeout", number(o.dns_timeout_s)}});
              }},
             {"smtp",
              [&](const YAML::Node& n, const std::string& f) {
                  r.mapping(n, f,
                            {{"ports", [&](const YAML::Node& m,
                                           const std::string& g) { o.smtp_ports = r.ports(m, g); }},
                             {"tls_ports",
                              [&](const YAML::Node& m, const std::string& g) {
                                  o.smtp_tls_ports = r.ports(m, g);
                              }},
                             {"connect_timeout", number(o.smtp_connect_timeout_s)},
                             {"idle_timeout", number(o.smtp_idle_timeout_s)}});
              }},
             {"dns_servers",
              [&](const YAML::Node& n, const std::string& f) { o.dns_servers = r.strings(n, f); }},
             {"verdicts",
              [&](const YAML::Node& n, const std::string& f) {
                  auto& v = o.verdicts;
                  auto windows = [&](unsigned& dst) -> Handler {
                      return [&r, &dst](const YAML::Node& m, const std::string& g) {
                          dst = static_cast<unsigned>(r.count(m, g));
                      };
                  };
                  r.mapping(n, f,
                            {{"window", number(v.window_s)},
                             {"rise", windows(v.rise)},
                             {"fall", windows(v.fall)},
                             {"hold_down", windows(v.hold_down_windows)},
                             {"unknown_after", windows(v.unknown_after_windows)},
                             {"min_attempts",
                              [&](const YAML::Node& m, const std::string& g) {
                                  v.min_attempts = r.count(m, g);
                              }},
                             {"down_failure_ratio", number(v.down_failure_ratio)},
                             {"degraded_failure_ratio", number(v.degraded_failure_ratio)},
                             {"degraded_p99", number(v.degraded_p99_s)},
                             {"latency_min_samples",
                              [&](const YAML::Node& m, const std::string& g) {
                                  v.latency_min_samples = r.count(m, g);
                              }},
                             {"latency_horizon", windows(v.latency_horizon_windows)},
                             {"degraded_loss_ratio", number(v.degraded_loss_ratio)},
                             {"failback_hold", number(v.failback_hold_s)}});
              }},
             {"domains",
              [&](const YAML::Node& n, const std::string& f) {
                  if (!n.IsSequence())
                      r.fail(n, f, "expected a list of domains");
                  for (std::size_t i = 0; i < n.size(); ++i) {
                      Domain d;
                      bool mx_given = false;
                      const auto df = fmt::format("{}[{}]", f, i);
                      r.mapping(n[i], df,
                                {{"name", [&](const YAML::Node& m,
                                              const std::string& g) { d.name = r.str(m, g); }},
                                 {"authoritative",
                                  [&](const YAML::Node& m, const std::string& g) {
                                      d.authoritative = r.boolean(m, g);
                                  }},
                                 {"mx", [&](const YAML::Node& m, const std::string& g) {
                                      mx_given = true;
                                      if (m.IsScalar() && m.Scalar() == "discover") {
                                          d.discover = true;
                                          return;
                                      }
                                      if (!m.IsSequence())
                                          r.fail(m, g, "expected a list of MX hosts or 'discover'");
                                      for (std::size_t j = 0; j < m.size(); ++j) {
                                          MxHost h;
                                          r.mapping(
                                              m[j], fmt::format("{}[{}]", g, j),
                                              {{"host",
                                                [&](const YAML::Node& x, const std::string& y) {
                                                    h.host = r.str(x, y);
                                                }},
                                               {"addresses",
                                                [&](const YAML::Node& x, const std::string& y) {
                                                    h.addresses = r.strings(x, y);
                                                }}});
                                          d.mx.push_back(std::move(h));
                                      }
                                  }}});
                      d.discover = d.discover || !mx_given; // no list: ask DNS
                      o.domains.push_back(std::move(d));
                  }
              }},
             {"hooks",
              [&](const YAML::Node& n, const std::string& f) {
                  if (!n.IsSequence())
                      r.fail(n, f, "expected a list of hooks");
                  for (std::size_t i = 0; i < n.size(); ++i) {
                      HookConfig h;
                      r.mapping(
                          n[i], fmt::format("{}[{}]", f, i),
                          {{"name", [&](const YAML::Node& m,
                                        const std::string& g) { h.name = r.str(m, g); }},
                           {"events", [&](const YAML::Node& m,
                                          const std::string& g) { h.events = r.strings(m, g); }},
                           {"argv", [&](const YAML::Node& m,
                                        const std::string& g) { h.argv = r.strings(m, g); }},
                           {"timeout", number(h.timeout_s)},
                           {"cooldown", number(h.cooldown_s)},
                           {"retries",
                            [&](const YAML::Node& m, const std::string& g) {
                                h.retries = static_cast<unsigned>(r.count(m, g));
                            }},
                           {"backoff", number(h.backoff_s)}});
                      o.hooks.push_back(std::move(h));
                  }
              }},
             {"probes",
              [&](const YAML::Node& n, const std::string& f) {
                  auto& p = o.probes;
                  auto text = [&](std::string& dst) -> Handler {
                      return [&r, &dst](const YAML::Node& m, const std::string& g) {
                          dst = r.str(m, g);
                      };
                  };
                  auto flag = [&](bool& dst) -> Handler {
                      return [&r, &dst](const YAML::Node& m, const std::string& g) {
                          dst = r.boolean(m, g);
                      };
                  };
                  r.mapping(n, f,
                            {{"enabled", flag(p.enabled)},
                             {"interval", number(p.interval_s)},
                             {"timeout", number(p.timeout_s)},
                             {"dns_name", text(p.dns_name)},
                             {"dns_type", text(p.dns_type)},
                             {"ehlo_name", text(p.ehlo_name)},
                             {"starttls", flag(p.starttls)},
                             {"targets", [&](const YAML::Node& m, const std::string& g) {
                                  if (!m.IsSequence())
                                      r.fail(m, g, "expected a list of DNS servers");
                                  for (std::size_t i = 0; i < m.size(); ++i) {
                                      ProbeTarget t;
                                      const auto tf = fmt::format("{}[{}]", g, i);
                                      r.mapping(m[i], tf,
                                                {{"address", text(t.address)},
                                                 {"role", text(t.role)},
                                                 {"name", text(t.name)},
                                                 {"type", text(t.type)}});
                                      if (t.address.empty())
                                          r.fail(m[i], tf, "needs an address");
                                      if (t.role.empty())
                                          r.fail(m[i], tf,
                                                 "needs a role (resolver or authoritative)");
                                      p.targets.push_back(std::move(t));
                                  }
                              }}});
              }},
             {"discovery",
              [&](const YAML::Node& n, const std::string& f) {
                  auto& d = o.discovery;
                  r.mapping(n, f,
                            {{"resolver", [&](const YAML::Node& m,
                                              const std::string& g) { d.resolver = r.str(m, g); }},
                             {"min_refresh", number(d.min_refresh_s)},
                             {"max_refresh", number(d.max_refresh_s)},
                             {"retry", number(d.retry_s)}});
              }},
             {"webhook",
              [&](const YAML::Node& n, const std::string& f) {
                  auto& w = o.webhook;
                  r.mapping(
                      n, f,
                      {{"enabled", [&](const YAML::Node& m,
                                       const std::string& g) { w.enabled = r.boolean(m, g); }},
                       {"token_file", [&](const YAML::Node& m,
                                          const std::string& g) { w.token_file = r.str(m, g); }},
                       {"hook",
                        [&](const YAML::Node& m, const std::string& g) { w.hook = r.str(m, g); }}});
              }},
             {"http",
              [&](const YAML::Node& n, const std::string& f) {
                  auto& h = o.http;
                  r.mapping(n, f,
                            {{"max_connections", u32(h.max_connections)},
                             {"idle_timeout", number(h.idle_timeout_s)},
                             {"header_timeout", number(h.header_timeout_s)},
                             {"body_timeout", number(h.body_timeout_s)},
                             {"max_header_bytes", u32(h.max_header_bytes)},
                             {"max_body_bytes", [&](const YAML::Node& m, const std::string& g) {
                                  h.max_body_bytes = r.count(m, g);
                              }}});
              }},
             {"maps", [&](const YAML::Node& n, const std::string& f) {
                  r.mapping(n, f,
                            {{"dns_stats", u32(o.stats_map_entries)},
                             {"dns_inflight", u32(o.inflight_map_entries)},
                             {"dns_inflight_server", u32(o.inflight_server_map_entries)},
                             {"dns_late", u32(o.late_map_entries)},
                             {"tcp_streams", u32(o.tcp_stream_map_entries)},
                             {"smtp_stats", u32(o.smtp_stats_map_entries)},
                             {"smtp_flows", u32(o.smtp_flow_map_entries)}});
              }}});
    } catch (const ConfigError& e) {
        return Error{e.message};
    } catch (const YAML::Exception& e) {
        return Error{fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg)};
    }
    // Addresses as the kernel's keys print them ("2001:DB8::A" would never match "2001:db8::a").
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
    if (auto err = validate(o))
        return Error{fmt::format("{}: {}", name, *err)};
    return o;
}

Result<AgentOptions> load_config(const std::string& path) {
    // Regular files only, at most kConfigFileLimit bytes (bounded_file.h).
    auto text = read_bounded_file(path, kConfigFileLimit);
    if (!text)
        return Error{text.error()};
    auto o = parse_config(*text, path);
    if (o && o->webhook.enabled) {
        // The secret stays out of the configuration file (which is often world-readable).
        auto t = read_bounded_file(o->webhook.token_file, kTokenFileLimit);
        if (!t)
            return Error{fmt::format("{}: webhook.token_file {}", path, t.error())};
        std::string token = t->substr(0, t->find('\n'));
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
            token.pop_back();
        if (token.size() < 16)
            return Error{fmt::format("{}: webhook.token_file {}: the token needs at least 16 "
                                     "characters",
                                     path, o->webhook.token_file)};
        o->webhook.token = token;
    }
    return o;
}

} // namespace mxs
