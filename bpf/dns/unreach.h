/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP/ICMPv6 destination unreachable quoting a UDP DNS query in flight.
 */
#ifndef MXS_DNS_UNREACH_H
#define MXS_DNS_UNREACH_H

#include "dns/account.h"

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
	struct mxs_flight_ref ref = {};
	struct mxs_dns_stats *st;
	__u32 slot;
	int same_dir;
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
	if (!mxs_flight_find(role, &fk, mxs_flight_hash(&fk), &ref))
		return;
	same_dir = ref.b->slot[ref.way & (MXS_FLIGHT_WAYS - 1)].dir == p->dir;
	slot = ref.b->slot[ref.way & (MXS_FLIGHT_WAYS - 1)].server_slot;
	/* Its fields are its own only if it still holds the slot; then one owner ends it. */
	if (same_dir || !mxs_flight_still(&ref) || !mxs_flight_release(&ref))
		return; /* the sweep or the answer owns it */
	/* A query whose server had no slot was not counted: nor is its end (account.h). */
	st = mxs_slot_stats(slot);
	if (st)
		st->unreachable++;
}

#endif /* MXS_DNS_UNREACH_H */
