/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reading a server segment whole, chunk by chunk, into the reply scanner; claiming
 * an attempt's outcome once.
 */
#ifndef MXS_SMTP_READ_H
#define MXS_SMTP_READ_H

#include "lib/server_key.h"
#include "lib/tcp.h"
#include "smtp/reply.h"

/*
 * Moves an attempt still waiting for its answer to state `to`. True for the
 * one caller, datapath or sweep, that did: it alone counts the outcome.
 */
static __always_inline int mxs_smtp_claim(struct mxs_smtp_flow *f, __u64 to)
{
	return f->state == MXS_SMTP_SYN_SENT &&
	       __sync_val_compare_and_swap(&f->state, MXS_SMTP_SYN_SENT, to) == MXS_SMTP_SYN_SENT;
}

/* A segment the receiving end's TCP would drop (bpf/lib/tcp.h): counted, never evidence. */
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

#endif /* MXS_SMTP_READ_H */
