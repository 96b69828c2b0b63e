/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Translation of established segments.  Expected field values are the
 * additions mod 2^32 written out by hand; checksums are verified by a
 * separate reference sum (ordinary sum modulo 0xffff) as well as by
 * packet_tcp_csum_ok, and compared with a full recomputation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"
#include "packet.h"
#include "tcpopt.h"
#include "translate.h"
#include "testutil.h"

/* The "ping" segment of a real capture: seq 0xf65aec00, ack 0xfe335504,
 * ACK|PSH, window 229, TS val 0xb062ecac ecr 0xbab26fe6 (option at 22). */
/* Scapy: the same TCP segment behind IPv6 hop-by-hop and destination options */
static const char v6ext_hex[] =
	"60000000003e004020010db800000000000000000000000120010db80000000000000000000000"
	"023c000104000000000600010400000000989e18ebf65aec00fe335504801800e517330000010108"
	"0ab062ecacbab26fe62a310d0a24340d0a70696e670d0a";


/* Reference one's complement sum of pseudo-header and segment, as the
 * ordinary sum modulo 0xffff (0xffff standing for a non-zero multiple).
 * A correct checksum makes it 0xffff. */
static uint16_t ref_sum(const struct pkt *p)
{
	const uint8_t *d = p->data;
	uint32_t l4len = p->len - p->l4off;
	/* protocol and length words: 2^16 = 1 (mod 0xffff), so the IPv6
	 * 32-bit length adds up to the same as its value */
	uint64_t s = 6 + l4len;

	if (p->family == 4) {
		for (int i = 12; i < 20; i += 2)
			s += get_be16(d + i);
	} else {
		for (int i = 8; i < 40; i += 2)
			s += get_be16(d + i);
	}
	for (uint32_t i = 0; i < l4len; i++)
		s += (i % 2) ? d[p->l4off + i] : (uint64_t)d[p->l4off + i] << 8;
	s %= 0xffff;
	return s == 0 ? 0xffff : (uint16_t)s;
}

/* Builds an IPv4 or IPv6 TCP packet with the given option bytes and a
 * checksum from the reference sum. */
static size_t make_pkt(uint8_t *buf, int v6, uint8_t flags, uint32_t seq, uint32_t ack,
		       uint16_t win, const uint8_t *opts, size_t optlen, size_t paylen)
{
	size_t iphl = v6 ? 40 : 20, doff = 20 + optlen, n = iphl + doff + paylen;
	uint8_t *tcp = buf + iphl;
	struct pkt p;

	assert_true(optlen % 4 == 0 && optlen <= 40);
	memset(buf, 0, n);
	if (v6) {
		buf[0] = 0x60;
		put_be16(buf + 4, (uint16_t)(n - 40));
		buf[6] = 6;
		buf[7] = 64;
		buf[8] = 0x20;
		buf[9] = 0x01;
		buf[23] = 1;
		buf[24] = 0x20;
		buf[25] = 0x01;
		buf[39] = 2;
	} else {
		buf[0] = 0x45;
		put_be16(buf + 2, (uint16_t)n);
		buf[8] = 64;
		buf[9] = 6;
		buf[12] = 192;
		buf[15] = 1;
		buf[16] = 198;
		buf[19] = 7;
	}
	put_be16(tcp, 40000);
	put_be16(tcp + 2, 443);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, ack);
	tcp[12] = (uint8_t)((doff / 4) << 4);
	tcp[13] = flags;
	put_be16(tcp + 14, win);
	if (optlen)
		memcpy(tcp + 20, opts, optlen);
	for (size_t i = 0; i < paylen; i++)
		tcp[doff + i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	put_be16(tcp + 16, (uint16_t)~ref_sum(&p));
	assert_int_equal(ref_sum(&p), 0xffff);
	return n;
}

static void assert_csum_valid(const struct pkt *p)
{
	assert_int_equal(ref_sum(p), 0xffff);
	assert_true(packet_tcp_csum_ok(p));
}

static void test_ping_wrap(void **state)
{
	uint8_t buf[128], orig[128];
	size_t n = unhex(buf, ping_hex);
	struct pkt p;
	struct tcpopt o;
	const struct xlate x = {
		.seq_add = 0x0a000000u,     /* 0xf65aec00 + 0x0a000000 = 0x1_005aec00 */
		.ack_add = 0x02000000u,     /* 0xfe335504 + 0x02000000 = 0x1_00335504 */
		.tsval_add = 0x50000000u,   /* 0xb062ecac + 0x50000000 = 0x1_0062ecac */
		.tsecr_add = 0x45600000u,   /* 0xbab26fe6 + 0x45600000 = 0x1_00126fe6 */
		.sack_add = 0x1234,         /* no SACK: nothing to do */
	};

	memcpy(orig, buf, n);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	translate_apply(&p, &x);
	assert_int_equal(p.seq, 0x005aec00u);
	assert_int_equal(p.ack, 0x00335504u);
	assert_int_equal(p.win, 229);
	assert_int_equal(get_be32(buf + 24), 0x005aec00u);
	assert_int_equal(get_be32(buf + 28), 0x00335504u);
	assert_int_equal(tcpopt_parse(buf + 20, 32, &o), 0);
	assert_int_equal(o.tsval, 0x0062ecacu);
	assert_int_equal(o.tsecr, 0x00126fe6u);
	assert_csum_valid(&p);
	/* IP header, ports, NOPs and payload untouched */
	assert_memory_equal(buf, orig, 24);
	assert_memory_equal(buf + 32, orig + 32, 4);
	assert_memory_equal(buf + 40, orig + 40, 4);
	assert_memory_equal(buf + 52, orig + 52, 14);

	/* subtracting it all again restores the original bytes exactly */
	{
		const struct xlate back = {
			.seq_add = (uint32_t)-0x0a000000, .ack_add = (uint32_t)-0x02000000,
			.tsval_add = (uint32_t)-0x50000000, .tsecr_add = (uint32_t)-0x45600000,
		};

		translate_apply(&p, &back);
		assert_memory_equal(buf, orig, n);
		assert_int_equal(p.seq, 0xf65aec00u);
		assert_int_equal(p.ack, 0xfe335504u);
	}
}

static void test_zero_xlate_is_noop(void **state)
{
	uint8_t buf[128], orig[128];
	size_t n = unhex(buf, ping_hex);
	struct pkt p;
	const struct xlate x = { 0 };
	const struct xlate same_scale = { .win_from = 7, .win_to = 7 };

	memcpy(orig, buf, n);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	translate_apply(&p, &x);
	translate_apply(&p, &same_scale);
	assert_memory_equal(buf, orig, n);
}

/* SACK edges and timestamps, including edges across 2^32 and 2^31. */
static void test_sack_ts(void **state)
{
	static const uint8_t opts[] = {
		1, 1, 5, 18,
		0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff, 0xfa,   /* block 1 */
		0x7f, 0xff, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x10,   /* block 2 */
		1, 1, 8, 10, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	};
	const struct xlate x = {
		.seq_add = 1, .ack_add = 0x80000000u, .sack_add = 0x20,
		.tsval_add = 1, .tsecr_add = 0xffffffffu,
	};
	uint8_t buf[160];
	size_t n = make_pkt(buf, 0, TCPH_ACK, 0xffffffffu, 0x10, 1000, opts, sizeof(opts), 7);
	struct pkt p;
	struct tcpopt o;

	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	translate_apply(&p, &x);
	assert_int_equal(p.seq, 0);             /* 0xffffffff + 1 */
	assert_int_equal(p.ack, 0x80000010u);
	assert_int_equal(tcpopt_parse(buf + 20, p.doff, &o), 0);
	assert_int_equal(o.nsack, 2);
	assert_int_equal(o.sack[0][0], 0x10);           /* 0xfffffff0 + 0x20 */
	assert_int_equal(o.sack[0][1], 0x1a);           /* 0xfffffffa + 0x20 */
	assert_int_equal(o.sack[1][0], 0x8000001eu);    /* 0x7ffffffe + 0x20 */
	assert_int_equal(o.sack[1][1], 0x80000030u);
	assert_int_equal(o.tsval, 0);                   /* 0xffffffff + 1 */
	assert_int_equal(o.tsecr, 0xffffffffu);         /* 0 - 1 */
	assert_csum_valid(&p);
}

/* Without ACK the acknowledgement and TSecr fields are meaningless and
 * stay as they are. */
static void test_no_ack(void **state)
{
	static const uint8_t opts[] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 9 };
	const struct xlate x = { .seq_add = 100, .ack_add = 100, .tsval_add = 100,
				 .tsecr_add = 100 };
	uint8_t buf[160];
	size_t n = make_pkt(buf, 0, TCPH_SYN, 1000, 2000, 512, opts, sizeof(opts), 0);
	struct pkt p;
	struct tcpopt o;

	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	translate_apply(&p, &x);
	assert_int_equal(p.seq, 1100);
	assert_int_equal(p.ack, 2000);
	assert_int_equal(get_be32(buf + 28), 2000);
	assert_int_equal(tcpopt_parse(buf + 20, p.doff, &o), 0);
	assert_int_equal(o.tsval, 105);
	assert_int_equal(o.tsecr, 9);
	assert_csum_valid(&p);
}

/* Options placed on odd offsets: each 32-bit field straddles three
 * checksum words. */
static void test_odd_offsets(void **state)
{
	static const uint8_t opts[] = {
		1,                                              /* 20 */
		8, 10, 0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xff, 0xfe, /* 21: TS */
		5, 10, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x05, /* 31: SACK */
		0, 0, 0,                                        /* 41: EOL */
	};
	const struct xlate x = { .sack_add = 0x01010101u, .tsval_add = 0xedcba988u,
				 .tsecr_add = 0x3 };
	uint8_t buf[160];
	size_t n = make_pkt(buf, 1, TCPH_ACK, 5, 6, 7, opts, sizeof(opts), 3);
	struct pkt p;
	struct tcpopt o;

	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_int_equal(tcpopt_parse(buf + 40, p.doff, &o), 0);
	assert_int_equal(o.ts_off, 21);
	assert_int_equal(o.sack_off, 31);
	translate_apply(&p, &x);
	assert_int_equal(tcpopt_parse(buf + 40, p.doff, &o), 0);
	assert_int_equal(o.tsval, 0);                   /* 0x12345678 + 0xedcba988 = 2^32 */
	assert_int_equal(o.tsecr, 1);                   /* 0xfffffffe + 3 */
	assert_int_equal(o.sack[0][0], 0x01010100u);    /* 0xffffffff + 0x01010101 */
	assert_int_equal(o.sack[0][1], 0x01010106u);
	assert_csum_valid(&p);
	assert_int_equal(p.seq, 5);
	assert_int_equal(p.ack, 6);
}

/* A segment whose checksum is wrong must stay wrong by the same amount. */
static void test_bad_csum_stays_bad(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, ping_hex);
	struct pkt p;
	uint16_t before;
	const struct xlate x = { .seq_add = 0x9abcdef0u, .ack_add = 77, .tsval_add = 0xffff,
				 .tsecr_add = 0x10000, .win_from = 0, .win_to = 3 };

	put_be16(buf + 36, (uint16_t)(get_be16(buf + 36) + 5));
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	before = ref_sum(&p);
	assert_int_not_equal(before, 0xffff);
	translate_apply(&p, &x);
	assert_int_equal(ref_sum(&p), before);
	assert_false(packet_tcp_csum_ok(&p));
	assert_int_equal(p.win, 28);    /* 229 >> 3 */
}

struct win_case {
	uint8_t flags;
	uint16_t win;
	uint8_t from, to;
	uint16_t want;
};

static const struct win_case win_cases[] = {
	{ TCPH_ACK, 0x0200, 7, 0, 65535 },   /* 512 << 7 = 65536: saturates */
	{ TCPH_ACK, 0x01ff, 7, 0, 65408 },   /* 511 << 7 */
	{ TCPH_ACK, 0xffff, 14, 0, 65535 },
	{ TCPH_ACK, 1, 7, 0, 128 },
	{ TCPH_ACK, 1000, 0, 7, 7 },         /* 1000 / 128 = 7.81, rounded down */
	{ TCPH_ACK, 128, 0, 7, 1 },
	{ TCPH_ACK, 127, 0, 7, 0 },          /* 0.99 units: rounded down, closed */
	{ TCPH_ACK, 1, 0, 14, 0 },           /* never more than the receiver has */
	{ TCPH_ACK, 16383, 0, 14, 0 },
	{ TCPH_ACK, 255, 0, 7, 1 },          /* 1.99 units: 1 */
	{ TCPH_ACK, 0, 0, 7, 0 },            /* a closed window stays closed */
	{ TCPH_ACK, 0, 7, 0, 0 },
	{ TCPH_ACK, 1000, 2, 5, 125 },       /* 4000 >> 5 */
	{ TCPH_ACK, 65535, 0, 14, 3 },       /* 65535 >> 14 */
	{ TCPH_ACK, 1, 15, 0, 16384 },       /* scales above 14 count as 14 */
	{ TCPH_ACK, 16384, 0, 20, 1 },       /* 16384 >> 14 */
	{ TCPH_ACK | TCPH_FIN, 300, 3, 1, 1200 },
	{ TCPH_RST, 300, 1, 3, 75 },
	{ TCPH_SYN, 1000, 0, 7, 1000 },      /* SYN windows are never scaled */
	{ TCPH_SYN | TCPH_ACK, 1000, 7, 0, 1000 },
	{ TCPH_SYN | TCPH_ACK, 0x0200, 7, 0, 0x0200 },
};

static void test_window_rescale(void **state)
{
	for (size_t i = 0; i < sizeof(win_cases) / sizeof(win_cases[0]); i++) {
		const struct win_case *c = &win_cases[i];
		const struct xlate x = { .win_from = c->from, .win_to = c->to };
		uint8_t buf[160];
		size_t n = make_pkt(buf, (int)(i % 2), c->flags, 1, 2, c->win, NULL, 0, 5);
		struct pkt p;

		assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
		translate_apply(&p, &x);
		if (p.win != c->want)
			fail_msg("case %zu: win %u, expected %u", i, p.win, c->want);
		assert_int_equal(get_be16(buf + p.l4off + 14), c->want);
		assert_csum_valid(&p);
	}
}

/* Segments without TS or SACK (or with malformed ones, which the parser
 * treats as unknown) keep their option bytes. */
static void test_options_untouched(void **state)
{
	static const uint8_t mss_ws[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	static const uint8_t unknown[] = { 0x1e, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1 };
	static const uint8_t bad_ts[] = { 8, 9, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0 };
	static const uint8_t bad_sack[] = { 5, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0 };
	static const struct {
		const uint8_t *o;
		size_t len;
	} cases[] = {
		{ mss_ws, sizeof(mss_ws) }, { unknown, sizeof(unknown) },
		{ bad_ts, sizeof(bad_ts) }, { bad_sack, sizeof(bad_sack) }, { NULL, 0 },
	};
	const struct xlate x = { .seq_add = 3, .ack_add = 4, .sack_add = 0x11111111u,
				 .tsval_add = 0x22222222u, .tsecr_add = 0x33333333u };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[160], orig[160];
		size_t n = make_pkt(buf, (int)(i % 2), TCPH_ACK, 10, 20, 30,
				    cases[i].o, cases[i].len, 2);
		struct pkt p;

		memcpy(orig, buf, n);
		assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
		translate_apply(&p, &x);
		assert_memory_equal(buf + p.l4off + 20, orig + p.l4off + 20, n - p.l4off - 20);
		assert_int_equal(p.seq, 13);
		assert_int_equal(p.ack, 24);
		assert_csum_valid(&p);
	}
}

static void test_ipv6(void **state)
{
	uint8_t buf[128], orig[128];
	size_t n = unhex(buf, v6ext_hex);
	struct pkt p;
	struct tcpopt o;
	const struct xlate x = {
		.seq_add = 0x09a513ffu,     /* 0xf65aec00 + 0x09a513ff = 0xffffffff */
		.ack_add = 0x01ccaafcu,     /* 0xfe335504 + 0x01ccaafc = 0x1_00000000 */
		.tsval_add = 1, .tsecr_add = 2, .win_from = 7, .win_to = 2,
	};

	memcpy(orig, buf, n);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	translate_apply(&p, &x);
	assert_int_equal(p.seq, 0xffffffffu);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.win, 7328);              /* 229 << 5 */
	assert_int_equal(tcpopt_parse(buf + p.l4off, p.doff, &o), 0);
	assert_int_equal(o.tsval, 0xb062ecadu);
	assert_int_equal(o.tsecr, 0xbab26fe8u);
	assert_csum_valid(&p);
	/* the IPv6 header and its extension headers are not touched */
	assert_memory_equal(buf, orig, p.l4off);
}

static uint64_t rng_state = 0x13198a2e03707344ull;

static uint32_t rnd(void)
{
	return (uint32_t)(xorshift64(&rng_state) >> 16);
}

/* Random segments and translations: every field moves by exactly its
 * addition and the incremental checksum equals a full recomputation. */
static void test_random(void **state)
{
	for (int it = 0; it < 20000; it++) {
		uint8_t opts[40], buf[200];
		size_t optlen = 0, n;
		unsigned nsack = rnd() % 5;
		int has_ts = rnd() % 2;
		struct xlate x = {
			.seq_add = rnd(), .ack_add = rnd(), .sack_add = rnd(),
			.tsval_add = rnd(), .tsecr_add = rnd(),
			.win_from = (uint8_t)(rnd() % 15), .win_to = (uint8_t)(rnd() % 15),
		};
		uint8_t flags = (uint8_t)rnd();
		struct tcpopt before, after;
		struct pkt p;
		uint16_t check;

		/* a random amount of NOP padding shifts the fields' alignment */
		for (unsigned k = rnd() % 4; k > 0; k--)
			opts[optlen++] = 1;
		if (has_ts) {
			opts[optlen++] = 8;
			opts[optlen++] = 10;
			for (int k = 0; k < 8; k++)
				opts[optlen++] = (uint8_t)rnd();
		}
		if (nsack && optlen + 2 + 8 * nsack <= 40) {
			opts[optlen++] = 5;
			opts[optlen++] = (uint8_t)(2 + 8 * nsack);
			for (unsigned k = 0; k < 8 * nsack; k++)
				opts[optlen++] = (uint8_t)rnd();
		}
		while (optlen % 4)
			opts[optlen++] = 0;
		n = make_pkt(buf, (int)(rnd() % 2), flags, rnd(), rnd(), (uint16_t)rnd(),
			     opts, optlen, rnd() % 9);
		assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
		assert_int_equal(tcpopt_parse(buf + p.l4off, p.doff, &before), 0);
		{
			uint32_t seq0 = p.seq, ack0 = p.ack;
			uint16_t win0 = p.win;
			int ack = flags & TCPH_ACK;

			translate_apply(&p, &x);
			assert_int_equal(p.seq, seq0 + x.seq_add);
			assert_int_equal(p.ack, ack ? ack0 + x.ack_add : ack0);
			assert_int_equal(get_be32(buf + p.l4off + 4), p.seq);
			assert_int_equal(get_be32(buf + p.l4off + 8), p.ack);
			if ((flags & TCPH_SYN) || x.win_from == x.win_to) {
				assert_int_equal(p.win, win0);
			} else {
				/* Rounded down: never more bytes than the
				 * receiver announced, less by under one unit
				 * (unless the field saturates). */
				uint64_t bytes = (uint64_t)win0 << x.win_from;
				uint64_t now = (uint64_t)p.win << x.win_to;

				assert_true(now <= bytes);
				assert_true(p.win == 0xffff || bytes - now < (1u << x.win_to));
			}
			assert_int_equal(tcpopt_parse(buf + p.l4off, p.doff, &after), 0);
			assert_int_equal(after.have, before.have);
			if (before.have & TO_TS) {
				assert_int_equal(after.tsval, before.tsval + x.tsval_add);
				assert_int_equal(after.tsecr,
						 ack ? before.tsecr + x.tsecr_add : before.tsecr);
			}
			for (unsigned k = 0; k < before.nsack; k++) {
				assert_int_equal(after.sack[k][0], before.sack[k][0] + x.sack_add);
				assert_int_equal(after.sack[k][1], before.sack[k][1] + x.sack_add);
			}
		}
		assert_csum_valid(&p);
		check = get_be16(buf + p.l4off + 16);
		packet_tcp_csum_fix(&p);
		assert_int_equal(get_be16(buf + p.l4off + 16), check);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_wrap),
		cmocka_unit_test(test_zero_xlate_is_noop),
		cmocka_unit_test(test_sack_ts),
		cmocka_unit_test(test_no_ack),
		cmocka_unit_test(test_odd_offsets),
		cmocka_unit_test(test_bad_csum_stays_bad),
		cmocka_unit_test(test_window_rescale),
		cmocka_unit_test(test_options_untouched),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
