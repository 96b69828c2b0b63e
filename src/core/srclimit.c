/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fixed-size tables keyed by source or backend: per-source SYN limits,
 * options learned from backends, and the RULE_RESET pass list.
 *
 * All three share one shape, chosen because an attacker picks the keys:
 * the slot count is a power of two fixed at creation, a key's set of
 * TABLE_WAYS slots is chosen by SipHash under a secret key (so sources
 * cannot be aimed at one set), and a full set gives up one of its own
 * slots.  Memory is therefore bounded and nothing is allocated after
 * *_new; a flood of new keys can only evict, never grow the table. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "policy.h"

#define TABLE_WAYS 4
#define TABLE_MIN_SLOTS 64
#define TABLE_MAX_SLOTS (1u << 30)

/* Milli-tokens per token: rates are whole tokens per second, so one
 * millisecond at rate r adds exactly r milli-tokens, with no rounding. */
#define SRCLIMIT_MILLI 1000

/* nslots rounded up to a power of two within the table limits. */
static uint32_t table_slots(uint32_t nslots)
{
	uint32_t n = TABLE_MIN_SLOTS;

	while (n < nslots && n < TABLE_MAX_SLOTS)
		n <<= 1;
	return n;
}

/* Index of the first slot of the set that data hashes to. */
static uint32_t table_set(const uint8_t key[SIPHASH_KEY_LEN], uint32_t nslots,
			  const void *data, size_t len)
{
	uint32_t nsets = nslots / TABLE_WAYS;

	return (uint32_t)(siphash24(key, data, len) & (nsets - 1)) * TABLE_WAYS;
}

/* ---- per-source limits ---- */

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

/* Sources are grouped by network because one host can hold a whole /64
 * (or, behind NAT, share a /24) and would otherwise dodge the limit. */
static struct addr source_net(const struct addr *src)
{
	struct addr net = *src;

	if (addr_is_v4(src))
		net.a[15] = 0;
	else
		memset(net.a + 8, 0, 8);
	return net;
}

/* The slot for src's network.  A lookup that only reads (touch false)
 * must not change which slot is evicted next; one that may create takes
 * the empty or least recently used slot of the set, zeroed. */
static struct src_slot *src_find(struct srclimit *t, const struct addr *src,
				 bool create, bool touch)
{
	struct addr net = source_net(src);
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

/* ---- options learned from backends ---- */

struct learned_slot {
	struct addr a;
	uint16_t port;
	uint64_t written;       /* table clock at the last put; 0: empty */
	struct learned_opts o;
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

void learned_put(struct learned *t, const struct addr *a, uint16_t port,
		 const struct learned_opts *o)
{
	struct learned_slot *set = &t->slot[learned_set(t, a, port)];
	struct learned_slot *victim = &set[0];

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].written && set[i].port == port && addr_eq(&set[i].a, a)) {
			victim = &set[i];
			break;
		}
		if (set[i].written < victim->written)
			victim = &set[i];
	}
	victim->a = *a;
	victim->port = port;
	victim->o = *o;
	victim->written = ++t->clock;
}

bool learned_get(const struct learned *t, const struct addr *a, uint16_t port,
		 struct learned_opts *o)
{
	const struct learned_slot *set = &t->slot[learned_set(t, a, port)];

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].written && set[i].port == port && addr_eq(&set[i].a, a)) {
			*o = set[i].o;
			return true;
		}
	}
	return false;
}

/* ---- RULE_RESET pass list ---- */

struct pass_slot {
	struct addr a;
	uint64_t deadline_ms;   /* passes while now_ms < deadline_ms */
	uint8_t rule;
	bool used;
};

struct passlist {
	uint32_t nslots;
	uint8_t key[SIPHASH_KEY_LEN];
	struct pass_slot slot[];
};

struct passlist *passlist_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	uint32_t n = table_slots(nslots);
	struct passlist *t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->slot[0]));

	if (!t)
		return NULL;
	t->nslots = n;
	memcpy(t->key, hashkey, SIPHASH_KEY_LEN);
	return t;
}

void passlist_free(struct passlist *t)
{
	free(t);
}

size_t passlist_memory(const struct passlist *t)
{
	return sizeof(*t) + (size_t)t->nslots * sizeof(t->slot[0]);
}

static uint32_t pass_set(const struct passlist *t, const struct addr *src, uint8_t rule)
{
	uint8_t k[sizeof(src->a) + 1];

	memcpy(k, src->a, sizeof(src->a));
	k[sizeof(src->a)] = rule;
	return table_set(t->key, t->nslots, k, sizeof(k));
}

/* An expired slot has the earliest deadline of its set, so it is reused
 * before any live one. */
void passlist_add(struct passlist *t, const struct addr *src, uint8_t rule,
		  uint64_t now_ms, uint32_t ms)
{
	struct pass_slot *set = &t->slot[pass_set(t, src, rule)];
	struct pass_slot *victim = NULL;

	for (int i = 0; i < TABLE_WAYS; i++) {
		if (set[i].used && set[i].rule == rule && addr_eq(&set[i].a, src)) {
			victim = &set[i];
			break;
		}
		if (!victim || !set[i].used ||
		    (victim->used && set[i].deadline_ms < victim->deadline_ms))
			victim = &set[i];
	}
	victim->a = *src;
	victim->rule = rule;
	victim->used = true;
	victim->deadline_ms = now_ms > UINT64_MAX - ms ? UINT64_MAX : now_ms + ms;
}

/* The deadline is exclusive: an entry added at t for ms milliseconds
 * passes from t to t + ms - 1, so ms 0 lets nothing through. */
bool passlist_check(const struct passlist *t, const struct addr *src, uint8_t rule,
		    uint64_t now_ms)
{
	const struct pass_slot *set = &t->slot[pass_set(t, src, rule)];

	for (int i = 0; i < TABLE_WAYS; i++)
		if (set[i].used && set[i].rule == rule && addr_eq(&set[i].a, src))
			return now_ms < set[i].deadline_ms;
	return false;
}
