/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Packet parsing and building.  Valid inputs are a real IPv4 capture (a
 * redis-cli ping handshake) and IPv6/ICMP packets made with Scapy 2.5,
 * whose checksums are therefore computed independently of this code.
 * ICMP errors are test_icmp.c's; here they are only something else than
 * TCP. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "csum.h"
#include "packet.h"
#include "tcpopt.h"
#include "testutil.h"

/* Scapy: IPv6(src=2001:db8::1, dst=2001:db8::2, hlim=64) / the SYN's TCP header */
static const char v6syn_hex[] =
	"600000000028064020010db800000000000000000000000120010db80000000000000000000000"
	"02989e18ebf65aebff00000000a002721053030000020405b40402080ab062e3300000000001030307";
/* Scapy: IPv6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / the ping's TCP segment */
static const char v6ext_hex[] =
	"60000000003e004020010db800000000000000000000000120010db80000000000000000000000"
	"023c000104000000000600010400000000989e18ebf65aec00fe335504801800e517330000010108"
	"0ab062ecacbab26fe62a310d0a24340d0a70696e670d0a";
/* Scapy: the SYN's TCP header in IP(id=0, flags=DF, ttl=64, tos=2): what packet_build
 * must produce.  Its TCP checksum equals the capture's (0x872f). */
static const char v4build_hex[] =
	"4502003c00004000400613720ab3b5610a605cd4989e18ebf65aebff00000000a0027210872f0000"
	"020405b40402080ab062e3300000000001030307";
/* Scapy: the same in IPv6(tc=0x2b, hlim=64) */
static const char v6build_hex[] =
	"62b000000028064020010db800000000000000000000000120010db80000000000000000000000"
	"02989e18ebf65aebff00000000a002721053030000020405b40402080ab062e3300000000001030307";


/* An exact-size heap copy, so that any read past the end trips ASan. */
static uint8_t *dup_exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	if (n)
		memcpy(p, src, n);
	return p;
}

static struct addr v4addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t v4[4] = { a, b, c, d };
	struct addr x;

	addr_from_v4(&x, v4);
	return x;
}

static struct addr v6addr(uint8_t last)
{
	struct addr x;
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	v6[15] = last;
	addr_from_v6(&x, v6);
	return x;
}

static void test_parse_syn_vector(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, syn_hex);
	struct addr src = v4addr(10, 179, 181, 97), dst = v4addr(10, 96, 92, 212);
	struct pkt p;
	struct tcpopt o;

	assert_int_equal(n, 60);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_ptr_equal(p.data, buf);
	assert_int_equal(p.len, 60);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.l4off, 20);
	assert_int_equal(p.doff, 40);
	assert_int_equal(p.paylen, 0);
	assert_true(addr_eq(&p.src, &src));
	assert_true(addr_eq(&p.dst, &dst));
	assert_int_equal(p.sport, 39070);
	assert_int_equal(p.dport, 6379);
	assert_int_equal(p.seq, 4133153791u);
	assert_int_equal(p.ack, 0);
	assert_int_equal(p.win, 29200);
	assert_int_equal(p.flags, TCPH_SYN);
	assert_true(packet_tcp_csum_ok(&p));

	assert_int_equal(tcpopt_parse(p.data + p.l4off, p.doff, &o), 0);
	assert_int_equal(o.have, TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE);
	assert_int_equal(o.mss, 1460);
	assert_int_equal(o.tsval, 2959270704u);
	assert_int_equal(o.tsecr, 0);
	assert_int_equal(o.wscale, 7);
}

static void test_parse_ping_vector(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, ping_hex);
	struct pkt p;
	struct tcpopt o;

	assert_int_equal(n, 66);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_int_equal(p.len, 66);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.l4off, 20);
	assert_int_equal(p.doff, 32);
	assert_int_equal(p.paylen, 14);
	assert_memory_equal(buf + p.l4off + p.doff, "*1\r\n$4\r\nping\r\n", 14);
	assert_int_equal(p.sport, 39070);
	assert_int_equal(p.dport, 6379);
	assert_int_equal(p.seq, 4133153792u);
	assert_int_equal(p.ack, 4264776964u);
	assert_int_equal(p.win, 229);
	assert_int_equal(p.flags, TCPH_ACK | TCPH_PSH);
	assert_true(packet_tcp_csum_ok(&p));
	assert_int_equal(tcpopt_parse(p.data + p.l4off, p.doff, &o), 0);
	assert_int_equal(o.have, TO_TS);
	assert_int_equal(o.tsval, 0xb062ecacu);
	assert_int_equal(o.tsecr, 0xbab26fe6u);
	assert_int_equal(o.ts_off, 22);
}

/* Ethernet pads short frames to 60 bytes: the IP length rules. */
static void test_trailing_padding(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, ping_hex);
	struct pkt p;
	uint8_t *d;

	memset(buf + n, 0xab, 6);
	d = dup_exact(buf, n + 6);
	assert_int_equal(packet_parse(&p, d, (uint32_t)n + 6), PKT_OK);
	assert_int_equal(p.len, 66);
	assert_int_equal(p.paylen, 14);
	assert_true(packet_tcp_csum_ok(&p));
	free(d);

	n = unhex(buf, v6syn_hex);
	memset(buf + n, 0xcd, 4);
	d = dup_exact(buf, n + 4);
	assert_int_equal(packet_parse(&p, d, (uint32_t)n + 4), PKT_OK);
	assert_int_equal(p.len, 80);
	assert_int_equal(p.paylen, 0);
	assert_true(packet_tcp_csum_ok(&p));
	free(d);
}

static void test_parse_ipv6(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, v6syn_hex);
	struct addr src = v6addr(1), dst = v6addr(2);
	struct pkt p;

	assert_int_equal(n, 80);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_int_equal(p.len, 80);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.l4off, 40);
	assert_int_equal(p.doff, 40);
	assert_int_equal(p.paylen, 0);
	assert_true(addr_eq(&p.src, &src));
	assert_true(addr_eq(&p.dst, &dst));
	assert_false(addr_is_v4(&p.src));
	assert_int_equal(p.sport, 39070);
	assert_int_equal(p.dport, 6379);
	assert_int_equal(p.seq, 4133153791u);
	assert_int_equal(p.win, 29200);
	assert_int_equal(p.flags, TCPH_SYN);
	assert_true(packet_tcp_csum_ok(&p));
}

/* Hop-by-hop (8 bytes) then destination options (8 bytes) then TCP. */
static void test_parse_ipv6_exthdrs(void **state)
{
	uint8_t buf[128];
	size_t n = unhex(buf, v6ext_hex);
	struct pkt p;

	assert_int_equal(n, 102);
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_int_equal(p.len, 102);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.l4off, 56);
	assert_int_equal(p.doff, 32);
	assert_int_equal(p.paylen, 14);
	assert_int_equal(p.seq, 4133153792u);
	assert_int_equal(p.ack, 4264776964u);
	assert_int_equal(p.win, 229);
	assert_int_equal(p.flags, TCPH_ACK | TCPH_PSH);
	assert_memory_equal(buf + p.l4off + p.doff, "*1\r\nping", 4);
	assert_true(packet_tcp_csum_ok(&p));
}

static void test_csum_ok_and_fix(void **state)
{
	const char *const vecs[] = { syn_hex, ping_hex, v6syn_hex, v6ext_hex };

	for (size_t i = 0; i < 4; i++) {
		uint8_t good[128], buf[128];
		size_t n = unhex(good, vecs[i]);
		struct pkt p;

		memcpy(buf, good, n);
		assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
		assert_true(packet_tcp_csum_ok(&p));
		/* a flipped payload or header bit is noticed */
		buf[n - 1] ^= 0x01;
		assert_false(packet_tcp_csum_ok(&p));
		buf[n - 1] ^= 0x01;
		buf[p.l4off + 4] ^= 0x80;
		assert_false(packet_tcp_csum_ok(&p));
		buf[p.l4off + 4] ^= 0x80;
		/* the pseudo-header covers the addresses */
		buf[p.family == 4 ? 15 : 23] ^= 0x10;
		assert_false(packet_tcp_csum_ok(&p));
		buf[p.family == 4 ? 15 : 23] ^= 0x10;
		assert_memory_equal(buf, good, n);

		/* fix recomputes both checksums to the captured values */
		put_be16(buf + p.l4off + 16, 0x1234);
		if (p.family == 4)
			put_be16(buf + 10, 0xbeef);
		assert_false(packet_tcp_csum_ok(&p));
		packet_tcp_csum_fix(&p);
		assert_true(packet_tcp_csum_ok(&p));
		assert_memory_equal(buf, good, n);
	}
}

static void test_err_names(void **state)
{
	static const char *const want[PKT_ERR_MAX] = {
		"ok", "truncated", "bad_version", "bad_ihl", "bad_length", "fragment",
		"bad_exthdr", "not_tcp", "bad_doff", "bad_options",
	};

	for (int e = PKT_TRUNCATED; e < PKT_ERR_MAX; e++)
		assert_string_equal(packet_err_name((enum pkt_err)e), want[e]);
	assert_non_null(packet_err_name(PKT_OK));
	assert_non_null(packet_err_name(PKT_ERR_MAX));
	assert_non_null(packet_err_name((enum pkt_err)-1));
}

/* Every strict prefix of a valid packet is refused with the IP length
 * fields as they were (they then claim more than the buffer).  Prefixes
 * that end inside the headers are refused as well with the length fields
 * shrunk to match (a header is then what is short); a prefix that only
 * drops payload would be a well-formed shorter packet. */
static void check_truncations(const char *hex)
{
	uint8_t full[128];
	size_t n = unhex(full, hex);
	struct pkt whole;
	size_t hdrs;

	assert_int_equal(packet_parse(&whole, full, (uint32_t)n), PKT_OK);
	hdrs = (size_t)whole.l4off + whole.doff;
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *d = dup_exact(full, cut);
		struct pkt p;

		assert_int_not_equal(packet_parse(&p, d, (uint32_t)cut), PKT_OK);
		if (cut >= hdrs) {
			free(d);
			continue;
		}
		if (full[0] >> 4 == 4 && cut >= 4)
			put_be16(d + 2, (uint16_t)cut);
		else if (full[0] >> 4 == 6 && cut >= 6)
			put_be16(d + 4, (uint16_t)(cut >= 40 ? cut - 40 : 0));
		assert_int_not_equal(packet_parse(&p, d, (uint32_t)cut), PKT_OK);
		free(d);
	}
}

static void test_truncations(void **state)
{
	check_truncations(syn_hex);
	check_truncations(ping_hex);
	check_truncations(v6syn_hex);
	check_truncations(v6ext_hex);
}

enum base { B_SYN4, B_SYN6, B_EXT6 };

struct patch {
	uint16_t off;
	uint8_t val;
};

struct bad_case {
	const char *name;
	enum base base;
	struct patch patch[4];
	uint8_t npatch;
	int hbh_chain;          /* > 0: replace the IPv6 header chain with n hop-by-hops */
	enum pkt_err want;
};

/* Offsets in the IPv4 SYN: IP 0..19, TCP 20..59, options 40..59:
 * 40 MSS(4) 44 SACKOK(2) 46 TS(10) 56 NOP 57 WS(3).
 * In the IPv6 SYN the TCP header starts at 40, options at 60;
 * in the extension-header packet hop-by-hop is at 40, dest-opts at 48. */
static const struct bad_case bad_cases[] = {
	{ "version 5", B_SYN4, { { 0, 0x55 } }, 1, 0, PKT_BAD_VERSION },
	{ "version 0", B_SYN4, { { 0, 0x05 } }, 1, 0, PKT_BAD_VERSION },
	{ "version 6 in v4 header", B_SYN4, { { 0, 0x65 } }, 1, 0, PKT_BAD_LENGTH },
	{ "ihl 4", B_SYN4, { { 0, 0x44 } }, 1, 0, PKT_BAD_IHL },
	{ "ihl 0", B_SYN4, { { 0, 0x40 } }, 1, 0, PKT_BAD_IHL },
	{ "total length > buffer", B_SYN4, { { 2, 0 }, { 3, 61 } }, 2, 0, PKT_BAD_LENGTH },
	{ "total length 65535", B_SYN4, { { 2, 0xff }, { 3, 0xff } }, 2, 0, PKT_BAD_LENGTH },
	{ "total length < ihl*4", B_SYN4, { { 0, 0x46 }, { 2, 0 }, { 3, 20 } }, 3, 0,
	  PKT_BAD_LENGTH },
	{ "total length 0", B_SYN4, { { 2, 0 }, { 3, 0 } }, 2, 0, PKT_BAD_LENGTH },
	{ "ihl 15 eats the tcp header", B_SYN4, { { 0, 0x4f } }, 1, 0, PKT_TRUNCATED },
	{ "more fragments", B_SYN4, { { 6, 0x20 } }, 1, 0, PKT_FRAGMENT },
	{ "more fragments with df", B_SYN4, { { 6, 0x60 } }, 1, 0, PKT_FRAGMENT },
	{ "fragment offset", B_SYN4, { { 6, 0x40 }, { 7, 0x01 } }, 2, 0, PKT_FRAGMENT },
	{ "fragment offset high bit", B_SYN4, { { 6, 0x10 } }, 1, 0, PKT_FRAGMENT },
	{ "udp", B_SYN4, { { 9, 17 } }, 1, 0, PKT_NOT_TCP },
	{ "icmp", B_SYN4, { { 9, 1 } }, 1, 0, PKT_NOT_TCP },
	{ "doff 4", B_SYN4, { { 32, 0x40 } }, 1, 0, PKT_BAD_DOFF },
	{ "doff 0", B_SYN4, { { 32, 0x00 } }, 1, 0, PKT_BAD_DOFF },
	{ "doff past end", B_SYN4, { { 32, 0xb0 } }, 1, 0, PKT_BAD_DOFF },
	{ "doff 15 past end", B_SYN4, { { 32, 0xf0 } }, 1, 0, PKT_BAD_DOFF },
	{ "option length 0", B_SYN4, { { 41, 0 } }, 1, 0, PKT_BAD_OPTIONS },
	{ "option length 1", B_SYN4, { { 41, 1 } }, 1, 0, PKT_BAD_OPTIONS },
	{ "option overruns header", B_SYN4, { { 41, 41 } }, 1, 0, PKT_BAD_OPTIONS },
	{ "last option overruns by one", B_SYN4, { { 58, 4 } }, 1, 0, PKT_BAD_OPTIONS },
	{ "kind without length byte", B_SYN4, { { 59, 0x1e }, { 58, 1 }, { 57, 1 } }, 3, 0,
	  PKT_BAD_OPTIONS },
	/* 46: 05 0b covers 46..56, then 57: 03 03 07 is a valid window scale */
	{ "sack length 11 is skipped", B_SYN4, { { 46, 5 }, { 47, 11 } }, 2, 0, PKT_OK },
	/* 46: 08 09 covers 46..54, then 55 (a zero byte of TSecr) is EOL */
	{ "ts length 9 is skipped", B_SYN4, { { 47, 9 } }, 1, 0, PKT_OK },
	{ "ipv6 payload length 0", B_SYN6, { { 4, 0 }, { 5, 0 } }, 2, 0, PKT_BAD_LENGTH },
	{ "ipv6 payload length > buffer", B_SYN6, { { 5, 41 } }, 1, 0, PKT_BAD_LENGTH },
	{ "ipv6 fragment header", B_SYN6, { { 6, 44 } }, 1, 0, PKT_FRAGMENT },
	{ "ipv6 esp", B_SYN6, { { 6, 50 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ipv6 ah", B_SYN6, { { 6, 51 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ipv6 mobility", B_SYN6, { { 6, 135 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ipv6 hip", B_SYN6, { { 6, 139 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ipv6 shim6", B_SYN6, { { 6, 140 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ipv6 no next header", B_SYN6, { { 6, 59 } }, 1, 0, PKT_NOT_TCP },
	{ "ipv6 icmpv6", B_SYN6, { { 6, 58 } }, 1, 0, PKT_NOT_TCP },
	{ "ipv6 udp", B_SYN6, { { 6, 17 } }, 1, 0, PKT_NOT_TCP },
	{ "ipv6 doff 4", B_SYN6, { { 52, 0x40 } }, 1, 0, PKT_BAD_DOFF },
	{ "ipv6 option length 0", B_SYN6, { { 61, 0 } }, 1, 0, PKT_BAD_OPTIONS },
	{ "fragment after dest-opts", B_EXT6, { { 48, 44 } }, 1, 0, PKT_FRAGMENT },
	{ "esp after hop-by-hop", B_EXT6, { { 40, 50 } }, 1, 0, PKT_BAD_EXTHDR },
	{ "ext header length overrun", B_EXT6, { { 49, 0x20 } }, 1, 0, PKT_TRUNCATED },
	{ "hop-by-hop length past payload", B_EXT6, { { 41, 0xff } }, 1, 0, PKT_TRUNCATED },
	{ "routing header walked", B_EXT6, { { 6, 43 } }, 1, 0, PKT_OK },
	{ "8 chained hop-by-hop headers", B_SYN6, { { 0, 0x60 } }, 0, 8, PKT_OK },
	{ "9 chained hop-by-hop headers", B_SYN6, { { 0, 0x60 } }, 0, 9, PKT_BAD_EXTHDR },
};

/* Replaces the chain of the IPv6 SYN with n empty 8-byte hop-by-hop
 * headers before its TCP header; returns the new length. */
static size_t chain_hbh(uint8_t *buf, size_t n, int count)
{
	uint8_t tcp[64];
	size_t tcplen = n - 40;

	memcpy(tcp, buf + 40, tcplen);
	buf[6] = 0;
	for (int i = 0; i < count; i++) {
		uint8_t *h = buf + 40 + 8 * i;

		memset(h, 0, 8);
		h[0] = (i == count - 1) ? 6 : 0;
		h[2] = 1;       /* PadN, 4 bytes of padding */
		h[3] = 4;
	}
	memcpy(buf + 40 + 8 * count, tcp, tcplen);
	put_be16(buf + 4, (uint16_t)(8 * count + tcplen));
	return 40 + 8 * (size_t)count + tcplen;
}

static void test_bad_table(void **state)
{
	static const char *const bases[] = { syn_hex, v6syn_hex, v6ext_hex };

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t buf[256];
		size_t n = unhex(buf, bases[c->base]);
		uint8_t *d;
		struct pkt p;
		enum pkt_err e;

		for (unsigned k = 0; k < c->npatch; k++)
			buf[c->patch[k].off] = c->patch[k].val;
		if (c->hbh_chain)
			n = chain_hbh(buf, n, c->hbh_chain);
		d = dup_exact(buf, n);
		e = packet_parse(&p, d, (uint32_t)n);
		if (e != c->want)
			fail_msg("case \"%s\": got %s, expected %s", c->name,
				 packet_err_name(e), packet_err_name(c->want));
		if (e == PKT_OK) {
			assert_true((uint32_t)p.l4off + p.doff <= p.len);
			assert_int_equal(p.sport, 39070);
		}
		free(d);
	}
}

/* The parsed fields of the 8-header chain point at the right place. */
static void test_hbh_chain_fields(void **state)
{
	uint8_t buf[256];
	size_t n = chain_hbh(buf, unhex(buf, v6syn_hex), 8);
	struct pkt p;

	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
	assert_int_equal(p.l4off, 40 + 64);
	assert_int_equal(p.doff, 40);
	assert_int_equal(p.seq, 4133153791u);
	/* the extension headers are not in the pseudo-header's length */
	assert_true(packet_tcp_csum_ok(&p));
}

static struct tcpopt syn_opt(void)
{
	struct tcpopt o = {
		.have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE,
		.mss = 1460, .wscale = 7, .tsval = 2959270704u, .tsecr = 0,
	};

	return o;
}

/* The captured SYN rebuilt: the TCP header must come out byte for byte
 * (checksum 0x872f included), the IP header as Scapy makes it. */
static void test_build_v4(void **state)
{
	struct tcpopt o = syn_opt();
	struct seg s = {
		.src = v4addr(10, 179, 181, 97), .dst = v4addr(10, 96, 92, 212),
		.sport = 39070, .dport = 6379, .seq = 4133153791u, .ack = 0,
		.win = 29200, .flags = TCPH_SYN, .tos = 2, .opt = &o,
	};
	uint8_t want[128], cap[128], buf[PACKET_BUILD_MAX];
	size_t n = unhex(want, v4build_hex);
	struct pkt p;

	unhex(cap, syn_hex);
	assert_int_equal(packet_build(buf, sizeof(buf), &s), 60);
	assert_memory_equal(buf, want, 60);
	assert_memory_equal(buf + 20, cap + 20, 40);
	assert_memory_equal(buf + 40, "\x02\x04\x05\xb4\x04\x02\x08\x0a\xb0\x62\xe3\x30"
				      "\x00\x00\x00\x00\x01\x03\x03\x07", 20);
	assert_int_equal(n, 60);

	assert_int_equal(packet_parse(&p, buf, 60), PKT_OK);
	assert_true(packet_tcp_csum_ok(&p));
	assert_int_equal(csum_fold(csum_add(0, buf, 20)), 0);
	assert_true(addr_eq(&p.src, &s.src));
	assert_true(addr_eq(&p.dst, &s.dst));
	assert_int_equal(p.sport, s.sport);
	assert_int_equal(p.dport, s.dport);
	assert_int_equal(p.seq, s.seq);
	assert_int_equal(p.ack, s.ack);
	assert_int_equal(p.win, s.win);
	assert_int_equal(p.flags, s.flags);
	assert_int_equal(p.doff, 40);
	assert_int_equal(p.paylen, 0);
}

static void test_build_v6(void **state)
{
	struct tcpopt o = syn_opt();
	struct seg s = {
		.src = v6addr(1), .dst = v6addr(2),
		.sport = 39070, .dport = 6379, .seq = 4133153791u, .ack = 0,
		.win = 29200, .flags = TCPH_SYN, .tos = 0x2b, .opt = &o,
	};
	uint8_t want[128], buf[PACKET_BUILD_MAX];
	size_t n = unhex(want, v6build_hex);
	struct pkt p;

	assert_int_equal(packet_build(buf, sizeof(buf), &s), 80);
	assert_int_equal(n, 80);
	assert_memory_equal(buf, want, 80);
	assert_int_equal(packet_parse(&p, buf, 80), PKT_OK);
	assert_true(packet_tcp_csum_ok(&p));
	assert_int_equal(p.family, 6);
	assert_true(addr_eq(&p.src, &s.src));
	assert_true(addr_eq(&p.dst, &s.dst));
	assert_int_equal(p.seq, s.seq);
	assert_int_equal(p.win, s.win);
	assert_int_equal(p.flags, s.flags);
}

/* Field round trips for varied segments, both families, with and without
 * options; cap one byte short fails; mixed families fail. */
static void test_build_roundtrip(void **state)
{
	static const uint8_t flag_set[] = {
		TCPH_SYN, TCPH_SYN | TCPH_ACK, TCPH_ACK, TCPH_RST, TCPH_RST | TCPH_ACK,
		TCPH_SYN | TCPH_ECE | TCPH_CWR, TCPH_FIN | TCPH_ACK | TCPH_PSH | TCPH_URG,
	};
	struct tcpopt o = { .have = TO_TS, .tsval = 0xffffffffu, .tsecr = 0x80000000u };

	for (int fam = 0; fam < 2; fam++) {
		for (size_t f = 0; f < sizeof(flag_set); f++) {
			for (int withopt = 0; withopt < 2; withopt++) {
				struct seg s = {
					.src = fam ? v6addr(9) : v4addr(192, 0, 2, 1),
					.dst = fam ? v6addr(10) : v4addr(198, 51, 100, 7),
					.sport = 65535, .dport = 1,
					.seq = 0xffffffffu - (uint32_t)f, .ack = 0x7fffffffu + (uint32_t)f,
					.win = (uint16_t)(f * 1000), .flags = flag_set[f],
					.tos = (uint8_t)(f * 37), .opt = withopt ? &o : NULL,
				};
				uint8_t buf[PACKET_BUILD_MAX];
				size_t want = (fam ? 40u : 20u) + 20u + (withopt ? 12u : 0u);
				size_t n = packet_build(buf, sizeof(buf), &s);
				struct pkt p;

				assert_int_equal(n, want);
				assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
				assert_true(packet_tcp_csum_ok(&p));
				assert_int_equal(p.family, fam ? 6 : 4);
				assert_true(addr_eq(&p.src, &s.src));
				assert_true(addr_eq(&p.dst, &s.dst));
				assert_int_equal(p.sport, s.sport);
				assert_int_equal(p.dport, s.dport);
				assert_int_equal(p.seq, s.seq);
				assert_int_equal(p.ack, s.ack);
				assert_int_equal(p.win, s.win);
				assert_int_equal(p.flags, s.flags);
				assert_int_equal(p.doff, withopt ? 32 : 20);
				assert_int_equal(p.paylen, 0);
				/* urgent pointer 0 */
				assert_int_equal(get_be16(buf + p.l4off + 18), 0);
				if (fam) {
					assert_int_equal(get_be32(buf), 0x60000000u |
							 ((uint32_t)s.tos << 20));
					assert_int_equal(buf[7], 64);
				} else {
					assert_int_equal(buf[1], s.tos);
					assert_int_equal(get_be16(buf + 4), 0);      /* ID */
					assert_int_equal(get_be16(buf + 6), 0x4000); /* DF */
					assert_int_equal(buf[8], 64);
					assert_int_equal(csum_fold(csum_add(0, buf, 20)), 0);
				}
				assert_int_equal(packet_build(buf, want - 1, &s), 0);
				assert_int_equal(packet_build(buf, want, &s), want);
			}
		}
	}
	{
		struct seg s = { .src = v4addr(192, 0, 2, 1), .dst = v6addr(1) };
		uint8_t buf[PACKET_BUILD_MAX];

		assert_int_equal(packet_build(buf, sizeof(buf), &s), 0);
		s.src = v6addr(1);
		s.dst = v4addr(192, 0, 2, 1);
		assert_int_equal(packet_build(buf, sizeof(buf), &s), 0);
		assert_int_equal(packet_build(buf, 0, &s), 0);
	}
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Random and mutated packets: no crash, no read outside the buffer (under
 * ASan), and whatever is accepted is self-consistent. */
static void test_random_inputs(void **state)
{
	static const char *const seeds[] = {
		syn_hex, ping_hex, v6syn_hex, v6ext_hex, icmp4_hex, icmp6_hex,
	};
	uint8_t valid[6][128];
	size_t vlen[6];
	unsigned accepted = 0;

	for (size_t i = 0; i < 6; i++)
		vlen[i] = unhex(valid[i], seeds[i]);

	for (int it = 0; it < 200000; it++) {
		uint8_t buf[256];
		size_t n;
		uint8_t *d;
		struct pkt p;

		if (it % 2) {
			n = rnd() % 160;
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rnd();
			/* give the version nibble a fair chance of being valid */
			if (n && (it % 4) == 1)
				buf[0] = (uint8_t)((rnd() % 2 ? 0x40 : 0x60) | (buf[0] & 0x0f));
		} else {
			size_t v = rnd() % 6;
			int flips = 1 + (int)(rnd() % 4);

			n = vlen[v];
			memcpy(buf, valid[v], n);
			for (int f = 0; f < flips; f++)
				buf[rnd() % n] = (uint8_t)rnd();
			if (rnd() % 4 == 0)
				n = rnd() % (n + 1);
			else if (rnd() % 4 == 0)
				n += rnd() % 8;  /* trailing bytes from the stack copy */
		}
		d = dup_exact(buf, n);
		if (packet_parse(&p, d, (uint32_t)n) == PKT_OK) {
			accepted++;
			assert_true(p.len <= n);
			assert_true(p.doff >= 20 && p.doff <= 60);
			assert_true((uint32_t)p.l4off + p.doff + p.paylen == p.len);
			(void)packet_tcp_csum_ok(&p);
			packet_tcp_csum_fix(&p);
			assert_true(packet_tcp_csum_ok(&p));
		}
		free(d);
	}
	/* the mutations keep some packets valid, so the checks were exercised */
	assert_true(accepted > 1000);
}

/* The ECN field, read and cleared in both families: the IPv4 header
 * checksum follows, the rest of the header and the TCP checksum do not
 * change. */
static void test_ecn_field(void **state)
{
	for (int v6 = 0; v6 < 2; v6++) {
		for (uint8_t ecn = 0; ecn < 4; ecn++) {
			struct seg s = { .sport = 1, .dport = 2, .seq = 3, .flags = TCPH_ACK,
					 .tos = (uint8_t)(0xb8 | ecn) };
			uint8_t buf[PACKET_BUILD_MAX], before[PACKET_BUILD_MAX];
			struct pkt p;
			size_t n;

			if (v6) {
				addr6(&s.src, 0x2001, 1);
				addr6(&s.dst, 0x2001, 2);
			} else {
				addr4(&s.src, 192, 0, 2, 1);
				addr4(&s.dst, 203, 0, 113, 2);
			}
			n = packet_build(buf, sizeof(buf), &s);
			memcpy(before, buf, n);
			assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_OK);
			assert_int_equal(packet_ecn(&p), ecn);
			packet_clear_ecn(&p);
			assert_int_equal(packet_ecn(&p), IP_ECN_NOT_ECT);
			assert_true(packet_tcp_csum_ok(&p));
			if (!v6) {
				assert_int_equal(buf[1], 0xb8);
				assert_int_equal(csum_fold(csum_add(0, buf, 20)), 0);
				assert_memory_equal(buf + 12, before + 12, n - 12);
			} else {
				assert_int_equal(get_be32(buf), (6u << 28) | (0xb8u << 20));
				assert_memory_equal(buf + 4, before + 4, n - 4);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_syn_vector),
		cmocka_unit_test(test_parse_ping_vector),
		cmocka_unit_test(test_trailing_padding),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_ipv6_exthdrs),
		cmocka_unit_test(test_csum_ok_and_fix),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_table),
		cmocka_unit_test(test_hbh_chain_fields),
		cmocka_unit_test(test_build_v4),
		cmocka_unit_test(test_build_v6),
		cmocka_unit_test(test_build_roundtrip),
		cmocka_unit_test(test_random_inputs),
		cmocka_unit_test(test_ecn_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
