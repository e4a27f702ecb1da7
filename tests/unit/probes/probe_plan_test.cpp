// What the probes ask each DNS server by its role, and how its answer is read.
#include "probes/probe_plan.h"

#include <arpa/nameser.h>
#include <gtest/gtest.h>

namespace mxs {
namespace {

const std::string Res = "198.18.0.53", Ns1 = "198.18.0.2", Ns2 = "198.18.0.3";

AgentOptions options(std::vector<std::string> domains) {
    AgentOptions o;
    for (auto& d : domains)
        o.domains.push_back({d, {}, true, true});
    return o;
}

// Old behaviour: ". NS" (RD=1) asked of every DNS server, which an authoritative
// server rightly answers REFUSED - booked as a failure by the kernel.
TEST(ProbePlan, ResolversAreAskedRecursivelyAuthoritativeServersTheirZone) {
    const auto roles = dns_roles(options({"example.test", "example.org"}), {Res},
                                 {{Ns1, {"example.test"}}, {Ns2, {"example.test", "example.org"}}});
    ASSERT_EQ(roles.size(), 3u);
    const auto& r = roles.at(Res);
    EXPECT_EQ(r.role, "resolver");
    EXPECT_EQ(r.questions, (std::vector<DnsQuestion>{{"example.test", ns_t_mx, true, false},
                                                     {"example.org", ns_t_mx, true, false}}));
    const auto& a = roles.at(Ns1);
    EXPECT_EQ(a.role, "authoritative");
    EXPECT_EQ(a.questions, (std::vector<DnsQuestion>{{"example.test", ns_t_soa, false, true}}));
    EXPECT_EQ(roles.at(Ns2).describe(), "authoritative for example.test, example.org");
    // No domains: the root's NS.
    const auto bare = dns_roles(options({}), {Res}, {});
    EXPECT_EQ(bare.at(Res).questions, (std::vector<DnsQuestion>{{".", ns_t_ns, true, false}}));
    // A resolver that is also a name server is judged as the resolver the host depends on.
    const auto both = dns_roles(options({"example.test"}), {Ns1}, {{Ns1, {"example.test"}}});
    EXPECT_EQ(both.at(Ns1).role, "resolver");
}

TEST(ProbePlan, ConfiguredQuestionAndPerTargetOverrides) {
    auto o = options({"example.test"});
    o.probes.dns_name = "mail.example.net";
    o.probes.targets = {{Ns1, "resolver", "", ""},
                        {Ns2, "authoritative", "example.net", ""},
                        {Res, "resolver", "www.example.net", "AAAA"}};
    const auto roles = dns_roles(o, {Res}, {{Ns1, {"example.test"}}});
    EXPECT_EQ(roles.at(Ns1).role, "resolver");
    EXPECT_EQ(roles.at(Ns1).questions,
              (std::vector<DnsQuestion>{{"mail.example.net", ns_t_mx, true, false}}));
    EXPECT_EQ(roles.at(Ns2).questions,
              (std::vector<DnsQuestion>{{"example.net", ns_t_soa, false, true}}));
    EXPECT_EQ(roles.at(Res).questions,
              (std::vector<DnsQuestion>{{"www.example.net", ns_t_aaaa, true, false}}));
}

TEST(ProbePlan, AnswersAreReadByRole) {
    const DnsQuestion auth{"example.test", ns_t_soa, false, true};
    const DnsQuestion rec{"example.test", ns_t_mx, true, false};
    DnsReply r;
    r.sent = true;
    r.rcode = ns_r_noerror;
    r.authoritative = true;
    EXPECT_EQ(dns_probe_result(r, auth), "ok");
    r.authoritative = false;
    EXPECT_EQ(dns_probe_result(r, auth), "not_authoritative"); // lame
    EXPECT_EQ(dns_probe_result(r, rec), "ok");                 // a resolver's answer
    r.rcode = ns_r_refused;
    EXPECT_EQ(dns_probe_result(r, auth), "rcode_refused"); // its own zone: a failure
    r.rcode = ns_r_nxdomain;
    EXPECT_EQ(dns_probe_result(r, auth), "rcode_nxdomain");
    EXPECT_EQ(dns_probe_result(r, rec), "ok");
    r.rcode = ns_r_servfail;
    EXPECT_EQ(dns_probe_result(r, rec), "rcode_servfail");
    r.failure = "refused";
    r.sent = false;
    EXPECT_EQ(dns_probe_result(r, rec), "refused");
}

TEST(ProbePlan, AuthoritativeQueriesClearRd) {
    auto q = build_dns_query("example.test", ns_t_soa, 1, false);
    ASSERT_TRUE(q) << q.error();
    EXPECT_EQ((*q)[2] & 0x01, 0); // RD clear
    q = build_dns_query("example.test", ns_t_soa, 1, true);
    EXPECT_EQ((*q)[2] & 0x01, 1);
}

} // namespace
} // namespace mxs
