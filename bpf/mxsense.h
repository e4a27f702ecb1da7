/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel/user contract: every struct, enum and constant that both the BPF
 * programs and the agent read. Fixed-width types, explicit padding, no pointers.
 * User space includes this file and static_asserts the sizes; nothing here is
 * re-declared elsewhere.
 */
#ifndef MXSENSE_H
#define MXSENSE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MXS_MAX_PORTS	 8    /* configurable DNS ports (mxs_dns_ports) */
#define MXS_MAX_IFINDEX	 4096 /* mxs_ifstats slots, a power of two */
#define MXS_MAX_TCP_MSGS 32   /* DNS messages parsed per TCP segment */

enum mxs_dir {
	MXS_DIR_INGRESS = 0, /* XDP */
	MXS_DIR_EGRESS = 1,  /* TC clsact egress */
	MXS_DIR_MAX,
};

enum mxs_role {
	MXS_ROLE_CLIENT = 0, /* this host asked: query left, answer arrived */
	MXS_ROLE_SERVER = 1, /* this host answered: query arrived, answer left */
};

/* Response codes kept per server (RFC 1035 §4.1.1, RFC 2136 §2.2). */
enum mxs_rcode {
	MXS_RCODE_NOERROR = 0,
	MXS_RCODE_FORMERR = 1,
	MXS_RCODE_SERVFAIL = 2,
	MXS_RCODE_NXDOMAIN = 3,
	MXS_RCODE_NOTIMP = 4,
	MXS_RCODE_REFUSED = 5,
	MXS_RCODE_OTHER = 6,
	MXS_RCODE_MAX,
};

/*
 * Latency histogram, log-linear over nanoseconds: bucket 0 holds values below
 * 2^MIN_EXP ns; then each power of two [2^e, 2^(e+1)) is split into
 * 2^SUB_BITS equal sub-buckets, so no bucket is wider than 1/32 (3.1%) of its
 * lower edge; the last bucket holds values of 2^(MAX_EXP+1) ns (68.7 s) and more.
 * That covers 1 us .. 60 s at better than the 5% the exported quantiles need.
 */
#define MXS_HIST_SUB_BITS 5
#define MXS_HIST_SUB	  (1u << MXS_HIST_SUB_BITS)
#define MXS_HIST_MIN_EXP  9
#define MXS_HIST_MAX_EXP  35
#define MXS_HIST_BUCKETS  ((MXS_HIST_MAX_EXP - MXS_HIST_MIN_EXP + 1) * MXS_HIST_SUB + 2)

/*
 * Slot of an interface in mxs_ifstats. The programs run only on watched
 * interfaces, and the agent refuses to watch two that share a slot.
 */
static inline __u32 mxs_ifslot(__u32 ifindex)
{
	return ifindex & (MXS_MAX_IFINDEX - 1);
}

/* Bucket of a latency in ns. Shared so both sides agree on the edges. */
static inline __u32 mxs_hist_bucket(__u64 ns)
{
	__u32 e = 0;
	__u64 v = ns;

	if (ns < (1ull << MXS_HIST_MIN_EXP))
		return 0;
	if (ns >= (1ull << (MXS_HIST_MAX_EXP + 1)))
		return MXS_HIST_BUCKETS - 1;
	if (v >> 32) {
		v >>= 32;
		e += 32;
	}
	if (v >> 16) {
		v >>= 16;
		e += 16;
	}
	if (v >> 8) {
		v >>= 8;
		e += 8;
	}
	if (v >> 4) {
		v >>= 4;
		e += 4;
	}
	if (v >> 2) {
		v >>= 2;
		e += 2;
	}
	if (v >> 1) {
		e += 1;
	}
	return 1 + (e - MXS_HIST_MIN_EXP) * MXS_HIST_SUB +
	       (__u32)((ns >> (e - MXS_HIST_SUB_BITS)) & (MXS_HIST_SUB - 1));
}

/*
 * A DNS server as seen from this host: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * port and L4 protocol of the server side, and which role this host played.
 */
struct mxs_server_key {
	__u8 addr[16];
	__u16 port; /* host byte order */
	__u8 proto; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 role;  /* enum mxs_role */
};

/*
 * Per-server DNS counters, per CPU, at the server's statistics slot
 * (mxs_dns_servers); the agent sums over CPUs. The latency histogram is kept
 * apart (struct mxs_dns_hist), shared by all CPUs.
 */
struct mxs_dns_stats {
	__u64 queries;
	__u64 responses[MXS_RCODE_MAX]; /* matched responses by rcode */
	__u64 truncated;		/* matched responses with TC=1 */
	__u64 unsolicited;		/* responses with no query in flight */
	__u64 mismatched;		/* id matched, question differed */
	__u64 latency_sum_ns;		/* of the samples in mxs_dns_hist */
	__u64 matched_without_question; /* matched by endpoints and id alone */
	__u64 retried;	   /* matched responses to retransmitted queries (no latency sample) */
	__u64 unreachable; /* queries ended by an ICMP/ICMPv6 destination unreachable */
};

/*
 * Latency histogram of one server (same slot as mxs_dns_stats), one copy for
 * all CPUs, counted with atomic adds: 6.8 KiB per server, whatever the CPU count.
 */
struct mxs_dns_hist {
	__u64 hist[MXS_HIST_BUCKETS];
};

/*
 * One outstanding query: both endpoints, L4 protocol and DNS id (RFC 5452 §3).
 * Eight-byte aligned: the datapath compares it as five 64-bit words.
 */
struct mxs_dns_flow_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port;
	__u16 server_port;
	__u16 dns_id;
	__u8 proto;
	__u8 pad;
} __attribute__((aligned(8)));

/* mxs_dns_slot.flags, mxs_dns_swept.flags */
#define MXS_INFLIGHT_NOQ     0x01 /* the query's question was not read: match by id alone */
#define MXS_INFLIGHT_RETRIED 0x02 /* mxs_dns_swept only: the query had been sent again */

/*
 * The in-flight table of one role (mxs_dns_flight, mxs_dns_flight_srv): an
 * array of buckets of MXS_FLIGHT_WAYS slots, preallocated and mmapable, so the
 * datapath claims and releases a slot with one compare-and-swap (no bucket lock,
 * no free list) and the agent's sweep reads the table as memory. A query may
 * live in either of two buckets chosen by a seeded hash of its flow key; a query
 * whose two buckets are both taken is refused and counted
 * (MXS_C_INFLIGHT_BUCKETS_FULL / _SRV_), never silently dropped.
 *
 * Each slot has a 64-bit tag, all eight in the bucket's first cache line, so a
 * lookup reads one line to find its candidate:
 *   0                free;
 *   MXS_TAG_BUSY     claimed, the slot being written (no match yet);
 *   otherwise        bit 63 MXS_TAG_RETRIED (the query was sent again while in
 *                    flight: its answer gives no latency sample), bits 48-62 a
 *                    fingerprint of the flow key (never 0), bit 47
 *                    MXS_TAG_SPILLED (the query took its second bucket), bits
 *                    0-46 the query's bpf_ktime_get_ns() (mod 2^47 ns, 39 hours).
 * Each bucket also has a spill count (mxs_dns_spill, _srv): how many queries
 * whose first bucket it is live in their second. Where it is 0, a query's
 * second bucket need not be read: most queries and answers read one line.
 * Whoever turns a tag from its published value to 0 owns the query: the
 * datapath on its answer or ICMP unreachable, the agent's sweep on timeout.
 */
#define MXS_FLIGHT_WAYS	 8
#define MXS_TAG_BUSY	 1ull
#define MXS_TAG_RETRIED	 (1ull << 63)
#define MXS_TAG_FP_SHIFT 48
#define MXS_TAG_FP_MASK	 0x7fffull
#define MXS_TAG_SPILLED                                                                            \
	(1ull << 47) /* in its second bucket: counted in the first's spill count                   \
		      */
#define MXS_TAG_TS_MASK (MXS_TAG_SPILLED - 1)
/* mxs_dns_slot.server_slot of a query whose server had no statistics slot */
#define MXS_NO_SERVER_SLOT 0xffff
#define MXS_HASH_MUL	   0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */

/*
 * Seeded hash of a flow key (its five 64-bit words), the same in the datapath
 * and the agent's sweep: bits 0-31 choose a query's first bucket, bits 16-47 its
 * second, bits 48-62 are the tags' fingerprint. The seed is random per load.
 */
static inline __u64 mxs_flow_hash(const struct mxs_dns_flow_key *k, __u64 seed)
{
	__u64 w[5], h = seed;

	/* Copied, not cast: read as words without breaking C's aliasing rules. */
	__builtin_memcpy(w, k, sizeof(w));
	/*
	 * A multiply carries only upward: each word's high bits are folded down
	 * before the next word comes in, so that no two words' changes cancel
	 * whatever the seed (a plain (h ^ w) * M chain let chosen top bits of one
	 * word undo another's, putting 256 keys on one hash).
	 */
#define MXS_HASH_WORD(i)                                                                           \
	h = (h ^ w[i]) * MXS_HASH_MUL;                                                             \
	h ^= h >> 32
	MXS_HASH_WORD(0);
	MXS_HASH_WORD(1);
	MXS_HASH_WORD(2);
	MXS_HASH_WORD(3);
	MXS_HASH_WORD(4);
#undef MXS_HASH_WORD
	h *= MXS_HASH_MUL;
	return h ^ (h >> 29);
}

/* Bucket index in [0, n) of a 32-bit hash, by multiply-shift (n need not be a power of two). */
static inline __u32 mxs_bucket_index(__u32 h32, __u32 n)
{
	return (__u32)(((__u64)h32 * n) >> 32);
}

/* What a query in flight keeps beside its tag: 56 bytes. */
struct mxs_dns_slot {
	struct mxs_dns_flow_key key;
	__u64 qname_hash; /* FNV-1a of the lower-cased wire-format qname */
	__u16 qtype;
	__u16 qclass;
	__u16 server_slot; /* index into mxs_dns_stats / mxs_dns_hist, or MXS_NO_SERVER_SLOT */
	__u8 flags;	   /* MXS_INFLIGHT_NOQ */
	__u8 dir; /* enum mxs_dir the query travelled: its response must travel the other */
};

/* One bucket: 512 bytes for 8 queries, 64 bytes a query. */
struct mxs_dns_bucket {
	__u64 tag[MXS_FLIGHT_WAYS];
	struct mxs_dns_slot slot[MXS_FLIGHT_WAYS];
};

/*
 * A query the agent's sweep expired (counted unanswered), remembered so that
 * its late answer is known as late, not unsolicited (mxs_dns_swept, LRU). It
 * keeps what its in-flight slot held for the question check (qname_hash,
 * qtype, qclass, MXS_INFLIGHT_NOQ), so a late answer is checked against its
 * question as an answer in time is.
 */
struct mxs_dns_swept {
	__u64 expired_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) of the sweep */
	__u64 qname_hash; /* as mxs_dns_slot */
	__u16 qtype;
	__u16 qclass;
	__u8 role;  /* enum mxs_role */
	__u8 dir;   /* enum mxs_dir the query travelled */
	__u8 flags; /* MXS_INFLIGHT_NOQ, MXS_INFLIGHT_RETRIED */
	__u8 pad;
};

/*
 * Packets seen per interface slot (ifindex) and direction. No byte count: XDP
 * would pay a helper call per packet for the length of multi-buffer frames.
 */
struct mxs_if_stats {
	__u64 packets[MXS_DIR_MAX];
};

/*
 * The sensor's counters, declared once: X(NAME, METRIC, LABELS, HELP). NAME makes
 * MXS_C_NAME, the index into the mxs_counters per-CPU array; the agent exports the
 * count as the counter mxsense_sensor_METRIC with LABELS ("key=value,...", "" for
 * none), HELP being the family's help (given once, with the family's first counter).
 * A new counter is one line here and its mxs_count() call: exported by itself.
 */
#define MXS_PARSE_HELP	"Packets or DNS messages the sensor could not parse, by reason."
#define MXS_FULL_HELP	"Inserts refused because a map was full (sample or query lost)."
#define MXS_INSERT_HELP "Inserts refused for a reason other than a full map (sample lost)."
#define MXS_BUCKETS_HELP                                                                           \
	"Queries not tracked because both buckets of 8 slots they may take in the in-flight "      \
	"table were taken: the table is full or those buckets crowded (map_entries says which); "  \
	"their answers count as unsolicited."
#define MXS_REJECT_HELP                                                                            \
	"TCP segments (SMTP, DNS over TCP) the receiving end's TCP would not accept (forged, "     \
	"or out of step), by protocol and reason: never evidence."
#define MXS_COUNTERS(X)                                                                            \
	/* frame shorter than its Ethernet/VLAN headers */                                         \
	X(ETH_TRUNC, "parse_errors_total", "reason=eth_truncated", MXS_PARSE_HELP)                 \
	X(VLAN_DEPTH, "parse_errors_total", "reason=vlan_too_deep", "")                            \
	/* IPv4 header truncated or IHL < 5; IPv6 header truncated */                              \
	X(IP4_TRUNC, "parse_errors_total", "reason=ipv4_truncated", "")                            \
	X(IP6_TRUNC, "parse_errors_total", "reason=ipv6_truncated", "")                            \
	/* extension header chain too long or truncated */                                         \
	X(IP6_EXT, "parse_errors_total", "reason=ipv6_extension_headers", "")                      \
	X(L4_TRUNC, "parse_errors_total", "reason=l4_truncated", "")                               \
	/* header or question not inside the message/segment */                                    \
	X(DNS_SHORT, "parse_errors_total", "reason=dns_short", "")                                 \
	/* QDCOUNT > 1 (header still used) */                                                      \
	X(DNS_QDCOUNT, "parse_errors_total", "reason=dns_qdcount", "")                             \
	/* qname too long, compressed or malformed */                                              \
	X(DNS_NAME, "parse_errors_total", "reason=dns_qname", "")                                  \
	/* more DNS messages in one segment than parsed */                                         \
	X(DNS_TCP_MSGS, "parse_errors_total", "reason=dns_tcp_too_many_messages", "")              \
	/* server bytes not parsed: gap, too long, bad line */                                     \
	X(SMTP_UNPARSED, "parse_errors_total", "reason=smtp_unparsed", "")                         \
	X(FRAGMENTS, "fragments_total", "", "IP fragments seen.")                                  \
	X(FRAG_SKIPPED, "fragments_skipped_total", "",                                             \
	  "Non-first IP fragments, never parsed as DNS.")                                          \
	X(STATS_FULL, "map_full_total", "map=dns_stats", MXS_FULL_HELP)                            \
	X(STATS_SRV_FULL, "map_full_total", "map=dns_stats_server", "")                            \
	X(SMTP_FLOWS_FULL, "map_full_total", "map=smtp_flows", "")                                 \
	X(SMTP_STATS_FULL, "map_full_total", "map=smtp_stats", "")                                 \
	X(STATS_INSERT_FAIL, "map_insert_failures_total", "map=dns_stats", MXS_INSERT_HELP)        \
	/* both buckets a query may take were taken (struct mxs_dns_bucket) */                     \
	X(INFLIGHT_FULL, "map_buckets_full_total", "map=dns_inflight", MXS_BUCKETS_HELP)           \
	X(INFLIGHT_SRV_FULL, "map_buckets_full_total", "map=dns_inflight_server", "")              \
	X(SMTP_INSERT_FAIL, "map_insert_failures_total", "map=smtp_stats", "")                     \
	X(DUP_QUERY, "dns_retransmitted_queries_total", "",                                        \
	  "Queries already in flight (retransmissions), not counted again.")                       \
	X(LATE_RESPONSE, "dns_late_responses_total", "",                                           \
	  "Responses to queries the sweep had already counted unanswered.")                        \
	X(DNS_TCP_CONT, "dns_tcp_continuations_total", "",                                         \
	  "TCP segments carrying only bytes of DNS messages seen earlier (the rest of a "          \
	  "message, or a retransmitted response).")                                                \
	X(DNS_TCP_HELD, "dns_tcp_held_starts_total", "",                                           \
	  "DNS-over-TCP message starts (length, header or question) cut by a segment's end "       \
	  "and held until the next segment.")                                                      \
	X(DNS_TCP_LOST, "dns_tcp_held_lost_total", "",                                             \
	  "Held DNS-over-TCP message starts whose next bytes did not come in order: "              \
	  "accounted with what was held (a header pairs by id), else lost.")                       \
	X(DNS_EDNS_UNREAD, "dns_edns_unread_total", "",                                            \
	  "Responses with additional records whose OPT record (extended rcode) was not "           \
	  "reached (beyond the bytes read, too many records): the header's rcode was used.")       \
	X(DNS_SAME_DIR, "dns_same_direction_responses_total", "",                                  \
	  "DNS responses travelling the same way as the query they would match (forged): no "      \
	  "match, no sample.")                                                                     \
	X(DNS_UNREACH_NOID, "dns_unreachable_without_id_total", "",                                \
	  "ICMP/ICMPv6 destination unreachables quoting a DNS query without its id (8-byte "       \
	  "quotes): not matched, the query times out.")                                            \
	X(UNSOLICITED_UNKNOWN, "dns_unsolicited_unknown_total", "",                                \
	  "Responses from servers never queried (no per-server entry is made for them).")          \
	X(SMTP_SYN_RETRANS, "smtp_syn_retransmissions_total", "",                                  \
	  "Retransmitted SYNs (not new attempts).")                                                \
	/* TCP segments the receiving end's TCP would not accept (bpf/lib/tcp.h), never            \
	 * evidence: per protocol, in the order of enum mxs_tcp_reject (RFC 9293 §3.10.7,         \
	 * RFC 5961). */                                                                           \
	X(SMTP_REJ_RST, "tcp_rejected_total", "protocol=smtp,reason=rst", MXS_REJECT_HELP)         \
	X(SMTP_REJ_SYNACK, "tcp_rejected_total", "protocol=smtp,reason=syn_ack", "")               \
	X(SMTP_REJ_WINDOW, "tcp_rejected_total", "protocol=smtp,reason=window", "")                \
	X(SMTP_REJ_ACK, "tcp_rejected_total", "protocol=smtp,reason=ack", "")                      \
	X(DNS_TCP_REJ_RST, "tcp_rejected_total", "protocol=dns,reason=rst", "")                    \
	X(DNS_TCP_REJ_SYNACK, "tcp_rejected_total", "protocol=dns,reason=syn_ack", "")             \
	X(DNS_TCP_REJ_WINDOW, "tcp_rejected_total", "protocol=dns,reason=window", "")              \
	X(DNS_TCP_REJ_ACK, "tcp_rejected_total", "protocol=dns,reason=ack", "")

enum mxs_counter {
#define MXS_COUNTER_ENUM(name, metric, labels, help) MXS_C_##name,
	MXS_COUNTERS(MXS_COUNTER_ENUM)
#undef MXS_COUNTER_ENUM
		MXS_C_MAX,
};

/* Why a TCP segment was rejected: offsets from MXS_C_SMTP_REJ_RST / MXS_C_DNS_TCP_REJ_RST. */
enum mxs_tcp_reject {
	MXS_TCP_REJ_RST = 0,
	MXS_TCP_REJ_SYNACK,
	MXS_TCP_REJ_WINDOW,
	MXS_TCP_REJ_ACK,
	MXS_TCP_REJ_MAX,
};

/*
 * What the sensor accepted of both byte streams of one TCP connection
 * (RFC 9293 §3.3.1 terms): for each side, the sequence number past its last
 * accepted byte (its SND.NXT as seen; SYN and FIN count) and the oldest
 * acknowledgment the other side may still send for it (ISS + 1, trailing the
 * next by at most 2^30, the largest scaled window: RFC 7323 §2.3, RFC 5961 §5.2).
 */
struct mxs_tcp_seq {
	__u32 cli_next;
	__u32 cli_floor;
	__u32 srv_next; /* valid with srv_known */
	__u32 srv_floor;
	__u8 srv_known; /* the server's SYN-ACK was accepted */
	__u8 pad[3];
};

/* ---- SMTP ---------------------------------------------------------------- */

#define MXS_MAX_SMTP_PORTS 4 /* configurable SMTP ports (mxs_smtp_ports) */

enum mxs_smtp_outcome {
	MXS_SMTP_ESTABLISHED = 0, /* SYN answered by SYN-ACK */
	MXS_SMTP_REFUSED,	  /* SYN answered by RST */
	MXS_SMTP_TIMEOUT,	  /* no answer within the connect timeout (agent) */
	MXS_SMTP_UNREACHABLE,	  /* ICMP unreachable for the flow */
	MXS_SMTP_OUTCOME_MAX,
};

/* Reply codes kept one by one (RFC 5321 §4.2.3); the rest by class. */
enum mxs_smtp_code {
	MXS_SMTP_220 = 0,
	MXS_SMTP_250,
	MXS_SMTP_354,
	MXS_SMTP_421,
	MXS_SMTP_450,
	MXS_SMTP_451,
	MXS_SMTP_452,
	MXS_SMTP_454,
	MXS_SMTP_500,
	MXS_SMTP_501,
	MXS_SMTP_502,
	MXS_SMTP_503,
	MXS_SMTP_504,
	MXS_SMTP_550,
	MXS_SMTP_551,
	MXS_SMTP_552,
	MXS_SMTP_553,
	MXS_SMTP_554,
	MXS_SMTP_2XX,
	MXS_SMTP_3XX,
	MXS_SMTP_4XX,
	MXS_SMTP_5XX,
	MXS_SMTP_TLS, /* implicit TLS: the ServerHello stands in for the greeting */
	MXS_SMTP_CODE_MAX,
};

enum mxs_starttls {
	MXS_STARTTLS_STARTED = 0, /* STARTTLS answered 220 */
	MXS_STARTTLS_REFUSED,	  /* STARTTLS answered 454 or 5xx */
	MXS_STARTTLS_MAX,
};

/*
 * Per-server SMTP counters (server port, TCP, role), per CPU. The histograms
 * are kept apart (struct mxs_smtp_hist), shared by all CPUs.
 */
struct mxs_smtp_stats {
	__u64 outcomes[MXS_SMTP_OUTCOME_MAX];
	__u64 closed_before_greeting;
	__u64 starttls[MXS_STARTTLS_MAX];
	__u64 greetings[MXS_SMTP_CODE_MAX];
	__u64 replies[MXS_SMTP_CODE_MAX];
	__u64 connect_sum_ns;  /* of the samples in connect_hist */
	__u64 greeting_sum_ns; /* of the samples in greeting_hist */
	/*
	 * Established after the SYN was sent again (network loss, Linux's 1 s
	 * initial RTO): counted here instead of in connect_hist/connect_sum_ns.
	 */
	__u64 connect_retransmitted;
};

/* Latency histograms of one SMTP server, one copy for all CPUs (atomic adds). */
struct mxs_smtp_hist {
	__u64 connect_hist[MXS_HIST_BUCKETS];
	__u64 greeting_hist[MXS_HIST_BUCKETS];
};

/* One SMTP connection, oriented client -> server whatever the direction. */
struct mxs_smtp_flow_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port;
	__u16 server_port;
};

/*
 * Every attempt ends in exactly one outcome: whoever moves a flow out of
 * SYN_SENT (the datapath on SYN-ACK, RST, ICMP or a new attempt on the same
 * 4-tuple; the agent's sweep on timeout) does it with one atomic
 * compare-and-swap of `state` and alone counts the outcome.
 */
enum mxs_smtp_state {
	MXS_SMTP_SYN_SENT = 0, /* SYN seen, no answer yet */
	MXS_SMTP_OPEN,	       /* handshake done */
	MXS_SMTP_TIMED_OUT,    /* counted without a handshake (timeout, unreachable): kept so that
				* the same SYN again is a retransmission; a late SYN-ACK opens
				* the session without a second outcome */
	MXS_SMTP_DONE,	       /* outcome counted, being deleted */
};

/* Where the reply parser stands in the server's byte stream. */
enum mxs_smtp_line {
	MXS_LINE_START = 0, /* at the first byte of a line */
	MXS_LINE_CODE,	    /* inside the 3-digit code */
	MXS_LINE_SKIP,	    /* rest of a line already judged: skip to LF */
};

struct mxs_smtp_flow {
	__u64 syn_ts;  /* first SYN */
	__u64 open_ts; /* SYN-ACK */
	__u64 last_ts; /* last accepted packet, for the idle sweep */
	__u64 state;   /* enum mxs_smtp_state; 64 bits for the atomic compare-and-swap */
	/* Both streams; tcp.srv_next is also the server's next unparsed byte. */
	struct mxs_tcp_seq tcp;
	__u32 syn_seq; /* the SYN's sequence number: the same again is a retransmission */
	__u16 code;    /* digits of the code read so far */
	__u8 role;     /* enum mxs_role */
	__u8 line;     /* enum mxs_smtp_line */
	__u8 digits;   /* how many digits of code */
	__u8 greeted;
	__u8 starttls;	  /* client sent STARTTLS, reply pending */
	__u8 tls;	  /* encrypted from here: nothing more to parse */
	__u8 syn_retrans; /* the SYN was sent again before its answer */
	__u8 pad[7];
};

/*
 * The agent's sweep asks the kernel to end an SMTP flow it found old, by
 * BPF_PROG_TEST_RUN of the syscall program mxs_smtp_expire with this as its
 * context: the claim is the same compare-and-swap the datapath uses, so an
 * answer that lands between the sweep's walk and its claim wins cleanly.
 */
enum mxs_smtp_expire_op {
	MXS_EXPIRE_CONNECT = 0, /* unanswered past the connect timeout: mark TIMED_OUT, keep */
	MXS_EXPIRE_IDLE,	/* idle past the idle timeout: delete */
};

enum mxs_smtp_expire_result {
	MXS_EXPIRED_TIMEOUT = 1, /* bit: the attempt ended here as timeout (count it) */
	MXS_EXPIRED_EVICTED = 2, /* bit: an open connection was forgotten */
	MXS_EXPIRED_DELETED = 4, /* bit: the flow was deleted */
};

struct mxs_smtp_expire {
	struct mxs_smtp_flow_key key;
	__u32 op;      /* in: enum mxs_smtp_expire_op */
	__u64 syn_ts;  /* in: the attempt the sweep judged; a newer one is left alone */
	__u64 last_ts; /* in, MXS_EXPIRE_IDLE: deleted only if idle since then */
	__u32 result;  /* out: enum mxs_smtp_expire_result bits; 0 = left alone */
	__u32 pad;
};

#endif /* MXSENSE_H */
