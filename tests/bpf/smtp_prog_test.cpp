// The sensor's SMTP path, fed crafted TCP segments through both programs.
#include "smtp_exchange.h"

namespace mxs::test {
namespace {

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
    auto r = sweep_after(11 * kSecond);
    EXPECT_EQ(r.timeouts.size(), 1u);
    EXPECT_EQ(r.timeouts.begin()->second, 1u);
    EXPECT_EQ(addr_to_string(r.timeouts.begin()->first.addr), a.server());
    EXPECT_EQ(r.evicted, 0u);
    EXPECT_EQ(r.remaining, 2u); // the timed-out attempt is kept, marked
    // The kernel retries the SYN later: still the same attempt, no second timeout.
    out(syn);
    EXPECT_EQ(counter(MXS_C_SMTP_SYN_RETRANS), 1u);
    r = sweep_after(11 * kSecond);
    EXPECT_TRUE(r.timeouts.empty());
    r = sweep_after(61 * kSecond);
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
    auto r = sweep_after(11 * kSecond);
    EXPECT_TRUE(r.timeouts.empty());
}

TEST_F(SmtpTest, ClientFinThenIcmpUnreachableIsUnreachable) {
    Conn c(false, 41019);
    const Bytes syn = c.from_client(SYN);
    out(syn);
    out(c.from_client(FIN | ACK)); // the client gave up before any answer
    in(Packet().eth().ipv4("198.18.0.254", "198.18.0.1").icmp(3, 1, quote(syn, false)).build());
    EXPECT_EQ(smtp(c.server(), MXS_ROLE_CLIENT).outcomes[MXS_SMTP_UNREACHABLE], 1u);
    auto r = sweep_after(11 * kSecond);
    EXPECT_TRUE(r.timeouts.empty());
}

TEST_F(SmtpTest, MidStreamConnectionsAreIgnored) {
    Conn c(false, 41015);
    in(c.from_server(PSH | ACK, text("250 ok\r\n"))); // no SYN seen
    EXPECT_EQ(sensor_->read_smtp_stats().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Roles, SmtpOutcomeTest,
                         ::testing::Values(std::uint8_t{MXS_ROLE_CLIENT},
                                           std::uint8_t{MXS_ROLE_SERVER}),
                         [](const auto& info) {
                             return info.param == MXS_ROLE_CLIENT ? "client" : "server";
                         });

// Field case min_smtp_quit_fin_then_221.pcap: QUIT, the client's FIN, then the server's 221.
TEST_P(SmtpOutcomeTest, ReplyAfterClientFinIsRead) {
    Conn c(false, 40000);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 mx.example.test ESMTP\r\n")));
    cli(c.from_client(ACK));
    cli(c.from_client(PSH | ACK, text("QUIT\r\n")));
    cli(c.from_client(FIN | ACK));
    srv(c.from_server(PSH | ACK, text("221 2.0.0 Bye\r\n")));
    srv(c.from_server(FIN | ACK));
    auto s = stats(c);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_2XX], 1u);
    EXPECT_EQ(s.closed_before_greeting, 0u);
    EXPECT_EQ(sweep(0).remaining, 0u); // the server's FIN ended the flow
}

// Field case min_smtp_quit_221_control.pcap: only the server closes, after its 221.
TEST_P(SmtpOutcomeTest, ServerClosesAfter221) {
    Conn c(false, 40000);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 mx.example.test ESMTP\r\n")));
    cli(c.from_client(ACK));
    cli(c.from_client(PSH | ACK, text("QUIT\r\n")));
    srv(c.from_server(PSH | ACK, text("221 2.0.0 Bye\r\n")));
    srv(c.from_server(FIN | ACK));
    auto s = stats(c);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_2XX], 1u);
    EXPECT_EQ(sweep(0).remaining, 0u);
}

// After the client's FIN the flow lives until the server closes or the idle sweep.
TEST_P(SmtpOutcomeTest, ClientFinAloneLeavesTheFlowToTheIdleSweep) {
    Conn c(false, 40001);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    cli(c.from_client(FIN | ACK));
    EXPECT_EQ(sweep(kConnectTimeout + kSecond).remaining, 1u);
    auto r = sweep(kIdleTimeout + kSecond);
    EXPECT_EQ(r.evicted, 1u);
    EXPECT_EQ(r.remaining, 0u);
    EXPECT_EQ(outcomes(c), 1u);
}

// An RST from either side ends an open flow.
TEST_P(SmtpOutcomeTest, RstFromEitherSideEndsTheFlow) {
    Conn a(false, 40002), b(false, 40003);
    connect(a);
    srv(a.from_server(PSH | ACK, text("220 hi\r\n")));
    cli(a.from_client(FIN | ACK));
    cli(a.from_client(RST));
    connect(b);
    srv(b.from_server(RST | ACK));
    EXPECT_EQ(sweep(0).remaining, 0u);
    EXPECT_EQ(stats(a).outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(stats(a).closed_before_greeting, 1u); // b
    EXPECT_EQ(outcomes(a), 2u);
}

// Field case min_smtp_syn_then_fin.pcap: a SYN, then the client's FIN (its SYN-ACK took another
// path); nothing from the server. One outcome: timeout, after the connect timeout.
TEST_P(SmtpOutcomeTest, SynThenClientFinTimesOutOnce) {
    Conn c(false, 57722, 25, 2534527891u);
    cli(c.from_client(SYN));
    c.skip_client(18530);
    cli(c.from_client(FIN | ACK));
    EXPECT_EQ(outcomes(c), 0u);
    EXPECT_EQ(sweep(kConnectTimeout - kSecond).timeouts.size(), 0u);
    EXPECT_EQ(sweep(kConnectTimeout + kSecond).timeouts.size(), 1u);
    sweep(kConnectTimeout + 2 * kSecond);
    sweep(kIdleTimeout + kSecond);
    EXPECT_EQ(outcome(c, MXS_SMTP_TIMEOUT), 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(sweep(0).remaining, 0u);
}

TEST_P(SmtpOutcomeTest, ClientRstBeforeAnyAnswerTimesOut) {
    Conn c(false, 40004);
    cli(c.from_client(SYN));
    cli(c.from_client(RST));
    sweep(kConnectTimeout + kSecond);
    sweep(kIdleTimeout + kSecond);
    EXPECT_EQ(outcome(c, MXS_SMTP_TIMEOUT), 1u);
    EXPECT_EQ(outcomes(c), 1u);
}

// The client's FIN and the server's SYN-ACK cross: the server answered, established.
TEST_P(SmtpOutcomeTest, ClientFinCrossingSynAckIsEstablished) {
    Conn c(false, 40005);
    cli(c.from_client(SYN));
    cli(c.from_client(FIN | ACK));
    srv(c.from_server(SYN | ACK));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    srv(c.from_server(FIN | ACK));
    sweep(kConnectTimeout + kSecond);
    EXPECT_EQ(outcome(c, MXS_SMTP_ESTABLISHED), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(sweep(0).remaining, 0u);
}

// The client gave up (RST), the server's SYN-ACK still came within the connect timeout and the
// client's host answers it with RST: one outcome, established.
TEST_P(SmtpOutcomeTest, SynAckAfterClientGaveUpWithinTimeout) {
    Conn c(false, 40006);
    cli(c.from_client(SYN));
    cli(c.from_client(RST));
    srv(c.from_server(SYN | ACK));
    cli(c.from_client(RST));
    sweep(kConnectTimeout + kSecond);
    sweep(kIdleTimeout + kSecond);
    EXPECT_EQ(outcome(c, MXS_SMTP_ESTABLISHED), 1u);
    EXPECT_EQ(outcomes(c), 1u);
}

// A SYN-ACK after the sweep's timeout: still one outcome (timeout); the session is still read.
TEST_P(SmtpOutcomeTest, SynAckAfterTimeoutIsNotASecondOutcome) {
    Conn c(false, 40007);
    cli(c.from_client(SYN));
    sweep(kConnectTimeout + kSecond);
    srv(c.from_server(SYN | ACK));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcome(c, MXS_SMTP_TIMEOUT), 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
}

// The server's RST after the timeout: no second outcome.
TEST_P(SmtpOutcomeTest, RstAfterTimeoutIsNotASecondOutcome) {
    Conn c(false, 40008);
    cli(c.from_client(SYN));
    sweep(kConnectTimeout + kSecond);
    srv(c.from_server(RST | ACK));
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(sweep(0).remaining, 0u);
}

// A SYN-ACK lost after this host saw it: the client sends the same SYN again. One attempt.
TEST_P(SmtpOutcomeTest, SameSynAfterSynAckIsNotANewAttempt) {
    Conn c(false, 40009);
    const Bytes syn = c.from_client(SYN);
    cli(syn);
    const Bytes synack = c.from_server(SYN | ACK);
    srv(synack);
    cli(syn);
    srv(synack);
    cli(c.from_client(ACK));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
}

// The 4-tuple used again (TIME_WAIT reuse, port reuse): a SYN with another initial sequence
// number is a new attempt, whatever is left of the old one.
TEST_P(SmtpOutcomeTest, NewSynOnTheSameTupleIsANewAttempt) {
    // After a closed session.
    Conn a(false, 40010, 25, 1000), a2(false, 40010, 25, 900000);
    connect(a);
    srv(a.from_server(PSH | ACK, text("220 hi\r\n")));
    cli(a.from_client(FIN | ACK));
    srv(a.from_server(FIN | ACK));
    connect(a2);
    // After an open session whose end this host never saw.
    Conn b(false, 40011, 25, 1000), b2(false, 40011, 25, 900000);
    connect(b);
    connect(b2);
    EXPECT_EQ(outcome(a, MXS_SMTP_ESTABLISHED), 4u);
    // After a timed-out attempt.
    Conn c(false, 40012, 25, 1000), c2(false, 40012, 25, 900000);
    cli(c.from_client(SYN));
    sweep(kConnectTimeout + kSecond);
    connect(c2);
    EXPECT_EQ(outcome(a, MXS_SMTP_ESTABLISHED), 5u);
    EXPECT_EQ(outcome(a, MXS_SMTP_TIMEOUT), 1u);
    // While an attempt is unanswered: the client abandoned it; it ends as a timeout.
    Conn d(false, 40013, 25, 1000), d2(false, 40013, 25, 900000);
    cli(d.from_client(SYN));
    connect(d2);
    EXPECT_EQ(outcome(a, MXS_SMTP_ESTABLISHED), 6u);
    EXPECT_EQ(outcome(a, MXS_SMTP_TIMEOUT), 2u);
    sweep(kConnectTimeout + kSecond);
    EXPECT_EQ(outcomes(a), 8u);
}

// ICMP unreachable quoting the SYN (RFC 792, RFC 4443), sent by a router or the server's host
// toward the client: it arrives in the client role and leaves in the server role.
Bytes unreachable(const Bytes& syn, bool v6) {
    const Bytes quoted = quote(syn, v6);
    return v6 ? Packet().eth().ipv6("fd00::25", "fd00::1").icmp(1, 1, quoted).build()
              : Packet().eth().ipv4("198.18.0.25", "198.18.0.1").icmp(3, 1, quoted).build();
}

// Linux sends the same SYN again after an ICMP unreachable (a soft error while connect() holds
// the socket; ICMPv6 administratively prohibited from a rejecting firewall): one attempt, one
// outcome, whatever answers the retransmission.
TEST_P(SmtpOutcomeTest, SynRetransmittedAfterUnreachableIsOneAttempt) {
    for (bool v6 : {false, true}) {
        Conn c(v6, v6 ? 40019 : 40018);
        const Bytes syn = c.from_client(SYN);
        cli(syn);
        srv(unreachable(syn, v6));
        cli(syn);
        srv(unreachable(syn, v6));
        cli(syn);
        sweep(kConnectTimeout + kSecond);
        srv(c.from_server(SYN | ACK)); // it got through in the end: the session is still read
        cli(c.from_client(ACK));
        srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
        EXPECT_EQ(outcome(c, MXS_SMTP_UNREACHABLE), 1u) << c.server();
        EXPECT_EQ(outcomes(c), 1u) << c.server();
        EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u) << c.server();
    }
    EXPECT_EQ(counter(MXS_C_SMTP_SYN_RETRANS), 4u);
}

// A forged ICMP unreachable must not end an attempt: it needs the SYN's sequence number in the
// quote (a guessed client port is not enough) and must travel back towards the client. The
// real SYN-ACK that follows establishes the connection.
TEST_P(SmtpOutcomeTest, ForgedUnreachableDoesNotEndTheAttempt) {
    for (bool v6 : {false, true}) {
        Conn c(v6, v6 ? 40031 : 40030);
        const Bytes syn = c.from_client(SYN);
        const std::size_t seq_at = 14 + (v6 ? 40 : 20) + 4;
        Bytes wrong_seq = syn;
        wrong_seq[seq_at] ^= 0xff; // the attacker does not know the SYN's sequence number
        Bytes ports_only = unreachable(syn, v6);
        ports_only.resize(ports_only.size() - 4); // quotes only the ports
        cli(syn);
        srv(unreachable(wrong_seq, v6));
        srv(ports_only);
        cli(unreachable(syn, v6)); // the SYN's own direction
        EXPECT_EQ(outcome(c, MXS_SMTP_UNREACHABLE), 0u) << c.server();
        srv(c.from_server(SYN | ACK));
        EXPECT_EQ(outcome(c, MXS_SMTP_ESTABLISHED), 1u) << c.server();
        EXPECT_EQ(outcomes(c), 1u) << c.server();
    }
}

// A new attempt on the same 4-tuple after an unreachable one is a new attempt.
TEST_P(SmtpOutcomeTest, NewSynAfterUnreachableIsANewAttempt) {
    Conn a(false, 40020, 25, 1000), a2(false, 40020, 25, 900000);
    const Bytes syn = a.from_client(SYN);
    cli(syn);
    srv(unreachable(syn, false));
    connect(a2);
    EXPECT_EQ(outcome(a, MXS_SMTP_UNREACHABLE), 1u);
    EXPECT_EQ(outcome(a, MXS_SMTP_ESTABLISHED), 1u);
    EXPECT_EQ(outcomes(a), 2u);
}

// The idle sweep forgets an unanswered SYN (a late sweep): it was a timeout, not nothing.
TEST_P(SmtpOutcomeTest, IdleSweepOfAnUnansweredSynIsATimeout) {
    Conn c(false, 40014);
    cli(c.from_client(SYN));
    auto r = sweep(kIdleTimeout + kSecond);
    EXPECT_EQ(r.remaining, 0u);
    EXPECT_EQ(outcome(c, MXS_SMTP_TIMEOUT), 1u);
    EXPECT_EQ(outcomes(c), 1u);
}

// The SYN-ACK lands between the sweep's walk and its claim: one outcome, established.
TEST_P(SmtpOutcomeTest, SynAckRacingTheSweepCountsOnce) {
    Conn c(false, 40015);
    cli(c.from_client(SYN));
    const std::uint64_t later = monotonic_ns() + kConnectTimeout + kSecond;
    auto candidates = sensor_->smtp_sweep_candidates(later, kConnectTimeout, kIdleTimeout);
    srv(c.from_server(SYN | ACK));
    auto r = sensor_->smtp_sweep_claim(candidates);
    EXPECT_TRUE(r.timeouts.empty());
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).outcomes[MXS_SMTP_ESTABLISHED], 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u); // the session is still read
}

// A SYN sent again before its SYN-ACK is network loss: the connect time is not the server's.
TEST_P(SmtpOutcomeTest, RetransmittedSynKeepsItsConnectTimeOutOfTheHistogram) {
    Conn a(false, 40016), b(false, 40017);
    const Bytes syn = a.from_client(SYN);
    cli(syn);
    cli(syn);
    srv(a.from_server(SYN | ACK));
    connect(b);
    auto s = stats(a);
    EXPECT_EQ(s.outcomes[MXS_SMTP_ESTABLISHED], 2u);
    EXPECT_EQ(s.connect.count(), 1u); // b only
    EXPECT_EQ(s.connect_retransmitted, 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_SYN_RETRANS), 1u);
}

// An EHLO answer listing many extensions: `lines` continuation lines, then the last.
std::string ehlo_reply(int lines) {
    std::string r = "250-mx.example.test\r\n";
    for (int i = 0; i < lines; ++i)
        r += "250-X-EXTENSION-NUMBER-" + std::to_string(1000 + i) + " with a long argument\r\n";
    return r + "250 SMTPUTF8\r\n";
}

// Issue 11 item 5: a server segment longer than 1024 bytes (all that was once read of it). Its last
// reply is still counted, and the next segment is read from its first byte: after STARTTLS the 220
// is seen and the TLS bytes after it are not scanned as SMTP.
TEST_P(SmtpOutcomeTest, LongSegmentThenStarttls) {
    const std::string ehlo = ehlo_reply(30);
    ASSERT_GT(ehlo.size(), 1500u); // past 1024 bytes
    ASSERT_LT(ehlo.size(), 2000u);
    Conn c(false, 40021);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 mx.example.test ESMTP\r\n")));
    cli(c.from_client(PSH | ACK, text("EHLO client\r\n")));
    srv(c.from_server(PSH | ACK, text(ehlo)));
    cli(c.from_client(PSH | ACK, text("STARTTLS\r\n")));
    srv(c.from_server(PSH | ACK, text("220 2.0.0 Ready to start TLS\r\n")));
    srv(c.from_server(PSH | ACK, Bytes{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00})); // ServerHello
    auto s = stats(c);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 1u); // the EHLO answer, once
    EXPECT_EQ(s.replies[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_STARTED], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// Longer than the 2047 bytes once read of a segment (its first 1024 and last 1023): every
// reply in it is read, and the next segment.
TEST_P(SmtpOutcomeTest, VeryLongSegmentResumesAtTheNextSegment) {
    std::string pipelined;
    for (int i = 0; i < 200; ++i)
        pipelined += "250 2.1.5 Ok\r\n"; // 14 bytes each: 2800 bytes
    pipelined += "354 go ahead\r\n";
    Conn c(false, 40022);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    srv(c.from_server(PSH | ACK, text(pipelined)));
    srv(c.from_server(PSH | ACK, text("250 2.0.0 queued\r\n")));
    auto s = stats(c);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 200u + 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_354], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// A long segment that ends inside a line: the next segment continues that line.
TEST_P(SmtpOutcomeTest, LongSegmentEndingMidLine) {
    Conn c(false, 40023);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    std::string ehlo = ehlo_reply(30);
    ehlo.resize(ehlo.size() - 6); // "250 SMTP" ... "UTF8\r\n" in the next segment
    srv(c.from_server(PSH | ACK, text(ehlo)));
    srv(c.from_server(PSH | ACK, text("UTF8\r\n354 go\r\n")));
    auto s = stats(c);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_354], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// Issue 11 item 6: pipelined replies (RFC 2920) beyond 8 in one segment are each counted.
TEST_P(SmtpOutcomeTest, ManyPipelinedRepliesInOneSegment) {
    Conn c(false, 40024);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    // MAIL, 12 RCPT, DATA: 14 replies.
    std::string r = "250 2.1.0 Ok\r\n";
    for (int i = 0; i < 12; ++i)
        r += "250 2.1.5 Ok\r\n";
    r += "354 End data with <CR><LF>.<CR><LF>\r\n";
    srv(c.from_server(PSH | ACK, text(r)));
    // 70 short replies filling 1024 bytes, one of each kind among them.
    std::string many;
    for (int i = 0; i < 66; ++i)
        many += "250 2.1.5 Ok\r\n";
    many += "550 5.1.1 no\r\n451 4.3.0 later\r\n452 4.5.3 full\r\n221 2.0.0 Bye\r\n";
    ASSERT_LE(many.size(), 1024u);
    srv(c.from_server(PSH | ACK, text(many)));
    auto s = stats(c);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 13u + 66u);
    EXPECT_EQ(s.replies[MXS_SMTP_354], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_550], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_451], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_452], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_2XX], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// The greeting and later replies in one segment (a server that writes ahead): the first is
// the greeting, the others replies.
TEST_P(SmtpOutcomeTest, GreetingAndRepliesInOneSegment) {
    Conn c(false, 40025);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220-mx\r\n220 hi\r\n250 ok\r\n250 ok\r\n")));
    auto s = stats(c);
    EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.greeting.count(), 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_220], 0u);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 2u);
}

// ---- Forged segments (issue 10, adversarial review): only what the receiving TCP accepts counts.
// The bound for a segment's start past the receive point: the largest window without scaling
// (RFC 9293 §3.1), which the README states; the sensor does not track window scaling.
constexpr std::uint32_t kWindowBound = 65535;

class SmtpForgeTest : public SmtpOutcomeTest {
  protected:
    std::uint64_t rejected(std::uint32_t reason) {
        return counter(static_cast<mxs_counter>(MXS_C_SMTP_REJ_RST + reason));
    }
    std::uint64_t rejected_total() {
        std::uint64_t n = 0;
        for (std::uint32_t r = 0; r < MXS_TCP_REJ_MAX; ++r)
            n += rejected(r);
        return n;
    }
};

INSTANTIATE_TEST_SUITE_P(Roles, SmtpForgeTest,
                         ::testing::Values(std::uint8_t{MXS_ROLE_CLIENT},
                                           std::uint8_t{MXS_ROLE_SERVER}),
                         [](const auto& info) {
                             return info.param == MXS_ROLE_CLIENT ? "client" : "server";
                         });

// Adversarial review A1: an RST to a SYN in flight is refused only when it acknowledges the SYN
// (RFC 9293 §3.10.7.3: ACK set, SND.UNA < SEG.ACK =< SND.NXT). The client's TCP drops a bare RST
// and one acknowledging anything else; the real SYN-ACK then establishes the connection.
TEST_P(SmtpForgeTest, RstToASynMustAcknowledgeIt) {
    Conn c(false, 40100, 25, 1000);
    cli(c.from_client(SYN));                            // SND.UNA = 1000, SND.NXT = 1001
    srv(c.forged_from_server(RST | ACK, 0, 123456789)); // the adversarial script's RST
    srv(c.forged_from_server(RST, 777, 0));             // no ACK
    srv(c.forged_from_server(RST | ACK, 0, 1000));      // acknowledges nothing: SEG.ACK = SND.UNA
    srv(c.forged_from_server(RST | ACK, 0, 1002));      // beyond SND.NXT
    EXPECT_EQ(outcomes(c), 0u);
    EXPECT_EQ(rejected(MXS_TCP_REJ_RST), 4u);
    srv(c.from_server(SYN | ACK)); // acknowledges 1001
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcome(c, MXS_SMTP_ESTABLISHED), 1u);
    EXPECT_EQ(outcome(c, MXS_SMTP_REFUSED), 0u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);

    // The real refusal acknowledges the SYN: refused, once.
    Conn d(false, 40101, 25, 5000);
    cli(d.from_client(SYN));
    srv(d.forged_from_server(RST | ACK, 0, 5001));
    EXPECT_EQ(outcome(d, MXS_SMTP_REFUSED), 1u);
    EXPECT_EQ(outcomes(c), 2u);
    EXPECT_EQ(sweep(0).remaining, 1u); // c's session; d ended

    // A SYN carrying data (TCP Fast Open): SND.NXT is past the data, and the RST may
    // acknowledge any of it.
    Conn e(false, 40102, 25, 9000);
    cli(e.from_client(SYN, text("EHLO x\r\n"))); // 8 bytes: SND.NXT = 9009
    srv(e.forged_from_server(RST | ACK, 0, 9010));
    EXPECT_EQ(outcome(e, MXS_SMTP_REFUSED), 1u); // d's (one server address for all)
    srv(e.forged_from_server(RST | ACK, 0, 9009));
    EXPECT_EQ(outcome(e, MXS_SMTP_REFUSED), 2u); // d's and e's
    EXPECT_EQ(rejected(MXS_TCP_REJ_RST), 5u);
}

// The same after the connect timeout (the attempt is counted, its flow kept): a forged RST does
// not end the flow, so the late SYN-ACK and the greeting are still read.
TEST_P(SmtpForgeTest, RstAfterTheConnectTimeoutMustAcknowledgeTheSyn) {
    Conn c(false, 40103, 25, 1000);
    cli(c.from_client(SYN));
    sweep(kConnectTimeout + kSecond);
    srv(c.forged_from_server(RST, 0, 0));
    EXPECT_EQ(rejected(MXS_TCP_REJ_RST), 1u);
    srv(c.from_server(SYN | ACK));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcome(c, MXS_SMTP_TIMEOUT), 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
}

// A SYN-ACK that does not acknowledge the SYN is no answer (the client's TCP resets it): not
// established; the real one is.
TEST_P(SmtpForgeTest, SynAckMustAcknowledgeTheSyn) {
    Conn c(false, 40104, 25, 1000);
    cli(c.from_client(SYN));
    srv(c.forged_from_server(SYN | ACK, 777, 123456789));
    srv(c.forged_from_server(SYN, 777, 0)); // no ACK at all
    EXPECT_EQ(outcomes(c), 0u);
    EXPECT_EQ(rejected(MXS_TCP_REJ_SYNACK), 1u); // the bare SYN is no answer of any kind
    srv(c.from_server(SYN | ACK));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(outcome(c, MXS_SMTP_ESTABLISHED), 1u);
    EXPECT_EQ(outcomes(c), 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u); // read from the real SYN-ACK's stream
}

// After the handshake an RST counts only at exactly the receive point (RFC 5961 §3.2), from
// either side: one elsewhere (in the window or not) gets a challenge ACK, not a reset.
TEST_P(SmtpForgeTest, RstAfterTheHandshakeMustBeAtTheReceivePoint) {
    Conn c(false, 40105);
    connect(c);
    const std::uint32_t s = c.server_seq(), k = c.client_seq();
    for (std::uint32_t seq : {s - 1, s + 1, s + 1000, s + (1u << 31)})
        srv(c.forged_from_server(RST | ACK, seq, k));
    for (std::uint32_t seq : {k - 1, k + 1, k + 1000})
        cli(c.forged_from_client(RST | ACK, seq, s));
    EXPECT_EQ(rejected(MXS_TCP_REJ_RST), 7u);
    EXPECT_EQ(stats(c).closed_before_greeting, 0u);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
    // The client's RST at its receive point ends the session.
    cli(c.from_client(RST | ACK));
    EXPECT_EQ(sweep(0).remaining, 0u);

    // The server's RST at its receive point, before any greeting: closed before greeting.
    Conn d(false, 40106);
    connect(d);
    srv(d.from_server(RST | ACK));
    EXPECT_EQ(stats(d).closed_before_greeting, 1u);
    EXPECT_EQ(sweep(0).remaining, 0u);
    EXPECT_EQ(rejected_total(), 7u);
}

// Adversarial review A2: server data is read only where the client's receive window would take
// it. "x\r\n421 ..." far ahead of, or behind, the receive point (also with FIN, which would
// close the session) is dropped and counted; the real greeting that follows is the greeting.
TEST_P(SmtpForgeTest, OutOfWindowServerDataIsNotEvidence) {
    Conn c(false, 40107);
    connect(c);
    const std::uint32_t s = c.server_seq(), k = c.client_seq();
    const Bytes forged = text("x\r\n421 forged go away\r\n");
    const std::uint32_t seqs[] = {
        s + (1u << 31) + 5, // far ahead (the adversarial script's 2^31 + 5, relative)
        s + kWindowBound,   // just past the bound
        3999999999u,        // the script's absolute number: before the stream began here
        s - 100000,         // far behind
        s - 1,              // before the server's first byte (ISN + 1): before the stream
    };
    for (std::uint32_t seq : seqs) {
        srv(c.forged_from_server(PSH | ACK, seq, k, forged));
        srv(c.forged_from_server(PSH | ACK | FIN, seq, k, forged));
    }
    EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 2 * std::size(seqs));
    EXPECT_EQ(stats(c).closed_before_greeting, 0u);
    srv(c.from_server(PSH | ACK, text("220 real\r\n")));
    cli(c.from_client(PSH | ACK, text("QUIT\r\n")));
    srv(c.from_server(PSH | ACK | FIN, text("221 bye\r\n")));
    auto st = stats(c);
    EXPECT_EQ(st.greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(st.greetings[MXS_SMTP_421], 0u);
    EXPECT_EQ(st.replies[MXS_SMTP_421], 0u);
    EXPECT_EQ(st.replies[MXS_SMTP_2XX], 1u); // 221
    EXPECT_EQ(st.greeting.count(), 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
    EXPECT_EQ(sweep(0).remaining, 0u); // the real FIN ended it
}

// The bound's edge: a segment starting kWindowBound - 1 bytes past the receive point is one the
// receiver may take (out of order): read from its next line start, as any gap (counted
// unparsed) — its "421" is the greeting.
TEST_P(SmtpForgeTest, ServerDataJustInsideTheBoundIsRead) {
    Conn c(false, 40108);
    connect(c);
    srv(c.forged_from_server(PSH | ACK, c.server_seq() + kWindowBound - 1, c.client_seq(),
                             text("x\r\n421 forged go away\r\n")));
    EXPECT_EQ(rejected_total(), 0u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_421], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 1u);
}

// Server data in the window whose ACK the client's TCP would not take (RFC 9293 §3.10.7.4: no
// ACK bit; RFC 5961 §5.2: acknowledging bytes never sent, or older than the client's first).
// In role server these segments are this host's own: one acknowledging more than the sensor saw
// of the client moves the client's receive point instead (ThisHostsAckResyncsAStreamPastTheBound),
// so that variant is sent in role client only, where the server's segments come from outside.
TEST_P(SmtpForgeTest, ServerDataWithAnImplausibleAckIsNotEvidence) {
    Conn c(false, 40109);
    connect(c);
    const std::uint32_t s = c.server_seq(), k = c.client_seq(); // k: the client's SND.NXT
    const Bytes forged = text("421 forged go away\r\n");
    srv(c.forged_from_server(PSH, s, 0, forged));           // no ACK
    srv(c.forged_from_server(PSH | ACK, s, k - 1, forged)); // before the client's first byte
    srv(c.forged_from_server(PSH | ACK, s, k + (1u << 31), forged));
    if (role() == MXS_ROLE_CLIENT)
        srv(c.forged_from_server(PSH | ACK, s, k + 1, forged)); // acknowledges an unsent byte
    EXPECT_EQ(rejected(MXS_TCP_REJ_ACK), role() == MXS_ROLE_CLIENT ? 4u : 3u);
    srv(c.from_server(PSH | ACK, text("220 real\r\n")));
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_421], 0u);
    // Later the client has sent more: an ACK of part of it is fine.
    cli(c.from_client(PSH | ACK, text("EHLO client.example\r\n")));
    srv(c.forged_from_server(PSH | ACK, c.server_seq(), k + 4, text("250 ok\r\n")));
    EXPECT_EQ(stats(c).replies[MXS_SMTP_250], 1u);
}

// The client direction: a "STARTTLS" outside the server's receive window is not the client's
// command, so the reply to the real next command is no STARTTLS answer. (The ACK variant in
// role server only, where the client's segments come from outside; see above.)
TEST_P(SmtpForgeTest, OutOfWindowClientCommandIsNotEvidence) {
    Conn c(false, 40110);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    const std::uint32_t k = c.client_seq(), s = c.server_seq();
    cli(c.forged_from_client(PSH | ACK, k + (1u << 31), s, text("STARTTLS\r\n")));
    cli(c.forged_from_client(PSH | ACK, k + kWindowBound, s, text("STARTTLS\r\n")));
    cli(c.forged_from_client(PSH, k, 0, text("STARTTLS\r\n"))); // no ACK
    if (role() == MXS_ROLE_SERVER)
        cli(c.forged_from_client(PSH | ACK, k, s + 1, text("STARTTLS\r\n"))); // acks unsent data
    EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 2u);
    EXPECT_EQ(rejected(MXS_TCP_REJ_ACK), role() == MXS_ROLE_SERVER ? 2u : 1u);
    cli(c.from_client(PSH | ACK, text("VRFY postmaster\r\n")));
    srv(c.from_server(PSH | ACK, text("502 5.5.1 VRFY disallowed\r\n")));
    auto st = stats(c);
    EXPECT_EQ(st.replies[MXS_SMTP_502], 1u);
    EXPECT_EQ(st.starttls[MXS_STARTTLS_REFUSED], 0u);
    EXPECT_EQ(st.starttls[MXS_STARTTLS_STARTED], 0u);
    // The real STARTTLS, in the window, is the command.
    cli(c.from_client(PSH | ACK, text("STARTTLS\r\n")));
    srv(c.from_server(PSH | ACK, text("220 2.0.0 ready\r\n")));
    EXPECT_EQ(stats(c).starttls[MXS_STARTTLS_STARTED], 1u);
}

// Keep-alives (RFC 9293 §3.8.4: SND.NXT - 1, no data or one garbage byte) are old bytes, not
// forgeries, also before a side sent anything (then at its ISS, one before its first byte).
TEST_P(SmtpForgeTest, KeepAlivesAreNotRejected) {
    Conn c(false, 40113);
    connect(c);
    srv(c.forged_from_server(ACK, c.server_seq() - 1, c.client_seq()));
    cli(c.forged_from_client(ACK, c.client_seq() - 1, c.server_seq()));
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    srv(c.forged_from_server(ACK, c.server_seq() - 1, c.client_seq(), text("\n")));
    cli(c.forged_from_client(ACK, c.client_seq() - 1, c.server_seq(), text("x")));
    EXPECT_EQ(rejected_total(), 0u);
    EXPECT_EQ(stats(c).greetings[MXS_SMTP_220], 1u);
    EXPECT_EQ(stats(c).replies[MXS_SMTP_2XX] + stats(c).replies[MXS_SMTP_220], 0u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// The receive points follow the server's stream through TLS, so the server's RST after TLS
// records is at the receive point (and one elsewhere is not).
TEST_P(SmtpForgeTest, ReceivePointFollowsTlsBytes) {
    Conn c(false, 40111);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    cli(c.from_client(PSH | ACK, text("STARTTLS\r\n")));
    srv(c.from_server(PSH | ACK, text("220 2.0.0 ready\r\n")));
    Bytes records(700, 0x17);
    records[0] = 0x16;
    srv(c.from_server(PSH | ACK, records));
    cli(c.from_client(PSH | ACK, Bytes(300, 0x17)));
    srv(c.forged_from_server(RST | ACK, c.server_seq() - 700, c.client_seq()));
    EXPECT_EQ(rejected(MXS_TCP_REJ_RST), 1u);
    EXPECT_EQ(sweep(0).remaining, 1u);
    srv(c.from_server(RST | ACK));
    EXPECT_EQ(sweep(0).remaining, 0u);
    EXPECT_EQ(stats(c).starttls[MXS_STARTTLS_STARTED], 1u);
}

// This host's own acknowledgment says what its TCP received: a peer's stream that ran past the
// bound (a receiver with window scaling takes more) is followed again from there. Role client:
// the server's bytes; role server: the client's.
TEST_P(SmtpForgeTest, ThisHostsAckResyncsAStreamPastTheBound) {
    Conn c(false, 40112);
    connect(c);
    srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    const std::uint32_t far = 3 * kWindowBound; // bytes the sensor never saw
    if (role() == MXS_ROLE_SERVER) {
        c.skip_client(far);
        cli(c.from_client(PSH | ACK, text("STARTTLS\r\n"))); // past the bound: dropped
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 1u);
        srv(c.from_server(ACK));                             // this host acknowledges it all
        cli(c.from_client(PSH | ACK, text("STARTTLS\r\n"))); // the next command is read
        srv(c.from_server(PSH | ACK, text("220 2.0.0 ready\r\n")));
        EXPECT_EQ(stats(c).starttls[MXS_STARTTLS_STARTED], 1u);
    } else {
        c.rewind_server(c.server_seq() + far);
        srv(c.from_server(PSH | ACK, text("250 lost\r\n"))); // past the bound: dropped
        EXPECT_EQ(rejected(MXS_TCP_REJ_WINDOW), 1u);
        cli(c.from_client(ACK));                     // this host acknowledges it all
        EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 1u); // bytes it never read
        // Read again from the next line start.
        srv(c.from_server(PSH | ACK, text("ok\r\n354 go\r\n")));
        EXPECT_EQ(stats(c).replies[MXS_SMTP_354], 1u);
        EXPECT_EQ(stats(c).replies[MXS_SMTP_250], 0u);
    }
    EXPECT_EQ(rejected_total(), 1u);
}

} // namespace
} // namespace mxs::test
