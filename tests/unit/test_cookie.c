/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SYN cookies: layout, rounding, validity window and forgery resistance.
 *
 * The cookie values in test_vectors were computed by
 * tests/unit/gen_crypto_vectors.py, an independent Python implementation
 * of the construction documented at the top of src/core/cookie.c (its
 * SipHash is itself checked against the reference vectors).  Every other
 * expectation follows from the documented tables and is written out in the
 * case tables below. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cookie.h"
#include "testutil.h"

static const uint8_t master[COOKIE_SECRET_LEN] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};

static struct cookie_opts opts(uint16_t mss, uint8_t wscale, bool sack, bool ecn, bool ts)
{
	struct cookie_opts o = { .mss = mss, .wscale = wscale, .sack = sack, .ecn = ecn, .ts = ts };

	return o;
}

/* Our TSval as the engine would send it: some clock in the high bits, the
 * cookie's bits in the low COOKIE_TS_BITS. */
static uint32_t tsval_with(uint32_t ts_bits)
{
	return 0x12345680u | ts_bits;
}

/* Makes a cookie at counter t and checks it at now; returns the result
 * and fills *out. */
static enum cookie_result round_trip(const struct conn_key *k, uint32_t irs, uint32_t t,
				     uint32_t now, struct cookie_opts *o, struct cookie_opts *out)
{
	uint32_t ts_bits = 0, cookie;

	cookie = cookie_make(master, k, irs, t, o, &ts_bits);
	memset(out, 0xa5, sizeof(*out));
	return cookie_check(master, k, irs, cookie, now, o->ts, tsval_with(ts_bits), out);
}

/* Cross-check against the independent Python implementation. */
static void test_vectors(void **state)
{
	static const struct {
		bool v6;
		uint32_t irs, t;
		uint16_t mss;
		uint8_t wscale;
		bool sack, ecn, ts;
		uint32_t cookie, ts_bits;
	} cases[] = {
		{ false, 0x01020304, 1000, 1460, 7, true, false, false, 0x8138806b, 0 },
		{ false, 0x01020304, 1001, 1460, 7, true, true, true, 0x900203eb, 0x1f },
		{ true, 0xfffffffe, 0, 1400, COOKIE_NO_WSCALE, false, false, false,
		  0x27a84b30, 0 },
		{ true, 0x80000000, 0xffffffff, 9000, 14, true, true, true, 0x378fd3ff, 0x3b },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct conn_key k;
		struct cookie_opts o = opts(cases[i].mss, cases[i].wscale, cases[i].sack,
					    cases[i].ecn, cases[i].ts);
		uint32_t ts_bits = 0;

		if (cases[i].v6)
			key_v6(&k, 51000);
		else
			key_v4(&k);
		assert_int_equal(cookie_make(master, &k, cases[i].irs, cases[i].t, &o, &ts_bits),
				 cases[i].cookie);
		assert_int_equal(ts_bits, cases[i].ts_bits);
	}
}

/* Every table entry, the values on both sides of each, and the ends. */
static const struct {
	uint16_t client, encoded;
} mss_cases[] = {
	{ 0, 536 }, { 1, 536 }, { 535, 536 },           /* below the floor */
	{ 536, 536 }, { 537, 536 }, { 1219, 536 },
	{ 1220, 1220 }, { 1221, 1220 }, { 1359, 1220 },
	{ 1360, 1360 }, { 1380, 1360 }, { 1399, 1360 },
	{ 1400, 1400 }, { 1439, 1400 },
	{ 1440, 1440 }, { 1451, 1440 },
	{ 1452, 1452 }, { 1459, 1452 },
	{ 1460, 1460 }, { 1461, 1460 }, { 8959, 1460 },
	{ 8960, 8960 }, { 9000, 8960 }, { 65535, 8960 },
};

static void test_mss_round_trip(void **state)
{
	struct conn_key k;

	key_v4(&k);
	for (size_t i = 0; i < ARRAY_LEN(mss_cases); i++) {
		for (int ts = 0; ts <= 1; ts++) {
			struct cookie_opts o = opts(mss_cases[i].client, 7, true, false, ts);
			struct cookie_opts out;

			assert_int_equal(round_trip(&k, 77, 500, 500, &o, &out), COOKIE_VALID);
			assert_int_equal(o.mss, mss_cases[i].encoded);
			assert_int_equal(out.mss, mss_cases[i].encoded);
		}
	}
}

/* Without timestamps the shift is rounded down to 0, 2, 4, 6, 7, 8 or 9;
 * with timestamps it is exact.  Above 14 counts as 14 in both. */
static const struct {
	uint8_t client, no_ts, with_ts;
} ws_cases[] = {
	{ 0, 0, 0 }, { 1, 0, 1 }, { 2, 2, 2 }, { 3, 2, 3 }, { 4, 4, 4 }, { 5, 4, 5 },
	{ 6, 6, 6 }, { 7, 7, 7 }, { 8, 8, 8 }, { 9, 9, 9 }, { 10, 9, 10 }, { 11, 9, 11 },
	{ 12, 9, 12 }, { 13, 9, 13 }, { 14, 9, 14 }, { 15, 9, 14 }, { 0xfe, 9, 14 },
	{ COOKIE_NO_WSCALE, COOKIE_NO_WSCALE, COOKIE_NO_WSCALE },
};

static void test_wscale_round_trip(void **state)
{
	struct conn_key k;

	key_v6(&k, 51000);
	for (size_t i = 0; i < ARRAY_LEN(ws_cases); i++) {
		for (int ts = 0; ts <= 1; ts++) {
			uint8_t want = ts ? ws_cases[i].with_ts : ws_cases[i].no_ts;
			struct cookie_opts o = opts(1440, ws_cases[i].client, false, false, ts);
			struct cookie_opts out;

			assert_int_equal(round_trip(&k, 0xdeadbeef, 9, 10, &o, &out),
					 COOKIE_VALID);
			assert_int_equal(o.wscale, want);
			assert_int_equal(out.wscale, want);
			assert_int_equal(out.ts, ts);
		}
	}
}

/* SACK survives either way; ECN only with timestamps. */
static void test_sack_ecn(void **state)
{
	struct conn_key k;

	key_v4(&k);
	for (int ts = 0; ts <= 1; ts++) {
		for (int sack = 0; sack <= 1; sack++) {
			for (int ecn = 0; ecn <= 1; ecn++) {
				struct cookie_opts o = opts(1460, 8, sack, ecn, ts);
				struct cookie_opts out;

				assert_int_equal(round_trip(&k, 1, 2, 2, &o, &out), COOKIE_VALID);
				assert_int_equal(out.sack, sack);
				assert_int_equal(out.ecn, ts && ecn);
				assert_int_equal(o.ecn, ts && ecn);
				assert_int_equal(out.ts, ts);
				assert_int_equal(out.mss, 1460);
				assert_int_equal(out.wscale, 8);
			}
		}
	}
}

/* ts_bits = [5:2] exact shift (15 = none), [1] SACK, [0] ECN. */
static void test_ts_bits_layout(void **state)
{
	static const struct {
		uint8_t wscale;
		bool sack, ecn;
		uint32_t ts_bits;
	} cases[] = {
		{ 0, false, false, 0x00 },
		{ 7, true, false, 0x1e },       /* 7 << 2 | 2 */
		{ 14, true, true, 0x3b },       /* 14 << 2 | 2 | 1 */
		{ 3, false, true, 0x0d },       /* 3 << 2 | 1 */
		{ COOKIE_NO_WSCALE, false, false, 0x3c },       /* 15 << 2 */
		{ COOKIE_NO_WSCALE, true, true, 0x3f },
	};
	struct conn_key k;

	key_v4(&k);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cookie_opts o = opts(536, cases[i].wscale, cases[i].sack, cases[i].ecn,
					    true);
		uint32_t ts_bits = 0xffffffff;

		cookie_make(master, &k, 5, 6, &o, &ts_bits);
		assert_int_equal(ts_bits, cases[i].ts_bits);
	}
}

/* Cookie low byte: [7] parity, [6:4] MSS index, [3:1] WS index, [0] SACK. */
static void test_low_byte_layout(void **state)
{
	static const struct {
		uint32_t t;
		uint16_t mss;
		uint8_t wscale;
		bool sack;
		uint8_t low;
	} cases[] = {
		{ 0, 536, COOKIE_NO_WSCALE, false, 0x00 },
		{ 1, 536, COOKIE_NO_WSCALE, false, 0x80 },
		{ 2, 8960, 9, true, 0x7f },     /* 7 << 4 | 7 << 1 | 1 */
		{ 3, 1220, 0, false, 0x92 },    /* 0x80 | 1 << 4 | 1 << 1 */
		{ 4, 1452, 4, true, 0x57 },     /* 5 << 4 | 3 << 1 | 1 */
	};
	struct conn_key k;

	key_v6(&k, 51000);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cookie_opts o = opts(cases[i].mss, cases[i].wscale, cases[i].sack, false,
					    false);

		assert_int_equal(cookie_make(master, &k, 5, cases[i].t, &o, NULL) & 0xff,
				 cases[i].low);
	}
}

/* Made at t: valid at t and t+1, expired at t+2 and t+3, unknown after
 * and before.  Bases cover both parities and the 2^32 wrap. */
static void test_validity_window(void **state)
{
	static const uint32_t bases[] = { 0, 1, 1000, 1001, 0xfffffffc, 0xfffffffd,
					  0xfffffffe, 0xffffffff };
	static const struct {
		uint32_t delta;
		enum cookie_result want;
	} steps[] = {
		{ 0, COOKIE_VALID }, { 1, COOKIE_VALID },
		{ 2, COOKIE_EXPIRED }, { 3, COOKIE_EXPIRED },
		{ 4, COOKIE_BAD_MAC }, { 5, COOKIE_BAD_MAC }, { 100, COOKIE_BAD_MAC },
		{ (uint32_t)-1, COOKIE_BAD_MAC }, { (uint32_t)-2, COOKIE_BAD_MAC },
	};
	struct conn_key k;

	key_v4(&k);
	for (size_t b = 0; b < ARRAY_LEN(bases); b++) {
		for (size_t s = 0; s < ARRAY_LEN(steps); s++) {
			for (int ts = 0; ts <= 1; ts++) {
				struct cookie_opts o = opts(1460, 7, true, true, ts);
				struct cookie_opts out;
				uint32_t now = bases[b] + steps[s].delta;

				enum cookie_result r;

				r = round_trip(&k, 0x7fffffff, bases[b], now, &o, &out);
				assert_int_equal(r, steps[s].want);
			}
		}
	}
}

static void test_parity_bit(void **state)
{
	struct conn_key k;

	key_v4(&k);
	for (uint32_t t = 0; t < 4; t++) {
		struct cookie_opts o = opts(1460, 7, true, false, false);

		assert_int_equal((cookie_make(master, &k, 1, t, &o, NULL) >> 7) & 1, t & 1);
	}
}

static void test_counter(void **state)
{
	static const struct {
		uint64_t now_ms;
		uint32_t counter;
	} cases[] = {
		{ 0, 0 }, { 63999, 0 }, { 64000, 1 }, { 127999, 1 }, { 128000, 2 },
		{ 64000ull * 0xffffffffull, 0xffffffff },
		{ 64000ull * 0x100000000ull, 0 },       /* the counter wraps */
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		assert_int_equal(cookie_counter(cases[i].now_ms), cases[i].counter);
}

static void test_other_master_fails(void **state)
{
	uint8_t other[COOKIE_SECRET_LEN];
	struct conn_key k;

	key_v4(&k);
	/* One bit in either half of the master changes every K(t). */
	for (unsigned byte = 0; byte < COOKIE_SECRET_LEN; byte += 31) {
		struct cookie_opts o = opts(1460, 7, true, false, false), out;
		uint32_t cookie = cookie_make(master, &k, 42, 10, &o, NULL);

		memcpy(other, master, sizeof(other));
		other[byte] ^= 0x10;
		assert_int_equal(cookie_check(other, &k, 42, cookie, 10, false, 0, &out),
				 COOKIE_BAD_MAC);
		assert_int_equal(cookie_check(master, &k, 42, cookie, 10, false, 0, &out),
				 COOKIE_VALID);
	}
}

/* Any single flipped bit of the cookie, or of the TSecr's cookie bits, or
 * a TS option that appears or vanishes between SYN and ACK, fails. */
static void test_bit_flips(void **state)
{
	struct conn_key k;

	key_v6(&k, 51000);
	for (int ts = 0; ts <= 1; ts++) {
		struct cookie_opts o = opts(1452, 6, true, true, ts), out;
		uint32_t ts_bits = 0;
		uint32_t cookie = cookie_make(master, &k, 99, 7, &o, &ts_bits);
		uint32_t tsecr = tsval_with(ts_bits);

		assert_int_equal(cookie_check(master, &k, 99, cookie, 7, ts, tsecr, &out),
				 COOKIE_VALID);
		for (unsigned bit = 0; bit < 32; bit++)
			assert_int_equal(cookie_check(master, &k, 99, cookie ^ (1u << bit), 7, ts,
						      tsecr, &out), COOKIE_BAD_MAC);
		if (ts) {
			for (unsigned bit = 0; bit < COOKIE_TS_BITS; bit++)
				assert_int_equal(cookie_check(master, &k, 99, cookie, 7, true,
							      tsecr ^ (1u << bit), &out),
						 COOKIE_BAD_MAC);
			/* The clock bits above the cookie's are not covered. */
			assert_int_equal(cookie_check(master, &k, 99, cookie, 7, true,
						      ts_bits | 0xffffffc0u, &out),
					 COOKIE_VALID);
		}
		assert_int_equal(cookie_check(master, &k, 99, cookie, 7, !ts, tsecr, &out),
				 COOKIE_BAD_MAC);
	}
}

static void test_wrong_tuple_fails(void **state)
{
	for (int v6 = 0; v6 <= 1; v6++) {
		struct conn_key base, k;
		struct cookie_opts o = opts(1440, 8, true, false, false), out;
		uint32_t cookie;

		if (v6)
			key_v6(&base, 51000);
		else
			key_v4(&base);
		cookie = cookie_make(master, &base, 0xffffffff, 3, &o, NULL);
		assert_int_equal(cookie_check(master, &base, 0xffffffff, cookie, 3, false, 0, &out),
				 COOKIE_VALID);
		assert_int_equal(cookie_check(master, &base, 0, cookie, 3, false, 0, &out),
				 COOKIE_BAD_MAC);
		assert_int_equal(cookie_check(master, &base, 0xfffffffe, cookie, 3, false, 0, &out),
				 COOKIE_BAD_MAC);

		k = base;
		k.cport++;
		assert_int_equal(cookie_check(master, &k, 0xffffffff, cookie, 3, false, 0, &out),
				 COOKIE_BAD_MAC);
		k = base;
		k.sport ^= 0x8000;
		assert_int_equal(cookie_check(master, &k, 0xffffffff, cookie, 3, false, 0, &out),
				 COOKIE_BAD_MAC);
		for (unsigned byte = 0; byte < 16; byte += 5) {
			k = base;
			k.caddr.a[byte] ^= 1;
			assert_int_equal(cookie_check(master, &k, 0xffffffff, cookie, 3, false, 0,
						      &out), COOKIE_BAD_MAC);
			k = base;
			k.saddr.a[byte] ^= 1;
			assert_int_equal(cookie_check(master, &k, 0xffffffff, cookie, 3, false, 0,
						      &out), COOKIE_BAD_MAC);
		}
		/* The reverse direction is another connection. */
		k.caddr = base.saddr;
		k.saddr = base.caddr;
		k.cport = base.sport;
		k.sport = base.cport;
		assert_int_equal(cookie_check(master, &k, 0xffffffff, cookie, 3, false, 0, &out),
				 COOKIE_BAD_MAC);
	}
}

/* A blind attacker's random guess validates with probability 2^-24 (one
 * MAC per check): 10^6 guesses expect 0.06 successes, and P(more than 5)
 * is about 5e-11.  Half the guesses also carry random TSecr bits. */
static void test_random_guesses(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned valid = 0;
	struct conn_key k;

	key_v4(&k);
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t r = xorshift64(&seed);
		struct cookie_opts out;

		if (cookie_check(master, &k, 1234, (uint32_t)r, 555, (r >> 32) & 1,
				 (uint32_t)(r >> 33), &out) == COOKIE_VALID)
			valid++;
	}
	assert_true(valid <= 5);
}

/*
 * The key cache gives the same cookies and verdicts as deriving every key
 * afresh (cookie_make / cookie_check with the secret), whatever order the
 * periods come in: forwards, back, jumps of 2 and 4 (same slot, other
 * period), and around the 2^32 wrap of the counter.
 */
static void test_key_cache_agrees(void **state)
{
	static const uint32_t seq[] = {
		7, 7, 8, 9, 8, 7, 11, 15, 13, 9, 100, 102, 104, 100, 0xffffffffu, 0, 1,
		0xfffffffeu, 3, 2, 1000, 1001, 999, 998, 1004,
	};
	struct cookie_keys ck;
	struct conn_key k;

	key_v6(&k, 51000);
	cookie_keys_init(&ck, master);
	for (size_t i = 0; i < ARRAY_LEN(seq); i++) {
		for (uint32_t now = seq[i]; now != seq[i] + 4; now++) {
			struct cookie_opts a = opts(1460, 7, true, false, i & 1);
			struct cookie_opts b = a, oa, ob;
			uint32_t ta = 0, tb = 0;
			uint32_t ca = cookie_make_keys(&ck, &k, (uint32_t)i, seq[i], &a, &ta);
			uint32_t cb = cookie_make(master, &k, (uint32_t)i, seq[i], &b, &tb);

			assert_int_equal(ca, cb);
			assert_int_equal(ta, tb);
			/* now - seq[i] = 0, 1 valid; 2, 3 expired (see validity_window). */
			assert_int_equal(cookie_check_keys(&ck, &k, (uint32_t)i, ca, now, a.ts,
							   tsval_with(ta), &oa),
					 cookie_check(master, &k, (uint32_t)i, ca, now, a.ts,
						      tsval_with(ta), &ob));
			assert_int_equal(cookie_check_keys(&ck, &k, (uint32_t)i, ca, now, a.ts,
							   tsval_with(ta), &oa),
					 now - seq[i] < 2 ? COOKIE_VALID : COOKIE_EXPIRED);
			assert_int_equal(cookie_check_keys(&ck, &k, (uint32_t)i, ca ^ 0x100, now,
							   a.ts, tsval_with(ta), &oa),
					 COOKIE_BAD_MAC);
		}
	}
}

/* cookie_ts_bits gives exactly the bits cookie_make puts in *ts_bits. */
static void test_ts_bits_without_mac(void **state)
{
	struct conn_key k;

	key_v6(&k, 51000);
	for (unsigned ws = 0; ws <= 16; ws++) {
		for (unsigned f = 0; f < 4; f++) {
			struct cookie_opts o = opts(1460, ws == 16 ? COOKIE_NO_WSCALE : (uint8_t)ws,
						    f & 1, f & 2, true);
			uint32_t want = 0, got = cookie_ts_bits(&o);

			cookie_make(master, &k, 1, 2, &o, &want);
			assert_int_equal(got, want);
		}
	}
}

static void test_result_names(void **state)
{
	assert_string_equal(cookie_result_name(COOKIE_VALID), "valid");
	assert_string_equal(cookie_result_name(COOKIE_BAD_MAC), "bad_mac");
	assert_string_equal(cookie_result_name(COOKIE_EXPIRED), "expired");
	assert_string_equal(cookie_result_name(COOKIE_RESULT_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_mss_round_trip),
		cmocka_unit_test(test_wscale_round_trip),
		cmocka_unit_test(test_sack_ecn),
		cmocka_unit_test(test_ts_bits_layout),
		cmocka_unit_test(test_low_byte_layout),
		cmocka_unit_test(test_validity_window),
		cmocka_unit_test(test_parity_bit),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_other_master_fails),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_wrong_tuple_fails),
		cmocka_unit_test(test_random_guesses),
		cmocka_unit_test(test_key_cache_agrees),
		cmocka_unit_test(test_ts_bits_without_mac),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
