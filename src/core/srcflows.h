/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows per source network: how many flows each client network holds, so
 * that one address cannot fill the flow table (a rule's
 * max_flows_per_source).  Unlike the per-source SYN limits (srclimit.h),
 * whose table may forget a source, the counts are exact: the table has
 * one entry for every flow at most, never evicts, and a count goes to
 * zero only when the flows it counts end. */
#ifndef SP_SRCFLOWS_H
#define SP_SRCFLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

struct srcflows;

/* A table for up to max counted flows (the flow table's size).  NULL on
 * no memory. */
struct srcflows *srcflows_new(uint32_t max, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void srcflows_free(struct srcflows *t);

/* Bytes it allocated. */
size_t srcflows_memory(const struct srcflows *t);

/* Counts one more flow for src's network of len bits (in the mapped
 * 128-bit space: an IPv4 /32 is 128) unless that network holds limit
 * flows already (limit 0: no limit).  True when counted.  Expects fewer
 * than max flows counted in all. */
bool srcflows_add(struct srcflows *t, const struct addr *src, uint8_t len, uint32_t limit);

/* Counts one flow less for src's network of len bits; expects one
 * counted by srcflows_add. */
void srcflows_remove(struct srcflows *t, const struct addr *src, uint8_t len);

/* The flows src's network of len bits holds. */
uint32_t srcflows_count(const struct srcflows *t, const struct addr *src, uint8_t len);

#endif
