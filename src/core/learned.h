/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The TCP options each backend announced in its last SYN-ACK, for rules
 * whose options are "auto" (learned.c; the table's shape is in
 * settable.h). */
#ifndef SP_LEARNED_H
#define SP_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* Options learned from a backend's SYN-ACKs, per backend address and port.
 * Fixed size; a newer backend overwrites an older one in its slot. */
struct learned_opts {
	uint16_t mss;
	uint8_t wscale;      /* 0xff: backend does not scale */
	bool sack;
	bool ts;
	bool valid;
};

struct learned;

/* A table of nslots (power of two) entries. */
struct learned *learned_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void learned_free(struct learned *t);

/* Bytes it allocated. */
size_t learned_memory(const struct learned *t);

/* Records what backend addr:port announced. */
void learned_put(struct learned *t, const struct addr *a, uint16_t port,
		 const struct learned_opts *o);

/* What addr:port announced last; false when unknown. */
bool learned_get(const struct learned *t, const struct addr *a, uint16_t port,
		 struct learned_opts *o);

/* Calls fn for every backend the table holds. */
void learned_walk(const struct learned *t,
		  void (*fn)(const struct addr *a, uint16_t port, const struct learned_opts *o,
			     void *ctx),
		  void *ctx);

#endif
