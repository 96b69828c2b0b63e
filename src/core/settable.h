/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sizing and set selection for the fixed-size tables keyed by source or
 * backend: per-source limits (srclimit.c), options learned from backends
 * (learned.c) and the RULE_RESET pass list (passlist.c).
 *
 * All three share one shape, chosen because an attacker picks the keys:
 * the slot count is a power of two fixed at creation, a key's set of
 * TABLE_WAYS slots is chosen by SipHash under a secret key (so sources
 * cannot be aimed at one set), and a full set gives up one of its own
 * slots.  Memory is therefore bounded and nothing is allocated after
 * *_new; a flood of new keys can only evict, never grow the table. */
#ifndef SP_SETTABLE_H
#define SP_SETTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "siphash.h"

#define TABLE_WAYS 4
#define TABLE_MIN_SLOTS 64
#define TABLE_MAX_SLOTS (1u << 30)

/* nslots rounded up to a power of two within the table limits. */
static inline uint32_t table_slots(uint32_t nslots)
{
	uint32_t n = TABLE_MIN_SLOTS;

	while (n < nslots && n < TABLE_MAX_SLOTS)
		n <<= 1;
	return n;
}

/* Index of the first slot of the set that data hashes to. */
static inline uint32_t table_set(const uint8_t key[SIPHASH_KEY_LEN], uint32_t nslots,
				 const void *data, size_t len)
{
	uint32_t nsets = nslots / TABLE_WAYS;

	return (uint32_t)(siphash24(key, data, len) & (nsets - 1)) * TABLE_WAYS;
}

#endif
