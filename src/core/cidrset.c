/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CIDR sets as sorted, disjoint ranges of 128-bit values.
 *
 * Every prefix, IPv4 (mapped) or IPv6, is one inclusive range [lo, hi] of
 * the 128-bit address space.  Once sorted and merged (overlapping or
 * touching ranges become one), a lookup is a binary search for the last
 * range starting at or below the address.  The two families cannot be
 * confused because a mapped IPv4 address is a distinct 128-bit value;
 * only a prefix that covers ::ffff:0:0/96 (such as ::/0) spans both. */
#include <assert.h>
#include <stdlib.h>

#include "bytes.h"
#include "cidrset.h"

/* A 128-bit value as two host-order halves, compared hi first. */
struct u128 {
	uint64_t hi;
	uint64_t lo;
};

struct range {
	struct u128 first;
	struct u128 last;
};

struct cidrset {
	size_t n;
	struct range r[];
};

static uint64_t load_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

static struct u128 from_addr(const struct addr *a)
{
	struct u128 v = { load_be64(a->a), load_be64(a->a + 8) };

	return v;
}

static int u128_cmp(struct u128 x, struct u128 y)
{
	if (x.hi != y.hi)
		return x.hi < y.hi ? -1 : 1;
	if (x.lo != y.lo)
		return x.lo < y.lo ? -1 : 1;
	return 0;
}

static bool u128_is_max(struct u128 x)
{
	return x.hi == UINT64_MAX && x.lo == UINT64_MAX;
}

static struct u128 u128_inc(struct u128 x)
{
	x.lo++;
	if (x.lo == 0)
		x.hi++;
	return x;
}

/* Bits past len set, the first len clear.  Shifts by 64 are undefined in
 * C, so each half is handled on its own. */
static struct u128 host_mask(unsigned len)
{
	struct u128 m;

	if (len >= 64) {
		m.hi = 0;
		m.lo = len == 128 ? 0 : UINT64_MAX >> (len - 64);
	} else {
		m.hi = len == 0 ? UINT64_MAX : UINT64_MAX >> len;
		m.lo = UINT64_MAX;
	}
	return m;
}

/* Expects p->len <= 128.  Host bits are cleared here too, so a prefix
 * built by hand with stray host bits still covers exactly its network. */
static struct range to_range(const struct prefix *p)
{
	struct u128 v = from_addr(&p->addr), m;
	struct range r;

	assert(p->len <= 128);
	m = host_mask(p->len);
	r.first.hi = v.hi & ~m.hi;
	r.first.lo = v.lo & ~m.lo;
	r.last.hi = v.hi | m.hi;
	r.last.lo = v.lo | m.lo;
	return r;
}

static int range_cmp(const void *x, const void *y)
{
	const struct range *a = x, *b = y;

	return u128_cmp(a->first, b->first);
}

/* Expects p to point at n prefixes (may be NULL when n is 0). */
struct cidrset *cidrset_new(const struct prefix *p, size_t n)
{
	struct cidrset *s;
	size_t out = 0;

	assert(p || n == 0);
	if (n > (SIZE_MAX - sizeof(*s)) / sizeof(s->r[0]))
		return NULL;
	s = malloc(sizeof(*s) + n * sizeof(s->r[0]));
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s->r[i] = to_range(&p[i]);
	if (n > 1)
		qsort(s->r, n, sizeof(s->r[0]), range_cmp);
	/* Sorted by start, a range joins the previous one when it starts no
	 * later than one past the previous end; nothing follows a range that
	 * reaches the top of the space. */
	for (size_t i = 0; i < n; i++) {
		struct range *prev = out ? &s->r[out - 1] : NULL;

		if (prev && (u128_is_max(prev->last) ||
			     u128_cmp(s->r[i].first, u128_inc(prev->last)) <= 0)) {
			if (u128_cmp(s->r[i].last, prev->last) > 0)
				prev->last = s->r[i].last;
			continue;
		}
		s->r[out++] = s->r[i];
	}
	s->n = out;
	return s;
}

void cidrset_free(struct cidrset *s)
{
	free(s);
}

/* Expects a set from cidrset_new. */
bool cidrset_contains(const struct cidrset *s, const struct addr *a)
{
	struct u128 v = from_addr(a);
	size_t lo = 0, hi;

	assert(s && a);
	hi = s->n;
	/* Find the number of ranges starting at or below v. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (u128_cmp(s->r[mid].first, v) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && u128_cmp(v, s->r[lo - 1].last) <= 0;
}

static void to_addr(struct u128 v, struct addr *a)
{
	put_be32(a->a, (uint32_t)(v.hi >> 32));
	put_be32(a->a + 4, (uint32_t)v.hi);
	put_be32(a->a + 8, (uint32_t)(v.lo >> 32));
	put_be32(a->a + 12, (uint32_t)v.lo);
}

/* Whether the block of 2^(128 - len) values from v is aligned (v has no
 * bit set past len) and ends at or below last. */
static bool block_fits(struct u128 v, unsigned len, struct u128 last)
{
	struct u128 m = host_mask(len), end;

	if ((v.hi & m.hi) || (v.lo & m.lo))
		return false;
	end.hi = v.hi | m.hi;
	end.lo = v.lo | m.lo;
	return u128_cmp(end, last) <= 0;
}

/* Each range is cut into the fewest aligned blocks (at most 254): from its
 * start, the largest block that is aligned there and stays inside. */
void cidrset_prefixes(const struct cidrset *s, void (*fn)(const struct prefix *p, void *ctx),
		      void *ctx)
{
	assert(s && fn);
	for (size_t i = 0; i < s->n; i++) {
		struct u128 v = s->r[i].first, last = s->r[i].last;

		for (;;) {
			struct prefix p;
			unsigned len = 0;
			struct u128 m;

			while (!block_fits(v, len, last))
				len++;
			to_addr(v, &p.addr);
			p.len = (uint8_t)len;
			fn(&p, ctx);
			m = host_mask(len);
			v.hi |= m.hi;
			v.lo |= m.lo;
			if (u128_cmp(v, last) >= 0)
				break;
			v = u128_inc(v);
		}
	}
}

size_t cidrset_size(const struct cidrset *s)
{
	assert(s);
	return s->n;
}
