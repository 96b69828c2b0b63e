/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TCP options.  Option bytes are written out by hand in each case; the
 * SYN's options come from a real Linux capture (redis-cli ping). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tcpopt.h"

/* The captured SYN's options: MSS 1460, SACK-permitted, TS val 0xb062e330
 * (2959270704) ecr 0, NOP, window scale 7. */
static const uint8_t syn_opts[] = {
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xb0, 0x62, 0xe3, 0x30,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

struct parse_case {
	const char *name;
	uint8_t opts[40];
	uint8_t optlen;      /* hdrlen = 20 + optlen */
	int rc;
	uint8_t have;        /* checked when rc == 0 */
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval, tsecr;
	uint8_t ts_off;
	uint8_t nsack;
	uint32_t sack0_left, sack_last_right;
	uint8_t sack_off;
};

static const struct parse_case parse_cases[] = {
	{ .name = "linux syn",
	  .opts = { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xb0, 0x62, 0xe3, 0x30,
		    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07 }, .optlen = 20,
	  .have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = 1460, .wscale = 7,
	  .tsval = 2959270704u, .tsecr = 0, .ts_off = 26 },
	{ .name = "no options", .optlen = 0 },
	{ .name = "nops only", .opts = { 1, 1, 1, 1 }, .optlen = 4 },
	{ .name = "eol then garbage is ignored", .opts = { 0, 0x02, 0x00, 0xff }, .optlen = 4 },
	{ .name = "mss then eol then bad length", .opts = { 2, 4, 0x12, 0x34, 0, 9, 0, 0 },
	  .optlen = 8, .have = TO_MSS, .mss = 0x1234 },
	{ .name = "zero length", .opts = { 0x02, 0x00, 0x00, 0x00 }, .optlen = 4, .rc = -1 },
	{ .name = "length one", .opts = { 0x1e, 0x01, 0x00, 0x00 }, .optlen = 4, .rc = -1 },
	{ .name = "length byte missing", .opts = { 1, 1, 1, 0x1e }, .optlen = 4, .rc = -1 },
	{ .name = "overruns header", .opts = { 0x02, 0x05, 0x05, 0xb4 }, .optlen = 4, .rc = -1 },
	{ .name = "last option overruns by one", .opts = { 1, 0x03, 0x04, 0x07 }, .optlen = 4,
	  .rc = -1 },
	{ .name = "unknown kind skipped",
	  .opts = { 0x1e, 0x04, 0xaa, 0xbb, 0x02, 0x04, 0x02, 0x18 }, .optlen = 8,
	  .have = TO_MSS, .mss = 0x0218 },
	{ .name = "mss length 3 is unknown", .opts = { 0x02, 0x03, 0x05, 0x00 }, .optlen = 4 },
	{ .name = "wscale length 4 is unknown", .opts = { 0x03, 0x04, 0x05, 0x00 }, .optlen = 4 },
	{ .name = "sackok length 3 is unknown", .opts = { 0x04, 0x03, 0x00, 0x00 }, .optlen = 4 },
	{ .name = "ts length 9 is unknown",
	  .opts = { 0x08, 0x09, 1, 2, 3, 4, 5, 6, 7, 0x00, 0, 0 }, .optlen = 12 },
	{ .name = "ts length 11 is unknown",
	  .opts = { 0x08, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0 }, .optlen = 12 },
	{ .name = "sack length 11 is unknown",
	  .opts = { 0x05, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0 }, .optlen = 12 },
	{ .name = "sack length 2 is unknown", .opts = { 0x05, 0x02, 1, 1 }, .optlen = 4 },
	{ .name = "wscale above 14 is kept", .opts = { 0x01, 0x03, 0x03, 0x0f }, .optlen = 4,
	  .have = TO_WSCALE, .wscale = 15 },
	{ .name = "ts at an odd offset",
	  .opts = { 0x01, 0x08, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00 },
	  .optlen = 12, .have = TO_TS, .tsval = 0xffffffffu, .tsecr = 1, .ts_off = 21 },
	{ .name = "one sack block",
	  .opts = { 1, 1, 0x05, 0x0a, 0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x10 },
	  .optlen = 12, .have = TO_SACK, .nsack = 1, .sack0_left = 0xfffffff0u,
	  .sack_last_right = 0x10, .sack_off = 22 },
	{ .name = "four sack blocks",
	  .opts = { 0x05, 0x22,
		    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		    0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0x80, 0, 0, 0, 1, 1 },
	  .optlen = 36, .have = TO_SACK, .nsack = 4, .sack0_left = 1,
	  .sack_last_right = 0x80000000u, .sack_off = 20 },
	{ .name = "ts and sack",
	  .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0 },
	  .optlen = 24, .have = TO_TS | TO_SACK, .tsval = 9, .tsecr = 8, .ts_off = 22,
	  .nsack = 1, .sack0_left = 0x100, .sack_last_right = 0x200, .sack_off = 34 },
	{ .name = "repeated mss: the last wins", .opts = { 2, 4, 0, 1, 2, 4, 0, 2 },
	  .optlen = 8, .have = TO_MSS, .mss = 2 },
	{ .name = "full 40 bytes of nops",
	  .opts = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, .optlen = 40 },
};

static void test_parse_table(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t hdrlen = 20 + (size_t)c->optlen;
		/* an exact-size copy, so a read past the header trips ASan */
		uint8_t *tcp = malloc(hdrlen);
		struct tcpopt o;
		int rc;

		assert_non_null(tcp);
		memset(tcp, 0x5a, 20);
		memcpy(tcp + 20, c->opts, c->optlen);
		rc = tcpopt_parse(tcp, hdrlen, &o);
		free(tcp);
		if (rc != c->rc)
			fail_msg("case \"%s\": rc %d, expected %d", c->name, rc, c->rc);
		if (rc != 0)
			continue;
		if (o.have != c->have)
			fail_msg("case \"%s\": have 0x%x, expected 0x%x", c->name, o.have, c->have);
		if (o.have & TO_MSS)
			assert_int_equal(o.mss, c->mss);
		if (o.have & TO_WSCALE)
			assert_int_equal(o.wscale, c->wscale);
		if (o.have & TO_TS) {
			assert_int_equal(o.tsval, c->tsval);
			assert_int_equal(o.tsecr, c->tsecr);
		}
		assert_int_equal(o.ts_off, c->ts_off);
		assert_int_equal(o.sack_off, c->sack_off);
		assert_int_equal(o.nsack, c->nsack);
		if (c->nsack) {
			assert_int_equal(o.sack[0][0], c->sack0_left);
			assert_int_equal(o.sack[c->nsack - 1][1], c->sack_last_right);
		}
	}
}

static void test_four_sack_blocks_all_edges(void **state)
{
	const struct parse_case *c = &parse_cases[21];
	uint8_t tcp[60] = { 0 };
	struct tcpopt o;

	assert_string_equal(c->name, "four sack blocks");
	memcpy(tcp + 20, c->opts, c->optlen);
	assert_int_equal(tcpopt_parse(tcp, 20 + c->optlen, &o), 0);
	assert_int_equal(o.nsack, 4);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(o.sack[i][0], 2 * i + 1);
		assert_int_equal(o.sack[i][1], 2 * i + 2);
	}
	assert_int_equal(o.sack[3][0], 7);
	assert_int_equal(o.sack[3][1], 0x80000000u);
}

struct write_case {
	const char *name;
	struct tcpopt o;
	uint8_t len;
	uint8_t bytes[20];
};

static const struct write_case write_cases[] = {
	{ "linux syn", { .have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = 1460, .wscale = 7,
	  .tsval = 2959270704u, .tsecr = 0 }, 20,
	  { 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0xb0, 0x62, 0xe3, 0x30,
	    0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07 } },
	{ "ts only", { .have = TO_TS, .tsval = 0x01020304, .tsecr = 0xa0b0c0d0 }, 12,
	  { 1, 1, 8, 10, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0 } },
	{ "sackok only", { .have = TO_SACKOK }, 4, { 1, 1, 4, 2 } },
	{ "wscale only", { .have = TO_WSCALE, .wscale = 14 }, 4, { 1, 3, 3, 14 } },
	{ "mss only", { .have = TO_MSS, .mss = 536 }, 4, { 2, 4, 0x02, 0x18 } },
	{ "mss sackok wscale", { .have = TO_MSS | TO_SACKOK | TO_WSCALE, .mss = 65535,
	  .wscale = 0 }, 12, { 2, 4, 0xff, 0xff, 1, 1, 4, 2, 1, 3, 3, 0 } },
	{ "mss ts", { .have = TO_MSS | TO_TS, .mss = 1220, .tsval = 0xffffffffu, .tsecr = 1 }, 16,
	  { 2, 4, 0x04, 0xc4, 1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1 } },
	{ "sack blocks are not written", { .have = TO_SACK, .nsack = 1,
	  .sack = { { 1, 2 } } }, 0, { 0 } },
	{ "nothing", { .have = 0 }, 0, { 0 } },
};

static void test_write_table(void **state)
{
	for (size_t i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		const struct write_case *c = &write_cases[i];
		uint8_t buf[24];
		size_t n;

		memset(buf, 0xee, sizeof(buf));
		n = tcpopt_write(buf, sizeof(buf), &c->o);
		if (n != c->len)
			fail_msg("case \"%s\": %zu bytes, expected %u", c->name, n, c->len);
		assert_memory_equal(buf, c->bytes, n);
		assert_int_equal(buf[n], 0xee);
		assert_int_equal(n % 4, 0);

		/* exactly enough room works; one byte less writes nothing */
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(tcpopt_write(buf, c->len, &c->o), c->len);
		assert_memory_equal(buf, c->bytes, c->len);
		if (c->len > 0) {
			memset(buf, 0xee, sizeof(buf));
			assert_int_equal(tcpopt_write(buf, c->len - 1u, &c->o), 0);
			assert_int_equal(buf[0], 0xee);
		}
	}
}

/* What we write parses back to what we asked for. */
static void test_write_parse_roundtrip(void **state)
{
	for (unsigned have = 0; have < 16; have++) {
		struct tcpopt in = { .have = (uint8_t)have, .mss = 1400, .wscale = 9,
				     .tsval = 0xfffffffeu, .tsecr = 0x80000000u };
		uint8_t tcp[60] = { 0 };
		struct tcpopt out;
		size_t n = tcpopt_write(tcp + 20, 40, &in);

		assert_true(n <= 20);
		assert_int_equal(n % 4, 0);
		assert_int_equal(tcpopt_parse(tcp, 20 + n, &out), 0);
		assert_int_equal(out.have, have);
		if (have & TO_MSS)
			assert_int_equal(out.mss, 1400);
		if (have & TO_WSCALE)
			assert_int_equal(out.wscale, 9);
		if (have & TO_TS) {
			assert_int_equal(out.tsval, 0xfffffffeu);
			assert_int_equal(out.tsecr, 0x80000000u);
			/* Linux's layout puts the timestamp values on a 4-byte boundary */
			assert_int_equal((out.ts_off + 2) % 4, 0);
		}
	}
}

static void test_syn_vector(void **state)
{
	uint8_t tcp[40] = { 0 };
	struct tcpopt o;
	uint8_t out[20];

	memcpy(tcp + 20, syn_opts, sizeof(syn_opts));
	assert_int_equal(tcpopt_parse(tcp, sizeof(tcp), &o), 0);
	assert_int_equal(tcpopt_write(out, sizeof(out), &o), sizeof(syn_opts));
	assert_memory_equal(out, syn_opts, sizeof(syn_opts));
}

/* Every header length and every byte value in the first option slot:
 * the parser must stay inside the header (checked under ASan). */
static void test_exhaustive_small(void **state)
{
	for (size_t hdrlen = 20; hdrlen <= 24; hdrlen++) {
		for (unsigned a = 0; a < 256; a++) {
			for (unsigned b = 0; b < 256; b++) {
				uint8_t *tcp = malloc(hdrlen);
				struct tcpopt o;
				int rc;

				assert_non_null(tcp);
				memset(tcp, 0, hdrlen);
				if (hdrlen > 20)
					tcp[20] = (uint8_t)a;
				if (hdrlen > 21)
					tcp[21] = (uint8_t)b;
				if (hdrlen > 22)
					tcp[22] = 1;
				rc = tcpopt_parse(tcp, hdrlen, &o);
				/* Hand rule: a kind other than 0/1 in the last byte, or a
				 * length < 2 or past the end, is an error. */
				if (hdrlen == 21) {
					assert_int_equal(rc, a > 1 ? -1 : 0);
				} else if (hdrlen > 21 && a > 1) {
					assert_int_equal(rc, (b < 2 || b > hdrlen - 20) ? -1 : 0);
				}
				free(tcp);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_four_sack_blocks_all_edges),
		cmocka_unit_test(test_write_table),
		cmocka_unit_test(test_write_parse_roundtrip),
		cmocka_unit_test(test_syn_vector),
		cmocka_unit_test(test_exhaustive_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
