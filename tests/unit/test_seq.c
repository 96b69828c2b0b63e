/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wrap-safe sequence comparisons.  Expected values are worked out by hand:
 * seq_before(a, b) holds when (b - a) mod 2^32 is in (0, 2^31]; see the
 * note at the 2^31 cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "seq.h"

struct order_case {
	uint32_t a, b;
	bool before;   /* seq_before(a, b) */
	bool after;    /* seq_after(a, b) */
};

static const struct order_case order_cases[] = {
	{ 0, 0, false, false },
	{ 0, 1, true, false },
	{ 1, 0, false, true },
	/* 0 - 0xffffffff = 1 (mod 2^32): 0xffffffff is just before 0. */
	{ 0xffffffffu, 0, true, false },
	{ 0, 0xffffffffu, false, true },
	{ 0xffffffffu, 0xffffffffu, false, false },
	/* distance 2^31 - 1: still ordered the natural way */
	{ 0, 0x7fffffffu, true, false },
	{ 0x7fffffffu, 0, false, true },
	{ 0x7fffffffu, 0xfffffffeu, true, false },
	/* crossing 2^31 */
	{ 0x7fffffffu, 0x80000000u, true, false },
	{ 0x80000000u, 0x7fffffffu, false, true },
	/* distance 2^31 + 1 wraps the other way: 0x80000001 - 0 as int32 < 0 */
	{ 0, 0x80000001u, false, true },
	{ 0x80000001u, 0, true, false },
	/* Distance exactly 2^31, which RFC 1982 leaves undefined.  With
	 * (int32_t)(a - b) < 0, a - b = 0x80000000 is INT32_MIN in both
	 * directions, so each is "before" the other. */
	{ 0, 0x80000000u, true, true },
	{ 0x80000000u, 0, true, true },
	{ 0xffffffffu, 0x7fffffffu, true, true },
	/* wrap around 2^32 with small steps */
	{ 0xfffffff0u, 0x10, true, false },
	{ 0x10, 0xfffffff0u, false, true },
};

static void test_order(void **state)
{
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		const struct order_case *c = &order_cases[i];

		assert_int_equal(seq_before(c->a, c->b), c->before);
		assert_int_equal(seq_after(c->a, c->b), c->after);
		assert_int_equal(seq_leq(c->a, c->b), !c->after);
		assert_int_equal(seq_geq(c->a, c->b), !c->before);
	}
}

struct between_case {
	uint32_t a, lo, hi;
	bool in;
};

static const struct between_case between_cases[] = {
	{ 5, 1, 10, true },
	{ 1, 1, 10, true },
	{ 10, 1, 10, true },
	{ 0, 1, 10, false },
	{ 11, 1, 10, false },
	/* window [0xfffffff0, 0x10] crosses 2^32: a - lo <= 0x20 */
	{ 0xfffffff0u, 0xfffffff0u, 0x10, true },
	{ 0xffffffffu, 0xfffffff0u, 0x10, true },
	{ 0, 0xfffffff0u, 0x10, true },
	{ 0x10, 0xfffffff0u, 0x10, true },
	{ 0x11, 0xfffffff0u, 0x10, false },        /* a - lo = 0x21 */
	{ 0xffffffefu, 0xfffffff0u, 0x10, false }, /* a - lo = 0xffffffff */
	{ 0x80000000u, 0xfffffff0u, 0x10, false },
	/* window [0x7ffffff0, 0x80000010] crosses 2^31 */
	{ 0x7fffffffu, 0x7ffffff0u, 0x80000010u, true },
	{ 0x80000000u, 0x7ffffff0u, 0x80000010u, true },
	{ 0x80000011u, 0x7ffffff0u, 0x80000010u, false },
	/* an empty-width window holds only its point */
	{ 7, 7, 7, true },
	{ 8, 7, 7, false },
};

static void test_between(void **state)
{
	for (size_t i = 0; i < sizeof(between_cases) / sizeof(between_cases[0]); i++) {
		const struct between_case *c = &between_cases[i];

		assert_int_equal(seq_between(c->a, c->lo, c->hi), c->in);
	}
}

static void test_max(void **state)
{
	assert_int_equal(seq_max(1, 2), 2);
	assert_int_equal(seq_max(2, 1), 2);
	assert_int_equal(seq_max(0xffffffffu, 0), 0);
	assert_int_equal(seq_max(0, 0xffffffffu), 0);
	assert_int_equal(seq_max(0x7fffffffu, 0x80000000u), 0x80000000u);
	assert_int_equal(seq_max(5, 5), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_between),
		cmocka_unit_test(test_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
