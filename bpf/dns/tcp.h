/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS over TCP (RFC 7766 §8: each message behind a 2-byte length): message starts
 * split anywhere across segments are held for the next, and each segment is judged
 * against its connection (lib/tcp.h) before it is read.
 */
#ifndef MXS_DNS_TCP_H
#define MXS_DNS_TCP_H

#include "lib/tcp.h"
#include "dns/account.h"

#define MXS_TCP_HELD (-1) /* the message start was held for the next segment */

/* The scalars of one TCP message step (a global function takes at most 5 arguments). */
struct mxs_tcp_pos {
	__u32 k;     /* stream bytes in the scratch buffer (this segment's, for unhold) */
	__u32 avail; /* bytes of the segment from the message's length on */
	__u32 seq;   /* stream position of the message's length; unhold: out, resume */
	__u32 dir;   /* enum mxs_dir */
	__u32 lost;  /* unhold: the segment does not follow the held bytes */
};

/*
 * One DNS message of a TCP segment: at->k stream bytes from its 2-byte length
 * on are in s->buf (all of them, or MXS_DNS_COPY + 2), at->avail bytes of the
 * segment from there, at->seq the stream position of its length. When the segment ends
 * before the length, header and question are all in, those bytes are held in
 * mxs_tcp_hold for the next segment (returns MXS_TCP_HELD); else the message is
 * decoded and accounted. Returns the message length (without its length
 * field). A global function, verified once for all 8 messages of a segment.
 */
__noinline int mxs_dns_tcp_message(const struct mxs_l4 *l4, struct mxs_scratch *s,
				   const struct mxs_tcp_flow *tf, const struct mxs_tcp_pos *at)
{
	struct mxs_question q = {};
	__u32 mlen, n, k, avail;
	int r = MXS_C_DNS_SHORT;

	if (!l4 || !s || !tf || !at)
		return 0;
	k = at->k;
	avail = at->avail;
	if (k > MXS_DNS_COPY + 2 || k > avail)
		return 0;
	mlen = k < 2 ? 0 : (__u32)s->buf[0] << 8 | s->buf[1];
	n = k < 2 ? 0 : k - 2;
	if (n > mlen)
		n = mlen;
	if (n >= MXS_DNS_HDR)
		r = mxs_dns_decode(s, 2, n, &q);
	if (r == MXS_C_DNS_SHORT && (k < 2 || mlen + 2 > avail) && avail <= MXS_DNS_READ + 2) {
		/* Cut by the segment's end: wait for the rest. */
		struct mxs_tcp_hold *v = (void *)(s->buf + MXS_SCRATCH / 2);

		v->seq = at->seq + avail;
		v->held = avail;
		__builtin_memcpy(v->buf, s->buf, MXS_TCP_HOLD);
		bpf_map_update_elem(&mxs_tcp_hold, tf, v, BPF_ANY);
		mxs_count(MXS_C_DNS_TCP_HELD);
		return MXS_TCP_HELD;
	}
	if (r)
		mxs_count(r);
	if (q.hdr)
		mxs_dns_account(l4, &q, at->dir);
	return mlen;
}

/*
 * Complete a held message start: s->buf holds h->held bytes from the hold, then
 * k bytes of this segment (0 when lost: the segment does not follow the held
 * bytes). Decodes and accounts when header and question are in, the message is
 * all in, or the continuation was lost (then with what was held: its header
 * pairs it by id). Else holds the longer start (returns MXS_TCP_HELD). at->seq
 * (out): where the next message starts, or this segment's start when not known.
 */
__noinline int mxs_dns_tcp_unhold(struct mxs_tcp_hold *h, struct mxs_scratch *s,
				  const struct mxs_l4 *l4, struct mxs_tcp_pos *at)
{
	struct mxs_question q = {};
	__u32 held, total, mlen, n, k, lost;
	int r = MXS_C_DNS_SHORT;

	if (!h || !s || !l4 || !at)
		return 0;
	k = at->k;
	lost = at->lost;
	at->seq = l4->seq;
	held = h->held;
	if (held > MXS_TCP_HOLD || k > MXS_DNS_COPY)
		return 0;
	total = held + k;
	if (lost)
		mxs_count(MXS_C_DNS_TCP_LOST);
	if (total < 2) {
		if (lost)
			return 0;
		h->buf[0] = s->buf[0];
		h->held = total;
		h->seq += k;
		return MXS_TCP_HELD;
	}
	mlen = (__u32)s->buf[0] << 8 | s->buf[1];
	at->seq = h->seq - held + 2 + mlen;
	n = total - 2 < mlen ? total - 2 : mlen;
	if (n > MXS_DNS_COPY)
		n = MXS_DNS_COPY;
	if (n >= MXS_DNS_HDR)
		r = mxs_dns_decode(s, 2, n, &q);
	if (r == MXS_C_DNS_SHORT && !lost && n < mlen && total <= MXS_DNS_READ + 2) {
		__builtin_memcpy(h->buf, s->buf, MXS_TCP_HOLD);
		h->held = total;
		h->seq += k;
		return MXS_TCP_HELD;
	}
	if (r)
		mxs_count(r);
	if (q.hdr)
		mxs_dns_account(l4, &q, at->dir);
	return 0;
}

/*
 * DNS over TCP: judge a segment against its connection's record (struct
 * mxs_dns_conn), kept from the client's SYN on. A SYN opens the record (a
 * later one on the same 4-tuple is pending); a SYN-ACK must acknowledge the
 * SYN (it then starts the server's stream, or the pending connection); every
 * other segment goes through mxs_tcp_judge. Returns 1 when the segment must not
 * be read: rejected (counted by reason), a SYN-ACK, or nothing but bytes read
 * before (a retransmission). A connection without a
 * record (SYN not seen, evicted) is read unchecked. A global function, verified
 * once.
 */
__noinline int mxs_dns_tcp_judge(const struct mxs_l4 *l4, __u32 dir, __u32 len)
{
	struct mxs_tcp_conn_key k = {};
	struct mxs_tcp_in in = {};
	struct mxs_dns_conn *c;
	int from_client, syn;
	void *map;

	if (!l4)
		return 0;
	syn = l4->tcp_flags & MXS_TCP_SYN;
	/* The SYN's sender is the client; after it, the side on a DNS port is the server. */
	from_client = syn ? !(l4->tcp_flags & MXS_TCP_ACK) : mxs_is_dns_port(l4->dport);
	mxs_orient(l4, from_client, k.client, k.server, &k.client_port, &k.server_port);
	map = (dir == MXS_DIR_EGRESS) == from_client ? (void *)&mxs_dns_conns
						     : (void *)&mxs_dns_conns_srv;
	c = bpf_map_lookup_elem(map, &k);
	if (syn && from_client) {
		if (!c) {
			struct mxs_dns_conn nc = {.syn_seq = l4->seq};

			mxs_tcp_syn(&nc.tcp, l4->seq, len);
			bpf_map_update_elem(map, &k, &nc, BPF_ANY);
		} else if (c->syn_seq != l4->seq && !(c->pending && c->pend_seq == l4->seq)) {
			c->pend_seq = l4->seq;
			c->pend_next = l4->seq + 1 + len;
			c->pending = 1;
		}
		return 0; /* data on a SYN (TCP Fast Open) is read as before */
	}
	if (!c)
		return 0;
	if (syn) {
		if (c->pending && (l4->tcp_flags & MXS_TCP_ACK) &&
		    mxs_tcp_ack_ok(l4->ack, c->pend_seq + 1, c->pend_next)) {
			/* The server took the new connection: its record starts over. */
			c->syn_seq = c->pend_seq;
			c->tcp.cli_next = c->pend_next;
			c->tcp.cli_floor = c->pend_seq + 1;
			c->pending = 0;
			mxs_tcp_synack(&c->tcp, l4->seq);
		} else if (!mxs_tcp_acks_syn(&c->tcp, l4->tcp_flags, l4->ack)) {
			mxs_count(MXS_C_DNS_TCP_REJ_SYNACK);
		} else if (!c->tcp.srv_known) {
			mxs_tcp_synack(&c->tcp, l4->seq);
		}
		return 1;
	}
	in.seq = l4->seq;
	in.ack = l4->ack;
	in.len = len;
	in.flags = l4->tcp_flags;
	in.from_client = from_client;
	in.egress = dir == MXS_DIR_EGRESS;
	switch (mxs_tcp_judge(&c->tcp, &in)) {
	case MXS_SEG_NEW:
		return 0;
	case MXS_SEG_OLD:
		/* Only bytes read before: a retransmission (a query sent again after its answer
		 * was lost is no new query; its answer sent again no new answer). */
		return 1;
	}
	mxs_count(MXS_C_DNS_TCP_REJ_RST + (in.reject & 3));
	return 1;
}

#endif /* MXS_DNS_TCP_H */
