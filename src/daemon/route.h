/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The interfaces the route to an address leaves by, asked of the kernel
 * (rtnetlink RTM_GETROUTE for the matching FIB entry, RTM_F_FIB_MATCH:
 * every next hop of a multipath route) and cached.  In gateway mode a
 * worker checks the input interface of a packet from a protected server
 * against them: a genuine one comes in where a route to the server goes
 * out, a forged one from the clients' side does not (a strict
 * reverse-path check, as rp_filter = 1 does for IPv4 and the kernel does
 * not do for IPv6; with equal-cost paths to the backends a reply may come
 * in on any of them).  One per worker: no lock. */
#ifndef SP_ROUTE_H
#define SP_ROUTE_H

#include <stdint.h>

#include "addr.h"

struct routes;

/* A route cache with its own rtnetlink socket.  NULL with errno. */
struct routes *routes_open(void);

/* Closes it (NULL is fine). */
void routes_close(struct routes *r);

#define ROUTES_MAX_PATHS 16   /* next hops of a route kept; a route with more
			       * is checked against its first ones only */

/* Whether interface ifindex is one the route to a leaves by: 1 yes, 0 no
 * (or no route to a), from the cache while an answer is younger than a
 * few seconds, else from the kernel; -1 when it cannot tell (a netlink
 * failure, a route whose interfaces the answer does not name, or more
 * new addresses this second than the cache asks the kernel about). */
int routes_via(struct routes *r, const struct addr *a, uint32_t ifindex, uint64_t now_ms);

#endif
