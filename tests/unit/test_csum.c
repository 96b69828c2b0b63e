/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internet checksum: RFC 1071's worked example, the checksums of a real
 * capture (verified independently with Python), and incremental updates
 * checked against full recomputation by a separate reference. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"
#include "csum.h"
#include "testutil.h"

/* A second, deliberately different implementation: the one's complement
 * sum is the ordinary sum modulo 0xffff, with a non-zero sum represented
 * as 0xffff rather than 0. */
static uint16_t ref_check(const uint8_t *d, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += (i % 2) ? d[i] : (uint64_t)d[i] << 8;
	if (s != 0) {
		s %= 0xffff;
		if (s == 0)
			s = 0xffff;
	}
	return (uint16_t)~s;
}

/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2:
 * 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0, folded 0xddf0 + 2 = 0xddf2,
 * so the checksum is ~0xddf2 = 0x220d. */
static void test_rfc1071_example(void **state)
{
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint32_t s = csum_add(0, d, sizeof(d));

	assert_int_equal(csum_fold(s), 0x220d);
	assert_int_equal(ref_check(d, sizeof(d)), 0x220d);
	/* split in two calls at an even boundary gives the same sum */
	assert_int_equal(csum_fold(csum_add(csum_add(0, d, 4), d + 4, 4)), 0x220d);
	/* the order of words does not matter */
	assert_int_equal(csum_fold(csum_add(csum_add(0, d + 4, 4), d, 4)), 0x220d);
}

static void test_odd_length(void **state)
{
	/* 01 02 03 = 0x0102 + 0x0300 (padded) = 0x0402, checksum 0xfbfd */
	static const uint8_t d[] = { 0x01, 0x02, 0x03 };

	assert_int_equal(csum_fold(csum_add(0, d, 3)), 0xfbfd);
	assert_int_equal(csum_fold(csum_add(0, d, 0)), 0xffff);
}

static void test_fold(void **state)
{
	assert_int_equal(csum_fold(0), 0xffff);
	assert_int_equal(csum_fold(0xffff), 0);
	/* 0x1ffff -> 0xffff + 1 = 0x10000 -> 0x0001; ~ = 0xfffe */
	assert_int_equal(csum_fold(0x1ffff), 0xfffe);
	/* 0xffffffff -> 0xffff + 0xffff = 0x1fffe -> 0xffff; ~ = 0 */
	assert_int_equal(csum_fold(0xffffffffu), 0);
	/* 0x12345678 -> 0x5678 + 0x1234 = 0x68ac; ~ = 0x9753 */
	assert_int_equal(csum_fold(0x12345678u), 0x9753);
}

/* Many words of 0xffff: the accumulator must not lose carries. */
static void test_long_input(void **state)
{
	static uint8_t d[200001];

	memset(d, 0xff, sizeof(d));
	assert_int_equal(csum_fold(csum_add(0, d, sizeof(d))), ref_check(d, sizeof(d)));
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(csum_fold(csum_add(0, d, sizeof(d))), ref_check(d, sizeof(d)));
	/* A running sum near 2^32 carried into further data: 0xfffffff0 =
	 * 0xffff * 0x10000 + 0xfff0, the same one's complement value as 0xfff0. */
	assert_int_equal(csum_fold(csum_add(0xfffffff0u, d, 64)),
			 csum_fold(csum_add(0xfff0, d, 64)));
}

/* Every length from 0 to 70 at every alignment from 0 to 7, chained onto
 * a running sum or not: the word-wide loop and its 2- and 1-byte tails
 * agree with the reference. */
static void test_lengths_and_alignments(void **state)
{
	static uint8_t buf[96];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 167 + 91);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= 70; len++) {
			const uint8_t *d = buf + off;
			uint16_t want = ref_check(d, len);

			assert_int_equal(csum_fold(csum_add(0, d, len)), want);
			if (len >= 6)
				assert_int_equal(csum_fold(csum_add(csum_add(0, d, 6), d + 6, len - 6)),
						 want);
		}
	}
}

static uint16_t tcp_check(const uint8_t *ip, size_t iphl, size_t tot)
{
	uint8_t ph[4] = { 0, 6, 0, 0 };
	uint32_t s;

	put_be16(ph + 2, (uint16_t)(tot - iphl));
	s = csum_add(0, ip + 12, 8);
	s = csum_add(s, ph, 4);
	return csum_fold(csum_add(s, ip + iphl, tot - iphl));
}

static void check_capture(const char *hex, size_t want_len, uint16_t ipck, uint16_t tcpck)
{
	uint8_t p[128];
	size_t n = unhex(p, hex);

	assert_int_equal(n, want_len);
	/* verification: the sum over the header including its checksum is -0 */
	assert_int_equal(csum_fold(csum_add(0, p, 20)), 0);
	assert_int_equal(tcp_check(p, 20, n), 0);
	assert_int_equal(get_be16(p + 10), ipck);
	assert_int_equal(get_be16(p + 36), tcpck);
	/* computation: with the fields cleared we get the captured values */
	put_be16(p + 10, 0);
	put_be16(p + 36, 0);
	assert_int_equal(csum_fold(csum_add(0, p, 20)), ipck);
	assert_int_equal(tcp_check(p, 20, n), tcpck);
	assert_int_equal(ref_check(p, 20), ipck);
}

static void test_capture_vectors(void **state)
{
	check_capture(syn_hex, 60, 0x14a5, 0x872f);
	check_capture(ping_hex, 66, 0x149d, 0x4b5f);
}

/* RFC 1624 eqn. 3 by hand on the RFC 1071 example: the word 0x0001
 * becomes 0x0002.  ~HC + ~m + m' = 0xddf2 + 0xfffe + 0x0002 = 0x1ddf2,
 * folded 0xddf3, so HC' = 0x220c (the full sum grows by one). */
static void test_update_by_hand(void **state)
{
	assert_int_equal(csum_update16(0x220d, 0x0001, 0x0002), 0x220c);
	/* the same change as a 32-bit value 0x0001f203 -> 0x0002f203 */
	assert_int_equal(csum_update32(0x220d, 0x0001f203u, 0x0002f203u), 0x220c);
	/* swapping two words leaves the sum unchanged */
	assert_int_equal(csum_update32(0x220d, 0x0001f203u, 0xf2030001u), 0x220d);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	return (uint32_t)(xorshift64(&rng_state) >> 16);
}

/* Incremental updates applied one after another must always give exactly
 * the checksum a full recomputation gives.  The first word is a fixed
 * non-zero value (as the protocol number is in a pseudo-header), so the
 * covered data is never all zero. */
static void test_incremental_matches_full(void **state)
{
	uint8_t d[64];
	uint16_t check;

	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)rnd();
	put_be16(d, 0x0006);
	put_be16(d + 16, 0);
	check = csum_fold(csum_add(0, d, sizeof(d)));
	put_be16(d + 16, check);

	for (int it = 0; it < 200000; it++) {
		/* an even offset away from the constant word and the checksum */
		size_t off = 18 + 2 * (rnd() % 22);
		uint16_t full;

		switch (rnd() % 4) {
		case 0: {
			uint16_t old = get_be16(d + off), new = (uint16_t)rnd();

			put_be16(d + off, new);
			check = csum_update16(check, old, new);
			break;
		}
		case 1: {
			uint32_t old = get_be32(d + off), new = rnd();

			put_be32(d + off, new);
			check = csum_update32(check, old, new);
			break;
		}
		case 2: {
			/* edge values: all ones and zeros */
			uint32_t old = get_be32(d + off), new = (rnd() & 1) ? 0xffffffffu : 0;

			put_be32(d + off, new);
			check = csum_update32(check, old, new);
			break;
		}
		default: {
			/* an addition mod 2^32 as translation does */
			uint32_t old = get_be32(d + off), new = old + rnd();

			put_be32(d + off, new);
			check = csum_update32(check, old, new);
			break;
		}
		}
		put_be16(d + 16, 0);
		full = csum_fold(csum_add(0, d, sizeof(d)));
		assert_int_equal(check, full);
		assert_int_equal(ref_check(d, sizeof(d)), full);
		put_be16(d + 16, check);
		assert_int_equal(csum_fold(csum_add(0, d, sizeof(d))), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_odd_length),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_lengths_and_alignments),
		cmocka_unit_test(test_capture_vectors),
		cmocka_unit_test(test_update_by_hand),
		cmocka_unit_test(test_incremental_matches_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
