/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the sensor. Sizes are set by the agent before load. */
#ifndef MXS_MAPS_H
#define MXS_MAPS_H

#include "mxsense.h"

/*
 * Per-server DNS statistics. Written by the datapath, read (summed over CPUs)
 * by the agent. Bound: max_entries, default 1024 servers; an insert into a
 * full map is counted as MXS_C_STATS_FULL. Not preallocated: a value is ~7 KiB
 * per CPU, and most hosts talk to a handful of servers.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_dns_stats);
} mxs_dns_stats SEC(".maps");

/*
 * Queries in flight. Inserted on a query, deleted by the datapath on its
 * response or by the agent's sweeper after the timeout (counted unanswered).
 * A plain hash, not LRU: LRU would evict silently; here a full map refuses the
 * insert and MXS_C_INFLIGHT_FULL counts it. Bound: default 65536 queries.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mxs_dns_flow_key);
	__type(value, struct mxs_dns_inflight);
} mxs_dns_flight SEC(".maps");

/* A TCP DNS stream whose last message continues past the segment it began in. */
struct mxs_tcp_flow {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
};

/*
 * Where the next message starts (TCP sequence number) in a stream whose last
 * message did not fit its segment, so that the segments carrying the rest are
 * not read as message starts. Written and read by the datapath only. LRU: an
 * entry lost to eviction only means the continuation is counted as unparsed.
 * Bound: default 4096 streams.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_tcp_flow);
	__type(value, __u32);
} mxs_tcp_next SEC(".maps");

/* Sensor counters by reason (enum mxs_counter), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MXS_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mxs_counters SEC(".maps");

/* Packets and bytes per ifindex slot and direction, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MXS_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, struct mxs_if_stats);
} mxs_ifstats SEC(".maps");

/* One all-zero stats value: the source for inserting a new server (the value is too big for the
 * stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxs_dns_stats);
} mxs_zero SEC(".maps");

/*
 * Per-server SMTP statistics, like mxs_dns_stats. Bound: default 1024 servers;
 * a full map is counted as MXS_C_SMTP_STATS_FULL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_smtp_stats);
} mxs_smtp_stats SEC(".maps");

/*
 * SMTP connections. Inserted on a SYN; deleted by the datapath on RST/FIN, by
 * the agent's sweep when a SYN goes unanswered (timeout) or a flow goes idle
 * (eviction). A plain hash: a full map refuses the insert, counted as
 * MXS_C_SMTP_FLOWS_FULL. Bound: default 65536 connections.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mxs_smtp_flow_key);
	__type(value, struct mxs_smtp_flow);
} mxs_smtp_flows SEC(".maps");

/* The all-zero source for inserting a new SMTP server. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxs_smtp_stats);
} mxs_smtp_zero SEC(".maps");

/*
 * Scratch buffer for bytes copied out of the packet (DNS question, SMTP
 * replies). Twice what is ever copied, so that a length masked with
 * MXS_SCRATCH - 1 is provably inside it.
 */
#define MXS_SCRATCH 2048
struct mxs_scratch {
	__u8 buf[MXS_SCRATCH];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxs_scratch);
} mxs_scratch SEC(".maps");

static __always_inline void mxs_count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&mxs_counters, &reason);

	if (v)
		*v += 1;
}

/*
 * The value of key in a per-server map, inserted from the all-zero value in
 * zero on first sight (the values are too big for the stack). A full map is
 * counted as full_reason.
 */
static __always_inline void *mxs_stats_get(void *map, void *zero, const void *key,
					   __u32 full_reason)
{
	__u32 idx = 0;
	void *st, *z;

	st = bpf_map_lookup_elem(map, key);
	if (st)
		return st;
	z = bpf_map_lookup_elem(zero, &idx);
	if (!z)
		return 0;
	bpf_map_update_elem(map, key, z, BPF_NOEXIST);
	st = bpf_map_lookup_elem(map, key);
	if (!st)
		mxs_count(full_reason);
	return st;
}

#endif /* MXS_MAPS_H */
