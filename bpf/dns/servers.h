/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Statistics slots of DNS servers (mxs_dns_servers): a server gets the next
 * free slot on first sight and keeps it; its counters (per CPU) and histogram
 * (shared) are plain array entries at that slot.
 */
#ifndef MXS_DNS_SERVERS_H
#define MXS_DNS_SERVERS_H

#include "lib/stats.h"

/*
 * The slot of server sk, given on first sight; MXS_NO_SERVER_SLOT when its
 * role's slots are all given out (counted MXS_C_STATS_FULL or, for the server
 * role, MXS_C_STATS_SRV_FULL: full) or the insert failed otherwise
 * (MXS_C_STATS_INSERT_FAIL). The roles draw from the two ends of one array with
 * one compare-and-swap of mxs_dns_slots_used (client count in its low half,
 * server count in its high half), and the server role may take at most
 * mxs_dns_slot_cap_srv: queries to the many addresses a host may answer on
 * (a routed IPv6 prefix) cannot take the slots of the servers this host asks.
 * Two CPUs seeing a new server at the same instant each take a slot; the one
 * whose insert loses uses the winner's, and its own stays unused (all zero,
 * never read): no count is lost.
 */
static __always_inline __u32 mxs_server_slot(const struct mxs_server_key *sk)
{
	__u32 *v = bpf_map_lookup_elem(&mxs_dns_servers, sk), slot = MXS_NO_SERVER_SLOT;
	__u32 full = sk->role == MXS_ROLE_SERVER ? MXS_C_STATS_SRV_FULL : MXS_C_STATS_FULL;
	long r;

	if (v)
		return *v;
	/* The next slot, by compare-and-swap (the BPF ISA v2 has no fetching add). */
	for (int i = 0; i < 8; i++) {
		__u64 used = mxs_dns_slots_used;
		__u32 cli = (__u32)used, srv = (__u32)(used >> 32);

		if ((__u64)cli + srv >= mxs_dns_slot_cap ||
		    (sk->role == MXS_ROLE_SERVER && srv >= mxs_dns_slot_cap_srv)) {
			mxs_count(full);
			return MXS_NO_SERVER_SLOT;
		}
		if (sk->role == MXS_ROLE_SERVER) {
			if (__sync_val_compare_and_swap(&mxs_dns_slots_used, used,
							used + (1ull << 32)) == used) {
				slot = mxs_dns_slot_cap - 1 - srv;
				break;
			}
		} else if (__sync_val_compare_and_swap(&mxs_dns_slots_used, used, used + 1) ==
			   used) {
			slot = cli;
			break;
		}
	}
	if (slot == MXS_NO_SERVER_SLOT) { /* eight CPUs' new servers won in a row */
		mxs_count(MXS_C_STATS_INSERT_FAIL);
		return MXS_NO_SERVER_SLOT;
	}
	r = bpf_map_update_elem(&mxs_dns_servers, sk, &slot, BPF_NOEXIST);
	if (r == 0)
		return slot;
	if (r == -MXS_EEXIST) {
		v = bpf_map_lookup_elem(&mxs_dns_servers, sk);
		if (v)
			return *v;
	}
	mxs_count(r == -MXS_E2BIG ? full : MXS_C_STATS_INSERT_FAIL);
	return MXS_NO_SERVER_SLOT;
}

/* The slot of a server already seen (no new slot): for answers nobody asked for. */
static __always_inline __u32 mxs_server_slot_known(const struct mxs_server_key *sk)
{
	__u32 *v = bpf_map_lookup_elem(&mxs_dns_servers, sk);

	return v ? *v : MXS_NO_SERVER_SLOT;
}

/* The per-CPU counters at a slot (0 for MXS_NO_SERVER_SLOT). */
static __always_inline struct mxs_dns_stats *mxs_slot_stats(__u32 slot)
{
	return slot == MXS_NO_SERVER_SLOT ? 0 : bpf_map_lookup_elem(&mxs_dns_stats, &slot);
}

/* The shared histogram at a slot (0 for MXS_NO_SERVER_SLOT). */
static __always_inline struct mxs_dns_hist *mxs_slot_hist(__u32 slot)
{
	return slot == MXS_NO_SERVER_SLOT ? 0 : bpf_map_lookup_elem(&mxs_dns_hist, &slot);
}

#endif /* MXS_DNS_SERVERS_H */
