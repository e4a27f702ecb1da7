/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS tracker: matches queries with responses (RFC 5452 §3: both endpoints,
 * protocol, id and question) and accounts latency, rcodes and anomalies per
 * server.
 */
#ifndef MXS_DNS_H
#define MXS_DNS_H

#include "tcp.h"

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

/* Set by the agent before load. */
const volatile __u16 mxs_dns_ports[MXS_MAX_PORTS] = {53};

static __always_inline int mxs_is_dns_port(__u16 port)
{
#pragma unroll
	for (int i = 0; i < MXS_MAX_PORTS; i++)
		if (mxs_dns_ports[i] && mxs_dns_ports[i] == port)
			return 1;
	return 0;
}

/* SMTP ports, as the fast exit must know them too. */
const volatile __u16 mxs_smtp_ports[MXS_MAX_SMTP_PORTS] = {25, 465, 587};

static __always_inline int mxs_is_smtp_port(__u16 port)
{
#pragma unroll
	for (int i = 0; i < MXS_MAX_SMTP_PORTS; i++)
		if (mxs_smtp_ports[i] && mxs_smtp_ports[i] == port)
			return 1;
	return 0;
}

static __always_inline int mxs_is_watched_port(__u16 port)
{
	return mxs_is_dns_port(port) || mxs_is_smtp_port(port);
}

/*
 * Most traffic is untagged TCP or UDP over IPv4 without options or IPv6 without
 * extension headers, on no DNS port: recognise it at fixed offsets and leave
 * before the full parse (DNS and SMTP ports both count as ours). Anything else (tags, options,
 * fragments, short frames) takes the full path, where it is counted.
 */
static __always_inline int mxs_fast_skip(const struct mxs_pkt *p)
{
	struct ethhdr *eth = p->data;
	__u16 *ports;

	if (p->data + sizeof(*eth) + sizeof(struct iphdr) + 4 > p->data_end)
		return 0;
	if (eth->h_proto == bpf_htons(MXS_ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if (ip->ihl != 5 ||
		    (ip->protocol != MXS_IPPROTO_TCP && ip->protocol != MXS_IPPROTO_UDP) ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return 0;
		ports = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(MXS_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) + 4 > p->data_end ||
		    (ip6->nexthdr != MXS_IPPROTO_TCP && ip6->nexthdr != MXS_IPPROTO_UDP))
			return 0;
		ports = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	return !mxs_is_watched_port(bpf_ntohs(ports[0])) &&
	       !mxs_is_watched_port(bpf_ntohs(ports[1]));
}

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
	if (n < MXS_DNS_HDR || mxs_load(p, off, s->buf, n))
		return MXS_C_DNS_SHORT;
	return mxs_dns_decode(s, 0, n, q);
}

static __always_inline struct mxs_dns_stats *mxs_server_stats(const struct mxs_server_key *k)
{
	return mxs_stats_get(&mxs_dns_stats, &mxs_dns_hist, k, MXS_C_STATS_FULL,
			     MXS_C_STATS_INSERT_FAIL);
}

/* The counter of a full rcode: 0-5 one by one, the rest (BADVERS 16, BADCOOKIE 23, ...) OTHER. */
static __always_inline __u32 mxs_rcode_slot(__u16 rcode)
{
	return rcode < MXS_RCODE_OTHER ? rcode : MXS_RCODE_OTHER;
}

/*
 * The in-flight map of a role: each role has its own budget, so a flood of
 * (spoofed) queries to this host cannot starve the tracking of its own.
 */
static __always_inline struct mxs_dns_inflight *mxs_flight_lookup(__u32 role,
								  const struct mxs_dns_flow_key *k)
{
	if (role == MXS_ROLE_SERVER)
		return bpf_map_lookup_elem(&mxs_dns_flight_srv, k);
	return bpf_map_lookup_elem(&mxs_dns_flight, k);
}

static __always_inline long mxs_flight_insert(__u32 role, const struct mxs_dns_flow_key *k,
					      const struct mxs_dns_inflight *v)
{
	if (role == MXS_ROLE_SERVER)
		return bpf_map_update_elem(&mxs_dns_flight_srv, k, v, BPF_NOEXIST);
	return bpf_map_update_elem(&mxs_dns_flight, k, v, BPF_NOEXIST);
}

static __always_inline long mxs_flight_delete(__u32 role, const struct mxs_dns_flow_key *k)
{
	if (role == MXS_ROLE_SERVER)
		return bpf_map_delete_elem(&mxs_dns_flight_srv, k);
	return bpf_map_delete_elem(&mxs_dns_flight, k);
}

#define MXS_Q_MISMATCH	0   /* the answer's question differs: no match (RFC 5452 §9.1) */
#define MXS_Q_MATCH	0x1 /* matched */
#define MXS_Q_UNCHECKED 0x2 /* with MXS_Q_MATCH: by endpoints and id alone (no question) */

/*
 * Whether an answer q fits its query, by what the query's in-flight entry (or
 * its swept record) keeps: the question's hash, QTYPE, QCLASS and
 * MXS_INFLIGHT_NOQ. Without a question on either side, endpoints and id alone
 * match. An answer may leave out the question (QDCOUNT=0) only where the
 * server could not read it (FORMERR), does not implement the opcode (NOTIMP;
 * RFC 1035 §4.1.1), or answers an EDNS/TSIG error from the header (extended
 * rcodes, 16 and up: RFC 6891, RFC 8945). Any other answer without a question
 * to a query that had one does not fit: else whoever guesses an id could
 * answer any query with QDCOUNT=0 and the real answer would be unsolicited.
 * One rule for answers in time and late ones.
 */
static __always_inline int mxs_question_fits(const struct mxs_question *q, __u64 hash, __u16 qtype,
					     __u16 qclass, __u8 flags)
{
	if (q->qd0 && !(flags & MXS_INFLIGHT_NOQ) && q->rcode != MXS_RCODE_FORMERR &&
	    q->rcode != MXS_RCODE_NOTIMP && q->rcode < 16)
		return MXS_Q_MISMATCH;
	if (q->noq || (flags & MXS_INFLIGHT_NOQ))
		return MXS_Q_MATCH | MXS_Q_UNCHECKED;
	if (hash != q->hash || qtype != q->qtype || qclass != q->qclass)
		return MXS_Q_MISMATCH;
	return MXS_Q_MATCH;
}

#define MXS_LATE_NONE	  0    /* no swept query of this key: not late */
#define MXS_LATE	  1    /* late, counted */
#define MXS_LATE_MISMATCH (-1) /* a swept query's key, but another question: no match */

/*
 * A response that missed the in-flight map: was its query expired by the
 * agent's sweep (mxs_dns_swept)? Then, if it travels opposite to its query and
 * fits the query's question as an answer in time must (mxs_question_fits), it
 * is late, counted once (MXS_C_LATE_RESPONSE; the sweep counted the query
 * unanswered) and never unsolicited: the entry is deleted, so a duplicate
 * answer is not late twice (whoever deletes it owns it). One with another
 * question is MXS_LATE_MISMATCH (the caller counts it as mismatched, like an
 * answer in time) and leaves the record for the real answer.
 */
static __always_inline int mxs_dns_late(const struct mxs_dns_flow_key *fk, __u32 role, __u32 dir,
					const struct mxs_question *q)
{
	void *map = role == MXS_ROLE_SERVER ? (void *)&mxs_dns_swept_srv : (void *)&mxs_dns_swept;
	struct mxs_dns_swept *sw = bpf_map_lookup_elem(map, fk);

	if (!sw || sw->role != role || sw->dir == dir)
		return MXS_LATE_NONE;
	if (!mxs_question_fits(q, sw->qname_hash, sw->qtype, sw->qclass, sw->flags))
		return MXS_LATE_MISMATCH;
	if (bpf_map_delete_elem(map, fk))
		return MXS_LATE_NONE; /* another CPU's copy of the answer took it */
	mxs_count(MXS_C_LATE_RESPONSE);
	return MXS_LATE;
}

/*
 * Account one DNS message whose header was read. A query is tracked even when
 * its question was not read; a response is paired by endpoints, protocol and id,
 * and also by question when both sides have one (else it counts as
 * matched_without_question). A global function, verified once; it needs no
 * packet access, only the parsed endpoints and question.
 */
__noinline int mxs_dns_account(const struct mxs_l4 *l4, const struct mxs_question *q, __u32 dir)
{
	struct mxs_dns_flow_key fk = {};
	struct mxs_server_key sk = {};
	struct mxs_dns_stats *st;
	struct mxs_dns_inflight *in;
	int is_resp, r;

	if (!l4 || !q)
		return 0;
	is_resp = q->flags >> 15;
	/* A query goes to a DNS port, a response comes from one. */
	if (is_resp ? !mxs_is_dns_port(l4->sport) : !mxs_is_dns_port(l4->dport))
		return 0;

	mxs_orient(l4, !is_resp, fk.client, fk.server, &fk.client_port, &fk.server_port);
	fk.dns_id = q->id;
	fk.proto = l4->proto;

	__builtin_memcpy(sk.addr, fk.server, 16);
	sk.port = fk.server_port;
	sk.proto = l4->proto;
	/* Queries leaving and answers arriving: this host is the client. */
	sk.role = (dir == MXS_DIR_EGRESS) != is_resp ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER;

	if (!is_resp) {
		struct mxs_dns_inflight v = {
			.ts_ns = bpf_ktime_get_ns(),
			.qname_hash = q->hash,
			.qtype = q->qtype,
			.qclass = q->qclass,
			.role = sk.role,
			.flags = q->noq ? MXS_INFLIGHT_NOQ : 0,
			.dir = dir,
		};

		r = mxs_flight_insert(sk.role, &fk, &v);
		if (r == -MXS_EEXIST) {
			/*
			 * A retransmission, not a new query. Its answer's latency
			 * would include the client's retry timer: marked, so that
			 * the answer counts as retried and gives no sample.
			 */
			in = mxs_flight_lookup(sk.role, &fk);
			if (in)
				in->flags |= MXS_INFLIGHT_RETRIED;
			mxs_count(MXS_C_DUP_QUERY);
			return 0;
		}
		if (r) /* counted where the flood happens: per role */
			mxs_count(sk.role == MXS_ROLE_SERVER ? MXS_C_INFLIGHT_SRV_FULL
							     : MXS_C_INFLIGHT_FULL);
		st = mxs_server_stats(&sk);
		if (st)
			st->queries++;
		return 0;
	}

	/*
	 * No entry is created for a response: spoofed responses from random
	 * sources must not fill the map. Those from servers never queried are
	 * counted apart.
	 */
	st = bpf_map_lookup_elem(&mxs_dns_stats, &sk);
	in = mxs_flight_lookup(sk.role, &fk);
	if (!in) {
		/* A query of the other role went this same way: a forged answer. */
		if (mxs_flight_lookup(!sk.role, &fk)) {
			mxs_count(MXS_C_DNS_SAME_DIR);
			return 0;
		}
		/* A query the sweep expired (already unanswered): its late answer. */
		r = mxs_dns_late(&fk, sk.role, dir, q);
		if (r == MXS_LATE)
			return 0;
		if (r == MXS_LATE_MISMATCH) {
			/* Another question: as an answer in time would be, mismatched. */
			if (st)
				st->mismatched++;
			return 0;
		}
		if (st)
			st->unsolicited++;
		else
			mxs_count(MXS_C_UNSOLICITED_UNKNOWN);
		return 0;
	}
	/*
	 * A response travels opposite to its query: one going the same way (a
	 * forged answer sent as if from this host, or towards it as if from the
	 * server it asked) is no match; the real answer still pairs. (The role
	 * maps already keep them apart; the direction says so explicitly.)
	 */
	if (in->dir == dir) {
		mxs_count(MXS_C_DNS_SAME_DIR);
		return 0;
	}
	r = mxs_question_fits(q, in->qname_hash, in->qtype, in->qclass, in->flags);
	if (!r) {
		/* RFC 5452 §9.1: discard, the query stays outstanding. */
		if (st)
			st->mismatched++;
		return 0;
	}
	int unchecked = r & MXS_Q_UNCHECKED;
	__u64 lat = bpf_ktime_get_ns() - in->ts_ns;
	int retried = in->flags & MXS_INFLIGHT_RETRIED;
	/*
	 * Whoever deletes the entry owns it: the sweeper already counted it
	 * unanswered and recorded it as swept (before its delete), so the answer is
	 * late, once: taking the swept record keeps a duplicate from being late again.
	 */
	if (mxs_flight_delete(sk.role, &fk)) {
		mxs_dns_late(&fk, sk.role, dir, q);
		return 0;
	}
	if (!st)
		st = mxs_server_stats(&sk); /* the map was full when the query passed */
	if (!st)
		return 0;
	struct mxs_dns_hist *h = bpf_map_lookup_elem(&mxs_dns_hist, &sk);

	st->responses[mxs_rcode_slot(q->rcode)]++;
	if (q->flags & 0x0200)
		st->truncated++;
	if (unchecked)
		st->matched_without_question++;
	if (retried) {
		st->retried++; /* the time since the first copy is the client's, not the server's */
		return 0;
	}
	mxs_hist_add(h ? h->hist : 0, &st->latency_sum_ns, lat);
	return 0;
}

/* Decode and account the message at off (len bytes of it in this packet). */
static __always_inline void mxs_dns_message(const struct mxs_pkt *p, const struct mxs_l4 *l4,
					    __u32 off, __u32 len)
{
	struct mxs_question q = {};
	int r = mxs_dns_question(p, off, len, &q);

	if (r)
		mxs_count(r);
	/* A readable header is enough to track a query or pair a response. */
	if (q.hdr)
		mxs_dns_account(l4, &q, p->dir);
}

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

#define MXS_ICMP_FRAG_NEEDED 4 /* RFC 792 code 4: path MTU (RFC 1191), not unreachability */

/*
 * ICMP/ICMPv6 destination unreachable (RFC 792: net, host, port, admin
 * prohibited...; RFC 4443 §3.1: no route, admin prohibited, address, port...)
 * quoting a UDP DNS query in flight ends it at once as unreachable, not
 * unanswered. It must travel opposite to the query (it comes back from where the
 * query went): arriving for this host's queries, leaving for queries to it.
 * Matched by endpoints and the DNS id, which the quote carries when it goes 2
 * bytes past the UDP header (Linux quotes up to 576/1280 bytes; RFC 792's
 * minimum is 8): without the id there is no match (the query times out as
 * before) and the ICMP is counted (MXS_C_DNS_UNREACH_NOID) — an id-less quote
 * would let anyone who knows the 4-tuple end queries. ICMPv4 "fragmentation
 * needed" is ignored. Whoever deletes the in-flight entry owns it.
 */
static __always_inline void mxs_dns_unreach(struct mxs_pkt *p, struct mxs_l4 *l4)
{
	struct mxs_dns_flow_key fk = {};
	struct mxs_server_key sk = {};
	struct mxs_dns_inflight *in;
	struct mxs_dns_stats *st;
	__u8 id[2];
	__u32 role;

	if (l4->proto != MXS_IPPROTO_UDP || !mxs_is_dns_port(l4->dport))
		return;
	if (!l4->ipv6 && l4->icmp_code == MXS_ICMP_FRAG_NEEDED)
		return;
	if (mxs_l4_addrs(p, l4))
		return;
	if (mxs_load(p, l4->payload_off, id, sizeof(id))) {
		mxs_count(MXS_C_DNS_UNREACH_NOID);
		return;
	}
	/* A quoted response (QR=1) is no query of ours, whatever its id. */
	__u8 flags_hi;

	if (!mxs_load(p, l4->payload_off + 2, &flags_hi, 1) && (flags_hi & 0x80))
		return;
	/* The quoted packet is the query: client -> server. */
	mxs_orient(l4, 1, fk.client, fk.server, &fk.client_port, &fk.server_port);
	fk.dns_id = (__u16)id[0] << 8 | id[1];
	fk.proto = MXS_IPPROTO_UDP;
	/* Coming back in: this host asked; going out: it was asked. */
	role = p->dir == MXS_DIR_INGRESS ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER;
	in = mxs_flight_lookup(role, &fk);
	if (!in || in->dir == p->dir)
		return;
	if (mxs_flight_delete(role, &fk))
		return; /* the sweep or the answer owns it */
	__builtin_memcpy(sk.addr, fk.server, 16);
	sk.port = fk.server_port;
	sk.proto = MXS_IPPROTO_UDP;
	sk.role = role;
	st = mxs_server_stats(&sk);
	if (st)
		st->unreachable++;
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
