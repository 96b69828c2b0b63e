/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flows per source network (srcflows.c): counting by network of any
 * length in both families, the limit, and exact counts with the table
 * holding as many networks as it has room for flows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "srcflows.h"
#include "testutil.h"

static void test_srcflows_networks(void **state)
{
	struct srcflows *t = srcflows_new(16, test_key);
	struct addr a = ad("192.0.2.10"), b = ad("192.0.2.11"), c = ad("2001:db8:1::10"),
		    d = ad("2001:db8:1::ffff:1"), e = ad("2001:db8:2::10");

	assert_non_null(t);
	assert_true(srcflows_add(t, &a, 128, 2));
	assert_true(srcflows_add(t, &a, 128, 2));
	assert_false(srcflows_add(t, &a, 128, 2));     /* the /32's limit */
	assert_true(srcflows_add(t, &b, 128, 2));      /* another /32 */
	assert_int_equal(srcflows_count(t, &a, 128), 2);
	/* The same addresses as one /24: a network of its own. */
	assert_int_equal(srcflows_count(t, &a, 120), 0);
	assert_true(srcflows_add(t, &a, 120, 2));
	assert_true(srcflows_add(t, &b, 120, 2));
	assert_false(srcflows_add(t, &b, 120, 2));
	assert_int_equal(srcflows_count(t, &b, 120), 2);
	/* IPv6 by /64: c and d share one, e has its own. */
	assert_true(srcflows_add(t, &c, 64, 1));
	assert_false(srcflows_add(t, &d, 64, 1));
	assert_true(srcflows_add(t, &e, 64, 1));
	assert_true(srcflows_add(t, &d, 64, 0));        /* limit 0: counted anyway */
	assert_int_equal(srcflows_count(t, &c, 64), 2);
	/* Odd lengths mask within a byte: 2001:db8:1::/61 holds
	 * 2001:db8:1:7::1, not 2001:db8:1:8::1. */
	assert_true(srcflows_add(t, &c, 61, 0));
	{
		struct addr in = ad("2001:db8:1:7::1"), out = ad("2001:db8:1:8::1");

		assert_int_equal(srcflows_count(t, &in, 61), 1);
		assert_int_equal(srcflows_count(t, &out, 61), 0);
	}
	srcflows_remove(t, &a, 128);
	assert_int_equal(srcflows_count(t, &a, 128), 1);
	assert_true(srcflows_add(t, &a, 128, 2));
	srcflows_free(t);
}

/* As many distinct networks as the table has room for flows, then all
 * removed and the same again: every count stays exact and the entries
 * come back. */
static void test_srcflows_full_and_exact(void **state)
{
	const uint32_t max = 1000;
	struct srcflows *t = srcflows_new(max, test_key);

	assert_non_null(t);
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < max; i++) {
			struct addr a = nth_net(i);

			assert_true(srcflows_add(t, &a, 128, 1));
		}
		for (uint32_t i = 0; i < max; i++) {
			struct addr a = nth_net(i);

			assert_int_equal(srcflows_count(t, &a, 128), 1);
			assert_false(srcflows_add(t, &a, 128, 1));
		}
		for (uint32_t i = 0; i < max; i++) {
			struct addr a = nth_net(i);

			srcflows_remove(t, &a, 128);
			assert_int_equal(srcflows_count(t, &a, 128), 0);
		}
	}
	/* One network with every flow: one entry. */
	for (uint32_t i = 0; i < max; i++) {
		struct addr a = nth_net(0);

		assert_true(srcflows_add(t, &a, 96, 0));
	}
	{
		struct addr a = nth_net(5);

		assert_int_equal(srcflows_count(t, &a, 96), max);
	}
	srcflows_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srcflows_networks),
		cmocka_unit_test(test_srcflows_full_and_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
