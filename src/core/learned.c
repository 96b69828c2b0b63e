/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options learned from backends: for each backend address and port, the
 * set its SYN-ACKs agreed on and the one they may be moving to, in a
 * set-associative table whose sets give up their oldest-written slot
 * (settable.h).  A set is in use only after LEARNED_AGREE SYN-ACKs in a
 * row announced it, so that one odd or forged SYN-ACK does not change
 * what every later client is offered.  A set with a smaller MSS than the
 * one in use needs its SYN-ACKs to answer clients of LEARNED_AGREE
 * different networks: a backend announces the MSS of its route toward
 * the SYN's source, path MTU included, so a client behind a small MTU
 * (or one that made the backend learn a small path MTU toward it) would
 * otherwise lower what every client is offered. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "learned.h"
#include "settable.h"

struct learned_slot {
	struct addr a;
	uint16_t port;
	uint8_t votes;          /* SYN-ACKs in a row that announced cand */
	struct addr voter[LEARNED_AGREE]; /* their clients' networks */
	uint64_t written;       /* table clock at the last write; 0: empty */
	struct learned_opts o;  /* in use (o.valid: agreed) */
	struct learned_opts cand;
};

struct learned {
	uint32_t nslots;
	uint64_t clock;         /* counts puts, for oldest-written */
	uint8_t key[SIPHASH_KEY_LEN];
	struct learned_slot slot[];
};

struct learned *learned_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	uint32_t n = table_slots(nslots);
	struct learned *t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->slot[0]));

	if (!t)
		return NULL;
	t->nslots = n;
	memcpy(t->key, hashkey, SIPHASH_KEY_LEN);
	return t;
}

void learned_free(struct learned *t)
{
	free(t);
}

size_t learned_memory(const struct learned *t)
{
	return sizeof(*t) + (size_t)t->nslots * sizeof(t->slot[0]);
}

static uint32_t learned_set(const struct learned *t, const struct addr *a, uint16_t port)
{
	uint8_t k[sizeof(a->a) + 2];

	memcpy(k, a->a, sizeof(a->a));
	put_be16(k + sizeof(a->a), port);
	return table_set(t->key, t->nslots, k, sizeof(k));
}

/* The slot of addr:port, or the oldest-written of its set, emptied for
 * it; either way written now. */
static struct learned_slot *claim(struct learned *t, const struct addr *a, uint16_t port)
{
	struct learned_slot *set = &t->slot[learned_set(t, a, port)];
	struct learned_slot *victim = &set[0];

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].written && set[i].port == port && addr_eq(&set[i].a, a)) {
			set[i].written = ++t->clock;
			return &set[i];
		}
		if (set[i].written < victim->written)
			victim = &set[i];
	}
	memset(victim, 0, sizeof(*victim));
	victim->a = *a;
	victim->port = port;
	victim->written = ++t->clock;
	return victim;
}

static bool same_opts(const struct learned_opts *x, const struct learned_opts *y)
{
	return x->mss == y->mss && x->wscale == y->wscale && x->sack == y->sack &&
	       x->ts == y->ts;
}

void learned_put(struct learned *t, const struct addr *a, uint16_t port,
		 const struct learned_opts *o)
{
	struct learned_slot *s = claim(t, a, port);

	s->o = *o;
	s->o.valid = true;
	s->votes = 0;
}

bool learned_vote(struct learned *t, const struct addr *a, uint16_t port,
		  const struct learned_opts *o, const struct addr *client)
{
	struct learned_slot *s = claim(t, a, port);
	struct addr net = addr_source_net(client);

	if (s->o.valid && same_opts(&s->o, o)) {
		s->votes = 0;
		return false;
	}
	if (s->votes && same_opts(&s->cand, o)) {
		/* A smaller MSS counts once per client network (a repeat is
		 * neither a vote nor a break in the row). */
		if (s->o.valid && o->mss < s->o.mss)
			for (int i = 0; i < s->votes; i++)
				if (addr_eq(&s->voter[i], &net))
					return false;
		s->voter[s->votes++] = net;
	} else {
		s->cand = *o;
		s->voter[0] = net;
		s->votes = 1;
	}
	if (s->votes < LEARNED_AGREE)
		return false;
	s->o = *o;
	s->o.valid = true;
	s->votes = 0;
	return true;
}

bool learned_get(const struct learned *t, const struct addr *a, uint16_t port,
		 struct learned_opts *o)
{
	const struct learned_slot *set = &t->slot[learned_set(t, a, port)];

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].written && set[i].port == port && addr_eq(&set[i].a, a)) {
			*o = set[i].o;
			return o->valid;
		}
	}
	return false;
}

void learned_walk(const struct learned *t,
		  void (*fn)(const struct addr *a, uint16_t port, const struct learned_opts *o,
			     void *ctx),
		  void *ctx)
{
	for (uint32_t i = 0; i < t->nslots; i++)
		if (t->slot[i].written)
			fn(&t->slot[i].a, t->slot[i].port, &t->slot[i].o, ctx);
}
