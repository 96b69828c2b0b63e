/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RFC 6528 ISNs.  The expected values were computed by
 * tests/unit/gen_crypto_vectors.py, an independent Python SipHash written
 * from the paper and checked there against the reference vectors; the
 * clock arithmetic is worked by hand in the comments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "isn.h"
#include "seq.h"
#include "testutil.h"

static const uint8_t key20[SIPHASH_KEY_LEN] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};

/* F = 0xd9ad853e for the v4 tuple (now 0, so M = 0).  The other rows are
 * F + M mod 2^32 with M = now * 250 mod 2^32:
 *   1 ms:         M = 250 = 0xfa;        0xd9ad853e + 0xfa = 0xd9ad8638
 *   17179869 ms:  M = 4294967250 = -46;  0xd9ad853e - 0x2e = 0xd9ad8510
 *   17179870 ms:  M = 4294967500 - 2^32 = 204 = 0xcc;     = 0xd9ad860a
 *   2^40 ms:      M = 2^40 * 250 = 0 mod 2^32;            = 0xd9ad853e */
static const struct {
	uint64_t now_ms;
	uint32_t isn;
} v4_vectors[] = {
	{ 0, 0xd9ad853e },
	{ 1, 0xd9ad8638 },
	{ 17179869, 0xd9ad8510 },
	{ 17179870, 0xd9ad860a },
	{ 1ull << 40, 0xd9ad853e },
};

static void test_vectors(void **state)
{
	struct conn_key k;

	key_v4(&k);
	for (size_t i = 0; i < sizeof(v4_vectors) / sizeof(v4_vectors[0]); i++)
		assert_int_equal(isn_generate(key20, &k, v4_vectors[i].now_ms), v4_vectors[i].isn);
	key_v6(&k, 40000);
	assert_int_equal(isn_generate(key20, &k, 0), 0x14140611);
}

static void test_deterministic(void **state)
{
	struct conn_key a, b;

	key_v4(&a);
	key_v4(&b);
	assert_int_equal(isn_generate(key20, &a, 123456), isn_generate(key20, &b, 123456));
}

/* Each field of the tuple, and the direction, feeds F. */
static void test_tuple_changes_isn(void **state)
{
	struct conn_key base, k;
	uint32_t ref;

	key_v4(&base);
	ref = isn_generate(key20, &base, 5000);

	k = base;
	k.cport++;
	assert_int_not_equal(isn_generate(key20, &k, 5000), ref);
	k = base;
	k.sport++;
	assert_int_not_equal(isn_generate(key20, &k, 5000), ref);
	k = base;
	k.caddr.a[15] ^= 1;
	assert_int_not_equal(isn_generate(key20, &k, 5000), ref);
	k = base;
	k.saddr.a[0] ^= 0x80;
	assert_int_not_equal(isn_generate(key20, &k, 5000), ref);

	/* Swapping the ends is a different connection. */
	k.caddr = base.saddr;
	k.saddr = base.caddr;
	k.cport = base.sport;
	k.sport = base.cport;
	assert_int_not_equal(isn_generate(key20, &k, 5000), ref);
}

static void test_key_changes_isn(void **state)
{
	struct conn_key k;
	uint8_t key[SIPHASH_KEY_LEN];
	uint32_t ref;

	key_v4(&k);
	ref = isn_generate(key20, &k, 0);
	for (unsigned i = 0; i < SIPHASH_KEY_LEN; i++) {
		memcpy(key, key20, sizeof(key));
		key[i] ^= 0x01;
		assert_int_not_equal(isn_generate(key, &k, 0), ref);
	}
}

/* M advances by 250 per millisecond, through the 2^32 wrap, so that
 * successive ISNs of a tuple move forward in sequence space. */
static void test_clock_advances(void **state)
{
	static const uint64_t starts[] = {
		0, 1000, 17179860, 17179869, 34359730, (1ull << 32) - 5, 1ull << 40,
	};
	struct conn_key k;

	key_v6(&k, 40000);
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (uint64_t ms = starts[i]; ms < starts[i] + 10; ms++) {
			uint32_t a = isn_generate(key20, &k, ms);
			uint32_t b = isn_generate(key20, &k, ms + 1);

			assert_int_equal((uint32_t)(b - a), 250);
			assert_true(seq_after(b, a));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_tuple_changes_isn),
		cmocka_unit_test(test_key_changes_isn),
		cmocka_unit_test(test_clock_advances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
