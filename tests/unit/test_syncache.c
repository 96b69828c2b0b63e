/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "syncache.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t hkey[SIPHASH_KEY_LEN] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

static struct conn_key key_v4(const uint8_t c[4], uint16_t cport, const uint8_t s[4],
			      uint16_t sport)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	addr_from_v4(&k.caddr, c);
	addr_from_v4(&k.saddr, s);
	k.cport = cport;
	k.sport = sport;
	return k;
}

static struct conn_key key_v6(const uint8_t c[16], uint16_t cport, const uint8_t s[16],
			      uint16_t sport)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	addr_from_v6(&k.caddr, c);
	addr_from_v6(&k.saddr, s);
	k.cport = cport;
	k.sport = sport;
	return k;
}

/* A distinct IPv4 key per n: client 10.x.y.z:(n & 0xffff) to 192.0.2.1:80. */
static struct conn_key key_n(uint32_t n)
{
	const uint8_t c[4] = { 10, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8) };
	const uint8_t s[4] = { 192, 0, 2, 1 };

	return key_v4(c, (uint16_t)(1024 + (n & 0xff)), s, 80);
}

static struct syn_state state_for(const struct conn_key *k, uint32_t n)
{
	struct syn_state s;

	memset(&s, 0, sizeof(s));
	s.key = *k;
	s.irs = 0x10000000u + n;
	s.iss = 0xf0000000u - n;
	s.tsval = n * 7;
	s.mss = 1460;
	s.win = 64240;
	s.wscale = 7;
	s.flags = SS_WSCALE | SS_SACK | SS_TS;
	s.our_ws = (uint8_t)(n % 15);
	s.retries = 5;    /* insert must reset it */
	return s;
}

static struct syncache_limits limits(uint32_t buckets, uint32_t blimit, uint32_t max,
				     uint8_t retries, uint32_t rto)
{
	struct syncache_limits l = {
		.buckets = buckets, .bucket_limit = blimit, .max_entries = max,
		.retries = retries, .rto_ms = rto,
	};
	return l;
}

/* The row a key lands in, per the layout documented in syncache.c. */
static uint32_t row_of(const struct conn_key *k, uint32_t buckets)
{
	return (uint32_t)(siphash24(hkey, k, sizeof(*k)) & (buckets - 1));
}

static void assert_same_state(const struct syn_state *a, const struct syn_state *b)
{
	assert_true(conn_key_eq(&a->key, &b->key));
	assert_int_equal(a->irs, b->irs);
	assert_int_equal(a->iss, b->iss);
	assert_int_equal(a->tsval, b->tsval);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->win, b->win);
	assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->our_ws, b->our_ws);
}

static void test_entry_size(void **state)
{
	assert_int_equal(syncache_entry_size(), 64);
}

static void test_new_validates_limits(void **state)
{
	static const struct {
		struct syncache_limits lim;
		bool ok;
	} cases[] = {
		{ { 1, 1, 1, 3, 1000 }, true },
		{ { 1024, 16, 8192, 3, 1000 }, true },
		{ { 2, 4, 4, 0, 1 }, true },             /* no retransmission at all */
		{ { 1u << 20, 1, 1, 3, 1000 }, true },   /* more rows than entries is fine */
		{ { 0, 4, 16, 3, 1000 }, false },        /* no rows */
		{ { 3, 4, 16, 3, 1000 }, false },        /* not a power of two */
		{ { 6, 4, 16, 3, 1000 }, false },
		{ { 1000, 4, 16, 3, 1000 }, false },
		{ { 0x80000001u, 4, 16, 3, 1000 }, false },
		{ { 4, 0, 16, 3, 1000 }, false },        /* zero row limit */
		{ { 4, 4, 0, 3, 1000 }, false },         /* zero total */
		{ { 4, 17, 16, 3, 1000 }, false },       /* row limit above total */
		{ { 4, 4, UINT32_MAX, 3, 1000 }, false },/* total collides with the list end */
		{ { 4, 4, 16, 3, 0 }, false },           /* zero rto */
		/* 1000 << 20 = 1048576000 <= 2^30 = 1073741824: accepted;
		 * 1000 << 21 = 2097152000 > 2^30: refused. */
		{ { 4, 4, 16, 20, 1000 }, true },
		{ { 4, 4, 16, 21, 1000 }, false },
		{ { 4, 4, 16, 30, 1 }, true },           /* 1 << 30 exactly */
		{ { 4, 4, 16, 31, 1 }, false },
		{ { 4, 4, 16, 255, 1 }, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct syncache *sc = syncache_new(&cases[i].lim, hkey);

		if (cases[i].ok != (sc != NULL))
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "accept" : "reject");
		if (sc) {
			assert_int_equal(syncache_count(sc), 0);
			assert_true(syncache_next_deadline(sc) == UINT64_MAX);
		}
		syncache_free(sc);
	}
}

static const uint8_t v4a[4] = { 198, 51, 100, 7 }, v4s[4] = { 192, 0, 2, 1 };
static const uint8_t v6a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 };
static const uint8_t v6s[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void test_roundtrip(void **state)
{
	struct syncache_limits l = limits(64, 8, 64, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	uint8_t c4[4], c6[16], s6[16];
	struct conn_key keys[8];
	struct syn_state out;

	/* The base keys and variants differing in exactly one port or one
	 * address byte: all must be distinct entries. */
	keys[0] = key_v4(v4a, 40000, v4s, 443);
	keys[1] = key_v4(v4a, 40001, v4s, 443);
	keys[2] = key_v4(v4a, 40000, v4s, 444);
	memcpy(c4, v4a, 4);
	c4[3] ^= 1;
	keys[3] = key_v4(c4, 40000, v4s, 443);
	keys[4] = key_v6(v6a, 40000, v6s, 443);
	memcpy(c6, v6a, 16);
	c6[0] ^= 0x80;
	keys[5] = key_v6(c6, 40000, v6s, 443);
	memcpy(s6, v6s, 16);
	s6[9] = 1;
	keys[6] = key_v6(v6a, 40000, s6, 443);
	/* The IPv4 base seen as a native IPv6 key (no ::ffff: mapping). */
	memset(c6, 0, 16);
	memcpy(c6 + 12, v4a, 4);
	memset(s6, 0, 16);
	memcpy(s6 + 12, v4s, 4);
	keys[7] = key_v6(c6, 40000, s6, 443);

	assert_non_null(sc);
	for (uint32_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct syn_state s = state_for(&keys[i], i);
		const struct syn_state *got;

		/* Before insertion every variant is missing. */
		assert_null(syncache_lookup(sc, &keys[i]));
		assert_int_equal(syncache_insert(sc, &s, 5000, false, NULL), SC_INSERTED);
		assert_int_equal(syncache_count(sc), i + 1);
		got = syncache_lookup(sc, &keys[i]);
		assert_non_null(got);
		assert_same_state(got, &s);
		assert_int_equal(got->retries, 0);
	}
	for (uint32_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct syn_state s = state_for(&keys[i], i);

		assert_true(syncache_remove(sc, &keys[i], &out));
		assert_same_state(&out, &s);
		assert_null(syncache_lookup(sc, &keys[i]));
		assert_false(syncache_remove(sc, &keys[i], NULL));
		/* The other entries are untouched. */
		for (uint32_t j = i + 1; j < ARRAY_SIZE(keys); j++)
			assert_non_null(syncache_lookup(sc, &keys[j]));
	}
	assert_int_equal(syncache_count(sc), 0);
	assert_true(syncache_next_deadline(sc) == UINT64_MAX);
	syncache_free(sc);
}

/* Inserting a key already present replaces the entry, keeps the count and
 * makes it the newest of its row. */
static void test_reinsert_replaces(void **state)
{
	struct syncache_limits l = limits(1, 3, 3, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct conn_key k[4] = { key_n(1), key_n(2), key_n(3), key_n(4) };
	struct syn_state s, ev;

	assert_non_null(sc);
	for (int i = 0; i < 3; i++) {
		s = state_for(&k[i], (uint32_t)i);
		assert_int_equal(syncache_insert(sc, &s, 0, false, NULL), SC_INSERTED);
	}
	s = state_for(&k[0], 99);
	assert_int_equal(syncache_insert(sc, &s, 10, false, NULL), SC_INSERTED);
	assert_int_equal(syncache_count(sc), 3);
	assert_int_equal(syncache_lookup(sc, &k[0])->irs, s.irs);
	/* k[0] is now the newest, so k[1] is the oldest. */
	s = state_for(&k[3], 3);
	assert_int_equal(syncache_insert(sc, &s, 20, true, &ev), SC_EVICTED);
	assert_true(conn_key_eq(&ev.key, &k[1]));
	assert_non_null(syncache_lookup(sc, &k[0]));
	syncache_free(sc);
}

/* One row (buckets = 1) forces every key to collide. */
static void test_bucket_limit_evicts_oldest(void **state)
{
	struct syncache_limits l = limits(1, 3, 16, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct syn_state s, ev;

	assert_non_null(sc);
	for (uint32_t i = 0; i < 3; i++) {
		struct conn_key k = key_n(i);

		s = state_for(&k, i);
		assert_int_equal(syncache_insert(sc, &s, 100 + i, true, &ev), SC_INSERTED);
	}
	/* Full row without eviction: refused, nothing changes. */
	{
		struct conn_key k = key_n(50);

		s = state_for(&k, 50);
		memset(&ev, 0xa5, sizeof(ev));
		assert_int_equal(syncache_insert(sc, &s, 200, false, &ev), SC_FULL);
		assert_null(syncache_lookup(sc, &k));
		assert_int_equal(syncache_count(sc), 3);
		for (uint32_t i = 0; i < 3; i++) {
			struct conn_key ki = key_n(i);

			assert_non_null(syncache_lookup(sc, &ki));
		}
	}
	/* With eviction, keys 0, 1, 2, 3, ... leave in insertion order. */
	for (uint32_t i = 3; i < 10; i++) {
		struct conn_key k = key_n(i), gone = key_n(i - 3);
		struct syn_state want = state_for(&gone, i - 3);

		s = state_for(&k, i);
		assert_int_equal(syncache_insert(sc, &s, 300 + i, true, &ev), SC_EVICTED);
		assert_same_state(&ev, &want);
		assert_null(syncache_lookup(sc, &gone));
		assert_non_null(syncache_lookup(sc, &k));
		assert_int_equal(syncache_count(sc), 3);
	}
	/* evicted may be NULL. */
	{
		struct conn_key k = key_n(10), gone = key_n(7);

		s = state_for(&k, 10);
		assert_int_equal(syncache_insert(sc, &s, 400, true, NULL), SC_EVICTED);
		assert_null(syncache_lookup(sc, &gone));
	}
	syncache_free(sc);
}

static void test_total_limit(void **state)
{
	const uint32_t rows = 16;
	struct syncache_limits l = limits(rows, 4, 4, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	uint32_t used[16] = { 0 }, n = 0, shared = UINT32_MAX, lonely = UINT32_MAX;
	struct conn_key first[16];
	struct syn_state s, ev;

	assert_non_null(sc);
	/* Fill the table with 4 keys, remembering each row's oldest. */
	for (uint32_t i = 0; syncache_count(sc) < 4; i++) {
		struct conn_key k = key_n(i);
		uint32_t r = row_of(&k, rows);

		if (used[r] == 0)
			first[r] = k;
		used[r]++;
		s = state_for(&k, i);
		assert_int_equal(syncache_insert(sc, &s, 0, false, NULL), SC_INSERTED);
		n = i + 1;
	}
	/* Find a fresh key that shares a used row and one whose row is empty. */
	for (uint32_t i = n; shared == UINT32_MAX || lonely == UINT32_MAX; i++) {
		struct conn_key k = key_n(i);

		if (used[row_of(&k, rows)])
			shared = shared == UINT32_MAX ? i : shared;
		else
			lonely = lonely == UINT32_MAX ? i : lonely;
	}
	{
		struct conn_key ks = key_n(shared), kl = key_n(lonely);

		s = state_for(&ks, shared);
		assert_int_equal(syncache_insert(sc, &s, 1, false, &ev), SC_FULL);
		s = state_for(&kl, lonely);
		assert_int_equal(syncache_insert(sc, &s, 1, false, &ev), SC_FULL);
		/* Eviction cannot help a row that holds nothing. */
		assert_int_equal(syncache_insert(sc, &s, 1, true, &ev), SC_FULL);
		assert_null(syncache_lookup(sc, &kl));
		assert_int_equal(syncache_count(sc), 4);
		/* A used row gives up its oldest. */
		s = state_for(&ks, shared);
		assert_int_equal(syncache_insert(sc, &s, 1, true, &ev), SC_EVICTED);
		assert_true(conn_key_eq(&ev.key, &first[row_of(&ks, rows)]));
		assert_non_null(syncache_lookup(sc, &ks));
		assert_int_equal(syncache_count(sc), 4);
		/* Removing one makes room again. */
		assert_true(syncache_remove(sc, &ks, NULL));
		s = state_for(&kl, lonely);
		assert_int_equal(syncache_insert(sc, &s, 2, false, NULL), SC_INSERTED);
		assert_int_equal(syncache_count(sc), 4);
	}
	syncache_free(sc);
}

static void test_free_list_reuse(void **state)
{
	const uint32_t max = 8;
	struct syncache_limits l = limits(4, 8, max, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	uint32_t n = 0;

	assert_non_null(sc);
	/* Single insert/remove pairs, max * 10 of them. */
	for (uint32_t i = 0; i < max * 10; i++) {
		struct conn_key k = key_n(n++);
		struct syn_state s = state_for(&k, i);

		assert_int_equal(syncache_insert(sc, &s, i, false, NULL), SC_INSERTED);
		assert_true(syncache_remove(sc, &k, NULL));
		assert_int_equal(syncache_count(sc), 0);
	}
	/* Fill and drain completely, 10 times, removing in a scrambled order:
	 * a leaked slot would make a later fill fail. */
	for (uint32_t round = 0; round < 10; round++) {
		uint32_t base = n;

		for (uint32_t i = 0; i < max; i++) {
			struct conn_key k = key_n(n++);
			struct syn_state s = state_for(&k, i);
			enum sc_insert r = syncache_insert(sc, &s, round, false, NULL);

			/* Rows hold at most 8 = max, so only the total can bind. */
			assert_int_equal(r, SC_INSERTED);
		}
		assert_int_equal(syncache_count(sc), max);
		for (uint32_t i = 0; i < max; i++) {
			struct conn_key k = key_n(base + (i * 3 + round) % max);

			assert_true(syncache_remove(sc, &k, NULL));
		}
		assert_int_equal(syncache_count(sc), 0);
	}
	syncache_free(sc);
}

/* With rto R = 1000 and 3 retries, an entry inserted at t is due at
 * t + 1000 (first timeout R), then after 2R = 2000 more at t + 3000, after
 * 4R = 4000 more at t + 7000 (third retransmission), and after 8R = 8000
 * more expires at t + 15000. */
static const struct {
	uint32_t at;          /* ms after insertion */
	enum sc_event ev;
	uint8_t retries;      /* in the reported state */
	uint64_t next;        /* next deadline after the report, relative; 0: none */
} schedule[] = {
	{ 1000, SC_RETRANSMIT, 1, 3000 },
	{ 3000, SC_RETRANSMIT, 2, 7000 },
	{ 7000, SC_RETRANSMIT, 3, 15000 },
	{ 15000, SC_EXPIRED, 3, 0 },
};

static void test_retransmit_schedule(void **state)
{
	/* Start times on both sides of 2^31 and 2^32 and past 2^32, so that
	 * every deadline also crosses the 32-bit wrap somewhere. */
	static const uint64_t starts[] = {
		0, 12345, (1ull << 31) - 5000, (1ull << 32) - 2500, (1ull << 32) - 1,
		(1ull << 32) + 7, 5ull * (1ull << 32) - 14000,
	};
	struct syncache_limits l = limits(4, 4, 4, 3, 1000);

	for (size_t si = 0; si < ARRAY_SIZE(starts); si++) {
		struct syncache *sc = syncache_new(&l, hkey);
		uint64_t t = starts[si];
		struct conn_key k = key_v6(v6a, 5555, v6s, 80);
		struct syn_state s = state_for(&k, 1), out[2];
		enum sc_event ev[2];
		size_t next = 0;

		assert_non_null(sc);
		assert_int_equal(syncache_insert(sc, &s, t, false, NULL), SC_INSERTED);
		assert_true(syncache_next_deadline(sc) == t + 1000);
		for (uint64_t now = t; now <= t + 16000; now++) {
			size_t got = syncache_due(sc, now, false, out, ev, 2);

			if (next < ARRAY_SIZE(schedule) && now == t + schedule[next].at) {
				if (got != 1)
					fail_msg("start %zu: nothing at +%u", si, schedule[next].at);
				assert_int_equal(ev[0], schedule[next].ev);
				assert_int_equal(out[0].retries, schedule[next].retries);
				assert_same_state(&out[0], &s);
				if (schedule[next].next)
					assert_true(syncache_next_deadline(sc) ==
						    t + schedule[next].next);
				else
					assert_true(syncache_next_deadline(sc) == UINT64_MAX);
				next++;
			} else if (got != 0) {
				fail_msg("start %zu: unexpected report at +%llu", si,
					 (unsigned long long)(now - t));
			}
		}
		assert_int_equal(next, ARRAY_SIZE(schedule));
		assert_int_equal(syncache_count(sc), 0);
		assert_null(syncache_lookup(sc, &k));
		syncache_free(sc);
	}
}

/* retries = 0: no retransmission, expiry one rto after insertion. */
static void test_zero_retries(void **state)
{
	struct syncache_limits l = limits(2, 2, 2, 0, 500);
	struct syncache *sc = syncache_new(&l, hkey);
	struct conn_key k = key_n(9);
	struct syn_state s = state_for(&k, 9), out;
	enum sc_event ev;

	assert_non_null(sc);
	assert_int_equal(syncache_insert(sc, &s, 1000, false, NULL), SC_INSERTED);
	assert_int_equal(syncache_due(sc, 1499, false, &out, &ev, 1), 0);
	assert_int_equal(syncache_due(sc, 1500, false, &out, &ev, 1), 1);
	assert_int_equal(ev, SC_EXPIRED);
	assert_int_equal(out.retries, 0);
	assert_int_equal(syncache_count(sc), 0);
	syncache_free(sc);
}

static void test_touch_resets_schedule(void **state)
{
	struct syncache_limits l = limits(8, 4, 8, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct conn_key k = key_n(77), missing = key_n(78);
	struct syn_state s = state_for(&k, 77), out;
	enum sc_event ev;
	const uint64_t t = 50000;

	assert_non_null(sc);
	assert_false(syncache_touch(sc, &missing, t));
	assert_int_equal(syncache_insert(sc, &s, t, false, NULL), SC_INSERTED);
	assert_int_equal(syncache_due(sc, t + 1000, false, &out, &ev, 1), 1);
	assert_int_equal(out.retries, 1);
	/* Duplicate SYN at t + 1500: next retransmission one rto later
	 * (t + 2500) instead of t + 3000, with the count back at zero. */
	assert_true(syncache_touch(sc, &k, t + 1500));
	assert_int_equal(syncache_lookup(sc, &k)->retries, 0);
	assert_true(syncache_next_deadline(sc) <= t + 2500);
	assert_int_equal(syncache_due(sc, t + 2499, false, &out, &ev, 1), 0);
	assert_int_equal(syncache_due(sc, t + 2500, false, &out, &ev, 1), 1);
	assert_int_equal(ev, SC_RETRANSMIT);
	assert_int_equal(out.retries, 1);
	/* Then the usual doubling: t + 2500 + 2000. */
	assert_true(syncache_next_deadline(sc) == t + 4500);
	assert_int_equal(syncache_due(sc, t + 4499, false, &out, &ev, 1), 0);
	assert_int_equal(syncache_due(sc, t + 4500, false, &out, &ev, 1), 1);
	assert_int_equal(out.retries, 2);
	syncache_free(sc);
}

static void test_due_max1_progress(void **state)
{
	const uint32_t n = 100;
	struct syncache_limits l = limits(8, 64, 128, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	uint8_t seen[100];
	struct syn_state out;
	enum sc_event ev;

	assert_non_null(sc);
	for (uint32_t i = 0; i < n; i++) {
		struct conn_key k = key_n(i);
		struct syn_state s = state_for(&k, i);

		assert_int_equal(syncache_insert(sc, &s, 0, false, NULL), SC_INSERTED);
	}
	/* Each round: every entry reported exactly once, one per call, and
	 * the call after the last returns 0. */
	for (uint32_t round = 1; round <= 4; round++) {
		/* Due times 1000, 3000, 7000, 15000 (see schedule above). */
		uint64_t now = 1000ull * ((1u << round) - 1);
		uint32_t calls = 0;

		memset(seen, 0, sizeof(seen));
		while (syncache_due(sc, now, false, &out, &ev, 1) == 1) {
			uint32_t i = out.irs - 0x10000000u;

			assert_true(i < n);
			assert_int_equal(seen[i], 0);
			seen[i] = 1;
			assert_int_equal(ev, round < 4 ? SC_RETRANSMIT : SC_EXPIRED);
			assert_int_equal(out.retries, round < 4 ? round : 3);
			assert_true(++calls <= n);
		}
		assert_int_equal(calls, n);
		assert_int_equal(syncache_due(sc, now, false, &out, &ev, 1), 0);
	}
	assert_int_equal(syncache_count(sc), 0);
	syncache_free(sc);
}

/* A max that fills up in the middle of a row, with larger batches. */
static void test_due_batches(void **state)
{
	struct syncache_limits l = limits(1, 32, 32, 1, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct syn_state out[7];
	enum sc_event ev[7];
	uint32_t total = 0;
	size_t got;

	assert_non_null(sc);
	for (uint32_t i = 0; i < 30; i++) {
		struct conn_key k = key_n(i);
		struct syn_state s = state_for(&k, i);

		/* Half due at 1000, half at 1010. */
		assert_int_equal(syncache_insert(sc, &s, i % 2 ? 10 : 0, false, NULL),
				 SC_INSERTED);
	}
	do {
		got = syncache_due(sc, 1000, false, out, ev, 7);
		total += got;
	} while (got == 7);
	assert_int_equal(total, 15);
	assert_true(syncache_next_deadline(sc) == 1010);
	total = 0;
	do {
		got = syncache_due(sc, 1010, false, out, ev, 7);
		total += got;
	} while (got == 7);
	assert_int_equal(total, 15);
	/* 1000 + 2000 and 1010 + 2000. */
	assert_true(syncache_next_deadline(sc) == 3000);
	assert_int_equal(syncache_due(sc, 1010, false, out, ev, 0), 0);
	syncache_free(sc);
}

struct walk_rec {
	uint32_t n;
	struct conn_key key[4];
	uint64_t deadline[4];
};

static void walk_fn(const struct syn_state *s, uint64_t deadline_ms, void *ctx)
{
	struct walk_rec *w = ctx;

	assert_true(w->n < 4);
	w->key[w->n] = s->key;
	w->deadline[w->n++] = deadline_ms;
}

/* Deadlines just past 2^32 ms, seen by next_deadline and walk as full
 * 64-bit times. */
static void test_wrap_and_walk(void **state)
{
	struct syncache_limits l = limits(1, 4, 4, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	const uint64_t t = (1ull << 32) - 300;
	struct walk_rec w;
	struct syn_state out;
	enum sc_event ev;

	assert_non_null(sc);
	for (uint32_t i = 0; i < 3; i++) {
		struct conn_key k = key_n(i);
		struct syn_state s = state_for(&k, i);

		assert_int_equal(syncache_insert(sc, &s, t + 100 * i, false, NULL),
				 SC_INSERTED);
	}
	/* Deadlines 2^32 + 700, + 800, + 900: the 32-bit values 700, 800, 900
	 * are numerically smaller than the insertion times. */
	assert_true(syncache_next_deadline(sc) == (1ull << 32) + 700);
	assert_int_equal(syncache_due(sc, (1ull << 32) + 699, false, &out, &ev, 1), 0);
	memset(&w, 0, sizeof(w));
	syncache_walk(sc, walk_fn, &w);
	assert_int_equal(w.n, 3);
	for (uint32_t i = 0; i < 3; i++) {
		struct conn_key k = key_n(i);

		assert_true(conn_key_eq(&w.key[i], &k));
		assert_true(w.deadline[i] == (1ull << 32) + 700 + 100 * i);
	}
	assert_int_equal(syncache_due(sc, (1ull << 32) + 700, false, &out, &ev, 1), 1);
	{
		struct conn_key k0 = key_n(0);

		assert_true(conn_key_eq(&out.key, &k0));
	}
	/* Entry 0's next deadline: 2^32 + 700 + 2000; the row bound is now
	 * entry 1's 2^32 + 800. */
	assert_true(syncache_next_deadline(sc) == (1ull << 32) + 800);
	memset(&w, 0, sizeof(w));
	syncache_walk(sc, walk_fn, &w);
	assert_true(w.deadline[0] == (1ull << 32) + 2700);
	/* A later insertion with no timer call in between leaves entries 1
	 * and 2 overdue: walk still reports their true, past, deadlines. */
	{
		struct conn_key k = key_n(3);
		struct syn_state s = state_for(&k, 3);

		assert_int_equal(syncache_insert(sc, &s, (1ull << 32) + 5000, false, NULL),
				 SC_INSERTED);
	}
	memset(&w, 0, sizeof(w));
	syncache_walk(sc, walk_fn, &w);
	assert_int_equal(w.n, 4);
	assert_true(w.deadline[1] == (1ull << 32) + 800);
	assert_true(w.deadline[2] == (1ull << 32) + 900);
	assert_true(w.deadline[3] == (1ull << 32) + 6000);
	syncache_free(sc);
}

/* Three keys, the j-th in row want[j] of a 4-row cache (the first keys
 * of key_n that fit), inserted at 0, 0 and 1 with an rto of 1 s: calls
 * taking one report each must return them in that order. */
static void check_due_order(const uint32_t want[3])
{
	const uint32_t rows = 4;
	struct syncache_limits l = limits(rows, 4, 16, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct conn_key k[3];
	struct syn_state s, out;
	enum sc_event ev;
	int found = 0;

	assert_non_null(sc);
	for (uint32_t i = 0; found != 7; i++) {
		struct conn_key n = key_n(i);
		uint32_t r = row_of(&n, rows);

		for (int j = 0; j < 3; j++) {
			if (!(found & (1 << j)) && r == want[j]) {
				k[j] = n;
				found |= 1 << j;
				break;
			}
		}
	}
	for (int j = 0; j < 3; j++) {
		s = state_for(&k[j], (uint32_t)j + 1);
		assert_int_equal(syncache_insert(sc, &s, j == 2, false, NULL), SC_INSERTED);
	}
	for (int j = 0; j < 3; j++) {
		assert_int_equal(syncache_due(sc, j ? 1001 : 1000, false, &out, &ev, 1), 1);
		assert_true(conn_key_eq(&out.key, &k[j]));
	}
	assert_int_equal(syncache_due(sc, 1001, false, &out, &ev, 1), 0);
	syncache_free(sc);
}

/* A caller taking one report per call reaches every row in turn: after a
 * report from row 0 the next call continues at row 1, even when row 0 has
 * meanwhile got another entry due. */
static void test_due_round_robin(void **state)
{
	static const uint32_t rows[3] = { 0, 2, 0 };

	check_due_order(rows);
}

/* Two entries sharing a row, one due just before the 32-bit wrap and one
 * due after it: scanning the row for the first must not take the second
 * (32-bit deadline 500) as due at 32-bit time 2^32 - 1000. */
static void test_wrap_same_row(void **state)
{
	struct syncache_limits l = limits(1, 4, 4, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	const uint64_t w = 1ull << 32;
	struct conn_key a = key_n(1), b = key_n(2);
	struct syn_state s, out[2];
	enum sc_event ev[2];

	assert_non_null(sc);
	s = state_for(&a, 1);
	assert_int_equal(syncache_insert(sc, &s, w - 2000, false, NULL), SC_INSERTED);
	s = state_for(&b, 2);
	assert_int_equal(syncache_insert(sc, &s, w - 500, false, NULL), SC_INSERTED);
	assert_int_equal(syncache_due(sc, w - 1000, false, out, ev, 2), 1);
	assert_true(conn_key_eq(&out[0].key, &a));
	/* a next at w - 1000 + 2000 = w + 1000; b at w + 500. */
	assert_true(syncache_next_deadline(sc) == w + 500);
	assert_int_equal(syncache_due(sc, w + 499, false, out, ev, 2), 0);
	assert_int_equal(syncache_due(sc, w + 500, false, out, ev, 2), 1);
	assert_true(conn_key_eq(&out[0].key, &b));
	assert_int_equal(syncache_due(sc, w + 999, false, out, ev, 2), 0);
	assert_int_equal(syncache_due(sc, w + 1000, false, out, ev, 2), 1);
	assert_true(conn_key_eq(&out[0].key, &a));
	assert_int_equal(out[0].retries, 2);
	syncache_free(sc);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64* (Vigna, 2016). */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

#define FLOOD_ROWS 64
#define FLOOD_ROW_LIMIT 8
#define FLOOD_MAX 256

struct shadow {
	uint32_t row[FLOOD_ROWS];
	uint32_t total;
};

static void count_rows(const struct syn_state *s, uint64_t deadline_ms, void *ctx)
{
	struct shadow *sh = ctx;

	sh->row[row_of(&s->key, FLOOD_ROWS)]++;
	sh->total++;
}

/* A million random SYNs with eviction: the table never holds more than
 * max_entries nor a row more than its limit, and every insertion result
 * matches a model that only counts entries per row. */
static void test_flood_bounded(void **state)
{
	struct syncache_limits l = limits(FLOOD_ROWS, FLOOD_ROW_LIMIT, FLOOD_MAX, 1, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct shadow model, seen;
	struct syn_state out[16], ev_state;
	enum sc_event ev[16];
	uint64_t now = (1ull << 32) - 100000;   /* crosses the wrap mid-test */
	uint32_t counts[3] = { 0 };

	assert_non_null(sc);
	memset(&model, 0, sizeof(model));
	for (uint32_t i = 0; i < 1000000; i++) {
		uint64_t r = rng();
		struct conn_key k;
		struct syn_state s;
		uint32_t row;
		enum sc_insert want, got;

		memset(&k, 0, sizeof(k));
		k.caddr.a[10] = k.caddr.a[11] = 0xff;
		memcpy(&k.caddr.a[12], &r, 4);
		k.cport = (uint16_t)(r >> 32);
		k.saddr.a[15] = (uint8_t)(r >> 48);
		k.sport = 80;
		s = state_for(&k, i);
		row = row_of(&k, FLOOD_ROWS);
		if (syncache_lookup(sc, &k))
			continue;   /* a repeated random key: not this test's subject */
		if (model.row[row] < FLOOD_ROW_LIMIT && model.total < FLOOD_MAX)
			want = SC_INSERTED;
		else if (model.row[row] == 0)
			want = SC_FULL;
		else
			want = SC_EVICTED;
		got = syncache_insert(sc, &s, now, true, &ev_state);
		assert_int_equal(got, want);
		counts[got]++;
		if (got == SC_INSERTED) {
			model.row[row]++;
			model.total++;
		} else if (got == SC_EVICTED) {
			assert_int_equal(row_of(&ev_state.key, FLOOD_ROWS), row);
		}
		assert_true(syncache_count(sc) <= FLOOD_MAX);
		assert_int_equal(syncache_count(sc), model.total);
		/* Time runs in phases: calm ones where entries expire before the
		 * table fills (8 SYNs per 200 ms, 120 in a 3 s lifetime) and
		 * floods (8 per 40 ms, 600 per lifetime) where it stays full. */
		if (i % 8 == 0) {
			size_t n;

			now += (i / 50000) % 2 ? 40 : 200;
			do {
				n = syncache_due(sc, now, false, out, ev, 16);
				for (size_t j = 0; j < n; j++) {
					if (ev[j] != SC_EXPIRED)
						continue;
					model.row[row_of(&out[j].key, FLOOD_ROWS)]--;
					model.total--;
				}
			} while (n == 16);
		}
	}
	memset(&seen, 0, sizeof(seen));
	syncache_walk(sc, count_rows, &seen);
	assert_memory_equal(&seen, &model, sizeof(seen));
	for (uint32_t r = 0; r < FLOOD_ROWS; r++)
		assert_true(seen.row[r] <= FLOOD_ROW_LIMIT);
	/* All three outcomes happened, or the test proved little. */
	assert_true(counts[SC_INSERTED] > 0 && counts[SC_EVICTED] > 0 && counts[SC_FULL] > 0);
	syncache_free(sc);
}

/* A call that runs out of room inside a row resumes in that row, before
 * rows that it had already passed. */
static void test_due_resumes_in_row(void **state)
{
	static const uint32_t rows[3] = { 2, 2, 0 };

	check_due_order(rows);
}

/* Shedding: a due entry is removed and reported SC_SHED instead of being
 * retransmitted; entries not yet due stay; an entry whose retries are
 * exhausted is still reported SC_EXPIRED; without shed the schedule is the
 * usual one (SYN-ACK at +1 s). */
static void test_due_shed(void **state)
{
	struct syncache_limits l = limits(4, 4, 16, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	struct syn_state s, out[4];
	enum sc_event ev[4];

	assert_non_null(sc);
	for (uint32_t n = 0; n < 3; n++) {
		struct conn_key k = key_n(n);

		s = state_for(&k, n);
		assert_int_equal(syncache_insert(sc, &s, 10 * n, false, NULL), SC_INSERTED);
	}
	/* t = 1005: only the first (inserted at 0) is due. */
	assert_int_equal(syncache_due(sc, 1005, true, out, ev, 4), 1);
	assert_int_equal(ev[0], SC_SHED);
	assert_int_equal(out[0].irs, 0x10000000u);
	assert_int_equal(syncache_count(sc), 2);
	assert_null(syncache_lookup(sc, &out[0].key));
	/* Not shedding: the second one (inserted at 10) is retransmitted. */
	assert_int_equal(syncache_due(sc, 1010, false, out, ev, 4), 1);
	assert_int_equal(ev[0], SC_RETRANSMIT);
	assert_int_equal(out[0].irs, 0x10000001u);
	assert_int_equal(syncache_count(sc), 2);
	assert_true(syncache_next_deadline(sc) == 1020);
	syncache_free(sc);

	/* No retries at all: the due entry expires, shedding or not. */
	l = limits(2, 2, 2, 0, 500);
	sc = syncache_new(&l, hkey);
	assert_non_null(sc);
	{
		struct conn_key k = key_n(9);

		s = state_for(&k, 9);
	}
	assert_int_equal(syncache_insert(sc, &s, 0, false, NULL), SC_INSERTED);
	assert_int_equal(syncache_due(sc, 500, true, out, ev, 4), 1);
	assert_int_equal(ev[0], SC_EXPIRED);
	syncache_free(sc);
}

/* The model of test_heap_model: one record per key of a small pool. */
struct hm_entry {
	bool present;
	uint8_t retries;
	uint64_t deadline;
};

struct hm_walk {
	uint64_t min;
	uint32_t n;
};

static void hm_min(const struct syn_state *s, uint64_t deadline_ms, void *ctx)
{
	struct hm_walk *w = ctx;

	(void)s;
	w->n++;
	if (deadline_ms < w->min)
		w->min = deadline_ms;
}

/* Random inserts, replacements, lookups followed by inserts (the path that
 * reuses the lookup), removals, touches and timer calls over 256 rows,
 * against a model of the documented schedule: every timer call must report
 * exactly the entries the model says are due, with the model's events, and
 * syncache_next_deadline must never be later than the earliest deadline
 * (the rows' heap finds due rows anywhere in the table). */
static void test_heap_model(void **state)
{
	enum { POOL = 1500, ROWS = 256 };
	struct syncache_limits l = limits(ROWS, 64, 4096, 3, 1000);
	struct syncache *sc = syncache_new(&l, hkey);
	static struct hm_entry model[POOL];
	struct syn_state out[8];
	enum sc_event ev[8];
	uint64_t x = 12345, now = 5000;
	uint32_t reported = 0, shed = 0;

	assert_non_null(sc);
	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		uint32_t n, op;
		struct conn_key k;
		struct syn_state s;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = (uint32_t)(x >> 16) % POOL;
		op = (uint32_t)(x >> 40) % 16;
		k = key_n(n);
		s = state_for(&k, n);
		if (op < 6) {
			/* A SYN: lookup, then insert (new or replacing). */
			const struct syn_state *old = syncache_lookup(sc, &k);

			assert_int_equal(old != NULL, model[n].present);
			assert_int_equal(syncache_insert(sc, &s, now, false, NULL), SC_INSERTED);
			model[n] = (struct hm_entry){ true, 0, now + 1000 };
		} else if (op < 8) {
			/* Lookup, a removal of another key, then the insert. */
			uint32_t m = (n + 1) % POOL;
			struct conn_key km = key_n(m);

			(void)syncache_lookup(sc, &k);
			assert_int_equal(syncache_remove(sc, &km, NULL), model[m].present);
			model[m].present = false;
			assert_int_equal(syncache_insert(sc, &s, now, false, NULL), SC_INSERTED);
			model[n] = (struct hm_entry){ true, 0, now + 1000 };
		} else if (op < 10) {
			assert_int_equal(syncache_remove(sc, &k, NULL), model[n].present);
			model[n].present = false;
		} else if (op < 11) {
			assert_int_equal(syncache_touch(sc, &k, now), model[n].present);
			if (model[n].present) {
				model[n].retries = 0;
				model[n].deadline = now + 1000;
			}
		} else {
			bool sh = op == 15;
			struct hm_walk w = { UINT64_MAX, 0 };
			uint32_t due = 0, got_total = 0;
			size_t got;

			now += (x >> 8) % 97;
			syncache_walk(sc, hm_min, &w);
			assert_true(syncache_next_deadline(sc) <= w.min);
			for (uint32_t i = 0; i < POOL; i++)
				due += model[i].present && model[i].deadline <= now;
			do {
				got = syncache_due(sc, now, sh, out, ev, 8);
				for (size_t j = 0; j < got; j++) {
					uint32_t i = out[j].irs - 0x10000000u;

					assert_true(i < POOL && model[i].present);
					assert_true(model[i].deadline <= now);
					if (model[i].retries == 3) {
						assert_int_equal(ev[j], SC_EXPIRED);
						model[i].present = false;
					} else if (sh) {
						assert_int_equal(ev[j], SC_SHED);
						model[i].present = false;
						shed++;
					} else {
						assert_int_equal(ev[j], SC_RETRANSMIT);
						model[i].retries++;
						model[i].deadline =
							now + (1000u << model[i].retries);
					}
				}
				got_total += (uint32_t)got;
			} while (got == 8);
			assert_int_equal(got_total, due);
			assert_true(syncache_next_deadline(sc) > now);
			reported += got_total;
		}
	}
	{
		struct hm_walk w = { UINT64_MAX, 0 };
		uint32_t live = 0;

		for (uint32_t i = 0; i < POOL; i++)
			live += model[i].present;
		syncache_walk(sc, hm_min, &w);
		assert_int_equal(w.n, live);
		assert_int_equal(syncache_count(sc), live);
	}
	/* The timer had real work, shedding included. */
	assert_true(reported > 10000 && shed > 1000);
	syncache_free(sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_size),
		cmocka_unit_test(test_new_validates_limits),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_reinsert_replaces),
		cmocka_unit_test(test_bucket_limit_evicts_oldest),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test(test_free_list_reuse),
		cmocka_unit_test(test_retransmit_schedule),
		cmocka_unit_test(test_zero_retries),
		cmocka_unit_test(test_touch_resets_schedule),
		cmocka_unit_test(test_due_max1_progress),
		cmocka_unit_test(test_due_batches),
		cmocka_unit_test(test_due_round_robin),
		cmocka_unit_test(test_due_resumes_in_row),
		cmocka_unit_test(test_wrap_and_walk),
		cmocka_unit_test(test_wrap_same_row),
		cmocka_unit_test(test_flood_bounded),
		cmocka_unit_test(test_due_shed),
		cmocka_unit_test(test_heap_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
