// The Alertmanager webhook endpoint (config `webhook:`, README "Alertmanager webhook"): a
// firing alert about an MX host (label `target`) fails over every domain whose primary it is,
// to the backup the health monitor names; a resolved one fails back. Only a change of an
// alert's status acts (AlertDedup).
#pragma once

#include "actions/hook_set.h"
#include "actions/webhook.h"
#include "actions/webhook_counts.h"
#include "config/options.h"
#include "health/health.h"
#include "views/http_message.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace mxs {

class AlertWebhook {
  public:
    // One delivery to kWebhookPath. 404 when the webhook is off; 405 for other methods than
    // POST; 401 without the bearer token; 400 for a body that is not Alertmanager's JSON;
    // 503 when a hook refused (busy, cooldown) or no backup is HEALTHY here: Alertmanager
    // retries, and the alert acts then; else 200. opts.hook names a configured hook
    // (validate() checks).
    HttpResponse deliver(const WebhookOptions& opts, const HttpRequest& req,
                         const HealthMonitor& health, HookSet& hooks);

    const WebhookCounts& counts() const { return counts_; }

  private:
    AlertDedup dedup_; // survives reloads: a repeated delivery stays a repeat
    WebhookCounts counts_;
};

} // namespace mxs
