// The configuration's lists of structured items: domains with their MX hosts, hooks, probe
// targets.
#include "config/yaml_reader.h"

namespace mxs::yaml {

std::vector<Domain> read_domains(Reader& r, const YAML::Node& n, const std::string& f) {
    if (!n.IsSequence())
        r.fail(n, f, "expected a list of domains");
    std::vector<Domain> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        Domain d;
        bool mx_given = false;
        const auto df = fmt::format("{}[{}]", f, i);
        r.record(n[i], df);
        r.mapping(
            n[i], df,
            {{"name", [&](const YAML::Node& m, const std::string& g) { d.name = r.str(m, g); }},
             {"authoritative", [&](const YAML::Node& m,
                                   const std::string& g) { d.authoritative = r.boolean(m, g); }},
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
                      const auto hf = fmt::format("{}[{}]", g, j);
                      r.record(m[j], hf);
                      r.mapping(m[j], hf,
                                {{"host", [&](const YAML::Node& x,
                                              const std::string& y) { h.host = r.str(x, y); }},
                                 {"addresses", [&](const YAML::Node& x, const std::string& y) {
                                      h.addresses = r.strings(x, y);
                                  }}});
                      d.mx.push_back(std::move(h));
                  }
              }}});
        d.discover = d.discover || !mx_given; // no list: ask DNS
        out.push_back(std::move(d));
    }
    return out;
}

namespace {

// The items of list f ("hooks", "probes.targets"), each a mapping of the keys the option table
// declares for it ("hooks[].timeout" ...), read by their fields' types.
template <class Item>
std::vector<Item> read_items(Reader& r, const YAML::Node& n, const std::string& f,
                             const char* what) {
    if (!n.IsSequence())
        r.fail(n, f, fmt::format("expected a list of {}", what));
    const auto prefix = option_key(f) + "[].";
    std::vector<Item> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        Item item;
        const auto itf = fmt::format("{}[{}]", f, i);
        r.record(n[i], itf);
        std::map<std::string, Handler> handlers;
        for (const auto& s : option_table()) {
            const std::string_view key = s.key;
            if (!key.starts_with(prefix))
                continue;
            std::visit(
                [&](auto member) {
                    using M = decltype(member);
                    if constexpr (!std::is_same_v<M, std::monostate>) {
                        using Of = typename MemberTraits<M>::Item;
                        using V = typename MemberTraits<M>::Value;
                        if constexpr (std::is_same_v<Of, Item>)
                            handlers[std::string(key.substr(prefix.size()))] =
                                [&r, &item, member](const YAML::Node& m, const std::string& g) {
                                    item.*member = r.value<V>(m, g);
                                };
                    }
                },
                s.item);
        }
        r.mapping(n[i], itf, handlers);
        out.push_back(std::move(item));
    }
    return out;
}

} // namespace

std::vector<HookConfig> read_hooks(Reader& r, const YAML::Node& n, const std::string& f) {
    return read_items<HookConfig>(r, n, f, "hooks");
}

std::vector<ProbeTarget> read_targets(Reader& r, const YAML::Node& n, const std::string& f) {
    auto out = read_items<ProbeTarget>(r, n, f, "DNS servers");
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i].address.empty())
            r.fail(n[i], fmt::format("{}[{}]", f, i), "needs an address");
        if (out[i].role.empty())
            r.fail(n[i], fmt::format("{}[{}]", f, i), "needs a role (resolver or authoritative)");
    }
    return out;
}

} // namespace mxs::yaml
