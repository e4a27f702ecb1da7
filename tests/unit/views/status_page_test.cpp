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

} // namespace
} // namespace mxs
