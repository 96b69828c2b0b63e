/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-source limits: a token bucket for SYNs and a half-open count per
 * source network (/24 or /64), in a set-associative table whose sets
 * give up their least recently used slot (settable.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "settable.h"
#include "srclimit.h"

/* Milli-tokens per token: rates are whole tokens per second, so one
 * millisecond at rate r adds exactly r milli-tokens, with no rounding. */
#define SRCLIMIT_MILLI 1000

struct src_slot {
	struct addr net;        /* the source's /24 or /64, host bits clear */
	uint64_t used;          /* table clock at the last use; 0: empty */
	uint64_t refill_ms;     /* when mtokens was last brought up to date */
	uint64_t mtokens;       /* milli-tokens in the bucket */
	uint32_t half_open;
	bool bucket;            /* mtokens valid (a slot claimed for a
				 * half-open count has no bucket yet) */
};

struct srclimit {
	uint32_t nslots;
	uint64_t clock;         /* counts uses, for least-recently-used */
	uint8_t key[SIPHASH_KEY_LEN];
	struct src_slot slot[];
};

struct srclimit *srclimit_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	uint32_t n = table_slots(nslots);
	struct srclimit *t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->slot[0]));

	if (!t)
		return NULL;
	t->nslots = n;
	memcpy(t->key, hashkey, SIPHASH_KEY_LEN);
	return t;
}

void srclimit_free(struct srclimit *t)
{
	free(t);
}

size_t srclimit_memory(const struct srclimit *t)
{
	return sizeof(*t) + (size_t)t->nslots * sizeof(t->slot[0]);
}

/* The slot for src's network.  A lookup that only reads (touch false)
 * must not change which slot is evicted next; one that may create takes
 * the empty or least recently used slot of the set, zeroed. */
static struct src_slot *src_find(struct srclimit *t, const struct addr *src,
				 bool create, bool touch)
{
	struct addr net = addr_source_net(src);
	struct src_slot *set = &t->slot[table_set(t->key, t->nslots, net.a, sizeof(net.a))];
	struct src_slot *victim = &set[0];

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].used && addr_eq(&set[i].net, &net)) {
			if (touch)
				set[i].used = ++t->clock;
			return &set[i];
		}
		if (set[i].used < victim->used)
			victim = &set[i];
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->net = net;
	victim->used = ++t->clock;
	return victim;
}

/* Adds the tokens earned since the last refill, never past cap.  Expects
 * rate > 0.  A clock that steps back earns nothing and keeps the old
 * reference, so the time is not credited twice. */
static void refill(struct src_slot *s, uint32_t rate, uint64_t cap, uint64_t now_ms)
{
	uint64_t elapsed, need;

	assert(rate > 0);
	if (now_ms > s->refill_ms) {
		elapsed = now_ms - s->refill_ms;
		need = s->mtokens < cap ? cap - s->mtokens : 0;
		/* Compare before multiplying: elapsed * rate may overflow
		 * after a long idle, but then the bucket is full anyway. */
		if (elapsed > need / rate)
			s->mtokens = cap;
		else
			s->mtokens += elapsed * rate;
		s->refill_ms = now_ms;
	}
	if (s->mtokens > cap)   /* the burst was lowered by a reload */
		s->mtokens = cap;
}

bool srclimit_syn(struct srclimit *t, const struct addr *src, uint32_t rate,
		  uint32_t burst, uint64_t now_ms)
{
	struct src_slot *s;
	uint64_t cap;

	if (rate == 0)
		return true;
	cap = (uint64_t)(burst ? burst : rate) * SRCLIMIT_MILLI;
	s = src_find(t, src, true, true);
	if (!s->bucket) {
		s->bucket = true;
		s->mtokens = cap;
		s->refill_ms = now_ms;
	} else {
		refill(s, rate, cap, now_ms);
	}
	if (s->mtokens < SRCLIMIT_MILLI)
		return false;
	s->mtokens -= SRCLIMIT_MILLI;
	return true;
}

/* A decrement or a read for a network the table does not hold returns 0
 * without claiming a slot: it must not evict a network that has state. */
uint32_t srclimit_half_open(struct srclimit *t, const struct addr *src, int delta)
{
	struct src_slot *s = src_find(t, src, delta > 0, delta != 0);

	if (!s)
		return 0;
	if (delta > 0)
		s->half_open = (uint32_t)delta > UINT32_MAX - s->half_open ?
			       UINT32_MAX : s->half_open + (uint32_t)delta;
	else if (delta < 0)
		s->half_open = -(int64_t)delta >= s->half_open ?
			       0 : s->half_open - (uint32_t)-(int64_t)delta;
	return s->half_open;
}

void srclimit_clear_half_open(struct srclimit *t)
{
	for (uint32_t i = 0; i < t->nslots; i++)
		t->slot[i].half_open = 0;
}
