/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-source limits: the SYN rate and half-open count of each source
 * network, in a fixed-size table (srclimit.c; the table's shape is in
 * settable.h). */
#ifndef SP_SRCLIMIT_H
#define SP_SRCLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* Per-source state: a token bucket for SYNs and a half-open count, keyed
 * by the source's /24 (IPv4) or /64 (IPv6).  A fixed-size, set-associative
 * table: when a set is full the least recently used slot is reused, so
 * memory never grows. */
struct srclimit;

/* A table of about nslots slots (rounded to a power of two). */
struct srclimit *srclimit_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void srclimit_free(struct srclimit *t);

/* Bytes it allocated. */
size_t srclimit_memory(const struct srclimit *t);

/* Takes one SYN token for src's prefix at now_ms with rate tokens/s and
 * burst depth; true when allowed.  rate 0 always allows. */
bool srclimit_syn(struct srclimit *t, const struct addr *src, uint32_t rate,
		  uint32_t burst, uint64_t now_ms);

/* Adjusts src's half-open count by delta (+1 or -1, saturating at 0; 0
 * only reads) and returns the new count. */
uint32_t srclimit_half_open(struct srclimit *t, const struct addr *src, int delta);

/* Sets every half-open count to 0 (the token buckets are kept). */
void srclimit_clear_half_open(struct srclimit *t);

#endif
