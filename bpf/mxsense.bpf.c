/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Entry points. Both hooks fill a struct mxs_pkt and run the same inlined
 * parsers and trackers; both always let the packet through.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/ports.h"
#include "dns/dns.h"
#include "smtp/smtp.h"

#define MXS_TC_ACT_OK 0

/*
 * Most traffic is untagged TCP or UDP over IPv4 without options or IPv6 without
 * extension headers, with neither port a watched one (a DNS port or an SMTP
 * port, lib/ports.h): recognise it at fixed offsets and leave before the full
 * parse. Every packet to or from a watched port takes the full path, and so does
 * anything else (tags, options, extension headers, fragments, short frames),
 * where it is counted.
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

static __always_inline void mxs_if_count(const struct mxs_pkt *p)
{
	__u32 slot = mxs_ifslot(p->ifindex);
	struct mxs_if_stats *s = bpf_map_lookup_elem(&mxs_ifstats, &slot);

	if (s)
		s->packets[p->dir & 1]++;
}

static __always_inline void mxs_handle(struct mxs_pkt *p)
{
	struct mxs_l4 l4;

	mxs_if_count(p);
	if (mxs_fast_skip(p))
		return;
	switch (mxs_parse(p, &l4)) {
	case MXS_PARSE_OK:
		mxs_dns(p, &l4);
		mxs_smtp(p, &l4);
		break;
	case MXS_PARSE_UNREACH:
		mxs_dns_unreach(p, &l4);
		mxs_smtp_unreach(p, &l4);
		break;
	}
}

SEC("xdp.frags")
int mxs_xdp(struct xdp_md *ctx)
{
	struct mxs_pkt p = {
		.ctx = ctx,
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
		.dir = MXS_DIR_INGRESS,
	};

	mxs_handle(&p);
	return XDP_PASS;
}

SEC("tc")
int mxs_tc_egress(struct __sk_buff *skb)
{
	struct mxs_pkt p = {
		.ctx = skb,
		.data = (void *)(long)skb->data,
		.data_end = (void *)(long)skb->data_end,
		.len = skb->len,
		.ifindex = skb->ifindex,
		.gso = skb->gso_size,
		.dir = MXS_DIR_EGRESS,
	};

	mxs_handle(&p);
	return MXS_TC_ACT_OK;
}

/* Run by the agent's sweep through BPF_PROG_TEST_RUN, never attached. */
SEC("syscall")
int mxs_smtp_expire(struct mxs_smtp_expire *e)
{
	mxs_smtp_expire_one(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
