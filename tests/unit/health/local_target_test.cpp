// Targets the sensor cannot observe (loopback, this host's own addresses), the
// resolvers judged by default, and a resolver's SERVFAIL for a broken domain
// (adversarial review of issue 10: A, B, C).
#include "base/local_addr.h"
#include "config/config.h"
#include "config/validate.h"
#include "health/evidence.h"
#include "health/health.h"
#include "probes/probe_plan.h"
#include "views/status.h"
#include "window_evidence.h"

#include <arpa/nameser.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace mxs {
namespace local_target_test {
namespace {

const std::string Self = "198.18.0.1", B = "198.18.0.11", R = "198.18.0.53";

TEST(LocalAddr, CanonicalTextAndLoopback) {
    EXPECT_EQ(canonical_address("2001:DB8:0::A"), "2001:db8::a");
    EXPECT_EQ(canonical_address("::ffff:198.18.0.1"), "198.18.0.1");
    EXPECT_EQ(canonical_address("fe80::1%eth0"), "fe80::1");
    EXPECT_EQ(canonical_address("198.18.0.1"), "198.18.0.1");
    EXPECT_FALSE(canonical_address("ns1.example.test"));
    for (const char* a : {"127.0.0.1", "127.0.0.53", "127.255.0.9", "::1"})
        EXPECT_TRUE(is_loopback_address(a)) << a;
    for (const char* a : {"128.0.0.1", "198.18.0.1", "::2", "fd00::1"})
        EXPECT_FALSE(is_loopback_address(a)) << a;
    EXPECT_TRUE(host_addresses().count("127.0.0.1")); // lo is up in every namespace we run in
    EXPECT_EQ(unobservable_reason("127.0.0.1", {}, "eth0"),
              "loopback address: its traffic does not cross eth0, not judged");
    EXPECT_EQ(unobservable_reason(Self, {Self}, "eth0, eth1"),
              "local address (this host's own): its traffic does not cross eth0, eth1, not judged");
    EXPECT_EQ(unobservable_reason(B, {Self}, "eth0"), "");
}

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/mxs-local-XXXXXX";
        path = mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name, const std::string& text) const {
        const auto p = path + "/" + name;
        std::ofstream(p) << text;
        return p;
    }
};

TEST(LocalAddr, ResolvedStubIsReplacedByItsUpstreamsOtherLocalServersLeftOut) {
    TempDir d;
    // systemd-resolved: the stub in resolv.conf, the upstreams in its own file.
    auto stub = d.file("stub.conf", "# managed\nnameserver 127.0.0.53\noptions edns0 trust-ad\n");
    auto upstream = d.file("resolved.conf", "nameserver 198.18.0.53\nnameserver FD00::53\n");
    auto r = default_resolvers(stub, upstream, {Self}, "eth0");
    EXPECT_EQ(r.judged, (std::vector<std::string>{R, "fd00::53"}));
    EXPECT_EQ(r.lookup, (std::vector<std::string>{"127.0.0.53"}));
    EXPECT_EQ(r.replaced, stub +
                              ": nameserver 127.0.0.53 is systemd-resolved's stub on this "
                              "host; judging the servers it forwards to instead (" +
                              upstream + "): 198.18.0.53, fd00::53");
    EXPECT_EQ(r.left_out, "");
    // Without resolved's file the stub is left out with one line, like any local resolver.
    r = default_resolvers(stub, d.path + "/missing", {Self}, "eth0");
    EXPECT_TRUE(r.judged.empty());
    EXPECT_EQ(r.left_out, stub + ": nameserver 127.0.0.53 is on this host: its traffic does not "
                                 "cross eth0, so it is not judged (list the servers it forwards "
                                 "to in dns_servers to judge them)");
    // 127.0.0.1 (unbound, dnsmasq), ::1 and the host's own address: left out; the rest judged.
    auto mixed = d.file("mixed.conf", "nameserver 127.0.0.1\nnameserver ::1\nnameserver " + Self +
                                          "\nnameserver 198.18.0.54\n");
    r = default_resolvers(mixed, upstream, {Self}, "eth0");
    EXPECT_EQ(r.judged, (std::vector<std::string>{"198.18.0.54"}));
    EXPECT_EQ(r.lookup, (std::vector<std::string>{"127.0.0.1", "::1", Self, "198.18.0.54"}));
    EXPECT_EQ(r.replaced, "");
    EXPECT_NE(r.left_out.find("nameserver 127.0.0.1, ::1, 198.18.0.1 is on this host"),
              std::string::npos)
        << r.left_out;
}

AgentOptions two_mx() {
    AgentOptions o;
    o.domains = {{"example.test", {{"mx1.example.test", {Self}}, {"mx2.example.test", {B}}}}};
    o.verdicts.rise = 2;
    o.verdicts.fall = 2;
    o.verdicts.hold_down_windows = 0;
    return o;
}

WindowEvidence refused(std::uint64_t n) {
    auto e = test::ev(n, n, 0);
    e.noun = "connections";
    e.causes["connections refused"] = n;
    return e;
}

// The host is its own primary MX (and its own DNS server): not judged, never DOWN,
// no hook event; the effective MX rule is unchanged (a host neither DOWN nor UNKNOWN).
TEST(LocalTarget, AnOwnAddressIsNotJudgedAndNeverDown) {
    auto o = two_mx();
    HealthMonitor m(o, {Self, "127.0.0.1"});
    std::vector<HookEvent> events;
    m.on_event = [&](const HookEvent& e) {
        events.push_back(e);
        return true;
    };
    const auto own = unobservable_reason(Self, {Self}, "eth0");
    const auto lo = unobservable_reason("127.0.0.1", {Self}, "eth0");
    m.set_unobservable({{Self, own}, {"127.0.0.1", lo}});
    // Even failures booked against the address (they cannot be: its traffic uses lo)
    // make no verdict.
    for (int i = 0; i < 8; ++i)
        m.window({{{Self, {{"udp", refused(3)}}}, {"127.0.0.1", {{"tcp", refused(1)}}}},
                  {{Self, refused(5)}, {B, test::ev(10, 0, 0)}}});
    const auto& t = m.targets();
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[0].name, "mx1.example.test");
    for (std::size_t i : {0u, 2u, 3u}) {
        EXPECT_EQ(t[i].state, TargetState::Unknown) << t[i].name;
        EXPECT_EQ(t[i].reason, i == 3 ? lo : own) << t[i].name;
        EXPECT_EQ(t[i].window_reason, t[i].reason);
        EXPECT_EQ(t[i].not_judged, t[i].reason);
        EXPECT_EQ(t[i].last.attempts, 0u);
    }
    EXPECT_EQ(t[1].state, TargetState::Healthy);
    EXPECT_TRUE(events.empty());
    EXPECT_FALSE(m.domains()[0].failover_active);
    EXPECT_EQ(m.domains()[0].effective_mx, "mx2.example.test"); // as for any UNKNOWN primary
    // The views say so.
    HealthSnapshot h;
    h.targets = m.targets();
    const auto j = nlohmann::json::parse(status_json(h));
    EXPECT_EQ(j["targets"][0]["judged"], false);
    EXPECT_EQ(j["targets"][0]["reason"], own);
    EXPECT_EQ(j["targets"][1]["judged"], true);
    const auto table = status_table(status_json(h));
    ASSERT_TRUE(table) << table.error();
    EXPECT_NE(table->find(own), std::string::npos);
    // The address is no longer the host's (moved away): judged again.
    m.set_unobservable({});
    EXPECT_EQ(m.targets()[0].reason, "no evidence yet");
    for (int i = 0; i < 2; ++i)
        m.window({{}, {{Self, test::ev(4, 0, 0)}, {B, test::ev(4, 0, 0)}}});
    EXPECT_EQ(m.targets()[0].state, TargetState::Healthy);
}

WindowEvidence servfails(std::uint64_t answered, std::uint64_t servfail) {
    auto e = test::ev(answered + servfail, servfail, 0);
    e.noun = "queries";
    if (servfail)
        e.causes["queries answered SERVFAIL"] = servfail;
    return e;
}

TEST(ServfailExcuse, TakesBackOnlyWhatTheWindowHolds) {
    auto e = servfails(1, 1); // the check's answer and the domain's SERVFAIL
    EXPECT_EQ(excuse_servfail(e, 1), 1u);
    EXPECT_EQ(e.attempts, 1u);
    EXPECT_EQ(e.errors, 0u);
    EXPECT_TRUE(e.causes.empty());
    EXPECT_EQ(judge(e, Thresholds{}), TargetState::Healthy);
    auto f = servfails(2, 1); // the excuse of a SERVFAIL judged in an earlier window
    EXPECT_EQ(excuse_servfail(f, 3), 1u);
    EXPECT_EQ(f.attempts, 2u);
    auto g = test::ev(3, 1, 2); // REFUSED and timeouts are never taken back
    g.causes = {{"queries answered REFUSED", 1}, {"queries unanswered (timeouts)", 2}};
    EXPECT_EQ(excuse_servfail(g, 2), 0u);
    EXPECT_EQ(g.errors + g.timeouts, 3u);
}

TEST(ServfailExcuse, TheCheckIsAQuestionTheResolverMustAnswer) {
    const DnsQuestion broken{"broken.test", ns_t_mx, true, false};
    const DnsQuestion good{"example.test", ns_t_mx, true, false};
    const DnsQuestion other{"example.org", ns_t_mx, true, false};
    const DnsQuestion root{".", ns_t_ns, true, false};
    const DnsQuestion zone{"example.test", ns_t_soa, false, true};
    // The only question, or none other asked yet: the root's NS.
    EXPECT_EQ(servfail_check(broken, {}), root);
    // Another domain answered at its latest turn: that question again.
    EXPECT_EQ(servfail_check(broken, {{good, false}}), good);
    EXPECT_EQ(servfail_check(broken, {{good, true}, {other, false}}), other);
    // Every other domain failed too: the resolver lost its upstream (its cache may
    // still answer `. NS`), not one domain its name servers - the SERVFAIL counts.
    EXPECT_FALSE(servfail_check(broken, {{good, true}}));
    EXPECT_FALSE(servfail_check(broken, {{good, true}, {other, true}}));
    EXPECT_FALSE(servfail_check(root, {})); // SERVFAIL for the root's NS is the resolver's
    EXPECT_FALSE(servfail_check(zone, {})); // an authoritative server's own zone
}

TEST(ConfigWarnings, SharedAddressesAndOverridesOfNoTarget) {
    auto c = parse_config(R"(dns_servers: [198.18.0.53]
domains:
  - name: example.test
    mx:
      - {host: mx1.example.test, addresses: [198.18.0.10]}
      - {host: mx2.example.test, addresses: [198.18.0.10, 198.18.0.11]}
probes:
  targets:
    - {address: 198.18.0.53, role: resolver}
    - {address: 198.18.0.99, role: resolver}
)",
                          "w.yaml");
    ASSERT_TRUE(c) << c.error();
    std::vector<std::string> texts; // without origins: "KEY.PATH: reason"
    for (const auto& w : config_warnings(*c))
        texts.push_back(w.text());
    EXPECT_EQ(texts,
              (std::vector<std::string>{
                  "domains[0].mx[1].addresses[0]: MX hosts mx1.example.test and mx2.example.test "
                  "of example.test share the address 198.18.0.10: they are judged alike, and a "
                  "failover between them cannot help",
                  "probes.targets[1].address: 198.18.0.99: not a judged DNS server (not in "
                  "dns_servers, and no domain is authoritative): the entry has no effect"}));
    // An authoritative domain's name servers come from DNS: only the agent can tell.
    c->domains[0].authoritative = true;
    EXPECT_EQ(config_warnings(*c).size(), 1u);
}

} // namespace
} // namespace local_target_test
} // namespace mxs
