/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers: Ethernet with up to two VLAN tags, IPv4, IPv6 with a bounded
 * extension-header walk, UDP and TCP. Each walks a cursor through the linear
 * part of the frame and checks bounds before every read; failures are counted
 * by reason.
 */
#ifndef MXS_PARSE_H
#define MXS_PARSE_H

#include "ctx.h"
#include "maps.h"

#define MXS_ETH_P_IP	 0x0800
#define MXS_ETH_P_IPV6	 0x86DD
#define MXS_ETH_P_8021Q	 0x8100
#define MXS_ETH_P_8021AD 0x88A8
#define MXS_VLAN_MAX	 2
#define MXS_IP6_EXT_MAX	 6

#define MXS_IPPROTO_HOPOPTS	0
#define MXS_IPPROTO_TCP		6
#define MXS_IPPROTO_UDP		17
#define MXS_IPPROTO_ROUTING	43
#define MXS_IPPROTO_FRAGMENT	44
#define MXS_IPPROTO_AH		51
#define MXS_IPPROTO_DSTOPTS	60
#define MXS_IPPROTO_ICMP	1
#define MXS_IPPROTO_ICMPV6	58
#define MXS_ICMP_DEST_UNREACH	3    /* RFC 792 */
#define MXS_ICMPV6_DEST_UNREACH 1    /* RFC 4443 §3.1 */
#define MXS_L3_OFF_MAX		0xff /* IP headers start within the first 256 bytes */

/*
 * What the parsers learned of one TCP or UDP packet. Addresses are copied only
 * for packets on a DNS port (mxs_l4_addrs), keeping the common path short.
 */
struct mxs_l4 {
	__u8 src[16];
	__u8 dst[16];
	__u32 l3_off; /* IP header, from the start of the frame */
	__u8 ipv6;
	__u8 icmp_code;	 /* MXS_PARSE_UNREACH: the ICMP/ICMPv6 code */
	__u8 quoted_seq; /* MXS_PARSE_UNREACH: the quote holds a TCP sequence number (in seq) */
	__u8 pad2;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u16 pad;
	__u32 seq;	   /* TCP sequence number, host order */
	__u32 ack;	   /* TCP acknowledgment number, host order (meaningful with ACK set) */
	__u32 payload_off; /* from the start of the frame */
	__u32 payload_len; /* L4 payload, per the IP length fields */
};

enum mxs_parse {
	MXS_PARSE_OK = 0,   /* TCP or UDP, fields filled */
	MXS_PARSE_SKIP = 1, /* not for us: other protocols, non-first fragments */
	MXS_PARSE_ERR = 2,  /* malformed; already counted */
	MXS_PARSE_UNREACH =
		3, /* ICMP destination unreachable: fields describe the packet it quotes */
};

struct mxs_cursor {
	void *pos;
	void *end;
};

static __always_inline int mxs_parse_eth(struct mxs_cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	__u16 h;

	if ((void *)(eth + 1) > c->end) {
		mxs_count(MXS_C_ETH_TRUNC);
		return MXS_PARSE_ERR;
	}
	c->pos = eth + 1;
	h = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (int i = 0; i < MXS_VLAN_MAX; i++) {
		struct vlan_hdr *vh = c->pos;

		if (h != MXS_ETH_P_8021Q && h != MXS_ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > c->end) {
			mxs_count(MXS_C_ETH_TRUNC);
			return MXS_PARSE_ERR;
		}
		h = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		c->pos = vh + 1;
	}
	if (h == MXS_ETH_P_8021Q || h == MXS_ETH_P_8021AD) {
		mxs_count(MXS_C_VLAN_DEPTH);
		return MXS_PARSE_ERR;
	}
	*proto = h;
	return MXS_PARSE_OK;
}

static __always_inline void mxs_v4_mapped(__u8 *dst, __be32 a)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &a, 4);
}

/*
 * The length of a TCP GSO packet longer than 64 KiB from `off` (its IP header,
 * or for IPv6 its payload) to its end, or 0. Such a packet (BIG TCP) carries 0
 * in its IP length field and the skb's length counts (the kernel's
 * iph_totlen() and ipv6_payload_len()). The host's own TCP hands TC egress
 * these when a device allows GSO past 64 KiB, as veth at MTU 65535 does. Only
 * a GSO skb at TC: a 0 on the wire (XDP) stays malformed.
 */
static __always_inline __u32 mxs_big_tcp_len(const struct mxs_pkt *p, __u32 off)
{
	if (p->dir != MXS_DIR_EGRESS || !p->gso || p->len <= off || p->len - off <= 0xffff)
		return 0;
	return p->len - off;
}

#define MXS_IP6_TLV_JUMBO 0xc2 /* RFC 2675 §2 */

/*
 * The payload length of an IPv6 BIG TCP packet that carries it in a Jumbo
 * Payload option (RFC 2675): a Hop-by-Hop header of exactly 8 bytes before TCP,
 * as the kernel writes it (ipv6_has_hopopt_jumbo()), whose value agrees with
 * the skb's length. 0 otherwise.
 */
static __always_inline __u32 mxs_jumbo_len(const struct mxs_pkt *p, const __u8 *hbh)
{
	__be32 v;
	__u32 len;

	if ((void *)(hbh + 8) > p->data_end)
		return 0;
	if (hbh[0] != MXS_IPPROTO_TCP || hbh[1] != 0 || hbh[2] != MXS_IP6_TLV_JUMBO || hbh[3] != 4)
		return 0;
	__builtin_memcpy(&v, hbh + 4, sizeof(v));
	len = bpf_ntohl(v);
	return len == mxs_big_tcp_len(p, (__u32)((void *)hbh - p->data)) ? len : 0;
}

/* IPv4: returns the L4 protocol in *l4proto and the L4 length in *l4len. */
static __always_inline int mxs_parse_ip4(const struct mxs_pkt *p, struct mxs_cursor *c,
					 __u8 *l4proto, __u32 *l4len)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;
	__u32 tot;
	__u16 frag;

	if ((void *)(ip + 1) > c->end) {
		mxs_count(MXS_C_IP4_TRUNC);
		return MXS_PARSE_ERR;
	}
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (!tot && ip->protocol == MXS_IPPROTO_TCP)
		tot = mxs_big_tcp_len(p, (__u32)((void *)ip - p->data));
	if (hlen < sizeof(*ip) || c->pos + hlen > c->end || tot < hlen) {
		mxs_count(MXS_C_IP4_TRUNC);
		return MXS_PARSE_ERR;
	}
	frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x3fff) { /* MF set or offset != 0 */
		mxs_count(MXS_C_FRAGMENTS);
		if (frag & 0x1fff) {
			mxs_count(MXS_C_FRAG_SKIPPED);
			return MXS_PARSE_SKIP;
		}
	}
	*l4proto = ip->protocol;
	*l4len = tot - hlen;
	c->pos += hlen;
	return MXS_PARSE_OK;
}

/* The extension headers the walk follows (RFC 8200 §4; AH: RFC 4302). */
static __always_inline int mxs_ip6_is_ext(__u8 nh)
{
	return nh == MXS_IPPROTO_HOPOPTS || nh == MXS_IPPROTO_ROUTING ||
	       nh == MXS_IPPROTO_FRAGMENT || nh == MXS_IPPROTO_AH || nh == MXS_IPPROTO_DSTOPTS;
}

#define MXS_L4_OFF_MAX 0x3fff /* upper-layer header offsets walked to (6 x 2048 + headers) */

/*
 * Where the walk over an IPv6 packet's extension headers stands: in memory,
 * so that one global function (verified once, whatever the caller's state)
 * walks for the packet and for the packet an ICMPv6 error quotes.
 */
struct mxs_ip6_chain {
	__u32 off;  /* in: frame offset after the fixed header; out: of the upper-layer header */
	__u32 end;  /* in: bytes of the frame's linear part: no header is read past it */
	__u32 plen; /* in: the fixed header's Payload Length; out: the upper layer's length */
	__u8 nh;    /* in: its Next Header; out: the upper-layer protocol */
	__u8 count; /* in: 1: the packet's own walk (failures, fragments counted); 0: a quote's */
	__u8 pad[2];
};

/*
 * The bounded walk over an IPv6 packet's extension headers (hop-by-hop,
 * routing, fragment, AH, destination options; at most MXS_IP6_EXT_MAX of them).
 * MXS_PARSE_SKIP: a non-first fragment; MXS_PARSE_ERR: a chain too long, or a
 * header cut short by the end of the linear part or of the payload length.
 * Lengths: (Hdr Ext Len + 1) * 8 bytes (RFC 8200 §4.3), the fragment header's
 * fixed 8, AH's (Payload Len + 2) * 4 (RFC 4302 §2.2). Every extension header
 * is at least 8 bytes, so its first 4 are read whole.
 */
static __always_inline int mxs_ip6_walk(void *ctx, __u32 dir, struct mxs_ip6_chain *w)
{
	__u32 off = w->off, end = w->end, left = w->plen;
	__u8 n = w->nh, h[4];

#pragma unroll
	for (int i = 0; i < MXS_IP6_EXT_MAX; i++) {
		__u32 len;

		if (!mxs_ip6_is_ext(n))
			break;
		if (off > MXS_L4_OFF_MAX || off + 8 > end || mxs_load_ctx(ctx, dir, off, h, 4))
			goto bad;
		if (n == MXS_IPPROTO_FRAGMENT) {
			if (w->count)
				mxs_count(MXS_C_FRAGMENTS);
			if (((__u16)h[2] << 8 | h[3]) & 0xfff8) {
				if (w->count)
					mxs_count(MXS_C_FRAG_SKIPPED);
				return MXS_PARSE_SKIP;
			}
			len = 8;
		} else if (n == MXS_IPPROTO_AH) {
			len = ((__u32)h[1] + 2) * 4; /* RFC 4302 §2.2 */
		} else {
			len = ((__u32)h[1] + 1) * 8; /* RFC 8200 §4.3 */
		}
		if (len > left || off + len > end)
			goto bad;
		n = h[0];
		left -= len;
		off += len;
	}
	/* Up to MXS_IP6_EXT_MAX headers walked: what follows the last one may be the L4 header. */
	if (mxs_ip6_is_ext(n) || off > MXS_L4_OFF_MAX)
		goto bad;
	w->off = off;
	w->plen = left;
	w->nh = n;
	return MXS_PARSE_OK;
bad:
	if (w->count)
		mxs_count(MXS_C_IP6_EXT);
	return MXS_PARSE_ERR;
}

/* The walk for each hook: global functions take their hook's own context. */
__noinline int mxs_ip6_walk_xdp(struct xdp_md *ctx, struct mxs_ip6_chain *w)
{
	if (!ctx || !w)
		return MXS_PARSE_ERR;
	return mxs_ip6_walk(ctx, MXS_DIR_INGRESS, w);
}

__noinline int mxs_ip6_walk_tc(struct __sk_buff *skb, struct mxs_ip6_chain *w)
{
	if (!skb || !w)
		return MXS_PARSE_ERR;
	return mxs_ip6_walk(skb, MXS_DIR_EGRESS, w);
}

/*
 * Walk the extension headers of the IPv6 header at ip6 (its fixed 40 bytes
 * inside the linear part) and return in *l4 a pointer to its upper-layer
 * header (not yet checked against the end), in *nh its protocol and in *plen
 * its length. count: the packet's own walk (1) or a quote's (0).
 */
static __always_inline int mxs_ip6_chain(const struct mxs_pkt *p, struct ipv6hdr *ip6, void **l4,
					 __u8 *nh, __u32 *plen, int count)
{
	struct mxs_ip6_chain w = {
		.off = (__u32)((void *)(ip6 + 1) - p->data),
		.end = (__u32)(p->data_end - p->data),
		.plen = bpf_ntohs(ip6->payload_len),
		.nh = ip6->nexthdr,
		.count = count,
	};
	int r;

	if (!w.plen && count) {
		if (w.nh == MXS_IPPROTO_TCP)
			w.plen = mxs_big_tcp_len(p, w.off);
		else if (w.nh == MXS_IPPROTO_HOPOPTS)
			w.plen = mxs_jumbo_len(p, (const __u8 *)(ip6 + 1));
	}
	if (!mxs_ip6_is_ext(w.nh)) {
		*l4 = ip6 + 1;
		*nh = w.nh;
		*plen = w.plen;
		return MXS_PARSE_OK;
	}
	r = p->dir == MXS_DIR_INGRESS ? mxs_ip6_walk_xdp(p->ctx, &w) : mxs_ip6_walk_tc(p->ctx, &w);
	if (r != MXS_PARSE_OK)
		return r;
	*l4 = p->data + (w.off & MXS_L4_OFF_MAX);
	*nh = w.nh;
	*plen = w.plen;
	return MXS_PARSE_OK;
}

/* IPv6: its extension headers walked (mxs_ip6_walk), the L4 protocol and length. */
static __always_inline int mxs_parse_ip6(const struct mxs_pkt *p, struct mxs_cursor *c,
					 __u8 *l4proto, __u32 *l4len)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > c->end) {
		mxs_count(MXS_C_IP6_TRUNC);
		return MXS_PARSE_ERR;
	}
	return mxs_ip6_chain(p, ip6, &c->pos, l4proto, l4len, 1);
}

/*
 * An ICMP or ICMPv6 destination unreachable quotes the IP header and the first
 * 8 bytes of the packet that failed (RFC 792, RFC 4443 §3.1): describe that
 * packet in l4 (addresses via l3_off, ports, payload_off: the byte after its
 * 8-byte UDP header, which may be missing), so it can be matched to its flow.
 * A quoted IPv6 packet's extension headers are walked as its own passage walked
 * them (mxs_ip6_walk: the same headers, bound and lengths); a quote of a
 * non-first fragment, of a chain too long, or cut inside it, matches nothing.
 */
static __always_inline int mxs_parse_unreach(const struct mxs_pkt *p, struct mxs_cursor *c,
					     struct mxs_l4 *l4, __u8 proto)
{
	__u8 *icmp = c->pos;
	__u16 *ports;

	if ((void *)(icmp + 8) > c->end)
		return MXS_PARSE_SKIP;
	if (proto == MXS_IPPROTO_ICMP ? icmp[0] != MXS_ICMP_DEST_UNREACH
				      : icmp[0] != MXS_ICMPV6_DEST_UNREACH)
		return MXS_PARSE_SKIP;
	l4->icmp_code = icmp[1];
	c->pos = icmp + 8;
	if (proto == MXS_IPPROTO_ICMP) {
		struct iphdr *ip = c->pos;
		__u32 hlen;

		if ((void *)(ip + 1) > c->end)
			return MXS_PARSE_SKIP;
		hlen = ip->ihl * 4;
		if (hlen < sizeof(*ip) || c->pos + hlen + 4 > c->end)
			return MXS_PARSE_SKIP;
		/* A quoted non-first fragment carries no L4 header to match. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return MXS_PARSE_SKIP;
		l4->proto = ip->protocol;
		l4->ipv6 = 0;
		ports = c->pos + hlen;
	} else {
		struct ipv6hdr *ip6 = c->pos;
		void *q;
		__u32 plen;
		__u8 nh;

		if ((void *)(ip6 + 1) > c->end)
			return MXS_PARSE_SKIP;
		/* The quoted packet's extension headers, by the walk its own passage took. */
		if (mxs_ip6_chain(p, ip6, &q, &nh, &plen, 0) != MXS_PARSE_OK || q + 4 > c->end)
			return MXS_PARSE_SKIP;
		l4->proto = nh;
		l4->ipv6 = 1;
		ports = q;
	}
	l4->l3_off = (__u32)(c->pos - p->data);
	if (l4->l3_off > MXS_L3_OFF_MAX)
		return MXS_PARSE_SKIP;
	l4->sport = bpf_ntohs(ports[0]);
	l4->dport = bpf_ntohs(ports[1]);
	l4->payload_off = (__u32)((void *)ports - p->data) + 8;
	/* The quoted TCP sequence number ties the error to one SYN (RFC 5927 §4.1). */
	l4->quoted_seq = 0;
	if ((void *)ports + 8 <= c->end) {
		l4->seq = bpf_ntohl(*(__be32 *)((void *)ports + 4));
		l4->quoted_seq = 1;
	}
	return MXS_PARSE_UNREACH;
}

/*
 * Parse a frame down to UDP or TCP. MXS_PARSE_SKIP for anything else
 * (non-IP, other L4 protocols, non-first fragments).
 */
static __always_inline int mxs_parse(const struct mxs_pkt *p, struct mxs_l4 *l4)
{
	struct mxs_cursor c = {.pos = p->data, .end = p->data_end};
	__u32 l4len = 0;
	__u16 eproto;
	__u8 proto = 0;
	int r;

	r = mxs_parse_eth(&c, &eproto);
	if (r != MXS_PARSE_OK)
		return r;
	l4->l3_off = (__u32)(c.pos - p->data);
	l4->ipv6 = eproto == MXS_ETH_P_IPV6;
	if (eproto == MXS_ETH_P_IP)
		r = mxs_parse_ip4(p, &c, &proto, &l4len);
	else if (eproto == MXS_ETH_P_IPV6)
		r = mxs_parse_ip6(p, &c, &proto, &l4len);
	else
		return MXS_PARSE_SKIP;
	if (r != MXS_PARSE_OK)
		return r;

	l4->proto = proto;
	if (proto == MXS_IPPROTO_UDP) {
		struct udphdr *udp = c.pos;

		if ((void *)(udp + 1) > c.end || l4len < sizeof(*udp)) {
			mxs_count(MXS_C_L4_TRUNC);
			return MXS_PARSE_ERR;
		}
		l4->sport = bpf_ntohs(udp->source);
		l4->dport = bpf_ntohs(udp->dest);
		l4->payload_off = (__u32)((void *)(udp + 1) - p->data);
		l4->payload_len = l4len - sizeof(*udp);
		return MXS_PARSE_OK;
	}
	if (proto == MXS_IPPROTO_TCP) {
		struct tcphdr *tcp = c.pos;
		__u32 hlen;

		if ((void *)(tcp + 1) > c.end) {
			mxs_count(MXS_C_L4_TRUNC);
			return MXS_PARSE_ERR;
		}
		hlen = tcp->doff * 4;
		if (hlen < sizeof(*tcp) || hlen > l4len) {
			mxs_count(MXS_C_L4_TRUNC);
			return MXS_PARSE_ERR;
		}
		l4->sport = bpf_ntohs(tcp->source);
		l4->dport = bpf_ntohs(tcp->dest);
		l4->tcp_flags = ((__u8 *)tcp)[13];
		l4->seq = bpf_ntohl(tcp->seq);
		l4->ack = bpf_ntohl(tcp->ack_seq);
		l4->payload_off = (__u32)(c.pos - p->data) + hlen;
		l4->payload_len = l4len - hlen;
		return MXS_PARSE_OK;
	}
	if (proto == MXS_IPPROTO_ICMP || proto == MXS_IPPROTO_ICMPV6)
		return mxs_parse_unreach(p, &c, l4, proto);
	return MXS_PARSE_SKIP;
}

/* Copy the addresses of a packet mxs_parse() accepted (IPv4 as IPv4-mapped IPv6). */
static __always_inline int mxs_l4_addrs(const struct mxs_pkt *p, struct mxs_l4 *l4)
{
	void *l3 = p->data + (l4->l3_off & MXS_L3_OFF_MAX);

	if (l4->ipv6) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > p->data_end)
			return -1;
		__builtin_memcpy(l4->src, &ip6->saddr, 16);
		__builtin_memcpy(l4->dst, &ip6->daddr, 16);
	} else {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > p->data_end)
			return -1;
		mxs_v4_mapped(l4->src, ip->saddr);
		mxs_v4_mapped(l4->dst, ip->daddr);
	}
	return 0;
}

/*
 * Orient a packet's endpoints client -> server, whichever way it travels
 * (from_client: the packet's source is the client).
 */
static __always_inline void mxs_orient(const struct mxs_l4 *l4, int from_client, __u8 *client,
				       __u8 *server, __u16 *client_port, __u16 *server_port)
{
	__builtin_memcpy(client, from_client ? l4->src : l4->dst, 16);
	__builtin_memcpy(server, from_client ? l4->dst : l4->src, 16);
	*client_port = from_client ? l4->sport : l4->dport;
	*server_port = from_client ? l4->dport : l4->sport;
}

#endif /* MXS_PARSE_H */
