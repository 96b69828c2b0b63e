/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The flow table's storage (see flow.h): buckets, chains, the free list,
 * deadlines and the timer scan, and the names of the flow states.  What a
 * flow's fields mean and when they change is the splice's (splice.c). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#define NIL UINT32_MAX

struct bucket {
	uint32_t head;
	uint64_t min_deadline;    /* lower bound of the chain's deadlines */
};

/* used[] has one bit per bucket, set while its chain is not empty: a
 * lookup of an absent key (every SYN of a flood) then reads 1 bit of a
 * table 128 times smaller than the buckets, which stays in the cache,
 * instead of missing on a random bucket. */
struct flowtab {
	struct flow *flows;
	struct bucket *buckets;
	uint64_t *used;
	uint32_t max;
	uint32_t mask;
	uint32_t count;
	uint32_t free;
	uint32_t scan;            /* bucket where the timer scan resumes */
	uint32_t hand;            /* bucket where flowtab_find_state resumes */
	uint64_t min_deadline;    /* lower bound over all buckets */
	uint8_t key[SIPHASH_KEY_LEN];
};

const char *flow_state_name(enum flow_state s)
{
	switch (s) {
	case FLOW_HALF_OPEN: return "half-open";
	case FLOW_BACKEND_SYN: return "backend-syn";
	case FLOW_ESTABLISHED: return "established";
	case FLOW_CLOSING: return "closing";
	case FLOW_TIME_WAIT: return "time-wait";
	}
	return "?";
}

static uint32_t bucket_of(const struct flowtab *ft, const struct conn_key *k)
{
	return (uint32_t)siphash24(ft->key, k, sizeof(*k)) & ft->mask;
}

struct flowtab *flowtab_new(uint32_t max, const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	struct flowtab *ft;
	uint32_t nb = 1;

	if (max == 0 || max > (1u << 26))
		return NULL;
	while (nb < max)
		nb <<= 1;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	ft->flows = calloc(max, sizeof(*ft->flows));
	ft->buckets = calloc(nb, sizeof(*ft->buckets));
	ft->used = calloc((nb + 63) / 64, sizeof(*ft->used));
	if (!ft->flows || !ft->buckets || !ft->used) {
		flowtab_free(ft);
		return NULL;
	}
	ft->max = max;
	ft->mask = nb - 1;
	ft->min_deadline = UINT64_MAX;
	memcpy(ft->key, hashkey, SIPHASH_KEY_LEN);
	for (uint32_t b = 0; b < nb; b++) {
		ft->buckets[b].head = NIL;
		ft->buckets[b].min_deadline = UINT64_MAX;
	}
	ft->free = NIL;
	for (uint32_t i = max; i-- > 0;) {
		ft->flows[i].fl_next = ft->free;
		ft->free = i;
	}
	return ft;
}

void flowtab_free(struct flowtab *ft)
{
	if (!ft)
		return;
	free(ft->flows);
	free(ft->buckets);
	free(ft->used);
	free(ft);
}

static bool bucket_used(const struct flowtab *ft, uint32_t b)
{
	return ft->used[b / 64] >> (b % 64) & 1;
}

struct flow *flowtab_lookup(struct flowtab *ft, const struct conn_key *k)
{
	uint32_t b = bucket_of(ft, k);
	uint32_t i;

	if (!bucket_used(ft, b))
		return NULL;
	i = ft->buckets[b].head;

	while (i != NIL) {
		struct flow *f = &ft->flows[i];

		if (conn_key_eq(&f->fl_key, k))
			return f;
		i = f->fl_next;
	}
	return NULL;
}

static void lower_bound(struct flowtab *ft, struct bucket *b, uint64_t deadline_ms)
{
	if (deadline_ms < b->min_deadline)
		b->min_deadline = deadline_ms;
	if (deadline_ms < ft->min_deadline)
		ft->min_deadline = deadline_ms;
}

struct flow *flowtab_insert(struct flowtab *ft, const struct conn_key *k,
			    uint64_t deadline_ms)
{
	uint32_t bi = bucket_of(ft, k);
	struct bucket *b = &ft->buckets[bi];
	uint32_t i = ft->free;
	struct flow *f;

	assert(!flowtab_lookup(ft, k));
	if (i == NIL)
		return NULL;
	ft->used[bi / 64] |= UINT64_C(1) << (bi % 64);
	f = &ft->flows[i];
	ft->free = f->fl_next;
	memset(f, 0, sizeof(*f));
	f->fl_key = *k;
	f->fl_deadline_ms = deadline_ms;
	hold_queue_init(&f->fl_held);
	f->fl_next = b->head;
	b->head = i;
	ft->count++;
	lower_bound(ft, b, deadline_ms);
	return f;
}

void flowtab_remove(struct flowtab *ft, struct flow *f)
{
	uint32_t idx = (uint32_t)(f - ft->flows);
	uint32_t bi = bucket_of(ft, &f->fl_key);
	uint32_t *link = &ft->buckets[bi].head;

	assert(idx < ft->max);
	while (*link != idx) {
		assert(*link != NIL);
		link = &ft->flows[*link].fl_next;
	}
	*link = f->fl_next;
	if (ft->buckets[bi].head == NIL)
		ft->used[bi / 64] &= ~(UINT64_C(1) << (bi % 64));
	f->fl_next = ft->free;
	ft->free = idx;
	ft->count--;
}

struct flow *flowtab_find_state(struct flowtab *ft, uint8_t state, uint32_t max_visits)
{
	uint32_t visits = 0;

	/* Empty buckets cost one bit each and are not counted as visits, but
	 * one lap over the table at most. */
	for (uint32_t b = 0; b <= ft->mask && visits < max_visits; b++) {
		uint32_t hand = ft->hand;

		ft->hand = (ft->hand + 1) & ft->mask;
		if (!bucket_used(ft, hand))
			continue;
		for (uint32_t i = ft->buckets[hand].head; i != NIL; i = ft->flows[i].fl_next) {
			visits++;
			if (ft->flows[i].fl_state == state)
				return &ft->flows[i];
		}
	}
	return NULL;
}

void flowtab_set_deadline(struct flowtab *ft, struct flow *f, uint64_t deadline_ms)
{
	f->fl_deadline_ms = deadline_ms;
	lower_bound(ft, &ft->buckets[bucket_of(ft, &f->fl_key)], deadline_ms);
}

/* Scans bucket b: returns a due flow, or NULL after tightening the
 * bucket's bound to its true minimum. */
static struct flow *bucket_due(struct flowtab *ft, struct bucket *b, uint64_t now_ms)
{
	uint64_t min = UINT64_MAX;

	for (uint32_t i = b->head; i != NIL; i = ft->flows[i].fl_next) {
		struct flow *f = &ft->flows[i];

		if (f->fl_deadline_ms <= now_ms)
			return f;
		if (f->fl_deadline_ms < min)
			min = f->fl_deadline_ms;
	}
	b->min_deadline = min;
	return NULL;
}

struct flow *flowtab_due(struct flowtab *ft, uint64_t now_ms)
{
	uint64_t min = UINT64_MAX;

	if (ft->min_deadline > now_ms)
		return NULL;
	/* Resume where the last call stopped: the flow returned then has
	 * been moved past now_ms or removed, so rescanning its bucket from
	 * the head terminates. */
	for (; ft->scan <= ft->mask; ft->scan++) {
		struct bucket *b = &ft->buckets[ft->scan];

		if (b->min_deadline <= now_ms) {
			struct flow *f = bucket_due(ft, b, now_ms);

			if (f)
				return f;
		}
	}
	ft->scan = 0;
	for (uint32_t i = 0; i <= ft->mask; i++)
		if (ft->buckets[i].min_deadline < min)
			min = ft->buckets[i].min_deadline;
	ft->min_deadline = min;
	return NULL;
}

uint64_t flowtab_next_deadline(const struct flowtab *ft)
{
	return ft->min_deadline;
}

uint32_t flowtab_count(const struct flowtab *ft)
{
	return ft->count;
}

size_t flowtab_memory(const struct flowtab *ft)
{
	size_t nb = (size_t)ft->mask + 1;

	return sizeof(*ft) + (size_t)ft->max * sizeof(struct flow) +
	       nb * sizeof(struct bucket) + (nb + 63) / 64 * sizeof(uint64_t);
}

void flowtab_walk(const struct flowtab *ft, void (*fn)(const struct flow *f, void *ctx),
		  void *ctx)
{
	for (uint32_t b = 0; b <= ft->mask; b++)
		for (uint32_t i = ft->buckets[b].head; i != NIL; i = ft->flows[i].fl_next)
			fn(&ft->flows[i], ctx);
}
