/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The TCP options each backend agreed on in its SYN-ACKs, for rules whose
 * options are "auto" (learned.c; the table's shape is in settable.h). */
#ifndef SP_LEARNED_H
#define SP_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* Options learned from a backend's SYN-ACKs, per backend address and port.
 * Fixed size; a newer backend overwrites an older one in its slot. */
#define LEARNED_AGREE 3      /* SYN-ACKs in a row that must agree on a new set */

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

/* Sets the options in use for backend addr:port to o at once. */
void learned_put(struct learned *t, const struct addr *a, uint16_t port,
		 const struct learned_opts *o);

/* Records that backend addr:port announced o in a SYN-ACK to a SYN from
 * client.  o becomes the set in use once LEARNED_AGREE SYN-ACKs in a row
 * announced it (one that repeats the set in use resets the count); when
 * o's MSS is smaller than the one in use, those SYN-ACKs must answer
 * clients of LEARNED_AGREE different networks (/24, /64).  Returns true
 * when the set in use changed. */
bool learned_vote(struct learned *t, const struct addr *a, uint16_t port,
		  const struct learned_opts *o, const struct addr *client);

/* The options in use for addr:port; false when none yet. */
bool learned_get(const struct learned *t, const struct addr *a, uint16_t port,
		 struct learned_opts *o);

/* Calls fn for every backend the table holds. */
void learned_walk(const struct learned *t,
		  void (*fn)(const struct addr *a, uint16_t port, const struct learned_opts *o,
			     void *ctx),
		  void *ctx);

#endif
