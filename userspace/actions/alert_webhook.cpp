#include "actions/alert_webhook.h"

#include <spdlog/spdlog.h>

namespace mxs {

HttpResponse AlertWebhook::deliver(const WebhookOptions& opts, const HttpRequest& req,
                                   const HealthMonitor& health, HookSet& hooks) {
    auto& ws = counts_;
    auto reply = [&ws](unsigned code, const std::string& result, const std::string& text) {
        ++ws.requests[result];
        return HttpResponse{code, "text/plain; charset=utf-8", text + "\n",
                            code == 405 ? "POST" : ""};
    };
    if (!opts.enabled)
        return {404, "text/plain; charset=utf-8", "not found\n", {}};
    if (req.method != "POST")
        return reply(405, "bad_request", "POST only");
    if (!bearer_matches(req.authorization, opts.token)) {
        spdlog::warn("webhook: delivery refused: missing or wrong bearer token");
        return reply(401, "unauthorized", "unauthorized");
    }
    auto notices = parse_alertmanager(req.body);
    if (!notices) {
        spdlog::warn("webhook: {}", notices.error());
        return reply(400, "bad_request", notices.error());
    }
    bool refused = false;
    for (const auto& n : *notices) {
        const char* status = n.firing ? "firing" : "resolved";
        auto count = [&](const char* result) { ++ws.alerts[{status, result}]; };
        if (!dedup_.is_new(n)) {
            count("duplicate");
            continue;
        }
        bool acted = false, ok = true;
        for (const auto& d : health.domains()) {
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
                ev.to = health.failover_backup(d.name).value_or("");
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
            ok = hooks.fire(opts.hook, ev) && ok;
        }
        if (!ok) {
            refused = true; // not recorded: Alertmanager's retry acts again
            count("refused");
        } else {
            dedup_.record(n);
            count(acted ? "acted" : "ignored");
        }
    }
    if (refused)
        return reply(503, "refused", "not all alerts could be acted on now; retry");
    return reply(200, "ok", "ok");
}

} // namespace mxs
