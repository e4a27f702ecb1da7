/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsers, the fixed part: Ethernet with up to two VLAN tags and IPv4. Each
 * walks a cursor through the linear part of the frame and checks bounds before
 * every read; failures are counted by reason.
 */
#ifndef MXS_HEADERS_H
#define MXS_HEADERS_H

#include "lib/ctx.h"
#include "lib/stats.h"

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

#endif /* MXS_HEADERS_H */
