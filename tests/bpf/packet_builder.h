// Fluent builder of test frames; fills every length and checksum:
//   Packet().eth().vlan(7).ipv6(a, b).udp(5353, 53).payload(dns::query(1, "mx.example.test", 15))
#pragma once

#include <arpa/inet.h>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mxs::test {

using Bytes = std::vector<std::uint8_t>;

namespace dns {

inline constexpr std::uint16_t kA = 1, kMX = 15, kAAAA = 28;
inline constexpr std::size_t kHeader = 12; // RFC 1035 §4.1.1

// Wire-format name, or a raw label sequence when the caller wants garbage.
inline Bytes name(const std::string& n) {
    Bytes out;
    std::size_t start = 0;
    while (start < n.size()) {
        auto dot = n.find('.', start);
        if (dot == std::string::npos)
            dot = n.size();
        out.push_back(static_cast<std::uint8_t>(dot - start));
        out.insert(out.end(), n.begin() + start, n.begin() + dot);
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

struct Message {
    std::uint16_t id = 0;
    std::uint16_t flags = 0x0100; // RD
    std::uint16_t qdcount = 1;
    Bytes qname;
    std::uint16_t qtype = kA;
    std::uint16_t qclass = 1;
    Bytes extra; // appended after the question (answers, padding)

    Bytes bytes() const {
        // Reserved up front: GCC 12 at -O3 misreads inserts after a 12-byte
        // initializer list as out of bounds (-Warray-bounds).
        Bytes b;
        b.reserve(12 + qname.size() + 4 + extra.size());
        for (std::uint8_t x :
             {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id),
              static_cast<std::uint8_t>(flags >> 8), static_cast<std::uint8_t>(flags),
              static_cast<std::uint8_t>(qdcount >> 8), static_cast<std::uint8_t>(qdcount),
              std::uint8_t{0}, static_cast<std::uint8_t>(extra.empty() ? 0 : 1), std::uint8_t{0},
              std::uint8_t{0}, std::uint8_t{0}, std::uint8_t{0}})
            b.push_back(x);
        b.insert(b.end(), qname.begin(), qname.end());
        b.push_back(qtype >> 8);
        b.push_back(qtype & 0xff);
        b.push_back(qclass >> 8);
        b.push_back(qclass & 0xff);
        b.insert(b.end(), extra.begin(), extra.end());
        return b;
    }
};

inline Bytes query(std::uint16_t id, const std::string& n, std::uint16_t qtype = kA) {
    return Message{id, 0x0100, 1, name(n), qtype, 1, {}}.bytes();
}

// rcode in the low 4 bits; tc sets the TC bit. Carries one A answer.
inline Bytes response(std::uint16_t id, const std::string& n, std::uint16_t qtype = kA,
                      std::uint8_t rcode = 0, bool tc = false) {
    std::uint16_t flags = 0x8180 | rcode | (tc ? 0x0200 : 0);
    Bytes answer = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 198, 18, 0, 11};
    return Message{id, flags, 1, name(n), qtype, 1, answer}.bytes();
}

// RFC 7766 §8: each message behind a 2-byte length.
inline Bytes tcp_stream(const std::vector<Bytes>& msgs) {
    Bytes out;
    for (const auto& m : msgs) {
        out.push_back(static_cast<std::uint8_t>(m.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(m.size()));
        out.insert(out.end(), m.begin(), m.end());
    }
    return out;
}

} // namespace dns

class Packet {
  public:
    Packet& eth() {
        has_eth_ = true;
        return *this;
    }
    Packet& vlan(std::uint16_t id, std::uint16_t tpid = 0x8100) {
        vlans_.push_back({tpid, id});
        return *this;
    }
    Packet& ipv4(const std::string& src, const std::string& dst) {
        v6_ = false;
        inet_pton(AF_INET, src.c_str(), src_);
        inet_pton(AF_INET, dst.c_str(), dst_);
        return *this;
    }
    Packet& ipv6(const std::string& src, const std::string& dst) {
        v6_ = true;
        inet_pton(AF_INET6, src.c_str(), src_);
        inet_pton(AF_INET6, dst.c_str(), dst_);
        return *this;
    }
    // IPv6 or IPv4 between the two addresses.
    Packet& ip(bool v6, const std::string& src, const std::string& dst) {
        return v6 ? ipv6(src, dst) : ipv4(src, dst);
    }
    // IPv4: flags/offset field as on the wire (0x2000 = MF, low 13 bits = offset/8).
    Packet& ipv4_frag(std::uint16_t frag_field) {
        frag4_ = frag_field;
        return *this;
    }
    // IPv6: a fragment header with this offset (in 8-byte units) and M flag.
    Packet& ipv6_frag(std::uint16_t offset_units, bool more) {
        frag6_ = true;
        frag6_field_ = static_cast<std::uint16_t>(offset_units << 3 | (more ? 1 : 0));
        return *this;
    }
    // IPv4 options (padded with End of Options to a multiple of 4 bytes).
    Packet& ipv4_options(Bytes opts) {
        while (opts.size() % 4)
            opts.push_back(0);
        ip4_opts_ = std::move(opts);
        return *this;
    }
    Packet& ipv6_hopopts() {
        hopopts_ = true;
        return *this;
    }
    // IPv6: one more extension header of this type (RFC 8200 §4) and total length in bytes,
    // chained in the order added (after ipv6_hopopts, before ipv6_frag): hop-by-hop (0) and
    // destination options (60) padded with PadN, routing (43) of the experimental type 253
    // with no segments left, a first fragment (44, offset 0, M set; len 8), AH (51; RFC 4302:
    // len a multiple of 4, at least 12, its Payload Len (len / 4) - 2).
    Packet& ipv6_ext(std::uint8_t type, std::size_t len) {
        exts_.push_back({type, len});
        return *this;
    }
    Packet& udp(std::uint16_t sport, std::uint16_t dport) {
        l4_ = 17;
        sport_ = sport;
        dport_ = dport;
        return *this;
    }
    // ack: the acknowledgment number as sent (meaningful with ACK in flags).
    Packet& tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags = 0x18,
                std::uint32_t seq = 1000, std::uint32_t ack = 1) {
        l4_ = 6;
        sport_ = sport;
        dport_ = dport;
        tcp_flags_ = flags;
        seq_ = seq;
        ack_ = ack;
        return *this;
    }
    // ICMP (IPv4) or ICMPv6 (IPv6) message quoting the given bytes.
    Packet& icmp(std::uint8_t type, std::uint8_t code, const Bytes& quoted) {
        l4_ = 0xff; // resolved to 1 or 58 by build()
        icmp_type_ = type;
        icmp_code_ = code;
        payload_ = quoted;
        return *this;
    }
    Packet& payload(const Bytes& p) {
        payload_ = p;
        return *this;
    }
    // Cut the finished frame to n bytes (malformed input).
    Packet& truncate(std::size_t n) {
        truncate_ = n;
        return *this;
    }

    Bytes build() const;

  private:
    struct Vlan {
        std::uint16_t tpid, id;
    };
    bool has_eth_ = false;
    std::vector<Vlan> vlans_;
    bool v6_ = false;
    std::uint8_t src_[16] = {}, dst_[16] = {};
    std::uint16_t frag4_ = 0;
    Bytes ip4_opts_;
    bool frag6_ = false;
    std::uint16_t frag6_field_ = 0;
    bool hopopts_ = false;
    struct Ext {
        std::uint8_t type;
        std::size_t len;
    };
    std::vector<Ext> exts_;
    std::uint8_t l4_ = 17;
    std::uint16_t sport_ = 0, dport_ = 0;
    std::uint8_t tcp_flags_ = 0x18;
    std::uint8_t icmp_type_ = 0, icmp_code_ = 0;
    std::uint32_t seq_ = 0, ack_ = 1;
    Bytes payload_;
    std::size_t truncate_ = 0;
};

} // namespace mxs::test
