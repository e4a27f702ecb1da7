// What the Alertmanager webhook did, for the views (mxsense_webhook_*): a plain struct, so
// views/snapshot.h need not include the webhook itself.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace mxs {

// Deliveries by result (ok, refused, bad_request, unauthorized), and alerts by (status,
// result) (acted, ignored, duplicate, refused): mxsense_webhook_* (views/metrics.cpp).
struct WebhookCounts {
    std::map<std::string, std::uint64_t> requests;
    std::map<std::pair<std::string, std::string>, std::uint64_t> alerts;
};

} // namespace mxs
