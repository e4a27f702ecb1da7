#include "views/status.h"

#include <ctime>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mxs {
namespace {

TEST(Status, JsonAndTable) {
    HealthSnapshot h;
    TargetStatus t;
    t.name = "mx1.example.test";
    t.kind = "mx";
    t.state = TargetState::Down;
    t.last.attempts = 10;
    t.last.errors = 2;
    t.last.timeouts = 8;
    t.last.p99_s = 0.25;
    t.last_from = "HEALTHY";
    t.last_to = "DOWN";
    t.last_change_unix = 1700000000;
    t.addresses = {"198.18.0.10", "fd00::10"};
    t.reason = "smtp: 8/10 connections timed out, 2/10 connections refused";
    h.targets.push_back(t);
    h.recent_transitions.push_back(
        {1700000000, "mx1.example.test", "mx", "HEALTHY", "DOWN", t.reason});
    h.domains.push_back({"example.test",
                         std::string("mx2.example.test"),
                         true,
                         "mx2.example.test",
                         {"mx1.example.test", "mx2.example.test"},
                         {}});
    const auto json = status_json(h);
    const auto j = nlohmann::json::parse(json);
    EXPECT_EQ(j["targets"][0]["state"], "DOWN");
    EXPECT_EQ(j["targets"][0]["window"]["timeouts"], 8);
    EXPECT_EQ(j["targets"][0]["last_transition"]["from"], "HEALTHY");
    EXPECT_EQ(j["domains"][0]["effective_mx"], "mx2.example.test");
    EXPECT_EQ(j["sensor_blind"], false);
    EXPECT_EQ(j["targets"][0]["reason"], t.reason);
    EXPECT_EQ(j["recent_transitions"][0]["reason"], t.reason);
    const auto r = status_table(json);
    ASSERT_TRUE(r) << r.error();
    const auto& table = *r;
    EXPECT_NE(table.find("mx1.example.test             mx   DOWN"), std::string::npos) << table;
    EXPECT_NE(table.find("250.0ms  198.18.0.10 fd00::10"), std::string::npos) << table;
    EXPECT_EQ(j["targets"][0]["addresses"][1], "fd00::10");
    EXPECT_EQ(j["domains"][0]["mx"][0], "mx1.example.test");
    EXPECT_NE(table.find("mx2.example.test             yes"), std::string::npos) << table;
    EXPECT_NE(table.find("  " + t.reason + "\n"), std::string::npos) << table;
    const auto bad = status_table("{\"targets\": 3}");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().rfind("unexpected status document: ", 0), 0u) << bad.error();
}

// The audit in the status document and the table: every finding in the JSON, the ones not ok in
// the table as `mxsense audit` prints them, server text made printable.
TEST(Status, Audit) {
    AuditSnapshot a;
    a.enabled = true;
    a.runs = 2;
    a.last_run_s = static_cast<double>(std::time(nullptr)) - 30;
    a.duration_s = 1.5;
    a.reports.push_back({"example.test",
                         {{"mx_present", "example.test", AuditStatus::ok, "2 MX records"},
                          {"smtp_accepts_domain", "mx2.example.test", AuditStatus::critical,
                           "RCPT TO:<postmaster@example.test>: 554 \x1b[31mno\xff\r\nrelay"}},
                         {},
                         {},
                         {}});
    const auto json = status_json(HealthSnapshot{}, a);
    const auto j = nlohmann::json::parse(json);
    ASSERT_EQ(j["audit"]["reports"][0]["checks"].size(), 2u);
    EXPECT_EQ(j["audit"]["reports"][0]["domain"], "example.test");
    EXPECT_EQ(j["audit"]["reports"][0]["checks"][1]["status"], "critical");
    EXPECT_EQ(j["audit"]["runs"], 2);
    const auto r = status_table(json);
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r->find("\nAUDIT critical: 2 finding(s), 1 not ok, 30 s ago\n"), std::string::npos)
        << *r;
    EXPECT_NE(r->find("CRITICAL smtp_accepts_domain mx2.example.test: RCPT TO:<postmaster@"
                      "example.test>: 554 \\x1b[31mno"),
              std::string::npos)
        << *r;
    EXPECT_EQ(r->find("mx_present"), std::string::npos) << *r;
    EXPECT_EQ(r->find('\x1b'), std::string::npos) << *r;

    AuditSnapshot off;
    EXPECT_NE(status_table(status_json(HealthSnapshot{}, off))->find("\nAUDIT off"),
              std::string::npos);
    auto bad = j;
    bad["audit"]["reports"][0]["checks"][0]["status"] = "fine";
    const auto refused = status_table(bad.dump());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("audit status \"fine\""), std::string::npos) << refused.error();
}

} // namespace
} // namespace mxs
