// The Alertmanager webhook's pieces: payload, token, repeats.
#include "actions/webhook.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

const char kPayload[] = R"({"version":"4","groupKey":"{}:{alertname=\"MxsenseMxHostDownQuorum\"}",
  "status":"firing","receiver":"switchover",
  "alerts":[
    {"status":"firing","labels":{"alertname":"MxsenseMxHostDownQuorum","target":"mx1.example.test"},
     "annotations":{},"startsAt":"2026-11-27T04:00:00Z","fingerprint":"a1"},
    {"status":"resolved","labels":{"alertname":"MxsenseMxHostDownQuorum","target":"mx3.example.test"},
     "annotations":{},"startsAt":"2026-11-27T03:00:00Z","fingerprint":"a3"},
    {"status":"firing","labels":{"alertname":"MxsenseAgentDown","instance":"h1:10053"}}]})";

TEST(Webhook, ParsesAlertmanagerPayload) {
    auto n = parse_alertmanager(kPayload);
    ASSERT_TRUE(n) << n.error();
    ASSERT_EQ(n->size(), 2u); // the alert without a target label is skipped
    EXPECT_EQ((*n)[0].alertname, "MxsenseMxHostDownQuorum");
    EXPECT_EQ((*n)[0].target, "mx1.example.test");
    EXPECT_TRUE((*n)[0].firing);
    EXPECT_FALSE((*n)[1].firing);
    EXPECT_FALSE(parse_alertmanager("{\"alerts\": 5}"));
    EXPECT_FALSE(parse_alertmanager("not json"));
    // The sender reads what is wrong, not the JSON library's exception names.
    EXPECT_EQ(parse_alertmanager("{}").error(),
              "not an Alertmanager notification: key 'alerts' not found");
    EXPECT_FALSE(parse_alertmanager(R"({"alerts":[{"status":"pending","labels":{}}]})"));
}

TEST(Webhook, BearerToken) {
    const std::string token = "0123456789abcdef0123";
    EXPECT_TRUE(bearer_matches("Bearer " + token, token));
    EXPECT_FALSE(bearer_matches("Bearer " + token + "x", token));
    EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef0124", token));
    EXPECT_FALSE(bearer_matches("", token));
    EXPECT_FALSE(bearer_matches("Bearer ", ""));
    // The scheme in any case (RFC 7235 §2.1), then 1*SP (§2.1's credentials).
    EXPECT_TRUE(bearer_matches("bearer " + token, token));
    EXPECT_TRUE(bearer_matches("BEARER " + token, token));
    EXPECT_TRUE(bearer_matches("bEaReR   " + token, token));
    EXPECT_FALSE(bearer_matches("Bearer", token));
    EXPECT_FALSE(bearer_matches("Bearer" + token, token));
    EXPECT_FALSE(bearer_matches("Bearer\t" + token, token));
    EXPECT_FALSE(bearer_matches("Bearerx " + token, token));
    EXPECT_FALSE(bearer_matches("Basic " + token, token));
    EXPECT_FALSE(bearer_matches("Bearer " + token.substr(1), token));
    EXPECT_FALSE(bearer_matches("Bearer  ", token));
}

TEST(Webhook, OnlyAStatusChangeIsNew) {
    AlertDedup d;
    const AlertNotice fire{"Q", "mx1", true}, resolve{"Q", "mx1", false};
    EXPECT_FALSE(d.is_new(resolve)); // resolved before anything fired: nothing to undo
    EXPECT_TRUE(d.is_new(fire));
    d.record(fire);
    EXPECT_FALSE(d.is_new(fire)); // Alertmanager's repeat or duplicate delivery
    EXPECT_TRUE(d.is_new(resolve));
    d.record(resolve);
    EXPECT_FALSE(d.is_new(resolve));
    EXPECT_TRUE(d.is_new({"Q", "mx2", true})); // another target is another alert
}

} // namespace
} // namespace mxs
