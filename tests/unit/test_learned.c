/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options learned from backends (learned.c): lookups, the key (address
 * and port), replacement in a full set and agreement before use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "learned.h"
#include "testutil.h"

static struct learned_opts opts(uint16_t mss, uint8_t wscale, bool sack, bool ts)
{
	struct learned_opts o = { mss, wscale, sack, ts, true };

	return o;
}

static void assert_opts_equal(const struct learned_opts *x, const struct learned_opts *y)
{
	assert_int_equal(x->mss, y->mss);
	assert_int_equal(x->wscale, y->wscale);
	assert_int_equal(x->sack, y->sack);
	assert_int_equal(x->ts, y->ts);
	assert_int_equal(x->valid, y->valid);
}

static void test_learned_basic(void **state)
{
	struct learned *t = learned_new(64, test_key);
	struct addr a = ad("192.0.2.80"), b = ad("192.0.2.81"), v6 = ad("2001:db8::80");
	struct learned_opts o1 = opts(1460, 7, true, true), o2 = opts(1400, 0xff, false, true);
	struct learned_opts o3 = opts(1220, 2, true, false), got;

	assert_non_null(t);
	assert_false(learned_get(t, &a, 443, &got));
	learned_put(t, &a, 443, &o1);
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o1);
	/* Another port or another address is another backend. */
	assert_false(learned_get(t, &a, 80, &got));
	assert_false(learned_get(t, &b, 443, &got));
	/* A newer announcement replaces the old one. */
	learned_put(t, &a, 443, &o2);
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o2);
	learned_put(t, &v6, 443, &o3);
	assert_true(learned_get(t, &v6, 443, &got));
	assert_opts_equal(&got, &o3);
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o2);
	learned_free(t);
}

/* Many ports of one address, and one port of many addresses, fill the
 * table around a key that is never written: none of them may answer for
 * it. */
static void test_learned_key_is_addr_and_port(void **state)
{
	struct learned *t = learned_new(64, test_key);
	struct addr a = ad("192.0.2.80");
	struct learned_opts o = opts(1460, 7, true, true), got;

	assert_non_null(t);
	for (uint16_t port = 1; port <= 40; port++)
		if (port != 7)
			learned_put(t, &a, port, &o);
	assert_false(learned_get(t, &a, 7, &got));
	assert_true(learned_get(t, &a, 40, &got));
	for (unsigned i = 0; i < 40; i++) {
		uint8_t v4[4] = { 192, 0, 2, (uint8_t)(100 + i) };
		struct addr b;

		addr_from_v4(&b, v4);
		learned_put(t, &b, 7, &o);
	}
	assert_false(learned_get(t, &a, 7, &got));
	learned_free(t);

	/* Four ports of one address always fit (a set has four ways),
	 * wherever they hash; none may overwrite another. */
	for (unsigned i = 0; i < 50; i++) {
		uint8_t v4[4] = { 198, 51, 100, (uint8_t)i };

		t = learned_new(64, test_key);
		assert_non_null(t);
		addr_from_v4(&a, v4);
		for (uint16_t port = 1; port <= 4; port++) {
			o.mss = port;
			learned_put(t, &a, port, &o);
		}
		for (uint16_t port = 1; port <= 4; port++) {
			assert_true(learned_get(t, &a, port, &got));
			assert_int_equal(got.mss, port);
		}
		learned_free(t);
	}
}

static void test_learned_replacement(void **state)
{
	struct learned *t = learned_new(64, test_key);
	struct addr keep = ad("198.51.100.1"), read_only = ad("198.51.100.2");
	struct learned_opts ko = opts(9000, 9, true, true), got;
	unsigned alive = 0;

	assert_non_null(t);
	learned_put(t, &read_only, 80, &ko);
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);
		struct learned_opts o = opts((uint16_t)i, 0, false, false);

		learned_put(t, &a, 443, &o);
		/* Rewritten each round: always the newest of its set. */
		learned_put(t, &keep, 80, &ko);
		/* Only read: reading does not protect it. */
		learned_get(t, &read_only, 80, &got);
	}
	assert_true(learned_get(t, &keep, 80, &got));
	assert_opts_equal(&got, &ko);
	assert_false(learned_get(t, &read_only, 80, &got));
	/* 63 flood entries besides keep, each with its own options. */
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		if (learned_get(t, &a, 443, &got)) {
			assert_int_equal(got.mss, (uint16_t)i);
			alive++;
		}
	}
	assert_int_equal(alive, 63);
	/* Each early entry saw hundreds of later writes to its set. */
	for (unsigned i = 0; i < 100; i++) {
		struct addr a = nth_net(i);

		assert_false(learned_get(t, &a, 443, &got));
	}
	learned_free(t);
}

/* A set is in use only once LEARNED_AGREE announcements in a row agree
 * on it; an announcement of the set in use resets a count under way.
 * The votes come from clients of different networks (o2's smaller MSS
 * needs that; test_learned_smaller_mss shows why). */
static void test_learned_vote(void **state)
{
	struct learned *t = learned_new(64, test_key);
	struct addr a = ad("192.0.2.80");
	struct addr cl[LEARNED_AGREE] = { ad("192.0.2.10"), ad("198.51.100.10"),
					  ad("203.0.113.10") };
	struct learned_opts o1 = opts(1460, 7, true, true), o2 = opts(1400, 3, true, false), got;

	assert_non_null(t);
	for (int i = 1; i < LEARNED_AGREE; i++) {
		assert_false(learned_vote(t, &a, 443, &o1, &cl[i]));
		assert_false(learned_get(t, &a, 443, &got));
	}
	assert_true(learned_vote(t, &a, 443, &o1, &cl[0]));
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o1);
	assert_false(learned_vote(t, &a, 443, &o1, &cl[0]));
	for (int i = 1; i < LEARNED_AGREE; i++)
		assert_false(learned_vote(t, &a, 443, &o2, &cl[i]));
	assert_false(learned_vote(t, &a, 443, &o1, &cl[0]));        /* resets o2's count */
	for (int i = 1; i < LEARNED_AGREE; i++)
		assert_false(learned_vote(t, &a, 443, &o2, &cl[i]));
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o1);
	assert_true(learned_vote(t, &a, 443, &o2, &cl[0]));
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &o2);
	/* Another backend's votes are its own. */
	assert_false(learned_vote(t, &a, 80, &o2, &cl[0]));
	assert_false(learned_get(t, &a, 80, &got));
	learned_free(t);
}

/* A backend announces the MSS of its route toward the SYN's source, path
 * MTU included: SYN-ACKs to one client behind a 1280-byte path say 1240.
 * However many of them come in a row, the others keep being offered what
 * was agreed; a smaller MSS is used once SYN-ACKs to clients of
 * LEARNED_AGREE networks (/24, /64) agree on it, and a repeat from a
 * network that voted already neither counts nor breaks the row.  A larger
 * MSS needs no such spread (a path MTU only ever lowers it). */
static void test_learned_smaller_mss(void **state)
{
	struct learned *t = learned_new(64, test_key);
	struct addr a = ad("192.0.2.80");
	struct addr c1 = ad("192.0.2.10"), c1b = ad("192.0.2.99"), c2 = ad("198.51.100.10"),
		    c3 = ad("203.0.113.10");
	struct addr v1 = ad("2001:db8:1::1"), v1b = ad("2001:db8:1::2"), v2 = ad("2001:db8:2::1"),
		    v3 = ad("2001:db8:3::1");
	struct learned_opts big = opts(1460, 7, true, true), small = opts(1240, 7, true, true);
	struct learned_opts got;

	assert_non_null(t);
	for (int i = 0; i < LEARNED_AGREE; i++)         /* the first set: from anyone */
		learned_vote(t, &a, 443, &big, &c1);
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &big);
	for (int i = 0; i < 10; i++) {                  /* one client's path: 1240 */
		assert_false(learned_vote(t, &a, 443, &small, i % 2 ? &c1 : &c1b));
		assert_true(learned_get(t, &a, 443, &got));
		assert_opts_equal(&got, &big);
	}
	assert_false(learned_vote(t, &a, 443, &small, &c2));
	assert_false(learned_vote(t, &a, 443, &small, &c1));        /* a repeat */
	assert_true(learned_vote(t, &a, 443, &small, &c3));
	assert_true(learned_get(t, &a, 443, &got));
	assert_opts_equal(&got, &small);
	/* Back up: three in a row from one client are enough. */
	assert_false(learned_vote(t, &a, 443, &big, &c1));
	assert_false(learned_vote(t, &a, 443, &big, &c1));
	assert_true(learned_vote(t, &a, 443, &big, &c1));
	/* IPv6 clients are counted by /64. */
	for (int i = 0; i < LEARNED_AGREE; i++)
		assert_false(learned_vote(t, &a, 443, &small, i % 2 ? &v1 : &v1b));
	assert_false(learned_vote(t, &a, 443, &small, &v2));
	assert_true(learned_vote(t, &a, 443, &small, &v3));
	learned_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learned_basic),
		cmocka_unit_test(test_learned_replacement),
		cmocka_unit_test(test_learned_key_is_addr_and_port),
		cmocka_unit_test(test_learned_vote),
		cmocka_unit_test(test_learned_smaller_mss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
