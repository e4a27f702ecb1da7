/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Counting: the sensor's counters (MXS_COUNTERS), per-server values inserted on
 * first sight with honest failure reasons, latency samples.
 */
#ifndef MXS_STATS_H
#define MXS_STATS_H

#include "lib/maps.h"

static __always_inline void mxs_count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&mxs_counters, &reason);

	if (v)
		*v += 1;
}

#define MXS_E2BIG  7  /* a preallocated hash map is full */
#define MXS_EEXIST 17 /* BPF_NOEXIST: the key is there */

/*
 * The value of key in map, inserted all-zero on first sight. A full map is
 * counted as full_reason, any other refusal as fail_reason; a key inserted
 * meanwhile by another CPU is no failure.
 */
static __always_inline void *mxs_value_get(void *map, const void *key, __u32 full_reason,
					   __u32 fail_reason)
{
	__u32 idx = 0;
	void *v, *z;
	long r;

	v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	z = bpf_map_lookup_elem(&mxs_zero, &idx);
	if (!z)
		return 0;
	r = bpf_map_update_elem(map, key, z, BPF_NOEXIST);
	if (r == -MXS_E2BIG) {
		mxs_count(full_reason);
		return 0;
	}
	if (r && r != -MXS_EEXIST) {
		mxs_count(fail_reason);
		return 0;
	}
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		mxs_count(fail_reason);
	return v;
}

/*
 * The per-CPU counters of key in a per-server map pair, inserting the shared
 * histogram entry first (so a server with counters always has its histogram).
 */
static __always_inline void *mxs_stats_get(void *map, void *hist_map, const void *key,
					   __u32 full_reason, __u32 fail_reason)
{
	if (!bpf_map_lookup_elem(hist_map, key) &&
	    !mxs_value_get(hist_map, key, full_reason, fail_reason))
		return 0;
	return mxs_value_get(map, key, full_reason, fail_reason);
}

/*
 * Add one latency sample: its bucket in a histogram shared by all CPUs (atomic)
 * and its value to the per-CPU sum. Nothing without the histogram, so the sum
 * always belongs to the counted samples.
 */
static __always_inline void mxs_hist_add(__u64 *hist, __u64 *sum, __u64 ns)
{
	__u32 b = mxs_hist_bucket(ns);

	if (!hist || !sum)
		return;
	*sum += ns;
	if (b < MXS_HIST_BUCKETS)
		__sync_fetch_and_add(&hist[b], 1);
}

#endif /* MXS_STATS_H */
