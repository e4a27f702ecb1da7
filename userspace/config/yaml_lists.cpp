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

std::vector<HookConfig> read_hooks(Reader& r, const YAML::Node& n, const std::string& f) {
    if (!n.IsSequence())
        r.fail(n, f, "expected a list of hooks");
    std::vector<HookConfig> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        HookConfig h;
        const auto hf = fmt::format("{}[{}]", f, i);
        r.record(n[i], hf);
        auto number = [&](double& dst) -> Handler {
            return [&r, &dst](const YAML::Node& m, const std::string& g) { dst = r.number(m, g); };
        };
        r.mapping(
            n[i], hf,
            {{"name", [&](const YAML::Node& m, const std::string& g) { h.name = r.str(m, g); }},
             {"events",
              [&](const YAML::Node& m, const std::string& g) { h.events = r.strings(m, g); }},
             {"argv", [&](const YAML::Node& m, const std::string& g) { h.argv = r.strings(m, g); }},
             {"timeout", number(h.timeout_s)},
             {"cooldown", number(h.cooldown_s)},
             {"retries",
              [&](const YAML::Node& m, const std::string& g) {
                  h.retries = static_cast<unsigned>(r.count(m, g));
              }},
             {"backoff", number(h.backoff_s)}});
        out.push_back(std::move(h));
    }
    return out;
}

std::vector<ProbeTarget> read_targets(Reader& r, const YAML::Node& n, const std::string& f) {
    if (!n.IsSequence())
        r.fail(n, f, "expected a list of DNS servers");
    std::vector<ProbeTarget> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        ProbeTarget t;
        const auto tf = fmt::format("{}[{}]", f, i);
        r.record(n[i], tf);
        auto text = [&](std::string& dst) -> Handler {
            return [&r, &dst](const YAML::Node& m, const std::string& g) { dst = r.str(m, g); };
        };
        r.mapping(n[i], tf,
                  {{"address", text(t.address)},
                   {"role", text(t.role)},
                   {"name", text(t.name)},
                   {"type", text(t.type)}});
        if (t.address.empty())
            r.fail(n[i], tf, "needs an address");
        if (t.role.empty())
            r.fail(n[i], tf, "needs a role (resolver or authoritative)");
        out.push_back(std::move(t));
    }
    return out;
}

} // namespace mxs::yaml
