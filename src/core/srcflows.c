/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows per source network (srcflows.h): a hashed table of chains over
 * one array of max entries, allocated once.  An entry is a network (its
 * address with the host bits clear, and its length) and a count; it
 * exists while the count is above zero.  Each counted flow holds its
 * network's entry, so there are never more entries than counted flows
 * and the array cannot run out: the counts are exact whatever the
 * sources (the chains are keyed by SipHash under a secret, so sources
 * cannot be aimed at one chain either). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "srcflows.h"

#define NIL UINT32_MAX

struct src_entry {
	struct addr net;
	uint32_t count;
	uint32_t next;          /* chain, or free list */
	uint8_t len;
};

struct srcflows {
	uint32_t max;
	uint32_t mask;          /* buckets - 1 */
	uint32_t free;          /* free list head */
	uint8_t key[SIPHASH_KEY_LEN];
	uint32_t *bucket;
	struct src_entry *entry;
};

struct srcflows *srcflows_new(uint32_t max, const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	struct srcflows *t = calloc(1, sizeof(*t));
	uint32_t n = 1;

	if (!t || max == 0)
		goto fail;
	while (n < max && n < (1u << 30))
		n <<= 1;
	t->max = max;
	t->mask = n - 1;
	memcpy(t->key, hashkey, SIPHASH_KEY_LEN);
	t->bucket = malloc((size_t)n * sizeof(t->bucket[0]));
	t->entry = calloc(max, sizeof(t->entry[0]));
	if (!t->bucket || !t->entry)
		goto fail;
	for (uint32_t i = 0; i < n; i++)
		t->bucket[i] = NIL;
	for (uint32_t i = 0; i < max; i++)
		t->entry[i].next = i + 1 < max ? i + 1 : NIL;
	t->free = 0;
	return t;
fail:
	srcflows_free(t);
	return NULL;
}

void srcflows_free(struct srcflows *t)
{
	if (!t)
		return;
	free(t->bucket);
	free(t->entry);
	free(t);
}

size_t srcflows_memory(const struct srcflows *t)
{
	return sizeof(*t) + (size_t)(t->mask + 1) * sizeof(t->bucket[0]) +
	       (size_t)t->max * sizeof(t->entry[0]);
}

/* src with the bits past len clear. */
static struct addr network(const struct addr *src, uint8_t len)
{
	struct addr net = *src;
	unsigned full = len / 8u, rest = len % 8u;

	assert(len <= 128);
	if (full < 16) {
		net.a[full] &= (uint8_t)(0xff00u >> rest);
		memset(net.a + full + 1, 0, 15 - full);
	}
	return net;
}

static uint32_t *chain_of(const struct srcflows *t, const struct addr *net, uint8_t len)
{
	uint8_t k[sizeof(net->a) + 1];

	memcpy(k, net->a, sizeof(net->a));
	k[sizeof(net->a)] = len;
	return &t->bucket[siphash24(t->key, k, sizeof(k)) & t->mask];
}

/* The link pointing at net/len's entry (its value NIL when absent). */
static uint32_t *find(const struct srcflows *t, const struct addr *net, uint8_t len)
{
	uint32_t *link = chain_of(t, net, len);

	while (*link != NIL) {
		const struct src_entry *en = &t->entry[*link];

		if (en->len == len && addr_eq(&en->net, net))
			break;
		link = &t->entry[*link].next;
	}
	return link;
}

bool srcflows_add(struct srcflows *t, const struct addr *src, uint8_t len, uint32_t limit)
{
	struct addr net = network(src, len);
	uint32_t *link = find(t, &net, len);
	struct src_entry *en;

	if (*link != NIL) {
		en = &t->entry[*link];
		if (limit && en->count >= limit)
			return false;
		en->count++;
		return true;
	}
	assert(t->free != NIL);
	*link = t->free;
	en = &t->entry[t->free];
	t->free = en->next;
	en->net = net;
	en->len = len;
	en->count = 1;
	en->next = NIL;
	return true;
}

void srcflows_remove(struct srcflows *t, const struct addr *src, uint8_t len)
{
	struct addr net = network(src, len);
	uint32_t *link = find(t, &net, len);
	uint32_t i = *link;

	assert(i != NIL && t->entry[i].count > 0);
	if (i == NIL)
		return;
	if (--t->entry[i].count > 0)
		return;
	*link = t->entry[i].next;
	t->entry[i].next = t->free;
	t->free = i;
}

uint32_t srcflows_count(const struct srcflows *t, const struct addr *src, uint8_t len)
{
	struct addr net = network(src, len);
	uint32_t i = *find(t, &net, len);

	return i == NIL ? 0 : t->entry[i].count;
}
