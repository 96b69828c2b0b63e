/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The set of tuples that may have a marked conntrack entry
 * (src/daemon/ctseen.c): membership, ends by id, drops, growth past its
 * first table, removal that keeps every other tuple findable, and the
 * bound past which it answers "maybe" for everything. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ctseen.h"
#include "testutil.h"

/* Tuple n: client 198.18.x.y (n spread over the address and port), the
 * server 203.0.113.2:80. */
static struct conn_key tuple(uint32_t n)
{
	struct conn_key k;

	memset(&k, 0, sizeof(k));
	addr4(&k.caddr, 198, (uint8_t)(18 + ((n >> 24) & 1)), (uint8_t)(n >> 16), (uint8_t)(n >> 8));
	addr4(&k.saddr, 203, 0, 113, 2);
	k.cport = (uint16_t)(1024 + (n & 0xff));
	k.sport = 80;
	return k;
}

static void test_ctseen_basic(void **state)
{
	struct ctseen *s = ctseen_new(100);
	struct conn_key a = tuple(1), b = tuple(2), a6;
	bool over = true;

	assert_non_null(s);
	key_v6(&a6, 1025);
	assert_false(ctseen_maybe(s, &a));
	assert_true(ctseen_put(s, &a, 0));          /* about to be made */
	assert_true(ctseen_maybe(s, &a));
	assert_false(ctseen_maybe(s, &b));
	assert_false(ctseen_maybe(s, &a6));
	/* An end reported while the id is not known yet keeps it. */
	ctseen_gone(s, &a, 77);
	assert_true(ctseen_maybe(s, &a));
	assert_true(ctseen_put(s, &a, 77));
	/* The end of an older entry of the same tuple keeps the newer one. */
	ctseen_gone(s, &a, 76);
	assert_true(ctseen_maybe(s, &a));
	ctseen_gone(s, &a, 77);
	assert_false(ctseen_maybe(s, &a));
	/* Every entry deleted: out whatever its id. */
	assert_true(ctseen_put(s, &b, 5));
	assert_true(ctseen_put(s, &a6, 0));
	assert_int_equal(ctseen_count(s, &over), 2);
	assert_false(over);
	ctseen_drop(s, &b);
	ctseen_drop(s, &a6);
	assert_false(ctseen_maybe(s, &b));
	assert_false(ctseen_maybe(s, &a6));
	assert_int_equal(ctseen_count(s, NULL), 0);
	ctseen_free(s);
}

/* 20,000 tuples (the table starts at 1,024 slots and doubles): all found,
 * none of 20,000 others; every third removed, in an order unlike the
 * insertion's, and the rest still found (backward-shift deletion must not
 * cut a probe chain). */
static void test_ctseen_grow_and_remove(void **state)
{
	const uint32_t n = 20000;
	struct ctseen *s = ctseen_new(n);

	assert_non_null(s);
	for (uint32_t i = 0; i < n; i++) {
		struct conn_key k = tuple(i);

		assert_true(ctseen_put(s, &k, i + 1));
	}
	assert_int_equal(ctseen_count(s, NULL), n);
	for (uint32_t i = 0; i < n; i++) {
		struct conn_key in = tuple(i), out = tuple(n + i);

		assert_true(ctseen_maybe(s, &in));
		assert_false(ctseen_maybe(s, &out));
	}
	for (uint32_t i = n; i-- > 0;) {
		struct conn_key k = tuple(i);

		if (i % 3 == 0)
			ctseen_gone(s, &k, i + 1);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct conn_key k = tuple(i);

		assert_int_equal(ctseen_maybe(s, &k), i % 3 != 0);
	}
	assert_int_equal(ctseen_count(s, NULL), n - (n + 2) / 3);
	ctseen_free(s);
}

/* Past its bound the set cannot know which tuples it missed: it answers
 * "maybe" for every tuple from then on (every new flow deletes again). */
static void test_ctseen_bound(void **state)
{
	struct ctseen *s = ctseen_new(10);
	struct conn_key k;
	bool over = false;

	assert_non_null(s);
	for (uint32_t i = 0; i < 10; i++) {
		k = tuple(i);
		assert_true(ctseen_put(s, &k, 1));
	}
	k = tuple(999);
	assert_false(ctseen_maybe(s, &k));
	k = tuple(10);
	assert_false(ctseen_put(s, &k, 1));
	ctseen_count(s, &over);
	assert_true(over);
	k = tuple(12345);
	assert_true(ctseen_maybe(s, &k));
	k = tuple(3);
	ctseen_drop(s, &k);
	assert_true(ctseen_maybe(s, &k));
	ctseen_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctseen_basic),
		cmocka_unit_test(test_ctseen_grow_and_remove),
		cmocka_unit_test(test_ctseen_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
