#include "packet_builder.h"

namespace mxs::test {
namespace {

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(v >> 8);
    b.push_back(v & 0xff);
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = v >> 8;
    b[at + 1] = v & 0xff;
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2)
        acc += (p[i] << 8) | p[i + 1];
    if (n & 1)
        acc += p[n - 1] << 8;
    return acc;
}
std::uint16_t fold(std::uint32_t acc) {
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<std::uint16_t>(~acc);
}

} // namespace

Bytes Packet::build() const {
    // L4 header + payload, checksum filled below once the pseudo header is known.
    Bytes l4;
    const std::uint8_t proto = l4_ == 0xff ? (v6_ ? 58 : 1) : l4_;
    if (proto == 1 || proto == 58) {
        l4 = {icmp_type_, icmp_code_, 0, 0, 0, 0, 0, 0};
    } else if (l4_ == 17) {
        put16(l4, sport_);
        put16(l4, dport_);
        put16(l4, static_cast<std::uint16_t>(8 + payload_.size()));
        put16(l4, 0);
    } else {
        put16(l4, sport_);
        put16(l4, dport_);
        put32(l4, seq_);
        put32(l4, ack_);
        l4.push_back(5 << 4);
        l4.push_back(tcp_flags_);
        put16(l4, 65535);
        put16(l4, 0);
        put16(l4, 0);
    }
    l4.insert(l4.end(), payload_.begin(), payload_.end());

    std::uint32_t pseudo = 0;
    const std::size_t alen = v6_ ? 16 : 4;
    pseudo = sum16(src_, alen, pseudo);
    pseudo = sum16(dst_, alen, pseudo);
    pseudo += proto + static_cast<std::uint32_t>(l4.size());
    if (proto == 1) // ICMPv4: no pseudo header (RFC 792)
        set16(l4, 2, fold(sum16(l4.data(), l4.size())));
    else if (proto == 58)
        set16(l4, 2, fold(sum16(l4.data(), l4.size(), pseudo)));
    else {
        const std::uint16_t csum = fold(sum16(l4.data(), l4.size(), pseudo));
        set16(l4, l4_ == 17 ? 6 : 16, l4_ == 17 && csum == 0 ? 0xffff : csum);
    }

    Bytes l3;
    if (!v6_) {
        const std::size_t hlen = 20 + ip4_opts_.size();
        l3 = {static_cast<std::uint8_t>(0x40 | hlen / 4), 0};
        put16(l3, static_cast<std::uint16_t>(hlen + l4.size()));
        put16(l3, 0x1234);
        put16(l3, frag4_);
        l3.push_back(64);
        l3.push_back(proto);
        put16(l3, 0);
        l3.insert(l3.end(), src_, src_ + 4);
        l3.insert(l3.end(), dst_, dst_ + 4);
        l3.insert(l3.end(), ip4_opts_.begin(), ip4_opts_.end());
        set16(l3, 10, fold(sum16(l3.data(), hlen)));
        l3.insert(l3.end(), l4.begin(), l4.end());
    } else {
        Bytes ext;
        std::uint8_t first = proto;
        if (frag6_) {
            ext = {proto, 0};
            put16(ext, frag6_field_);
            put32(ext, 0xabcd);
            first = 44;
        }
        for (auto e = exts_.rbegin(); e != exts_.rend(); ++e) {
            Bytes h;
            if (e->type == 44) {
                h = {first, 0, 0, 1, 0, 0, 0xab, 0xce}; // offset 0, M=1
            } else if (e->type == 51) {
                h = {first, static_cast<std::uint8_t>(e->len / 4 - 2), 0, 0};
                put32(h, 0x1000);       // SPI
                put32(h, 1);            // sequence number
                h.resize(e->len, 0xa5); // ICV
            } else if (e->type == 43) {
                h = {first, static_cast<std::uint8_t>(e->len / 8 - 1), 253, 0};
                h.resize(e->len, 0);
            } else { // options: PadN over the rest
                h = {first, static_cast<std::uint8_t>(e->len / 8 - 1), 1,
                     static_cast<std::uint8_t>(e->len - 4)};
                h.resize(e->len, 0);
            }
            h.insert(h.end(), ext.begin(), ext.end());
            ext = h;
            first = e->type;
        }
        if (hopopts_) {
            Bytes h = {first, 0, 1, 4, 0, 0, 0, 0}; // PadN over 6 bytes
            h.insert(h.end(), ext.begin(), ext.end());
            ext = h;
            first = 0;
        }
        l3 = {0x60, 0, 0, 0};
        put16(l3, static_cast<std::uint16_t>(ext.size() + l4.size()));
        l3.push_back(first);
        l3.push_back(64);
        l3.insert(l3.end(), src_, src_ + 16);
        l3.insert(l3.end(), dst_, dst_ + 16);
        l3.insert(l3.end(), ext.begin(), ext.end());
        l3.insert(l3.end(), l4.begin(), l4.end());
    }

    Bytes frame;
    if (has_eth_) {
        frame = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
        for (const auto& v : vlans_) {
            put16(frame, v.tpid);
            put16(frame, v.id);
        }
        put16(frame, v6_ ? 0x86dd : 0x0800);
    }
    frame.insert(frame.end(), l3.begin(), l3.end());
    if (truncate_ && truncate_ < frame.size())
        frame.resize(truncate_);
    return frame;
}

} // namespace mxs::test
