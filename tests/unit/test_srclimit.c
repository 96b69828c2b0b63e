/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-source limits (srclimit.c): the token bucket worked by hand, source
 * grouping by /24 and /64, half-open counts, bounded memory and LRU. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "srclimit.h"
#include "testutil.h"

static unsigned take(struct srclimit *t, const char *src, uint32_t rate, uint32_t burst,
		     uint64_t now, unsigned tries)
{
	struct addr a = ad(src);
	unsigned ok = 0;

	for (unsigned i = 0; i < tries; i++)
		ok += srclimit_syn(t, &a, rate, burst, now);
	return ok;
}

static void test_bucket_rate10_burst5(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);
	const uint64_t t0 = 1000000;

	assert_non_null(t);
	/* A new bucket holds the burst: 5 allowed, the 6th refused. */
	assert_int_equal(take(t, "192.0.2.1", 10, 5, t0, 6), 5);
	/* 10 tokens/s is 10 milli-tokens per ms: 99 ms earn 990, not a token. */
	assert_int_equal(take(t, "192.0.2.1", 10, 5, t0 + 99, 1), 0);
	/* At 100 ms the bucket holds exactly 1000: one more, then none. */
	assert_int_equal(take(t, "192.0.2.1", 10, 5, t0 + 100, 2), 1);
	/* A long idle refills to the burst, not beyond. */
	assert_int_equal(take(t, "192.0.2.1", 10, 5, t0 + 3600000, 10), 5);
	srclimit_free(t);
}

static void test_bucket_burst_zero_and_rate_zero(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);

	assert_non_null(t);
	/* burst 0 means a depth equal to the rate. */
	assert_int_equal(take(t, "192.0.2.1", 3, 0, 0, 10), 3);
	/* rate 0: no limit, and the bucket is not touched. */
	assert_int_equal(take(t, "192.0.2.1", 0, 0, 0, 10000), 10000);
	assert_int_equal(take(t, "192.0.2.1", 3, 0, 0, 1), 0);
	assert_int_equal(take(t, "192.0.2.1", 0, 5, 0, 10000), 10000);
	assert_int_equal(take(t, "198.51.100.1", 0, 0, 0, 1), 1);
	assert_int_equal(take(t, "198.51.100.1", 10, 5, 0, 6), 5);
	srclimit_free(t);
}

/* A rule without a rate limit must not claim slots: a flood through it
 * would push out the state of limited sources. */
static void test_bucket_rate_zero_claims_nothing(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);
	struct addr a = ad("198.51.100.1");

	assert_non_null(t);
	assert_int_equal(srclimit_half_open(t, &a, +1), 1);
	for (unsigned i = 0; i < 10000; i++) {
		uint8_t v4[4] = { 10, (uint8_t)(i >> 8), (uint8_t)i, 1 };
		struct addr b;

		addr_from_v4(&b, v4);
		assert_true(srclimit_syn(t, &b, 0, 0, i));
	}
	assert_int_equal(srclimit_half_open(t, &a, 0), 1);
	srclimit_free(t);
}

static void test_bucket_no_drift(void **state)
{
	/* Rate 3/s, polled every ms after emptying at t0: the bucket gains 3
	 * milli-tokens a ms.  Tokens are granted when the balance reaches
	 * 1000: at +334 (1002, leaving 2), +667 (2 + 999 = 1001, leaving 1),
	 * +1000 (1 + 999 = 1000, leaving 0), and the cycle repeats every
	 * 1000 ms: 9 tokens in 3000 ms, exactly 3/s with no rounding loss. */
	static const uint64_t expect[] = { 334, 667, 1000, 1334, 1667, 2000, 2334, 2667, 3000 };
	struct srclimit *t = srclimit_new(64, test_key);
	const uint64_t t0 = 5000;
	size_t n = 0;

	assert_non_null(t);
	assert_int_equal(take(t, "192.0.2.1", 3, 3, t0, 4), 3);
	for (uint64_t ms = 1; ms <= 3000; ms++) {
		if (take(t, "192.0.2.1", 3, 3, t0 + ms, 1)) {
			assert_true(n < 9);
			assert_int_equal(ms, expect[n]);
			n++;
		}
	}
	assert_int_equal(n, 9);

	/* Burst 1 at 3/s: 333 ms earn 999 milli-tokens, one short. */
	assert_int_equal(take(t, "198.51.100.1", 3, 1, t0, 2), 1);
	assert_int_equal(take(t, "198.51.100.1", 3, 1, t0 + 333, 1), 0);
	assert_int_equal(take(t, "198.51.100.1", 3, 1, t0 + 334, 2), 1);
	srclimit_free(t);
}

static void test_bucket_clock_and_limits(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);

	assert_non_null(t);
	/* A clock that steps back earns nothing, and the step back is not
	 * credited later: 100 ms after the real start is one token. */
	assert_int_equal(take(t, "192.0.2.1", 10, 5, 10000, 5), 5);
	assert_int_equal(take(t, "192.0.2.1", 10, 5, 5000, 1), 0);
	assert_int_equal(take(t, "192.0.2.1", 10, 5, 10100, 2), 1);

	/* Burst lowered from 5 to 2 (a reload): the balance is clamped. */
	assert_int_equal(take(t, "203.0.113.1", 10, 5, 0, 1), 1);
	assert_int_equal(take(t, "203.0.113.1", 10, 2, 0, 5), 2);
	/* Raised again: no tokens appear without time passing. */
	assert_int_equal(take(t, "203.0.113.1", 10, 5, 0, 5), 0);

	/* Extreme values: no overflow in the refill. */
	assert_int_equal(take(t, "198.51.100.1", UINT32_MAX, 2, 0, 3), 2);
	assert_int_equal(take(t, "198.51.100.1", UINT32_MAX, 2, 1, 3), 2);
	assert_int_equal(take(t, "198.51.100.1", UINT32_MAX, 2, UINT64_MAX - 1, 3), 2);
	assert_int_equal(take(t, "198.51.101.2", UINT32_MAX, UINT32_MAX, 0, 1000), 1000);
	assert_int_equal(take(t, "198.51.101.2", 1, UINT32_MAX, UINT64_MAX, 1000), 1000);
	srclimit_free(t);
}

struct group_case {
	const char *a, *b;
	bool shared;
};

static const struct group_case group_cases[] = {
	{ "192.0.2.1", "192.0.2.254", true },
	{ "192.0.2.0", "192.0.2.255", true },
	{ "192.0.2.1", "::ffff:192.0.2.77", true },
	{ "192.0.2.1", "192.0.3.1", false },
	{ "192.0.2.1", "193.0.2.1", false },
	{ "10.0.0.1", "11.0.0.1", false },
	{ "2001:db8:0:1::1", "2001:db8:0:1:ffff:ffff:ffff:ffff", true },
	{ "2001:db8:0:1::1", "2001:db8:0:2::1", false },
	{ "2001:db8::1", "2001:db9::1", false },
	{ "2001:db8::1", "3001:db8::1", false },
	/* IPv4-compatible text is IPv6: it groups with ::/64, not 192.0.2/24. */
	{ "192.0.2.1", "::192.0.2.1", false },
	{ "::1", "::192.0.2.1", true },
	{ "0.0.0.1", "::1", false },
};

static void test_srclimit_grouping(void **state)
{
	for (size_t i = 0; i < sizeof(group_cases) / sizeof(group_cases[0]); i++) {
		const struct group_case *c = &group_cases[i];
		struct srclimit *t = srclimit_new(64, test_key);
		struct addr a = ad(c->a), b = ad(c->b);

		assert_non_null(t);
		print_message("case %s / %s\n", c->a, c->b);
		/* One token each: a second source in the same group is refused. */
		assert_true(srclimit_syn(t, &a, 1, 1, 0));
		assert_int_equal(srclimit_syn(t, &b, 1, 1, 0), !c->shared);
		/* The half-open count is per group too. */
		assert_int_equal(srclimit_half_open(t, &a, +1), 1);
		assert_int_equal(srclimit_half_open(t, &b, +1), c->shared ? 2 : 1);
		srclimit_free(t);
	}
}

static void test_srclimit_half_open(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);
	struct addr a = ad("192.0.2.1"), b = ad("192.0.2.2"), other = ad("198.51.100.1");

	assert_non_null(t);
	assert_int_equal(srclimit_half_open(t, &a, 0), 0);      /* unknown: 0 */
	assert_int_equal(srclimit_half_open(t, &a, -1), 0);
	assert_int_equal(srclimit_half_open(t, &a, +1), 1);
	assert_int_equal(srclimit_half_open(t, &b, +1), 2);     /* same /24 */
	assert_int_equal(srclimit_half_open(t, &a, +1), 3);
	assert_int_equal(srclimit_half_open(t, &a, 0), 3);
	assert_int_equal(srclimit_half_open(t, &a, -1), 2);
	assert_int_equal(srclimit_half_open(t, &b, -1), 1);
	assert_int_equal(srclimit_half_open(t, &a, -1), 0);
	assert_int_equal(srclimit_half_open(t, &a, -1), 0);     /* saturates */
	assert_int_equal(srclimit_half_open(t, &a, +1), 1);
	assert_int_equal(srclimit_half_open(t, &other, 0), 0);

	/* The count and the bucket are independent; a slot first claimed
	 * for a count still starts with a full bucket. */
	assert_int_equal(srclimit_half_open(t, &other, +1), 1);
	assert_int_equal(take(t, "198.51.100.1", 10, 5, 0, 6), 5);
	assert_int_equal(srclimit_half_open(t, &other, 0), 1);
	srclimit_free(t);
}

/* ---- bounded memory and LRU ---- */

/* 64 slots are 16 sets of 4.  TABLE_FLOOD networks spread over 16 sets put
 * hundreds in each, so every set ends full and a network survives only
 * when it is among the most recent 4 of its set. */
static void test_srclimit_lru(void **state)
{
	struct srclimit *t = srclimit_new(64, test_key);
	struct addr hot = ad("198.51.100.7");
	unsigned alive = 0;

	assert_non_null(t);
	assert_true(srclimit_syn(t, &hot, 1, 1, 0));
	assert_int_equal(srclimit_half_open(t, &hot, +1), 1);
	assert_int_equal(srclimit_half_open(t, &hot, +1), 2);
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		/* A reused slot starts at 0. */
		assert_int_equal(srclimit_half_open(t, &a, +1), 1);
		/* Using hot keeps it: still empty, no time has passed. */
		assert_false(srclimit_syn(t, &hot, 1, 1, 0));
	}
	assert_int_equal(srclimit_half_open(t, &hot, 0), 2);
	/* Reads (delta 0) do not claim slots, so this count is exact: the
	 * table holds 64 networks, hot and 63 of the flood. */
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		alive += srclimit_half_open(t, &a, 0) == 1;
	}
	assert_int_equal(alive, 63);
	/* The last three are the most recent of whatever set they are in
	 * (hot's set has three slots for the flood). */
	for (unsigned i = TABLE_FLOOD - 3; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		assert_int_equal(srclimit_half_open(t, &a, 0), 1);
	}
	srclimit_free(t);
}

struct size_case {
	uint32_t asked;
	unsigned slots;
};

/* Rounded up to a power of two, at least 64. */
static const struct size_case size_cases[] = {
	{ 0, 64 }, { 1, 64 }, { 64, 64 }, { 65, 128 }, { 100, 128 }, { 256, 256 },
};

static void test_srclimit_size(void **state)
{
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		struct srclimit *t = srclimit_new(size_cases[i].asked, test_key);
		unsigned alive = 0;

		assert_non_null(t);
		for (unsigned k = 0; k < TABLE_FLOOD; k++) {
			struct addr a = nth_net(k);

			srclimit_half_open(t, &a, +1);
		}
		for (unsigned k = 0; k < TABLE_FLOOD; k++) {
			struct addr a = nth_net(k);

			alive += srclimit_half_open(t, &a, 0);
		}
		assert_int_equal(alive, size_cases[i].slots);
		srclimit_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_rate10_burst5),
		cmocka_unit_test(test_bucket_burst_zero_and_rate_zero),
		cmocka_unit_test(test_bucket_rate_zero_claims_nothing),
		cmocka_unit_test(test_bucket_no_drift),
		cmocka_unit_test(test_bucket_clock_and_limits),
		cmocka_unit_test(test_srclimit_grouping),
		cmocka_unit_test(test_srclimit_half_open),
		cmocka_unit_test(test_srclimit_lru),
		cmocka_unit_test(test_srclimit_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
