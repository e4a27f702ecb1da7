/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The watched ports, set by the agent before load (0 ends a list), and the one
 * predicate that asks whether a port is in a list.
 */
#ifndef MXS_PORTS_H
#define MXS_PORTS_H

#include "mxsense.h"

const volatile __u16 mxs_dns_ports[MXS_MAX_PORTS] = {53};
const volatile __u16 mxs_smtp_ports[MXS_MAX_SMTP_PORTS] = {25, 465, 587};
const volatile __u16 mxs_smtp_tls_ports[MXS_MAX_SMTP_PORTS] = {465};

/* Whether port is one of the first n entries of list (0 ends it). */
static __always_inline int mxs_port_in(const volatile __u16 *list, int n, __u16 port)
{
#pragma unroll
	for (int i = 0; i < n; i++)
		if (list[i] && list[i] == port)
			return 1;
	return 0;
}

static __always_inline int mxs_is_dns_port(__u16 port)
{
	return mxs_port_in(mxs_dns_ports, MXS_MAX_PORTS, port);
}

static __always_inline int mxs_is_smtp_port(__u16 port)
{
	return mxs_port_in(mxs_smtp_ports, MXS_MAX_SMTP_PORTS, port);
}

static __always_inline int mxs_is_smtp_tls_port(__u16 port)
{
	return mxs_port_in(mxs_smtp_tls_ports, MXS_MAX_SMTP_PORTS, port);
}

static __always_inline int mxs_is_watched_port(__u16 port)
{
	return mxs_is_dns_port(port) || mxs_is_smtp_port(port);
}

#endif /* MXS_PORTS_H */
