/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 with a bounded extension-header walk (RFC 8200 §4).
 */
#ifndef MXS_IP6_H
#define MXS_IP6_H

#include "lib/headers.h"

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

#endif /* MXS_IP6_H */
