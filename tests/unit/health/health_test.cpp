// Targets and domains over scripted windows: failover once, failback after the
// hold, no action on UNKNOWN, none when every target is DOWN, none to an
// unhealthy backup.
#include "../log_capture.h"
#include "health/health.h"
#include "kernel/kernel_types.h"
#include "window_evidence.h"

#include <gtest/gtest.h>
#include <map>
#include <set>
#include <spdlog/spdlog.h>
#include <sstream>
#include <string>

namespace mxs {
namespace health_test {
namespace {

using test::ev;

const std::string A = "198.18.0.10", B = "198.18.0.11", R = "198.18.0.53";

AgentOptions options() {
    AgentOptions o;
    o.domains = {{"example.test", {{"mx1.example.test", {A}}, {"mx2.example.test", {B}}}}};
    o.verdicts.window_s = 10;
    o.verdicts.rise = 2;
    o.verdicts.fall = 2;
    o.verdicts.hold_down_windows = 2;
    o.verdicts.failback_hold_s = 30; // three windows
    return o;
}

// n connections (or queries) answered in `seconds`.
WindowEvidence timed(std::uint64_t n, double seconds) {
    WindowEvidence e;
    e.attempts = n;
    e.latency = {{mxs_hist_bucket(static_cast<std::uint64_t>(seconds * 1e9)), n}};
    e.samples = n;
    e.p99_s = sparse_p99(e.latency);
    return e;
}
WindowEvidence good() {
    return timed(10, 0.01);
}
WindowEvidence dead() {
    auto e = ev(10, 0, 10);
    e.noun = "connections";
    e.causes["connections timed out"] = 10;
    return e;
}
WindowEvidence slow() {
    return timed(30, 5.0); // enough samples for a latency judgement
}
WindowEvidence refused(std::uint64_t n) {
    auto e = ev(n, n, 0);
    e.causes["connections refused"] = n;
    return e;
}
using ByTransport = std::map<std::string, WindowEvidence>;

struct Scenario {
    HealthMonitor m;
    std::vector<HookEvent> events;
    bool accept = true; // what the hooks answer
    explicit Scenario(const AgentOptions& o, std::vector<std::string> dns = {})
        : m(o, std::move(dns)) {
        m.on_event = [this](const HookEvent& e) {
            events.push_back(e);
            return accept;
        };
    }
    void windows(int n, WindowEvidence a, WindowEvidence b) {
        for (int i = 0; i < n; ++i)
            m.window({{{R, {{"udp", good()}}}}, {{A, a}, {B, b}}});
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : events)
            out.push_back(e.event + ":" + (e.target.empty() ? e.domain : e.target));
        return out;
    }
};

TEST(Health, FailoverOnceThenFailbackAfterTheHold) {
    Scenario r(options());
    r.windows(3, good(), good());
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx1.example.test");
    r.windows(6, dead(), good());
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Down);
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx2.example.test");
    ASSERT_EQ(r.names(), (std::vector<std::string>{"target_down:mx1.example.test",
                                                   "domain_failover:mx1.example.test"}));
    const auto& f = r.events[1];
    EXPECT_EQ(f.domain, "example.test");
    EXPECT_EQ(f.from, "mx1.example.test");
    EXPECT_EQ(f.to, "mx2.example.test");
    // Healthy again: target_up after rise; failback only after 30 s of health.
    r.windows(3, good(), good());
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    r.windows(3, good(), good());
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    ASSERT_EQ(r.names(), (std::vector<std::string>{
                             "target_down:mx1.example.test", "domain_failover:mx1.example.test",
                             "target_up:mx1.example.test", "domain_failback:mx1.example.test"}));
    EXPECT_EQ(r.events[3].from, "mx2.example.test");
    EXPECT_EQ(r.events[3].to, "mx1.example.test");
}

// A transition into DOWN or DEGRADED is a warning (journalctl -p warning shows it), every
// other one (a recovery, UNKNOWN) information: "LEVEL target NAME (KIND): FROM -> TO: ...".
TEST(Health, TransitionsIntoDownOrDegradedAreWarnings) {
    std::string log;
    {
        const LogCapture capture;
        Scenario r(options());
        r.windows(3, good(), good());
        r.windows(6, dead(), good());
        r.windows(3, good(), slow());
        r.windows(6, good(), good());
        log = capture.text();
    }
    std::map<std::string, std::set<std::string>> levels; // "FROM -> TO" -> levels
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        const auto at = line.find(" target ");
        const auto colon = line.find("): ");
        if (at == std::string::npos || colon == std::string::npos)
            continue;
        const auto change = line.substr(colon + 3, line.find(": ", colon + 3) - colon - 3);
        levels[change].insert(line.substr(0, at));
    }
    using Levels = std::set<std::string>;
    EXPECT_EQ(levels["UNKNOWN -> HEALTHY"], Levels{"info"}) << log;
    EXPECT_EQ(levels["HEALTHY -> DOWN"], Levels{"warning"}) << log;
    EXPECT_EQ(levels["DOWN -> HEALTHY"], Levels{"info"}) << log;
    EXPECT_EQ(levels["HEALTHY -> DEGRADED"], Levels{"warning"}) << log;
    EXPECT_EQ(levels["DEGRADED -> HEALTHY"], Levels{"info"}) << log;
}

TEST(Health, ARefusedSwitchIsTriedAgain) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.accept = false; // e.g. the hook is cooling down
    r.windows(6, dead(), good());
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    const auto tries = r.events.size();
    EXPECT_GE(tries, 3u); // target_down, then a failover attempt every window
    r.accept = true;
    r.windows(1, dead(), good());
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    r.windows(2, dead(), good());
    EXPECT_EQ(r.events.size(), tries + 1); // accepted once, then quiet
}

// An outage on this host's own path to every MX host (port 25 blocked upstream):
// the busy primary's connections time out at once, while the idle backup's
// probes take a window to come back. Its HEALTHY state is from before the fault
// and is no proof that it takes mail now: no failover until it shows health again.
TEST(Health, NoFailoverToABackupSeenHealthyOnlyBeforeThePrimaryFailed) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.windows(3, dead(), WindowEvidence{}); // the backup's probes have not come back
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Down);
    EXPECT_EQ(r.m.targets()[1].state, TargetState::Healthy);
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_NE(r.m.domains()[0].failover_held.find("mx2.example.test HEALTHY only before"),
              std::string::npos)
        << r.m.domains()[0].failover_held;
    r.windows(3, dead(), dead()); // they come back failed: the path, not the primary
    EXPECT_TRUE(r.m.blind());     // every target DOWN at once: no verdict changes, no actions
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_EQ(r.names(), (std::vector<std::string>{"target_down:mx1.example.test"}));
}

// Judged HEALTHY in the primary's first failing window is not enough either (the
// backup's probe may have run before the fault began in that window); the next
// window's health is.
TEST(Health, FailoverOnceTheBackupIsHealthyAfterThePrimaryBeganFailing) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.windows(1, dead(), good());
    r.windows(1, dead(), WindowEvidence{});
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Down);
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    r.windows(1, dead(), good());
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    EXPECT_TRUE(r.m.domains()[0].failover_held.empty());
    EXPECT_EQ(r.names(), (std::vector<std::string>{"target_down:mx1.example.test",
                                                   "domain_failover:mx1.example.test"}));
}

TEST(Health, NoFailoverToAnUnhealthyBackup) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.windows(6, dead(), slow()); // backup DEGRADED
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Down);
    EXPECT_EQ(r.m.targets()[1].state, TargetState::Degraded);
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx2.example.test"); // slow, but it takes mail
    EXPECT_EQ(r.names(), (std::vector<std::string>{"target_down:mx1.example.test"}));
}

TEST(Health, EverythingDownAtOnceIsTheSensorsNetwork) {
    Scenario r(options());
    r.windows(3, good(), good());
    for (int i = 0; i < 6; ++i)
        r.m.window({{{R, {{"udp", dead()}}}}, {{A, dead()}, {B, dead()}}});
    EXPECT_TRUE(r.m.blind());
    EXPECT_EQ(r.m.blind_windows(), 6u);
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Healthy); // no verdict changed
}

TEST(Health, NoActionOnUnknown) {
    Scenario r(options());
    for (int i = 0; i < 6; ++i)
        r.m.window({{}, {{B, good()}}}); // the primary never seen
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Unknown);
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx2.example.test");
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_TRUE(r.events.empty());
}

TEST(Health, DnsServersAreTargets) {
    Scenario r(options(), {R});
    r.windows(3, good(), good());
    ASSERT_EQ(r.m.targets().size(), 3u);
    EXPECT_EQ(r.m.targets()[2].kind, "dns");
    EXPECT_EQ(r.m.targets()[2].state, TargetState::Healthy);
}

} // namespace
} // namespace health_test
} // namespace mxs

namespace mxs {
namespace health_test {
namespace {

TEST(Health, NewTargetsKeepTheStateOfTheSameNames) {
    Scenario r(options(), {R});
    r.windows(3, good(), dead());
    ASSERT_EQ(r.m.targets()[0].state, TargetState::Healthy);
    ASSERT_EQ(r.m.targets()[1].state, TargetState::Down);
    // Discovery finds a third MX host and moves mx2 to a new address.
    std::vector<Domain> d = {{"example.test",
                              {{"mx1.example.test", {A}},
                               {"mx2.example.test", {"198.18.0.12"}},
                               {"mx3.example.test", {"198.18.0.13"}}}}};
    r.m.set_targets(d, {R});
    ASSERT_EQ(r.m.targets().size(), 4u);
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Healthy);
    EXPECT_EQ(r.m.targets()[1].state, TargetState::Down);
    EXPECT_EQ(r.m.targets()[1].addresses, std::vector<std::string>{"198.18.0.12"});
    EXPECT_EQ(r.m.targets()[2].state, TargetState::Unknown);
    EXPECT_EQ(r.m.targets()[3].kind, "dns");
    EXPECT_EQ(r.m.targets()[3].state, TargetState::Healthy);
    EXPECT_EQ(r.m.domains()[0].mx, (std::vector<std::string>{"mx1.example.test", "mx2.example.test",
                                                             "mx3.example.test"}));
    // The new address is what the evidence is read from now.
    for (int i = 0; i < 3; ++i)
        r.m.window({{{R, {{"udp", good()}}}}, {{A, good()}, {"198.18.0.12", good()}}});
    EXPECT_EQ(r.m.targets()[1].state, TargetState::Healthy);
}

TEST(Health, ARestoredFailoverFailsBackInsteadOfFailingOverAgain) {
    Scenario r(options());
    r.m.restore_failover("example.test", "mx2.example.test");
    r.windows(4, dead(), good()); // the primary is still down: nothing to do
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    EXPECT_TRUE(r.events.empty()) << r.names()[0];
    r.windows(6, good(), good());
    ASSERT_EQ(r.names(), (std::vector<std::string>{"target_up:mx1.example.test",
                                                   "domain_failback:mx1.example.test"}));
    EXPECT_EQ(r.events[1].from, "mx2.example.test");
    EXPECT_FALSE(r.m.domains()[0].failover_active);
}

TEST(Health, ADomainWithoutMxHostsYetHasNoEffectiveMx) {
    auto o = options();
    o.domains[0].mx.clear();
    o.domains[0].discover = true;
    Scenario r(o, {R});
    r.windows(3, good(), good());
    EXPECT_FALSE(r.m.domains()[0].effective_mx);
    EXPECT_TRUE(r.events.empty());
}

} // namespace
} // namespace health_test
} // namespace mxs

#include "probes/discovery.h"

namespace mxs {
namespace health_test {
namespace {

TEST(Discovery, KeepOrderWhileFailedOver) {
    // DNS now serves mx2 first (the switch) and a new mx3; the judged order stays mx1, mx2.
    std::vector<MxHost> found = {{"mx3.example.test", {"198.18.0.13"}},
                                 {"mx2.example.test", {B}},
                                 {"mx1.example.test", {A}}};
    const auto kept = keep_order(found, {"mx1.example.test", "mx2.example.test"});
    ASSERT_EQ(kept.size(), 3u);
    EXPECT_EQ(kept[0].host, "mx1.example.test");
    EXPECT_EQ(kept[1].host, "mx2.example.test");
    EXPECT_EQ(kept[2].host, "mx3.example.test");
    EXPECT_EQ(kept[0].addresses, std::vector<std::string>{A});
}

} // namespace
} // namespace health_test
} // namespace mxs

namespace mxs {
namespace health_test {
namespace {

// A DEGRADED primary still receives mail (senders move on only when a
// connection fails): it stays the effective MX and nothing fails over.
TEST(Health, ADegradedPrimaryStaysTheEffectiveMx) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.windows(4, slow(), good());
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Degraded);
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx1.example.test"); // old: mx2 (first HEALTHY)
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_TRUE(r.events.empty());
}

// The failback hold counts from when the primary stopped being DOWN: DEGRADED
// spells after the outage do not restart it (they did: 380 s without failback
// after a real outage in the soak of issue 10, every flap restarting 300 s).
TEST(Health, DegradedFlapsDoNotRestartTheFailbackHold) {
    auto o = options();
    o.verdicts.rise = 1;
    o.verdicts.fall = 1;
    o.verdicts.hold_down_windows = 0;
    o.verdicts.failback_hold_s = 50; // five windows
    Scenario r(o);
    r.windows(2, good(), good());
    r.windows(2, dead(), good());
    ASSERT_TRUE(r.m.domains()[0].failover_active);
    // Recovered, but slow every other window: HEALTHY and DEGRADED in turn (each
    // window holds enough samples to be judged alone).
    int windows = 0;
    while (r.m.domains()[0].failover_active && windows < 20) {
        r.windows(1, windows % 2 ? slow() : timed(20, 0.01), good());
        ++windows;
    }
    EXPECT_FALSE(r.m.domains()[0].failover_active) << "no failback in 20 windows";
    EXPECT_LE(windows, 6); // the hold (5 windows), then the next HEALTHY window
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Healthy);
    EXPECT_EQ(r.events.back().event, "domain_failback");
    EXPECT_NE(r.events.back().reason.find("mx1.example.test not DOWN for 50 s and HEALTHY"),
              std::string::npos)
        << r.events.back().reason;
}

// A DOWN primary starts the hold again.
TEST(Health, ADownPrimaryRestartsTheFailbackHold) {
    auto o = options();
    o.verdicts.rise = 1;
    o.verdicts.fall = 1;
    o.verdicts.hold_down_windows = 0;
    o.verdicts.failback_hold_s = 40;
    Scenario r(o);
    r.windows(2, good(), good());
    // The backup's health counts from the window after the primary's first failing one.
    r.windows(1, dead(), good());
    ASSERT_FALSE(r.m.domains()[0].failover_active);
    r.windows(1, dead(), good());
    ASSERT_TRUE(r.m.domains()[0].failover_active);
    r.windows(3, good(), good());
    r.windows(1, dead(), good());
    r.windows(3, good(), good());
    EXPECT_TRUE(r.m.domains()[0].failover_active);
    // While failed over the senders see mx2 first: it is the effective MX.
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx2.example.test");
    r.windows(1, good(), good());
    EXPECT_FALSE(r.m.domains()[0].failover_active);
    EXPECT_EQ(r.m.domains()[0].effective_mx, "mx1.example.test");
}

// A DNS server answering over UDP but refusing TCP is DEGRADED, not DOWN, and
// says so; failing on both is DOWN. Every transition carries its reason, and so
// do the hook events.
TEST(Health, OneFailingTransportIsDegradedWithItsReason) {
    auto o = options();
    Scenario r(o, {R});
    auto dns = [&](ByTransport t) {
        r.m.window({{{R, std::move(t)}}, {{A, good()}, {B, good()}}});
    };
    for (int i = 0; i < 3; ++i)
        dns({{"udp", timed(20, 0.003)}, {"tcp", timed(1, 0.004)}});
    const auto& t = r.m.targets()[2];
    ASSERT_EQ(t.state, TargetState::Healthy);
    EXPECT_EQ(t.reason, "tcp ok, p99 4.1 ms; udp ok, p99 3.0 ms");
    for (int i = 0; i < 3; ++i)
        dns({{"udp", timed(20, 0.003)}, {"tcp", refused(4)}});
    EXPECT_EQ(r.m.targets()[2].state, TargetState::Degraded); // old code: HEALTHY (UDP hides it)
    EXPECT_EQ(r.m.targets()[2].reason, "tcp: 4/4 connections refused; udp ok, p99 3.0 ms");
    EXPECT_EQ(r.m.targets()[2].transport_state.at("udp"), TargetState::Healthy);
    EXPECT_EQ(r.m.targets()[2].transport_state.at("tcp"), TargetState::Down);
    auto tr = r.m.take_transitions();
    ASSERT_FALSE(tr.empty());
    EXPECT_EQ(tr.back().to, "DEGRADED");
    EXPECT_EQ(tr.back().reason, "tcp: 4/4 connections refused; udp ok, p99 3.0 ms");
    auto lost = ev(12, 0, 12);
    lost.noun = "queries";
    lost.causes["queries unanswered (timeouts)"] = 12;
    for (int i = 0; i < 3; ++i)
        dns({{"udp", lost}, {"tcp", refused(4)}});
    EXPECT_EQ(r.m.targets()[2].state, TargetState::Down);
    EXPECT_EQ(r.m.targets()[2].reason,
              "tcp: 4/4 connections refused; udp: 12/12 queries unanswered (timeouts)");
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().event, "target_down");
    EXPECT_EQ(r.events.back().reason, r.m.targets()[2].reason);
}

TEST(Health, FailoverEventsCarryThePrimarysReason) {
    Scenario r(options());
    r.windows(3, good(), good());
    r.windows(6, refused(10), good());
    ASSERT_EQ(r.names(), (std::vector<std::string>{"target_down:mx1.example.test",
                                                   "domain_failover:mx1.example.test"}));
    EXPECT_EQ(r.events[0].reason, "smtp: 10/10 connections refused");
    EXPECT_EQ(r.events[1].reason,
              "mx1.example.test DOWN (smtp: 10/10 connections refused); mx2.example.test HEALTHY");
}

} // namespace
} // namespace health_test
} // namespace mxs

namespace mxs {
namespace health_test {
namespace {

// A TCP probe's outcome that lands just after a window's end leaves that window
// with UDP evidence only: its absence must not make the window HEALTHY (which
// restarted the streak towards DEGRADED), nor may one failure count twice.
TEST(Health, AMissingTransportDoesNotDecideAWindow) {
    auto o = options();
    o.verdicts.hold_down_windows = 0;
    Scenario r(o, {R});
    auto dns = [&](ByTransport t) {
        r.m.window({{{R, std::move(t)}}, {{A, good()}, {B, good()}}});
    };
    for (int i = 0; i < 2; ++i)
        dns({{"udp", timed(20, 0.003)}, {"tcp", timed(1, 0.004)}});
    ASSERT_EQ(r.m.targets()[2].state, TargetState::Healthy);
    dns({{"udp", timed(20, 0.003)}, {"tcp", refused(1)}});
    dns({{"udp", timed(20, 0.003)}}); // the TCP probe's outcome comes late
    dns({{"udp", timed(20, 0.003)}, {"tcp", refused(2)}});
    EXPECT_EQ(r.m.targets()[2].state, TargetState::Degraded); // old rule: HEALTHY
    EXPECT_EQ(r.m.targets()[2].reason, "tcp: 2/2 connections refused; udp ok, p99 3.0 ms");
    // One failed TCP probe among windows without TCP evidence is not two bad windows.
    Scenario q(o, {R});
    auto dns2 = [&](ByTransport t) {
        q.m.window({{{R, std::move(t)}}, {{A, good()}, {B, good()}}});
    };
    for (int i = 0; i < 2; ++i)
        dns2({{"udp", timed(20, 0.003)}, {"tcp", timed(1, 0.004)}});
    dns2({{"udp", timed(20, 0.003)}, {"tcp", refused(1)}});
    for (int i = 0; i < 3; ++i)
        dns2({{"udp", timed(20, 0.003)}});
    EXPECT_EQ(q.m.targets()[2].state, TargetState::Healthy);
}

// A reload (Agent::setup_health): the monitor is reconfigured, not rebuilt. Targets keep
// their state, streak and history; the new policy applies from the next window.
TEST(Health, AReloadKeepsStatesAndAppliesThePolicyFromTheNextWindow) {
    auto o = options();
    Scenario r(o, {R});
    r.windows(3, good(), good());
    r.windows(1, dead(), good()); // 1 of the 2 DOWN windows needed (fall: 2)
    const auto before = r.m.targets();
    o.verdicts.fall = 3;
    o.verdicts.degraded_p99_s = 9; // a changed threshold
    r.m.reconfigure(o);
    r.m.set_targets(o.domains, {R});
    ASSERT_EQ(r.m.targets().size(), before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(r.m.targets()[i].name, before[i].name);
        EXPECT_EQ(r.m.targets()[i].state, before[i].state) << before[i].name;
        EXPECT_EQ(r.m.targets()[i].transitions, before[i].transitions) << before[i].name;
    }
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Healthy);
    r.windows(1, dead(), good()); // the streak goes on: 2 of now 3
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Healthy);
    r.windows(1, dead(), good());
    EXPECT_EQ(r.m.targets()[0].state, TargetState::Down);
    r.windows(2, dead(), slow()); // 5 s p99 is no longer DEGRADED (9 s)
    EXPECT_EQ(r.m.targets()[1].state, TargetState::Healthy);
}

} // namespace
} // namespace health_test
} // namespace mxs

namespace mxs {
namespace health_test {
namespace {

// The webhook's failover (an alert from other vantage points) goes where the monitor says: the
// first HEALTHY backup after the primary, whatever the primary's own state here.
TEST(Health, FailoverBackupIsTheFirstHealthyBackup) {
    AgentOptions o = options();
    const std::string C = "198.18.0.12";
    o.domains[0].mx.push_back({"mx3.example.test", {C}});
    HealthMonitor m(o, {R});
    EXPECT_EQ(m.failover_backup("example.test"), std::nullopt); // nothing judged yet
    auto windows = [&](int n, WindowEvidence a, WindowEvidence b, WindowEvidence c) {
        for (int i = 0; i < n; ++i)
            m.window({{{R, {{"udp", good()}}}}, {{A, a}, {B, b}, {C, c}}});
    };
    windows(3, good(), dead(), good()); // primary fine here, mx2 DOWN, mx3 HEALTHY
    EXPECT_EQ(m.failover_backup("example.test"), "mx3.example.test");
    windows(6, good(), good(), good());
    EXPECT_EQ(m.failover_backup("example.test"), "mx2.example.test");
    windows(6, good(), dead(), dead());
    EXPECT_EQ(m.failover_backup("example.test"), std::nullopt);
    EXPECT_EQ(m.failover_backup("other.test"), std::nullopt);
}

} // namespace
} // namespace health_test
} // namespace mxs
