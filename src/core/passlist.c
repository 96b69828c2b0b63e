/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The RULE_RESET pass list: sources let through for a rule until a
 * deadline, in a set-associative table whose sets give up the slot that
 * expires first (settable.h). */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "passlist.h"
#include "settable.h"

struct pass_slot {
	struct addr a;
	uint64_t deadline_ms;   /* passes while now_ms < deadline_ms */
	uint32_t rule;          /* the rule's identity (rule_ident) */
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

static uint32_t pass_set(const struct passlist *t, const struct addr *src, uint32_t rule)
{
	uint8_t k[sizeof(src->a) + 4];

	memcpy(k, src->a, sizeof(src->a));
	put_be32(k + sizeof(src->a), rule);
	return table_set(t->key, t->nslots, k, sizeof(k));
}

/* An expired slot has the earliest deadline of its set, so it is reused
 * before any live one. */
void passlist_add(struct passlist *t, const struct addr *src, uint32_t rule,
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
bool passlist_check(const struct passlist *t, const struct addr *src, uint32_t rule,
		    uint64_t now_ms)
{
	const struct pass_slot *set = &t->slot[pass_set(t, src, rule)];

	for (int i = 0; i < TABLE_WAYS; i++)
		if (set[i].used && set[i].rule == rule && addr_eq(&set[i].a, src))
			return now_ms < set[i].deadline_ms;
	return false;
}
