/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The set of tuples that may have a marked conntrack entry (ctseen.h): an
 * open-addressed table of 64-bit tuple hashes with linear probing, grown
 * by doubling while it is more than half full, and emptied slot by slot
 * with backward-shift deletion (no tombstones to age). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctseen.h"
#include "siphash.h"

#define CTSEEN_MIN_SLOTS 1024

struct ctseen_slot {
	uint64_t h;                 /* 0: empty */
	uint32_t id;
};

struct ctseen {
	pthread_mutex_t lock;
	struct ctseen_slot *slot;
	size_t nslots;              /* a power of two */
	size_t count;
	size_t max;
	bool overflowed;
	uint8_t key[SIPHASH_KEY_LEN];
};

struct ctseen *ctseen_new(size_t max)
{
	struct ctseen *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max ? max : 1;
	s->nslots = CTSEEN_MIN_SLOTS;
	s->slot = calloc(s->nslots, sizeof(*s->slot));
	if (!s->slot || getrandom(s->key, sizeof(s->key), 0) != (ssize_t)sizeof(s->key)) {
		int err = s->slot ? EIO : ENOMEM;

		free(s->slot);
		free(s);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void ctseen_free(struct ctseen *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->slot);
	free(s);
}

static uint64_t tuple_hash(const struct ctseen *s, const struct conn_key *k)
{
	uint8_t b[sizeof(k->caddr.a) * 2 + 4];
	uint64_t h;

	memcpy(b, k->caddr.a, sizeof(k->caddr.a));
	memcpy(b + 16, k->saddr.a, sizeof(k->saddr.a));
	b[32] = (uint8_t)(k->cport >> 8);
	b[33] = (uint8_t)k->cport;
	b[34] = (uint8_t)(k->sport >> 8);
	b[35] = (uint8_t)k->sport;
	h = siphash24(s->key, b, sizeof(b));
	return h ? h : 1;
}

/* The slot holding h, or the empty slot where it would go. */
static struct ctseen_slot *find(const struct ctseen *s, uint64_t h)
{
	size_t mask = s->nslots - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
		if (s->slot[i].h == h || s->slot[i].h == 0)
			return &s->slot[i];
}

/* Doubles the table; false when memory is short (the set goes on in the
 * old one, fuller). */
static bool grow(struct ctseen *s)
{
	struct ctseen_slot *old = s->slot;
	size_t n = s->nslots;

	s->slot = calloc(n * 2, sizeof(*s->slot));
	if (!s->slot) {
		s->slot = old;
		return false;
	}
	s->nslots = n * 2;
	for (size_t i = 0; i < n; i++)
		if (old[i].h)
			*find(s, old[i].h) = old[i];
	free(old);
	return true;
}

bool ctseen_put(struct ctseen *s, const struct conn_key *k, uint32_t id)
{
	uint64_t h = tuple_hash(s, k);
	struct ctseen_slot *e;
	bool ok = true;

	pthread_mutex_lock(&s->lock);
	e = find(s, h);
	if (e->h) {
		e->id = id;
	} else if (s->overflowed || s->count >= s->max ||
		   (2 * (s->count + 1) > s->nslots && !grow(s) && 4 * (s->count + 1) > 3 * s->nslots)) {
		s->overflowed = true;
		ok = false;
	} else {
		e = find(s, h);   /* the table may have grown */
		e->h = h;
		e->id = id;
		s->count++;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool ctseen_maybe(struct ctseen *s, const struct conn_key *k)
{
	uint64_t h = tuple_hash(s, k);
	bool r;

	pthread_mutex_lock(&s->lock);
	r = s->overflowed || find(s, h)->h != 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

bool ctseen_has_id(struct ctseen *s, const struct conn_key *k, uint32_t id)
{
	uint64_t h = tuple_hash(s, k);
	const struct ctseen_slot *e;
	bool r;

	pthread_mutex_lock(&s->lock);
	e = find(s, h);
	r = !s->overflowed && e->h != 0 && e->id == id;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Empties slot e and moves up the entries after it that probing would no
 * longer reach. */
static void remove_slot(struct ctseen *s, struct ctseen_slot *e)
{
	size_t mask = s->nslots - 1;
	size_t hole = (size_t)(e - s->slot);

	for (size_t i = (hole + 1) & mask; s->slot[i].h; i = (i + 1) & mask) {
		size_t home = (size_t)s->slot[i].h & mask;

		/* The entry at i may fill the hole when its home is not in
		 * (hole, i] (cyclically). */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			s->slot[hole] = s->slot[i];
			hole = i;
		}
	}
	s->slot[hole].h = 0;
	s->slot[hole].id = 0;
	s->count--;
}

void ctseen_gone(struct ctseen *s, const struct conn_key *k, uint32_t id)
{
	uint64_t h = tuple_hash(s, k);
	struct ctseen_slot *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, h);
	if (e->h && e->id && e->id == id)
		remove_slot(s, e);
	pthread_mutex_unlock(&s->lock);
}

void ctseen_drop(struct ctseen *s, const struct conn_key *k)
{
	uint64_t h = tuple_hash(s, k);
	struct ctseen_slot *e;

	pthread_mutex_lock(&s->lock);
	e = find(s, h);
	if (e->h)
		remove_slot(s, e);
	pthread_mutex_unlock(&s->lock);
}

size_t ctseen_count(struct ctseen *s, bool *overflowed)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->count;
	if (overflowed)
		*overflowed = s->overflowed;
	pthread_mutex_unlock(&s->lock);
	return n;
}
