// Issue 11 items 5 and 6: every reply in a server segment of any length up to the IP maximum
// (64 KiB: what TSO/GSO hands to TC egress, or GRO to a multi-buffer XDP) is read and counted
// by code, whatever falls on the sensor's copy boundaries, and the next segment's replies too.
// Expected numbers come from the segments as the test builds them.
//
// Role client: the server's segments arrive through XDP, whose test runs take frames up to
// 64 KiB (page fragments). Role server: they leave through TC, whose test runs take one page
// (about 3.6 KiB of payload); TC's larger segments are covered by the replay case
// gen_smtp_pipelined_64k (tests/replay), sent through a veth pair.
#include "smtp_exchange.h"

#include <array>

namespace mxs::test {
namespace {

// A server's byte stream built reply by reply, with the count of what it holds by code.
class Replies {
  public:
    // A one-line reply `code text`.
    Replies& reply(int code, const std::string& text) {
        s_ += std::to_string(code) + " " + text + "\r\n";
        ++want_[slot(code)];
        return *this;
    }
    // A multi-line reply: `lines` lines `code-...` of `width` bytes each, then `code text`.
    Replies& multiline(int code, int lines, std::size_t width, const std::string& text) {
        for (int i = 0; i < lines; ++i) {
            std::string l = std::to_string(code) + "-X-EXT-" + std::to_string(i) + " ";
            l.resize(width - 2, 'p');
            s_ += l + "\r\n";
        }
        return reply(code, text);
    }
    // "250 2.1.5 Ok" replies (RCPT answers, 14 bytes) up to exactly `size` bytes; the last one
    // longer to fit.
    Replies& fill_to(std::size_t size) {
        while (s_.size() + 14 + 6 <= size)
            reply(250, "2.1.5 Ok");
        if (s_.size() < size) {
            const std::size_t r = size - s_.size();
            EXPECT_GE(r, 6u);
            reply(250, std::string(r - 6, 'k'));
        }
        EXPECT_EQ(s_.size(), size);
        return *this;
    }
    const std::string& str() const { return s_; }
    std::size_t size() const { return s_.size(); }
    std::uint64_t want(std::uint32_t slot) const { return want_[slot]; }
    std::uint64_t total() const {
        std::uint64_t n = 0;
        for (auto v : want_)
            n += v;
        return n;
    }

  private:
    static std::uint32_t slot(int code) {
        switch (code) {
        case 220:
            return MXS_SMTP_220;
        case 250:
            return MXS_SMTP_250;
        case 354:
            return MXS_SMTP_354;
        case 451:
            return MXS_SMTP_451;
        case 452:
            return MXS_SMTP_452;
        case 550:
            return MXS_SMTP_550;
        case 221:
            return MXS_SMTP_2XX;
        }
        ADD_FAILURE() << "no slot for " << code;
        return MXS_SMTP_5XX;
    }
    std::string s_;
    std::array<std::uint64_t, MXS_SMTP_CODE_MAX> want_{};
};

class SmtpSegmentTest : public SmtpOutcomeTest {
  protected:
    // The largest TCP payload a test run takes through the server's hook in this role.
    std::size_t max_payload() const { return role() == MXS_ROLE_CLIENT ? 65000 : 3500; }
    // A fresh start for the next case of a loop.
    void clear() {
        sensor_->clear_maps();
        swept_.clear();
    }
    // A connection greeted with "220 hi".
    void greeted(Conn& c) {
        connect(c);
        srv(c.from_server(PSH | ACK, text("220 hi\r\n")));
    }
    // Every later reply by code equals what `r` holds plus `extra` 250s (the next segment's).
    void expect_replies(const Conn& c, const Replies& r, std::uint64_t extra250 = 0) {
        auto s = stats(c);
        EXPECT_EQ(s.greetings[MXS_SMTP_220], 1u);
        for (std::uint32_t i = 0; i < MXS_SMTP_CODE_MAX; ++i)
            EXPECT_EQ(s.replies[i], r.want(i) + (i == MXS_SMTP_250 ? extra250 : 0))
                << "code slot " << i;
        EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
    }
};

INSTANTIATE_TEST_SUITE_P(Roles, SmtpSegmentTest,
                         ::testing::Values(std::uint8_t{MXS_ROLE_CLIENT},
                                           std::uint8_t{MXS_ROLE_SERVER}),
                         [](const auto& info) {
                             return info.param == MXS_ROLE_CLIENT ? "client" : "server";
                         });

// One server segment of N pipelined replies (RFC 2920: a long RCPT list's answers), then the
// next segment: N + 1 replies counted by code, nothing unparsed. Sizes past the old 1024-byte
// head + 1023-byte tail, up to the IP maximum, both address families.
TEST_P(SmtpSegmentTest, PipelinedRepliesFillTheSegment) {
    std::uint16_t port = 42000;
    for (bool v6 : {false, true}) {
        for (std::size_t size : {std::size_t{2048}, std::size_t{3000}, std::size_t{3500},
                                 std::size_t{8000}, std::size_t{16385}, std::size_t{65000}}) {
            if (size > max_payload())
                continue;
            SCOPED_TRACE((v6 ? "IPv6 " : "IPv4 ") + std::to_string(size) + " bytes");
            clear();
            Conn c(v6, port++);
            greeted(c);
            Replies r;
            r.reply(250, "2.1.0 Ok").reply(550, "5.1.1 <nobody@example.test>: unknown");
            r.fill_to(size - 68); // then 31 + 37 bytes
            r.reply(452, "4.5.3 Too many recipients").reply(354, "End data with <CR><LF>.<CR><LF>");
            ASSERT_EQ(r.size(), size);
            ASSERT_GT(r.total(), size / 15);
            srv(c.from_server(PSH | ACK, text(r.str())));
            srv(c.from_server(PSH | ACK, text("250 2.0.0 Ok: queued\r\n")));
            expect_replies(c, r, 1);
        }
    }
}

// A reply placed so that every byte of it in turn is the first past a copy boundary (1024,
// 2048, 4096 and 32768 bytes into the segment, so that any power-of-two chunk size is crossed):
// its code's digits, the separator, CR, LF, split between two reads. Three replies of other
// codes mark three boundaries in one segment.
TEST_P(SmtpSegmentTest, ReplyStraddlingACopyBoundary) {
    const std::string marker = "550 5.1.1 no\r\n"; // 14 bytes
    std::uint16_t port = 42100;
    for (std::size_t k = 0; k <= marker.size(); ++k) {
        SCOPED_TRACE("reply starting " + std::to_string(k) + " bytes before the boundary");
        clear();
        Conn c(false, port++);
        greeted(c);
        Replies r;
        r.fill_to(1024 - k).reply(550, "5.1.1 no");
        r.fill_to(2048 - k).reply(451, "4.3.0 no");
        if (max_payload() >= 4200) {
            r.fill_to(4096 - k).reply(452, "4.5.3 no");
            r.fill_to(32768 - k).reply(354, "go ahead");
        }
        r.fill_to(r.size() + 100);
        srv(c.from_server(PSH | ACK, text(r.str())));
        srv(c.from_server(PSH | ACK, text("250 2.0.0 Ok: queued\r\n")));
        expect_replies(c, r, 1);
    }
}

// A multi-line reply (an EHLO answer listing many extensions) whose lines run across several
// copies of one segment counts once; the reply in the next segment is read.
TEST_P(SmtpSegmentTest, MultilineReplyAcrossCopies) {
    std::uint16_t port = 42200;
    for (int lines : {60, 200, 1200}) {
        Replies r;
        r.multiline(250, lines, 50, "SMTPUTF8");
        if (r.size() > max_payload())
            continue;
        SCOPED_TRACE(std::to_string(r.size()) + " bytes");
        clear();
        Conn c(false, port++);
        greeted(c);
        srv(c.from_server(PSH | ACK, text(r.str())));
        cli(c.from_client(PSH | ACK, text("QUIT\r\n")));
        srv(c.from_server(PSH | ACK, text("221 2.0.0 Bye\r\n")));
        auto s = stats(c);
        EXPECT_EQ(s.replies[MXS_SMTP_250], 1u);
        EXPECT_EQ(s.replies[MXS_SMTP_2XX], 1u);
        EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
    }
}

// After a long EHLO answer, STARTTLS: its 220 is read and the TLS bytes after it are not (a
// record holding a line break and digits would read as a reply).
TEST_P(SmtpSegmentTest, LongSegmentThenStarttls) {
    Replies r;
    r.multiline(250, role() == MXS_ROLE_CLIENT ? 600 : 60, 50, "SMTPUTF8");
    Conn c(false, 42300);
    greeted(c);
    cli(c.from_client(PSH | ACK, text("EHLO client\r\n")));
    srv(c.from_server(PSH | ACK, text(r.str())));
    cli(c.from_client(PSH | ACK, text("STARTTLS\r\n")));
    srv(c.from_server(PSH | ACK, text("220 2.0.0 Ready to start TLS\r\n")));
    Bytes hello = {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, '\n', '4', '2', '1', ' ', '\r', '\n'};
    srv(c.from_server(PSH | ACK, hello));
    auto s = stats(c);
    EXPECT_EQ(s.replies[MXS_SMTP_250], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_220], 1u);
    EXPECT_EQ(s.replies[MXS_SMTP_421], 0u);
    EXPECT_EQ(s.starttls[MXS_STARTTLS_STARTED], 1u);
    EXPECT_EQ(counter(MXS_C_SMTP_UNPARSED), 0u);
}

// A retransmission that overlaps what was read and carries new bytes (a resegmented
// retransmission after a lost ACK) is read from the first new byte, deep inside the segment
// and inside a line; a later exact retransmission adds nothing.
TEST_P(SmtpSegmentTest, OverlappingRetransmissionReadFromTheFirstNewByte) {
    const std::size_t size = role() == MXS_ROLE_CLIENT ? 65000 : 3500;
    const std::size_t cut = size * 6 / 10 + 5, resend = size * 4 / 10 + 3;
    Conn c(false, 42400);
    greeted(c);
    Replies r;
    r.reply(550, "5.1.1 no").fill_to(size - 14).reply(354, "go ahead");
    const std::string& all = r.str();
    const std::uint32_t base = c.server_seq();
    srv(c.from_server(PSH | ACK, text(all.substr(0, cut))));
    c.rewind_server(base + static_cast<std::uint32_t>(resend));
    const Bytes second = c.from_server(PSH | ACK, text(all.substr(resend)));
    srv(second);
    srv(second);
    srv(c.from_server(PSH | ACK, text("250 2.0.0 Ok: queued\r\n")));
    expect_replies(c, r, 1);
}

} // namespace
} // namespace mxs::test
