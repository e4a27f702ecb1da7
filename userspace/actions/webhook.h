// The Alertmanager webhook (off by default): a quorum alert across agents, not
// this agent's own verdict, runs the configured switchover hook. Deliveries
// need the bearer token; Alertmanager repeats and duplicates notifications, so
// only a change of an alert's status acts.
#pragma once

#include "base/result.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mxs {

inline constexpr const char* kWebhookPath = "/api/v1/alertmanager";

struct AlertNotice {
    std::string alertname;
    std::string target; // the `target` label: the MX host the alert is about
    bool firing = false;
};

// Alertmanager's webhook JSON (version 4): one notice per alert; alerts
// without a `target` label are skipped.
Result<std::vector<AlertNotice>> parse_alertmanager(const std::string& body);

// An Authorization value "Bearer TOKEN" (RFC 6750 §2.1) against the token: the scheme in
// any case (RFC 7235 §2.1), one or more spaces, then the token, compared in time independent
// of where (and whether) they differ. False for an empty token.
bool bearer_matches(const std::string& authorization, const std::string& token);

// The last status acted on per (alertname, target).
class AlertDedup {
  public:
    bool is_new(const AlertNotice& n) const {
        const auto it = last_.find({n.alertname, n.target});
        return it == last_.end() ? n.firing : it->second != n.firing;
    }
    void record(const AlertNotice& n) { last_[{n.alertname, n.target}] = n.firing; }

  private:
    std::map<std::pair<std::string, std::string>, bool> last_;
};

} // namespace mxs
