/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One view of a packet for both hooks: the XDP and TC entry points fill a
 * struct mxs_pkt and pass a constant direction, so after inlining each program
 * keeps only its own helper calls.
 */
#ifndef MXS_CTX_H
#define MXS_CTX_H

#include "mxsense.h"

struct mxs_pkt {
	void *ctx;
	void *data;
	void *data_end;
	__u32 len; /* whole packet with non-linear parts; 0 until mxs_pkt_len() */
	__u32 ifindex;
	__u32 dir; /* enum mxs_dir */
	__u32 gso; /* TC: the skb's gso_size, nonzero for a GSO packet; XDP: 0 */
};

/* Copy len bytes at offset off (from the start of the frame) of the hook's ctx into dst. */
static __always_inline int mxs_load_ctx(void *ctx, __u32 dir, __u32 off, void *dst, __u32 len)
{
	if (dir == MXS_DIR_INGRESS)
		return bpf_xdp_load_bytes((struct xdp_md *)ctx, off, dst, len);
	return bpf_skb_load_bytes(ctx, off, dst, len);
}

/* Copy len bytes at offset off (from the start of the frame) into dst. */
static __always_inline int mxs_load(const struct mxs_pkt *p, __u32 off, void *dst, __u32 len)
{
	return mxs_load_ctx(p->ctx, p->dir, off, dst, len);
}

/*
 * Length of the whole packet, fragments included. XDP pays a helper call for it,
 * so it is asked only for packets on a DNS port.
 */
static __always_inline __u32 mxs_pkt_len(struct mxs_pkt *p)
{
	if (p->dir == MXS_DIR_INGRESS && !p->len)
		p->len = bpf_xdp_get_buff_len((struct xdp_md *)p->ctx);
	return p->len;
}

#endif /* MXS_CTX_H */
