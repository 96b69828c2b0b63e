/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hold pool (see hold.h): fixed-size slots on one free list, chained
 * per flow in arrival order. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"

struct slot {
	uint32_t next;
	uint32_t id;
	uint32_t len;
	uint8_t data[HOLD_SLOT_BYTES];
};

struct hold {
	struct slot *slots;
	uint32_t nslots;
	uint32_t free;
	uint32_t used;
	uint32_t bytes;
};

struct hold *hold_new(uint32_t bytes_total)
{
	struct hold *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nslots = bytes_total / HOLD_SLOT_BYTES;
	h->free = HOLD_NONE;
	if (h->nslots) {
		h->slots = calloc(h->nslots, sizeof(*h->slots));
		if (!h->slots) {
			free(h);
			return NULL;
		}
	}
	for (uint32_t i = h->nslots; i-- > 0;) {
		h->slots[i].next = h->free;
		h->free = i;
	}
	return h;
}

void hold_free(struct hold *h)
{
	if (!h)
		return;
	free(h->slots);
	free(h);
}

void hold_queue_init(struct hold_queue *q)
{
	q->head = q->tail = HOLD_NONE;
	q->count = 0;
}

bool hold_push(struct hold *h, struct hold_queue *q, uint32_t id, const uint8_t *data,
	       uint32_t len)
{
	struct slot *s;
	uint32_t i = h->free;

	if (len > HOLD_SLOT_BYTES || i == HOLD_NONE || q->count == UINT8_MAX)
		return false;
	s = &h->slots[i];
	h->free = s->next;
	s->next = HOLD_NONE;
	s->id = id;
	s->len = len;
	memcpy(s->data, data, len);
	if (q->tail == HOLD_NONE)
		q->head = i;
	else
		h->slots[q->tail].next = i;
	q->tail = i;
	q->count++;
	h->used++;
	h->bytes += len;
	return true;
}

bool hold_pop(struct hold *h, struct hold_queue *q, uint32_t *id, uint8_t **data,
	      uint32_t *len)
{
	uint32_t i = q->head;
	struct slot *s;

	if (i == HOLD_NONE)
		return false;
	assert(i < h->nslots && q->count > 0);
	s = &h->slots[i];
	q->head = s->next;
	if (q->head == HOLD_NONE)
		q->tail = HOLD_NONE;
	q->count--;
	*id = s->id;
	*data = s->data;
	*len = s->len;
	s->next = h->free;
	h->free = i;
	h->used--;
	h->bytes -= s->len;
	return true;
}

void hold_usage(const struct hold *h, uint32_t *packets, uint32_t *bytes)
{
	*packets = h->used;
	*bytes = h->bytes;
}

size_t hold_memory(const struct hold *h)
{
	return sizeof(*h) + (size_t)h->nslots * sizeof(struct slot);
}
