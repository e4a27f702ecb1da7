// The sensor's SMTP path, fed crafted TCP segments through both programs.
#include "bpf_fixture.h"

namespace mxs::test {
namespace {

constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// One SMTP connection between a client and a server, both address families.
class Conn {
  public:
    Conn(bool v6, std::uint16_t cport, std::uint16_t sport = 25)
        : v6_(v6), cport_(cport), sport_(sport) {}
    Bytes from_client(std::uint8_t flags, const Bytes& payload = {}) {
        Bytes f = pkt(true).tcp(cport_, sport_, flags, cseq_).payload(payload).build();
        cseq_ += static_cast<std::uint32_t>(payload.size()) + ((flags & (SYN | FIN)) ? 1 : 0);
        return f;
    }
    Bytes from_server(std::uint8_t flags, const Bytes& payload = {}) {
        Bytes f = pkt(false).tcp(sport_, cport_, flags, sseq_).payload(payload).build();
        sseq_ += static_cast<std::uint32_t>(payload.size()) + ((flags & (SYN | FIN)) ? 1 : 0);
        return f;
    }
    std::uint32_t server_seq() const { return sseq_; }
    void rewind_server(std::uint32_t seq) { sseq_ = seq; }
    const std::string server() const { return v6_ ? "fd00::25" : "198.18.0.25"; }

  private:
    Packet pkt(bool client_to_server) const {
        Packet p;
        p.eth();
        const std::string c = v6_ ? "fd00::1" : "198.18.0.1";
        if (client_to_server)
            v6_ ? p.ipv6(c, server()) : p.ipv4(c, server());
        else
            v6_ ? p.ipv6(server(), c) : p.ipv4(server(), c);
        return p;
    }
    bool v6_;
    std::uint16_t cport_, sport_;
    std::uint32_t cseq_ = 1000, sseq_ = 70000;
};

class SmtpTest : public SensorFixture {
  protected:
    // Client role: the client's segments leave (TC), the server's arrive (XDP).
    void out(const Bytes& f) { egress(f); }
    void in(const Bytes& f) { ingress(f); }
    void handshake(Conn& c) {
        out(c.from_client(SYN));
        in(c.from_server(SYN | ACK));
        out(c.from_client(ACK));
    }
};

TEST_F(SmtpTest, ClientSessionIpv4) {
    Conn c(false, 41000);
    handshake(c);
    in(c.from_server(PSH | ACK, text("220 mx.example.test ESMTP\r\n")));
    out(c.from_client(PSH | ACK, text("EHLO client\r\n")));
    in(c.from_server(PSH | ACK,
                     text("250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")));
    out(c.from_client(PSH | ACK, text("MAIL FROM:<a@b>\r\n")));
    in(c.from_server(PSH | ACK, text("250 2.1.0 Ok\r\n")));
    out(c.from_client(PSH | ACK, text("QUIT\r\n")));
    in(c.from_server(PSH | ACK | FIN, text("221 2.0.0 Bye\r\n")));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(s.connect.count(), 1u);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.greeting.count(), 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 2u); // the multi-line EHLO reply counts once
    EXPECT_EQ(s.replies[MXS_SMTP_2XX], 1u); // 221
    EXPECT_EQ(s.closed_before_greeting, 0u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
    // FIN ended the flow: nothing left for the sweep.
    EXPECT_EQ(sensor_->sweep_smtp(monotonic_ns(), 1, 1).remaining, 0u);
}

TEST_F(SmtpTest, ServerRoleIpv6Greeting421) {
    Conn c(true, 41001);
    in(c.from_client(SYN)); // the SYN arrives: this host is the MX
    out(c.from_server(SYN | ACK));
    in(c.from_client(ACK));
    out(c.from_server(PSH | ACK, text("421 4.3.2 Service not available\r\n")));
    out(c.from_server(FIN | ACK));
    auto s = smtp(c.server(), MXS_ROLE_SERVER);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(s.greetings[MXS_SMTP_421], 1u);
    EXPECT_EQ(smtp(c.server(), MXS_ROLE_CLIENT).outcomes[MXS_SMTP_ESTABLISHED], 0u);
}

TEST_F(SmtpTest, SynRetransmissionIsOneAttempt) {
    Conn c(false, 41002);
    const Bytes syn = c.from_client(SYN);
    out(syn);
    out(syn);
    out(syn);
    in(c.from_server(SYN | ACK));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_SYN_RETRANS), 2u);
}

TEST_F(SmtpTest, RstAnswersSynRefused) {
    Conn c(false, 41003);
    out(c.from_client(SYN));
    in(c.from_server(RST | ACK));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.outcomes[MXS_SMTP_REFUSED], 1u);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 0u);
    EXPECT_EQ(s.connect.count(), 0u);
}

TEST_F(SmtpTest, ClosedBeforeGreeting) {
    Conn a(false, 41004), b(false, 41005);
    handshake(a);
    in(a.from_server(FIN | ACK));
    handshake(b);
    in(b.from_server(RST | ACK));
    auto s = smtp(a.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(s.closed_before_greeting, 2u);
    EXPECT_EQ(s.greeting.count(), 0u);
}

TEST_F(SmtpTest, RepliesSplitAcrossSegmentsCountOnce) {
    Conn c(false, 41006);
    handshake(c);
    in(c.from_server(PSH | ACK, text("22")));
    in(c.from_server(PSH | ACK, text("0 hi\r\n250-one\r\n25")));
    in(c.from_server(PSH | ACK, text("0-two\r\n250 three\r")));
    in(c.from_server(PSH | ACK, text("\n354 go\r\n")));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_354], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

TEST_F(SmtpTest, PipelinedRepliesInOneSegment) {
    Conn c(false, 41007);
    handshake(c);
    in(c.from_server(PSH | ACK, text("220 hi\r\n")));
    in(c.from_server(PSH | ACK, text("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n")));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 2u);
    EXPECT_EQ(s.replies[MXS_SMTP_550], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_354], 1u);
}

TEST_F(SmtpTest, RetransmittedServerSegmentCountsOnce) {
    Conn c(false, 41008);
    handshake(c);
    in(c.from_server(PSH | ACK, text("220 hi\r\n")));
    const std::uint32_t seq = c.server_seq();
    in(c.from_server(PSH | ACK, text("250 ok\r\n")));
    c.rewind_server(seq);
    in(c.from_server(PSH | ACK, text("250 ok\r\n")));
    EXPECT_EQ(smtp(c.server(), MXS_ROLE_CLIENT).replies[MXS_SMTP_250], 1u);
}

TEST_F(SmtpTest, StarttlsAccepted) {
    Conn c(false, 41009);
    handshake(c);
    in(c.from_server(PSH | ACK, text("220 hi\r\n")));
    out(c.from_client(PSH | ACK, text("starttls\r\n")));
    in(c.from_server(PSH | ACK, text("220 2.0.0 Ready to start TLS\r\n")));
    in(c.from_server(PSH | ACK, Bytes{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00})); // ServerHello
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_STARTED], 1u);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_REFUSED], 0u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u); // TLS bytes are not read as replies
}

TEST_F(SmtpTest, StarttlsRefused) {
    Conn c(false, 41010);
    handshake(c);
    in(c.from_server(PSH | ACK, text("220 hi\r\n")));
    out(c.from_client(PSH | ACK, text("STARTTLS\r\n")));
    in(c.from_server(PSH | ACK, text("454 4.7.0 TLS not available\r\n")));
    in(c.from_server(PSH | ACK, text("250 ok\r\n")));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_REFUSED], 1u);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_STARTED], 0u);
    EXPECT_EQ(s.replies[MXS_SMTP_454], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 1u); // still parsed: the session stays in clear
}

TEST_F(SmtpTest, ImplicitTlsServerHelloIsTheGreeting) {
    Conn c(false, 41011, 465);
    handshake(c);
    in(c.from_server(PSH | ACK, Bytes{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76}));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(s.greetings[MXS_SMTP_TLS], 1u);
    EXPECT_EQ(s.greeting.count(), 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

TEST_F(SmtpTest, MalformedLineIsUnparsed) {
    Conn c(false, 41012);
    handshake(c);
    in(c.from_server(PSH | ACK, text("hello there\r\n220 hi\r\n")));
    auto s = smtp(c.server(), MXS_ROLE_CLIENT);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 1u);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
}

TEST_F(SmtpTest, SweepTimesOutUnansweredSynsAndEvictsIdleFlows) {
    Conn a(false, 41013), b(false, 41014);
    const Bytes syn = a.from_client(SYN);
    out(syn);
    handshake(b);
    // 11 s later, with a 10 s connect timeout and a 60 s idle timeout.
    auto r = sensor_->sweep_smtp(monotonic_ns() + 11'000'000'000ull, 10'000'000'000ull,
                                 60'000'000'000ull);
    EXPECT_EQ(r.timeouts.size(), 1u);
    EXPECT_EQ(r.timeouts.begin()->second, 1u);
    EXPECT_EQ(addr_to_string(r.timeouts.begin()->first.addr), a.server());
    EXPECT_EQ(r.evicted, 0u);
    EXPECT_EQ(r.remaining, 2u); // the timed-out attempt is kept, marked
    // The kernel retries the SYN later: still the same attempt, no second timeout.
    out(syn);
    EXPECT_EQ(counter(MXS_C_SMTP_SYN_RETRANS), 1u);
    r = sensor_->sweep_smtp(monotonic_ns() + 11'000'000'000ull, 10'000'000'000ull,
                            60'000'000'000ull);
    EXPECT_TRUE(r.timeouts.empty());
    r = sensor_->sweep_smtp(monotonic_ns() + 61'000'000'000ull, 10'000'000'000ull,
                            60'000'000'000ull);
    EXPECT_EQ(r.evicted, 1u);
    EXPECT_EQ(r.remaining, 0u);
}

// ICMP quotes the IP header and 8 bytes of the SYN (RFC 792, RFC 4443).
Bytes quote(const Bytes& frame, bool v6) {
    const std::size_t ip = v6 ? 40 : 20;
    return Bytes(frame.begin() + 14, frame.begin() + 14 + ip + 8);
}

TEST_F(SmtpTest, IcmpUnreachableForASyn) {
    Conn a(false, 41016), b(true, 41017), c(false, 41018);
    const Bytes syn4 = a.from_client(SYN), syn6 = b.from_client(SYN);
    out(syn4);
    out(syn6);
    in(Packet().eth().ipv4("198.18.0.254", "198.18.0.1").icmp(3, 1, quote(syn4, false)).build());
    in(Packet().eth().ipv6("fd00::fe", "fd00::1").icmp(1, 3, quote(syn6, true)).build());
    // An unreachable for an established connection is not an outcome.
    handshake(c);
    in(Packet()
           .eth()
           .ipv4("198.18.0.254", "198.18.0.1")
           .icmp(3, 1, quote(c.from_client(ACK), false))
           .build());
    EXPECT_EQ(smtp(a.server(), MXS_ROLE_CLIENT).outcomes[MXS_SMTP_UNREACHABLE], 1u);
    EXPECT_EQ(smtp(b.server(), MXS_ROLE_CLIENT).outcomes[MXS_SMTP_UNREACHABLE], 1u);
    EXPECT_EQ(smtp(a.server(), MXS_ROLE_CLIENT).outcomes[MXS_SMTP_ESTABLISHED], 1u); // c only
    // Both failed attempts are finished: nothing left for the sweep to time out.
    auto r = sensor_->sweep_smtp(monotonic_ns() + 11'000'000'000ull, 10'000'000'000ull,
                                 60'000'000'000ull);
    EXPECT_TRUE(r.timeouts.empty());
}

TEST_F(SmtpTest, MidStreamConnectionsAreIgnored) {
    Conn c(false, 41015);
    in(c.from_server(PSH | ACK, text("250 ok\r\n"))); // no SYN seen
    EXPECT_EQ(sensor_->read_smtp_stats().size(), 0u);
}

} // namespace
} // namespace mxs::test
