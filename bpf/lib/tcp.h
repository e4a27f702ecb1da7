/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP segment acceptance: would the receiving end's TCP take this segment
 * (RFC 9293 §3.10.7, RFC 5961)? Judged against what the sensor accepted of both
 * streams of the connection (struct mxs_tcp_seq). Only accepted segments are
 * evidence: a forged packet the receiver drops must never become one.
 */
#ifndef MXS_TCP_H
#define MXS_TCP_H

#include "lib/parse.h"

#define MXS_TCP_FIN 0x01
#define MXS_TCP_SYN 0x02
#define MXS_TCP_RST 0x04
#define MXS_TCP_ACK 0x10

/*
 * How far past a stream's receive point a segment may start: the largest
 * window without scaling (RFC 9293 §3.1). Window scaling (RFC 7323) is not
 * tracked; a receiver that scales may accept a segment further out, whose
 * bytes the sensor then misses until this host acknowledges them (resync).
 */
#define MXS_TCP_WINDOW 65535
/* The largest scaled window (RFC 7323 §2.3): how far an ACK may trail SND.NXT. */
#define MXS_TCP_ACK_SPAN (1u << 30)

enum mxs_tcp_verdict {
	MXS_SEG_NEW = 0, /* accepted, with bytes (or a FIN, an RST) not seen before */
	MXS_SEG_OLD,	 /* accepted, only bytes seen before: a retransmission */
	MXS_SEG_REJECT,	 /* the receiver would drop it: why in mxs_tcp_in.reject */
};

/* One segment for mxs_tcp_judge, and what the judge found. */
struct mxs_tcp_in {
	__u32 seq;
	__u32 ack;
	__u32 len;   /* payload bytes */
	__u32 start; /* out, MXS_SEG_NEW: payload bytes at its head seen before */
	__u8 flags;
	__u8 from_client;
	__u8 egress;   /* sent by this host (TC egress): its ACK is what this host received */
	__u8 reject;   /* out, MXS_SEG_REJECT: enum mxs_tcp_reject */
	__u8 gap;      /* out, MXS_SEG_NEW: it starts past the receive point (bytes missed) */
	__u8 fin;      /* out, MXS_SEG_NEW: its FIN is accepted */
	__u8 resynced; /* out: this host acknowledged the peer's bytes past the receive point */
	__u8 pad;
};

/* SEG.ACK within [floor, next] (RFC 5961 §5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT). */
static __always_inline int mxs_tcp_ack_ok(__u32 ack, __u32 floor, __u32 next)
{
	return (__s32)(ack - floor) >= 0 && (__s32)(next - ack) >= 0;
}

/* Move a stream's receive point forward to `to`, its floor along. */
static __always_inline void mxs_tcp_advance(__u32 *next, __u32 *floor, __u32 to)
{
	if ((__s32)(to - *next) <= 0)
		return;
	*next = to;
	if (to - *floor > MXS_TCP_ACK_SPAN)
		*floor = to - MXS_TCP_ACK_SPAN;
}

/* The client's SYN (seq, len payload bytes: TCP Fast Open) opens both streams' record. */
static __always_inline void mxs_tcp_syn(struct mxs_tcp_seq *t, __u32 seq, __u32 len)
{
	t->cli_next = seq + 1 + len;
	t->cli_floor = seq + 1;
	t->srv_known = 0;
}

/*
 * A SYN-ACK, or an RST answering a SYN, is acceptable only with ACK set and
 * SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.3, SYN-SENT): it acknowledges
 * the SYN (and any data sent with it). A bare RST, or one acknowledging
 * anything else, is dropped by the client's TCP.
 */
static __always_inline int mxs_tcp_acks_syn(const struct mxs_tcp_seq *t, __u8 flags, __u32 ack)
{
	return (flags & MXS_TCP_ACK) && mxs_tcp_ack_ok(ack, t->cli_floor, t->cli_next);
}

/* The server's accepted SYN-ACK (sequence number seq) starts its stream. */
static __always_inline void mxs_tcp_synack(struct mxs_tcp_seq *t, __u32 seq)
{
	t->srv_next = seq + 1;
	t->srv_floor = seq + 1;
	t->srv_known = 1;
}

/*
 * Judge one segment of a synchronized connection (not a SYN; a server segment
 * needs the SYN-ACK accepted) and move the receive point of its stream:
 *
 * - This host's own segments (egress) first move the peer's receive point up
 *   to their ACK: what this host's TCP received is in its stream, whatever the
 *   sensor read of it (resynced; this also heals a gap beyond the bound).
 * - An RST is acceptable only at exactly the receive point (RFC 5961 §3.2;
 *   Linux sends a challenge ACK for any other in-window RST).
 * - Other segments need ACK set (RFC 9293 §3.10.7.4) and an ACK within
 *   [floor, next] of the peer's stream: acknowledging nothing never sent, and
 *   nothing older than the largest window (RFC 5961 §5.2). Not checked for a
 *   client segment before the server's SYN-ACK.
 * - The sequence number: from the stream's floor up to MXS_TCP_WINDOW - 1
 *   bytes past its receive point. Before the receive point with nothing new:
 *   a retransmission or a keep-alive (MXS_SEG_OLD; from the floor - 1 on).
 *   Further out, or before the floor: rejected.
 *
 * A global function, verified once for all callers.
 */
__noinline int mxs_tcp_judge(struct mxs_tcp_seq *t, struct mxs_tcp_in *in)
{
	__u32 *next, *floor, *pnext, *pfloor, end;
	int peer_known;
	__s32 d;

	if (!t || !in)
		return MXS_SEG_REJECT;
	in->start = 0;
	in->gap = 0;
	in->fin = 0;
	in->resynced = 0;
	in->reject = MXS_TCP_REJ_WINDOW;
	if (in->from_client) {
		next = &t->cli_next;
		floor = &t->cli_floor;
		pnext = &t->srv_next;
		pfloor = &t->srv_floor;
		peer_known = t->srv_known;
	} else {
		if (!t->srv_known)
			return MXS_SEG_REJECT; /* no SYN-ACK accepted: no stream to be in */
		next = &t->srv_next;
		floor = &t->srv_floor;
		pnext = &t->cli_next;
		pfloor = &t->cli_floor;
		peer_known = 1;
	}
	if (in->egress && peer_known && (in->flags & MXS_TCP_ACK) &&
	    (__s32)(in->ack - *pnext) > 0) {
		mxs_tcp_advance(pnext, pfloor, in->ack);
		in->resynced = 1;
	}
	if (in->flags & MXS_TCP_RST) {
		if (in->seq == *next)
			return MXS_SEG_NEW;
		in->reject = MXS_TCP_REJ_RST;
		return MXS_SEG_REJECT;
	}
	if (peer_known &&
	    (!(in->flags & MXS_TCP_ACK) || !mxs_tcp_ack_ok(in->ack, *pfloor, *pnext))) {
		in->reject = MXS_TCP_REJ_ACK;
		return MXS_SEG_REJECT;
	}
	end = in->seq + in->len + (in->flags & MXS_TCP_FIN ? 1 : 0);
	d = (__s32)(in->seq - *next);
	if (d >= MXS_TCP_WINDOW)
		return MXS_SEG_REJECT;
	if (d < 0) {
		if ((__s32)(end - *next) <= 0) {
			/* Nothing new: a retransmission, or a keep-alive at SND.NXT - 1
			 * (RFC 9293 §3.8.4), which for an idle stream is its ISS. */
			if ((__s32)(in->seq - *floor) < -1)
				return MXS_SEG_REJECT;
			return MXS_SEG_OLD;
		}
		if ((__s32)(in->seq - *floor) < 0)
			return MXS_SEG_REJECT;
		in->start = -d;
	} else if (d > 0) {
		in->gap = 1;
	}
	in->fin = (in->flags & MXS_TCP_FIN) ? 1 : 0;
	mxs_tcp_advance(next, floor, end);
	return MXS_SEG_NEW;
}

#endif /* MXS_TCP_H */
