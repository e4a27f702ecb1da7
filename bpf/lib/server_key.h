/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The key of a server's statistics (struct mxs_server_key), built in one place.
 */
#ifndef MXS_SERVER_KEY_H
#define MXS_SERVER_KEY_H

#include "mxsense.h"

/* addr: the server's address (16 bytes, IPv4 mapped); port in host order. */
static __always_inline void mxs_server_key_set(struct mxs_server_key *sk, const __u8 *addr,
					       __u16 port, __u8 proto, __u8 role)
{
	__builtin_memcpy(sk->addr, addr, 16);
	sk->port = port;
	sk->proto = proto;
	sk->role = role;
}

#endif /* MXS_SERVER_KEY_H */
