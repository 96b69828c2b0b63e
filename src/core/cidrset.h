/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CIDR sets: the allow and deny lists of a rule, IPv4 and IPv6 prefixes
 * merged into sorted ranges and looked up by binary search (cidrset.c). */
#ifndef SP_CIDRSET_H
#define SP_CIDRSET_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

/* A set of prefixes, both families, looked up in O(log n). */
struct cidrset;

/* Builds a set from n prefixes (copied; overlaps merged).  NULL on no
 * memory.  n may be 0. */
struct cidrset *cidrset_new(const struct prefix *p, size_t n);

/* Frees a set (NULL is fine). */
void cidrset_free(struct cidrset *s);

/* True when a is inside some prefix of s. */
bool cidrset_contains(const struct cidrset *s, const struct addr *a);

/* Number of merged ranges (for logs and tests). */
size_t cidrset_size(const struct cidrset *s);

/* Calls fn with the fewest prefixes whose union is s, in address order
 * (for tables that hold prefixes, such as the XDP stage's tries). */
void cidrset_prefixes(const struct cidrset *s, void (*fn)(const struct prefix *p, void *ctx),
		      void *ctx);

#endif
