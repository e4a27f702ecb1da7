/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS messages: the header, the question (hashed for pairing) and the OPT
 * record's extended rcode (RFC 1035 §4.1, RFC 6891 §6.1.3), decoded from a copy
 * in the scratch buffer with every index bounded.
 */
#ifndef MXS_DNS_MESSAGE_H
#define MXS_DNS_MESSAGE_H

#include "lib/stats.h"
#include "lib/parse.h"

#define MXS_DNS_HDR	 12
#define MXS_DNS_NAME_MAX 255 /* RFC 1035 §2.3.4 */
/* Header, the longest qname and QTYPE/QCLASS: what the question needs. */
#define MXS_DNS_READ (MXS_DNS_HDR + MXS_DNS_NAME_MAX + 4)
/*
 * Bytes of a message copied to the scratch buffer (at most half of it, less a
 * TCP length field): the question, and the records up to the OPT record.
 */
#define MXS_DNS_COPY   (MXS_SCRATCH / 2 - 2)
#define MXS_FNV_OFFSET 0xcbf29ce484222325ull
#define MXS_FNV_PRIME  0x100000001b3ull

/*
 * What a message's first bytes say. hdr: the 12-byte header was read (id,
 * flags) and is fit to pair by; noq: the question was not read (absent, or cut
 * short by the end of the bytes present).
 */
struct mxs_question {
	__u64 hash;
	__u16 id;
	__u16 flags;
	__u16 qtype;
	__u16 qclass;
	__u16 rcode; /* the full rcode: the OPT record's EXTENDED-RCODE << 4 | the header's */
	__u8 hdr;
	__u8 noq;
	__u8 qd0; /* QDCOUNT=0: the message has no question section at all */
	__u8 pad[3];
};

/*
 * Byte i of the scratch buffer. The barrier keeps clang from dropping the mask
 * from what it knows of i, so the verifier sees every index bounded.
 */
static __always_inline __u8 mxs_byte(const __u8 *b, __u32 i)
{
	asm volatile("" : "+r"(i));
	return b[i & (MXS_SCRATCH - 1)];
}

/*
 * Open-coded numeric iterator (kernel 6.4+): the verifier checks a loop body
 * until its state converges instead of once per step.
 */
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

#define MXS_DNS_TYPE_OPT 41   /* RFC 6891 §6.1.1 */
#define MXS_DNS_RR_STEPS 256  /* name labels and RRs walked looking for the OPT record */
#define MXS_OPT_NONE	 (-1) /* the additional section has no OPT record */
#define MXS_OPT_UNREAD	 (-2) /* the OPT record lies beyond what was read */

/*
 * Where the walk over a message's resource records stands. Kept in memory, not
 * in registers, so that every step looks alike to the verifier and the loop
 * converges at once.
 */
struct mxs_rr_walk {
	__u32 base;    /* the message starts at s->buf[base] */
	__u32 n;       /* bytes of it copied */
	__u32 pos;     /* the next byte to read */
	__u32 rr;      /* RRs passed */
	__u32 before;  /* ANCOUNT + NSCOUNT: the additional section starts after them */
	__u32 total;   /* ANCOUNT + NSCOUNT + ARCOUNT */
	__u32 in_name; /* at an owner name (labels or a compression pointer) */
	__s32 ext;     /* out: the OPT record's EXTENDED-RCODE, or MXS_OPT_NONE/UNREAD */
};

/*
 * Find the OPT record in the additional section (RFC 6891 §6.1.3: the upper 8
 * bits of the extended rcode are its TTL's first byte), walking every answer,
 * authority and additional RR from w->pos: owner names by labels or
 * compression pointers (RFC 1035 §4.1.4), then the fixed fields and RDATA. At
 * most MXS_DNS_RR_STEPS steps (a label or an RR each). A global function: its
 * open-coded loop is verified once.
 */
__noinline int mxs_dns_opt(const struct mxs_scratch *s, struct mxs_rr_walk *w)
{
	struct bpf_iter_num it;
	const __u8 *b;
	int *v;

	if (!s || !w)
		return 0;
	b = s->buf;
	w->ext = MXS_OPT_UNREAD;
	bpf_iter_num_new(&it, 0, MXS_DNS_RR_STEPS);
	while ((v = bpf_iter_num_next(&it))) {
		__u32 pos = w->pos, base = w->base & 3;

		if (w->rr >= w->total) {
			w->ext = MXS_OPT_NONE;
			break;
		}
		if (w->in_name) {
			__u8 c;

			if (pos >= w->n)
				break;
			c = mxs_byte(b, base + pos);
			if (c == 0) {
				w->pos = pos + 1;
				w->in_name = 0;
			} else if ((c & 0xc0) == 0xc0) {
				w->pos = pos + 2; /* a pointer ends the name */
				w->in_name = 0;
			} else if (c & 0xc0) {
				break; /* extended label types: not walked */
			} else {
				w->pos = pos + 1 + c;
			}
			continue;
		}
		/* TYPE, CLASS, TTL (4), RDLENGTH, then RDATA. */
		if (pos + 10 > w->n)
			break;
		if (w->rr >= w->before && mxs_byte(b, base + pos) == 0 &&
		    mxs_byte(b, base + pos + 1) == MXS_DNS_TYPE_OPT) {
			w->ext = mxs_byte(b, base + pos + 4);
			break;
		}
		w->pos = pos + 10 +
			 ((__u32)mxs_byte(b, base + pos + 8) << 8 | mxs_byte(b, base + pos + 9));
		w->rr++;
		w->in_name = 1;
	}
	bpf_iter_num_destroy(&it);
	return 0;
}

/*
 * Decode the header and question from the first n bytes of a message copied to
 * s->buf at base. Returns 0, or a counter reason; q->hdr tells whether the
 * header may pair even so: when the question is absent (QDCOUNT=0 is no error:
 * NOTIMP and FORMERR answers, RFC 1035 §4.1.2; cookie-only queries, RFC 7873
 * §5.4) or cut short by the end of the bytes present. QDCOUNT > 1 or a
 * malformed name says the bytes are no DNS message (or not one we understand,
 * e.g. stream bytes read out of step): never used. A global function: the
 * verifier checks its 255-step name walk once, not once per message of a TCP
 * segment.
 */
__noinline int mxs_dns_decode(const struct mxs_scratch *s, __u32 base, __u32 n,
			      struct mxs_question *q)
{
	__u32 i, rem = 0, end = 0;
	__u64 h = MXS_FNV_OFFSET;
	const __u8 *b;

	if (!s || !q)
		return MXS_C_DNS_SHORT;
	b = s->buf;
	q->hdr = 0;
	q->noq = 1;
	q->qd0 = 0;
	if (n < MXS_DNS_HDR || n > MXS_DNS_COPY || base > 2)
		return MXS_C_DNS_SHORT;
#define MXS_B(i) mxs_byte(b, base + (i))
	q->id = (__u16)MXS_B(0) << 8 | MXS_B(1);
	q->flags = (__u16)MXS_B(2) << 8 | MXS_B(3);
	q->rcode = q->flags & 0xf;
	q->hdr = 1;
	if (MXS_B(4) == 0 && MXS_B(5) == 0) {
		q->qd0 = 1;
		end = MXS_DNS_HDR;
		goto records;
	}
	if (MXS_B(4) != 0 || MXS_B(5) != 1) {
		q->hdr = 0;
		return MXS_C_DNS_QDCOUNT;
	}

	/* Walk the qname one byte at a time: labels, lower-cased, hashed. */
	for (i = 0; i < MXS_DNS_NAME_MAX; i++) {
		__u32 pos = MXS_DNS_HDR + i;
		__u8 c;

		if (pos >= n)
			return MXS_C_DNS_SHORT;
		c = MXS_B(pos);
		if (rem == 0) {
			if (c == 0) {
				end = pos + 1;
				break;
			}
			if (c & 0xc0) { /* compression or extended label: not in a question */
				q->hdr = 0;
				return MXS_C_DNS_NAME;
			}
			rem = c;
		} else {
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			rem--;
		}
		h = (h ^ c) * MXS_FNV_PRIME;
	}
	if (!end) {
		q->hdr = 0;
		return MXS_C_DNS_NAME;
	}
	if (end + 4 > n)
		return MXS_C_DNS_SHORT;
	q->hash = h;
	q->noq = 0;
	q->qtype = (__u16)MXS_B(end) << 8 | MXS_B(end + 1);
	q->qclass = (__u16)MXS_B(end + 2) << 8 | MXS_B(end + 3);
	end += 4;

records:
	/* A response's rcode may go on in its OPT record (RFC 6891 §6.1.3). */
	if ((q->flags & 0x8000) && (MXS_B(10) || MXS_B(11))) {
		struct mxs_rr_walk w = {
			.base = base,
			.n = n,
			.pos = end,
			.before = ((__u32)MXS_B(6) << 8 | MXS_B(7)) +
				  ((__u32)MXS_B(8) << 8 | MXS_B(9)),
			.in_name = 1,
		};

		w.total = w.before + ((__u32)MXS_B(10) << 8 | MXS_B(11));
		mxs_dns_opt(s, &w);
		if (w.ext == MXS_OPT_UNREAD)
			mxs_count(MXS_C_DNS_EDNS_UNREAD);
		else if (w.ext > 0)
			q->rcode |= (__u16)(w.ext & 0xff) << 4;
	}
#undef MXS_B
	return 0;
}

/* Copy the header and question of the message at off (len bytes present) and decode them. */
static __always_inline int mxs_dns_question(const struct mxs_pkt *p, __u32 off, __u32 len,
					    struct mxs_question *q)
{
	struct mxs_scratch *s;
	__u32 zero = 0, n;

	s = bpf_map_lookup_elem(&mxs_scratch, &zero);
	if (!s || len < MXS_DNS_HDR)
		return MXS_C_DNS_SHORT;
	n = len < MXS_DNS_COPY ? len : MXS_DNS_COPY;
	/* Keep clang from passing the unclamped length to the helper. */
	asm volatile("" : "+r"(n));
	n &= MXS_SCRATCH - 1;
	if (n < MXS_DNS_HDR)
		return MXS_C_DNS_SHORT;
	/* Most messages lie whole in a linear frame: copied without a helper call. */
	if (mxs_load_direct(p, off, s->buf, n) && mxs_load(p, off, s->buf, n))
		return MXS_C_DNS_SHORT;
	return mxs_dns_decode(s, 0, n, q);
}

#endif /* MXS_DNS_MESSAGE_H */
