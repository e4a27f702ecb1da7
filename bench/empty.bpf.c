/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Baselines for the per-packet benchmark: programs that only pass the packet. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int mxs_empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int mxs_empty_tc(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
