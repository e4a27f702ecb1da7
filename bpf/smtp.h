/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SMTP tracker: connection outcomes (RFC 9293 handshake), the greeting and
 * later reply codes (RFC 5321 §4.2), STARTTLS (RFC 3207), per server, in both
 * roles.
 */
#ifndef MXS_SMTP_H
#define MXS_SMTP_H

#include "dns.h"

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

/* Set by the agent before load; 0 ends a list. mxs_smtp_ports is in dns.h. */
const volatile __u16 mxs_smtp_tls_ports[MXS_MAX_SMTP_PORTS] = {465};

static __always_inline int mxs_is_smtp_tls_port(__u16 port)
{
#pragma unroll
	for (int i = 0; i < MXS_MAX_SMTP_PORTS; i++)
		if (mxs_smtp_tls_ports[i] && mxs_smtp_tls_ports[i] == port)
			return 1;
	return 0;
}

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

/*
 * Moves an attempt still waiting for its answer to state `to`. True for the
 * one caller, datapath or sweep, that did: it alone counts the outcome.
 */
static __always_inline int mxs_smtp_claim(struct mxs_smtp_flow *f, __u64 to)
{
	return f->state == MXS_SMTP_SYN_SENT &&
	       __sync_val_compare_and_swap(&f->state, MXS_SMTP_SYN_SENT, to) == MXS_SMTP_SYN_SENT;
}

static __always_inline void mxs_smtp_server_key(struct mxs_server_key *sk,
						const struct mxs_smtp_flow_key *k, __u8 role)
{
	__builtin_memcpy(sk->addr, k->server, 16);
	sk->port = k->server_port;
	sk->proto = MXS_IPPROTO_TCP;
	sk->role = role;
}

/* A segment the receiving end's TCP would drop (bpf/tcp.h): counted, never evidence. */
static __always_inline int mxs_smtp_reject(__u8 reason)
{
	mxs_count(MXS_C_SMTP_REJ_RST + (reason & 3));
	return 0;
}

/*
 * Copy the server's payload bytes [off, off + MXS_SMTP_CHUNK) of this segment
 * to the scratch buffer and scan those from `start` on. True if some could not
 * be read as replies. (A flag, not a count: one value per outcome keeps the
 * verifier's chunk loop converging.)
 */
static __always_inline int mxs_smtp_chunk(const struct mxs_pkt *p, struct mxs_smtp_scan *sc,
					  struct mxs_scratch *s, const struct mxs_smtp_seg *sg,
					  __u32 start, __u32 off)
{
	__u32 n, from;

	if (off >= sg->len)
		return 0;
	n = sg->len - off;
	if (n > MXS_SMTP_CHUNK)
		n = MXS_SMTP_CHUNK;
	from = start > off ? start - off : 0;
	if (from >= n)
		return 0;
	/* Keep clang from passing the unclamped length to the helper. */
	asm volatile("" : "+r"(n));
	n &= MXS_SCRATCH - 1;
	if (!n || mxs_load(p, sg->off + off, s->buf, n)) {
		/* Not readable (within the segment's length it always is): skip to a line start. */
		sc->line = MXS_LINE_SKIP;
		return 1;
	}
	return mxs_smtp_scan(sc, s, from, n) != 0;
}

/*
 * Read a server segment's payload [start, len) for replies, chunk by chunk,
 * until its end or the start of TLS. True if some could not be read as replies.
 */
static __always_inline int mxs_smtp_read(const struct mxs_pkt *p, struct mxs_smtp_scan *sc,
					 struct mxs_scratch *s, const struct mxs_smtp_seg *sg,
					 __u32 start)
{
	struct bpf_iter_num it;
	__u32 first = start / MXS_SMTP_CHUNK;
	int bad, *v;

	/* The chunk holding `start`: for the usual short segment, the only one. */
	if (first >= MXS_SMTP_CHUNKS)
		goto beyond;
	bad = mxs_smtp_chunk(p, sc, s, sg, start, first * MXS_SMTP_CHUNK);
	if ((first + 1) * MXS_SMTP_CHUNK >= sg->len || sc->tls)
		return bad;
	bpf_iter_num_new(&it, first + 1, MXS_SMTP_CHUNKS);
	while ((v = bpf_iter_num_next(&it))) {
		__u32 off = (__u32)*v * MXS_SMTP_CHUNK;

		if (off >= sg->len || sc->tls)
			break;
		bad |= mxs_smtp_chunk(p, sc, s, sg, start, off);
	}
	bpf_iter_num_destroy(&it);
	if (sg->len <= MXS_SMTP_CHUNKS * MXS_SMTP_CHUNK || sc->tls)
		return bad;
beyond:
	/* A BIG TCP packet's bytes past the reader's reach. */
	sc->line = MXS_LINE_SKIP;
	return 1;
}

/* mxs_smtp_read for the XDP program: a global function, its chunk loop verified once. */
__noinline int mxs_smtp_read_xdp(struct xdp_md *ctx, struct mxs_smtp_scan *sc,
				 struct mxs_scratch *s, const struct mxs_smtp_seg *sg, __u32 start)
{
	struct mxs_pkt p = {.ctx = ctx, .dir = MXS_DIR_INGRESS};

	if (!sc || !s || !sg)
		return 0;
	return mxs_smtp_read(&p, sc, s, sg, start);
}

/* mxs_smtp_read for the TC program. */
__noinline int mxs_smtp_read_tc(struct __sk_buff *ctx, struct mxs_smtp_scan *sc,
				struct mxs_scratch *s, const struct mxs_smtp_seg *sg, __u32 start)
{
	struct mxs_pkt p = {.ctx = ctx, .dir = MXS_DIR_EGRESS};

	if (!sc || !s || !sg)
		return 0;
	return mxs_smtp_read(&p, sc, s, sg, start);
}

/*
 * Track one segment of a connection on an SMTP port; ctx is the program's
 * context, dir its constant direction (enum mxs_dir), so that each program
 * keeps only its own load helper. Inlined into one global function per
 * program: the verifier checks it once.
 *
 * Every attempt (a SYN with a new sequence number) ends in exactly one outcome:
 * established (SYN-ACK), refused (the server's RST), unreachable (ICMP, see
 * mxs_smtp_unreach) or timeout (the agent's sweep; or a new attempt on the same
 * 4-tuple replacing one still unanswered). What the client does meanwhile (FIN,
 * RST: it gave up, or its answer took another path) does not end an attempt.
 * An open connection is read until the server closes (its FIN), an RST from
 * either side, or the idle sweep: a reply after the client's FIN still counts.
 *
 * Only segments the receiving end's TCP would accept count (bpf/tcp.h): a
 * SYN-ACK or an RST answering the SYN must acknowledge it; after the handshake
 * an RST must sit exactly at the receive point, and data and FIN within the
 * window bound with a plausible ACK. Rejected segments are counted by reason
 * and change nothing, not even the flow's idle time.
 */
static __always_inline int mxs_smtp_track(void *ctx, __u32 dir, const struct mxs_smtp_flow_key *k,
					  struct mxs_smtp_seg *sg)
{
	struct mxs_pkt p = {.ctx = ctx, .dir = dir};
	struct mxs_server_key sk = {};
	struct mxs_smtp_stats *st;
	struct mxs_smtp_hist *h;
	struct mxs_smtp_flow *f;
	struct mxs_tcp_in in = {};
	struct mxs_scratch *s;
	__u32 zero = 0, len;
	__u64 now;
	int v;

	if (!k || !sg)
		return 0;
	if (dir == MXS_DIR_EGRESS)
		p.len = ((struct __sk_buff *)ctx)->len;
	/* The payload is what the IP length says, cut to what the packet holds. */
	len = mxs_pkt_len(&p);
	if (sg->off >= len)
		sg->len = 0;
	else if (sg->len > len - sg->off)
		sg->len = len - sg->off;
	now = bpf_ktime_get_ns();
	f = bpf_map_lookup_elem(&mxs_smtp_flows, k);

	if (sg->from_client && (sg->flags & (MXS_TCP_SYN | MXS_TCP_ACK)) == MXS_TCP_SYN) {
		struct mxs_smtp_flow nf = {
			.syn_ts = now,
			.last_ts = now,
			.state = MXS_SMTP_SYN_SENT,
			.syn_seq = sg->seq,
			.role = sg->dir == MXS_DIR_EGRESS ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER,
		};

		if (f) {
			if (f->syn_seq == sg->seq) {
				/* The same SYN again, whatever answered it: not a new attempt. */
				mxs_count(MXS_C_SMTP_SYN_RETRANS);
				if (f->state == MXS_SMTP_SYN_SENT)
					f->syn_retrans = 1;
				f->last_ts = now;
				return 0;
			}
			/* A new attempt on this 4-tuple: one still unanswered was abandoned. */
			if (mxs_smtp_claim(f, MXS_SMTP_DONE)) {
				mxs_smtp_server_key(&sk, k, f->role);
				st = mxs_smtp_stats_get(&sk);
				if (st)
					st->outcomes[MXS_SMTP_TIMEOUT]++;
			}
		}
		mxs_tcp_syn(&nf.tcp, sg->seq, sg->len);
		if (bpf_map_update_elem(&mxs_smtp_flows, k, &nf, BPF_ANY))
			mxs_count(MXS_C_SMTP_FLOWS_FULL);
		return 0;
	}
	if (!f)
		return 0; /* a connection whose SYN we did not see */
	mxs_smtp_server_key(&sk, k, f->role);
	in.seq = sg->seq;
	in.ack = sg->ack;
	in.len = sg->len;
	in.flags = sg->flags;
	in.from_client = sg->from_client;
	in.egress = sg->dir == MXS_DIR_EGRESS;

	if (sg->from_client) {
		/* Most client segments are commands and message data: no statistics. */
		v = mxs_tcp_judge(&f->tcp, &in);
		if (v == MXS_SEG_REJECT)
			return mxs_smtp_reject(in.reject);
		f->last_ts = now;
		if (in.resynced && f->state == MXS_SMTP_OPEN) {
			/* This host received server bytes the sensor did not read. */
			mxs_count(MXS_C_SMTP_UNPARSED);
			f->line = MXS_LINE_SKIP;
		}
		if ((sg->flags & MXS_TCP_RST) && f->state == MXS_SMTP_OPEN) {
			st = mxs_smtp_stats_get(&sk);
			mxs_smtp_end(f, st, k);
			return 0;
		}
		/* Of the client's commands only the first 8 bytes (STARTTLS) matter, and only in
		 * a segment that starts new bytes. */
		if (f->state == MXS_SMTP_OPEN && !f->tls && v == MXS_SEG_NEW && !in.start &&
		    sg->len >= 8) {
			__u8 cmd[8];

			if (!mxs_load(&p, sg->off, cmd, sizeof(cmd)) && mxs_is_starttls(cmd, 8))
				f->starttls = 1;
		}
		return 0;
	}

	if ((sg->flags & (MXS_TCP_SYN | MXS_TCP_ACK)) == (MXS_TCP_SYN | MXS_TCP_ACK)) {
		if (!mxs_tcp_acks_syn(&f->tcp, sg->flags, sg->ack))
			return mxs_smtp_reject(MXS_TCP_REJ_SYNACK);
		f->last_ts = now;
		st = mxs_smtp_stats_get(&sk);
		h = bpf_map_lookup_elem(&mxs_smtp_hist, &sk);
		if (mxs_smtp_claim(f, MXS_SMTP_OPEN)) {
			if (st) {
				st->outcomes[MXS_SMTP_ESTABLISHED]++;
				/* A SYN sent again is network loss, not the server's time. */
				if (f->syn_retrans)
					st->connect_retransmitted++;
				else
					mxs_hist_add(h ? h->connect_hist : 0, &st->connect_sum_ns,
						     now - f->syn_ts);
			}
		} else if (f->state == MXS_SMTP_TIMED_OUT) {
			/* Counted as a timeout already; still read the session. */
			f->state = MXS_SMTP_OPEN;
		} else {
			return 0; /* a retransmitted SYN-ACK */
		}
		f->open_ts = now;
		mxs_tcp_synack(&f->tcp, sg->seq);
		return 0;
	}
	if (sg->flags & MXS_TCP_RST) {
		/* Answering the SYN: it must acknowledge it; later: at the receive point. */
		if (f->state == MXS_SMTP_SYN_SENT || f->state == MXS_SMTP_TIMED_OUT) {
			if (!mxs_tcp_acks_syn(&f->tcp, sg->flags, sg->ack))
				return mxs_smtp_reject(MXS_TCP_REJ_RST);
		} else if (mxs_tcp_judge(&f->tcp, &in) == MXS_SEG_REJECT) {
			return mxs_smtp_reject(in.reject);
		}
		st = mxs_smtp_stats_get(&sk);
		if (mxs_smtp_claim(f, MXS_SMTP_DONE) && st)
			st->outcomes[MXS_SMTP_REFUSED]++;
		mxs_smtp_end(f, st, k);
		return 0;
	}
	if (f->state != MXS_SMTP_OPEN)
		return 0;
	v = mxs_tcp_judge(&f->tcp, &in);
	if (v == MXS_SEG_REJECT)
		return mxs_smtp_reject(in.reject);
	f->last_ts = now;
	if (v == MXS_SEG_OLD)
		return 0; /* all of it seen before: a retransmission */
	st = mxs_smtp_stats_get(&sk);
	h = bpf_map_lookup_elem(&mxs_smtp_hist, &sk);
	s = bpf_map_lookup_elem(&mxs_scratch, &zero);
	if (!s)
		return 0;

	if (sg->len && !f->tls) {
		__u32 start = in.start; /* bytes at its head seen before */

		if (in.gap) {
			/* Bytes we never saw: resume at the next line start. */
			mxs_count(MXS_C_SMTP_UNPARSED);
			f->line = MXS_LINE_SKIP;
		}
		if (!f->greeted && mxs_is_smtp_tls_port(k->server_port)) {
			/* Implicit TLS (RFC 8314): the ServerHello is the greeting. */
			__u8 rec[6];

			if (sg->len >= start + 6 &&
			    !mxs_load(&p, sg->off + start, rec, sizeof(rec)) &&
			    rec[0] == MXS_TLS_HANDSHAKE && rec[5] == MXS_TLS_SERVERHELLO) {
				f->greeted = 1;
				f->tls = 1;
				if (st) {
					st->greetings[MXS_SMTP_TLS]++;
					mxs_hist_add(h ? h->greeting_hist : 0, &st->greeting_sum_ns,
						     now - f->open_ts);
				}
			} else {
				mxs_count(MXS_C_SMTP_UNPARSED);
			}
		} else {
			struct mxs_smtp_scan sc = {.line = f->line,
						   .digits = f->digits,
						   .code = f->code,
						   .greeted = f->greeted,
						   .starttls = f->starttls};

			if (dir == MXS_DIR_INGRESS ? mxs_smtp_read_xdp(ctx, &sc, s, sg, start)
						   : mxs_smtp_read_tc(ctx, &sc, s, sg, start))
				mxs_count(MXS_C_SMTP_UNPARSED);
			mxs_smtp_apply(f, st, h, &sc, now);
		}
	}
	if (in.fin)
		mxs_smtp_end(f, st, k);
	return 0;
}

/* mxs_smtp_track for the XDP program (ingress). */
__noinline int mxs_smtp_track_xdp(struct xdp_md *ctx, const struct mxs_smtp_flow_key *k,
				  struct mxs_smtp_seg *sg)
{
	return mxs_smtp_track(ctx, MXS_DIR_INGRESS, k, sg);
}

/* mxs_smtp_track for the TC program (egress). */
__noinline int mxs_smtp_track_tc(struct __sk_buff *ctx, const struct mxs_smtp_flow_key *k,
				 struct mxs_smtp_seg *sg)
{
	return mxs_smtp_track(ctx, MXS_DIR_EGRESS, k, sg);
}

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
	mxs_smtp_server_key(&sk, &k, f->role);
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
