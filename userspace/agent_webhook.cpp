// The agent's Alertmanager webhook endpoint.
#include "agent.h"

#include <algorithm>
#include <spdlog/spdlog.h>

namespace mxs {

// POST from Alertmanager: a firing alert about an MX host (label `target`)
// fails over every domain whose primary it is, to this agent's first HEALTHY
// backup; resolved fails back. Only a change of an alert's status acts.
HttpResponse Agent::webhook(const HttpRequest& req) {
    auto& ws = snapshot_.webhook;
    auto reply = [&ws](unsigned code, const std::string& result, const std::string& text) {
        ++ws.requests[result];
        return HttpResponse{code, "text/plain; charset=utf-8", text + "\n",
                            code == 405 ? "POST" : ""};
    };
    if (!opts_.webhook.enabled)
        return {404, "text/plain; charset=utf-8", "not found\n", {}};
    if (req.method != "POST")
        return reply(405, "bad_request", "POST only");
    if (!bearer_matches(req.authorization, opts_.webhook.token)) {
        spdlog::warn("webhook: delivery refused: missing or wrong bearer token");
        return reply(401, "unauthorized", "unauthorized");
    }
    auto notices = parse_alertmanager(req.body);
    if (!notices) {
        spdlog::warn("webhook: {}", notices.error());
        return reply(400, "bad_request", notices.error());
    }
    auto& runner = *hooks_.at(opts_.webhook.hook); // a configured hook (options.cpp checks)
    bool refused = false;
    for (const auto& n : *notices) {
        const char* status = n.firing ? "firing" : "resolved";
        auto count = [&](const char* result) { ++ws.alerts[{status, result}]; };
        if (!alerts_.is_new(n)) {
            count("duplicate");
            continue;
        }
        bool acted = false, ok = true;
        for (const auto& d : health_->domains()) {
            if (d.mx.empty() || d.mx.front() != n.target)
                continue;
            HookEvent ev{n.firing ? "domain_failover" : "domain_failback",
                         d.name,
                         n.target,
                         "",
                         "",
                         n.firing ? "DOWN" : "HEALTHY",
                         fmt::format("alert {} {}", n.alertname, status)};
            if (n.firing) {
                ev.from = n.target;
                for (std::size_t i = 1; i < d.mx.size() && ev.to.empty(); ++i)
                    for (const auto& t : health_->targets())
                        if (t.kind == "mx" && t.name == d.mx[i] && t.state == TargetState::Healthy)
                            ev.to = t.name;
                if (ev.to.empty()) {
                    spdlog::warn("webhook: {} firing for {}: no HEALTHY backup MX of {} here; "
                                 "no failover",
                                 n.alertname, n.target, d.name);
                    ok = false;
                    continue;
                }
            } else {
                ev.from = d.failed_over_to;
                ev.to = n.target;
            }
            spdlog::info("webhook: {} {} for {}: {} of {} to {}", n.alertname, status, n.target,
                         ev.event, d.name, ev.to);
            acted = true;
            ok = runner.fire(ev) && ok;
        }
        if (!ok) {
            refused = true; // not recorded: Alertmanager's retry acts again
            count("refused");
        } else {
            alerts_.record(n);
            count(acted ? "acted" : "ignored");
        }
    }
    if (refused)
        return reply(503, "refused", "not all alerts could be acted on now; retry");
    return reply(200, "ok", "ok");
}

} // namespace mxs
