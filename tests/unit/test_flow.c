/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flow.h"

static const uint8_t hkey[SIPHASH_KEY_LEN] = {
	15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
};

#define POOL 200
#define MAX_FLOWS 32

static struct conn_key pool_key(unsigned i)
{
	struct conn_key k;
	uint8_t c[4] = { 198, 18, (uint8_t)(i >> 8), (uint8_t)i };
	uint8_t s[4] = { 203, 0, 113, 2 };

	memset(&k, 0, sizeof(k));
	addr_from_v4(&k.caddr, c);
	addr_from_v4(&k.saddr, s);
	k.cport = (uint16_t)(40000 + i);
	k.sport = 8080;
	return k;
}

static void count_flow(const struct flow *f, void *ctx)
{
	(void)f;
	(*(unsigned *)ctx)++;
}

/* Random inserts and removes on a table of 32 flows over 32 buckets (so
 * chains of several flows are the rule), checked after every step
 * against a model: every key of the pool is found exactly when the model
 * holds it, as its own flow, and the walk sees every flow once. */
static void test_flowtab_matches_model(void **state)
{
	struct flowtab *ft = flowtab_new(MAX_FLOWS, hkey);
	struct flow *model[POOL] = { NULL };
	unsigned held = 0;

	(void)state;
	assert_non_null(ft);
	srand(7);
	for (int step = 0; step < 20000; step++) {
		unsigned i = (unsigned)rand() % POOL;
		struct conn_key k = pool_key(i);
		unsigned walked = 0;

		if (model[i]) {
			flowtab_remove(ft, model[i]);
			model[i] = NULL;
			held--;
		} else {
			struct flow *f = flowtab_insert(ft, &k, (uint64_t)step);

			if (held == MAX_FLOWS) {
				assert_null(f);
			} else {
				assert_non_null(f);
				f->fl_irs = i;
				model[i] = f;
				held++;
			}
		}
		assert_int_equal(flowtab_count(ft), held);
		for (unsigned j = 0; j < POOL; j++) {
			struct conn_key kj = pool_key(j);
			struct flow *f = flowtab_lookup(ft, &kj);

			assert_ptr_equal(f, model[j]);
			if (f) {
				assert_true(conn_key_eq(&f->fl_key, &kj));
				assert_int_equal(f->fl_irs, j);
			}
		}
		flowtab_walk(ft, count_flow, &walked);
		assert_int_equal(walked, held);
	}
	flowtab_free(ft);
}

/* Emptying the table leaves nothing to find, and every flow can be
 * inserted again. */
static void test_flowtab_empties_and_refills(void **state)
{
	struct flowtab *ft = flowtab_new(MAX_FLOWS, hkey);
	struct flow *f[MAX_FLOWS];

	(void)state;
	assert_non_null(ft);
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < MAX_FLOWS; i++) {
			struct conn_key k = pool_key(i + (unsigned)round);

			f[i] = flowtab_insert(ft, &k, 0);
			assert_non_null(f[i]);
		}
		for (unsigned i = 0; i < MAX_FLOWS; i++)
			flowtab_remove(ft, f[i]);
		assert_int_equal(flowtab_count(ft), 0);
		for (unsigned j = 0; j < POOL; j++) {
			struct conn_key k = pool_key(j);

			assert_null(flowtab_lookup(ft, &k));
		}
	}
	flowtab_free(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flowtab_matches_model),
		cmocka_unit_test(test_flowtab_empties_and_refills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
