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

struct mxs_w256 {
	__u64 w[32];
};
struct mxs_w128 {
	__u64 w[16];
};
struct mxs_w64 {
	__u64 w[8];
};
struct mxs_w32 {
	__u64 w[4];
};
struct mxs_w16 {
	__u64 w[2];
};

/* One piece of mxs_load_direct: `size` bytes at pos if bit `size` of n is set. */
#define MXS_PIECE(type, size)                                                                      \
	if (n & (size)) {                                                                          \
		if ((void *)(src + pos + (size)) > p->data_end)                                    \
			return -1;                                                                 \
		*(type *)(dst + pos) = *(const type *)(src + pos);                                 \
		pos += (size);                                                                     \
	}

/*
 * Copy n bytes (n < 512) at offset off (off < 2048) of the frame into dst by
 * direct packet access: n's bits as fixed-size pieces, no helper call (a call
 * costs ~40 ns on a kernel with retpolines). -1, nothing promised of dst, when
 * the bytes are not all in the frame's linear part: the caller then uses
 * mxs_load.
 */
static __always_inline int mxs_load_direct(const struct mxs_pkt *p, __u32 off, __u8 *dst, __u32 n)
{
	__u8 *src = p->data;
	__u32 pos = 0;

	if (n >= 512 || off >= 2048)
		return -1;
	/* Keep clang from adding the unchecked offset: the verifier must see it bounded. */
	asm volatile("" : "+r"(off));
	src += off & 2047;
	MXS_PIECE(struct mxs_w256, 256)
	MXS_PIECE(struct mxs_w128, 128)
	MXS_PIECE(struct mxs_w64, 64)
	MXS_PIECE(struct mxs_w32, 32)
	MXS_PIECE(struct mxs_w16, 16)
	MXS_PIECE(__u64, 8)
	MXS_PIECE(__u32, 4)
	MXS_PIECE(__u16, 2)
	MXS_PIECE(__u8, 1)
	return 0;
}
#undef MXS_PIECE

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
