// EDNS extended RCODE (issue 10 item 4, RFC 6891 §6.1.3): the full rcode is the OPT record's
// EXTENDED-RCODE (its TTL's first byte) << 4 | the header's RCODE. Codes of 16 and more are
// OTHER, never their low 4 bits. Expected values come from the messages built here.
#include "dns_exchange.h"

namespace mxs::test {
namespace dns_edns_test {
namespace {

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

// One resource record (RFC 1035 §4.1.3), the owner name given in wire format.
Bytes rr(const Bytes& owner, std::uint16_t type, std::uint16_t cls, std::uint32_t ttl,
         const Bytes& rdata) {
    Bytes b = owner;
    put16(b, type);
    put16(b, cls);
    put16(b, static_cast<std::uint16_t>(ttl >> 16));
    put16(b, static_cast<std::uint16_t>(ttl));
    put16(b, static_cast<std::uint16_t>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
    return b;
}

const Bytes kPtr = {0xc0, 0x0c}; // compression pointer to the question's name
const Bytes kA = {198, 18, 0, 7};

Bytes a_rr(const Bytes& owner) {
    return rr(owner, 1, 1, 3600, kA);
}
// OPT (RFC 6891 §6.1.2): root owner, CLASS = UDP size, TTL = EXTENDED-RCODE, VERSION, DO.
Bytes opt_rr(std::uint8_t ext, const Bytes& options = {}) {
    return rr({0}, 41, 1232, static_cast<std::uint32_t>(ext) << 24 | 0x8000, options);
}
// A COOKIE option (RFC 7873 §4): client and server cookie.
Bytes cookie() {
    Bytes o;
    put16(o, 10);
    put16(o, 24);
    for (int i = 0; i < 24; ++i)
        o.push_back(static_cast<std::uint8_t>(0xa0 + i));
    return o;
}

// A response with the given header RCODE and sections.
Bytes answer_msg(std::uint16_t id, const std::string& qname, std::uint8_t rcode,
                 const std::vector<Bytes>& an, const std::vector<Bytes>& ns,
                 const std::vector<Bytes>& ar) {
    Bytes b = dns_header(
        id, static_cast<std::uint16_t>(0x8180 | rcode), 1, static_cast<std::uint16_t>(an.size()),
        static_cast<std::uint16_t>(ns.size()), static_cast<std::uint16_t>(ar.size()));
    const Bytes n = dns::name(qname);
    b.insert(b.end(), n.begin(), n.end());
    put16(b, dns::kA);
    put16(b, 1);
    for (const auto* sec : {&an, &ns, &ar})
        for (const auto& r : *sec)
            b.insert(b.end(), r.begin(), r.end());
    return b;
}

const std::string kName = "edns.example.test";

class EdnsTest : public ExchangeTest {
  protected:
    // Query, then answer with msg (built for id); returns the server's counters.
    DnsCounters exchange(Exchange& x, std::uint16_t id, const Bytes& msg) {
        query(x, dns::query(id, kName));
        answer(x, msg);
        return stats(x);
    }
};

TEST_F(EdnsTest, ExtendedRcodesAreOtherNeverTheirLowBits) {
    struct Case {
        std::uint8_t ext, low;
        std::uint32_t slot;
        const char* what;
    };
    const Case cases[] = {
        {1, 0, MXS_RCODE_OTHER, "BADVERS 16"},
        {1, 2, MXS_RCODE_OTHER, "18: low bits SERVFAIL"},
        {1, 5, MXS_RCODE_OTHER, "21: low bits REFUSED"},
        {1, 7, MXS_RCODE_OTHER, "BADCOOKIE 23"},
        {0x0f, 0xf, MXS_RCODE_OTHER, "4095"},
        {0, 2, MXS_RCODE_SERVFAIL, "SERVFAIL with an OPT of 0"},
        {0, 0, MXS_RCODE_NOERROR, "NOERROR with an OPT of 0"},
    };
    for (std::uint8_t proto : {kUdp, kTcp})
        for (auto x : both_roles_both_families(proto))
            for (const auto& c : cases) {
                sensor_->clear_maps();
                SCOPED_TRACE(describe(x) + ": " + c.what);
                const auto got = exchange(
                    x, 0x7101, answer_msg(0x7101, kName, c.low, {a_rr(kPtr)}, {}, {opt_rr(c.ext)}));
                EXPECT_EQ(got.responses[c.slot], 1u);
                EXPECT_EQ(responses(got), 1u);
                EXPECT_EQ(got.latency.count(), 1u);
                EXPECT_EQ(counter(MXS_C_DNS_EDNS_UNREAD), 0u);
            }
}

// The OPT record among other records: after an A glue record, before a TSIG-like record, with
// options (COOKIE), behind answers and authority with compressed and uncompressed owners.
TEST_F(EdnsTest, OptFoundAmongOtherRecords) {
    const Bytes full_owner = dns::name("ns1.example.test");
    Bytes label_then_ptr = {3, 'w', 'w', 'w', 0xc0, 0x0c};
    const Bytes ns_rdata = dns::name("ns1.example.test");
    const std::vector<std::pair<const char*, Bytes>> msgs = {
        {"OPT with COOKIE after a glue A",
         answer_msg(0x7201, kName, 2, {a_rr(kPtr), a_rr(label_then_ptr)},
                    {rr(dns::name("example.test"), 2, 1, 3600, ns_rdata)},
                    {a_rr(full_owner), opt_rr(1, cookie())})},
        {"OPT with COOKIE before another record",
         answer_msg(0x7201, kName, 5, {a_rr(kPtr)}, {},
                    {opt_rr(1, cookie()),
                     rr(dns::name("key.example.test"), 250, 255, 0, Bytes(40, 0x5a))})},
        {"no answers, OPT only", answer_msg(0x7201, kName, 0, {}, {}, {opt_rr(1)})},
        {"an A in the answer named like OPT's type is not the additional section",
         answer_msg(0x7201, kName, 2, {rr(kPtr, 41, 1, 0x01000000, {})}, {}, {opt_rr(0)})},
    };
    const std::uint32_t want[] = {MXS_RCODE_OTHER, MXS_RCODE_OTHER, MXS_RCODE_OTHER,
                                  MXS_RCODE_SERVFAIL};
    for (auto x : both_roles_both_families())
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x) + ": " + msgs[i].first);
            const auto got = exchange(x, 0x7201, msgs[i].second);
            EXPECT_EQ(got.responses[want[i]], 1u);
            EXPECT_EQ(responses(got), 1u);
            EXPECT_EQ(counter(MXS_C_DNS_EDNS_UNREAD), 0u);
        }
}

// A FORMERR without a question but with an OPT record (what BIND sends): walked from the header.
TEST_F(EdnsTest, OptAfterAnEmptyQuestionSection) {
    for (auto x : both_roles_both_families()) {
        sensor_->clear_maps();
        SCOPED_TRACE(describe(x));
        Bytes msg = dns_header(0x7301, 0x8101, 0, 0, 0, 1);
        const Bytes o = opt_rr(1);
        msg.insert(msg.end(), o.begin(), o.end());
        const auto got = exchange(x, 0x7301, msg);
        EXPECT_EQ(got.responses[MXS_RCODE_OTHER], 1u); // 17, not FORMERR
        EXPECT_EQ(got.matched_without_question, 1u);
    }
}

// When the OPT record cannot be reached the header's rcode is used, and that is counted.
TEST_F(EdnsTest, UnreachableOptIsCounted) {
    std::vector<Bytes> many;
    for (int i = 0; i < 160; ++i) // 320 walk steps: more than the walk takes
        many.push_back(rr(kPtr, 1, 1, 60, {}));
    const std::vector<std::pair<const char*, Bytes>> msgs = {
        {"longer than what is copied",
         answer_msg(0x7401, kName, 2, {rr(kPtr, 16, 1, 60, Bytes(2100, 't'))}, {}, {opt_rr(1)})},
        {"too many records", answer_msg(0x7401, kName, 2, many, {}, {opt_rr(1)})},
        {"cut short",
         [] {
             auto m = answer_msg(0x7401, kName, 2, {a_rr(kPtr)}, {}, {opt_rr(1)});
             m.resize(m.size() - 8);
             return m;
         }()},
    };
    for (auto x : both_roles_both_families())
        for (const auto& [what, msg] : msgs) {
            sensor_->clear_maps();
            SCOPED_TRACE(describe(x) + ": " + what);
            const auto got = exchange(x, 0x7401, msg);
            EXPECT_EQ(got.responses[MXS_RCODE_SERVFAIL], 1u);
            EXPECT_EQ(counter(MXS_C_DNS_EDNS_UNREAD), 1u);
        }
}

} // namespace
} // namespace dns_edns_test
} // namespace mxs::test
