/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ICMP and ICMPv6 errors: parsing (two errors made with Scapy 2.5, whose
 * checksums are computed independently of this code, and their mutations
 * and truncations), and the engine's translation of a quote into its
 * receiver's sequence space.  The errors fed to the engine are built here,
 * around segments the engine itself let out, with checksums from a
 * reference sum (ordinary addition modulo 0xffff), and every translated
 * error is checked with that sum too.  The test that matters: once
 * translated, the quote is byte for byte the segment its receiver sent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "engine.h"
#include "icmp.h"
#include "packet.h"
#include "tcpopt.h"
#include "testutil.h"

/* A heap copy of exactly n bytes, so that ASan sees a read past the end. */
static uint8_t *dup_exact(const uint8_t *src, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	assert_non_null(d);
	memcpy(d, src, n);
	return d;
}

/* ---- a reference checksum, independent of csum.c ---- */

/* The ordinary sum of big-endian 16-bit words modulo 0xffff. */
static uint64_t ref_add(uint64_t s, const uint8_t *d, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		s += (i % 2) ? d[i] : (uint64_t)d[i] << 8;
	return s % 0xffff;
}

/* The ICMP (ICMPv6: with its pseudo-header) sum of the error at d with its
 * IP header of hl bytes: 0 (mod 0xffff) when the checksum is right. */
static uint64_t ref_icmp_sum(const uint8_t *d, uint32_t hl)
{
	uint32_t n = (d[0] >> 4) == 4 ? get_be16(d + 2) - hl : get_be16(d + 4) + 40u - hl;
	uint64_t s = 0;

	if ((d[0] >> 4) == 6)
		s = ref_add(58 + n, d + 8, 32);
	return ref_add(s, d + hl, n);
}

static bool ref_icmp_ok(const uint8_t *d, uint32_t hl)
{
	return ref_icmp_sum(d, hl) == 0;
}

/* Sets the checksum field at off so that the reference sum is right. */
static void ref_icmp_fix(uint8_t *d, uint32_t hl)
{
	uint64_t s;

	put_be16(d + hl + 2, 0);
	s = ref_icmp_sum(d, hl);
	put_be16(d + hl + 2, (uint16_t)(0xffff - s));
}

/* ---- building errors ---- */

/* Writes into buf an ICMP (IPv4 quote) or ICMPv6 error of type/code with
 * the 32-bit word info, from router `from` to the source of the IP packet
 * q, quoting its first qlen bytes; returns the error's length. */
static uint32_t mk_icmp(uint8_t *buf, const struct addr *from, uint8_t type, uint8_t code,
			uint32_t info, const uint8_t *q, uint32_t qlen)
{
	bool v4 = (q[0] >> 4) == 4;
	uint32_t hl = v4 ? 20 : 40, n = hl + 8 + qlen;

	memset(buf, 0, hl + 8);
	if (v4) {
		buf[0] = 0x45;
		put_be16(buf + 2, (uint16_t)n);
		buf[8] = 64;
		buf[9] = 1;
		memcpy(buf + 12, from->a + 12, 4);
		memcpy(buf + 16, q + 12, 4);
		put_be16(buf + 10, (uint16_t)(0xffff - ref_add(0, buf, 20)));
	} else {
		buf[0] = 0x60;
		put_be16(buf + 4, (uint16_t)(n - 40));
		buf[6] = 58;
		buf[7] = 64;
		memcpy(buf + 8, from->a, 16);
		memcpy(buf + 24, q + 8, 16);
	}
	buf[hl] = type;
	buf[hl + 1] = code;
	put_be32(buf + hl + 4, info);
	memcpy(buf + hl + 8, q, qlen);
	ref_icmp_fix(buf, hl);
	return n;
}

/* ---- parsing ---- */

static void test_parse_scapy(void **state)
{
	uint8_t buf[256];
	size_t n = unhex(buf, icmp4_hex);
	struct icmp_err ie;
	struct pkt p;

	assert_int_equal(n, 56);
	assert_int_equal(icmp_parse(buf, (uint32_t)n, &ie), ICMP_OK);
	assert_int_equal(ie.family, 4);
	assert_int_equal(ie.type, 3);
	assert_int_equal(ie.code, 1);
	assert_int_equal(ie.kind, ICMP_KIND_UNREACH);
	assert_int_equal(ie.icmp_off, 20);
	assert_int_equal(ie.tcp_off, 48);
	assert_int_equal(ie.tcp_len, 8);
	assert_true(addr_eq(&ie.src, &(struct addr){ .a = { [10] = 0xff, [11] = 0xff, 10, 96, 92, 1 } }));
	assert_true(addr_eq(&ie.dst, &ie.quote.caddr));
	assert_true(addr_eq(&ie.quote.caddr, &(struct addr){ .a = { [10] = 0xff, [11] = 0xff, 10, 179, 181, 97 } }));
	assert_true(addr_eq(&ie.quote.saddr, &(struct addr){ .a = { [10] = 0xff, [11] = 0xff, 10, 96, 92, 212 } }));
	assert_int_equal(ie.quote.cport, 39070);
	assert_int_equal(ie.quote.sport, 6379);
	assert_int_equal(ie.seq, 0xdeadbeefu);
	assert_false(ie.have_flags);
	assert_true(icmp_csum_ok(buf, &ie));      /* Scapy's checksum */
	assert_true(ref_icmp_ok(buf, 20));
	buf[55] ^= 1;
	assert_false(icmp_csum_ok(buf, &ie));
	buf[55] ^= 1;
	/* the TCP parser sees it as something else */
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_NOT_TCP);
	assert_int_equal(p.proto, IPPROTO_ICMP_);

	n = unhex(buf, icmp6_hex);
	assert_int_equal(n, 96);
	assert_int_equal(icmp_parse(buf, (uint32_t)n, &ie), ICMP_OK);
	assert_int_equal(ie.family, 6);
	assert_int_equal(ie.kind, ICMP_KIND_UNREACH);
	assert_int_equal(ie.icmp_off, 40);
	assert_int_equal(ie.tcp_off, 88);
	assert_int_equal(ie.tcp_len, 8);
	assert_int_equal(ie.quote.cport, 39070);
	assert_int_equal(ie.quote.sport, 6379);
	assert_int_equal(ie.seq, 0xfffffffeu);
	assert_true(icmp_csum_ok(buf, &ie));      /* Scapy's, with the pseudo-header */
	buf[8] ^= 1;                              /* the source is in the pseudo-header */
	assert_false(icmp_csum_ok(buf, &ie));
	assert_int_equal(packet_parse(&p, buf, (uint32_t)n), PKT_NOT_TCP);
	assert_int_equal(p.proto, IPPROTO_ICMPV6_);
}

struct patch {
	uint16_t off;
	uint8_t val;
};

struct parse_case {
	const char *name;
	int v6;
	struct patch patch[3];
	uint8_t npatch;
	int shorten;   /* bytes removed from the end (with length fields fixed up) */
	enum icmp_parse_result want;
	enum icmp_kind kind;
};

/* icmp4: outer IP 0..19, ICMP 20..27, quoted IP 28..47, quoted TCP 48..55.
 * icmp6: outer 0..39, ICMPv6 40..47, quoted IPv6 48..87, quoted TCP 88..95. */
static const struct parse_case parse_cases[] = {
	{ "as made", 0, { { 0 } }, 0, 0, ICMP_OK, ICMP_KIND_UNREACH },
	{ "fragmentation needed", 0, { { 21, 4 } }, 1, 0, ICMP_OK, ICMP_KIND_FRAG },
	{ "time exceeded", 0, { { 20, 11 } }, 1, 0, ICMP_OK, ICMP_KIND_TIME },
	{ "parameter problem", 0, { { 20, 12 } }, 1, 0, ICMP_OK, ICMP_KIND_PARAM },
	{ "echo reply", 0, { { 20, 0 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "redirect", 0, { { 20, 5 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "source quench (RFC 6633)", 0, { { 20, 4 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "outer not icmp", 0, { { 9, 17 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "outer fragment", 0, { { 6, 0x20 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "outer ihl 4", 0, { { 0, 0x44 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "outer length > buffer", 0, { { 3, 57 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "quoted udp", 0, { { 37, 17 } }, 1, 0, ICMP_NOT_TCP, 0 },
	{ "quoted version 6", 0, { { 28, 0x65 } }, 1, 0, ICMP_BAD, 0 },
	{ "quoted ihl 4", 0, { { 28, 0x44 } }, 1, 0, ICMP_BAD, 0 },
	{ "quoted ihl 15 past the quote", 0, { { 28, 0x4f } }, 1, 0, ICMP_BAD, 0 },
	{ "quoted non-first fragment", 0, { { 35, 0x08 } }, 1, 0, ICMP_BAD, 0 },
	{ "quoted first fragment (MF)", 0, { { 34, 0x20 } }, 1, 0, ICMP_OK, ICMP_KIND_UNREACH },
	{ "quoted length cuts the tcp to 7", 0, { { 31, 27 } }, 1, 0, ICMP_BAD, 0 },
	{ "quote with 7 bytes of tcp", 0, { { 0 } }, 0, 1, ICMP_BAD, 0 },
	{ "icmp header cut to 4 bytes", 0, { { 0 } }, 0, 32, ICMP_BAD, 0 },
	{ "icmpv6 as made", 1, { { 0 } }, 0, 0, ICMP_OK, ICMP_KIND_UNREACH },
	{ "icmpv6 packet too big", 1, { { 40, 2 } }, 1, 0, ICMP_OK, ICMP_KIND_FRAG },
	{ "icmpv6 time exceeded", 1, { { 40, 3 } }, 1, 0, ICMP_OK, ICMP_KIND_TIME },
	{ "icmpv6 parameter problem", 1, { { 40, 4 } }, 1, 0, ICMP_OK, ICMP_KIND_PARAM },
	{ "icmpv6 echo request", 1, { { 40, 128 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "icmpv6 type 3 as ICMPv4's code numbering", 1, { { 40, 11 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "icmpv6 outer next header udp", 1, { { 6, 17 } }, 1, 0, ICMP_NOT_ERROR, 0 },
	{ "icmpv6 payload length 0", 1, { { 4, 0 }, { 5, 0 } }, 2, 0, ICMP_NOT_ERROR, 0 },
	{ "icmpv6 quoted udp", 1, { { 54, 17 } }, 1, 0, ICMP_NOT_TCP, 0 },
	{ "icmpv6 quoted fragment header", 1, { { 54, 44 } }, 1, 0, ICMP_NOT_TCP, 0 },
	{ "icmpv6 quoted version 4", 1, { { 48, 0x45 } }, 1, 0, ICMP_BAD, 0 },
	{ "icmpv6 quoted hop-by-hop past the quote", 1, { { 54, 0 } }, 1, 0, ICMP_BAD, 0 },
	{ "icmpv6 quote with 7 bytes of tcp", 1, { { 0 } }, 0, 1, ICMP_BAD, 0 },
	{ "icmpv6 in a v4 header", 1, { { 0, 0x40 } }, 1, 0, ICMP_NOT_ERROR, 0 },
};

static void test_parse_cases(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		uint8_t buf[256];
		size_t n = unhex(buf, c->v6 ? icmp6_hex : icmp4_hex);
		struct icmp_err ie;
		enum icmp_parse_result r;
		uint8_t *d;

		for (unsigned j = 0; j < c->npatch; j++)
			buf[c->patch[j].off] = c->patch[j].val;
		n -= (size_t)c->shorten;
		if (c->shorten) {
			if (c->v6)
				put_be16(buf + 4, (uint16_t)(n - 40));
			else
				put_be16(buf + 2, (uint16_t)n);
		}
		d = dup_exact(buf, n);
		r = icmp_parse(d, (uint32_t)n, &ie);
		if (r != c->want)
			fail_msg("case \"%s\": %d, want %d", c->name, r, c->want);
		if (r == ICMP_OK && ie.kind != c->kind)
			fail_msg("case \"%s\": kind %d, want %d", c->name, ie.kind, c->kind);
		free(d);
	}
}

/* Every cut of both errors, and a TCP packet: never ICMP_OK, never a read
 * past the end. */
static void test_parse_truncations(void **state)
{
	const char *const vecs[] = { icmp4_hex, icmp6_hex };
	struct icmp_err ie;

	for (size_t v = 0; v < 2; v++) {
		uint8_t buf[256];
		size_t n = unhex(buf, vecs[v]);

		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *d = dup_exact(buf, cut);

			assert_int_not_equal(icmp_parse(d, (uint32_t)cut, &ie), ICMP_OK);
			free(d);
		}
	}
	{
		uint8_t buf[128];
		size_t n = unhex(buf, syn_hex);

		assert_int_equal(icmp_parse(buf, (uint32_t)n, &ie), ICMP_NOT_ERROR);
	}
}

/* Random mutations: no crash or read past the end (ASan); a translation
 * keeps a right checksum right by the reference sum. */
static void test_parse_random(void **state)
{
	const char *const vecs[] = { icmp4_hex, icmp6_hex };
	uint64_t rng = 0x1cb9e5a7d3f24681ull;
	unsigned ok = 0;

	for (int it = 0; it < 100000; it++) {
		uint8_t buf[256];
		size_t n = unhex(buf, vecs[it % 2]);
		int flips = 1 + (int)(xorshift64(&rng) % 3);
		struct icmp_err ie;
		struct xlate x = { .seq_add = (uint32_t)xorshift64(&rng) };
		uint8_t *d;

		for (int f = 0; f < flips; f++)
			buf[xorshift64(&rng) % n] = (uint8_t)xorshift64(&rng);
		if (xorshift64(&rng) % 4 == 0)
			n = xorshift64(&rng) % (n + 1);
		d = dup_exact(buf, n);
		if (icmp_parse(d, (uint32_t)n, &ie) == ICMP_OK) {
			bool right = icmp_csum_ok(d, &ie);

			ok++;
			assert_true(ie.tcp_off + ie.tcp_len <= ie.end && ie.end <= n);
			icmp_translate(d, &ie, &x);
			assert_int_equal(icmp_csum_ok(d, &ie), right);
			if (right)
				assert_true(ref_icmp_ok(d, ie.icmp_off));
		}
		free(d);
	}
	assert_true(ok > 1000);
}

/* ---- the engine ---- */

static void ipv6_rule(struct env *v)
{
	addr6(&v->pol.rules[0].dst.addr, 0x2001, 2);
	v->pol.rules[0].dst.len = 128;
	addr6(&v->cli, 0x2001, 0x10);
	addr6(&v->srv, 0x2001, 2);
}

/* Routers on the client's side and on the backend's side of the proxy. */
static struct addr router(const struct env *v, bool client_side)
{
	struct addr a;

	if (addr_is_v4(&v->cli))
		addr4(&a, client_side ? 198 : 203, client_side ? 51 : 0,
		      client_side ? 100 : 113, 254);
	else
		addr6(&a, 0x2001, client_side ? 0xfe : 0xfd);
	return a;
}

static struct conn_key env_key(const struct env *v)
{
	return (struct conn_key){ .caddr = v->cli, .saddr = v->srv, .cport = v->cport,
				  .sport = v->sport };
}

/* Feeds len bytes at buf with meta m (id and side filled in). */
static enum verdict feed_raw(struct env *v, uint8_t *buf, uint32_t len, struct engine_meta *m)
{
	m->id = ++v->next_id;
	m->side = v->side;
	engine_input(v->e, buf, len, m, v->now, &v->out);
	return v->out.verdict;
}

/* A segment as its sender wrote it (orig) and as the proxy let it out
 * (out), both whole IP packets of len bytes. */
struct sent {
	uint8_t orig[512];
	uint8_t out[512];
	uint32_t len;
};

/* Feeds s->orig through the engine, which must translate it. */
static void send_orig(struct env *v, struct sent *s)
{
	memcpy(s->out, s->orig, s->len);
	engine_input(v->e, s->out, s->len, &(struct engine_meta){ .id = ++v->next_id }, v->now,
		     &v->out);
	assert_int_equal(v->out.verdict, VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
}

/* Feeds si through the engine, which must translate it. */
static void send_seg(struct env *v, const struct seginfo *si, struct sent *s)
{
	s->len = mk(v, si, s->orig, sizeof(s->orig));
	send_orig(v, s);
}

/* Adds a SACK block (left, right) after the options of the segment of
 * *len bytes at buf (tcpopt_write writes none), fixing lengths and
 * checksums. */
static void add_sack(uint8_t *buf, uint32_t *len, uint32_t left, uint32_t right)
{
	uint32_t hl = (buf[0] >> 4) == 4 ? 20 : 40, doff = (uint32_t)(buf[hl + 12] >> 4) * 4;
	uint8_t *opt = buf + hl + doff;
	struct pkt p;

	memmove(opt + 12, opt, *len - hl - doff);
	opt[0] = opt[1] = TCPOPT_NOP;
	opt[2] = TCPOPT_SACK;
	opt[3] = 10;
	put_be32(opt + 4, left);
	put_be32(opt + 8, right);
	*len += 12;
	buf[hl + 12] = (uint8_t)(((doff + 12) / 4) << 4);
	if (hl == 20)
		put_be16(buf + 2, (uint16_t)*len);
	else
		put_be16(buf + 4, (uint16_t)(*len - 40));
	assert_int_equal(packet_parse(&p, buf, *len), PKT_OK);
	packet_tcp_csum_fix(&p);
}

/* What the server says back: data with timestamps, in the backend's space. */
static void server_data(struct env *v, struct sent *s)
{
	struct seginfo si = {
		.from_server = true, .flags = TCPH_ACK | TCPH_PSH, .seq = BISN + 1,
		.ack = CISN + 1, .win = 227, .payload = "+PONG\r\n and some more bytes",
		.opt = { .have = TO_TS, .tsval = 123456 + 40, .tsecr = 2959270800u },
	};

	send_seg(v, &si, s);
}

/* What the client sends: data with timestamps and a SACK block, in our
 * ISN's space. */
static void client_data(struct env *v, uint32_t iss, uint32_t our_ts, struct sent *s)
{
	struct seginfo si = {
		.flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1, .win = 229,
		.payload = "*1\r\n$4\r\nping\r\n",
		.opt = { .have = TO_TS, .tsval = 2959270900u, .tsecr = our_ts },
	};

	s->len = mk(v, &si, s->orig, sizeof(s->orig));
	add_sack(s->orig, &s->len, iss + 100, iss + 200);
	send_orig(v, s);
}

struct err_type {
	uint8_t type4, code4, type6, code6;
	enum icmp_kind kind;
	enum counter c;
};

static const struct err_type err_types[] = {
	{ 3, 4, 2, 0, ICMP_KIND_FRAG, CNT_icmp_frag_needed },
	{ 3, 1, 1, 3, ICMP_KIND_UNREACH, CNT_icmp_unreachable },
	{ 3, 13, 1, 1, ICMP_KIND_UNREACH, CNT_icmp_unreachable },
	{ 11, 0, 3, 0, ICMP_KIND_TIME, CNT_icmp_time_exceeded },
	{ 12, 0, 4, 0, ICMP_KIND_PARAM, CNT_icmp_param_problem },
};

/* The quote lengths tried: 8 bytes of TCP (RFC 792), the header without
 * options, and everything (what Linux routers send for small segments). */
static uint32_t quote_len(const struct sent *s, int which)
{
	uint32_t hl = (s->out[0] >> 4) == 4 ? 20 : 40;

	return which == 0 ? hl + 8 : which == 1 ? hl + 20 : s->len;
}

/* The error quoting qlen bytes of s->out, from the router on the side
 * the segment went to, fed; it must be translated: the quote is then the
 * first qlen bytes of what the sender sent, the checksum right.  It is
 * accepted, or, toward the backend about a flow on the kernel fast path
 * (kernel), dropped to be sent anew (engine_out.reinject). */
static void check_translated_as(struct env *v, const struct sent *s, uint32_t qlen,
				const struct err_type *t, bool to_backend, bool kernel,
				struct engine_meta *m)
{
	bool reinject = kernel && to_backend;
	uint8_t err[700];
	struct addr r = router(v, to_backend);
	bool v4 = addr_is_v4(&v->cli);
	uint32_t hl = v4 ? 20 : 40;
	uint32_t n = mk_icmp(err, &r, v4 ? t->type4 : t->type6, v4 ? t->code4 : t->code6,
			     v4 ? 1280 : 1280, s->out, qlen);
	uint64_t kind0 = cnt(v, t->c);
	uint8_t before[700];

	memcpy(before, err, n);
	assert_int_equal(feed_raw(v, err, n, m), reinject ? VERDICT_DROP : VERDICT_ACCEPT);
	assert_int_equal(v->out.reinject, reinject);
	assert_int_equal(v->out.reason, to_backend ? CNT_icmp_to_backend : CNT_icmp_to_client);
	assert_int_equal(v->out.dir, to_backend ? DIR_CLIENT : DIR_SERVER);
	assert_true(v->out.modified);
	assert_false(v->out.pass_on);
	assert_int_equal(v->out.nemit, 0);
	assert_int_equal(cnt(v, t->c), kind0 + 1);
	if (qlen >= hl + (uint32_t)(s->orig[hl + 12] >> 4) * 4) {
		assert_memory_equal(err + hl + 8, s->orig, qlen);
	} else {
		/* The options are cut off: what the proxy changed in them
		 * (TSval, TSecr, SACK) is not in the quote, so its checksum
		 * keeps their part of the change; the rest is the sender's. */
		uint32_t ck = hl + 16;

		assert_memory_equal(err + hl + 8, s->orig, qlen < ck ? qlen : ck);
		if (qlen > ck + 2)
			assert_memory_equal(err + hl + 8 + ck + 2, s->orig + ck + 2, qlen - ck - 2);
	}
	assert_memory_equal(err, before, hl + 2);               /* IP header, type, code */
	assert_memory_equal(err + hl + 4, before + hl + 4, 4);  /* the MTU */
	assert_true(ref_icmp_ok(err, hl));
}

/* The same for a flow in userspace. */
static void check_translated(struct env *v, const struct sent *s, uint32_t qlen,
			     const struct err_type *t, bool to_backend, struct engine_meta *m)
{
	check_translated_as(v, s, qlen, t, to_backend, false, m);
}

/* Both directions, both families, every error type, three quote lengths:
 * each quote comes back as its receiver sent it. */
static void test_translate_both_directions(void **state)
{
	for (int fam = 0; fam < 2; fam++) {
		struct env *v = env_new(fam ? ipv6_rule : NULL);
		uint32_t our_ts, iss = splice(v, 7, &our_ts);
		struct sent sd, cd;

		server_data(v, &sd);
		assert_int_equal(get_be32(sd.out + (fam ? 40 : 20) + 4), iss + 1);
		client_data(v, iss, our_ts, &cd);
		assert_int_equal(get_be32(cd.out + (fam ? 40 : 20) + 8), BISN + 1);
		for (size_t t = 0; t < ARRAY_LEN(err_types); t++) {
			for (int q = 0; q < 3; q++) {
				struct engine_meta m = { 0 };

				check_translated(v, &sd, quote_len(&sd, q), &err_types[t], true, &m);
				check_translated(v, &cd, quote_len(&cd, q), &err_types[t], false, &m);
			}
		}
		assert_int_equal(cnt(v, CNT_icmp_to_backend), 3 * ARRAY_LEN(err_types));
		assert_int_equal(cnt(v, CNT_icmp_to_client), 3 * ARRAY_LEN(err_types));
		assert_int_equal(cnt(v, CNT_icmp_conntrack), 0);
		env_free(v);
	}
}

/* The window a backend with another scale announced comes back too. */
static void test_translate_rescaled_window(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss = splice(v, 2, NULL);
	struct seginfo si = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1,
			      .ack = CISN + 1, .win = 3200, .payload = "0123456789" };
	struct sent s;
	struct engine_meta m = { 0 };

	send_seg(v, &si, &s);
	assert_int_equal(get_be16(s.out + 20 + 14), 3200 >> 5);  /* scale 2 -> 7 */
	assert_int_equal(get_be32(s.out + 20 + 4), iss + 1);
	check_translated(v, &s, s.len, &err_types[0], true, &m);
	env_free(v);
}

/* A quoted TCP checksum that was wrong stays wrong, by the same amount. */
static void test_translate_keeps_quoted_checksum_wrong(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss = splice(v, 7, NULL);
	struct sent s;
	uint8_t err[700];
	struct addr r = router(v, true);
	uint32_t n;
	struct pkt p;

	(void)iss;
	server_data(v, &s);
	s.out[20 + 16] ^= 0x10;
	s.orig[20 + 16] ^= 0x10;
	n = mk_icmp(err, &r, 3, 4, 1280, s.out, s.len);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_icmp_to_backend);
	assert_memory_equal(err + 28, s.orig, s.len);
	assert_int_equal(packet_parse(&p, err + 28, s.len), PKT_OK);
	assert_false(packet_tcp_csum_ok(&p));
	assert_true(ref_icmp_ok(err, 20));
	env_free(v);
}

static int kernel_calls;
static struct conn_key kernel_asked;

/* The kernel fast path of test_offloaded_flow: it translates every flow
 * with the offsets in ctx. */
static bool kernel_has(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	kernel_calls++;
	kernel_asked = *k;
	*kf = *(const struct engine_kernel_flow *)ctx;
	return true;
}

static bool kernel_has_not(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	(void)ctx;
	(void)kf;
	kernel_calls++;
	kernel_asked = *k;
	return false;
}

/* An offloaded flow: while the engine holds it, its own offsets apply
 * without the window check (what it tracks stopped moving); once it is
 * forgotten, those the kernel reports; without a kernel the error is
 * passed on to the next queue, or passed untouched by the last.  Errors
 * toward the backend are sent anew (conntrack would rewrite them), those
 * toward the client pass with their verdict. */
static void test_offloaded_flow(void **state)
{
	for (int fam = 0; fam < 2; fam++) {
		struct env *v = env_new(fam ? ipv6_rule : NULL);
		uint32_t our_ts, iss = splice(v, 7, &our_ts);
		struct conn_key k = env_key(v);
		struct engine_kernel_flow kf = { .seq_delta = iss - BISN,
						 .ts_delta = v->out.offer_flow.ts_delta };
		struct sent sd, cd, late;
		struct engine_meta m = { 0 };
		struct engine_gauges g;
		uint32_t hl = fam ? 40 : 20;

		assert_true(v->out.offer);
		server_data(v, &sd);
		client_data(v, iss, our_ts, &cd);
		assert_true(engine_offloaded(v->e, &k, 1, v->now));
		/* Data the kernel forwarded: the engine never saw it. */
		late = sd;
		put_be32(late.orig + hl + 4, BISN + 1 + 100000);
		put_be32(late.out + hl + 4, iss + 1 + 100000);
		{
			struct pkt p;

			assert_int_equal(packet_parse(&p, late.orig, late.len), PKT_OK);
			packet_tcp_csum_fix(&p);
			assert_int_equal(packet_parse(&p, late.out, late.len), PKT_OK);
			packet_tcp_csum_fix(&p);
		}
		check_translated_as(v, &late, late.len, &err_types[0], true, true, &m);
		check_translated_as(v, &cd, cd.len, &err_types[0], false, true, &m);

		v->now += v->cfg.rst_grace_ms;
		engine_tick(v->e, v->now, &v->out);
		engine_gauges(v->e, &g);
		assert_int_equal(g.flows_active, 0);

		/* Forgotten: the kernel's offsets. */
		m = (struct engine_meta){ .kernel_flow = kernel_has, .kernel_ctx = &kf };
		kernel_calls = 0;
		check_translated_as(v, &late, late.len, &err_types[0], true, true, &m);
		assert_int_equal(kernel_calls, 1);
		assert_true(conn_key_eq(&kernel_asked, &k));
		check_translated_as(v, &cd, quote_len(&cd, 0), &err_types[3], false, true, &m);
		assert_true(conn_key_eq(&kernel_asked, &k));
		check_translated_as(v, &cd, cd.len, &err_types[1], false, true, &m);
		assert_int_equal(cnt(v, CNT_icmp_conntrack), 3);

		/* No kernel entry: passed on to the next queue, untouched. */
		for (int last = 0; last < 2; last++) {
			uint8_t err[700], before[700];
			struct addr r = router(v, true);
			uint32_t n = mk_icmp(err, &r, fam ? 2 : 3, fam ? 0 : 4, 1280, sd.out,
					     sd.len);

			memcpy(before, err, n);
			m = (struct engine_meta){ .kernel_flow = kernel_has_not, .pass_on = !last };
			assert_int_equal(feed_raw(v, err, n, &m), VERDICT_ACCEPT);
			assert_int_equal(v->out.reason,
					 last ? CNT_icmp_unknown_flow : CNT_icmp_passed_on);
			assert_int_equal(v->out.pass_on, !last);
			assert_false(v->out.modified);
			assert_memory_equal(err, before, n);
		}
		assert_int_equal(cnt(v, CNT_icmp_passed_on), 1);
		assert_int_equal(cnt(v, CNT_icmp_unknown_flow), 1);
		env_free(v);
	}
}

/* Errors about our own handshake segments: our SYN-ACK (in the SYN cache,
 * or after the flow exists; quoted with 8 bytes or with its flags), and
 * our SYN to the backend, which only a destination unreachable that is
 * not "fragmentation needed" fails. */
static void test_own_handshake(void **state)
{
	for (int fam = 0; fam < 2; fam++) {
		struct env *v = env_new(fam ? ipv6_rule : NULL);
		uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
		struct engine_emit synack = v->out.emit[0], bsyn;
		struct addr rc = router(v, true), rb = router(v, false);
		uint32_t hl = fam ? 40 : 20, n;
		uint8_t err[700];
		struct engine_gauges g;

		for (int q = 0; q < 2; q++) {
			n = mk_icmp(err, &rc, fam ? 1 : 3, fam ? 3 : 1, 0, synack.data,
				    q ? synack.len : hl + 8);
			assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }),
					 VERDICT_DROP);
			assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
		}
		v->now += 1;
		do_ack(v, iss, ts, NULL);
		bsyn = v->out.emit[0];
		/* The backend SYN: "packet too big" and time exceeded end nothing. */
		n = mk_icmp(err, &rb, fam ? 2 : 3, fam ? 0 : 4, 1280, bsyn.data, bsyn.len);
		assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
		assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
		n = mk_icmp(err, &rb, fam ? 3 : 11, 0, 0, bsyn.data, hl + 8);
		assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
		assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
		/* Our SYN-ACK, quoted while the backend handshake runs. */
		n = mk_icmp(err, &rc, fam ? 1 : 3, 1, 0, synack.data, synack.len);
		assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
		assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
		engine_gauges(v->e, &g);
		assert_int_equal(g.flows_active, 1);
		if (fam == 0) {
			/* Unreachable: the client is reset, the flow ends. */
			struct pkt p;
			struct tcpopt o;

			n = mk_icmp(err, &rb, 3, 1, 0, bsyn.data, hl + 8);
			assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }),
					 VERDICT_DROP);
			assert_int_equal(v->out.reason, CNT_backend_unreachable);
			assert_int_equal(v->out.nemit, 1);
			assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
			parse_emit(&v->out.emit[0], &p, &o);
			assert_int_equal(p.flags, TCPH_RST | TCPH_ACK);
			assert_int_equal(p.seq, iss + 1);
			engine_gauges(v->e, &g);
			assert_int_equal(g.flows_active, 0);
			assert_int_equal(cnt(v, CNT_backend_unreachable), 1);
		} else {
			/* Established: the SYN-ACK and the backend SYN stay ours. */
			v->now += 1;
			do_synack(v, 7, 123456);
			n = mk_icmp(err, &rc, 2, 0, 1280, synack.data, hl + 8);
			assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }),
					 VERDICT_DROP);
			assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
			n = mk_icmp(err, &rb, 1, 4, 0, bsyn.data, hl + 8);
			assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }),
					 VERDICT_DROP);
			assert_int_equal(v->out.reason, CNT_icmp_own_handshake);
			assert_int_equal(cnt(v, CNT_backend_unreachable), 0);
			engine_gauges(v->e, &g);
			assert_int_equal(g.flows_active, 1);
		}
		env_free(v);
	}
}

/* Errors the engine must not translate: unknown flows and other services
 * pass untouched; a quote its flow never had in flight, a wrong checksum,
 * an error sent elsewhere than to the quoted sender and a short quote are
 * dropped; other ICMP passes. */
static void test_refused_and_passed(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss = splice(v, 7, NULL);
	struct addr rc = router(v, true);
	struct sent sd;
	uint8_t err[700], before[700];
	uint32_t n;

	server_data(v, &sd);
	/* Another client port: no flow. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, sd.len);
	put_be16(err + 28 + 22, (uint16_t)(v->cport + 1));
	ref_icmp_fix(err, 20);
	memcpy(before, err, n);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_icmp_unknown_flow);
	assert_false(v->out.modified);
	assert_memory_equal(err, before, n);
	/* Another server port: no rule. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, sd.len);
	put_be16(err + 28 + 20, 6380);
	ref_icmp_fix(err, 20);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_no_rule);
	/* A seq the backend never sent. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, sd.len);
	put_be32(err + 28 + 24, iss + 1 + 1000000);
	ref_icmp_fix(err, 20);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_icmp_out_of_window);
	/* A wrong checksum: dropped, unless the caller says it is unchecked
	 * (the fuzzer), and then translated with the checksum still wrong. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, sd.len);
	err[22] ^= 0x40;
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_icmp_bad_quote);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ .csum_unverified = true }),
			 VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_icmp_to_backend);
	assert_false(ref_icmp_ok(err, 20));
	err[22] ^= 0x40;
	assert_true(ref_icmp_ok(err, 20));
	/* Sent to the client about the backend's segment. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, sd.len);
	memcpy(err + 16, v->cli.a + 12, 4);
	put_be16(err + 10, 0);
	put_be16(err + 10, (uint16_t)(0xffff - ref_add(0, err, 20)));
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_icmp_bad_quote);
	/* Seven bytes of TCP. */
	n = mk_icmp(err, &rc, 3, 4, 1280, sd.out, 27);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_icmp_bad_quote);
	/* An echo request: not an error. */
	n = mk_icmp(err, &rc, 8, 0, 0, sd.out, sd.len);
	assert_int_equal(feed_raw(v, err, n, &(struct engine_meta){ 0 }), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_parse_not_tcp);
	assert_int_equal(cnt(v, CNT_icmp_to_backend), 1);
	assert_int_equal(cnt(v, CNT_icmp_bad_quote), 3);
	env_free(v);
}

/* Applying a translation and its inverse gives the segment back. */
static void test_invert(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t our_ts, iss = splice(v, 7, &our_ts);
	struct sent cd;
	struct xlate x = { .seq_add = 5, .ack_add = 0xfffffff0u, .sack_add = 77,
			   .tsval_add = 1u << 31, .tsecr_add = 3, .win_from = 2, .win_to = 4 }, inv;
	struct pkt p;

	client_data(v, iss, our_ts, &cd);
	put_be16(cd.orig + 20 + 14, 1600);  /* a multiple of 4: rescaled exactly */
	assert_int_equal(packet_parse(&p, cd.orig, cd.len), PKT_OK);
	packet_tcp_csum_fix(&p);
	memcpy(cd.out, cd.orig, cd.len);
	assert_int_equal(packet_parse(&p, cd.out, cd.len), PKT_OK);
	translate_apply(&p, &x);
	assert_memory_not_equal(cd.out, cd.orig, cd.len);
	translate_invert(&x, &inv);
	translate_apply(&p, &inv);
	assert_memory_equal(cd.out, cd.orig, cd.len);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_scapy),
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_parse_truncations),
		cmocka_unit_test(test_parse_random),
		cmocka_unit_test(test_translate_both_directions),
		cmocka_unit_test(test_translate_rescaled_window),
		cmocka_unit_test(test_translate_keeps_quoted_checksum_wrong),
		cmocka_unit_test(test_offloaded_flow),
		cmocka_unit_test(test_own_handshake),
		cmocka_unit_test(test_refused_and_passed),
		cmocka_unit_test(test_invert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
