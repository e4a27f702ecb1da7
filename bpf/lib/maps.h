/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the sensor. Sizes are set by the agent before load. */
#ifndef MXS_MAPS_H
#define MXS_MAPS_H

#include "mxsense.h"

/*
 * Per-server DNS counters, per CPU. Written by the datapath, read (summed over
 * CPUs) by the agent. Preallocated: allocating values on demand fails in bursts
 * of new servers. Small (a few dozen counters), so preallocation costs
 * max_entries x CPUs x ~100 bytes. Bound: default 1024 servers; an insert into
 * a full map is counted as MXS_C_STATS_FULL, any other failure as
 * MXS_C_STATS_INSERT_FAIL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_dns_stats);
} mxs_dns_stats SEC(".maps");

/*
 * Per-server DNS latency histograms, same keys and bound as mxs_dns_stats,
 * one copy for all CPUs (atomic adds), preallocated: max_entries x 6.8 KiB.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_dns_hist);
} mxs_dns_hist SEC(".maps");

/*
 * Queries in flight, one map per role, each its own budget: a flood of
 * (spoofed) queries to this host cannot starve the tracking of the host's own
 * queries, nor the reverse. Inserted on a query, deleted by the datapath on its
 * response or by the agent's sweeper after the timeout (counted unanswered).
 * A plain hash, not LRU: LRU would evict silently; here a full map refuses the
 * insert and MXS_C_INFLIGHT_FULL / MXS_C_INFLIGHT_SRV_FULL count it. Bound:
 * default 65536 queries each.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mxs_dns_flow_key);
	__type(value, struct mxs_dns_inflight);
} mxs_dns_flight SEC(".maps"); /* MXS_ROLE_CLIENT: this host's queries */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct mxs_dns_flow_key);
	__type(value, struct mxs_dns_inflight);
} mxs_dns_flight_srv SEC(".maps"); /* MXS_ROLE_SERVER: queries to this host */

/*
 * Queries the agent's sweep expired (counted unanswered), written by the agent
 * just before it deletes the in-flight entry, read and deleted by the datapath
 * when a response misses the in-flight map: a hit is a late answer, counted
 * once (MXS_C_LATE_RESPONSE), never unsolicited. LRU: only the most recently
 * swept queries are remembered; an evicted one's late answer counts as
 * unsolicited. One map per role, like the in-flight maps: spoofed queries to
 * this host, swept unanswered by the thousand, must not evict the records of
 * this host's own queries. Bound: default 4096 queries per role.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_dns_flow_key);
	__type(value, struct mxs_dns_swept);
} mxs_dns_swept SEC(".maps"); /* MXS_ROLE_CLIENT */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_dns_flow_key);
	__type(value, struct mxs_dns_swept);
} mxs_dns_swept_srv SEC(".maps"); /* MXS_ROLE_SERVER */

/*
 * A TCP DNS stream whose last message continues past the segment it began in,
 * with the direction it is seen in: a segment forged in the other direction
 * cannot touch the real stream's state.
 */
struct mxs_tcp_flow {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 dir; /* enum mxs_dir */
	__u8 pad[3];
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

/*
 * The start of a TCP DNS message (its 2-byte length, header, question) cut by
 * the end of its segment: the stream bytes from its length on, held until the
 * segment that follows them. Written and read by the datapath only. LRU: an
 * entry lost to eviction only means the message's rest is read as unparsed.
 * Bound: as mxs_tcp_next.
 */
#define MXS_TCP_HOLD 280 /* >= 2 + MXS_DNS_READ (273), a multiple of 8 */
struct mxs_tcp_hold {
	__u32 seq;  /* stream position of the byte after the held ones */
	__u32 held; /* bytes held, the length field first */
	__u8 buf[MXS_TCP_HOLD];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_tcp_flow);
	__type(value, struct mxs_tcp_hold);
} mxs_tcp_hold SEC(".maps");

/* One TCP connection, oriented client -> server (the SYN's sender is the client). */
struct mxs_tcp_conn_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port;
	__u16 server_port;
};

/*
 * A DNS-over-TCP connection whose SYN the sensor saw: what it accepted of both
 * streams (bpf/lib/tcp.h), so that a segment the receiving TCP would drop (outside
 * the window, an implausible ACK) is never read as a DNS message. A later SYN
 * on the same 4-tuple is pending until the server's SYN-ACK acknowledges it: a
 * live connection answers a SYN with a challenge ACK instead (RFC 5961 §4), so
 * a forged SYN cannot reset the record of a real one.
 */
struct mxs_dns_conn {
	struct mxs_tcp_seq tcp;
	__u32 syn_seq;	 /* the SYN of the connection recorded */
	__u32 pend_seq;	 /* a later SYN on the same 4-tuple, not yet answered */
	__u32 pend_next; /* its SND.NXT: pend_seq + 1 + its data (TCP Fast Open) */
	__u8 pending;
	__u8 pad[3];
};

/*
 * DNS-over-TCP connections, one map per role like the in-flight maps: spoofed
 * SYNs to this host cannot evict the records of this host's own connections.
 * Written and read by the datapath only. LRU: a connection evicted, or opened
 * before the agent, is read unchecked (as if no SYN had been seen). Bound:
 * maps.tcp_streams entries each.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_tcp_conn_key);
	__type(value, struct mxs_dns_conn);
} mxs_dns_conns SEC(".maps"); /* MXS_ROLE_CLIENT */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mxs_tcp_conn_key);
	__type(value, struct mxs_dns_conn);
} mxs_dns_conns_srv SEC(".maps"); /* MXS_ROLE_SERVER */

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

/*
 * One all-zero value, as large as the largest per-server value: the source for
 * inserting a new server into any per-server map (the values are too big for
 * the stack).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxs_smtp_hist);
} mxs_zero SEC(".maps");

/*
 * Per-server SMTP counters, like mxs_dns_stats: per CPU, preallocated. Bound:
 * default 1024 servers; a full map is counted as MXS_C_SMTP_STATS_FULL, any
 * other insert failure as MXS_C_SMTP_INSERT_FAIL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_smtp_stats);
} mxs_smtp_stats SEC(".maps");

/* Per-server SMTP histograms, like mxs_dns_hist: max_entries x 13.5 KiB. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, struct mxs_smtp_hist);
} mxs_smtp_hist SEC(".maps");

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

/*
 * Scratch buffer for bytes copied out of the packet (DNS messages, SMTP
 * replies). Twice what is ever copied, so that a length masked with
 * MXS_SCRATCH - 1 is provably inside it; the upper half stages a held TCP
 * message start (struct mxs_tcp_hold) for its map update.
 */
#define MXS_SCRATCH 4096
struct mxs_scratch {
	__u8 buf[MXS_SCRATCH];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxs_scratch);
} mxs_scratch SEC(".maps");

#endif /* MXS_MAPS_H */
