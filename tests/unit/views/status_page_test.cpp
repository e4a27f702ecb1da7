// The status page: names escaped, states and reasons shown, the blind sensor said.
#include "views/status_page.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

TEST(StatusPage, EscapesNamesAndShowsState) {
    Snapshot s;
    TargetStatus t;
    t.name = "<script>alert(1)</script>";
    t.kind = "mx";
    t.state = TargetState::Down;
    t.last.attempts = 4;
    t.last.errors = 1;
    t.last.timeouts = 3;
    t.last_from = "HEALTHY";
    t.last_to = "DOWN";
    t.last_change_unix = 1700000000;
    t.addresses = {"198.18.0.10"};
    t.reason = "smtp: 3/4 connections timed out, 1/4 <refused>";
    s.health.targets.push_back(t);
    s.health.domains.push_back({"example.test", std::nullopt, false, "", {t.name}, {}});
    s.health.blind = true;
    const auto html = status_html(s, 5);
    EXPECT_EQ(html.find("<script>"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"state DOWN\">DOWN</td>"), std::string::npos);
    EXPECT_NE(html.find("none (every MX host DOWN or UNKNOWN)"), std::string::npos);
    EXPECT_NE(
        html.find("<td class=\"reason\">smtp: 3/4 connections timed out, 1/4 &lt;refused&gt;</td>"),
        std::string::npos)
        << html;
    EXPECT_NE(html.find("SENSOR BLIND"), std::string::npos);
    EXPECT_NE(html.find("http-equiv=\"refresh\" content=\"5\""), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos); // no external assets
}

// An audit detail quotes a server: HTML-escaped, and no control that reorders the page (a
// right-to-left override) or a raw C1 byte.
TEST(StatusPage, AuditDetailsAreEscaped) {
    Snapshot s;
    s.audit.enabled = true;
    s.audit.runs = 1;
    s.audit.reports.push_back({"example.test",
                               {{"smtp_accepts_domain", "mx2.example.test", AuditStatus::critical,
                                 "554 <b>no</b> \xe2\x80\xae"
                                 "lanif\xc2\x9b\x9b"}},
                               {},
                               {},
                               {}});
    const auto html = status_html(s, 5);
    EXPECT_NE(html.find("554 &lt;b&gt;no&lt;/b&gt; \\u202elanif\\u009b\\x9b"), std::string::npos)
        << html;
    EXPECT_EQ(html.find("\xe2\x80\xae"), std::string::npos);
}

} // namespace
} // namespace mxs
