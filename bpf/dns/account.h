/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Pairing and accounting: queries in flight per role, responses matched by both
 * endpoints, protocol, id and question (RFC 5452 §3), late answers, latency,
 * rcodes and anomalies per server.
 */
#ifndef MXS_DNS_ACCOUNT_H
#define MXS_DNS_ACCOUNT_H

#include "lib/ports.h"
#include "lib/server_key.h"
#include "dns/message.h"
#include "dns/flight.h"
#include "dns/servers.h"

/* The counter of a full rcode: 0-5 one by one, the rest (BADVERS 16, BADCOOKIE 23, ...) OTHER. */
static __always_inline __u32 mxs_rcode_slot(__u16 rcode)
{
	return rcode < MXS_RCODE_OTHER ? rcode : MXS_RCODE_OTHER;
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
	struct mxs_flight_ref ref = {};
	struct mxs_dns_stats *st;
	struct mxs_dns_slot *in;
	__u64 h, now;
	__u32 slot;
	int is_resp, r, same_dir;

	if (!l4 || !q)
		return 0;
	is_resp = q->flags >> 15;
	/* A query goes to a DNS port, a response comes from one. */
	if (is_resp ? !mxs_is_dns_port(l4->sport) : !mxs_is_dns_port(l4->dport))
		return 0;

	mxs_orient(l4, !is_resp, fk.client, fk.server, &fk.client_port, &fk.server_port);
	fk.dns_id = q->id;
	fk.proto = l4->proto;
	h = mxs_flight_hash(&fk);

	/* Queries leaving and answers arriving: this host is the client. */
	mxs_server_key_set(&sk, fk.server, fk.server_port, l4->proto,
			   (dir == MXS_DIR_EGRESS) != is_resp ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER);

	if (!is_resp) {
		struct mxs_dns_slot v = {
			.key = fk,
			.qname_hash = q->hash,
			.qtype = q->qtype,
			.qclass = q->qclass,
			.flags = q->noq ? MXS_INFLIGHT_NOQ : 0,
			.dir = dir,
		};

		/* Resolved once, here: the answer accounts by the slot its query keeps. */
		slot = mxs_server_slot(&sk);
		v.server_slot = slot;
		r = mxs_flight_insert(sk.role, &v, h, bpf_ktime_get_ns());
		if (r == MXS_FLIGHT_AGAIN) {
			/*
			 * A retransmission, not a new query: marked, so that its
			 * answer counts as retried and gives no sample (the time
			 * would include the client's retry timer).
			 */
			mxs_count(MXS_C_DUP_QUERY);
			return 0;
		}
		if (r == MXS_FLIGHT_REFUSED) /* counted where the flood happens: per role */
			mxs_count(sk.role == MXS_ROLE_SERVER ? MXS_C_INFLIGHT_SRV_FULL
							     : MXS_C_INFLIGHT_FULL);
		st = mxs_slot_stats(slot);
		if (st)
			st->queries++;
		return 0;
	}

	/*
	 * No entry is created for a response: spoofed responses from random
	 * sources must not fill the map. Those from servers never queried are
	 * counted apart.
	 */
	if (!mxs_flight_find(sk.role, &fk, h, &ref)) {
		/* A query of the other role went this same way: a forged answer. */
		if (mxs_flight_find(!sk.role, &fk, h, &ref)) {
			mxs_count(MXS_C_DNS_SAME_DIR);
			return 0;
		}
		st = mxs_slot_stats(mxs_server_slot_known(&sk));
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
	in = &ref.b->slot[ref.way & (MXS_FLIGHT_WAYS - 1)];
	slot = in->server_slot;
	same_dir = in->dir == dir;
	r = mxs_question_fits(q, in->qname_hash, in->qtype, in->qclass, in->flags);
	if (!mxs_flight_still(&ref)) {
		/* Released (and maybe taken again) while read: as if found released. */
		mxs_dns_late(&fk, sk.role, dir, q);
		return 0;
	}
	/*
	 * A response travels opposite to its query: one going the same way (a
	 * forged answer sent as if from this host, or towards it as if from the
	 * server it asked) is no match; the real answer still pairs. (The role
	 * tables already keep them apart; the direction says so explicitly.)
	 */
	if (same_dir) {
		mxs_count(MXS_C_DNS_SAME_DIR);
		return 0;
	}
	if (!r) {
		/* RFC 5452 §9.1: discard, the query stays outstanding. */
		st = mxs_slot_stats(slot);
		if (st)
			st->mismatched++;
		return 0;
	}
	/*
	 * Whoever releases the slot owns the query: the sweeper already counted
	 * it unanswered and recorded it as swept (before its release), so the
	 * answer is late, once: taking the swept record keeps a duplicate from
	 * being late again.
	 */
	now = bpf_ktime_get_ns();
	if (!mxs_flight_release(&ref)) {
		mxs_dns_late(&fk, sk.role, dir, q);
		return 0;
	}
	/*
	 * A query whose server had no statistics slot was not counted: nor is its
	 * answer (nor its unreachable, nor its timeout), so a server is never seen
	 * answering more than it was asked, nor failing what it was not asked.
	 */
	st = mxs_slot_stats(slot);
	if (!st)
		return 0;
	st->responses[mxs_rcode_slot(q->rcode)]++;
	if (q->flags & 0x0200)
		st->truncated++;
	if (r & MXS_Q_UNCHECKED)
		st->matched_without_question++;
	if (ref.tag & MXS_TAG_RETRIED) {
		st->retried++; /* the time since the first copy is the client's, not the server's */
		return 0;
	}
	struct mxs_dns_hist *hist = mxs_slot_hist(slot);

	mxs_hist_add(hist ? hist->hist : 0, &st->latency_sum_ns, mxs_tag_age(ref.tag, now));
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

#endif /* MXS_DNS_ACCOUNT_H */
