/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The in-flight tables (struct mxs_dns_bucket, one per role): a query takes a
 * free slot in one of its two buckets with a compare-and-swap of the slot's
 * tag; its answer (or ICMP unreachable) finds it by the fingerprint in the tags
 * and the full flow key in the slot, and releases it with a compare-and-swap
 * back to 0. The agent's sweep releases old ones the same way through its mmap.
 * Memory order: the tag is published with an atomic exchange (a full barrier)
 * after the slot is written; a reader reads the tag, then the slot, then checks
 * the tag again (mxs_flight_still) before it trusts what it read, and owns the
 * query only through a compare-and-swap. The reads rely on loads not passing
 * loads, as on x86-64 (TSO); other architectures would want acquire loads.
 */
#ifndef MXS_DNS_FLIGHT_H
#define MXS_DNS_FLIGHT_H

#include "lib/stats.h"

/* The seeded hash of a flow key (mxsense.h), with this load's seed. */
static __always_inline __u64 mxs_flight_hash(const struct mxs_dns_flow_key *k)
{
	return mxs_flow_hash(k, mxs_flight_seed);
}

/* The fingerprint bits of a tag for hash h: 15 bits, never 0 (so never a free or busy tag). */
static __always_inline __u64 mxs_tag_fp(__u64 h)
{
	__u64 fp = (h >> MXS_TAG_FP_SHIFT) & MXS_TAG_FP_MASK;

	return (fp ? fp : 1) << MXS_TAG_FP_SHIFT;
}

/* A role's table, spill counts and bucket count. */
static __always_inline void *mxs_flight_map(__u32 role)
{
	return role == MXS_ROLE_SERVER ? (void *)&mxs_dns_flight_srv : (void *)&mxs_dns_flight;
}

static __always_inline void *mxs_spill_map(__u32 role)
{
	return role == MXS_ROLE_SERVER ? (void *)&mxs_dns_spill_srv : (void *)&mxs_dns_spill;
}

static __always_inline __u32 mxs_flight_nbuckets(__u32 role)
{
	return role == MXS_ROLE_SERVER ? mxs_flight_srv_buckets : mxs_flight_buckets;
}

/* Whether slot s holds flow key k: five 64-bit compares. */
static __always_inline int mxs_slot_is(const struct mxs_dns_slot *s,
				       const struct mxs_dns_flow_key *k)
{
	const __u64 *a = (const __u64 *)&s->key, *b = (const __u64 *)k;

	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4];
}

/*
 * A query in flight found in a table: its bucket, way and the tag read (the
 * value its owner must compare-and-swap), and its first bucket's spill count.
 */
struct mxs_flight_ref {
	struct mxs_dns_bucket *b;
	__u64 *spill;
	__u32 way;
	__u64 tag;
};

/* The two buckets of a query and its first bucket's spill count (any may be 0). */
struct mxs_flight_where {
	struct mxs_dns_bucket *b1, *b2;
	__u64 *spill;
};

/*
 * The way of bucket b holding k (fingerprint fp), -1 if none; *tag the tag it
 * was found under (the value its owner must compare-and-swap). A global
 * function: its eight unrolled ways are verified once, not once per call.
 */
__noinline int mxs_bucket_way(struct mxs_dns_bucket *b, __u64 fp, const struct mxs_dns_flow_key *k,
			      __u64 *tag)
{
	if (!b || !k || !tag)
		return -1;
#pragma unroll
	for (__u32 i = 0; i < MXS_FLIGHT_WAYS; i++) {
		__u64 t = b->tag[i];

		if ((t & (MXS_TAG_FP_MASK << MXS_TAG_FP_SHIFT)) == fp &&
		    mxs_slot_is(&b->slot[i], k)) {
			*tag = t;
			return i;
		}
	}
	return -1;
}

/* Look for k in bucket b (fingerprint fp): 1 and *ref filled when found. */
static __always_inline int mxs_bucket_find(struct mxs_dns_bucket *b, __u64 fp,
					   const struct mxs_dns_flow_key *k,
					   struct mxs_flight_ref *ref)
{
	__u64 tag = 0;
	int way = mxs_bucket_way(b, fp, k, &tag);

	if (way < 0 || !b)
		return 0;
	ref->b = b;
	ref->way = way;
	ref->tag = tag;
	return 1;
}

/* Where the query of hash h may live in a role's table. */
static __always_inline void mxs_flight_where(__u32 role, __u64 h, struct mxs_flight_where *w)
{
	__u32 n = mxs_flight_nbuckets(role);
	__u32 i1 = mxs_bucket_index((__u32)h, n), i2 = mxs_bucket_index((__u32)(h >> 16), n);

	w->b1 = bpf_map_lookup_elem(mxs_flight_map(role), &i1);
	w->b2 = i2 == i1 ? 0 : bpf_map_lookup_elem(mxs_flight_map(role), &i2);
	w->spill = bpf_map_lookup_elem(mxs_spill_map(role), &i1);
}

/*
 * Find the query of flow key k at w (fingerprint fp): the second bucket is read
 * only when some query of the first lives there (its spill count).
 */
static __always_inline int mxs_where_find(const struct mxs_flight_where *w, __u64 fp,
					  const struct mxs_dns_flow_key *k,
					  struct mxs_flight_ref *ref)
{
	ref->spill = w->spill;
	return mxs_bucket_find(w->b1, fp, k, ref) ||
	       (w->spill && *w->spill && mxs_bucket_find(w->b2, fp, k, ref));
}

/* Find the query of flow key k (hash h) in a role's table. */
static __always_inline int mxs_flight_find(__u32 role, const struct mxs_dns_flow_key *k, __u64 h,
					   struct mxs_flight_ref *ref)
{
	struct mxs_flight_where w;

	mxs_flight_where(role, h, &w);
	return mxs_where_find(&w, mxs_tag_fp(h), k, ref);
}

/*
 * Release a found query: 1 when this caller turned its tag to 0 and so owns
 * it (ref->tag then holds the tag as released, with its RETRIED mark), 0 when
 * someone else (the sweep, another CPU's copy of the answer) did. A RETRIED
 * mark set since the find is no new owner: the compare-and-swap is tried again
 * once with it (the mark is set at most once). A query released from its second
 * bucket leaves its first bucket's spill count.
 */
static __always_inline int mxs_flight_release(struct mxs_flight_ref *ref)
{
	__u32 w = ref->way & (MXS_FLIGHT_WAYS - 1);
	__u64 old = __sync_val_compare_and_swap(&ref->b->tag[w], ref->tag, 0);

	if (old != ref->tag) {
		if (old != (ref->tag | MXS_TAG_RETRIED) ||
		    __sync_val_compare_and_swap(&ref->b->tag[w], old, 0) != old)
			return 0;
		ref->tag = old;
	}
	if ((ref->tag & MXS_TAG_SPILLED) && ref->spill)
		__sync_fetch_and_add(ref->spill, -1);
	return 1;
}

/*
 * Mark a found query as sent again (its answer gives no latency sample): 1 if
 * the mark took, 0 if the query was released meanwhile (the retransmission is
 * then a query of its own).
 */
static __always_inline int mxs_flight_mark_retried(const struct mxs_flight_ref *ref)
{
	__u32 w = ref->way & (MXS_FLIGHT_WAYS - 1);

	return __sync_val_compare_and_swap(&ref->b->tag[w], ref->tag, ref->tag | MXS_TAG_RETRIED) ==
	       ref->tag;
}

/*
 * Whether a found query still holds its slot: checked after its fields were
 * read, so that they are known to be its own and not a later query's that took
 * the slot meanwhile (a RETRIED mark set since is the same query).
 */
static __always_inline int mxs_flight_still(const struct mxs_flight_ref *ref)
{
	__u32 w = ref->way & (MXS_FLIGHT_WAYS - 1);
	__u64 t = ref->b->tag[w];

	return (t | MXS_TAG_RETRIED) == (ref->tag | MXS_TAG_RETRIED);
}

/*
 * Claim a free slot of b and write s into it, tagged tag. 1 on success. A global
 * function, verified once.
 */
__noinline int mxs_bucket_claim(struct mxs_dns_bucket *b, const struct mxs_dns_slot *s, __u64 tag)
{
	if (!b || !s)
		return 0;
#pragma unroll
	for (__u32 i = 0; i < MXS_FLIGHT_WAYS; i++) {
		if (b->tag[i] != 0 || __sync_val_compare_and_swap(&b->tag[i], 0, MXS_TAG_BUSY) != 0)
			continue;
		b->slot[i] = *s;
		/* Published after the slot is written: a reader that sees the tag sees the slot. */
		__sync_lock_test_and_set(&b->tag[i], tag);
		return 1;
	}
	return 0;
}

/* Slots of b in use (claimed or published); all of them for a missing bucket. */
__noinline int mxs_bucket_used(const struct mxs_dns_bucket *b)
{
	int n = 0;

	if (!b)
		return MXS_FLIGHT_WAYS;
#pragma unroll
	for (__u32 i = 0; i < MXS_FLIGHT_WAYS; i++)
		n += b->tag[i] != 0;
	return n;
}

#define MXS_FLIGHT_NEW	   0 /* tracked */
#define MXS_FLIGHT_AGAIN   1 /* already in flight: a retransmission, marked */
#define MXS_FLIGHT_REFUSED 2 /* both buckets taken: not tracked */
#define MXS_FLIGHT_SPREAD  4 /* queries in the first bucket before the emptier one is chosen */

/*
 * Track the query of slot s (its key hashed to h) at time now in a role's
 * table: a query already in flight is marked retried instead. It takes the
 * first bucket while that holds fewer than MXS_FLIGHT_SPREAD queries (so most
 * answers find their query in the first line they read), else the emptier of
 * the two: the tables then take about 75% of their slots before the first
 * refusal, against 40% for first-fit (simulated, 8192 buckets). A query that
 * takes its second bucket is counted in the first's spill count before it
 * claims its slot, so that a retransmission of it looks there. Two CPUs
 * inserting the very same query at the same instant may both track it (the
 * later copy then times out unanswered); a retransmission comes a timer later.
 */
static __always_inline int mxs_flight_insert(__u32 role, const struct mxs_dns_slot *s, __u64 h,
					     __u64 now)
{
	struct mxs_flight_where w;
	struct mxs_flight_ref ref;
	__u64 fp = mxs_tag_fp(h), tag = fp | (now & MXS_TAG_TS_MASK);
	int used1, second_first = 0;

	mxs_flight_where(role, h, &w);
	if (mxs_where_find(&w, fp, &s->key, &ref) && mxs_flight_mark_retried(&ref))
		return MXS_FLIGHT_AGAIN;
	used1 = mxs_bucket_used(w.b1);
	if (used1 < MXS_FLIGHT_SPREAD && mxs_bucket_claim(w.b1, s, tag))
		return MXS_FLIGHT_NEW;
	if (!w.b2 || !w.spill)
		return used1 < MXS_FLIGHT_WAYS && mxs_bucket_claim(w.b1, s, tag)
			       ? MXS_FLIGHT_NEW
			       : MXS_FLIGHT_REFUSED;
	second_first = mxs_bucket_used(w.b2) < used1;
	if (!second_first && mxs_bucket_claim(w.b1, s, tag))
		return MXS_FLIGHT_NEW;
	__sync_fetch_and_add(w.spill, 1);
	if (mxs_bucket_claim(w.b2, s, tag | MXS_TAG_SPILLED))
		return MXS_FLIGHT_NEW;
	__sync_fetch_and_add(w.spill, -1);
	if (second_first && mxs_bucket_claim(w.b1, s, tag))
		return MXS_FLIGHT_NEW;
	return MXS_FLIGHT_REFUSED;
}

/* Nanoseconds from a tag's query time to now (mod 2^47). */
static __always_inline __u64 mxs_tag_age(__u64 tag, __u64 now)
{
	return (now - tag) & MXS_TAG_TS_MASK;
}

#endif /* MXS_DNS_FLIGHT_H */
