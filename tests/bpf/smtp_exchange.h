// One SMTP connection for the tests, and fixtures that send its segments through the program
// of the right direction in either role.
#pragma once

#include "bpf_fixture.h"

#include <map>

namespace mxs::test {

inline constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

inline Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// One SMTP connection between a client and a server, both address families.
class Conn {
  public:
    Conn(bool v6, std::uint16_t cport, std::uint16_t sport = 25, std::uint32_t isn = 1000)
        : v6_(v6), cport_(cport), sport_(sport), cseq_(isn) {}
    // Each side's segments carry its next sequence number and acknowledge all the other sent.
    Bytes from_client(std::uint8_t flags, const Bytes& payload = {}) {
        Bytes f = pkt(true)
                      .tcp(cport_, sport_, flags, cseq_, (flags & ACK) ? sseq_ : 0)
                      .payload(payload)
                      .build();
        cseq_ += static_cast<std::uint32_t>(payload.size()) + ((flags & (SYN | FIN)) ? 1 : 0);
        return f;
    }
    Bytes from_server(std::uint8_t flags, const Bytes& payload = {}) {
        Bytes f = pkt(false)
                      .tcp(sport_, cport_, flags, sseq_, (flags & ACK) ? cseq_ : 0)
                      .payload(payload)
                      .build();
        sseq_ += static_cast<std::uint32_t>(payload.size()) + ((flags & (SYN | FIN)) ? 1 : 0);
        return f;
    }
    // A segment from the server's address with the given sequence and acknowledgment numbers,
    // whatever the connection's state (a forgery); the connection's numbers do not move.
    Bytes forged_from_server(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                             const Bytes& payload = {}) const {
        return pkt(false).tcp(sport_, cport_, flags, seq, ack).payload(payload).build();
    }
    Bytes forged_from_client(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                             const Bytes& payload = {}) const {
        return pkt(true).tcp(cport_, sport_, flags, seq, ack).payload(payload).build();
    }
    std::uint32_t server_seq() const { return sseq_; }
    std::uint32_t client_seq() const { return cseq_; }
    // The client's next sequence number jumps (bytes this capture never showed).
    void skip_client(std::uint32_t n) { cseq_ += n; }
    void rewind_server(std::uint32_t seq) { sseq_ = seq; }
    const std::string server() const { return v6_ ? "fd00::25" : "198.18.0.25"; }

  private:
    Packet pkt(bool client_to_server) const {
        const std::string c = v6_ ? "fd00::1" : "198.18.0.1";
        return Packet().eth().ip(v6_, client_to_server ? c : server(),
                                 client_to_server ? server() : c);
    }
    bool v6_;
    std::uint16_t cport_, sport_;
    std::uint32_t cseq_, sseq_ = 70000;
};

inline constexpr std::uint64_t kSecond = 1'000'000'000ull;
inline constexpr std::uint64_t kConnectTimeout = 10 * kSecond, kIdleTimeout = 60 * kSecond;

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
    // The agent's SMTP sweep `later` ns from now (10 s connect, 60 s idle timeout).
    SmtpSweepResult sweep_after(std::uint64_t later) {
        return sensor_->sweep_smtp(monotonic_ns() + later, kConnectTimeout, kIdleTimeout);
    }
};

// Every attempt ends in exactly one outcome, in both roles: role client = this host's segments
// leave through TC and the server's arrive at XDP; role server = the other way round.
class SmtpOutcomeTest : public SmtpTest, public ::testing::WithParamInterface<std::uint8_t> {
  protected:
    std::uint8_t role() const { return GetParam(); }
    void cli(const Bytes& f) { role() == MXS_ROLE_CLIENT ? egress(f) : ingress(f); }
    void srv(const Bytes& f) { role() == MXS_ROLE_CLIENT ? ingress(f) : egress(f); }
    void connect(Conn& c) {
        cli(c.from_client(SYN));
        srv(c.from_server(SYN | ACK));
        cli(c.from_client(ACK));
    }
    // The agent's sweep, `later` ns from now; its timeouts are added to what outcome() reports.
    SmtpSweepResult sweep(std::uint64_t later) {
        auto r = sweep_after(later);
        for (const auto& [k, n] : r.timeouts)
            if (k.role == role())
                swept_[addr_to_string(k.addr)] += n;
        return r;
    }
    SmtpCounters stats(const Conn& c) { return smtp(c.server(), role()); }
    // Kernel outcomes plus the sweep's timeouts, as the agent exports them.
    std::uint64_t outcome(const Conn& c, std::uint32_t o) {
        std::uint64_t n = stats(c).outcomes[o];
        if (o == MXS_SMTP_TIMEOUT)
            n += swept_[c.server()];
        return n;
    }
    std::uint64_t outcomes(const Conn& c) {
        std::uint64_t n = 0;
        for (std::uint32_t o = 0; o < MXS_SMTP_OUTCOME_MAX; ++o)
            n += outcome(c, o);
        return n;
    }
    std::map<std::string, std::uint64_t> swept_;
};

} // namespace mxs::test
