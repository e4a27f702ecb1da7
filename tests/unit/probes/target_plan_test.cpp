// The judged targets: configured domains with what discovery found, the name servers found for
// authoritative domains, and a failed-over domain's MX hosts in their order before the switch.
#include "probes/target_plan.h"

#include <gtest/gtest.h>

namespace mxs {
namespace {

MxHost host(const std::string& name, const std::string& addr) {
    return {name, {addr}};
}

std::vector<std::string> names(const std::vector<MxHost>& mx) {
    std::vector<std::string> out;
    for (const auto& m : mx)
        out.push_back(m.host);
    return out;
}

TEST(TargetPlan, DiscoveredHostsAndNameServers) {
    Domain found{"example.test", {}, true, true};
    Domain listed{"other.test", {host("mx.other.test", "198.18.1.25")}, false, false};
    std::map<std::string, DiscoveredDomain> discovered;
    discovered["example.test"].mx = {host("mx1.example.test", "198.18.0.25"),
                                     host("mx2.example.test", "198.18.0.26")};
    discovered["example.test"].auth_servers = {"198.18.0.53", "198.18.0.54"};
    discovered["other.test"].auth_servers = {"198.18.0.54", "198.18.1.53"};
    const auto p = plan_targets({found, listed}, {"198.18.0.53"}, discovered, {}, {});
    ASSERT_EQ(p.domains.size(), 2u);
    EXPECT_EQ(names(p.domains[0].mx),
              (std::vector<std::string>{"mx1.example.test", "mx2.example.test"}));
    EXPECT_EQ(names(p.domains[1].mx), (std::vector<std::string>{"mx.other.test"})); // as listed
    // The configured server first, then each name server found once.
    EXPECT_EQ(p.dns, (std::vector<std::string>{"198.18.0.53", "198.18.0.54", "198.18.1.53"}));
    // Only the authoritative domain's name servers are judged as its zone's.
    EXPECT_EQ(p.zones, (std::map<std::string, std::vector<std::string>>{
                           {"198.18.0.53", {"example.test"}}, {"198.18.0.54", {"example.test"}}}));
    EXPECT_EQ(p.mx_addresses,
              (std::vector<std::string>{"198.18.0.25", "198.18.0.26", "198.18.1.25"}));
}

// Failed over, DNS serves the backup first: the hosts keep the order the monitor holds, or
// after a restart the order the state file kept; a new host goes last.
TEST(TargetPlan, AFailedOverDomainKeepsItsOrder) {
    Domain d{"example.test", {}, true, false};
    std::map<std::string, DiscoveredDomain> discovered;
    discovered["example.test"].mx = {host("mx3.example.test", "198.18.0.27"),
                                     host("mx2.example.test", "198.18.0.26"),
                                     host("mx1.example.test", "198.18.0.25")};
    DomainStatus st;
    st.name = "example.test";
    st.failover_active = true;
    st.mx = {"mx1.example.test", "mx2.example.test"};
    auto p = plan_targets({d}, {}, discovered, {st}, {});
    EXPECT_EQ(
        names(p.domains[0].mx),
        (std::vector<std::string>{"mx1.example.test", "mx2.example.test", "mx3.example.test"}));
    // After a restart: the monitor knows no order yet, the state file does.
    st.mx.clear();
    std::map<std::string, FailoverStore::FailedOver> kept;
    kept["example.test"] = {"mx2.example.test", {"mx2.example.test", "mx1.example.test"}};
    p = plan_targets({d}, {}, discovered, {st}, kept);
    EXPECT_EQ(
        names(p.domains[0].mx),
        (std::vector<std::string>{"mx2.example.test", "mx1.example.test", "mx3.example.test"}));
    // Not failed over: the order DNS serves.
    st.failover_active = false;
    p = plan_targets({d}, {}, discovered, {st}, kept);
    EXPECT_EQ(
        names(p.domains[0].mx),
        (std::vector<std::string>{"mx3.example.test", "mx2.example.test", "mx1.example.test"}));
}

} // namespace
} // namespace mxs
