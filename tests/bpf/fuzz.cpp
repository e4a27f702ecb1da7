#include "fuzz.h"

#include "base/addr.h"
#include "packet_builder.h"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <iterator>
#include <net/if.h>
#include <random>
#include <set>
#include <tuple>
#include <unistd.h>

namespace mxs::fuzz {
namespace {

using test::Bytes;
using test::Packet;

constexpr int kXdpPass = 2;           // XDP_PASS: mxs_xdp always returns it
constexpr int kTcActOk = 0;           // TC_ACT_OK: mxs_tc_egress always returns it
constexpr std::size_t kMinFrame = 14; // BPF_PROG_TEST_RUN refuses less than an Ethernet header
constexpr std::uint8_t kUdp = 17, kTcp = 6;
constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

// ---- PRNG: xoshiro256** seeded through splitmix64 (both public domain, Vigna) ------------

std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class Rng {
  public:
    explicit Rng(std::uint64_t seed) {
        for (auto& w : s_)
            w = splitmix(seed);
    }
    std::uint64_t next() {
        const std::uint64_t r = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return r;
    }
    // Uniform in [0, n) for n < 2^32 (0 when n is 0).
    std::uint32_t below(std::uint64_t n) {
        return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
    }
    std::uint32_t range(std::uint32_t lo, std::uint32_t hi) { return lo + below(hi - lo + 1ull); }
    bool pct(unsigned p) { return below(100) < p; }
    std::uint8_t byte() { return static_cast<std::uint8_t>(next() >> 56); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(next() >> 32); }
    Bytes bytes(std::size_t n) {
        Bytes b(n);
        for (auto& x : b)
            x = byte();
        return b;
    }
    template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::array<std::uint64_t, 4> s_{};
};

// ---- bytes -----------------------------------------------------------------------------

void put8(Bytes& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v));
}
void put16(Bytes& b, unsigned v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
void append(Bytes& b, const Bytes& more) {
    b.insert(b.end(), more.begin(), more.end());
}
void append(Bytes& b, const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
}
unsigned be16(const Bytes& b, std::size_t at) {
    return static_cast<unsigned>(b[at]) << 8 | b[at + 1];
}

std::string hex(const Bytes& b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (auto x : b) {
        s.push_back(d[x >> 4]);
        s.push_back(d[x & 15]);
    }
    return s;
}

// ---- the reference parser: where the headers and length fields of a frame lie ------------
//
// Written from the RFCs, not from bpf/lib/parse.h, and more permissive than the sensor (no IP
// length, fragment or linear-part checks): whatever the sensor parses, this parses the same
// way, so counts taken here bound what the sensor can have counted.

struct Field {
    std::size_t off;
    std::uint8_t width;  // 1 or 2 bytes
    std::uint8_t nibble; // 0: whole; 1: low nibble (IHL); 2: high nibble (TCP data offset)
};

struct Shape {
    bool l4 = false; // UDP, TCP or ICMP header present
    bool v6 = false;
    std::uint8_t proto = 0;
    std::size_t payload = 0; // UDP/TCP payload offset
    std::size_t l4off = 0;   // L4 header offset
    std::array<std::uint8_t, 16> src{}, dst{};
    std::uint16_t sport = 0, dport = 0;
    std::uint8_t tcp_flags = 0;
    std::vector<Field> fields; // length fields, for the mutator's lies
};

bool is_ext(std::uint8_t nh) {
    return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

void mapped(std::array<std::uint8_t, 16>& a, const std::uint8_t* v4) {
    a = {};
    a[10] = a[11] = 0xff;
    std::memcpy(a.data() + 12, v4, 4);
}

Shape parse(const Bytes& f) {
    Shape s;
    const std::size_t n = f.size();
    if (n < 14)
        return s;
    unsigned type = be16(f, 12);
    std::size_t off = 14;
    for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); ++i) {
        if (off + 4 > n)
            return s;
        type = be16(f, off + 2);
        off += 4;
    }
    if (type == 0x8100 || type == 0x88a8)
        return s; // a third tag: more than the sensor reads
    std::size_t l4;
    if (type == 0x0800) {
        if (off + 20 > n)
            return s;
        const std::size_t hl = (f[off] & 0xf) * 4u;
        s.fields.push_back({off, 1, 1});
        s.fields.push_back({off + 2, 2, 0});
        if (hl < 20 || off + hl > n)
            return s;
        mapped(s.src, &f[off + 12]);
        mapped(s.dst, &f[off + 16]);
        s.proto = f[off + 9];
        l4 = off + hl;
    } else if (type == 0x86dd) {
        if (off + 40 > n)
            return s;
        s.v6 = true;
        s.fields.push_back({off + 4, 2, 0});
        std::memcpy(s.src.data(), &f[off + 8], 16);
        std::memcpy(s.dst.data(), &f[off + 24], 16);
        std::uint8_t nh = f[off + 6];
        std::size_t p = off + 40;
        for (int i = 0; i < 6 && is_ext(nh); ++i) {
            if (p + 8 > n)
                return s;
            s.fields.push_back({p + 1, 1, 0});
            std::size_t len = nh == 44 ? 8 : nh == 51 ? (f[p + 1] + 2u) * 4 : (f[p + 1] + 1u) * 8;
            if (p + len > n)
                return s;
            nh = f[p];
            p += len;
        }
        if (is_ext(nh))
            return s;
        s.proto = nh;
        l4 = p;
    } else {
        return s;
    }
    if (s.proto == kUdp) {
        if (l4 + 8 > n)
            return s;
        s.fields.push_back({l4 + 4, 2, 0});
        s.payload = l4 + 8;
    } else if (s.proto == kTcp) {
        if (l4 + 20 > n)
            return s;
        s.fields.push_back({l4 + 12, 1, 2});
        s.tcp_flags = f[l4 + 13];
        s.payload = std::min(n, l4 + (f[l4 + 12] >> 4) * 4u);
    } else if (s.proto == 1 || s.proto == 58) {
        s.l4 = l4 + 8 <= n;
        s.l4off = l4;
        return s;
    } else {
        return s;
    }
    s.l4 = true;
    s.l4off = l4;
    s.sport = static_cast<std::uint16_t>(be16(f, l4));
    s.dport = static_cast<std::uint16_t>(be16(f, l4 + 2));
    // DNS header counts (RFC 1035 §4.1.1), behind the 2-byte length on TCP (RFC 7766 §8).
    std::size_t dns = s.payload;
    if (s.proto == kTcp) {
        if (dns + 2 <= n)
            s.fields.push_back({dns, 2, 0});
        dns += 2;
    }
    for (std::size_t c = 4; c <= 10; c += 2)
        if (dns + c + 2 <= n)
            s.fields.push_back({dns + c, 2, 0});
    if (dns + 13 <= n)
        s.fields.push_back({dns + 12, 1, 0}); // the first label's length
    return s;
}

// The packet an ICMP (IPv4 quote) or ICMPv6 (IPv6 quote) error quotes, from offset `at`
// (RFC 792, RFC 4443 §3.1): as permissive as parse().
struct Quote {
    bool ok = false;
    std::array<std::uint8_t, 16> src{}, dst{};
    std::uint8_t proto = 0;
    std::uint16_t sport = 0, dport = 0;
    bool has_seq = false, has_id = false; // TCP sequence number; DNS id behind a UDP header
    std::uint32_t seq = 0;
    std::uint16_t id = 0;
};

Quote parse_quote(const Bytes& f, std::size_t at, bool v6) {
    Quote q;
    const std::size_t n = f.size();
    std::size_t l4;
    if (!v6) {
        if (at + 20 > n)
            return q;
        const std::size_t hl = (f[at] & 0xf) * 4u;
        if (hl < 20 || at + hl > n)
            return q;
        mapped(q.src, &f[at + 12]);
        mapped(q.dst, &f[at + 16]);
        q.proto = f[at + 9];
        l4 = at + hl;
    } else {
        if (at + 40 > n)
            return q;
        std::memcpy(q.src.data(), &f[at + 8], 16);
        std::memcpy(q.dst.data(), &f[at + 24], 16);
        std::uint8_t nh = f[at + 6];
        std::size_t p = at + 40;
        for (int i = 0; i < 6 && is_ext(nh); ++i) {
            if (p + 8 > n)
                return q;
            const std::size_t len = nh == 44   ? 8
                                    : nh == 51 ? (f[p + 1] + 2u) * 4
                                               : (f[p + 1] + 1u) * 8;
            nh = f[p];
            p += len;
        }
        if (is_ext(nh))
            return q;
        q.proto = nh;
        l4 = p;
    }
    if (l4 + 4 > n)
        return q;
    q.ok = true;
    q.sport = static_cast<std::uint16_t>(be16(f, l4));
    q.dport = static_cast<std::uint16_t>(be16(f, l4 + 2));
    if (l4 + 8 <= n) {
        q.has_seq = true;
        q.seq = static_cast<std::uint32_t>(be16(f, l4 + 4)) << 16 | be16(f, l4 + 6);
    }
    if (l4 + 10 <= n) {
        q.has_id = true;
        q.id = static_cast<std::uint16_t>(be16(f, l4 + 8));
    }
    return q;
}

// A packet's endpoints and a number (DNS id or TCP sequence number), and its direction.
using Sent = std::tuple<std::array<std::uint8_t, 16>, std::array<std::uint8_t, 16>, std::uint16_t,
                        std::uint16_t, std::uint32_t, bool>;

mxs_server_key key_of(const std::array<std::uint8_t, 16>& addr, std::uint16_t port,
                      std::uint8_t proto, std::uint8_t role) {
    mxs_server_key k{};
    std::memcpy(k.addr, addr.data(), 16);
    k.port = port;
    k.proto = proto;
    k.role = role;
    return k;
}

template <class T> using KeyMap = std::map<mxs_server_key, T, ServerKeyLess>;

std::string key_str(const mxs_server_key& k) {
    return fmt::format("{} port {} {} {}", addr_to_string(k.addr), k.port,
                       k.proto == kTcp   ? "tcp"
                       : k.proto == kUdp ? "udp"
                                         : std::to_string(k.proto),
                       k.role == MXS_ROLE_CLIENT ? "client" : "server");
}

// ---- frames ----------------------------------------------------------------------------

struct Frame {
    Bytes data;
    bool egress = false;     // TC (leaves this host) or XDP (arrives)
    bool mutable_ = true;    // the mutator may touch it (not the truncation sweeps)
    std::uint8_t family = 0; // enum Family
};

// Who talks: this host is the DNS/SMTP client (its client frames leave) or the server.
struct Ends {
    bool v6 = false;
    std::string client, server;
    bool client_egress = true;
};

Ends pick_ends(Rng& r, bool v6) {
    static const std::vector<std::string> host4 = {"198.18.0.1", "198.18.0.2"};
    static const std::vector<std::string> peer4 = {"198.18.1.1", "198.18.1.2", "198.18.1.3",
                                                   "198.18.1.4"};
    static const std::vector<std::string> host6 = {"fd00::1", "fd00::2"};
    static const std::vector<std::string> peer6 = {"fd00:1::1", "fd00:1::2", "fd00:1::3",
                                                   "fd00:1::4"};
    Ends e;
    e.v6 = v6;
    const std::string host = r.pick(v6 ? host6 : host4), peer = r.pick(v6 ? peer6 : peer4);
    e.client_egress = r.pct(50); // this host's role: client (its queries leave) or server
    e.client = e.client_egress ? host : peer;
    e.server = e.client_egress ? peer : host;
    return e;
}

// What surrounds the L4 header: VLAN tags, IPv4 options and fragment field, IPv6 extension
// headers and fragment header.
struct Decor {
    std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans; // TPID, id
    Bytes ip4_opts;
    std::uint16_t frag4 = 0;
    bool hopopts = false;
    std::vector<std::pair<std::uint8_t, std::size_t>> ext;
    bool frag6 = false, frag6_more = false;
    std::uint16_t frag6_off = 0;

    // The L3 part (no Ethernet) or, with eth, the whole frame's builder.
    Packet packet(bool eth, bool v6, const std::string& src, const std::string& dst) const {
        Packet p;
        if (eth) {
            p.eth();
            for (auto [tpid, id] : vlans)
                p.vlan(id, tpid);
        }
        p.ip(v6, src, dst);
        if (!v6) {
            if (!ip4_opts.empty())
                p.ipv4_options(ip4_opts);
            if (frag4)
                p.ipv4_frag(frag4);
        } else {
            if (hopopts)
                p.ipv6_hopopts();
            for (auto [t, l] : ext)
                p.ipv6_ext(t, l);
            if (frag6)
                p.ipv6_frag(frag6_off, frag6_more);
        }
        return p;
    }
};

Decor random_decor(Rng& r, bool v6, std::uint8_t fam) {
    Decor d;
    unsigned nv = 0;
    if (fam == kVlan)
        nv = r.below(5);
    else if (r.pct(8))
        nv = 1 + r.below(2);
    for (unsigned i = 0; i < nv; ++i) {
        // 802.1ad outside, 802.1Q inside, as QinQ is; sometimes any order.
        const std::uint16_t tpid =
            (i == 0 && nv > 1 && r.pct(60)) ? 0x88a8 : (r.pct(85) ? 0x8100 : 0x88a8);
        d.vlans.emplace_back(tpid, static_cast<std::uint16_t>(r.below(4096)));
    }
    const bool frags = fam == kFragments;
    if (!v6) {
        if (r.pct(frags ? 20 : 4))
            d.ip4_opts = r.bytes(1 + r.below(40));
        if (frags ? r.pct(85) : r.pct(2)) {
            switch (r.below(3)) {
            case 0:
                d.frag4 = 0x2000; // first fragment: MF, offset 0
                break;
            case 1:
                d.frag4 = static_cast<std::uint16_t>((1 + r.below(0x1fff)) | 0x2000);
                break;
            default:
                d.frag4 = static_cast<std::uint16_t>(1 + r.below(0x1fff)); // last fragment
            }
            if (r.pct(10))
                d.frag4 |= 0x4000; // DF as well
        }
    } else {
        const bool chain = fam == kIp6Ext;
        if (chain || r.pct(4)) {
            const unsigned n = chain ? r.below(10) : 1 + r.below(3);
            d.hopopts = r.pct(30);
            static const std::vector<std::uint8_t> types = {0, 43, 44, 51, 60};
            for (unsigned i = 0; i < n; ++i) {
                const std::uint8_t t = r.pick(types);
                std::size_t len = 8;
                if (t == 51)
                    len = 4 * (3 + r.below(8)); // AH: 12..40 bytes
                else if (t != 44)
                    len = 8 * (1 + r.below(chain ? 8 : 3));
                d.ext.emplace_back(t, len);
            }
        }
        if (frags ? r.pct(85) : r.pct(2)) {
            d.frag6 = true;
            d.frag6_off = r.pct(50) ? 0 : static_cast<std::uint16_t>(1 + r.below(0x1fff));
            d.frag6_more = r.pct(60);
        }
    }
    return d;
}

// ---- DNS messages ----------------------------------------------------------------------

Bytes dns_header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) {
    Bytes b;
    b.reserve(512);
    for (unsigned v : {id, flags, qd, an, ns, ar})
        put16(b, v);
    return b;
}

Bytes labels(const std::vector<std::string>& ls) {
    Bytes b;
    for (const auto& l : ls) {
        put8(b, static_cast<unsigned>(l.size()));
        append(b, l);
    }
    put8(b, 0);
    return b;
}

Bytes pool_name(Rng& r) {
    static const std::vector<std::vector<std::string>> pool = {
        {"mx1", "example", "test"}, {"mx2", "example", "test"}, {"example", "test"},
        {"ns", "example", "test"},  {"MX1", "Example", "TEST"}, {"a", "b", "c", "example", "test"},
    };
    return labels(r.pick(pool));
}

// A qname, often malformed: compression pointers (self, forward, loops; RFC 1035 §4.1.4),
// extended label types, names of 255 bytes and more, labels running past the message.
Bytes game_name(Rng& r) {
    const unsigned k = r.below(100);
    if (k < 35)
        return pool_name(r);
    if (k < 40)
        return {0}; // the root
    if (k < 50) {
        // Exactly 255 bytes (labels 63, 63, 63, 61), or one more: too long (RFC 1035 §2.3.4).
        const bool over = r.pct(50);
        std::vector<std::string> ls = {std::string(63, 'a'), std::string(63, 'B'),
                                       std::string(63, 'c'), std::string(over ? 62 : 61, 'd')};
        return labels(ls);
    }
    if (k < 65) {
        Bytes b;
        if (r.pct(50)) { // some labels first
            b = labels({"www"});
            b.pop_back();
        }
        switch (r.below(4)) {
        case 0: // pointer to the question's own first label (offset 12): a loop
            put16(b, 0xc00c);
            break;
        case 1: // pointer to itself
            put16(b, 0xc000 | static_cast<unsigned>(12 + b.size()));
            break;
        case 2: // forward, past the end
            put16(b, 0xc000 | (0x100 + r.below(0x3f00)));
            break;
        default:
            put16(b, 0xc000 | r.below(0x4000));
        }
        return b;
    }
    if (k < 75) { // extended (0x40) and reserved (0x80) label types (RFC 6891 §5)
        Bytes b = labels({"x"});
        b.insert(b.begin() + (r.pct(50) ? 0 : 2),
                 static_cast<std::uint8_t>((r.pct(50) ? 0x40 : 0x80) | r.below(64)));
        return b;
    }
    if (k < 85) { // a label longer than what follows; no terminator
        Bytes b = {static_cast<std::uint8_t>(1 + r.below(63))};
        append(b, r.bytes(r.below(8)));
        return b;
    }
    if (k < 92) { // random characters, zero bytes and dots inside labels
        std::string l;
        for (unsigned i = 0, n = 1 + r.below(20); i < n; ++i)
            l.push_back(static_cast<char>(r.pct(70) ? 'A' + r.below(58) : r.byte()));
        return labels({l, "test"});
    }
    return r.bytes(1 + r.below(40));
}

Bytes question(const Bytes& name, unsigned qtype, unsigned qclass) {
    Bytes b = name;
    put16(b, qtype);
    put16(b, qclass);
    return b;
}

unsigned random_qtype(Rng& r) {
    static const std::vector<unsigned> types = {1, 1, 15, 15, 28, 6, 2, 255, 16};
    return r.pct(95) ? r.pick(types) : r.below(65536);
}

// An OPT pseudo-RR (RFC 6891 §6.1.2): the extended rcode's upper 8 bits lead its TTL.
Bytes opt_rr(Rng& r, unsigned ext_rcode) {
    Bytes b = {0};
    put16(b, 41);
    put16(b, r.pct(90) ? 1232 : r.below(65536));
    put8(b, ext_rcode);
    put8(b, r.pct(95) ? 0 : r.byte()); // version
    put16(b, r.pct(50) ? 0x8000 : 0);  // DO
    if (r.pct(80)) {
        put16(b, 0);
    } else { // options, or an RDLENGTH lie
        const Bytes opt = r.bytes(r.below(24));
        put16(b, r.pct(70) ? static_cast<unsigned>(opt.size()) : r.below(65536));
        append(b, opt);
    }
    return b;
}

// One answer RR with an owner name by pointer, by labels, or by a pointer to itself.
Bytes answer_rr(Rng& r, std::size_t at) {
    Bytes b;
    switch (r.below(5)) {
    case 0:
        b = labels({"mx1", "example", "test"});
        break;
    case 1: // a compression loop: a pointer to this very owner
        put16(b, 0xc000 | static_cast<unsigned>(at & 0x3fff));
        break;
    case 2:
        put16(b, 0xc000 | r.below(0x4000));
        break;
    default:
        put16(b, 0xc00c);
    }
    const unsigned type = r.pct(80) ? 1 : r.pct(50) ? 41 : r.below(65536);
    put16(b, type);
    put16(b, 1);
    put32(b, 3600);
    const Bytes rdata = r.pct(80) ? Bytes{198, 18, 0, 11} : r.bytes(r.below(40));
    put16(b, r.pct(92) ? static_cast<unsigned>(rdata.size()) : r.below(65536));
    append(b, rdata);
    return b;
}

Bytes dns_query(Rng& r, unsigned id, const Bytes& q) {
    unsigned flags = r.pct(90) ? 0x0100 : 0;
    if (r.pct(4))
        flags |= r.below(16) << 11; // opcode
    const unsigned qd = r.pct(94) ? 1 : r.pct(50) ? 0 : 2;
    const bool edns = r.pct(30);
    Bytes b = dns_header(id, flags, qd, 0, 0, edns ? 1 : 0);
    if (qd)
        append(b, q);
    if (edns)
        append(b, opt_rr(r, 0));
    if (r.pct(3))
        append(b, r.bytes(r.below(64))); // trailing junk
    return b;
}

unsigned random_rcode(Rng& r) {
    static const std::vector<unsigned> codes = {0, 0, 0, 0, 1, 2, 3, 3, 4, 5, 9, 16, 23};
    return r.pct(96) ? r.pick(codes) : r.below(4096);
}

// A response with the given question: answers (with compression loops and RDLENGTH lies),
// sometimes an authority RR, an OPT record carrying the upper rcode bits (RFC 6891 §6.1.3),
// count lies.
Bytes dns_response(Rng& r, unsigned id, const Bytes& q, unsigned rcode, bool qd0) {
    unsigned flags = 0x8180 | (rcode & 0xf);
    if (r.pct(5))
        flags |= 0x0200; // TC
    if (r.pct(3))
        flags |= r.below(16) << 11;
    const unsigned an = r.pct(20) ? 0 : 1 + r.below(3);
    const unsigned ns = r.pct(10) ? 1 : 0;
    const bool opt = rcode > 15 || r.pct(40);
    Bytes b = dns_header(id, flags, qd0 ? 0 : 1, an, ns, opt ? 1 : 0);
    if (!qd0)
        append(b, q);
    for (unsigned i = 0; i < an + ns; ++i)
        append(b, answer_rr(r, b.size()));
    if (opt)
        append(b, opt_rr(r, rcode >> 4));
    if (r.pct(5)) { // a count lie
        const std::size_t at = 6 + 2 * r.below(3);
        const unsigned v = r.pct(50) ? be16(b, at) + 1 + r.below(300) : r.below(65536);
        b[at] = static_cast<std::uint8_t>(v >> 8);
        b[at + 1] = static_cast<std::uint8_t>(v);
    }
    return b;
}

// ---- ICMP ------------------------------------------------------------------------------

// An ICMP/ICMPv6 error about `inner` (an L3 packet) from `from` to `to`: destination
// unreachable with a random code mostly, quoting the packet cut after its L4 header plus a
// few bytes, or whole (RFC 792, RFC 4443 §3.1).
Frame icmp_about(Rng& r, bool v6, const std::string& from, const std::string& to,
                 const Bytes& inner, std::size_t l4_end, bool egress, const Decor& d) {
    std::size_t cut = inner.size();
    if (r.pct(60))
        cut = std::min(inner.size(), l4_end + r.below(16));
    else if (r.pct(20))
        cut = r.below(static_cast<std::uint32_t>(inner.size()) + 1);
    const Bytes quote(inner.begin(), inner.begin() + static_cast<std::ptrdiff_t>(cut));
    std::uint8_t type = v6 ? 1 : 3, code;
    if (v6)
        code = static_cast<std::uint8_t>(r.below(8));
    else
        code = static_cast<std::uint8_t>(r.pct(80) ? r.pick(std::vector<unsigned>{0, 1, 3, 4, 13})
                                                   : r.below(16));
    if (r.pct(8))
        type = static_cast<std::uint8_t>(r.below(256));
    Decor outer;
    outer.vlans = d.vlans;
    Frame f;
    f.data = outer.packet(true, v6, from, to).icmp(type, code, quote).build();
    f.egress = egress;
    return f;
}

// Offset of the L4 payload in an L3 packet built by Decor::packet (no Ethernet), by the
// reference parser; the first 48 bytes when it finds none.
std::size_t l4_end_of(const Bytes& l3) {
    Bytes eth(12, 0);
    put16(eth, !l3.empty() && (l3[0] >> 4) == 6 ? 0x86dd : 0x0800);
    append(eth, l3);
    const Shape s = parse(eth);
    if (!s.l4 || !s.payload)
        return std::min(l3.size(), std::size_t{48});
    return s.payload - 14;
}

// ---- scenarios -------------------------------------------------------------------------

struct Gen {
    Rng& r;
    std::vector<Frame>& out;
    std::uint8_t fam;
    bool games_ = true; // dns_tcp: length and message games on

    void emit(Frame f) {
        f.family = fam;
        out.push_back(std::move(f));
    }

    // A DNS exchange over UDP: the query (sometimes sent again), an ICMP error about it, and
    // zero to three answers (rcodes, EDNS, TC, QDCOUNT=0, another id or question, the query's
    // direction, before the query).
    void dns_udp() {
        const bool v6 = r.pct(50);
        const Ends e = pick_ends(r, v6);
        const Decor d = random_decor(r, v6, fam);
        const bool per_frame = r.pct(15);
        const auto cport = static_cast<std::uint16_t>(40000 + r.below(8));
        const std::uint16_t sport = r.pct(97) ? 53 : static_cast<std::uint16_t>(r.below(65536));
        const unsigned id = r.below(48);
        const Bytes name = fam == kDnsNames || r.pct(5) ? game_name(r) : pool_name(r);
        const unsigned qtype = random_qtype(r);
        const Bytes q = question(name, qtype, r.pct(98) ? 1 : r.below(65536));
        auto frame = [&](bool from_client, const Bytes& payload) {
            const Decor dd = per_frame ? random_decor(r, v6, fam) : d;
            Packet p = dd.packet(true, v6, from_client ? e.client : e.server,
                                 from_client ? e.server : e.client);
            p.udp(from_client ? cport : sport, from_client ? sport : cport).payload(payload);
            Frame f;
            f.data = p.build();
            f.egress = from_client == e.client_egress;
            return f;
        };
        std::vector<Frame> seq;
        const Bytes query = dns_query(r, id, q);
        seq.push_back(frame(true, query));
        if (r.pct(10))
            seq.push_back(frame(true, r.pct(80) ? query : dns_query(r, id, q)));
        if (r.pct(8)) {
            const Bytes inner =
                d.packet(false, v6, e.client, e.server).udp(cport, sport).payload(query).build();
            seq.push_back(icmp_about(r, v6, r.pct(80) ? e.server : e.client, e.client, inner,
                                     l4_end_of(inner), !e.client_egress, d));
        }
        const unsigned k = r.below(100);
        const unsigned answers = k < 10 ? 0 : k < 80 ? 1 : k < 95 ? 2 : 3;
        for (unsigned i = 0; i < answers; ++i) {
            const unsigned rid = r.pct(90) ? id : r.below(48);
            Bytes rq = q;
            if (r.pct(10)) // another question: mismatched (RFC 5452 §9.1)
                rq = question(r.pct(50) ? pool_name(r) : name, r.pct(50) ? qtype : random_qtype(r),
                              1);
            const unsigned rcode = random_rcode(r);
            const bool qd0 = r.pct(8);
            Frame f = frame(false, dns_response(r, rid, rq, rcode, qd0));
            if (r.pct(4))
                f.egress = !f.egress; // travelling the query's way: a forged answer
            seq.push_back(std::move(f));
        }
        if (seq.size() > 1 && r.pct(5))
            std::swap(seq.front(), seq.back()); // the answer before its query
        for (auto& f : seq)
            emit(std::move(f));
    }

    // Stream bytes cut into segments (offset, bytes): whole, random cuts, 1-byte segments
    // first, cuts inside each 2-byte length, MSS-sized or tiny chunks.
    std::vector<std::pair<std::size_t, Bytes>> segments(const Bytes& s,
                                                        const std::vector<std::size_t>& starts) {
        std::vector<std::size_t> cuts;
        switch (r.below(6)) {
        case 0:
            break;
        case 1:
            for (unsigned i = 0, n = 1 + r.below(6); i < n; ++i)
                cuts.push_back(r.below(s.size() + 1));
            break;
        case 2:
            for (std::size_t i = 1, n = 2 + r.below(16); i < n; ++i)
                cuts.push_back(i);
            break;
        case 3:
            for (auto st : starts)
                cuts.push_back(st + 1 + r.below(20));
            break;
        case 4:
            for (std::size_t at = 536; at < s.size(); at += 536)
                cuts.push_back(at);
            break;
        default:
            for (std::size_t at = 1 + r.below(20); at < s.size(); at += 1 + r.below(20))
                cuts.push_back(at);
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        std::vector<std::pair<std::size_t, Bytes>> segs;
        std::size_t from = 0;
        for (auto c : cuts) {
            if (c <= from || c >= s.size())
                continue;
            segs.emplace_back(from, Bytes(s.begin() + static_cast<std::ptrdiff_t>(from),
                                          s.begin() + static_cast<std::ptrdiff_t>(c)));
            from = c;
        }
        if (from < s.size())
            segs.emplace_back(from, Bytes(s.begin() + static_cast<std::ptrdiff_t>(from), s.end()));
        // Delivery: out of order, retransmitted, lost, overlapping.
        if (segs.size() > 1 && r.pct(10)) {
            const std::size_t i = r.below(segs.size() - 1);
            std::swap(segs[i], segs[i + 1]);
        }
        if (!segs.empty() && r.pct(10)) {
            const std::size_t i = r.below(segs.size());
            segs.insert(segs.begin() + static_cast<std::ptrdiff_t>(
                                           r.range(static_cast<std::uint32_t>(i),
                                                   static_cast<std::uint32_t>(segs.size()))),
                        segs[i]);
        }
        if (segs.size() > 1 && r.pct(6))
            segs.erase(segs.begin() + r.below(segs.size()));
        if (s.size() > 4 && r.pct(4)) { // a segment overlapping the ones around it
            const std::size_t a = r.below(s.size() - 1);
            const std::size_t b = std::min(s.size(), a + 1 + r.below(64));
            segs.insert(segs.begin() + r.below(segs.size() + 1),
                        std::make_pair(a, Bytes(s.begin() + static_cast<std::ptrdiff_t>(a),
                                                s.begin() + static_cast<std::ptrdiff_t>(b))));
        }
        if (segs.size() > 2 && r.pct(2))
            std::reverse(segs.begin(), segs.end());
        return segs;
    }

    // The 2-byte length of a TCP DNS message (RFC 7766 §8), sometimes a lie: zero, shorter
    // than a header, longer than the message.
    void length_prefixed(Bytes& stream, std::vector<std::size_t>& starts, const Bytes& m) {
        unsigned len = static_cast<unsigned>(m.size());
        const unsigned k = games_ ? r.below(100) : 100;
        if (k < 4)
            len = 0;
        else if (k < 8)
            len = r.below(12);
        else if (k < 12)
            len += 1 + r.below(3000);
        else if (k < 14)
            len = r.below(65536);
        starts.push_back(stream.size());
        put16(stream, len);
        append(stream, m);
    }

    // DNS over TCP: several queries in one stream, answers in another order, both cut into
    // segments delivered in order or not, with length-prefix games.
    void dns_tcp() {
        const bool v6 = r.pct(50);
        const Ends e = pick_ends(r, v6);
        const Decor d = random_decor(r, v6, fam);
        const auto cport = static_cast<std::uint16_t>(41000 + r.below(8));
        // Many messages in one stream (more than the 32 a segment is read for), mostly clean.
        const bool many = r.pct(5);
        const unsigned n = many ? 30 + r.below(12) : 1 + r.below(5);
        games_ = !many || r.pct(30);
        const unsigned id0 = r.below(48);
        Bytes cs, ss;
        std::vector<std::size_t> cstarts, sstarts;
        std::vector<std::pair<unsigned, Bytes>> asked;
        for (unsigned i = 0; i < n; ++i) {
            const unsigned id = (id0 + i) & 0xffff;
            const Bytes q = question(r.pct(90) ? pool_name(r) : game_name(r), random_qtype(r), 1);
            Bytes m = dns_query(r, id, q);
            if (games_ && r.pct(5))
                m.resize(r.below(m.size())); // shorter than its header and question
            if (games_ && r.pct(4))
                append(m, r.bytes(r.below(3000))); // longer than its segment
            length_prefixed(cs, cstarts, m);
            asked.emplace_back(id, q);
        }
        for (std::size_t i = asked.size(); i > 1; --i) // answers in any order
            std::swap(asked[i - 1], asked[r.below(i)]);
        for (const auto& [id, q] : asked)
            if (r.pct(80))
                length_prefixed(ss, sstarts, dns_response(r, id, q, random_rcode(r), r.pct(3)));
        const std::uint32_t cisn = r.pct(10) ? 0xffffffffu - r.below(64) : r.u32();
        const std::uint32_t sisn = r.pct(10) ? 0xffffffffu - r.below(64) : r.u32();
        const bool per_frame = r.pct(10);
        auto frame = [&](bool from_client, std::size_t off, const Bytes& payload) {
            const Decor dd = per_frame ? random_decor(r, v6, fam) : d;
            Packet p = dd.packet(true, v6, from_client ? e.client : e.server,
                                 from_client ? e.server : e.client);
            const std::uint8_t flags = r.pct(90) ? PSH | ACK : r.pct(50) ? ACK : FIN | ACK;
            const std::uint32_t seq = (from_client ? cisn : sisn) + static_cast<std::uint32_t>(off);
            p.tcp(from_client ? cport : 53, from_client ? 53 : cport, flags, seq).payload(payload);
            Frame f;
            f.data = p.build();
            f.egress = from_client == e.client_egress;
            return f;
        };
        auto csegs = segments(cs, cstarts), ssegs = segments(ss, sstarts);
        // Queries first, or both streams interleaved at random.
        const bool interleave = r.pct(40);
        std::size_t ci = 0, si = 0;
        while (ci < csegs.size() || si < ssegs.size()) {
            const bool client =
                si == ssegs.size() || (ci < csegs.size() && (!interleave || r.pct(60)));
            const auto& [off, bytes] = client ? csegs[ci++] : ssegs[si++];
            emit(frame(client, off, bytes));
        }
    }

    // Server segments of SMTP replies: cut anywhere, pipelined together, out of order,
    // retransmitted, lost.
    void smtp_replies(const std::string& text, std::uint32_t& sseq,
                      const std::function<Frame(std::uint8_t, std::uint32_t, const Bytes&)>& sf,
                      bool big_ok) {
        Bytes s(text.begin(), text.end());
        std::vector<std::pair<std::size_t, Bytes>> segs;
        std::size_t from = 0;
        while (from < s.size()) {
            std::size_t len = s.size() - from;
            if (r.pct(40))
                len = std::min(len, std::size_t{1} + r.below(24));
            if (!big_ok)
                len = std::min<std::size_t>(len, 1400);
            segs.emplace_back(from, Bytes(s.begin() + static_cast<std::ptrdiff_t>(from),
                                          s.begin() + static_cast<std::ptrdiff_t>(from + len)));
            from += len;
        }
        if (segs.size() > 1 && r.pct(6)) {
            const std::size_t i = r.below(segs.size() - 1);
            std::swap(segs[i], segs[i + 1]);
        }
        if (!segs.empty() && r.pct(6))
            segs.push_back(segs[r.below(segs.size())]); // retransmission
        if (segs.size() > 1 && r.pct(4))
            segs.erase(segs.begin() + r.below(segs.size())); // a gap
        for (const auto& [off, b] : segs)
            emit(sf(PSH | ACK, sseq + static_cast<std::uint32_t>(off), b));
        sseq += static_cast<std::uint32_t>(s.size());
    }

    std::string garbage_line() {
        static const std::vector<std::string> lines = {
            "hello\r\n",  "2\r\n",        "25x ok\r\n",   "2500 too many digits\r\n",
            "\r\n",       "250",          "\n",           "250-\n",
            "-250 x\r\n", "999 what\r\n", "000 zero\r\n",
        };
        if (r.pct(70))
            return r.pick(lines);
        const Bytes b = r.bytes(1 + r.below(80));
        std::string s(b.begin(), b.end());
        if (r.pct(50))
            s += "\r\n";
        return s;
    }

    // An SMTP connection (RFC 5321): SYN (retransmitted, or a new attempt), SYN-ACK / RST /
    // ICMP / nothing, the greeting (text, multi-line, implicit TLS on 465, garbage), commands
    // and replies (multi-line, pipelined, split, garbage, long lines), STARTTLS (RFC 3207), and
    // an end (FIN or RST from either side, or none).
    void smtp() {
        const bool v6 = r.pct(50);
        const Ends e = pick_ends(r, v6);
        const Decor d = random_decor(r, v6, fam);
        static const std::vector<std::uint16_t> ports = {25,  25,  25,  25,  25,
                                                         587, 587, 465, 465, 2525};
        const std::uint16_t port = r.pick(ports);
        const auto cport = static_cast<std::uint16_t>(30000 + r.below(16));
        std::uint32_t cseq = r.u32(), sseq = r.u32();
        const bool server_ingress = e.client_egress; // the server's segments arrive
        // Each side acknowledges what the other sent so far (the sensor accepts only
        // segments the receiving TCP would: bpf/lib/tcp.h); a few of them lie (mutations).
        auto cf = [&](std::uint8_t flags, std::uint32_t seq, const Bytes& p) {
            Frame f;
            f.data = d.packet(true, v6, e.client, e.server)
                         .tcp(cport, port, flags, seq, sseq)
                         .payload(p)
                         .build();
            f.egress = e.client_egress;
            return f;
        };
        std::function<Frame(std::uint8_t, std::uint32_t, const Bytes&)> sf =
            [&](std::uint8_t flags, std::uint32_t seq, const Bytes& p) {
                Frame f;
                f.data = d.packet(true, v6, e.server, e.client)
                             .tcp(port, cport, flags, seq, cseq)
                             .payload(p)
                             .build();
                f.egress = !e.client_egress;
                return f;
            };
        emit(cf(SYN, cseq, {}));
        if (r.pct(10))
            emit(cf(SYN, cseq, {})); // retransmitted
        if (r.pct(5)) {
            cseq = r.u32(); // a new attempt on the same 4-tuple
            emit(cf(SYN, cseq, {}));
        }
        const unsigned k = r.below(100);
        if (k >= 88)
            return;    // no answer: the sweep's timeout
        if (k >= 80) { // ICMP unreachable quoting the SYN (its sequence number, or another)
            const Bytes inner = d.packet(false, v6, e.client, e.server)
                                    .tcp(cport, port, SYN, r.pct(70) ? cseq : r.u32())
                                    .build();
            emit(icmp_about(r, v6, r.pct(80) ? e.server : e.client, e.client, inner, inner.size(),
                            !e.client_egress, d));
            if (r.pct(30))
                emit(cf(SYN, cseq, {}));
            if (r.pct(60))
                return;
        }
        ++cseq; // what the server's answer to the SYN acknowledges
        if (k >= 70) {
            if (r.pct(20))
                --cseq; // an RST acknowledging nothing sent: rejected
            emit(sf(RST | ACK, r.pct(50) ? 0 : sseq, {}));
            return;
        }
        emit(sf(SYN | ACK, sseq, {}));
        if (r.pct(5))
            emit(sf(SYN | ACK, sseq, {}));
        ++sseq;
        emit(cf(ACK, cseq, {}));

        std::string greeting;
        if (port == 465 && r.pct(70)) {
            const Bytes hello = {0x16, 0x03, 0x03, 0x00, 0x5a, 0x02, 0x00, 0x00, 0x56, 0x03, 0x03};
            greeting.assign(hello.begin(), hello.end());
            const Bytes rest = r.bytes(r.below(90));
            greeting.append(rest.begin(), rest.end());
        } else {
            static const std::vector<std::string> g = {
                "220 mx.example.test ESMTP\r\n",
                "220-mx.example.test ESMTP\r\n220-more\r\n220 ready\r\n",
                "421 4.3.2 Service not available\r\n",
                "554 5.7.1 no\r\n",
                "220\r\n",
                "220 bare LF\n",
            };
            greeting = r.pct(90) ? r.pick(g) : garbage_line();
        }
        if (r.pct(10))
            greeting.clear(); // closed before the greeting
        if (!greeting.empty())
            smtp_replies(greeting, sseq, sf, server_ingress);

        static const std::vector<std::pair<std::string, std::string>> dialogue = {
            {"EHLO client.example.test\r\n",
             "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"},
            {"MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
             "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
            {"RCPT TO:<c@example.test>\r\n", "550 5.1.1 unknown\r\n"},
            {"RSET\r\n", "250 2.0.0 Ok\r\n"},
            {"VRFY x\r\n", "252 2.0.0 x\r\n"},
            {"NOOP\r\n", "451 4.3.0 try again\r\n"},
            {"QUIT\r\n", "221 2.0.0 Bye\r\n"},
        };
        for (unsigned step = 0, steps = r.below(6); step < steps; ++step) {
            std::string cmd, reply;
            const unsigned w = r.below(100);
            if (w < 15) {
                cmd = r.pct(80) ? "STARTTLS\r\n" : "starttls\r\n";
                static const std::vector<std::string> answers = {
                    "220 2.0.0 Ready to start TLS\r\n", "454 4.7.0 TLS not available\r\n",
                    "502 5.5.1 no\r\n", "220-wait\r\n220 go\r\n"};
                reply = r.pick(answers);
            } else if (w < 25) {
                cmd = "NOOP\r\n";
                for (unsigned i = 0, n = 1 + r.below(4); i < n; ++i)
                    reply += r.pct(50) ? garbage_line()
                                       : fmt::format("{}{}x\r\n", r.range(100, 999),
                                                     r.pct(30) ? '-' : ' ');
            } else if (w < 30) {
                cmd = "HELP\r\n";
                reply = "214-" + std::string(2100 + r.below(3000), 'h') + "\r\n214 end\r\n";
            } else if (w < 40 && server_ingress) { // a GSO/GRO-sized segment of replies
                cmd = "NOOP\r\n";
                const std::size_t size = 3000 + r.below(6000);
                while (reply.size() < size)
                    reply += "250 2.1.5 Ok\r\n";
            } else {
                std::tie(cmd, reply) = r.pick(dialogue);
            }
            emit(cf(PSH | ACK, cseq, Bytes(cmd.begin(), cmd.end())));
            cseq += static_cast<std::uint32_t>(cmd.size());
            if (r.pct(95))
                smtp_replies(reply, sseq, sf, server_ingress);
            if (reply.rfind("220", 0) == 0 && cmd.size() == 10 && r.pct(80)) {
                // TLS from here: the records of both sides.
                const Bytes ctls = r.bytes(20 + r.below(200)), stls = r.bytes(20 + r.below(200));
                emit(cf(PSH | ACK, cseq, ctls));
                cseq += static_cast<std::uint32_t>(ctls.size());
                emit(sf(PSH | ACK, sseq, stls));
                sseq += static_cast<std::uint32_t>(stls.size());
            }
        }
        const unsigned end = r.below(100);
        if (end < 35)
            emit(sf(FIN | ACK, sseq, {}));
        else if (end < 55)
            emit(cf(FIN | ACK, cseq, {}));
        else if (end < 65)
            emit(cf(RST | ACK, cseq, {}));
        else if (end < 75)
            emit(sf(RST | ACK, sseq, {}));
        if (r.pct(5))
            emit(cf(SYN, r.u32(), {})); // the 4-tuple reused
    }

    // ICMP errors about DNS queries, SMTP SYNs and random packets, with extension headers in
    // the quote and quotes cut short.
    void icmp() {
        const bool v6 = r.pct(50);
        const Ends e = pick_ends(r, v6);
        const Decor d = random_decor(r, v6, r.pct(30) ? kIp6Ext : kFragments);
        Bytes inner;
        Packet p = d.packet(false, v6, e.client, e.server);
        const unsigned k = r.below(3);
        if (k == 0) {
            const Bytes q = question(pool_name(r), 1, 1);
            const auto cport = static_cast<std::uint16_t>(40000 + r.below(8));
            const Bytes m = r.pct(80) ? dns_query(r, r.below(48), q)
                                      : dns_response(r, r.below(48), q, 0, false);
            inner = p.udp(cport, 53).payload(m).build();
            // The query itself first, so that the error may end it.
            if (r.pct(70)) {
                Frame f;
                f.data = d.packet(true, v6, e.client, e.server).udp(cport, 53).payload(m).build();
                f.egress = e.client_egress;
                emit(std::move(f));
            }
        } else if (k == 1) {
            inner = p.tcp(static_cast<std::uint16_t>(30000 + r.below(16)), r.pct(80) ? 25 : 587,
                          SYN, r.u32())
                        .build();
        } else {
            inner = r.bytes(r.below(120));
            if (!inner.empty())
                inner[0] = static_cast<std::uint8_t>((v6 ? 0x60 : 0x45) | (inner[0] & 0x0f));
        }
        emit(icmp_about(r, v6, e.server, e.client, inner, std::min<std::size_t>(inner.size(), 48),
                        r.pct(50) ? !e.client_egress : e.client_egress, d));
    }

    // Random bytes: alone, behind a valid Ethernet header, or behind valid headers to a DNS or
    // SMTP port (random DNS headers and SMTP text among them).
    void random() {
        for (unsigned i = 0, n = 1 + r.below(4); i < n; ++i) {
            Frame f;
            f.egress = r.pct(50);
            const unsigned k = r.below(10);
            if (k < 4) {
                f.data = r.bytes(kMinFrame + r.below(1500));
            } else if (k < 6) {
                f.data = r.bytes(12);
                static const std::vector<unsigned> types = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806};
                put16(f.data, r.pct(90) ? r.pick(types) : r.below(65536));
                append(f.data, r.bytes(r.below(1500)));
            } else {
                const bool v6 = r.pct(50);
                const Ends e = pick_ends(r, v6);
                Packet p = random_decor(r, v6, fam).packet(true, v6, e.client, e.server);
                static const std::vector<std::uint16_t> ports = {53, 53, 25, 465, 587};
                const std::uint16_t a = r.pick(ports);
                const auto b =
                    static_cast<std::uint16_t>(r.pct(80) ? 1024 + r.below(64512) : r.pick(ports));
                const bool swap = r.pct(50);
                Bytes payload;
                if (r.pct(40)) {
                    payload = dns_header(r.below(48), r.below(65536), r.below(3), r.below(4),
                                         r.below(2), r.below(3));
                    append(payload, r.bytes(r.below(300)));
                } else if (r.pct(30)) {
                    for (unsigned j = 0, m = 1 + r.below(5); j < m; ++j)
                        append(payload, garbage_line());
                } else {
                    payload = r.bytes(r.below(600));
                }
                if (r.pct(50))
                    p.udp(swap ? b : a, swap ? a : b);
                else
                    p.tcp(swap ? b : a, swap ? a : b, r.byte(), r.u32());
                f.data = p.payload(payload).build();
            }
            emit(std::move(f));
        }
    }

    // One frame of another family at every length from 14 bytes on (at most 600 bytes).
    void truncations() {
        std::vector<Frame> tmp;
        Gen g{r, tmp, kDnsUdp, true};
        switch (r.below(5)) {
        case 0:
            g.dns_udp();
            break;
        case 1:
            g.fam = kIp6Ext;
            g.dns_udp();
            break;
        case 2:
            g.dns_tcp();
            break;
        case 3:
            g.smtp();
            break;
        default:
            g.icmp();
        }
        Frame base = tmp[r.below(tmp.size())];
        if (base.data.size() > 600)
            base.data.resize(600);
        for (std::size_t n = kMinFrame; n <= base.data.size(); ++n) {
            Frame f;
            f.data.assign(base.data.begin(), base.data.begin() + static_cast<std::ptrdiff_t>(n));
            f.egress = base.egress;
            f.mutable_ = false;
            emit(std::move(f));
        }
    }

    void scenario() {
        switch (fam) {
        case kDnsUdp:
        case kDnsNames:
        case kIp6Ext:
        case kVlan:
        case kFragments:
            dns_udp();
            break;
        case kDnsTcp:
            dns_tcp();
            break;
        case kSmtp:
            smtp();
            break;
        case kIcmp:
            icmp();
            break;
        case kTruncated:
            truncations();
            break;
        default:
            random();
        }
    }
};

// Per mille of scenarios of each family (the truncation sweeps are ~300 frames each).
constexpr std::array<unsigned, kFamilies> kWeights = {300, 45, 100, 100, 80, 70, 110, 80, 4, 110};

std::uint8_t pick_family(Rng& r) {
    unsigned total = 0;
    for (auto w : kWeights)
        total += w;
    unsigned x = r.below(total);
    for (std::uint8_t f = 0; f < kFamilies; ++f) {
        if (x < kWeights[f])
            return f;
        x -= kWeights[f];
    }
    return kRandom;
}

// ---- mutations -------------------------------------------------------------------------

std::uint8_t interesting_byte(Rng& r) {
    static const std::vector<std::uint8_t> v = {0, 1, 0x7f, 0x80, 0xff, 0xc0, 0x3f, 0x40, 12, 53};
    return r.pct(50) ? r.pick(v) : r.byte();
}

// A length that lies about its field's content: zero, off by a little, far too large.
unsigned lie(Rng& r, unsigned v, unsigned max) {
    switch (r.below(7)) {
    case 0:
        return 0;
    case 1:
        return v + 1;
    case 2:
        return v ? v - 1 : max;
    case 3:
        return v + 1 + r.below(64);
    case 4:
        return v > 64 ? v - r.below(64) : r.below(v + 1);
    case 5:
        return max;
    default:
        return r.below(max + 1);
    }
}

// 1-4 of: bit flips, byte replacements, length-field lies, truncation, a random tail,
// inserted or deleted bytes. Half the flips and replacements aim at the L4 payload.
void mutate(Rng& r, Bytes& f) {
    const Shape s = parse(f);
    for (unsigned op = 0, n = 1 + r.below(4); op < n; ++op) {
        if (f.size() < kMinFrame)
            break;
        auto pos = [&] {
            if (s.payload && s.payload < f.size() && r.pct(50))
                return s.payload + r.below(f.size() - s.payload);
            return std::size_t{r.below(f.size())};
        };
        const unsigned k = r.below(100);
        if (k < 28) {
            f[pos()] ^= static_cast<std::uint8_t>(1u << r.below(8));
        } else if (k < 50) {
            f[pos()] = interesting_byte(r);
        } else if (k < 78 && !s.fields.empty()) {
            const Field& fl = s.fields[r.below(s.fields.size())];
            if (fl.off + fl.width > f.size())
                continue;
            if (fl.width == 2) {
                const unsigned v = lie(r, be16(f, fl.off), 0xffff) & 0xffff;
                f[fl.off] = static_cast<std::uint8_t>(v >> 8);
                f[fl.off + 1] = static_cast<std::uint8_t>(v);
            } else if (fl.nibble == 1) {
                f[fl.off] = static_cast<std::uint8_t>((f[fl.off] & 0xf0) |
                                                      (lie(r, f[fl.off] & 0xf, 15) & 0xf));
            } else if (fl.nibble == 2) {
                f[fl.off] = static_cast<std::uint8_t>((f[fl.off] & 0x0f) |
                                                      (lie(r, f[fl.off] >> 4, 15) & 0xf) << 4);
            } else {
                f[fl.off] = static_cast<std::uint8_t>(lie(r, f[fl.off], 0xff));
            }
        } else if (k < 86) {
            f.resize(kMinFrame + r.below(f.size() - kMinFrame + 1));
        } else if (k < 92) {
            append(f, r.bytes(1 + r.below(64)));
        } else if (k < 96) {
            const Bytes ins = r.bytes(1 + r.below(8));
            f.insert(f.begin() + static_cast<std::ptrdiff_t>(r.below(f.size() + 1)), ins.begin(),
                     ins.end());
        } else {
            const std::size_t at = r.below(f.size());
            const std::size_t len = std::min<std::size_t>(1 + r.below(8), f.size() - at);
            if (f.size() - len >= kMinFrame)
                f.erase(f.begin() + static_cast<std::ptrdiff_t>(at),
                        f.begin() + static_cast<std::ptrdiff_t>(at + len));
        }
    }
}

// ---- maps, read raw --------------------------------------------------------------------

template <class Key, class Visit> void for_each_key(int fd, Visit&& visit) {
    Key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        visit(next);
        key = next;
        prev = &key;
    }
}

// Per server key of keys_fd, a value of all-u64 per-CPU parts summed over CPUs; read(k, buf)
// fills buf with a server's per-CPU values (false: none).
template <class Value, class Read> KeyMap<Value> sum_percpu(int keys_fd, Read read) {
    static_assert(sizeof(Value) % 8 == 0);
    const int ncpus = libbpf_num_possible_cpus();
    constexpr std::size_t n64 = sizeof(Value) / 8;
    std::vector<std::uint64_t> buf(n64 * static_cast<std::size_t>(ncpus));
    KeyMap<Value> out;
    for_each_key<mxs_server_key>(keys_fd, [&](const mxs_server_key& k) {
        if (!read(k, buf.data()))
            return;
        std::array<std::uint64_t, n64> sum{};
        for (int c = 0; c < ncpus; ++c)
            for (std::size_t i = 0; i < n64; ++i)
                sum[i] += buf[static_cast<std::size_t>(c) * n64 + i];
        Value v;
        std::memcpy(&v, sum.data(), sizeof(v));
        out[k] = v;
    });
    return out;
}

// Per server key of keys_fd, one shared value; read(k, v) fills it (false: none).
template <class Value, class Read> KeyMap<Value> collect_shared(int keys_fd, Read read) {
    KeyMap<Value> out;
    auto v = std::make_unique<Value>();
    for_each_key<mxs_server_key>(keys_fd, [&](const mxs_server_key& k) {
        if (read(k, v.get()))
            out[k] = *v;
    });
    return out;
}

// A per-CPU hash keyed by server, summed over CPUs.
template <class Value> KeyMap<Value> read_percpu(int fd) {
    return sum_percpu<Value>(fd, [fd](const mxs_server_key& k, void* buf) {
        return bpf_map_lookup_elem(fd, &k, buf) == 0;
    });
}

template <class Value> KeyMap<Value> read_shared(int fd) {
    return collect_shared<Value>(
        fd, [fd](const mxs_server_key& k, void* v) { return bpf_map_lookup_elem(fd, &k, v) == 0; });
}

// The value at a DNS server's slot of an array (mxs_dns_servers gives the slot): false without.
inline bool at_slot(int servers_fd, int fd, const mxs_server_key& k, void* out) {
    __u32 slot = 0;
    return bpf_map_lookup_elem(servers_fd, &k, &slot) == 0 &&
           bpf_map_lookup_elem(fd, &slot, out) == 0;
}

// A per-CPU array at each DNS server's slot, summed over CPUs, by server.
template <class Value> KeyMap<Value> read_percpu_by_slot(int servers_fd, int fd) {
    return sum_percpu<Value>(servers_fd, [=](const mxs_server_key& k, void* buf) {
        return at_slot(servers_fd, fd, k, buf);
    });
}

// A shared array at each DNS server's slot, by server.
template <class Value> KeyMap<Value> read_shared_by_slot(int servers_fd, int fd) {
    return collect_shared<Value>(servers_fd, [=](const mxs_server_key& k, void* v) {
        return at_slot(servers_fd, fd, k, v);
    });
}

template <class T, std::size_t N> std::uint64_t total(const T (&a)[N]) {
    std::uint64_t n = 0;
    for (auto x : a)
        n += x;
    return n;
}

std::uint64_t count_keys(int fd, std::size_t key_size) {
    std::vector<std::uint8_t> key(key_size), next(key_size);
    const void* prev = nullptr;
    std::uint64_t n = 0;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
        ++n;
        key = next;
        prev = key.data();
    }
    return n;
}

std::uint32_t probe_max_frame(int fd, std::vector<std::uint8_t>& out) {
    std::uint32_t lo = kMinFrame, hi = 1u << 17;
    Bytes f(hi, 0);
    while (lo < hi) {
        const std::uint32_t mid = lo + (hi - lo + 1) / 2;
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data(), .data_out = out.data(),
                    .data_size_in = mid, .data_size_out = static_cast<__u32>(out.size()),
                    .repeat = 1);
        if (bpf_prog_test_run_opts(fd, &o) == 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

// Whether BPF_PROG_TEST_RUN refuses the frame as an skb: an Ethernet type of IPv4 or IPv6
// without the fixed IP header behind it.
bool tc_refuses(const Bytes& f) {
    const unsigned type = be16(f, 12);
    return (type == 0x0800 && f.size() < 14 + 20) || (type == 0x86dd && f.size() < 14 + 40);
}

// ---- one round -------------------------------------------------------------------------

struct Round {
    Round(const Sensor& sensor, const MapFds& m, const Options& o, Report& report, std::uint64_t i,
          std::uint64_t seed, std::vector<std::uint8_t>& buf)
        : s(sensor), maps(m), opt(o), rep(report), index(i), r(seed), out(buf),
          xdp(sensor.xdp_prog_fd()), tc(sensor.tc_prog_fd()) {}

    const Sensor& s;
    const MapFds& maps;
    const Options& opt;
    Report& rep;
    std::uint64_t index;
    Rng r;
    std::vector<std::uint8_t>& out;
    int xdp, tc;

    // Independent counts, from the frames sent (the reference parser).
    KeyMap<std::uint64_t> udp_queries, udp_responses, smtp_syns;
    // TCP payload bytes to (queries) and from (responses) DNS servers, and from SMTP servers
    // (both roles under role 0: a segment's role is its connection's, not its direction's).
    KeyMap<std::uint64_t> tcp_query_bytes, tcp_response_bytes, smtp_server_bytes;
    std::uint64_t xdp_frames = 0, tc_frames = 0, syns = 0;
    // UDP queries (client, server, client port, 53, id, egress) and SMTP SYNs (client, server,
    // ports, sequence number, egress) sent; ICMP errors quoting one of them, travelling back.
    std::set<Sent> queries_sent, syns_sent;
    KeyMap<std::uint64_t> dns_unreach_quotes, smtp_unreach_quotes;
    // What the sweeps took.
    KeyMap<std::uint64_t> dns_expired, smtp_timeouts;
    std::uint64_t expired_total = 0;
    std::uint64_t started_ns = monotonic_ns(); // no latency of this round can be longer

    // A histogram of latencies taken in this round and their sum: each sample at most the
    // round's duration, so no bucket above that duration's and no sum above count x duration.
    void check_latency(const std::string& what, const __u64 (&hist)[MXS_HIST_BUCKETS],
                       std::uint64_t sum, std::uint64_t now) {
        const std::uint64_t longest = now - started_ns;
        const std::uint32_t last = mxs_hist_bucket(longest);
        std::uint64_t count = 0;
        for (std::uint32_t b = 0; b < MXS_HIST_BUCKETS; ++b) {
            count += hist[b];
            if (hist[b] && b > last)
                fail(fmt::format("{}: {} samples in bucket {}, longer than the round ({} ns)", what,
                                 hist[b], b, longest));
        }
        if (sum > count * longest)
            fail(fmt::format("{}: {} samples sum to {} ns, the round took {} ns", what, count, sum,
                             longest));
    }

    bool full() const { return rep.violations.size() >= opt.max_violations; }

    void fail(const std::string& what) {
        if (full())
            return;
        rep.violations.push_back(fmt::format("round {}: {} (reproduce: MXS_FUZZ_SEED={} "
                                             "MXS_FUZZ_ROUND={})",
                                             index, what, rep.seed, index));
    }

    void count_reference(const Frame& f) {
        const Shape sh = parse(f.data);
        if (!sh.l4)
            return;
        const std::size_t n = f.data.size();
        if ((sh.proto == 1 || sh.proto == 58) && sh.l4) {
            const Quote q = parse_quote(f.data, sh.l4off + 8, sh.proto == 58);
            // An error arriving is about this host's packet (client role); leaving, about a
            // packet to it (server role). It ends only what went the other way.
            const std::uint8_t role = f.egress ? MXS_ROLE_SERVER : MXS_ROLE_CLIENT;
            if (q.ok && q.proto == kUdp && q.dport == 53 && q.has_id &&
                queries_sent.count({q.src, q.dst, q.sport, q.dport, q.id, !f.egress}))
                ++dns_unreach_quotes[key_of(q.dst, 53, kUdp, role)];
            if (q.ok && q.proto == kTcp && q.has_seq &&
                syns_sent.count({q.src, q.dst, q.sport, q.dport, q.seq, !f.egress}))
                ++smtp_unreach_quotes[key_of(q.dst, q.dport, kTcp, role)];
            return;
        }
        if (sh.proto == kUdp && sh.payload + 3 <= n) {
            const bool qr = f.data[sh.payload + 2] & 0x80;
            // Queries leaving and answers arriving: this host is the client.
            if (!qr && sh.dport == 53) {
                ++udp_queries[key_of(sh.dst, sh.dport, kUdp,
                                     f.egress ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER)];
                queries_sent.insert({sh.src, sh.dst, sh.sport, sh.dport,
                                     static_cast<std::uint32_t>(be16(f.data, sh.payload)),
                                     f.egress});
            }
            if (qr && sh.sport == 53)
                ++udp_responses[key_of(sh.src, sh.sport, kUdp,
                                       f.egress ? MXS_ROLE_SERVER : MXS_ROLE_CLIENT)];
        }
        const auto smtp_port = [](std::uint16_t p) { return p == 25 || p == 465 || p == 587; };
        if (sh.proto == kTcp && sh.payload < n) {
            const std::uint64_t bytes = n - sh.payload;
            if (sh.dport == 53)
                tcp_query_bytes[key_of(sh.dst, 53, kTcp,
                                       f.egress ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER)] += bytes;
            if (sh.sport == 53)
                tcp_response_bytes[key_of(sh.src, 53, kTcp,
                                          f.egress ? MXS_ROLE_SERVER : MXS_ROLE_CLIENT)] += bytes;
            if (smtp_port(sh.sport) && !smtp_port(sh.dport))
                smtp_server_bytes[key_of(sh.src, sh.sport, kTcp, 0)] += bytes;
        }
        if (sh.proto == kTcp && (sh.tcp_flags & (SYN | ACK)) == SYN &&
            (sh.dport == 25 || sh.dport == 465 || sh.dport == 587)) {
            ++smtp_syns[key_of(sh.dst, sh.dport, kTcp,
                               f.egress ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER)];
            ++syns;
            const std::size_t l4 = sh.l4off;
            syns_sent.insert(
                {sh.src, sh.dst, sh.sport, sh.dport,
                 static_cast<std::uint32_t>(be16(f.data, l4 + 4)) << 16 | be16(f.data, l4 + 6),
                 f.egress});
        }
    }

    void run_frame(const Frame& f, std::uint64_t n) {
        const int fd = f.egress ? tc : xdp;
        const int want = f.egress ? kTcActOk : kXdpPass;
        LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f.data.data(), .data_out = out.data(),
                    .data_size_in = static_cast<__u32>(f.data.size()),
                    .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
        const auto t0 = std::chrono::steady_clock::now();
        const int err = bpf_prog_test_run_opts(fd, &o);
        rep.run_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        (f.egress ? tc_frames : xdp_frames)++;
        auto where = [&] {
            return fmt::format("frame {} ({}, {}, {} bytes): ", n, f.egress ? "tc" : "xdp",
                               family_name(f.family), f.data.size());
        };
        if (err) {
            fail(where() + fmt::format("BPF_PROG_TEST_RUN failed: {}; frame {}",
                                       std::strerror(errno), hex(f.data)));
            return;
        }
        if (static_cast<int>(o.retval) != want)
            fail(where() +
                 fmt::format("returned {}, not {}; frame {}", o.retval, want, hex(f.data)));
        if (o.data_size_out != f.data.size() ||
            std::memcmp(out.data(), f.data.data(), f.data.size()) != 0)
            fail(where() +
                 fmt::format(
                     "frame changed ({} bytes out); in {} out {}", o.data_size_out, hex(f.data),
                     hex(Bytes(out.begin(),
                               out.begin() + std::min<std::size_t>(o.data_size_out, out.size())))));
        count_reference(f);
    }

    void sweep_dns(std::uint64_t now, std::uint64_t timeout) {
        const SweepResult sw = s.sweep(now, timeout);
        for (const auto& [k, n] : sw.expired)
            dns_expired[k] += n;
        expired_total += sw.expired_total;
        ++rep.sweeps;
    }
    void sweep_smtp(std::uint64_t now, std::uint64_t connect, std::uint64_t idle) {
        const SmtpSweepResult sw = s.sweep_smtp(now, connect, idle);
        for (const auto& [k, n] : sw.timeouts)
            smtp_timeouts[k] += n;
        ++rep.sweeps;
    }

    void frames(std::uint64_t count) {
        std::vector<Frame> batch;
        std::uint64_t n = 0;
        while (n < count && !full()) {
            batch.clear();
            Gen g{r, batch, pick_family(r), true};
            g.scenario();
            for (auto& f : batch) {
                if (n >= count)
                    break;
                if (f.mutable_ && r.pct(30)) {
                    mutate(r, f.data);
                    ++rep.mutated;
                }
                if (r.pct(2))
                    f.egress = !f.egress; // through the other program
                // BPF_PROG_TEST_RUN refuses an skb shorter than its IPv4/IPv6 header (this
                // kernel: EINVAL), so the TC program never sees one: those go to XDP.
                if (f.egress && tc_refuses(f.data)) {
                    f.egress = false;
                    ++rep.tc_rerouted;
                }
                const std::uint32_t max = f.egress ? rep.tc_max_frame : rep.xdp_max_frame;
                if (f.data.size() > max)
                    f.data.resize(max);
                ++rep.by_family[f.family];
                run_frame(f, n++);
            }
            // Now and then the agent's sweeps, part of the queries or all of them, so that
            // late answers, answers after a timeout and connect timeouts happen too.
            if (r.pct(1)) {
                static const std::vector<std::uint64_t> ages = {0, 50'000, 500'000, 5'000'000};
                sweep_dns(monotonic_ns(), r.pick(ages));
            }
            if (r.pct(1)) {
                static const std::vector<std::uint64_t> ages = {0, 100'000, 1'000'000};
                sweep_smtp(monotonic_ns(), r.pick(ages), r.pct(20) ? 1'000'000 : 60'000'000'000ull);
            }
        }
    }

    void check() {
        const auto counters = s.read_counters();
        for (std::size_t i = 0; i < counters.size(); ++i)
            rep.counters[i] += counters[i];
        const std::uint64_t now = monotonic_ns();

        // Every frame passed through its program and was counted there.
        const unsigned lo = if_nametoindex("lo");
        const mxs_if_stats ifs = s.read_ifstats(lo);
        if (ifs.packets[MXS_DIR_INGRESS] != xdp_frames || ifs.packets[MXS_DIR_EGRESS] != tc_frames)
            fail(fmt::format("interface counts {} in / {} out, frames run {} xdp / {} tc",
                             ifs.packets[MXS_DIR_INGRESS], ifs.packets[MXS_DIR_EGRESS], xdp_frames,
                             tc_frames));

        // Counters that count a subset of another's events.
        for (const auto& [part, whole] : {std::pair{MXS_C_FRAG_SKIPPED, MXS_C_FRAGMENTS},
                                          std::pair{MXS_C_DNS_TCP_LOST, MXS_C_DNS_TCP_HELD}})
            if (counters[part] > counters[whole])
                fail(fmt::format("{} {} > {} {}", counter_name(part), counters[part],
                                 counter_name(whole), counters[whole]));
        if (counters[MXS_C_SMTP_SYN_RETRANS] > syns)
            fail(fmt::format("{} SYN retransmissions of {} SYNs sent",
                             counters[MXS_C_SMTP_SYN_RETRANS], syns));

        // ---- DNS ----
        const int servers_fd = maps.fd("mxs_dns_servers");
        const int stats_fd = maps.fd("mxs_dns_stats"), hist_fd = maps.fd("mxs_dns_hist");
        const auto stats = read_percpu_by_slot<mxs_dns_stats>(servers_fd, stats_fd);
        const auto hists = read_shared_by_slot<mxs_dns_hist>(servers_fd, hist_fd);
        const std::uint64_t server_entries = count_keys(servers_fd, sizeof(mxs_server_key));
        const bool stats_full =
            counters[MXS_C_STATS_FULL] > 0 || counters[MXS_C_STATS_SRV_FULL] > 0;
        if (counters[MXS_C_STATS_INSERT_FAIL])
            fail(fmt::format("{} DNS per-server inserts failed with room in the map",
                             counters[MXS_C_STATS_INSERT_FAIL]));
        // One CPU runs the frames: no race wastes a slot. The client role is refused only
        // when every slot is given; the server role also when it holds its half.
        const std::uint64_t cap = maps.max_entries("mxs_dns_servers");
        std::uint64_t server_role_entries = 0;
        for (const auto& [k, st] : stats)
            server_role_entries += k.role == MXS_ROLE_SERVER;
        if (counters[MXS_C_STATS_FULL] && server_entries < cap)
            fail(fmt::format("stats_full counted {} times, but the per-server maps hold {} of "
                             "{} servers",
                             counters[MXS_C_STATS_FULL], server_entries, cap));
        if (counters[MXS_C_STATS_SRV_FULL] && server_entries < cap &&
            server_role_entries < std::max<std::uint64_t>(1, cap / 2))
            fail(fmt::format("stats_server_full counted {} times, but the server role holds {} "
                             "of its {} slots ({} of {} in all)",
                             counters[MXS_C_STATS_SRV_FULL], server_role_entries, cap / 2,
                             server_entries, cap));

        // In flight: each query in its role's table, travelling the way that role's queries do.
        KeyMap<std::uint64_t> inflight;
        std::uint64_t inflight_total = 0;
        std::array<std::uint64_t, 2> queries_by_role{}, inflight_by_role{}, ended_by_role{};
        std::array<std::uint64_t, 2> spilled_by_role{};
        for (const auto& [k, st] : stats)
            queries_by_role[k.role & 1] += st.queries;
        for (const auto& [map_name, map_role] : {std::pair{"mxs_dns_flight", MXS_ROLE_CLIENT},
                                                 std::pair{"mxs_dns_flight_", MXS_ROLE_SERVER}}) {
            const std::uint8_t role = map_role;
            for_each_inflight(
                maps.fd(map_name), maps.max_entries(map_name),
                [&](std::uint64_t tag, const mxs_dns_slot& v) {
                    const mxs_dns_flow_key& fk = v.key;
                    mxs_server_key sk{};
                    std::memcpy(sk.addr, fk.server, 16);
                    sk.port = fk.server_port;
                    sk.proto = fk.proto;
                    sk.role = role;
                    const std::uint8_t dir =
                        role == MXS_ROLE_CLIENT ? MXS_DIR_EGRESS : MXS_DIR_INGRESS;
                    const std::uint64_t age = (now - tag) & MXS_TAG_TS_MASK;
                    if (v.dir != dir || (v.flags & ~MXS_INFLIGHT_NOQ) ||
                        age > MXS_TAG_TS_MASK / 2 || (fk.proto != kUdp && fk.proto != kTcp) ||
                        fk.server_port != 53 || fk.pad)
                        fail(fmt::format(
                            "in-flight entry for {} malformed: dir {} flags {:#x} age {}",
                            key_str(sk), v.dir, v.flags, age));
                    const auto slot = dns_slot(maps, sk);
                    if (!stats_full && (!slot || v.server_slot != *slot))
                        fail(fmt::format("query in flight to {} keeps slot {}, the server has {}",
                                         key_str(sk), v.server_slot,
                                         slot ? std::to_string(*slot) : "none"));
                    if (!stats.count(sk) && !stats_full)
                        fail(
                            fmt::format("query in flight to {} that has no counters", key_str(sk)));
                    // A UDP entry comes from a query frame sent the role's way (garbage and
                    // answers never make one).
                    std::array<std::uint8_t, 16> client{}, server{};
                    std::memcpy(client.data(), fk.client, 16);
                    std::memcpy(server.data(), fk.server, 16);
                    if (fk.proto == kUdp &&
                        !queries_sent.count({client, server, fk.client_port, fk.server_port,
                                             fk.dns_id, role == MXS_ROLE_CLIENT}))
                        fail(fmt::format("query {:#x} from {} port {} in flight to {}, never sent",
                                         fk.dns_id, addr_to_string(fk.client), fk.client_port,
                                         key_str(sk)));
                    ++inflight[sk];
                    ++inflight_total;
                    ++inflight_by_role[role];
                    spilled_by_role[role] += (tag & MXS_TAG_SPILLED) != 0;
                });
        }
        // Each query in its second bucket is counted once in a spill count, and nothing else.
        for (const auto& [map_name, role] : {std::pair{"mxs_dns_spill", MXS_ROLE_CLIENT},
                                             std::pair{"mxs_dns_spill_s", MXS_ROLE_SERVER}}) {
            std::uint64_t sum = 0;
            const int fd = maps.fd(map_name);
            for (__u32 i = 0; i < maps.max_entries(map_name); ++i) {
                std::uint64_t v = 0;
                if (bpf_map_lookup_elem(fd, &i, &v) == 0)
                    sum += v;
            }
            if (sum != spilled_by_role[role])
                fail(fmt::format("role {}: spill counts add up to {}, {} queries in flight live "
                                 "in their second bucket",
                                 role, sum, spilled_by_role[role]));
        }

        // Every query counted is answered, unreachable, expired by a sweep or still in flight
        // (never more answers than queries), per server and role; samples are the answers
        // not retried. A query counted but refused by a full in-flight map is the one slack.
        std::uint64_t responses_total = 0;
        for (const auto& [k, st] : stats) {
            const std::uint64_t resp = total(st.responses);
            const std::uint64_t exp = dns_expired.count(k) ? dns_expired.at(k) : 0;
            const std::uint64_t fly = inflight.count(k) ? inflight.at(k) : 0;
            const std::uint64_t slack =
                counters[k.role == MXS_ROLE_CLIENT ? MXS_C_INFLIGHT_FULL : MXS_C_INFLIGHT_SRV_FULL];
            responses_total += resp;
            ended_by_role[k.role & 1] += resp + st.unreachable + exp;
            const std::string ks = key_str(k);
            if (resp > st.queries)
                fail(fmt::format("{}: {} responses to {} queries", ks, resp, st.queries));
            if (resp + st.unreachable + exp + fly > st.queries ||
                resp + st.unreachable + exp + fly + slack < st.queries)
                fail(fmt::format("{}: {} queries, but {} answered + {} unreachable + {} expired "
                                 "+ {} in flight",
                                 ks, st.queries, resp, st.unreachable, exp, fly));
            if (st.truncated > resp || st.matched_without_question > resp || st.retried > resp)
                fail(fmt::format("{}: {} responses, but {} truncated, {} without question, {} "
                                 "retried",
                                 ks, resp, st.truncated, st.matched_without_question, st.retried));
            const auto h = hists.find(k);
            const std::uint64_t samples = h == hists.end() ? 0 : total(h->second.hist);
            if (h == hists.end())
                fail(fmt::format("{}: counters without a histogram", ks));
            else if (samples != resp - std::min<std::uint64_t>(resp, st.retried))
                fail(fmt::format("{}: {} latency samples for {} responses ({} retried)", ks,
                                 samples, resp, st.retried));
            if (h != hists.end())
                check_latency(ks + " DNS latency", h->second.hist, st.latency_sum_ns, now);
            if (k.proto == kUdp) {
                const auto q = udp_queries.find(k);
                const auto a = udp_responses.find(k);
                const std::uint64_t sentq = q == udp_queries.end() ? 0 : q->second;
                const std::uint64_t senta = a == udp_responses.end() ? 0 : a->second;
                if (st.queries > sentq || resp > senta)
                    fail(fmt::format("{}: {} queries and {} responses counted, but only {} "
                                     "query and {} response frames were sent",
                                     ks, st.queries, resp, sentq, senta));
            }
            // An ICMP error ends a query only if it quotes one sent, id and all, and travels
            // back: a guessed 4-tuple is no evidence.
            const std::uint64_t quotes = dns_unreach_quotes.count(k) ? dns_unreach_quotes.at(k) : 0;
            if (st.unreachable > quotes)
                fail(fmt::format("{}: {} queries unreachable, {} ICMP errors quoted a query sent",
                                 ks, st.unreachable, quotes));
            if (k.proto == kTcp) {
                // Each message accounted took its 2-byte length and 12-byte header from bytes
                // sent, read once: a TCP segment's bytes never make two messages.
                const auto q = tcp_query_bytes.find(k);
                const auto a = tcp_response_bytes.find(k);
                const std::uint64_t qb = q == tcp_query_bytes.end() ? 0 : q->second;
                const std::uint64_t ab = a == tcp_response_bytes.end() ? 0 : a->second;
                if (st.queries * 14 > qb || resp * 14 > ab)
                    fail(fmt::format("{}: {} queries and {} responses counted from {} and {} "
                                     "bytes of TCP payload",
                                     ks, st.queries, resp, qb, ab));
            }
            rep.dns_queries += st.queries;
            rep.dns_responses += resp;
            rep.dns_unreachable += st.unreachable;
            rep.dns_mismatched += st.mismatched;
            rep.dns_unsolicited += st.unsolicited;
            rep.dns_retried += st.retried;
            rep.dns_noq += st.matched_without_question;
            rep.dns_rcode_other += st.responses[MXS_RCODE_OTHER];
        }
        // Per role, every query counted was tracked and ended (answered, unreachable, expired)
        // or is still in flight, or was refused by its full buckets: exactly.
        for (const auto& [ctr, role] : {std::pair{MXS_C_INFLIGHT_FULL, MXS_ROLE_CLIENT},
                                        std::pair{MXS_C_INFLIGHT_SRV_FULL, MXS_ROLE_SERVER}})
            if (!stats_full && queries_by_role[role] !=
                                   ended_by_role[role] + inflight_by_role[role] + counters[ctr])
                fail(fmt::format("role {}: {} queries, but {} ended + {} in flight + {} refused "
                                 "by full buckets",
                                 role, queries_by_role[role], ended_by_role[role],
                                 inflight_by_role[role], counters[ctr]));
        for (const auto& [k, n] : dns_expired)
            if (!stats.count(k) && !stats_full)
                fail(fmt::format("{}: {} queries expired that were never counted", key_str(k), n));
        // A late answer takes the record its query's sweep left: at most one per expiry.
        if (counters[MXS_C_LATE_RESPONSE] > expired_total)
            fail(fmt::format("{} late responses, {} queries expired", counters[MXS_C_LATE_RESPONSE],
                             expired_total));
        // The agent's final sweep takes exactly what is in flight.
        const SweepResult last = s.sweep(now + 10'000'000'000ull, 1);
        if (last.expired_total != inflight_total || last.remaining != 0)
            fail(fmt::format("final sweep expired {} of {} queries in flight ({} remain)",
                             last.expired_total, inflight_total, last.remaining));
        rep.dns_expired += expired_total + last.expired_total;

        // ---- SMTP ----
        const int sstats_fd = maps.fd("mxs_smtp_stats"), shist_fd = maps.fd("mxs_smtp_hist");
        if (counters[MXS_C_SMTP_INSERT_FAIL])
            fail(fmt::format("{} SMTP per-server inserts failed with room in the map",
                             counters[MXS_C_SMTP_INSERT_FAIL]));
        const std::uint64_t shist_entries = count_keys(shist_fd, sizeof(mxs_server_key));
        if (counters[MXS_C_SMTP_STATS_FULL] && shist_entries < maps.max_entries("mxs_smtp_hist"))
            fail(fmt::format("smtp stats_full counted, but the maps hold {} of {} servers",
                             shist_entries, maps.max_entries("mxs_smtp_hist")));
        if (counters[MXS_C_SMTP_FLOWS_FULL] && syns < maps.max_entries("mxs_smtp_flows"))
            fail(fmt::format("SMTP flow map full {} times after {} SYNs",
                             counters[MXS_C_SMTP_FLOWS_FULL], syns));
        const int flows_fd = maps.fd("mxs_smtp_flows");
        for_each_key<mxs_smtp_flow_key>(flows_fd, [&](const mxs_smtp_flow_key& k) {
            mxs_smtp_flow f{};
            if (bpf_map_lookup_elem(flows_fd, &k, &f) != 0)
                return;
            if (f.state > MXS_SMTP_TIMED_OUT || f.line > MXS_LINE_SKIP || f.digits > 3 ||
                f.role > MXS_ROLE_SERVER || f.syn_ts > now || f.last_ts < f.syn_ts ||
                (k.server_port != 25 && k.server_port != 465 && k.server_port != 587))
                fail(fmt::format("SMTP flow to {} port {} malformed: state {} line {} digits {} "
                                 "role {}",
                                 addr_to_string(k.server), k.server_port, f.state, f.line, f.digits,
                                 f.role));
        });
        // The agent's last sweep: every flow goes (idle), unanswered ones as timeouts.
        const SmtpSweepResult slast = s.sweep_smtp(now + 3600'000'000'000ull, 0, 0);
        for (const auto& [k, n] : slast.timeouts)
            smtp_timeouts[k] += n;
        if (slast.remaining != 0 || count_keys(flows_fd, sizeof(mxs_smtp_flow_key)) != 0)
            fail(fmt::format("{} SMTP flows left after the last sweep", slast.remaining));

        const auto sstats = read_percpu<mxs_smtp_stats>(sstats_fd);
        const auto shists = read_shared<mxs_smtp_hist>(shist_fd);
        // One outcome per attempt, an attempt per SYN at most. (The sweep's timeouts may
        // belong to a server the kernel has no counters for: it inserts them on an outcome.)
        KeyMap<std::uint64_t> outcomes = smtp_timeouts;
        for (const auto& [k, n] : smtp_timeouts)
            rep.smtp_timeouts += n;
        for (const auto& [k, st] : sstats)
            outcomes[k] += total(st.outcomes);
        for (const auto& [k, n] : outcomes) {
            const std::uint64_t sent = smtp_syns.count(k) ? smtp_syns.at(k) : 0;
            if (n > sent)
                fail(fmt::format("{}: {} outcomes ({} by the sweep), {} SYNs sent", key_str(k), n,
                                 smtp_timeouts.count(k) ? smtp_timeouts.at(k) : 0, sent));
        }
        // Every reply (greeting or not) took at least 4 bytes of the server's stream (3 digits
        // and a space, hyphen or line end; a TLS record header more), each byte read once.
        KeyMap<std::uint64_t> replies;
        for (const auto& [k, st] : sstats) {
            mxs_server_key any = k;
            any.role = 0;
            replies[any] += total(st.greetings) + total(st.replies);
        }
        for (const auto& [k, n] : replies) {
            const std::uint64_t bytes = smtp_server_bytes.count(k) ? smtp_server_bytes.at(k) : 0;
            if (n * 4 > bytes)
                fail(fmt::format("{} port {}: {} replies from {} bytes sent by the server",
                                 addr_to_string(k.addr), k.port, n, bytes));
        }
        for (const auto& [k, st] : sstats) {
            const std::string ks = key_str(k);
            const std::uint64_t to = smtp_timeouts.count(k) ? smtp_timeouts.at(k) : 0;
            // An ICMP error ends an attempt only if it quotes its SYN (sequence number and
            // all) and travels back.
            const std::uint64_t quotes =
                smtp_unreach_quotes.count(k) ? smtp_unreach_quotes.at(k) : 0;
            if (st.outcomes[MXS_SMTP_UNREACHABLE] > quotes)
                fail(fmt::format("{}: {} attempts unreachable, {} ICMP errors quoted a SYN sent",
                                 ks, st.outcomes[MXS_SMTP_UNREACHABLE], quotes));
            // A greeting or a close before it only on a connection that reached an outcome
            // other than refused (established, or timed out / unreachable then opened).
            const std::uint64_t opened = st.outcomes[MXS_SMTP_ESTABLISHED] +
                                         st.outcomes[MXS_SMTP_TIMEOUT] +
                                         st.outcomes[MXS_SMTP_UNREACHABLE] + to;
            const std::uint64_t greetings = total(st.greetings);
            if (greetings + st.closed_before_greeting > opened)
                fail(fmt::format("{}: {} greetings + {} closed before greeting, {} connections "
                                 "with an outcome that can open",
                                 ks, greetings, st.closed_before_greeting, opened));
            const bool tls_port = k.port == 465;
            if (tls_port ? greetings != st.greetings[MXS_SMTP_TLS]
                         : st.greetings[MXS_SMTP_TLS] != 0)
                fail(fmt::format("{}: {} greetings of which {} TLS", ks, greetings,
                                 st.greetings[MXS_SMTP_TLS]));
            std::uint64_t refused_codes = st.replies[MXS_SMTP_454] + st.replies[MXS_SMTP_5XX];
            for (int c = MXS_SMTP_500; c <= MXS_SMTP_554; ++c)
                refused_codes += st.replies[c];
            if (st.starttls[MXS_STARTTLS_STARTED] > st.replies[MXS_SMTP_220] ||
                st.starttls[MXS_STARTTLS_REFUSED] > refused_codes)
                fail(fmt::format("{}: STARTTLS {} started / {} refused, but {} replies 220 and "
                                 "{} 454/5xx",
                                 ks, st.starttls[MXS_STARTTLS_STARTED],
                                 st.starttls[MXS_STARTTLS_REFUSED], st.replies[MXS_SMTP_220],
                                 refused_codes));
            const auto h = shists.find(k);
            if (h == shists.end()) {
                fail(ks + ": SMTP counters without histograms");
            } else {
                const std::uint64_t connect = total(h->second.connect_hist);
                const std::uint64_t greet = total(h->second.greeting_hist);
                if (connect + st.connect_retransmitted != st.outcomes[MXS_SMTP_ESTABLISHED])
                    fail(fmt::format("{}: {} established, {} connect samples + {} retransmitted",
                                     ks, st.outcomes[MXS_SMTP_ESTABLISHED], connect,
                                     st.connect_retransmitted));
                if (greet != greetings)
                    fail(
                        fmt::format("{}: {} greetings, {} greeting samples", ks, greetings, greet));
                check_latency(ks + " connect", h->second.connect_hist, st.connect_sum_ns, now);
                check_latency(ks + " greeting", h->second.greeting_hist, st.greeting_sum_ns, now);
            }
            rep.smtp_established += st.outcomes[MXS_SMTP_ESTABLISHED];
            rep.smtp_refused += st.outcomes[MXS_SMTP_REFUSED];
            rep.smtp_unreachable += st.outcomes[MXS_SMTP_UNREACHABLE];
            rep.smtp_timeouts += st.outcomes[MXS_SMTP_TIMEOUT];
            rep.smtp_greetings += greetings;
            rep.smtp_tls_greetings += st.greetings[MXS_SMTP_TLS];
            rep.smtp_replies += total(st.replies);
            rep.smtp_starttls += total(st.starttls);
            rep.smtp_closed_before_greeting += st.closed_before_greeting;
        }
    }
};

} // namespace

const char* counter_name(std::size_t c) {
    // The contract's names (MXS_COUNTERS), as the enum spells them.
    static const char* names[] = {
#define MXS_FUZZ_NAME(name, metric, labels, help) #name,
        MXS_COUNTERS(MXS_FUZZ_NAME)
#undef MXS_FUZZ_NAME
    };
    static_assert(std::size(names) == MXS_C_MAX, "a name for every enum mxs_counter");
    return c < MXS_C_MAX ? names[c] : "?";
}

const char* family_name(std::uint8_t f) {
    static const char* names[] = {"dns-udp",   "dns-tcp", "dns-names", "ipv6-ext",  "vlan",
                                  "fragments", "smtp",    "icmp",      "truncated", "random"};
    return f < kFamilies ? names[f] : "?";
}

MapFds::MapFds(int xdp_prog_fd, int tc_prog_fd) {
    for (int prog : {xdp_prog_fd, tc_prog_fd}) {
        bpf_prog_info info{};
        __u32 len = sizeof(info);
        if (bpf_obj_get_info_by_fd(prog, &info, &len) != 0)
            continue;
        std::vector<__u32> ids(info.nr_map_ids);
        info = {};
        info.nr_map_ids = static_cast<__u32>(ids.size());
        info.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());
        len = sizeof(info);
        if (bpf_obj_get_info_by_fd(prog, &info, &len) != 0)
            continue;
        for (__u32 id : ids) {
            const int fd = bpf_map_get_fd_by_id(id);
            if (fd < 0)
                continue;
            bpf_map_info mi{};
            __u32 mlen = sizeof(mi);
            if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) != 0 || maps_.count(mi.name)) {
                close(fd);
                continue;
            }
            maps_[mi.name] = {fd, mi.max_entries};
        }
    }
}

MapFds::~MapFds() {
    for (auto& [name, m] : maps_)
        close(m.fd);
}

int MapFds::fd(const std::string& name) const {
    const auto it = maps_.find(name);
    return it == maps_.end() ? -1 : it->second.fd;
}

std::uint32_t MapFds::max_entries(const std::string& name) const {
    const auto it = maps_.find(name);
    return it == maps_.end() ? 0 : it->second.max_entries;
}

std::optional<__u32> dns_slot(const MapFds& m, const mxs_server_key& k) {
    __u32 slot = 0;
    if (bpf_map_lookup_elem(m.fd("mxs_dns_servers"), &k, &slot) != 0)
        return std::nullopt;
    return slot;
}

void for_each_inflight(int fd, std::uint32_t buckets,
                       const std::function<void(std::uint64_t tag, const mxs_dns_slot&)>& visit) {
    auto b = std::make_unique<mxs_dns_bucket>();
    for (__u32 i = 0; i < buckets; ++i) {
        if (bpf_map_lookup_elem(fd, &i, b.get()) != 0)
            continue;
        for (std::size_t w = 0; w < MXS_FLIGHT_WAYS; ++w)
            if ((b->tag[w] >> MXS_TAG_FP_SHIFT) & MXS_TAG_FP_MASK)
                visit(b->tag[w], b->slot[w]);
    }
}

std::uint64_t seed_from_env() {
    if (const char* s = std::getenv("MXS_FUZZ_SEED"))
        return std::strtoull(s, nullptr, 0);
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

Report run(const Sensor& s, const Options& opts) {
    Report rep;
    rep.seed = opts.seed;
    const auto t0 = std::chrono::steady_clock::now();
    MapFds maps(s.xdp_prog_fd(), s.tc_prog_fd());
    for (const char* m : {"mxs_dns_stats", "mxs_dns_hist", "mxs_dns_flight", "mxs_dns_flight_",
                          "mxs_dns_spill", "mxs_dns_spill_s", "mxs_dns_servers", "mxs_smtp_stats",
                          "mxs_smtp_hist", "mxs_smtp_flows"})
        if (maps.fd(m) < 0)
            rep.violations.push_back(fmt::format("map {} not found", m));
    if (!rep.ok())
        return rep;
    std::vector<std::uint8_t> out(1u << 17);
    rep.xdp_max_frame = probe_max_frame(s.xdp_prog_fd(), out);
    rep.tc_max_frame = probe_max_frame(s.tc_prog_fd(), out);
    const std::uint64_t rounds = (opts.frames + opts.round_frames - 1) / opts.round_frames;
    for (std::uint64_t i = 0; i < rounds && rep.ok(); ++i) {
        if (opts.only_round >= 0 && i != static_cast<std::uint64_t>(opts.only_round))
            continue;
        std::uint64_t mix = opts.seed ^ (i * 0xd1b54a32d192ed03ull);
        Round round(s, maps, opts, rep, i, splitmix(mix), out);
        s.clear_maps();
        const std::uint64_t n =
            std::min<std::uint64_t>(opts.round_frames, opts.frames - i * opts.round_frames);
        round.frames(n);
        rep.frames += round.xdp_frames + round.tc_frames;
        rep.xdp_frames += round.xdp_frames;
        rep.tc_frames += round.tc_frames;
        if (opts.before_checks)
            opts.before_checks(i, maps);
        round.check();
        ++rep.rounds;
    }
    s.clear_maps();
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
}

std::string Report::summary() const {
    std::string s = fmt::format(
        "seed {} (MXS_FUZZ_SEED={}): {} frames ({} xdp, {} tc, {} mutated) in {} rounds, "
        "{:.1f} s ({:.0f} frames/s; {:.1f} s in BPF_PROG_TEST_RUN), {} sweeps; largest frame "
        "xdp {} tc {}; {} frames too short for an skb sent to xdp\n",
        seed, seed, frames, xdp_frames, tc_frames, mutated, rounds, seconds,
        seconds > 0 ? static_cast<double>(frames) / seconds : 0.0, run_seconds, sweeps,
        xdp_max_frame, tc_max_frame, tc_rerouted);
    s += "families:";
    for (std::uint8_t f = 0; f < kFamilies; ++f)
        s += fmt::format(" {} {}", family_name(f), by_family[f]);
    s += fmt::format("\ndns: {} queries, {} responses ({} rcode other, {} without question, {} "
                     "retried), {} unreachable, {} expired, {} mismatched, {} unsolicited\n",
                     dns_queries, dns_responses, dns_rcode_other, dns_noq, dns_retried,
                     dns_unreachable, dns_expired, dns_mismatched, dns_unsolicited);
    s +=
        fmt::format("smtp: {} established, {} refused, {} unreachable, {} timeouts, {} "
                    "greetings ({} TLS), {} closed before greeting, {} replies, {} STARTTLS\n",
                    smtp_established, smtp_refused, smtp_unreachable, smtp_timeouts, smtp_greetings,
                    smtp_tls_greetings, smtp_closed_before_greeting, smtp_replies, smtp_starttls);
    s += "sensor counters:";
    for (std::size_t i = 0; i < counters.size(); ++i)
        s += fmt::format(" {}={}", counter_name(i), counters[i]);
    s += "\n";
    for (const auto& v : violations)
        s += "VIOLATION " + v + "\n";
    return s;
}

} // namespace mxs::fuzz
