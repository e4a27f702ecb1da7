/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Baselines for the per-packet benchmark: programs that only pass the packet. */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int mxs_empty_xdp(struct xdp_md* ctx) {
    return XDP_PASS;
}

SEC("tc")
int mxs_empty_tc(struct __sk_buff* skb) {
    return 0;
}

/*
 * Floors of this machine, measured beside the sensor: the price of one helper
 * call, and of one hash insert and delete (what tracking a query costs at least).
 */
struct mxs_churn_key {
    __u8 b[40];
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct mxs_churn_key);
    __type(value, __u64);
} mxs_churn SEC(".maps");

SEC("xdp.frags")
int mxs_one_helper(struct xdp_md* ctx) {
    return bpf_ktime_get_ns() ? XDP_PASS : XDP_PASS;
}

SEC("xdp.frags")
int mxs_hash_churn(struct xdp_md* ctx) {
    struct mxs_churn_key k = {};
    __u64 v = 0;

    bpf_map_update_elem(&mxs_churn, &k, &v, BPF_NOEXIST);
    bpf_map_delete_elem(&mxs_churn, &k);
    return XDP_PASS;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
