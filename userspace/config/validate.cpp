#include "config/validate.h"

#include "base/addr.h"
#include "base/privileges.h"
#include "base/shown.h"
#include "config/dns_names.h"
#include "config/option_table.h"
#include "kernel/kernel_types.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>
#include <net/if.h>
#include <set>
#include <type_traits>
#include <variant>

namespace mxs {
namespace {

// The shortest audit.interval other than 0, seconds.
constexpr double kMinAuditInterval = 60;

// The checks, each error naming its field where the operator gave it.
class Checker {
  public:
    Checker(const AgentOptions& o, const Origins& at) : o_(o), at_(at) {}

    Result<> run() {
        for (auto check : {&Checker::ranges, &Checker::listen_and_ports, &Checker::timing,
                           &Checker::kernel_and_process, &Checker::dns_servers, &Checker::domains,
                           &Checker::probes, &Checker::hooks_and_webhook})
            if (auto p = (this->*check)(); !p)
                return p;
        return {};
    }

  private:
    // The error for field: where it was given (the file's line or the flag), then the detail,
    // whose values from input are shown() or printable().
    Error bad(std::string_view field, const std::string& detail) const {
        return Error{printable(fmt::format("{}: {}", at_.where(field), detail))};
    }
    std::string name(std::string_view key) const { return at_.name(key); }

    // A number outside its range (option_table()): a value from the command line or from code;
    // the YAML reader refuses one from the file as it reads it.
    Result<> number(const char* key, const std::string& field, double v) const {
        const auto* r = number_range(key);
        if (!r || within(*r, v))
            return {};
        return bad(field, fmt::format("{}: must be a {}number {}", v, r->whole ? "whole " : "",
                                      describe_range(*r)));
    }

    // Each item's member (a number) within key's range ("hooks[].timeout").
    template <class Item, class M> Result<> item_numbers(const char* key, M member) const {
        const std::string_view k = key;
        const auto list = k.substr(0, k.find("[]"));
        const auto name = k.substr(k.find("[].") + 3);
        const std::vector<Item>* items = nullptr;
        if constexpr (std::is_same_v<Item, HookConfig>)
            items = list == "hooks" ? &o_.hooks : nullptr;
        else if constexpr (std::is_same_v<Item, ProbeTarget>)
            items = list == "probes.targets" ? &o_.probes.targets : nullptr;
        if (!items)
            return Error{fmt::format("{}: no list of that name (a bug in option_table())", key)};
        for (std::size_t i = 0; i < items->size(); ++i)
            if constexpr (std::is_arithmetic_v<typename MemberTraits<M>::Value>)
                if (auto e = number(key, fmt::format("{}[{}].{}", list, i, name),
                                    static_cast<double>((*items)[i].*member));
                    !e)
                    return e;
        return {};
    }

    Result<> ranges() {
        auto& o = const_cast<AgentOptions&>(o_); // the table's fields take a mutable object
        for (const auto& s : option_table()) {
            if (!s.range)
                continue;
            Result<> p = std::visit(
                [&](auto get) -> Result<> {
                    if constexpr (std::is_same_v<decltype(get), std::monostate>) {
                        return {};
                    } else {
                        const auto& v = get(o);
                        using V = std::decay_t<decltype(v)>;
                        if constexpr (std::is_arithmetic_v<V>) {
                            return number(s.key, s.key, static_cast<double>(v));
                        } else if constexpr (std::is_same_v<V, std::vector<double>> ||
                                             std::is_same_v<V, std::vector<std::uint16_t>>) {
                            const auto key = std::string(s.key) + "[]";
                            for (std::size_t i = 0; i < v.size(); ++i)
                                if (auto e = number(key.c_str(), fmt::format("{}[{}]", s.key, i),
                                                    static_cast<double>(v[i]));
                                    !e)
                                    return e;
                            return {};
                        } else {
                            return {};
                        }
                    }
                },
                s.field);
            if (!p)
                return p;
        }
        // The numbers inside list items (a hook's timeout ...), by the table's item fields.
        for (const auto& s : option_table())
            if (s.range)
                if (auto e = std::visit(
                        [&](auto member) -> Result<> {
                            using M = decltype(member);
                            if constexpr (std::is_same_v<M, std::monostate>) {
                                return {};
                            } else {
                                using Item = typename MemberTraits<M>::Item;
                                return item_numbers<Item>(s.key, member);
                            }
                        },
                        s.item);
                    !e)
                    return e;
        return {};
    }

    // A list of ports: bounded in length, each once.
    Result<> port_list(const char* key, const std::vector<std::uint16_t>& ports, std::size_t min,
                       std::size_t max) const {
        if (ports.size() < min || ports.size() > max)
            return bad(key, min ? fmt::format("between {} and {} ports", min, max)
                                : fmt::format("at most {} ports", max));
        for (std::size_t i = 0; i < ports.size(); ++i)
            if (std::count(ports.begin(), ports.begin() + static_cast<long>(i), ports[i]))
                return bad(fmt::format("{}[{}]", key, i),
                           fmt::format("port {} is listed twice", ports[i]));
        return {};
    }

    Result<> listen_and_ports() {
        if (!parse_listen(o_.listen))
            return bad("listen",
                       fmt::format("{}: expected ADDR:PORT or [V6ADDR]:PORT", shown(o_.listen)));
        if (auto e = port_list("dns.ports", o_.dns_ports, 1, MXS_MAX_PORTS); !e)
            return e;
        if (auto e = port_list("smtp.ports", o_.smtp_ports, 1, MXS_MAX_SMTP_PORTS); !e)
            return e;
        if (auto e = port_list("smtp.tls_ports", o_.smtp_tls_ports, 0, MXS_MAX_SMTP_PORTS); !e)
            return e;
        for (std::size_t i = 0; i < o_.smtp_tls_ports.size(); ++i)
            if (!std::count(o_.smtp_ports.begin(), o_.smtp_ports.end(), o_.smtp_tls_ports[i]))
                return bad(fmt::format("smtp.tls_ports[{}]", i),
                           fmt::format("{} is not one of {} ({})", o_.smtp_tls_ports[i],
                                       name("smtp.ports"), fmt::join(o_.smtp_ports, ", ")));
        for (std::size_t i = 0; i < o_.smtp_ports.size(); ++i)
            if (std::count(o_.dns_ports.begin(), o_.dns_ports.end(), o_.smtp_ports[i]))
                return bad(fmt::format("smtp.ports[{}]", i),
                           fmt::format("port {} is also one of {} ({})", o_.smtp_ports[i],
                                       name("dns.ports"), fmt::join(o_.dns_ports, ", ")));
        return {};
    }

    Result<> timing() {
        if (!(o_.smtp_idle_timeout_s > o_.smtp_connect_timeout_s))
            return bad("smtp.idle_timeout",
                       fmt::format("{} s must exceed {} ({} s)", o_.smtp_idle_timeout_s,
                                   name("smtp.connect_timeout"), o_.smtp_connect_timeout_s));
        // The sweep books unanswered queries and SMTP timeouts: slower than the window, a
        // window would get none and a later one several windows' worth at once, a burst of
        // failures against that window's attempts (a false DOWN).
        if (o_.sweep_interval_s > o_.verdicts.window_s)
            return bad("sweep_interval",
                       fmt::format("{} s is longer than {} ({} s): a window must see at least "
                                   "one sweep of expired queries",
                                   o_.sweep_interval_s, name("verdicts.window"),
                                   o_.verdicts.window_s));
        const auto& b = o_.latency_buckets_s;
        if (b.empty() || b.size() > kMaxLatencyBuckets)
            return bad("latency_buckets", fmt::format("from 1 to {} bounds", kMaxLatencyBuckets));
        for (std::size_t i = 1; i < b.size(); ++i)
            if (!(b[i] > b[i - 1]))
                return bad(
                    fmt::format("latency_buckets[{}]", i),
                    fmt::format("{} after {}: bounds must be strictly increasing", b[i], b[i - 1]));
        const auto& v = o_.verdicts;
        if (!(v.degraded_failure_ratio <= v.down_failure_ratio))
            return bad("verdicts.degraded_failure_ratio",
                       fmt::format("{} is above {} ({}): DEGRADED must come before DOWN",
                                   v.degraded_failure_ratio, name("verdicts.down_failure_ratio"),
                                   v.down_failure_ratio));
        if (!o_.audit.ca_file.empty() && o_.audit.ca_file[0] != '/')
            return bad("audit.ca_file",
                       fmt::format("{}: must be an absolute path", shown(o_.audit.ca_file)));
        // Each run opens an SMTP session with every MX host of every domain: a run a minute at
        // most, so that the audit never becomes a load on the hosts it checks.
        if (o_.audit.interval_s > 0 && o_.audit.interval_s < kMinAuditInterval)
            return bad("audit.interval",
                       fmt::format("{} s: 0 (no audit) or at least {} s (each run opens an SMTP "
                                   "session with every MX host)",
                                   o_.audit.interval_s, kMinAuditInterval));
        if (o_.audit.mx_ttl_min_s > o_.audit.mx_ttl_max_s)
            return bad("audit.mx_ttl_min",
                       fmt::format("{} s is above {} ({} s)", o_.audit.mx_ttl_min_s,
                                   name("audit.mx_ttl_max"), o_.audit.mx_ttl_max_s));
        const auto& dc = o_.discovery;
        if (!(dc.min_refresh_s <= dc.max_refresh_s))
            return bad("discovery.min_refresh",
                       fmt::format("{} s is above {} ({} s)", dc.min_refresh_s,
                                   name("discovery.max_refresh"), dc.max_refresh_s));
        return {};
    }

    Result<> kernel_and_process() {
        for (const auto& s : option_table()) // the word options: one of their choices
            if (s.choices)
                if (const auto* get = std::get_if<FieldOf<std::string>>(&s.field)) {
                    const auto& v = (*get)(const_cast<AgentOptions&>(o_));
                    const auto c = s.choice_list();
                    if (std::find(c.begin(), c.end(), v) == c.end())
                        return bad(s.key,
                                   fmt::format("{}: expected {}", shown(v), describe_choices(s)));
                }
        std::set<std::string> seen;
        for (std::size_t i = 0; i < o_.interfaces.size(); ++i) {
            const auto& n = o_.interfaces[i];
            // As the kernel names a device (dev_valid_name(), net/core/dev.c): 1 to 15 bytes
            // (IFNAMSIZ 16 with the NUL), not "." or "..", no '/', ':' or white space.
            if (n.empty() || n.size() >= IFNAMSIZ || n == "." || n == ".." ||
                std::any_of(n.begin(), n.end(), [](unsigned char c) {
                    return c == '/' || c == ':' || std::isspace(c) || c < 0x20 || c == 0x7f;
                }))
                return bad(fmt::format("interfaces[{}]", i),
                           fmt::format("{} is not an interface name (1 to {} bytes, none of "
                                       "'/', ':' or white space)",
                                       shown(n), IFNAMSIZ - 1));
            if (!seen.insert(n).second)
                return bad(fmt::format("interfaces[{}]", i), fmt::format("{} is listed twice", n));
        }
        if (!o_.state_file.empty() && o_.state_file[0] != '/')
            return bad("state_file", fmt::format("{}: must be an absolute path (or empty: none)",
                                                 shown(o_.state_file)));
        if (!o_.group.empty() && o_.user.empty())
            return bad("group", fmt::format("{}: needs a user to switch to", shown(o_.group)));
        if (!o_.user.empty())
            if (auto as = resolve_run_as(o_.user, o_.group); !as) {
                // "user 'x': no such user" or "group 'y': ...": at the line or flag of that one.
                const auto p = at_.prefix(as.error().starts_with("group") ? "group" : "user");
                return Error{
                    printable(p.empty() ? as.error() : fmt::format("{}: {}", p, as.error()))};
            }
        return {};
    }

    Result<> dns_servers() {
        std::set<std::string> servers;
        for (std::size_t i = 0; i < o_.dns_servers.size(); ++i) {
            const auto& s = o_.dns_servers[i];
            const auto field = fmt::format("dns_servers[{}]", i);
            if (!is_address(s))
                return bad(field, fmt::format("{} is not an IP address", shown(s)));
            if (!servers.insert(s).second)
                return bad(field, fmt::format("{} is listed twice", s));
        }
        return {};
    }

    Result<> domains() {
        std::map<std::string, std::string> names; // canonical -> as written
        for (std::size_t i = 0; i < o_.domains.size(); ++i) {
            const auto& d = o_.domains[i];
            const auto df = fmt::format("domains[{}]", i);
            if (d.name.empty())
                return bad(df, "a domain without a name");
            if (auto e = check_dns_name(d.name, false); !e)
                return bad(df + ".name",
                           fmt::format("{} is not a DNS name: {}", shown(d.name), e.error()));
            if (auto [it, fresh] = names.emplace(dns_name_key(d.name), d.name); !fresh)
                return bad(df + ".name",
                           fmt::format("{} is listed twice (as {}; DNS names ignore case "
                                       "and the final dot)",
                                       shown(d.name), shown(it->second)));
            if (d.mx.empty() && !d.discover)
                return bad(df + ".mx", fmt::format("no MX hosts for {} (list them or set 'mx: "
                                                   "discover')",
                                                   d.name));
            std::map<std::string, std::string> hosts;
            for (std::size_t j = 0; j < d.mx.size(); ++j) {
                const auto& m = d.mx[j];
                const auto mf = fmt::format("{}.mx[{}]", df, j);
                if (m.host.empty() || m.addresses.empty())
                    return bad(mf, "every MX host needs a host name and addresses");
                if (auto e = check_dns_name(m.host, false); !e)
                    return bad(mf + ".host",
                               fmt::format("{} is not a DNS name: {}", shown(m.host), e.error()));
                if (auto [it, fresh] = hosts.emplace(dns_name_key(m.host), m.host); !fresh)
                    return bad(mf + ".host", fmt::format("{} is listed twice in {} (as {})",
                                                         shown(m.host), d.name, shown(it->second)));
                std::set<std::string> addrs;
                for (std::size_t k = 0; k < m.addresses.size(); ++k) {
                    const auto& a = m.addresses[k];
                    const auto af = fmt::format("{}.addresses[{}]", mf, k);
                    if (!is_address(a))
                        return bad(af, fmt::format("{} is not an IP address", shown(a)));
                    if (!addrs.insert(a).second)
                        return bad(af, fmt::format("{} is listed twice for {}", a, m.host));
                }
            }
        }
        return {};
    }

    Result<> probes() {
        const auto& p = o_.probes;
        if (p.timeout_s >= p.interval_s)
            return bad("probes.timeout",
                       fmt::format("{} s must be shorter than {} ({} s)", p.timeout_s,
                                   name("probes.interval"), p.interval_s));
        if (!p.dns_type.empty() && !dns_type_code(p.dns_type))
            return bad(
                "probes.dns_type",
                fmt::format("{}: expected one of A, AAAA, NS, MX, SOA, TXT", shown(p.dns_type)));
        if (!p.dns_name.empty())
            if (auto e = check_dns_name(p.dns_name, true); !e)
                return bad("probes.dns_name",
                           fmt::format("{}: not a DNS name: {}", shown(p.dns_name), e.error()));
        if (p.dns_name.empty() && !p.dns_type.empty())
            return bad("probes.dns_type",
                       fmt::format("{}: needs probes.dns_name", shown(p.dns_type)));
        // RFC 5321 §4.1.1.1: EHLO's argument is a domain or an address literal. Anything else
        // (a CR or LF above all) would be sent to every probed server as commands of its own.
        if (!p.ehlo_name.empty()) {
            const auto& e = p.ehlo_name;
            const bool literal =
                e.size() > 2 && e.front() == '[' && e.back() == ']' &&
                (is_address(e.substr(1, e.size() - 2)) ||
                 (e.rfind("[IPv6:", 0) == 0 && is_address(e.substr(6, e.size() - 7))));
            if (!literal)
                if (auto why = check_dns_name(e, false); !why)
                    return bad("probes.ehlo_name",
                               fmt::format("{}: neither a domain nor an address literal: {}",
                                           shown(e), why.error()));
        }
        std::set<std::string> overridden;
        for (std::size_t i = 0; i < p.targets.size(); ++i) {
            const auto& t = p.targets[i];
            const auto tf = fmt::format("probes.targets[{}]", i);
            if (!is_address(t.address))
                return bad(tf + ".address",
                           fmt::format("{} is not an IP address", shown(t.address)));
            if (!overridden.insert(t.address).second)
                return bad(tf + ".address", fmt::format("{} is listed twice", t.address));
            if (t.role != "resolver" && t.role != "authoritative")
                return bad(tf + ".role",
                           fmt::format("{}: expected resolver or authoritative", shown(t.role)));
            if (t.role == "authoritative" && t.name.empty())
                return bad(tf, "an authoritative server needs its zone as name");
            if (!t.name.empty())
                if (auto e = check_dns_name(t.name, true); !e)
                    return bad(tf + ".name",
                               fmt::format("{}: not a DNS name: {}", shown(t.name), e.error()));
            if (!t.type.empty() && !dns_type_code(t.type))
                return bad(
                    tf + ".type",
                    fmt::format("{}: expected one of A, AAAA, NS, MX, SOA, TXT", shown(t.type)));
            if (t.name.empty() && !t.type.empty())
                return bad(tf + ".type", fmt::format("{} needs a name", shown(t.type)));
        }
        if (!o_.discovery.resolver.empty() && !is_address(o_.discovery.resolver))
            return bad("discovery.resolver",
                       fmt::format("{} is not an IP address", shown(o_.discovery.resolver)));
        return {};
    }

    Result<> hooks_and_webhook() {
        std::set<std::string> hook_names;
        for (std::size_t i = 0; i < o_.hooks.size(); ++i) {
            const auto& h = o_.hooks[i];
            const auto hf = fmt::format("hooks[{}]", i);
            if (h.name.empty())
                return bad(hf, "a hook without a name");
            if (!hook_names.insert(h.name).second)
                return bad(hf + ".name", fmt::format("{} is listed twice", shown(h.name)));
            if (h.argv.empty() || h.argv[0].empty() || h.argv[0][0] != '/')
                return bad(
                    hf + ".argv",
                    fmt::format("hook {}: argv must start with an absolute path", shown(h.name)));
            if (h.events.empty() && !(o_.webhook.enabled && o_.webhook.hook == h.name))
                return bad(hf, fmt::format("hook {}: no events (only the webhook's hook may have "
                                           "none)",
                                           shown(h.name)));
            for (std::size_t j = 0; j < h.events.size(); ++j)
                if (std::find(std::begin(kHookEvents), std::end(kHookEvents), h.events[j]) ==
                    std::end(kHookEvents))
                    return bad(fmt::format("{}.events[{}]", hf, j),
                               fmt::format("hook {}: unknown event {}", shown(h.name),
                                           shown(h.events[j])));
        }
        if (!o_.webhook.listen.empty()) {
            if (!o_.webhook.enabled)
                return bad("webhook.listen", "without webhook.enabled: nothing to serve there");
            if (!parse_listen(o_.webhook.listen))
                return bad("webhook.listen", fmt::format("{}: expected ADDR:PORT or [V6ADDR]:PORT",
                                                         shown(o_.webhook.listen)));
            if (o_.webhook.listen == o_.listen)
                return bad("webhook.listen",
                           fmt::format("{}: the same as {}; leave webhook.listen out to serve the "
                                       "webhook there",
                                       shown(o_.webhook.listen), name("listen")));
            if (auto main = parse_listen(o_.listen);
                main && listeners_overlap(*main, *parse_listen(o_.webhook.listen)))
                return bad("webhook.listen",
                           fmt::format("{}: the same port as {} {} on an overlapping address (a "
                                       "wildcard covers every address of its family): both "
                                       "cannot be bound; use another port",
                                       shown(o_.webhook.listen), name("listen"), shown(o_.listen)));
        }
        if (o_.webhook.enabled) {
            if (o_.webhook.token_file.empty())
                return bad("webhook.enabled", "needs webhook.token_file");
            if (!hook_names.count(o_.webhook.hook))
                return bad("webhook.hook",
                           fmt::format("{}: no hook of that name", shown(o_.webhook.hook)));
        }
        return {};
    }

    const AgentOptions& o_;
    const Origins& at_;
};

} // namespace

bool listeners_overlap(const ListenAddress& a, const ListenAddress& b) {
    if (a.port != b.port)
        return false;
    boost::system::error_code ea, eb;
    const auto x = boost::asio::ip::make_address(a.host, ea);
    const auto y = boost::asio::ip::make_address(b.host, eb);
    if (ea || eb)
        return false;
    const auto any6 = [](const boost::asio::ip::address& i) {
        return i.is_v6() && i.is_unspecified();
    };
    const auto any4 = [](const boost::asio::ip::address& i) {
        return i.is_v4() && i.is_unspecified();
    };
    return x == y || any6(x) || any6(y) || (any4(x) && y.is_v4()) || (any4(y) && x.is_v4());
}

Result<> validate(const AgentOptions& o, const Origins& origins) {
    return Checker(o, origins).run();
}

} // namespace mxs
