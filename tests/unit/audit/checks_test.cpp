// The audit's rules, one per check, from facts given here (the lab test, test_audit_lab,
// gathers them from real servers).
#include "audit/checks.h"

#include <arpa/nameser.h>
#include <gtest/gtest.h>

namespace mxs {
namespace {

DnsReply answer(std::vector<DnsRecord> records, int rcode = ns_r_noerror, bool aa = true) {
    DnsReply r;
    r.sent = true;
    r.rcode = rcode;
    r.authoritative = aa;
    r.answers = std::move(records);
    return r;
}

DnsRecord mx(const std::string& host, std::uint16_t pref) {
    return {"example.test", ns_t_mx, 3600, host, pref};
}

TEST(AuditChecks, MxPresent) {
    EXPECT_EQ(judge_mx_present("example.test",
                               answer({mx("mx1.example.test", 10), mx("mx2.example.test", 20)}))
                  .status,
              AuditStatus::ok);
    EXPECT_EQ(judge_mx_present("example.test", answer({mx("mx1.example.test", 10)})).status,
              AuditStatus::warning);
    const auto null_mx = judge_mx_present("example.test", answer({mx(".", 0)}));
    EXPECT_EQ(null_mx.status, AuditStatus::critical);
    EXPECT_NE(null_mx.detail.find("RFC 7505"), std::string::npos);
    EXPECT_EQ(judge_mx_present("example.test", answer({mx(".", 0)}), true).status,
              AuditStatus::ok); // declared
    EXPECT_EQ(judge_mx_present("example.test", answer({mx("mx1.example.test", 10)}), true).status,
              AuditStatus::critical); // declared, but it takes mail
    EXPECT_EQ(judge_mx_present("example.test", answer({})).status, AuditStatus::critical);
    EXPECT_EQ(judge_mx_present("example.test", answer({}, ns_r_nxdomain)).status,
              AuditStatus::critical);
    DnsReply lost;
    lost.failure = "timeout";
    EXPECT_EQ(judge_mx_present("example.test", lost).status, AuditStatus::unknown);
    EXPECT_EQ(judge_mx_present("example.test", answer({}, ns_r_refused)).status,
              AuditStatus::unknown);
    // One host listed twice is one host; a null MX beside others breaks RFC 7505 3.
    EXPECT_EQ(judge_mx_present("example.test",
                               answer({mx("mx1.example.test", 10), mx("MX1.example.test.", 20)}))
                  .status,
              AuditStatus::warning);
    const auto mixed =
        judge_mx_present("example.test", answer({mx(".", 0), mx("mx1.example.test", 10)}));
    EXPECT_EQ(mixed.status, AuditStatus::critical);
    EXPECT_NE(mixed.detail.find("a null MX beside other MX records (10 mx1.example.test)"),
              std::string::npos)
        << mixed.detail;
}

TEST(AuditChecks, MxTargetIsAHostNameNotAnAliasOrLiteral) {
    EXPECT_EQ(judge_mx_target("198.18.0.25", answer({})).status, AuditStatus::critical);
    EXPECT_EQ(judge_mx_target("[198.18.0.25]", answer({})).status, AuditStatus::critical);
    const auto alias = judge_mx_target(
        "mx2.example.test", answer({{"mx2.example.test.", ns_t_cname, 60, "mx1.example.test"},
                                    {"mx1.example.test", ns_t_a, 60, "198.18.0.25"}}));
    EXPECT_EQ(alias.status, AuditStatus::critical);
    EXPECT_NE(alias.detail.find("CNAME to mx1.example.test"), std::string::npos);
    EXPECT_EQ(judge_mx_target("mx1.example.test",
                              answer({{"mx1.example.test", ns_t_a, 60, "198.18.0.25"}}))
                  .status,
              AuditStatus::ok);
    // The resolver's SERVFAIL tells nothing about the name.
    EXPECT_EQ(judge_mx_target("mx1.example.test", answer({}, ns_r_servfail)).status,
              AuditStatus::unknown);
    EXPECT_EQ(resolver_failure(answer({}, ns_r_refused)), "answered REFUSED");
    EXPECT_EQ(resolver_failure(answer({}, ns_r_nxdomain)), "");
}

TEST(AuditChecks, MxResolvesNeedsAddressesThatAnswer) {
    EXPECT_EQ(judge_mx_resolves("mx", {}, {}).status, AuditStatus::critical);
    EXPECT_EQ(judge_mx_resolves("mx", {"198.18.0.25"}, {{"198.18.0.25", ""}}).status,
              AuditStatus::ok);
    const auto f = judge_mx_resolves("mx", {"198.18.0.25", "fd00::25"},
                                     {{"198.18.0.25", ""}, {"fd00::25", "refused"}});
    EXPECT_EQ(f.status, AuditStatus::warning); // one of two answers: senders try the next
    EXPECT_NE(f.detail.find("fd00::25 refused"), std::string::npos);
    EXPECT_EQ(judge_mx_resolves("mx", {"198.18.0.25"}, {{"198.18.0.25", "timeout"}}).status,
              AuditStatus::critical);
    EXPECT_EQ(judge_mx_resolves("mx", {"198.18.0.25", "fd00::25"},
                                {{"198.18.0.25", ""}, {"fd00::25", "unreachable from this host"}})
                  .status,
              AuditStatus::ok);
    EXPECT_EQ(
        judge_mx_resolves("mx", {"fd00::25"}, {{"fd00::25", "unreachable from this host"}}).status,
        AuditStatus::unknown);
}

TEST(AuditChecks, TtlBandAndNameServerCount) {
    EXPECT_EQ(judge_mx_ttl("d", 60, 300, 86400).status, AuditStatus::warning);
    EXPECT_EQ(judge_mx_ttl("d", 300, 300, 86400).status, AuditStatus::ok);
    EXPECT_EQ(judge_mx_ttl("d", 86401, 300, 86400).status, AuditStatus::warning);
    const auto noted = judge_mx_ttl("d", 60, 300, 86400, true); // failed over: short on purpose
    EXPECT_EQ(noted.status, AuditStatus::ok);
    EXPECT_NE(noted.detail.find("failed over"), std::string::npos);
    EXPECT_EQ(judge_mx_ttl("d", 86401, 300, 86400, true).status, AuditStatus::warning);
    EXPECT_EQ(judge_ns_count("d", {"ns1"}, {"a"}).status, AuditStatus::critical);
    EXPECT_EQ(judge_ns_count("d", {"ns1", "ns2"}, {"a", "b"}).status, AuditStatus::ok);
    EXPECT_EQ(judge_ns_count("d", {"ns1", "ns2"}, {"a"}).status, AuditStatus::critical);
    // No address: the delegation is broken, unless the lookups failed (the resolver's trouble).
    EXPECT_EQ(judge_ns_count("d", {"ns1", "ns2"}, {}).status, AuditStatus::critical);
    EXPECT_EQ(judge_ns_count("d", {"ns1", "ns2"}, {}, true).status, AuditStatus::unknown);
}

TEST(AuditChecks, NameServerAnswersTheSoaAuthoritatively) {
    DnsRecord soa{"example.test", ns_t_soa, 3600, "ns1.example.test", 0, 7};
    EXPECT_EQ(judge_ns_transport("ns_udp", "a", "example.test", answer({soa})).status,
              AuditStatus::ok);
    EXPECT_EQ(judge_ns_transport("ns_udp", "a", "example.test", answer({soa}, 0, false)).status,
              AuditStatus::critical); // AA clear
    EXPECT_EQ(judge_ns_transport("ns_tcp", "a", "example.test", answer({}, ns_r_refused)).status,
              AuditStatus::critical);
    DnsReply lost;
    lost.failure = "timeout";
    EXPECT_EQ(judge_ns_transport("ns_tcp", "a", "example.test", lost).status,
              AuditStatus::critical);
}

TEST(AuditChecks, PrefixDiversity) {
    EXPECT_EQ(judge_prefix_diversity("d", {"198.18.0.2", "198.18.0.3"}).status,
              AuditStatus::warning);
    EXPECT_EQ(judge_prefix_diversity("d", {"198.18.0.2", "198.18.1.2"}).status, AuditStatus::ok);
    EXPECT_EQ(judge_prefix_diversity("d", {"fd00:0:1::2", "fd00:0:1:ffff::3"}).status,
              AuditStatus::warning); // one /48
    EXPECT_EQ(judge_prefix_diversity("d", {"fd00:0:1::2", "fd00:0:2::3"}).status, AuditStatus::ok);
}

TEST(AuditChecks, SerialsAndNsSetsAgree) {
    EXPECT_EQ(judge_serials("d", {{"a", 2}, {"b", 2}}, 0, 10).status, AuditStatus::ok);
    const auto differ = judge_serials("d", {{"a", 2}, {"b", 1}, {"c", std::nullopt}}, 10, 10);
    EXPECT_EQ(differ.status, AuditStatus::critical);
    EXPECT_NE(differ.detail.find("1 at b; 2 at a"), std::string::npos) << differ.detail;
    // Within the grace: a change propagating, said but not judged.
    const auto young = judge_serials("d", {{"a", 2}, {"b", 1}}, 9.5, 10);
    EXPECT_EQ(young.status, AuditStatus::ok);
    EXPECT_NE(young.detail.find("within the grace of 10 s: 1 at b; 2 at a"), std::string::npos)
        << young.detail;
    EXPECT_EQ(judge_serials("d", {{"a", 2}, {"b", 1}}, 0, 0).status, AuditStatus::critical);
    // Only a server that stopped answering disagrees: nothing shows it still does.
    const auto stale = judge_serials("d", {{"a", 2}, {"b", 1}, {"c", 2}}, 12, 10, {"b"});
    EXPECT_EQ(stale.status, AuditStatus::unknown);
    EXPECT_NE(stale.detail.find("then b stopped answering"), std::string::npos) << stale.detail;
    // The ones that still answer disagree among themselves: CRITICAL.
    EXPECT_EQ(judge_serials("d", {{"a", 2}, {"b", 1}, {"c", 3}}, 12, 10, {"b"}).status,
              AuditStatus::critical);
    EXPECT_EQ(judge_serials("d", {{"a", std::nullopt}}, 0, 10).status, AuditStatus::unknown);
    EXPECT_EQ(judge_ns_sets("d", {{"a", {"ns1", "ns2"}}, {"b", {"ns1", "ns2"}}}).status,
              AuditStatus::ok);
    EXPECT_EQ(judge_ns_sets("d", {{"a", {"ns1", "ns2"}}, {"b", {"ns1"}}}).status,
              AuditStatus::critical);
}

TEST(AuditChecks, ForwardConfirmedReverseDns) {
    const auto ptr = answer({{"25.0.18.198.in-addr.arpa", ns_t_ptr, 60, "mx1.example.test."}});
    EXPECT_EQ(judge_fcrdns("198.18.0.25", ptr,
                           {{"mx1.example.test", std::vector<std::string>{"198.18.0.25"}}})
                  .status,
              AuditStatus::ok);
    EXPECT_EQ(judge_fcrdns("198.18.0.25", ptr,
                           {{"mx1.example.test", std::vector<std::string>{"198.18.0.26"}}})
                  .status,
              AuditStatus::warning);
    EXPECT_EQ(judge_fcrdns("198.18.0.25", answer({}, ns_r_nxdomain), {}).status,
              AuditStatus::warning);
    // What could not be learned is UNKNOWN, not a missing or mismatching PTR.
    EXPECT_EQ(judge_fcrdns("198.18.0.25", answer({}, ns_r_servfail), {}).status,
              AuditStatus::unknown);
    EXPECT_EQ(judge_fcrdns("198.18.0.25", ptr, {{"mx1.example.test", std::nullopt}}).status,
              AuditStatus::unknown);
    EXPECT_EQ(reverse_name("198.18.0.25"), "25.0.18.198.in-addr.arpa");
    EXPECT_EQ(reverse_name("fd00::1"),
              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa");
    EXPECT_EQ(reverse_name("nope"), std::nullopt);
}

TEST(AuditChecks, SmtpAcceptsTheDomain) {
    SmtpSessionFacts s;
    s.connected = s.rcpt_answered = true;
    s.rcpt_code = 250;
    EXPECT_EQ(judge_smtp_accepts("mx", "a", s).status, AuditStatus::ok);
    s.rcpt_code = 554;
    s.rcpt_reply = "554 5.7.1 Relay access denied";
    const auto bounce = judge_smtp_accepts("mx", "a", s);
    EXPECT_EQ(bounce.status, AuditStatus::critical);
    EXPECT_NE(bounce.detail.find("would bounce"), std::string::npos);
    s.rcpt_code = 454;
    EXPECT_EQ(judge_smtp_accepts("mx", "a", s).status, AuditStatus::warning);
    s.rcpt_code = 0; // "000 whatever": answered, but no SMTP reply code
    s.rcpt_reply = "000 whatever";
    const auto odd = judge_smtp_accepts("mx", "a", s);
    EXPECT_EQ(odd.status, AuditStatus::warning);
    EXPECT_NE(odd.detail.find("no SMTP reply code: 000 whatever"), std::string::npos) << odd.detail;
    // No connection: nothing learned here (mx_resolves judges port 25), never CRITICAL.
    SmtpSessionFacts unreachable;
    unreachable.failure = "connect: Network is unreachable";
    EXPECT_EQ(judge_smtp_accepts("mx", "a", unreachable).status, AuditStatus::unknown);
    SmtpSessionFacts refused = unreachable;
    refused.failure = "connect: Connection refused";
    EXPECT_EQ(judge_smtp_accepts("mx", "a", refused).status, AuditStatus::unknown);
    // A 5xx greeting refuses every session; a 4xx one, or a timeout, defers.
    SmtpSessionFacts greeting;
    greeting.connected = true;
    greeting.stop_code = 554;
    greeting.failure = "greeting 554";
    EXPECT_EQ(judge_smtp_accepts("mx", "a", greeting).status, AuditStatus::critical);
    greeting.stop_code = 421;
    greeting.failure = "greeting 421";
    EXPECT_EQ(judge_smtp_accepts("mx", "a", greeting).status, AuditStatus::warning);
    SmtpSessionFacts tls_broken;
    tls_broken.connected = tls_broken.starttls = true;
    tls_broken.tls_error = "handshake failure";
    EXPECT_EQ(judge_smtp_accepts("mx", "a", tls_broken).status, AuditStatus::warning);
    tls_broken.tls_error.clear();
    EXPECT_NE(judge_smtp_accepts("mx", "a", tls_broken).detail.find("no reason given"),
              std::string::npos);
}

TEST(AuditChecks, StarttlsOnTheBackupsWhenThePrimaryHasIt) {
    EXPECT_EQ(judge_starttls_consistent("b", true, false, false).status, AuditStatus::warning);
    EXPECT_EQ(judge_starttls_consistent("b", true, true, false).status, AuditStatus::ok);
    EXPECT_EQ(judge_starttls_consistent("b", false, false, false).status, AuditStatus::ok);
    EXPECT_EQ(judge_starttls_consistent("p", true, true, true).status, AuditStatus::ok);
}

TEST(AuditChecks, CertificateCoversTheHostAndIsValid) {
    const std::int64_t now = 1'800'000'000;
    SmtpSessionFacts s;
    EXPECT_FALSE(judge_tls_name("mx", s, now)); // no STARTTLS: nothing to judge here
    s.starttls = s.tls = s.cert_seen = s.name_matches = true;
    s.not_after = now + 90 * 86400;
    EXPECT_EQ(judge_tls_name("mx", s, now)->status, AuditStatus::ok);
    s.not_after = now + 86400;
    EXPECT_EQ(judge_tls_name("mx", s, now)->status, AuditStatus::warning); // expires soon
    s.not_after = now - 1;
    EXPECT_EQ(judge_tls_name("mx", s, now)->status, AuditStatus::critical);
    s.not_after = now + 90 * 86400;
    s.name_matches = false;
    EXPECT_EQ(judge_tls_name("mx", s, now)->status, AuditStatus::warning);
    s.name_matches = true;
    s.chain_error = "self-signed certificate";
    EXPECT_NE(judge_tls_name("mx", s, now)->detail.find("self-signed"), std::string::npos);
    s.tls = false;
    s.tls_error = "handshake failure";
    EXPECT_EQ(judge_tls_name("mx", s, now)->status, AuditStatus::warning);
}

TEST(AuditChecks, MtaStsPolicyCoversEveryMx) {
    auto p = parse_mta_sts_policy("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\n"
                                  "mx: *.backup.test\r\nmax_age: 86400\r\n");
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->mode, "enforce");
    EXPECT_EQ(p->mx, (std::vector<std::string>{"mx1.example.test", "*.backup.test"}));
    EXPECT_FALSE(parse_mta_sts_policy("version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n"));
    EXPECT_FALSE(parse_mta_sts_policy("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n"));
    EXPECT_FALSE(parse_mta_sts_policy("version: STSv1\nmode: enforce\nmx: a\n"));
    EXPECT_TRUE(mx_pattern_matches("*.backup.test", "mx2.backup.test"));
    EXPECT_FALSE(mx_pattern_matches("*.backup.test", "a.mx2.backup.test")); // one label only
    EXPECT_FALSE(mx_pattern_matches("*.backup.test", "backup.test"));
    EXPECT_TRUE(mx_pattern_matches("MX1.Example.Test.", "mx1.example.test"));
    EXPECT_TRUE(is_mta_sts_record("v=STSv1; id=1"));
    EXPECT_FALSE(is_mta_sts_record("v=STSv10; id=1"));

    const auto txt = answer({{"_mta-sts.example.test", ns_t_txt, 60, "v=STSv1; id=1"}});
    HttpsResponse fetched{200, "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 1\n",
                          "", "text/plain; charset=utf-8"};
    const auto f =
        judge_mta_sts("example.test", txt, &fetched, {"mx1.example.test", "mx2.example.test"});
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].status, AuditStatus::ok);
    EXPECT_EQ(f[1].status, AuditStatus::critical);
    fetched.body = "version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 1\n";
    EXPECT_EQ(judge_mta_sts("example.test", txt, &fetched, {"mx2.example.test"})[0].status,
              AuditStatus::warning);
    HttpsResponse failed{0, "", "SSL certificate problem: unable to get local issuer", ""};
    EXPECT_EQ(judge_mta_sts("example.test", txt, &failed, {"mx1.example.test"})[0].status,
              AuditStatus::warning);
    EXPECT_EQ(judge_mta_sts("example.test", answer({}), nullptr, {"mx1.example.test"})[0].status,
              AuditStatus::ok); // none announced
    // RFC 8461 3.2: text/plain; another media type may be ignored by senders.
    fetched.content_type = "text/html";
    const auto html = judge_mta_sts("example.test", txt, &fetched, {"mx2.example.test"});
    ASSERT_EQ(html.size(), 1u);
    EXPECT_EQ(html[0].status, AuditStatus::warning);
    EXPECT_NE(html[0].detail.find("served as 'text/html', not text/plain"), std::string::npos)
        << html[0].detail;
    fetched.content_type = "Text/Plain ;charset=us-ascii";
    EXPECT_EQ(judge_mta_sts("example.test", txt, &fetched, {"mx1.example.test"})[0].status,
              AuditStatus::ok);
    // The resolver's trouble is no fact about the domain: UNKNOWN, not "no policy".
    EXPECT_EQ(
        judge_mta_sts("example.test", answer({}, ns_r_servfail), nullptr, {"mx1.example.test"})[0]
            .status,
        AuditStatus::unknown);
    EXPECT_EQ(
        judge_mta_sts("example.test", answer({}, ns_r_nxdomain), nullptr, {"mx1.example.test"})[0]
            .status,
        AuditStatus::ok);
}

TEST(AuditReport, ExitCodeIsTheWorstAndJsonHasTheShape) {
    AuditReport r{"example.test",
                  {{"mx_ttl", "example.test", AuditStatus::warning, "60 s"},
                   {"ns_udp", "198.18.0.2", AuditStatus::unknown, "?"}},
                  {},
                  {},
                  {}};
    EXPECT_EQ(worst({r}), AuditStatus::warning); // WARNING over UNKNOWN
    r.findings.push_back({"ns_tcp", "198.18.0.3", AuditStatus::critical, "timeout"});
    EXPECT_EQ(worst({r}), AuditStatus::critical);
    EXPECT_EQ(worst({}), AuditStatus::ok);
    const auto json = audit_json({r});
    EXPECT_NE(json.find("\"domain\": \"example.test\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"status\": \"critical\""), std::string::npos) << json;
    EXPECT_TRUE(audit_text({r}).starts_with("WARNING  mx_ttl example.test: 60 s (example.test)\n"))
        << audit_text({r});
}

} // namespace
} // namespace mxs
