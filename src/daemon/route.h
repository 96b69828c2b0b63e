/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The interface the route to an address leaves by, asked of the kernel
 * (rtnetlink RTM_GETROUTE) and cached.  In gateway mode a worker compares
 * it with the input interface of a packet from a protected server: a
 * genuine one comes in where the route to the server goes out, a forged
 * one from the clients' side does not (a strict reverse-path check, which
 * the kernel does not do for IPv6 and does for IPv4 only with
 * rp_filter = 1).  One per worker: no lock. */
#ifndef SP_ROUTE_H
#define SP_ROUTE_H

#include <stdint.h>

#include "addr.h"

struct routes;

/* A route cache with its own rtnetlink socket.  NULL with errno. */
struct routes *routes_open(void);

/* Closes it (NULL is fine). */
void routes_close(struct routes *r);

/* The index of the interface the route to a leaves by (0: no route), from
 * the cache while an answer is younger than a few seconds, else from the
 * kernel; -1 when it cannot tell (a netlink failure, or more new
 * addresses this second than the cache asks the kernel about). */
int64_t routes_oif(struct routes *r, const struct addr *a, uint64_t now_ms);

#endif
