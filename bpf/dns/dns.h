/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS tracker: matches queries with responses (RFC 5452 §3: both endpoints,
 * protocol, id and question) and accounts latency, rcodes and anomalies per
 * server, in both roles, over UDP and TCP.
 */
#ifndef MXS_DNS_H
#define MXS_DNS_H

#include "dns/tcp.h"
#include "dns/unreach.h"

/* DNS over UDP or TCP (RFC 7766 §8: each message behind a 2-byte length). */
static __always_inline void mxs_dns(struct mxs_pkt *p, struct mxs_l4 *l4)
{
	__u32 off = l4->payload_off, avail = l4->payload_len, len;

	if (!mxs_is_dns_port(l4->sport) && !mxs_is_dns_port(l4->dport))
		return;
	if (mxs_l4_addrs(p, l4))
		return;
	len = mxs_pkt_len(p);
	if (off > len)
		return;
	if (avail > len - off)
		avail = len - off;
	/* Every TCP segment, with or without payload, keeps its connection's record. */
	if (l4->proto == MXS_IPPROTO_TCP && mxs_dns_tcp_judge(l4, p->dir, avail))
		return;
	if (avail == 0)
		return;

	if (l4->proto == MXS_IPPROTO_UDP) {
		mxs_dns_message(p, l4, off, avail);
		return;
	}

	/*
	 * Where this segment's messages start: after a message start held from
	 * the segments before, after the rest of a message that began earlier,
	 * and after retransmitted responses (bytes before where the last ended).
	 */
	struct mxs_tcp_flow tf = {};
	struct mxs_tcp_hold *h;
	struct mxs_scratch *s;
	__u32 zero = 0, resume = 0, *next = 0;
	int held = 0;

	s = bpf_map_lookup_elem(&mxs_scratch, &zero);
	if (!s)
		return;
	__builtin_memcpy(tf.src, l4->src, 16);
	__builtin_memcpy(tf.dst, l4->dst, 16);
	tf.sport = l4->sport;
	tf.dport = l4->dport;
	tf.dir = p->dir;
	h = bpf_map_lookup_elem(&mxs_tcp_hold, &tf);
	if (h) {
		struct mxs_tcp_pos at = {.dir = p->dir};
		__s32 ahead = (__s32)(h->seq - l4->seq);
		__u32 k = 0, held_len = h->held;

		if (ahead >= (__s32)avail) {
			mxs_count(MXS_C_DNS_TCP_CONT); /* all of it held already */
			return;
		}
		__builtin_memcpy(s->buf, h->buf, MXS_TCP_HOLD);
		if (ahead >= 0) {
			/* In order (or overlapping it): append what follows the held bytes. */
			k = avail - ahead;
			if (k > MXS_DNS_COPY)
				k = MXS_DNS_COPY;
			asm volatile("" : "+r"(k));
			k &= MXS_SCRATCH / 2 - 1;
			held_len &= 511;
			if (k == 0 || mxs_load(p, off + ahead, s->buf + held_len, k))
				return;
		}
		at.k = k;
		at.lost = ahead < 0;
		if (mxs_dns_tcp_unhold(h, s, l4, &at) == MXS_TCP_HELD)
			return;
		bpf_map_delete_elem(&mxs_tcp_hold, &tf);
		resume = at.seq;
		held = 1;
	} else {
		next = bpf_map_lookup_elem(&mxs_tcp_next, &tf);
		if (next)
			resume = *next;
	}
	if (held || next) {
		__s32 ahead = (__s32)(resume - l4->seq);

		if (ahead >= (__s32)avail) {
			if (held) /* the held message runs past this segment */
				bpf_map_update_elem(&mxs_tcp_next, &tf, &resume, BPF_ANY);
			else
				mxs_count(MXS_C_DNS_TCP_CONT);
			return;
		}
		if (next)
			bpf_map_delete_elem(&mxs_tcp_next, &tf);
		if (ahead > 0) {
			off += ahead;
			avail -= ahead;
		}
	}

	for (int i = 0; i < MXS_MAX_TCP_MSGS; i++) {
		__u32 k, seq = l4->seq + (off - l4->payload_off);
		struct mxs_tcp_pos at = {.avail = avail, .seq = seq, .dir = p->dir};
		int mlen;

		if (avail == 0)
			return;
		k = avail < MXS_DNS_COPY + 2 ? avail : MXS_DNS_COPY + 2;
		/* Keep clang from passing the unclamped length to the helper. */
		asm volatile("" : "+r"(k));
		k &= MXS_SCRATCH - 1;
		if (k == 0 || mxs_load(p, off, s->buf, k))
			return;
		at.k = k;
		/* Only the header and question must be in this segment. */
		mlen = mxs_dns_tcp_message(l4, s, &tf, &at);
		if (mlen < 0)
			return;
		if ((__u32)mlen + 2 > avail) {
			__u32 at = seq + 2 + mlen;

			bpf_map_update_elem(&mxs_tcp_next, &tf, &at, BPF_ANY);
			return;
		}
		if ((__u32)mlen + 2 == avail) {
			/* A response's retransmission would match no query any
			 * more (unsolicited): remember where it ended. */
			if (mxs_is_dns_port(l4->sport)) {
				__u32 at = seq + 2 + mlen;

				bpf_map_update_elem(&mxs_tcp_next, &tf, &at, BPF_ANY);
			}
			return;
		}
		off += mlen + 2;
		avail -= mlen + 2;
	}
	mxs_count(MXS_C_DNS_TCP_MSGS);
}

#endif /* MXS_DNS_H */
