/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The whole parse: L2 to L4 (UDP, TCP) or the packet an ICMP/ICMPv6 destination
 * unreachable quotes, and the endpoints of a flow seen from its client.
 */
#ifndef MXS_PARSE_H
#define MXS_PARSE_H

#include "lib/ip6.h"

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
