/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SMTP replies (RFC 5321 §4.2): reply codes scanned line by line, the greeting,
 * STARTTLS (RFC 3207) and its answer, tallied per server.
 */
#ifndef MXS_SMTP_REPLY_H
#define MXS_SMTP_REPLY_H

#include "lib/stats.h"
#include "lib/parse.h"

/*
 * A server segment is read whole, MXS_SMTP_CHUNK bytes at a time copied to the
 * scratch buffer, up to MXS_SMTP_CHUNKS copies: 64 KiB, more than any IPv4 or
 * IPv6 length field allows a TCP payload to be (a TSO/GSO segment at TC egress,
 * a multi-buffer frame at XDP). Only a BIG TCP GSO packet at TC egress (length
 * field 0, mxs_big_tcp_len) is longer: its bytes past 64 KiB are counted
 * unparsed and the reader resumes at the next line start.
 */
#define MXS_SMTP_CHUNK	2048 /* < MXS_SCRATCH: a length masked with MXS_SCRATCH - 1 fits */
#define MXS_SMTP_CHUNKS 32
_Static_assert(65535 < MXS_SMTP_CHUNK * MXS_SMTP_CHUNKS,
	       "a TCP payload (its length from a 16-bit IP length field) is read whole");

#define MXS_TLS_HANDSHAKE   0x16 /* RFC 8446 §5.1 ContentType */
#define MXS_TLS_SERVERHELLO 0x02 /* RFC 8446 §4 HandshakeType */

/* What the tracker needs of one TCP segment on an SMTP port. */
struct mxs_smtp_seg {
	__u32 seq;
	__u32 ack;
	__u32 len;  /* TCP payload length: the IP header's, then what the packet holds */
	__u32 off;  /* the payload's offset in the frame */
	__u8 flags; /* TCP flags */
	__u8 from_client;
	__u8 dir; /* enum mxs_dir */
	__u8 pad;
};

static __always_inline __u32 mxs_smtp_slot(__u32 code)
{
	switch (code) {
	case 220:
		return MXS_SMTP_220;
	case 250:
		return MXS_SMTP_250;
	case 354:
		return MXS_SMTP_354;
	case 421:
		return MXS_SMTP_421;
	case 450:
		return MXS_SMTP_450;
	case 451:
		return MXS_SMTP_451;
	case 452:
		return MXS_SMTP_452;
	case 454:
		return MXS_SMTP_454;
	case 500:
		return MXS_SMTP_500;
	case 501:
		return MXS_SMTP_501;
	case 502:
		return MXS_SMTP_502;
	case 503:
		return MXS_SMTP_503;
	case 504:
		return MXS_SMTP_504;
	case 550:
		return MXS_SMTP_550;
	case 551:
		return MXS_SMTP_551;
	case 552:
		return MXS_SMTP_552;
	case 553:
		return MXS_SMTP_553;
	case 554:
		return MXS_SMTP_554;
	}
	if (code < 300)
		return MXS_SMTP_2XX;
	if (code < 400)
		return MXS_SMTP_3XX;
	if (code < 500)
		return MXS_SMTP_4XX;
	return MXS_SMTP_5XX;
}

/* The per-CPU counters of an SMTP server, inserted with its histograms on first sight. */
static __always_inline struct mxs_smtp_stats *mxs_smtp_stats_get(const struct mxs_server_key *k)
{
	return mxs_stats_get(&mxs_smtp_stats, &mxs_smtp_hist, k, MXS_C_SMTP_STATS_FULL,
			     MXS_C_SMTP_INSERT_FAIL);
}

/*
 * Open-coded numeric iterator (kernel 6.4+): the verifier checks the loop body
 * until its state converges instead of once per byte, which a 1024-step byte
 * loop with a state machine in it would not survive.
 */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

#define MXS_SCAN_GREETING 0x1 /* the greeting was read: greeting holds its code */
#define MXS_SCAN_STARTTLS 0x2 /* the reply to STARTTLS was read: starttls_code */

/*
 * The reply parser: its state, carried between segments in the flow, and what
 * one segment's scan found. Replies are tallied by code, so every reply of a
 * segment is counted, however many it holds.
 */
struct mxs_smtp_scan {
	__u32 line;	     /* in/out: enum mxs_smtp_line */
	__u32 digits;	     /* in/out: digits of code read so far */
	__u32 code;	     /* in/out */
	__u8 greeted;	     /* in/out: the greeting was read */
	__u8 starttls;	     /* in/out: the client sent STARTTLS, its reply pending */
	__u8 tls;	     /* out: STARTTLS answered 220: the rest is TLS, not read */
	__u8 events;	     /* out: MXS_SCAN_* */
	__u16 greeting;	     /* out: the greeting's code */
	__u16 starttls_code; /* out: the code answering STARTTLS */
	__u16 replies[MXS_SMTP_CODE_MAX]; /* out: later replies by enum mxs_smtp_code */
};

/* One complete reply (its last line) in the server's stream. */
static __always_inline void mxs_scan_reply(struct mxs_smtp_scan *sc)
{
	__u32 slot;

	if (!sc->greeted) {
		sc->greeted = 1;
		sc->greeting = sc->code;
		sc->events |= MXS_SCAN_GREETING;
		return;
	}
	slot = mxs_smtp_slot(sc->code);
	if (slot < MXS_SMTP_CODE_MAX)
		sc->replies[slot]++;
	if (sc->starttls) {
		sc->starttls = 0;
		sc->starttls_code = sc->code;
		sc->events |= MXS_SCAN_STARTTLS;
		if (sc->code == 220)
			sc->tls = 1; /* the rest is encrypted */
	}
}

/*
 * Scan the server's bytes buf[start..n) for complete replies. The state
 * carries over between segments, so a reply split anywhere is read once; only
 * the last line of a multi-line reply ("250-...", then "250 ...") counts. Stops
 * where TLS starts. A global function touching no map: the verifier checks its
 * byte loop once.
 */
__noinline int mxs_smtp_scan(struct mxs_smtp_scan *sc, const struct mxs_scratch *s, __u32 start,
			     __u32 n)
{
	struct bpf_iter_num it;
	int unparsed = 0, *v;

	if (!sc || !s)
		return 0;
	if (n > MXS_SCRATCH)
		n = MXS_SCRATCH;
	bpf_iter_num_new(&it, start, n);
	while ((v = bpf_iter_num_next(&it))) {
		__u8 c = s->buf[*v & (MXS_SCRATCH - 1)];

		if (sc->line == MXS_LINE_SKIP) {
			if (c == '\n')
				sc->line = MXS_LINE_START;
			continue;
		}
		if (sc->line == MXS_LINE_START) {
			sc->line = MXS_LINE_CODE;
			sc->digits = 0;
			sc->code = 0;
		}
		if (sc->digits < 3) {
			if (c < '0' || c > '9') {
				unparsed++;
				sc->line = c == '\n' ? MXS_LINE_START : MXS_LINE_SKIP;
				continue;
			}
			sc->code = sc->code * 10 + (c - '0');
			sc->digits++;
			continue;
		}
		/* The byte after the code: '-' continues the reply, ' ' or CRLF ends it. */
		sc->line = c == '\n' ? MXS_LINE_START : MXS_LINE_SKIP;
		if (c == ' ' || c == '\r' || c == '\n') {
			mxs_scan_reply(sc);
			if (sc->tls)
				break;
		} else if (c != '-') {
			unparsed++;
		}
	}
	bpf_iter_num_destroy(&it);
	return unparsed;
}

/* A segment's scan into the flow and the server's statistics. */
static __always_inline void mxs_smtp_apply(struct mxs_smtp_flow *f, struct mxs_smtp_stats *st,
					   struct mxs_smtp_hist *h, const struct mxs_smtp_scan *sc,
					   __u64 now)
{
	f->line = sc->line;
	f->digits = sc->digits;
	f->code = sc->code;
	f->greeted = sc->greeted;
	f->starttls = sc->starttls;
	if (sc->tls)
		f->tls = 1;
	if (!st)
		return;
	if (sc->events & MXS_SCAN_GREETING) {
		__u32 slot = mxs_smtp_slot(sc->greeting);

		if (slot < MXS_SMTP_CODE_MAX) {
			st->greetings[slot]++;
			mxs_hist_add(h ? h->greeting_hist : 0, &st->greeting_sum_ns,
				     now - f->open_ts);
		}
	}
#pragma unroll
	for (int i = 0; i < MXS_SMTP_CODE_MAX; i++)
		st->replies[i] += sc->replies[i];
	if (sc->events & MXS_SCAN_STARTTLS) {
		if (sc->starttls_code == 220)
			st->starttls[MXS_STARTTLS_STARTED]++;
		else if (sc->starttls_code == 454 || sc->starttls_code >= 500)
			st->starttls[MXS_STARTTLS_REFUSED]++;
	}
}

/* Case-insensitive "STARTTLS" at the start of a client segment (RFC 3207 §4). */
static __always_inline int mxs_is_starttls(const __u8 *b, __u32 n)
{
	const char want[8] = "STARTTLS";

	if (n < 8)
		return 0;
#pragma unroll
	for (int i = 0; i < 8; i++)
		if ((b[i] & 0xdf) != want[i])
			return 0;
	return 1;
}

static __always_inline void mxs_smtp_end(struct mxs_smtp_flow *f, struct mxs_smtp_stats *st,
					 const struct mxs_smtp_flow_key *k)
{
	if (st && f->state == MXS_SMTP_OPEN && !f->greeted)
		st->closed_before_greeting++;
	bpf_map_delete_elem(&mxs_smtp_flows, k);
}

#endif /* MXS_SMTP_REPLY_H */
