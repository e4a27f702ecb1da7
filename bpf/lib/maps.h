/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps of the sensor. Sizes are set by the agent before load. */
#ifndef MXS_MAPS_H
#define MXS_MAPS_H

#include "mxsense.h"

/*
 * Per-server DNS statistics live at a slot, given to a server on first sight by
 * the datapath (dns/servers.h) and kept until the agent clears the maps: the
 * query resolves its server's slot once and keeps it in its in-flight slot, so
 * the response accounts into plain arrays without a lookup by key. Bound:
 * default 1024 servers, at most 65534 (below MXS_NO_SERVER_SLOT), of which the
 * server role (this host's own service) may take half; a server refused because
 * its role's slots are given out is counted as MXS_C_STATS_FULL (client role) or
 * MXS_C_STATS_SRV_FULL (server role), any other failure as
 * MXS_C_STATS_INSERT_FAIL.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mxs_server_key);
	__type(value, __u32);
} mxs_dns_servers SEC(".maps");

/* Per-server DNS counters by slot, per CPU: max_entries x CPUs x 112 bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct mxs_dns_stats);
} mxs_dns_stats SEC(".maps");

/*
 * Per-server DNS latency histograms by slot, one copy for all CPUs (atomic
 * adds): max_entries x 6.8 KiB. Mmapable: the agent reads them as memory.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxs_dns_hist);
} mxs_dns_hist SEC(".maps");

/*
 * Statistics slots given out so far (some may be lost to a race: dns/servers.h):
 * the client role's in the low 32 bits, the server role's in the high 32.
 */
__u64 mxs_dns_slots_used;

/*
 * Queries in flight, one table per role (struct mxs_dns_bucket), each its own
 * budget: a flood of (spoofed) queries to this host cannot starve the tracking
 * of the host's own queries, nor the reverse. A slot is claimed on a query and
 * released by the datapath on its response or by the agent's sweep after the
 * timeout (counted unanswered). Never evicted: a query whose buckets are taken
 * is refused and counted (MXS_C_INFLIGHT_FULL / MXS_C_INFLIGHT_SRV_FULL).
 * Bound: default 8192 buckets (65536 queries) each; the agent sets the counts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxs_dns_bucket);
} mxs_dns_flight SEC(".maps"); /* MXS_ROLE_CLIENT: this host's queries */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mxs_dns_bucket);
} mxs_dns_flight_srv SEC(".maps"); /* MXS_ROLE_SERVER: queries to this host */

/*
 * Per bucket of each in-flight table, the queries whose first bucket it is that
 * live in their second (struct mxs_dns_bucket): counted up before such a query
 * claims its slot, down by whoever releases it (the datapath, or the sweep
 * through its mmap). Same bound as the table, 8 bytes a bucket.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} mxs_dns_spill SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} mxs_dns_spill_srv SEC(".maps");

/* Set by the agent before load: the tables' bucket counts and the hash's seed (random). */
const volatile __u32 mxs_flight_buckets = 8192;
const volatile __u32 mxs_flight_srv_buckets = 8192;
const volatile __u64 mxs_flight_seed = 0x9e3779b97f4a7c15ull;
/* Statistics slots there are (mxs_dns_stats' max_entries), and the server role's share. */
const volatile __u32 mxs_dns_slot_cap = 1024;
const volatile __u32 mxs_dns_slot_cap_srv = 512;

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
