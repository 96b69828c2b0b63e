/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The RULE_RESET pass list (passlist.c): deadlines, the key (address and
 * rule) and replacement in a full set. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "passlist.h"
#include "testutil.h"

static void test_passlist_basic(void **state)
{
	struct passlist *t = passlist_new(64, test_key);
	struct addr src = ad("192.0.2.1"), near = ad("192.0.2.2"), v6 = ad("2001:db8::1");

	assert_non_null(t);
	assert_false(passlist_check(t, &src, 3, 1000));
	passlist_add(t, &src, 3, 1000, 500);
	/* The deadline (1000 + 500) is exclusive. */
	assert_true(passlist_check(t, &src, 3, 1000));
	assert_true(passlist_check(t, &src, 3, 1499));
	assert_false(passlist_check(t, &src, 3, 1500));
	assert_false(passlist_check(t, &src, 3, 1501));
	/* Another rule, or another address in the same /24, is not let through. */
	assert_false(passlist_check(t, &src, 4, 1200));
	assert_false(passlist_check(t, &near, 3, 1200));
	/* Adding again restarts the period. */
	passlist_add(t, &src, 3, 1400, 500);
	assert_true(passlist_check(t, &src, 3, 1899));
	assert_false(passlist_check(t, &src, 3, 1900));
	/* ms 0 lets nothing through. */
	passlist_add(t, &v6, 0, 2000, 0);
	assert_false(passlist_check(t, &v6, 0, 2000));
	passlist_add(t, &v6, 0, 2000, 1);
	assert_true(passlist_check(t, &v6, 0, 2000));
	assert_false(passlist_check(t, &v6, 0, 2001));
	/* A deadline past the end of time saturates. */
	passlist_add(t, &v6, 1, UINT64_MAX - 10, 100);
	assert_true(passlist_check(t, &v6, 1, UINT64_MAX - 1));
	passlist_free(t);
}

/* Many rules for one source, and one rule for many sources, fill the
 * table around a key that is never added: none of them may answer for it. */
static void test_passlist_key_is_addr_and_rule(void **state)
{
	struct passlist *t = passlist_new(64, test_key);
	struct addr src = ad("192.0.2.1");

	assert_non_null(t);
	for (unsigned rule = 0; rule < 40; rule++)
		if (rule != 7)
			passlist_add(t, &src, (uint8_t)rule, 0, 1000);
	assert_false(passlist_check(t, &src, 7, 0));
	assert_true(passlist_check(t, &src, 39, 0));
	for (unsigned i = 0; i < 40; i++) {
		uint8_t v4[4] = { 192, 0, 2, (uint8_t)(100 + i) };
		struct addr b;

		addr_from_v4(&b, v4);
		passlist_add(t, &b, 7, 0, 1000);
	}
	assert_false(passlist_check(t, &src, 7, 0));
	passlist_free(t);

	/* Four rules for one source always fit (a set has four ways),
	 * wherever they hash; none may overwrite another. */
	for (unsigned i = 0; i < 50; i++) {
		uint8_t v4[4] = { 198, 51, 100, (uint8_t)i };

		t = passlist_new(64, test_key);
		assert_non_null(t);
		addr_from_v4(&src, v4);
		for (unsigned rule = 1; rule <= 4; rule++)
			passlist_add(t, &src, (uint8_t)rule, 0, 100 * rule);
		for (unsigned rule = 1; rule <= 4; rule++) {
			assert_true(passlist_check(t, &src, (uint8_t)rule, 100 * rule - 1));
			assert_false(passlist_check(t, &src, (uint8_t)rule, 100 * rule));
		}
		passlist_free(t);
	}
}

static void test_passlist_replacement(void **state)
{
	struct passlist *t = passlist_new(64, test_key);
	struct addr lasting = ad("198.51.100.1");
	unsigned alive = 0;

	assert_non_null(t);
	/* Added first and never touched again, but it expires last, so the
	 * set always gives up another entry: not LRU, not oldest-first. */
	passlist_add(t, &lasting, 0, 0, 1000000);
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		passlist_add(t, &a, 0, 0, 1000 + i);
	}
	assert_true(passlist_check(t, &lasting, 0, 500000));
	for (unsigned i = 0; i < TABLE_FLOOD; i++) {
		struct addr a = nth_net(i);

		alive += passlist_check(t, &a, 0, 0);
	}
	assert_int_equal(alive, 63);
	/* The flood's deadlines grow with i, so its early entries, each
	 * followed by hundreds in its set, were the first to expire. */
	for (unsigned i = 0; i < 100; i++) {
		struct addr a = nth_net(i);

		assert_false(passlist_check(t, &a, 0, 0));
	}
	passlist_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passlist_basic),
		cmocka_unit_test(test_passlist_replacement),
		cmocka_unit_test(test_passlist_key_is_addr_and_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
