/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SMTP tracker: connection outcomes (RFC 9293 handshake), the greeting and later
 * reply codes (RFC 5321 §4.2), STARTTLS (RFC 3207), per server, in both roles.
 */
#ifndef MXS_SMTP_H
#define MXS_SMTP_H

#include "smtp/track.h"

/* ICMP unreachable quoting the SYN of an attempt still waiting for its answer. */
static __always_inline void mxs_smtp_unreach(struct mxs_pkt *p, struct mxs_l4 *l4)
{
	struct mxs_smtp_flow_key k = {};
	struct mxs_server_key sk = {};
	struct mxs_smtp_stats *st;
	struct mxs_smtp_flow *f;

	if (l4->proto != MXS_IPPROTO_TCP || !mxs_is_smtp_port(l4->dport) || mxs_l4_addrs(p, l4))
		return;
	/* The quoted packet went client -> server. */
	mxs_orient(l4, 1, k.client, k.server, &k.client_port, &k.server_port);
	f = bpf_map_lookup_elem(&mxs_smtp_flows, &k);
	/*
	 * Kept, like a timed-out attempt: Linux sends the same SYN again after an
	 * unreachable (a soft error), and that is not a second attempt.
	 */
	if (!f)
		return;
	/*
	 * Only an error about this attempt's SYN ends it (as Linux's tcp_v4_err
	 * checks): the quote must carry the SYN's sequence number, and the error
	 * travels back towards the client, opposite to the SYN. Otherwise anyone
	 * who guesses a client port could book an MX host unreachable.
	 */
	if (!l4->quoted_seq || l4->seq != f->syn_seq ||
	    (p->dir == MXS_DIR_INGRESS) != (f->role == MXS_ROLE_CLIENT))
		return;
	if (!mxs_smtp_claim(f, MXS_SMTP_TIMED_OUT))
		return;
	mxs_server_key_set(&sk, k.server, k.server_port, MXS_IPPROTO_TCP, f->role);
	st = mxs_smtp_stats_get(&sk);
	if (st)
		st->outcomes[MXS_SMTP_UNREACHABLE]++;
}

/*
 * The agent's sweep (struct mxs_smtp_expire): end a flow it found old, unless
 * the datapath moved it on since the sweep's walk read it.
 */
static __always_inline void mxs_smtp_expire_one(struct mxs_smtp_expire *e)
{
	struct mxs_smtp_flow_key k;
	struct mxs_smtp_flow *f;
	__u64 was;

	__builtin_memcpy(&k, &e->key, sizeof(k));
	e->result = 0;
	f = bpf_map_lookup_elem(&mxs_smtp_flows, &k);
	if (!f || f->syn_ts != e->syn_ts)
		return; /* ended, or another attempt on the same 4-tuple */
	if (e->op == MXS_EXPIRE_CONNECT) {
		if (mxs_smtp_claim(f, MXS_SMTP_TIMED_OUT))
			e->result = MXS_EXPIRED_TIMEOUT;
		return;
	}
	if (f->last_ts != e->last_ts)
		return; /* a packet since the walk: not idle */
	was = f->state;
	if (mxs_smtp_claim(f, MXS_SMTP_DONE))
		e->result = MXS_EXPIRED_TIMEOUT; /* a late sweep: unanswered all along */
	else if (was == MXS_SMTP_OPEN)
		e->result = MXS_EXPIRED_EVICTED;
	if (!bpf_map_delete_elem(&mxs_smtp_flows, &k))
		e->result |= MXS_EXPIRED_DELETED;
}

/* SMTP on a configured port: orient the flow; the tracker reads the rest. */
static __always_inline void mxs_smtp(struct mxs_pkt *p, struct mxs_l4 *l4)
{
	struct mxs_smtp_flow_key k = {};
	struct mxs_smtp_seg sg = {};

	if (l4->proto != MXS_IPPROTO_TCP)
		return;
	if (mxs_is_smtp_port(l4->dport))
		sg.from_client = 1;
	else if (!mxs_is_smtp_port(l4->sport))
		return;
	if (mxs_l4_addrs(p, l4))
		return;

	mxs_orient(l4, sg.from_client, k.client, k.server, &k.client_port, &k.server_port);
	sg.seq = l4->seq;
	sg.ack = l4->ack;
	sg.flags = l4->tcp_flags;
	sg.dir = p->dir;
	sg.off = l4->payload_off;
	sg.len = l4->payload_len;
	if (p->dir == MXS_DIR_INGRESS)
		mxs_smtp_track_xdp(p->ctx, &k, &sg);
	else
		mxs_smtp_track_tc(p->ctx, &k, &sg);
}

#endif /* MXS_SMTP_H */
