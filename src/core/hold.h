/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hold pool: copies of client segments that arrived before the
 * backend finished its handshake, kept until they can be released
 * (translated) or dropped.  Fixed-size slots allocated once; a flow keeps
 * its held segments as a FIFO chain of slot indexes. */
#ifndef SP_HOLD_H
#define SP_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOLD_SLOT_BYTES 2048u   /* larger segments are not held */
#define HOLD_NONE UINT32_MAX

struct hold;

/* A FIFO of held segments owned by one flow. */
struct hold_queue {
	uint32_t head;
	uint32_t tail;
	uint8_t count;
};

/* A pool of bytes_total / HOLD_SLOT_BYTES slots (0 slots is valid: nothing
 * is ever held).  NULL on no memory. */
struct hold *hold_new(uint32_t bytes_total);

/* Frees the pool. */
void hold_free(struct hold *h);

/* Empties q without touching the pool (for a fresh flow). */
void hold_queue_init(struct hold_queue *q);

/* Copies len bytes into a free slot at the tail of q; false when len is
 * over HOLD_SLOT_BYTES or no slot is free. */
bool hold_push(struct hold *h, struct hold_queue *q, uint32_t id, const uint8_t *data,
	       uint32_t len);

/* Takes the oldest segment off q: its id, and data and length pointing
 * into the pool (writable, valid until the next hold_push).  False when q is
 * empty. */
bool hold_pop(struct hold *h, struct hold_queue *q, uint32_t *id, uint8_t **data,
	      uint32_t *len);

/* Segments and bytes held now. */
void hold_usage(const struct hold *h, uint32_t *packets, uint32_t *bytes);

/* Bytes the pool allocated. */
size_t hold_memory(const struct hold *h);

#endif
