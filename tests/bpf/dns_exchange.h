// One DNS client/server pair for the tests, in either role, address family and transport:
// the query and the answer travel through the program of the right direction.
#pragma once

#include "bpf_fixture.h"

namespace mxs::test {

// A bare 12-byte DNS header (RFC 1035 §4.1.1) with the given counts.
inline Bytes dns_header(std::uint16_t id, std::uint16_t flags, std::uint16_t qdcount = 0,
                        std::uint16_t ancount = 0, std::uint16_t nscount = 0,
                        std::uint16_t arcount = 0) {
    Bytes b;
    for (std::uint16_t v : {id, flags, qdcount, ancount, nscount, arcount}) {
        b.push_back(static_cast<std::uint8_t>(v >> 8));
        b.push_back(static_cast<std::uint8_t>(v));
    }
    return b;
}

struct Exchange {
    bool v6 = false;
    std::uint8_t role = MXS_ROLE_CLIENT; // client: this host asks (query leaves)
    std::uint8_t proto = kUdp;
    std::uint16_t client_port = 40000;
    std::uint32_t client_seq = 1000, server_seq = 50000;
    // IPv6 extension headers (type, length) on every frame of the exchange (Packet::ipv6_ext).
    std::vector<std::pair<std::uint8_t, std::size_t>> ext;

    std::string host() const { return v6 ? "fd00::1" : "198.18.0.1"; }
    std::string peer() const { return v6 ? "fd00::53" : "198.18.0.53"; }
    // The DNS server's address: the peer when this host is the client, else this host.
    std::string server() const { return role == MXS_ROLE_CLIENT ? peer() : host(); }
    std::string client() const { return role == MXS_ROLE_CLIENT ? host() : peer(); }

    // A frame from the client to the server (query) or back (response), with a raw L4 payload.
    // TCP: PSH|ACK, acknowledging all the other side sent.
    Bytes frame(bool from_client, const Bytes& payload, std::uint32_t seq) const {
        return segment(from_client, 0x18, seq, from_client ? server_seq : client_seq, payload);
    }
    // A TCP segment with the given flags, sequence and acknowledgment numbers (or a UDP datagram).
    Bytes segment(bool from_client, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                  const Bytes& payload = {}) const {
        Packet p;
        p.eth();
        const std::string src = from_client ? client() : server();
        const std::string dst = from_client ? server() : client();
        v6 ? p.ipv6(src, dst) : p.ipv4(src, dst);
        for (const auto& [type, len] : ext)
            p.ipv6_ext(type, len);
        const std::uint16_t sp = from_client ? client_port : 53;
        const std::uint16_t dp = from_client ? 53 : client_port;
        if (proto == kUdp)
            p.udp(sp, dp);
        else
            p.tcp(sp, dp, flags, seq, ack);
        return p.payload(payload).build();
    }
    // Whether a frame from the client leaves this host (egress) or arrives (ingress).
    bool client_frames_leave() const { return role == MXS_ROLE_CLIENT; }
};

class ExchangeTest : public SensorFixture {
  protected:
    // Send a DNS message (wrapped with its length on TCP) from the client or the server.
    void send(Exchange& x, bool from_client, const Bytes& msg) {
        send_raw(x, from_client, x.proto == kTcp ? dns::tcp_stream({msg}) : msg);
    }
    // Send raw L4 payload bytes (TCP: the stream's next bytes).
    void send_raw(Exchange& x, bool from_client, const Bytes& payload) {
        std::uint32_t& seq = from_client ? x.client_seq : x.server_seq;
        const Bytes f = x.frame(from_client, payload, seq);
        seq += static_cast<std::uint32_t>(payload.size());
        pass(x, from_client, f);
    }
    // A frame travels the client's frames' way (client_way) or the server's: through the TC
    // program where that way leaves this host, else through XDP.
    void pass(const Exchange& x, bool client_way, const Bytes& f) {
        if (client_way == x.client_frames_leave())
            egress(f);
        else
            ingress(f);
    }
    // TCP: the three-way handshake (RFC 9293 §3.5), moving both sequence numbers.
    void handshake(Exchange& x) {
        pass(x, true, x.segment(true, 0x02, x.client_seq++, 0));
        pass(x, false, x.segment(false, 0x12, x.server_seq++, x.client_seq));
        pass(x, true, x.segment(true, 0x10, x.client_seq, x.server_seq));
    }
    void query(Exchange& x, const Bytes& msg) { send(x, true, msg); }
    void answer(Exchange& x, const Bytes& msg) { send(x, false, msg); }
    DnsCounters stats(const Exchange& x) { return server(x.server(), x.role, x.proto); }
};

// Every combination of address family and role, for tests that run each.
inline std::vector<Exchange> both_roles_both_families(std::uint8_t proto = kUdp) {
    std::vector<Exchange> out;
    for (bool v6 : {false, true})
        for (std::uint8_t role : {MXS_ROLE_CLIENT, MXS_ROLE_SERVER}) {
            Exchange x;
            x.v6 = v6;
            x.role = role;
            x.proto = proto;
            out.push_back(x);
        }
    return out;
}

inline std::string describe(const Exchange& x) {
    return std::string(x.v6 ? "IPv6 " : "IPv4 ") + (x.proto == kTcp ? "TCP " : "UDP ") +
           (x.role == MXS_ROLE_CLIENT ? "client role" : "server role");
}

} // namespace mxs::test
