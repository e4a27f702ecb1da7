/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One connection on an SMTP port: its handshake (RFC 9293), every segment judged
 * against both streams (lib/tcp.h), the replies read until the server closes, and
 * exactly one outcome per attempt.
 */
#ifndef MXS_SMTP_TRACK_H
#define MXS_SMTP_TRACK_H

#include "lib/ports.h"
#include "smtp/read.h"

/*
 * Track one segment of a connection on an SMTP port; ctx is the program's
 * context, dir its constant direction (enum mxs_dir), so that each program
 * keeps only its own load helper. Inlined into one global function per
 * program: the verifier checks it once.
 *
 * Every attempt (a SYN with a new sequence number) ends in exactly one outcome:
 * established (SYN-ACK), refused (the server's RST), unreachable (ICMP, see
 * mxs_smtp_unreach) or timeout (the agent's sweep; or a new attempt on the same
 * 4-tuple replacing one still unanswered). What the client does meanwhile (FIN,
 * RST: it gave up, or its answer took another path) does not end an attempt.
 * An open connection is read until the server closes (its FIN), an RST from
 * either side, or the idle sweep: a reply after the client's FIN still counts.
 *
 * Only segments the receiving end's TCP would accept count (bpf/lib/tcp.h): a
 * SYN-ACK or an RST answering the SYN must acknowledge it; after the handshake
 * an RST must sit exactly at the receive point, and data and FIN within the
 * window bound with a plausible ACK. Rejected segments are counted by reason
 * and change nothing, not even the flow's idle time.
 */
static __always_inline int mxs_smtp_track(void *ctx, __u32 dir, const struct mxs_smtp_flow_key *k,
					  struct mxs_smtp_seg *sg)
{
	struct mxs_pkt p = {.ctx = ctx, .dir = dir};
	struct mxs_server_key sk = {};
	struct mxs_smtp_stats *st;
	struct mxs_smtp_hist *h;
	struct mxs_smtp_flow *f;
	struct mxs_tcp_in in = {};
	struct mxs_scratch *s;
	__u32 zero = 0, len;
	__u64 now;
	int v;

	if (!k || !sg)
		return 0;
	if (dir == MXS_DIR_EGRESS)
		p.len = ((struct __sk_buff *)ctx)->len;
	/* The payload is what the IP length says, cut to what the packet holds. */
	len = mxs_pkt_len(&p);
	if (sg->off >= len)
		sg->len = 0;
	else if (sg->len > len - sg->off)
		sg->len = len - sg->off;
	now = bpf_ktime_get_ns();
	f = bpf_map_lookup_elem(&mxs_smtp_flows, k);

	if (sg->from_client && (sg->flags & (MXS_TCP_SYN | MXS_TCP_ACK)) == MXS_TCP_SYN) {
		struct mxs_smtp_flow nf = {
			.syn_ts = now,
			.last_ts = now,
			.state = MXS_SMTP_SYN_SENT,
			.syn_seq = sg->seq,
			.role = sg->dir == MXS_DIR_EGRESS ? MXS_ROLE_CLIENT : MXS_ROLE_SERVER,
		};

		if (f) {
			if (f->syn_seq == sg->seq) {
				/* The same SYN again, whatever answered it: not a new attempt. */
				mxs_count(MXS_C_SMTP_SYN_RETRANS);
				if (f->state == MXS_SMTP_SYN_SENT)
					f->syn_retrans = 1;
				f->last_ts = now;
				return 0;
			}
			/* A new attempt on this 4-tuple: one still unanswered was abandoned. */
			if (mxs_smtp_claim(f, MXS_SMTP_DONE)) {
				mxs_server_key_set(&sk, k->server, k->server_port, MXS_IPPROTO_TCP,
						   f->role);
				st = mxs_smtp_stats_get(&sk);
				if (st)
					st->outcomes[MXS_SMTP_TIMEOUT]++;
			}
		}
		mxs_tcp_syn(&nf.tcp, sg->seq, sg->len);
		if (bpf_map_update_elem(&mxs_smtp_flows, k, &nf, BPF_ANY))
			mxs_count(MXS_C_SMTP_FLOWS_FULL);
		return 0;
	}
	if (!f)
		return 0; /* a connection whose SYN we did not see */
	mxs_server_key_set(&sk, k->server, k->server_port, MXS_IPPROTO_TCP, f->role);
	in.seq = sg->seq;
	in.ack = sg->ack;
	in.len = sg->len;
	in.flags = sg->flags;
	in.from_client = sg->from_client;
	in.egress = sg->dir == MXS_DIR_EGRESS;

	if (sg->from_client) {
		/* Most client segments are commands and message data: no statistics. */
		v = mxs_tcp_judge(&f->tcp, &in);
		if (v == MXS_SEG_REJECT)
			return mxs_smtp_reject(in.reject);
		f->last_ts = now;
		if (in.resynced && f->state == MXS_SMTP_OPEN) {
			/* This host received server bytes the sensor did not read. */
			mxs_count(MXS_C_SMTP_UNPARSED);
			f->line = MXS_LINE_SKIP;
		}
		if ((sg->flags & MXS_TCP_RST) && f->state == MXS_SMTP_OPEN) {
			st = mxs_smtp_stats_get(&sk);
			mxs_smtp_end(f, st, k);
			return 0;
		}
		/* Of the client's commands only the first 8 bytes (STARTTLS) matter, and only in
		 * a segment that starts new bytes. */
		if (f->state == MXS_SMTP_OPEN && !f->tls && v == MXS_SEG_NEW && !in.start &&
		    sg->len >= 8) {
			__u8 cmd[8];

			if (!mxs_load(&p, sg->off, cmd, sizeof(cmd)) && mxs_is_starttls(cmd, 8))
				f->starttls = 1;
		}
		return 0;
	}

	if ((sg->flags & (MXS_TCP_SYN | MXS_TCP_ACK)) == (MXS_TCP_SYN | MXS_TCP_ACK)) {
		if (!mxs_tcp_acks_syn(&f->tcp, sg->flags, sg->ack))
			return mxs_smtp_reject(MXS_TCP_REJ_SYNACK);
		f->last_ts = now;
		st = mxs_smtp_stats_get(&sk);
		h = bpf_map_lookup_elem(&mxs_smtp_hist, &sk);
		if (mxs_smtp_claim(f, MXS_SMTP_OPEN)) {
			if (st) {
				st->outcomes[MXS_SMTP_ESTABLISHED]++;
				/* A SYN sent again is network loss, not the server's time. */
				if (f->syn_retrans)
					st->connect_retransmitted++;
				else
					mxs_hist_add(h ? h->connect_hist : 0, &st->connect_sum_ns,
						     now - f->syn_ts);
			}
		} else if (f->state == MXS_SMTP_TIMED_OUT) {
			/* Counted as a timeout already; still read the session. */
			f->state = MXS_SMTP_OPEN;
		} else {
			return 0; /* a retransmitted SYN-ACK */
		}
		f->open_ts = now;
		mxs_tcp_synack(&f->tcp, sg->seq);
		return 0;
	}
	if (sg->flags & MXS_TCP_RST) {
		/* Answering the SYN: it must acknowledge it; later: at the receive point. */
		if (f->state == MXS_SMTP_SYN_SENT || f->state == MXS_SMTP_TIMED_OUT) {
			if (!mxs_tcp_acks_syn(&f->tcp, sg->flags, sg->ack))
				return mxs_smtp_reject(MXS_TCP_REJ_RST);
		} else if (mxs_tcp_judge(&f->tcp, &in) == MXS_SEG_REJECT) {
			return mxs_smtp_reject(in.reject);
		}
		st = mxs_smtp_stats_get(&sk);
		if (mxs_smtp_claim(f, MXS_SMTP_DONE) && st)
			st->outcomes[MXS_SMTP_REFUSED]++;
		mxs_smtp_end(f, st, k);
		return 0;
	}
	if (f->state != MXS_SMTP_OPEN)
		return 0;
	v = mxs_tcp_judge(&f->tcp, &in);
	if (v == MXS_SEG_REJECT)
		return mxs_smtp_reject(in.reject);
	f->last_ts = now;
	if (v == MXS_SEG_OLD)
		return 0; /* all of it seen before: a retransmission */
	st = mxs_smtp_stats_get(&sk);
	h = bpf_map_lookup_elem(&mxs_smtp_hist, &sk);
	s = bpf_map_lookup_elem(&mxs_scratch, &zero);
	if (!s)
		return 0;

	if (sg->len && !f->tls) {
		__u32 start = in.start; /* bytes at its head seen before */

		if (in.gap) {
			/* Bytes we never saw: resume at the next line start. */
			mxs_count(MXS_C_SMTP_UNPARSED);
			f->line = MXS_LINE_SKIP;
		}
		if (!f->greeted && mxs_is_smtp_tls_port(k->server_port)) {
			/* Implicit TLS (RFC 8314): the ServerHello is the greeting. */
			__u8 rec[6];

			if (sg->len >= start + 6 &&
			    !mxs_load(&p, sg->off + start, rec, sizeof(rec)) &&
			    rec[0] == MXS_TLS_HANDSHAKE && rec[5] == MXS_TLS_SERVERHELLO) {
				f->greeted = 1;
				f->tls = 1;
				if (st) {
					st->greetings[MXS_SMTP_TLS]++;
					mxs_hist_add(h ? h->greeting_hist : 0, &st->greeting_sum_ns,
						     now - f->open_ts);
				}
			} else {
				mxs_count(MXS_C_SMTP_UNPARSED);
			}
		} else {
			struct mxs_smtp_scan sc = {.line = f->line,
						   .digits = f->digits,
						   .code = f->code,
						   .greeted = f->greeted,
						   .starttls = f->starttls};

			if (dir == MXS_DIR_INGRESS ? mxs_smtp_read_xdp(ctx, &sc, s, sg, start)
						   : mxs_smtp_read_tc(ctx, &sc, s, sg, start))
				mxs_count(MXS_C_SMTP_UNPARSED);
			mxs_smtp_apply(f, st, h, &sc, now);
		}
	}
	if (in.fin)
		mxs_smtp_end(f, st, k);
	return 0;
}

/* mxs_smtp_track for the XDP program (ingress). */
__noinline int mxs_smtp_track_xdp(struct xdp_md *ctx, const struct mxs_smtp_flow_key *k,
				  struct mxs_smtp_seg *sg)
{
	return mxs_smtp_track(ctx, MXS_DIR_INGRESS, k, sg);
}

/* mxs_smtp_track for the TC program (egress). */
__noinline int mxs_smtp_track_tc(struct __sk_buff *ctx, const struct mxs_smtp_flow_key *k,
				 struct mxs_smtp_seg *sg)
{
	return mxs_smtp_track(ctx, MXS_DIR_EGRESS, k, sg);
}

#endif /* MXS_SMTP_TRACK_H */
