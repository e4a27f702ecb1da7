// The hook set: hooks found by name, an event run by the hooks subscribed to it only, a reload
// that keeps a hook's runner (its cooldown) by name and drops a removed one.
#include "actions/hook_set.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace mxs {
namespace {

HookConfig hook(const std::string& name, std::vector<std::string> events) {
    HookConfig h;
    h.name = name;
    h.events = std::move(events);
    h.argv = {"/bin/true"};
    h.timeout_s = 5;
    h.cooldown_s = 60;
    h.retries = 0;
    return h;
}

HookEvent event(const std::string& name) {
    return {name,   "example.test", "mx1.example.test", "mx1.example.test", "mx2.example.test",
            "DOWN", "test"};
}

struct Runs {
    boost::asio::io_context io;
    HookSet set{io};
    std::vector<std::string> runs; // "hook:event:result"
    Runs() {
        set.on_run = [this](const HookRun& r) {
            runs.push_back(r.hook + ":" + r.event + ":" + r.result);
        };
    }
    void drain() {
        io.run();
        io.restart();
    }
};

TEST(HookSet, AnEventRunsTheHooksSubscribedToIt) {
    Runs r;
    r.set.apply({hook("dns", {"domain_failover", "domain_failback"}), hook("page", {"target_down"}),
                 hook("both", {"target_down", "domain_failover"})});
    EXPECT_TRUE(r.set.dispatch(event("domain_failover")));
    r.drain();
    std::sort(r.runs.begin(), r.runs.end());
    EXPECT_EQ(r.runs, (std::vector<std::string>{"both:domain_failover:success",
                                                "dns:domain_failover:success"}));
}

TEST(HookSet, FireFindsAHookByNameWhateverItSubscribesTo) {
    Runs r;
    r.set.apply({hook("switch", {}), hook("page", {"target_down"})});
    EXPECT_TRUE(r.set.fire("switch", event("domain_failover")));
    EXPECT_FALSE(r.set.fire("missing", event("domain_failover")));
    r.drain();
    EXPECT_EQ(r.runs, (std::vector<std::string>{"switch:domain_failover:success"}));
    // In its cooldown now: refused, and the refusal is reported.
    EXPECT_FALSE(r.set.fire("switch", event("domain_failover")));
    EXPECT_EQ(r.runs.back(), "switch:domain_failover:cooldown");
}

TEST(HookSet, AReloadKeepsAHookByNameAndDropsARemovedOne) {
    Runs r;
    r.set.apply({hook("switch", {"domain_failover"}), hook("page", {"domain_failover"})});
    EXPECT_TRUE(r.set.dispatch(event("domain_failover")));
    r.drain();
    // Reordered and with "page" gone: "switch" keeps its runner, so its cooldown holds.
    r.set.apply({hook("other", {"domain_failover"}), hook("switch", {"domain_failover"})});
    EXPECT_FALSE(r.set.fire("page", event("domain_failover")));
    r.runs.clear();
    EXPECT_FALSE(r.set.dispatch(event("domain_failover"))); // switch refused (cooldown)
    r.drain();
    std::sort(r.runs.begin(), r.runs.end());
    EXPECT_EQ(r.runs, (std::vector<std::string>{"other:domain_failover:success",
                                                "switch:domain_failover:cooldown"}));
}

} // namespace
} // namespace mxs
