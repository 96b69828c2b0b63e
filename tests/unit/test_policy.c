/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for cidrset.c and policy.c.
 *
 * Expected ranges and token counts are worked out by hand in the comments
 * next to them; the large cidrset test checks against an independent
 * linear scan (128-bit integers here, prefix_contains on a sample). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "testutil.h"

/* a + 1 or a - 1 as a 128-bit big-endian number (wrapping). */
static struct addr step(struct addr a, int dir)
{
	for (int i = 15; i >= 0; i--) {
		a.a[i] = (uint8_t)(a.a[i] + dir);
		if (a.a[i] != (dir > 0 ? 0x00 : 0xff))
			break;
	}
	return a;
}

static bool all_bytes(const struct addr *a, uint8_t v)
{
	for (int i = 0; i < 16; i++)
		if (a->a[i] != v)
			return false;
	return true;
}

/* ---- cidrset: merging and boundaries ---- */

#define MAXP 6

struct merge_case {
	const char *name;
	const char *prefixes[MAXP];     /* NULL-terminated */
	size_t nranges;
	const char *first[4];           /* inclusive bounds of each merged range */
	const char *last[4];
};

static const struct merge_case merge_cases[] = {
	{ "empty", { NULL }, 0, { NULL }, { NULL } },
	{ "one /24", { "192.0.2.0/24" }, 1, { "192.0.2.0" }, { "192.0.2.255" } },
	{ "halves of a /24 touch", { "192.0.2.128/25", "192.0.2.0/25" },
	  1, { "192.0.2.0" }, { "192.0.2.255" } },
	{ "nested and duplicate", { "10.0.0.0/8", "10.1.2.0/24", "10.0.0.0/8" },
	  1, { "10.0.0.0" }, { "10.255.255.255" } },
	{ "three adjacent, unsorted", { "192.0.4.0/24", "192.0.2.0/24", "192.0.3.0/24" },
	  1, { "192.0.2.0" }, { "192.0.4.255" } },
	{ "gap of one /24", { "192.0.4.0/24", "192.0.2.0/24" },
	  2, { "192.0.2.0", "192.0.4.0" }, { "192.0.2.255", "192.0.4.255" } },
	{ "hosts .1 .3 .2 touch", { "192.0.2.1", "192.0.2.3", "192.0.2.2" },
	  1, { "192.0.2.1" }, { "192.0.2.3" } },
	{ "hosts .1 .3 do not", { "192.0.2.3", "192.0.2.1" },
	  2, { "192.0.2.1", "192.0.2.3" }, { "192.0.2.1", "192.0.2.3" } },
	/* An IPv4 /0 is ::ffff:0:0/96, i.e. ::ffff:0.0.0.0-::ffff:255.255.255.255. */
	{ "IPv4 /0", { "0.0.0.0/0" }, 1, { "0.0.0.0" }, { "255.255.255.255" } },
	{ "IPv4 /1 halves", { "128.0.0.0/1", "0.0.0.0/1" },
	  1, { "0.0.0.0" }, { "255.255.255.255" } },
	{ "IPv6 /0", { "::/0" }, 1, { "::" }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" } },
	{ "IPv6 /0 swallows all", { "192.0.2.0/24", "::/0", "2001:db8::/32" },
	  1, { "::" }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" } },
	{ "both ends of the space", { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/128" },
	  2, { "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	  { "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" } },
	/* 7fff:...:ffff + 1 = 8000:: */
	{ "IPv6 /1 halves", { "8000::/1", "::/1" },
	  1, { "::" }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" } },
	{ "adjacent /32s", { "2001:db9::/32", "2001:db8::/32" },
	  1, { "2001:db8::" }, { "2001:db9:ffff:ffff:ffff:ffff:ffff:ffff" } },
	/* Mapped IPv4 (::ffff:...) sorts below 2001:db8::. */
	{ "IPv4 and IPv6 apart", { "2001:db8::/32", "192.0.2.0/24" },
	  2, { "192.0.2.0", "2001:db8::" },
	  { "192.0.2.255", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff" } },
	{ "nested /65 in /64", { "2001:db8:0:0:8000::/65", "2001:db8::/64" },
	  1, { "2001:db8::" }, { "2001:db8::ffff:ffff:ffff:ffff" } },
	/* 2001:db8:0:0:ffff:ffff:ffff:ffff + 1 carries into the upper 64 bits. */
	{ "touch across the 64-bit halves",
	  { "2001:db8:0:1::/64", "2001:db8:0:0:ffff:ffff:ffff:ffff/128" },
	  1, { "2001:db8:0:0:ffff:ffff:ffff:ffff" }, { "2001:db8:0:1:ffff:ffff:ffff:ffff" } },
	/* ::ffff:255.255.255.255 + 1 = ::1:0:0:0: numerically adjacent, so one
	 * range; membership is unchanged by it. */
	{ "top of IPv4 touches ::1:0:0:0", { "::1:0:0:0/128", "255.255.255.255/32" },
	  1, { "255.255.255.255" }, { "::1:0:0:0" } },
};

static void check_range_bounds(const struct cidrset *s, const char *first, const char *last)
{
	struct addr f = ad(first), l = ad(last);
	struct addr below = step(f, -1), above = step(l, +1);

	assert_true(cidrset_contains(s, &f));
	assert_true(cidrset_contains(s, &l));
	if (!all_bytes(&f, 0x00))
		assert_false(cidrset_contains(s, &below));
	if (!all_bytes(&l, 0xff))
		assert_false(cidrset_contains(s, &above));
}

/* Parses case c's prefixes into p (MAXP of room); returns how many. */
static size_t case_prefixes(const struct merge_case *c, struct prefix *p)
{
	size_t n = 0;

	print_message("case %s\n", c->name);
	while (n < MAXP && c->prefixes[n]) {
		p[n] = pfx(c->prefixes[n]);
		n++;
	}
	return n;
}

static void test_cidrset_merge(void **state)
{
	for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
		const struct merge_case *c = &merge_cases[i];
		struct prefix p[MAXP];
		struct cidrset *s;
		size_t n = case_prefixes(c, p);

		s = cidrset_new(p, n);
		assert_non_null(s);
		/* The set keeps its own copy. */
		memset(p, 0xff, sizeof(p));
		assert_int_equal(cidrset_size(s), c->nranges);
		for (size_t r = 0; r < c->nranges; r++)
			check_range_bounds(s, c->first[r], c->last[r]);
		cidrset_free(s);
	}
}

/* cidrset_prefixes gives back the fewest prefixes covering each merged
 * range: rebuilt from them, every case's set has the same ranges, and the
 * prefixes are aligned, disjoint and in address order. */
struct pfx_collect {
	struct prefix p[300];
	size_t n;
};

static void collect(const struct prefix *p, void *ctx)
{
	struct pfx_collect *c = ctx;

	assert_true(c->n < 300);
	c->p[c->n++] = *p;
}

static void test_cidrset_prefixes(void **state)
{
	/* Prefixes expected per merge case, in merge_cases order. */
	static const size_t want[] = { 0, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 1, 1, 2, 1, 2, 2 };

	assert_int_equal(sizeof(want) / sizeof(want[0]), sizeof(merge_cases) / sizeof(merge_cases[0]));
	for (size_t i = 0; i < sizeof(merge_cases) / sizeof(merge_cases[0]); i++) {
		const struct merge_case *c = &merge_cases[i];
		struct pfx_collect got = { .n = 0 };
		struct prefix p[MAXP];
		struct cidrset *s, *back;
		size_t n = case_prefixes(c, p);

		s = cidrset_new(p, n);
		assert_non_null(s);
		cidrset_prefixes(s, collect, &got);
		assert_int_equal(got.n, want[i]);
		for (size_t k = 0; k < got.n; k++) {
			struct prefix clean = got.p[k];

			/* No host bits: prefix_contains of its own address holds
			 * and the address is the range's first. */
			assert_true(prefix_contains(&clean, &clean.addr));
			if (k > 0)
				assert_true(memcmp(got.p[k - 1].addr.a, got.p[k].addr.a, 16) < 0);
		}
		back = cidrset_new(got.n ? got.p : NULL, got.n);
		assert_non_null(back);
		assert_int_equal(cidrset_size(back), c->nranges);
		for (size_t r = 0; r < c->nranges; r++)
			check_range_bounds(back, c->first[r], c->last[r]);
		cidrset_free(back);
		cidrset_free(s);
	}
}

struct probe_case {
	const char *set[3];     /* NULL-terminated */
	const char *addr;
	bool in;
};

static const struct probe_case probe_cases[] = {
	/* IPv4 sets never hold IPv6 addresses that share the low 32 bits. */
	{ { "0.0.0.0/0" }, "::", false },
	{ { "0.0.0.0/0" }, "2001:db8::c000:201", false },
	{ { "0.0.0.0/0" }, "::192.0.2.1", false },
	{ { "0.0.0.0/0" }, "::ffff:192.0.2.1", true },
	{ { "192.0.2.0/24" }, "::192.0.2.1", false },
	{ { "192.0.2.0/24" }, "64:ff9b::192.0.2.1", false },
	/* And IPv6 sets never hold IPv4 addresses, except ::/0 (and any
	 * prefix covering ::ffff:0:0/96), as prefix_contains agrees. */
	{ { "2000::/3" }, "192.0.2.1", false },
	{ { "::/96" }, "192.0.2.1", false },
	{ { "::/96" }, "::192.0.2.1", true },
	{ { "2001:db8::/32", "::/1" }, "192.0.2.1", true },
	{ { "::/0" }, "192.0.2.1", true },
	/* Empty set. */
	{ { NULL }, "::", false },
	{ { NULL }, "192.0.2.1", false },
	{ { NULL }, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
	/* Inside and between ranges of a multi-range set. */
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "10.200.1.1", true },
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "172.16.0.1", false },
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "192.0.2.77", true },
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "2001:db8:1::1", true },
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "2001:db9::1", false },
	{ { "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32" }, "::", false },
};

static void test_cidrset_probe(void **state)
{
	for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++) {
		const struct probe_case *c = &probe_cases[i];
		struct prefix p[3];
		struct addr a = ad(c->addr);
		struct cidrset *s;
		size_t n = 0;

		while (n < 3 && c->set[n]) {
			p[n] = pfx(c->set[n]);
			n++;
		}
		s = cidrset_new(n ? p : NULL, n);
		assert_non_null(s);
		if (cidrset_contains(s, &a) != c->in)
			print_message("case %s in %s...\n", c->addr, c->set[0]);
		assert_int_equal(cidrset_contains(s, &a), c->in);
		cidrset_free(s);
	}
}

static void test_cidrset_free_null(void **state)
{
	cidrset_free(NULL);
}

/* ---- cidrset against a linear scan ---- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* (Vigna, 2016) */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static unsigned __int128 to_u128(const struct addr *a)
{
	unsigned __int128 v = 0;

	for (int i = 0; i < 16; i++)
		v = (v << 8) | a->a[i];
	return v;
}

static struct addr from_u128(unsigned __int128 v)
{
	struct addr a;

	for (int i = 15; i >= 0; i--) {
		a.a[i] = (uint8_t)v;
		v >>= 8;
	}
	return a;
}

static unsigned __int128 host_bits(unsigned len)
{
	/* A shift by the full width is undefined. */
	return len >= 128 ? 0 : (~(unsigned __int128)0) >> len;
}

static unsigned __int128 rand128(uint64_t *s)
{
	return ((unsigned __int128)rng_next(s) << 64) | rng_next(s);
}

/* Prefixes crowded into a few regions of both families so that they
 * overlap and touch often. */
static struct prefix random_prefix(uint64_t *s)
{
	unsigned __int128 v = rand128(s);
	struct prefix p;
	unsigned len;

	switch (rng_next(s) % 3) {
	case 0:         /* 10.0.0.0/14, IPv4 lengths 14..32 */
		v = ((unsigned __int128)0xffff << 32) | 0x0a000000u | (v & 0x3ffff);
		len = 96 + 14 + (unsigned)(rng_next(s) % 19);
		break;
	case 1:         /* 2001:db8::/45, lengths 45..128 */
		v = ((unsigned __int128)0x20010db8u << 96) | (v & host_bits(45));
		len = 45 + (unsigned)(rng_next(s) % 84);
		break;
	default:        /* anywhere, lengths 20..128 */
		len = 20 + (unsigned)(rng_next(s) % 109);
		break;
	}
	v &= ~host_bits(len);
	p.addr = from_u128(v);
	p.len = (uint8_t)len;
	return p;
}

#define RAND_PREFIXES 10000
#define RAND_ADDRS 100000

static void test_cidrset_random(void **state)
{
	struct prefix *p = malloc(RAND_PREFIXES * sizeof(*p));
	unsigned __int128 *lo = malloc(RAND_PREFIXES * sizeof(*lo));
	unsigned __int128 *hi = malloc(RAND_PREFIXES * sizeof(*hi));
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t hits = 0;
	struct cidrset *s;

	assert_non_null(p);
	assert_non_null(lo);
	assert_non_null(hi);
	for (size_t i = 0; i < RAND_PREFIXES; i++) {
		p[i] = random_prefix(&seed);
		lo[i] = to_u128(&p[i].addr);
		hi[i] = lo[i] | host_bits(p[i].len);
	}
	s = cidrset_new(p, RAND_PREFIXES);
	assert_non_null(s);
	assert_true(cidrset_size(s) >= 1 && cidrset_size(s) < RAND_PREFIXES);

	for (size_t k = 0; k < RAND_ADDRS; k++) {
		size_t j = rng_next(&seed) % RAND_PREFIXES;
		unsigned __int128 v;
		struct prefix r;
		struct addr a;
		bool want = false;

		/* Inside a prefix, just below it, just above it, or in one of
		 * the crowded regions at random. */
		switch (k % 4) {
		case 0:
			v = lo[j] | (rand128(&seed) & host_bits(p[j].len));
			break;
		case 1:
			v = lo[j] - 1;
			break;
		case 2:
			v = hi[j] + 1;
			break;
		default:
			r = random_prefix(&seed);
			v = to_u128(&r.addr) | (rand128(&seed) & 0xff);
			break;
		}
		a = from_u128(v);
		for (size_t i = 0; i < RAND_PREFIXES && !want; i++)
			want = lo[i] <= v && v <= hi[i];
		/* The scan's own arithmetic, cross-checked on a sample. */
		if (k < 200) {
			bool pc = false;

			for (size_t i = 0; i < RAND_PREFIXES && !pc; i++)
				pc = prefix_contains(&p[i], &a);
			assert_int_equal(pc, want);
		}
		hits += want;
		assert_int_equal(cidrset_contains(s, &a), want);
	}
	/* Both outcomes were exercised in bulk. */
	assert_true(hits > RAND_ADDRS / 4 && hits < RAND_ADDRS - RAND_ADDRS / 8);
	cidrset_free(s);
	free(hi);
	free(lo);
	free(p);
}

/* ---- policy ---- */

static void add_rule(struct policy *pol, const char *dst, const uint16_t *ports,
		     unsigned nports, enum rule_action action)
{
	struct rule *r = &pol->rules[pol->nrules++];

	memset(r, 0, sizeof(*r));
	strcpy(r->name, dst);
	r->dst = pfx(dst);
	if (nports)
		memcpy(r->ports, ports, nports * sizeof(ports[0]));
	r->nports = (uint8_t)nports;
	r->action = action;
}

static struct policy *sample_policy(void)
{
	static const uint16_t web[] = { 80, 443 }, ssh[] = { 22 }, tls[] = { 443 };
	uint16_t many[RULE_MAX_PORTS];
	struct policy *pol = calloc(1, sizeof(*pol));

	assert_non_null(pol);
	for (unsigned i = 0; i < RULE_MAX_PORTS; i++)
		many[i] = (uint16_t)(1000 + i);
	add_rule(pol, "192.0.2.10/32", web, 2, RULE_PROXY);        /* 0 */
	add_rule(pol, "192.0.2.0/24", ssh, 1, RULE_DROP);          /* 1 */
	add_rule(pol, "192.0.2.0/24", NULL, 0, RULE_ACCEPT);       /* 2 */
	add_rule(pol, "2001:db8::/32", tls, 1, RULE_RESET);        /* 3 */
	add_rule(pol, "2001:db8:1::/48", NULL, 0, RULE_PROXY);     /* 4 */
	add_rule(pol, "198.51.100.0/24", many, RULE_MAX_PORTS, RULE_PROXY); /* 5 */
	add_rule(pol, "203.0.113.0/24", NULL, 0, RULE_ACCEPT);     /* 6 */
	add_rule(pol, "203.0.113.0/24", web, 2, RULE_PROXY);       /* 7 */
	add_rule(pol, "203.0.113.0/24", ssh, 1, RULE_RESET);       /* 8 */
	return pol;
}

struct match_case {
	const char *addr;
	uint16_t port;
	int rule;               /* policy_match */
	int server_rule;        /* policy_match_server with addr:port as source */
};

static const struct match_case match_cases[] = {
	{ "192.0.2.10", 80, 0, 0 },
	{ "192.0.2.10", 443, 0, 0 },
	{ "192.0.2.10", 22, 1, -1 },    /* DROP and ACCEPT are not servers */
	{ "192.0.2.10", 8080, 2, -1 },
	{ "192.0.2.10", 0, 2, -1 },
	{ "192.0.2.11", 80, 2, -1 },
	{ "192.0.2.11", 22, 1, -1 },
	{ "192.0.2.255", 65535, 2, -1 },
	{ "192.0.3.0", 80, -1, -1 },
	{ "192.0.1.255", 80, -1, -1 },
	{ "::ffff:192.0.2.10", 80, 0, 0 },
	{ "::192.0.2.10", 80, -1, -1 },         /* IPv4-compatible is IPv6 */
	{ "2001:db8::1", 443, 3, 3 },
	{ "2001:db8::1", 80, -1, -1 },
	{ "2001:db8:1::5", 443, 3, 3 },         /* the earlier rule wins */
	{ "2001:db8:1::5", 80, 4, 4 },
	{ "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 1, 4, 4 },
	{ "2001:db8:2::5", 80, -1, -1 },
	{ "2001:db9::1", 443, -1, -1 },
	{ "198.51.100.1", 1000, 5, 5 },         /* first and last of 64 ports */
	{ "198.51.100.1", 1063, 5, 5 },
	{ "198.51.100.1", 999, -1, -1 },
	{ "198.51.100.1", 1064, -1, -1 },
	/* An ACCEPT rule shadows later rules for clients, but server-side
	 * matching skips it. */
	{ "203.0.113.5", 80, 6, 7 },
	{ "203.0.113.5", 22, 6, 8 },
	{ "203.0.113.5", 25, 6, -1 },
};

static void test_policy_match(void **state)
{
	struct policy *pol = sample_policy();

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct addr a = ad(c->addr);

		if (policy_match(pol, &a, c->port) != c->rule ||
		    policy_match_server(pol, &a, c->port) != c->server_rule)
			print_message("case %s port %u\n", c->addr, c->port);
		assert_int_equal(policy_match(pol, &a, c->port), c->rule);
		assert_int_equal(policy_match_server(pol, &a, c->port), c->server_rule);
	}
	free(pol);
}

static void test_policy_empty(void **state)
{
	struct policy *pol = calloc(1, sizeof(*pol));
	struct addr a = ad("192.0.2.1");

	assert_non_null(pol);
	assert_int_equal(policy_match(pol, &a, 80), -1);
	assert_int_equal(policy_match_server(pol, &a, 80), -1);
	policy_clear(pol);
	assert_int_equal(pol->nrules, 0);
	free(pol);
}

static void test_policy_full(void **state)
{
	struct policy *pol = calloc(1, sizeof(*pol));
	struct addr a = ad("192.0.2.1");
	static const uint16_t port[] = { 80 };

	assert_non_null(pol);
	/* Only the last of POLICY_MAX_RULES rules matches. */
	for (unsigned i = 0; i + 1 < POLICY_MAX_RULES; i++)
		add_rule(pol, "192.0.2.0/24", port, 1, RULE_PROXY);
	for (unsigned i = 0; i + 1 < POLICY_MAX_RULES; i++)
		pol->rules[i].ports[0] = 81;
	add_rule(pol, "192.0.2.0/24", port, 1, RULE_RESET);
	assert_int_equal(pol->nrules, POLICY_MAX_RULES);
	assert_int_equal(policy_match(pol, &a, 80), POLICY_MAX_RULES - 1);
	assert_int_equal(policy_match_server(pol, &a, 80), POLICY_MAX_RULES - 1);
	assert_int_equal(policy_match(pol, &a, 81), 0);
	free(pol);
}

/* A rule's identity is what it matches and does: the same for the same
 * destination, ports and action whatever its other settings, different
 * when any of those three changes. */
static void test_rule_ident(void **state)
{
	struct rule a = { .dst = pfx("198.51.100.0/24"), .ports = { 80, 443 }, .nports = 2,
			  .action = RULE_RESET, .reset_pass_ms = 1000 };
	struct rule b = a;

	(void)state;
	b.reset_pass_ms = 60000;
	b.mss = 1400;
	strcpy(b.name, "other");
	assert_int_equal(rule_ident(&a), rule_ident(&b));
	b = a;
	b.ports[1] = 444;
	assert_int_not_equal(rule_ident(&a), rule_ident(&b));
	b = a;
	b.nports = 1;
	assert_int_not_equal(rule_ident(&a), rule_ident(&b));
	b = a;
	b.dst = pfx("198.51.100.0/25");
	assert_int_not_equal(rule_ident(&a), rule_ident(&b));
	b = a;
	b.action = RULE_PROXY;
	assert_int_not_equal(rule_ident(&a), rule_ident(&b));
}

static void test_policy_clear(void **state)
{
	struct policy *pol = sample_policy();
	struct prefix p[2] = { pfx("192.0.2.0/24"), pfx("2001:db8::/32") };

	pol->rules[0].allow = cidrset_new(p, 2);
	pol->rules[0].deny = cidrset_new(p, 1);
	pol->rules[3].deny = cidrset_new(NULL, 0);
	pol->rules[8].allow = cidrset_new(p + 1, 1);
	assert_non_null(pol->rules[0].allow);
	assert_non_null(pol->rules[0].deny);
	assert_non_null(pol->rules[3].deny);
	assert_non_null(pol->rules[8].allow);
	/* Leaks would be reported by the sanitizer build. */
	policy_clear(pol);
	assert_int_equal(pol->nrules, 0);
	for (unsigned i = 0; i < 9; i++) {
		assert_null(pol->rules[i].allow);
		assert_null(pol->rules[i].deny);
	}
	free(pol);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidrset_merge),
		cmocka_unit_test(test_rule_ident),
		cmocka_unit_test(test_cidrset_probe),
		cmocka_unit_test(test_cidrset_prefixes),
		cmocka_unit_test(test_cidrset_free_null),
		cmocka_unit_test(test_cidrset_random),
		cmocka_unit_test(test_policy_match),
		cmocka_unit_test(test_policy_empty),
		cmocka_unit_test(test_policy_full),
		cmocka_unit_test(test_policy_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
