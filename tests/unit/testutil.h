/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fixtures shared by the unit tests, in one place: capture bytes and hex,
 * addresses, prefixes and 4-tuples, a table key and the networks that
 * flood a table, a small random number generator, and the engine harness
 * (struct env: an engine with one proxy rule, segments built and fed to
 * it, and the steps of a handshake) that test_engine.c, test_handshake.c
 * and test_splice.c drive.  Everything is static inline, so a test pays
 * only for what it uses.  It includes what it needs, cmocka too. */
#ifndef SP_TESTUTIL_H
#define SP_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bytes.h"
#include "engine.h"
#include "packet.h"
#include "tcpopt.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- capture bytes ---- */

/* The redis-cli capture from the seed article (10.179.181.97 ->
 * 10.96.92.212; bytes of a test only, never sent): the client's SYN and
 * its "ping" data segment, with their real checksums. */
static const char syn_hex[] =
	"4500 003c 08cf 4000 3606 14a5 0ab3 b561 0a60 5cd4 989e 18eb f65a ebff 0000 0000"
	"a002 7210 872f 0000 0204 05b4 0402 080a b062 e330 0000 0000 0103 0307";
static const char ping_hex[] =
	"4500 0042 08d1 4000 3606 149d 0ab3 b561 0a60 5cd4 989e 18eb f65a ec00 fe33 5504"
	"8018 00e5 4b5f 0000 0101 080a b062 ecac bab2 6fe6 2a31 0d0a 2434 0d0a 7069 6e67 0d0a";

/* ICMP errors quoting a segment of that connection (scapy-built). */
/* Scapy: IP(10.96.92.1 > 10.179.181.97) / ICMP(type 3, code 1) / the first 28 bytes
 * of IP(10.179.181.97 > 10.96.92.212) / TCP(sport 39070, dport 6379, seq 0xdeadbeef) */
static const char icmp4_hex[] =
	"45000038000100004001544f0a605c010ab3b5610301add7000000004500002800004000400613880ab3"
	"b5610a605cd4989e18ebdeadbeef";
/* Scapy: IPv6(2001:db8::fe > 2001:db8::1) / ICMPv6DestUnreach(code 3) / the first 48
 * bytes of IPv6(2001:db8::1 > 2001:db8::2) / TCP(39070 > 6379, seq 0xfffffffe) */
static const char icmp6_hex[] =
	"6000000000383a4020010db80000000000000000000000fe20010db80000000000000000000000010103"
	"2ec700000000600000000014064020010db800000000000000000000000120010db8000000000000000000"
	"000002989e18ebfffffffe";

/* Decodes hex digits (anything else is skipped) into out; returns the byte
 * count. */
static inline size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;

		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* ---- addresses and tuples ---- */

static inline void addr4(struct addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = { x, y, z, w };

	addr_from_v4(a, b);
}

static inline void addr6(struct addr *a, uint16_t first, uint16_t last)
{
	uint8_t b[16] = { 0 };

	put_be16(b, first);
	put_be16(b + 2, 0x0db8);
	put_be16(b + 14, last);
	addr_from_v6(a, b);
}

/* The prefix in text ("192.0.2.0/24", "2001:db8::1"), or a failed test. */
static inline struct prefix pfx(const char *text)
{
	struct prefix p;

	if (prefix_parse(text, &p) != 0)
		print_message("bad prefix %s\n", text);
	assert_int_equal(prefix_parse(text, &p), 0);
	return p;
}

/* The address in text (a prefix of full length), or a failed test. */
static inline struct addr ad(const char *text)
{
	struct prefix p = pfx(text);

	assert_int_equal(p.len, 128);
	return p.addr;
}

/* The i-th of TABLE_FLOOD distinct /24 networks, 10.x.y.1, for filling the
 * fixed-size tables (srclimit, learned, passlist) past their size. */
#define TABLE_FLOOD 10000

static inline struct addr nth_net(unsigned i)
{
	struct addr a;

	addr4(&a, 10, (uint8_t)(i >> 8), (uint8_t)i, 1);
	return a;
}

/* 192.0.2.1:40000 -> 198.51.100.7:80 */
static inline void key_v4(struct conn_key *k)
{
	memset(k, 0, sizeof(*k));
	addr4(&k->caddr, 192, 0, 2, 1);
	addr4(&k->saddr, 198, 51, 100, 7);
	k->cport = 40000;
	k->sport = 80;
}

/* [2001:db8::1]:cport -> [2001:db8::2]:443 */
static inline void key_v6(struct conn_key *k, uint16_t cport)
{
	memset(k, 0, sizeof(*k));
	addr6(&k->caddr, 0x2001, 1);
	addr6(&k->saddr, 0x2001, 2);
	k->cport = cport;
	k->sport = 443;
}

/* A SipHash key for tables in tests. */
static const uint8_t test_key[SIPHASH_KEY_LEN] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

/* ---- random numbers ---- */

/* Marsaglia's xorshift64: the next value of the generator at *s (never
 * seed it with 0). */
static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- the engine harness ---- */

#define T0 1000000u   /* an arbitrary start time, ms */

struct env {
	struct engine *e;
	struct policy pol;
	struct engine_config cfg;
	struct engine_out out;
	uint64_t now;
	struct addr cli, srv;
	uint16_t cport, sport;
	uint32_t next_id;
	enum engine_side side;  /* what feed() says about where a packet came from */
	/* What feed() passes as engine_meta.kernel_flow (NULL: no fast path). */
	bool (*kernel_flow)(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf);
	void *kernel_ctx;
};

static const uint8_t secret[ENGINE_SECRET_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* A proxy rule for 203.0.113.2:6379 with every option "on" and ECN, not
 * the shipped "auto" and no ECN: the tests compare SYN-ACK options that
 * must not change with what the engine learns from backends meanwhile,
 * and ECN on reaches the ECN paths.  Rules as shipped (no options) run in
 * the replay cases, test_memory.c and the live tests. */
static inline void default_rule(struct rule *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->name, "redis");
	addr4(&r->dst.addr, 203, 0, 113, 2);
	r->dst.len = 128;
	r->ports[0] = 6379;
	r->nports = 1;
	r->action = RULE_PROXY;
	r->mss_mode = OPT_ON;
	r->mss = 1460;
	r->wscale_mode = OPT_ON;
	r->wscale = 7;
	r->sack_mode = OPT_ON;
	r->ts_mode = OPT_ON;
	r->ecn = true;
}

static inline struct env *env_new(void (*tune)(struct env *))
{
	struct env *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	engine_config_defaults(&v->cfg);
	/* Flows are offered to the fast path at the backend's SYN-ACK, so
	 * that the tests read the offer there; test_splice's
	 * test_offload_threshold runs the default. */
	v->cfg.offload_after_segs = 0;
	v->pol.nrules = 1;
	default_rule(&v->pol.rules[0]);
	addr4(&v->cli, 192, 0, 2, 10);
	addr4(&v->srv, 203, 0, 113, 2);
	v->cport = 39070;
	v->sport = 6379;
	v->now = T0;
	if (tune)
		tune(v);
	v->e = engine_new(&v->cfg, &v->pol, secret, v->now);
	assert_non_null(v->e);
	return v;
}

static inline void env_free(struct env *v)
{
	engine_free(v->e);
	policy_clear(&v->pol);
	free(v);
}

static inline uint64_t cnt(struct env *v, enum counter c)
{
	return engine_counters(v->e)[c];
}

/* A segment with payload, built through packet_build then extended. */
struct seginfo {
	bool from_server;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t tos;            /* the IP header's TOS / traffic class (ECN) */
	struct tcpopt opt;      /* have == 0: no options */
	const char *payload;
};

static inline uint32_t mk(struct env *v, const struct seginfo *si, uint8_t *buf, size_t cap)
{
	struct seg s = {
		.src = si->from_server ? v->srv : v->cli,
		.dst = si->from_server ? v->cli : v->srv,
		.sport = si->from_server ? v->sport : v->cport,
		.dport = si->from_server ? v->cport : v->sport,
		.seq = si->seq, .ack = si->ack, .win = si->win, .flags = si->flags,
		.tos = si->tos, .opt = si->opt.have ? &si->opt : NULL,
	};
	size_t len = packet_build(buf, cap, &s), plen = si->payload ? strlen(si->payload) : 0;
	struct pkt p;

	assert_true(len > 0 && len + plen <= cap);
	memcpy(buf + len, si->payload ? si->payload : "", plen);
	len += plen;
	if (addr_is_v4(&s.src))
		put_be16(buf + 2, (uint16_t)len);
	else
		put_be16(buf + 4, (uint16_t)(len - 40));
	assert_int_equal(packet_parse(&p, buf, (uint32_t)len), PKT_OK);
	packet_tcp_csum_fix(&p);
	return (uint32_t)len;
}

/* Feeds one segment; the packet (maybe rewritten) stays in buf. */
static inline enum verdict feed(struct env *v, const struct seginfo *si, uint8_t *buf, size_t cap)
{
	uint32_t len = mk(v, si, buf, cap);
	struct engine_meta m = { .id = ++v->next_id, .side = v->side,
				 .kernel_flow = v->kernel_flow, .kernel_ctx = v->kernel_ctx };

	engine_input(v->e, buf, len, &m, v->now, &v->out);
	return v->out.verdict;
}

static inline void parse_emit(const struct engine_emit *em, struct pkt *p, struct tcpopt *o)
{
	assert_int_equal(packet_parse(p, (uint8_t *)(uintptr_t)em->data, em->len), PKT_OK);
	assert_true(packet_tcp_csum_ok(p));
	assert_int_equal(tcpopt_parse(p->data + p->l4off, p->doff, o), 0);
}

static const struct tcpopt linux_syn_opts = {
	.have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE,
	.mss = 1460, .wscale = 7, .tsval = 2959270704u, .tsecr = 0,
};

#define CISN 4133153791u
#define BISN 4264776963u

/* Client SYN -> our SYN-ACK.  Returns our ISN; *ts gets our TSval. */
static inline uint32_t do_syn(struct env *v, const struct tcpopt *o, uint32_t *ts)
{
	uint8_t buf[256];
	struct seginfo si = { .flags = TCPH_SYN, .seq = CISN, .win = 29200 };
	struct pkt p;
	struct tcpopt so;

	if (o)
		si.opt = *o;
	assert_int_equal(feed(v, &si, buf, sizeof(buf)), VERDICT_DROP);
	assert_true(v->out.reason == CNT_syn_received || v->out.reason == CNT_syn_duplicate);
	assert_int_equal(v->out.nemit, 1);
	assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(p.flags, TCPH_SYN | TCPH_ACK);
	assert_int_equal(p.ack, CISN + 1);
	assert_true(addr_eq(&p.src, &v->srv) && addr_eq(&p.dst, &v->cli));
	assert_int_equal(p.sport, v->sport);
	assert_int_equal(p.dport, v->cport);
	if (ts)
		*ts = so.tsval;
	return p.seq;
}

/* Client ACK completing the handshake -> backend SYN. */
static inline void do_ack(struct env *v, uint32_t iss, uint32_t our_ts, const char *payload)
{
	uint8_t buf[512];
	struct seginfo si = {
		.flags = TCPH_ACK | (payload ? TCPH_PSH : 0), .seq = CISN + 1, .ack = iss + 1,
		.win = 229, .payload = payload,
		.opt = { .have = TO_TS, .tsval = 2959270800u, .tsecr = our_ts },
	};
	struct pkt p;
	struct tcpopt so;

	feed(v, &si, buf, sizeof(buf));
	assert_int_equal(v->out.verdict, payload ? VERDICT_HOLD : VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
	assert_int_equal(v->out.emit[0].to, DIR_SERVER);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(p.flags, TCPH_SYN);
	assert_int_equal(p.seq, CISN);
	assert_true(addr_eq(&p.src, &v->cli) && addr_eq(&p.dst, &v->srv));
}

/* Backend SYN-ACK -> ACK to the backend (+ window update or releases). */
static inline void do_synack(struct env *v, uint8_t bws, uint32_t btsval)
{
	uint8_t buf[256];
	struct seginfo si = {
		.from_server = true, .flags = TCPH_SYN | TCPH_ACK, .seq = BISN, .ack = CISN + 1,
		.win = 28960,
		.opt = { .have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = 1460,
			 .wscale = bws, .tsval = btsval, .tsecr = 2959270800u },
	};
	struct pkt p;
	struct tcpopt so;

	assert_int_equal(feed(v, &si, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_backend_established);
	assert_true(v->out.nemit >= 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(v->out.emit[0].to, DIR_SERVER);
	assert_int_equal(p.flags, TCPH_ACK);
	assert_int_equal(p.seq, CISN + 1);
	assert_int_equal(p.ack, BISN + 1);
	assert_true(so.have & TO_TS);
	assert_int_equal(so.tsecr, btsval);
}

/* Sets up a spliced flow; returns our ISN. */
static inline uint32_t splice(struct env *v, uint8_t bws, uint32_t *our_ts)
{
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);

	v->now += 1;
	do_ack(v, iss, ts, NULL);
	v->now += 1;
	do_synack(v, bws, 123456);
	if (our_ts)
		*our_ts = ts;
	return iss;
}

/* Closes a spliced flow with FINs in the given order. */
static inline void close_flow(struct env *v, uint32_t iss, bool server_first)
{
	uint8_t buf[256];
	struct seginfo cf = { .flags = TCPH_FIN | TCPH_ACK, .seq = CISN + 1, .ack = iss + 1,
			      .win = 229 };
	struct seginfo sf = { .from_server = true, .flags = TCPH_FIN | TCPH_ACK, .seq = BISN + 1,
			      .ack = CISN + 1, .win = 227 };
	struct seginfo ca = { .flags = TCPH_ACK, .seq = CISN + 2, .ack = iss + 2, .win = 229 };
	struct seginfo sa = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 2,
			      .ack = CISN + 2, .win = 227 };

	if (server_first) {
		sf.ack = CISN + 1;
		assert_int_equal(feed(v, &sf, buf, sizeof(buf)), VERDICT_ACCEPT);
		cf.ack = iss + 2;
		assert_int_equal(feed(v, &cf, buf, sizeof(buf)), VERDICT_ACCEPT);
		assert_int_equal(feed(v, &sa, buf, sizeof(buf)), VERDICT_ACCEPT);
	} else {
		assert_int_equal(feed(v, &cf, buf, sizeof(buf)), VERDICT_ACCEPT);
		sf.ack = CISN + 2;
		assert_int_equal(feed(v, &sf, buf, sizeof(buf)), VERDICT_ACCEPT);
		assert_int_equal(feed(v, &ca, buf, sizeof(buf)), VERDICT_ACCEPT);
	}
}

#endif
