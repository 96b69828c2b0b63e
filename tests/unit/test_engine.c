/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine end to end on packets built here: handshakes, splicing,
 * translation, timers, limits and every way a connection ends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "engine.h"
#include "seq.h"
#include "packet.h"
#include "tcpopt.h"

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
};

static const uint8_t secret[ENGINE_SECRET_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void addr4(struct addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = { x, y, z, w };

	addr_from_v4(a, b);
}

static void addr6(struct addr *a, uint16_t first, uint16_t last)
{
	uint8_t b[16] = { 0 };

	put_be16(b, first);
	put_be16(b + 2, 0x0db8);
	put_be16(b + 14, last);
	addr_from_v6(a, b);
}

/* A proxy rule for 203.0.113.2:6379 with every option "on" and ECN, not
 * the shipped "auto" and no ECN: the tests compare SYN-ACK options that
 * must not change with what the engine learns from backends meanwhile,
 * and ECN on reaches the ECN paths.  Rules as shipped (no options) run in
 * the replay cases, test_memory.c and the live tests. */
static void default_rule(struct rule *r)
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

static struct env *env_new(void (*tune)(struct env *))
{
	struct env *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	engine_config_defaults(&v->cfg);
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

static void env_free(struct env *v)
{
	engine_free(v->e);
	policy_clear(&v->pol);
	free(v);
}

static uint64_t cnt(struct env *v, enum counter c)
{
	return engine_counters(v->e)[c];
}

/* A segment with payload, built through packet_build then extended. */
struct seginfo {
	bool from_server;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	struct tcpopt opt;      /* have == 0: no options */
	const char *payload;
};

static uint32_t mk(struct env *v, const struct seginfo *si, uint8_t *buf, size_t cap)
{
	struct seg s = {
		.src = si->from_server ? v->srv : v->cli,
		.dst = si->from_server ? v->cli : v->srv,
		.sport = si->from_server ? v->sport : v->cport,
		.dport = si->from_server ? v->cport : v->sport,
		.seq = si->seq, .ack = si->ack, .win = si->win, .flags = si->flags,
		.opt = si->opt.have ? &si->opt : NULL,
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
static enum verdict feed(struct env *v, const struct seginfo *si, uint8_t *buf, size_t cap)
{
	uint32_t len = mk(v, si, buf, cap);
	struct engine_meta m = { .id = ++v->next_id };

	engine_input(v->e, buf, len, &m, v->now, &v->out);
	return v->out.verdict;
}

static void parse_emit(const struct engine_emit *em, struct pkt *p, struct tcpopt *o)
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
static uint32_t do_syn(struct env *v, const struct tcpopt *o, uint32_t *ts)
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
static void do_ack(struct env *v, uint32_t iss, uint32_t our_ts, const char *payload)
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
static void do_synack(struct env *v, uint8_t bws, uint32_t btsval)
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
static uint32_t splice(struct env *v, uint8_t bws, uint32_t *our_ts)
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

static void test_handshake_and_splice(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[512];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct pkt p;
	struct tcpopt so;

	/* The SYN-ACK carries the rule's options, Linux order. */
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(so.have, TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE);
	assert_int_equal(so.mss, 1460);
	assert_int_equal(so.wscale, 7);
	assert_int_equal(so.tsecr, linux_syn_opts.tsval);
	assert_int_equal(cnt(v, CNT_syncache_added), 1);

	v->now += 10;
	do_ack(v, iss, ts, NULL);
	parse_emit(&v->out.emit[0], &p, &so);
	/* The backend SYN carries the client's own options. */
	assert_int_equal(so.have, TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE);
	assert_int_equal(so.mss, 1460);
	assert_int_equal(so.wscale, 7);
	assert_int_equal(so.tsval, 2959270800u);
	assert_int_equal(so.tsecr, 0);
	assert_int_equal(cnt(v, CNT_syncache_hit), 1);
	assert_int_equal(cnt(v, CNT_backend_syn_sent), 1);

	v->now += 1;
	do_synack(v, 7, 5000);
	/* No held data: a window update tells the client the real window. */
	assert_int_equal(v->out.nemit, 2);
	parse_emit(&v->out.emit[1], &p, &so);
	assert_int_equal(v->out.emit[1].to, DIR_CLIENT);
	assert_int_equal(p.seq, iss + 1);
	assert_int_equal(p.ack, CISN + 1);
	assert_int_equal(p.win, 28960 >> 7);
	assert_int_equal(so.tsval, ts);

	/* Client data: ack moves from our space to the backend's. */
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1,
			     .win = 229, .payload = "*1\r\n$4\r\nping\r\n",
			     .opt = { .have = TO_TS, .tsval = 2959270900u, .tsecr = ts } };
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_true(v->out.modified);
	assert_int_equal(packet_parse(&p, buf, 66), PKT_OK);
	assert_int_equal(p.ack, BISN + 1);
	assert_int_equal(p.seq, CISN + 1);
	assert_true(packet_tcp_csum_ok(&p));
	tcpopt_parse(p.data + p.l4off, p.doff, &so);
	assert_int_equal(so.tsecr, 5000);
	assert_int_equal(memcmp(p.data + p.l4off + p.doff, "*1\r\n$4\r\nping\r\n", 14), 0);

	/* Server reply: seq moves into our space, TSval onto our clock. */
	struct seginfo r = { .from_server = true, .flags = TCPH_ACK | TCPH_PSH, .seq = BISN + 1,
			     .ack = CISN + 15, .win = 227, .payload = "+PONG\r\n",
			     .opt = { .have = TO_TS, .tsval = 5010, .tsecr = 2959270900u } };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 59), PKT_OK);
	assert_int_equal(p.seq, iss + 1);
	assert_int_equal(p.ack, CISN + 15);
	assert_int_equal(p.win, 227);
	assert_true(packet_tcp_csum_ok(&p));
	tcpopt_parse(p.data + p.l4off, p.doff, &so);
	assert_int_equal(so.tsval, ts + 10);
	assert_int_equal(so.tsecr, 2959270900u);
	assert_int_equal(cnt(v, CNT_flows_created), 1);
	env_free(v);
}

/* Closes a spliced flow with FINs in the given order. */
static void close_flow(struct env *v, uint32_t iss, bool server_first)
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

static void test_close_and_time_wait(void **state)
{
	for (int order = 0; order < 2; order++) {
		struct env *v = env_new(NULL);
		uint32_t iss = splice(v, 7, NULL);
		struct engine_gauges g;

		close_flow(v, iss, order == 1);
		engine_gauges(v->e, &g);
		assert_int_equal(g.flows_active, 1);
		/* Time-wait lasts time_wait_ms, then the flow is gone. */
		v->now += v->cfg.time_wait_ms - 1;
		engine_tick(v->e, v->now, &v->out);
		engine_gauges(v->e, &g);
		assert_int_equal(g.flows_active, 1);
		v->now += 1;
		engine_tick(v->e, v->now, &v->out);
		engine_gauges(v->e, &g);
		assert_int_equal(g.flows_active, 0);
		assert_int_equal(cnt(v, CNT_flows_closed), 1);
		env_free(v);
	}
}

static void test_duplicate_syn_same_synack(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss1 = do_syn(v, &linux_syn_opts, NULL);

	v->now += 700;
	uint32_t iss2 = do_syn(v, &linux_syn_opts, NULL);

	assert_int_equal(iss1, iss2);
	assert_int_equal(cnt(v, CNT_syn_duplicate), 1);
	assert_int_equal(cnt(v, CNT_syncache_added), 1);
	env_free(v);
}

static void test_synack_retransmit_schedule(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss = do_syn(v, &linux_syn_opts, NULL);
	uint64_t start = v->now;
	uint64_t seen[8];
	int n = 0;

	/* Step through time 1 ms at a time for 20 s and note every retransmit. */
	for (uint64_t t = start; t <= start + 20000; t++) {
		while (engine_tick(v->e, t, &v->out))
			;
		for (uint32_t i = 0; i < v->out.nemit; i++) {
			struct pkt p;
			struct tcpopt o;

			parse_emit(&v->out.emit[i], &p, &o);
			assert_int_equal(p.seq, iss);
			assert_int_equal(p.flags, TCPH_SYN | TCPH_ACK);
			assert_true(n < 8);
			seen[n++] = t - start;
		}
	}
	assert_int_equal(n, 3);
	assert_int_equal(seen[0], 1000);
	assert_int_equal(seen[1], 3000);
	assert_int_equal(seen[2], 7000);
	assert_int_equal(cnt(v, CNT_synack_retrans), 3);
	assert_int_equal(cnt(v, CNT_syncache_expired), 1);
	env_free(v);
}

static void test_bad_ack_dropped(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = do_syn(v, &linux_syn_opts, NULL);
	struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 2, .win = 229 };

	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_ack_invalid);
	assert_int_equal(v->out.nemit, 0);
	/* Without a cache entry, a guessed ACK fails the cookie. */
	v->cport++;
	a.ack = 0x12345678;
	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_cookie_invalid_mac);
	assert_int_equal(v->out.nemit, 0);
	assert_int_equal(cnt(v, CNT_backend_syn_sent), 0);
	env_free(v);
}

static void tiny_cache(struct env *v)
{
	v->cfg.syncache.buckets = 1;
	v->cfg.syncache.bucket_limit = 1;
	v->cfg.syncache.max_entries = 1;
}

static void test_cache_full_falls_back_to_cookie(void **state)
{
	struct env *v = env_new(tiny_cache);
	uint32_t ts;

	v->cport = 1000;
	do_syn(v, &linux_syn_opts, NULL);     /* fills the cache */
	v->cport = 1001;
	uint32_t iss = do_syn(v, &linux_syn_opts, &ts);
	assert_int_equal(cnt(v, CNT_syncache_full), 1);
	assert_int_equal(cnt(v, CNT_cookie_sent), 1);
	v->now += 5;
	do_ack(v, iss, ts, NULL);
	assert_int_equal(cnt(v, CNT_cookie_valid), 1);

	/* The cookie kept the client's exact options (via the TS bits). */
	struct pkt p;
	struct tcpopt so;

	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(so.have, TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE);
	assert_int_equal(so.wscale, 7);
	assert_int_equal(so.mss, 1460);
	env_free(v);
}

/* The SYN cache under pressure: once it has turned a SYN away, a due entry
 * is dropped (syncache_shed) instead of retransmitted, its client's late
 * ACK still completes through the cookie, and once the cache has taken
 * every SYN for an rto the schedule is the usual one again. */
/* Runs the timers every ms in [from, to]; returns the SYN-ACKs emitted. */
static uint32_t tick_synacks(struct env *v, uint64_t from, uint64_t to)
{
	uint32_t n = 0;

	for (uint64_t t = from; t <= to; t++) {
		bool more;

		do {
			more = engine_tick(v->e, t, &v->out);
			for (uint32_t i = 0; i < v->out.nemit; i++) {
				struct pkt p;
				struct tcpopt o;

				parse_emit(&v->out.emit[i], &p, &o);
				n += p.flags == (TCPH_SYN | TCPH_ACK);
			}
		} while (more);
	}
	return n;
}

static void test_cache_full_sheds_due_entries(void **state)
{
	struct env *v = env_new(tiny_cache);
	uint64_t start = v->now;
	uint32_t ts_a, iss_a;

	v->cport = 1000;
	iss_a = do_syn(v, &linux_syn_opts, &ts_a);        /* fills the cache */
	v->now = start + 10;
	v->cport = 1001;
	do_syn(v, &linux_syn_opts, NULL);                 /* turned away: pressure */
	assert_int_equal(cnt(v, CNT_syncache_full), 1);
	assert_int_equal(tick_synacks(v, start, start + 1005), 0);
	assert_int_equal(cnt(v, CNT_synack_retrans), 0);
	assert_int_equal(cnt(v, CNT_syncache_shed), 1);
	assert_int_equal(engine_next_deadline(v->e), UINT64_MAX);
	/* A's ACK, late: no entry any more, the cookie answers. */
	v->now = start + 1005;
	v->cport = 1000;
	do_ack(v, iss_a, ts_a, NULL);
	assert_int_equal(cnt(v, CNT_cookie_valid), 1);
	assert_int_equal(cnt(v, CNT_syncache_hit), 0);

	/* Pressure is over (no SYN turned away since start + 10): a new entry
	 * gets its SYN-ACK retransmitted at +1 s. */
	v->now = start + 3000;
	v->cport = 1002;
	do_syn(v, &linux_syn_opts, NULL);
	assert_int_equal(cnt(v, CNT_syncache_added), 2);
	assert_int_equal(tick_synacks(v, v->now, v->now + 1000), 1);
	assert_int_equal(cnt(v, CNT_synack_retrans), 1);
	assert_int_equal(cnt(v, CNT_syncache_shed), 1);
	env_free(v);
}

static void cookies_always(struct env *v)
{
	v->cfg.cookies = COOKIES_ALWAYS;
}

static void test_cookies_always(void **state)
{
	struct env *v = env_new(cookies_always);
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct engine_gauges g;

	engine_gauges(v->e, &g);
	assert_int_equal(g.syncache_entries, 0);
	assert_int_equal(cnt(v, CNT_cookie_sent), 1);
	v->now += 60000;        /* still valid a minute later */
	do_ack(v, iss, ts, NULL);
	v->now += 1;
	do_synack(v, 7, 99);
	assert_int_equal(cnt(v, CNT_backend_established), 1);
	env_free(v);
}

static void cookies_off_small(struct env *v)
{
	v->cfg.cookies = COOKIES_OFF;
	v->cfg.syncache.buckets = 1;
	v->cfg.syncache.bucket_limit = 2;
	v->cfg.syncache.max_entries = 2;
}

static void test_cookies_off_evicts_oldest(void **state)
{
	struct env *v = env_new(cookies_off_small);
	uint32_t isn[3];
	uint8_t buf[256];

	for (int i = 0; i < 3; i++) {
		v->cport = (uint16_t)(2000 + i);
		isn[i] = do_syn(v, &linux_syn_opts, NULL);
		v->now += 1;
	}
	assert_int_equal(cnt(v, CNT_syncache_evicted), 1);
	/* The oldest (port 2000) is gone: its ACK finds no state. */
	v->cport = 2000;
	struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = isn[0] + 1, .win = 229 };
	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_ack_no_state);
	/* The newest still completes. */
	v->cport = 2002;
	a.ack = isn[2] + 1;
	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syncache_hit);
	env_free(v);
}

static void test_backend_refuses(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct pkt p;
	struct tcpopt so;

	do_ack(v, iss, ts, NULL);
	struct seginfo r = { .from_server = true, .flags = TCPH_RST | TCPH_ACK, .seq = 0,
			     .ack = CISN + 1 };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
	assert_int_equal(p.flags, TCPH_RST | TCPH_ACK);
	assert_int_equal(p.seq, iss + 1);
	assert_int_equal(p.ack, CISN + 1);
	assert_int_equal(cnt(v, CNT_backend_refused), 1);
	env_free(v);
}

static void test_backend_silent(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	uint64_t start, syns[8];
	int nsyn = 0, nrst = 0;

	do_ack(v, iss, ts, "early");
	assert_int_equal(v->out.verdict, VERDICT_HOLD);
	start = v->now;
	for (uint64_t t = start; t <= start + 20000; t++) {
		engine_tick(v->e, t, &v->out);
		for (uint32_t i = 0; i < v->out.nemit; i++) {
			struct pkt p;
			struct tcpopt o;

			parse_emit(&v->out.emit[i], &p, &o);
			if (p.flags == TCPH_SYN) {
				assert_int_equal(p.seq, CISN);
				syns[nsyn++] = t - start;
			} else {
				assert_int_equal(p.flags, TCPH_RST | TCPH_ACK);
				assert_int_equal(v->out.emit[i].to, DIR_CLIENT);
				assert_int_equal(t - start, 15000);
				nrst++;
				/* The held segment is released with a drop. */
				assert_int_equal(v->out.nrelease, 1);
				assert_int_equal(v->out.release[0].verdict, VERDICT_DROP);
				assert_int_equal(v->out.release[0].id, v->next_id);
			}
		}
	}
	assert_int_equal(nsyn, 3);
	assert_int_equal(syns[0], 1000);
	assert_int_equal(syns[1], 3000);
	assert_int_equal(syns[2], 7000);
	assert_int_equal(nrst, 1);
	assert_int_equal(cnt(v, CNT_backend_timeout), 1);
	env_free(v);
}

static void test_early_data_held_and_released(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	uint32_t first_id;

	do_ack(v, iss, ts, "AB");
	first_id = v->next_id;
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 3, .ack = iss + 1,
			     .win = 229, .payload = "CD",
			     .opt = { .have = TO_TS, .tsval = 2959270801u, .tsecr = ts } };
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_HOLD);
	do_synack(v, 7, 777);
	/* The ACK to the backend first, then both segments in order. */
	assert_int_equal(v->out.nemit, 1);
	assert_int_equal(v->out.nrelease, 2);
	for (int i = 0; i < 2; i++) {
		struct pkt p;
		const struct engine_release *r = &v->out.release[i];

		assert_int_equal(r->id, first_id + (uint32_t)i);
		assert_int_equal(r->verdict, VERDICT_ACCEPT);
		assert_int_equal(packet_parse(&p, (uint8_t *)(uintptr_t)r->data, r->len), PKT_OK);
		assert_int_equal(p.seq, CISN + 1 + 2 * (uint32_t)i);
		assert_int_equal(p.ack, BISN + 1);
		assert_true(packet_tcp_csum_ok(&p));
		assert_int_equal(memcmp(p.data + p.l4off + p.doff, i ? "CD" : "AB", 2), 0);
	}
	assert_int_equal(cnt(v, CNT_held_released), 2);
	env_free(v);
}

/* A segment too large to hold (a GSO segment; held slots are 2 KiB) is
 * dropped for the client to send again: the ACK that follows the backend's
 * SYN-ACK must not acknowledge it, or its bytes are lost and the
 * connection stalls (found by tests/live/ts_missing.sh). */
static void test_early_data_not_held_not_acked(void **state)
{
	static char big[3001];
	struct env *v = env_new(NULL);
	uint8_t buf[3200];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct pkt p;
	struct tcpopt o;

	memset(big, 'x', sizeof(big) - 1);
	do_ack(v, iss, ts, NULL);
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1,
			     .win = 229, .payload = big,
			     .opt = { .have = TO_TS, .tsval = 2959270801u, .tsecr = ts } };
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_held_dropped);
	do_synack(v, 7, 777);
	assert_int_equal(v->out.nrelease, 0);
	assert_int_equal(v->out.nemit, 2);
	parse_emit(&v->out.emit[1], &p, &o);
	assert_int_equal(v->out.emit[1].to, DIR_CLIENT);
	assert_int_equal(p.ack, CISN + 1);
	env_free(v);

	/* The same with the data in the handshake ACK itself. */
	v = env_new(NULL);
	iss = do_syn(v, &linux_syn_opts, &ts);
	d.ack = iss + 1;
	d.opt.tsecr = ts;
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(cnt(v, CNT_held_dropped), 1);
	assert_int_equal(cnt(v, CNT_backend_syn_sent), 1);
	do_synack(v, 7, 777);
	parse_emit(&v->out.emit[1], &p, &o);
	assert_int_equal(p.ack, CISN + 1);
	env_free(v);
}

/*
 * Held segments must pass the backend's PAWS check: the backend SYN, its
 * retransmission and our ACK completing the backend handshake carry the
 * TSval of the client's handshake ACK (2959270800), never that of a later
 * held segment, so each released segment's TSval is >= the newest the
 * backend has seen.  (The live scenario found a backend dropping the first
 * held segment when the retransmitted SYN carried the last one's TSval.)
 */
static void test_held_segments_pass_paws(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	uint32_t newest = 2959270800u;
	struct pkt p;
	struct tcpopt o;
	int nsyn = 0;

	do_ack(v, iss, ts, "AB");
	for (uint32_t i = 0; i < 2; i++) {
		struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 3 + 2 * i,
				     .ack = iss + 1, .win = 229, .payload = i ? "EF" : "CD",
				     .opt = { .have = TO_TS, .tsval = 2959270801u + i,
					      .tsecr = ts } };

		v->now += 100;
		assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_HOLD);
	}
	/* The first backend SYN retransmission, 1 s after the first SYN. */
	for (uint64_t t = v->now; t <= v->now + 1500 && !nsyn; t++) {
		engine_tick(v->e, t, &v->out);
		for (uint32_t i = 0; i < v->out.nemit; i++) {
			parse_emit(&v->out.emit[i], &p, &o);
			assert_int_equal(p.flags, TCPH_SYN);
			assert_true(o.have & TO_TS);
			assert_int_equal(o.tsval, 2959270800u);
			nsyn++;
		}
	}
	assert_int_equal(nsyn, 1);
	do_synack(v, 7, 777);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(o.tsval, 2959270800u);
	assert_int_equal(v->out.nrelease, 3);
	for (uint32_t i = 0; i < 3; i++) {
		const struct engine_release *r = &v->out.release[i];
		struct pkt h;
		struct tcpopt ho;

		assert_int_equal(packet_parse(&h, (uint8_t *)(uintptr_t)r->data, r->len), PKT_OK);
		tcpopt_parse(h.data + h.l4off, h.doff, &ho);
		assert_true(ho.have & TO_TS);
		/* PAWS at the backend: never older than what it has seen. */
		assert_false(seq_before(ho.tsval, newest));
		newest = ho.tsval;
	}
	assert_int_equal(newest, 2959270802u);
	env_free(v);
}

static void test_window_rescaled(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 2, NULL);   /* we told the client 7, backend uses 2 */
	struct pkt p;

	struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1,
			     .ack = CISN + 1, .win = 1000 };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 40), PKT_OK);
	assert_int_equal(p.win, (1000 << 2) >> 7);
	assert_true(packet_tcp_csum_ok(&p));
	/* Client windows go through unchanged: the backend knows the
	 * client's own scale from the SYN. */
	struct seginfo c = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 300 };
	assert_int_equal(feed(v, &c, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 40), PKT_OK);
	assert_int_equal(p.win, 300);
	assert_true(cnt(v, CNT_window_rescaled) >= 1);
	env_free(v);
}

static void test_sack_and_wrap(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	uint32_t delta = iss - BISN;
	struct pkt p;
	struct tcpopt so;

	/* The client SACKs server data across the 2^32 wrap of our space. */
	struct seginfo c = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
			     .opt = { .have = TO_SACK, .nsack = 2 } };
	c.opt.sack[0][0] = 0xfffffff0u;
	c.opt.sack[0][1] = 0x00000010u;
	c.opt.sack[1][0] = iss + 3000;
	c.opt.sack[1][1] = iss + 4000;
	/* packet_build writes no SACK blocks: add them by hand. */
	uint32_t len = mk(v, &c, buf, sizeof(buf));
	(void)len;
	{
		uint8_t raw[256];
		struct seg s = { .src = v->cli, .dst = v->srv, .sport = v->cport,
				 .dport = v->sport, .seq = CISN + 1, .ack = iss + 1,
				 .win = 229, .flags = TCPH_ACK };
		size_t n = packet_build(raw, sizeof(raw), &s);
		uint8_t opt[20] = { 1, 1, 5, 18 };

		put_be32(opt + 4, 0xfffffff0u);
		put_be32(opt + 8, 0x00000010u);
		put_be32(opt + 12, iss + 3000);
		put_be32(opt + 16, iss + 4000);
		memcpy(raw + n, opt, sizeof(opt));
		raw[32] = (uint8_t)(((20 + sizeof(opt)) / 4) << 4);
		put_be16(raw + 2, (uint16_t)(n + sizeof(opt)));
		assert_int_equal(packet_parse(&p, raw, (uint32_t)(n + sizeof(opt))), PKT_OK);
		packet_tcp_csum_fix(&p);
		struct engine_meta m = { .id = 99 };
		engine_input(v->e, raw, (uint32_t)(n + sizeof(opt)), &m, v->now, &v->out);
		assert_int_equal(v->out.verdict, VERDICT_ACCEPT);
		assert_int_equal(packet_parse(&p, raw, (uint32_t)(n + sizeof(opt))), PKT_OK);
		assert_true(packet_tcp_csum_ok(&p));
		tcpopt_parse(p.data + p.l4off, p.doff, &so);
		assert_int_equal(so.nsack, 2);
		assert_int_equal(so.sack[0][0], 0xfffffff0u - delta);
		assert_int_equal(so.sack[0][1], 0x00000010u - delta);
		assert_int_equal(so.sack[1][0], BISN + 3000);
		assert_int_equal(so.sack[1][1], BISN + 4000);
		assert_int_equal(p.ack, BISN + 1);
	}
	env_free(v);
}

static void test_keepalive_and_zero_window_probe(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct pkt p;

	/* Keepalive: seq = snd.nxt - 1 with one garbage byte. */
	struct seginfo k = { .flags = TCPH_ACK, .seq = CISN, .ack = iss + 1, .win = 229,
			     .payload = "x" };
	assert_int_equal(feed(v, &k, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 41), PKT_OK);
	assert_int_equal(p.seq, CISN);
	assert_int_equal(p.ack, BISN + 1);
	/* A later exact RST must still match snd.nxt (keepalive did not move it). */
	struct seginfo probe = { .from_server = true, .flags = TCPH_ACK, .seq = BISN,
				 .ack = CISN + 1, .win = 0 };
	assert_int_equal(feed(v, &probe, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 40), PKT_OK);
	assert_int_equal(p.seq, iss);
	assert_int_equal(p.win, 0);
	struct seginfo rst = { .flags = TCPH_RST, .seq = CISN + 1 };
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

static void test_rst_validation(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct engine_gauges g;

	(void)iss;
	/* Far outside the window: dropped, flow untouched. */
	struct seginfo r = { .flags = TCPH_RST, .seq = CISN + 0x40000000u };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_out_of_window);
	/* In the window but not exact: passed on, flow kept. */
	r.seq = CISN + 100;
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	/* A server RST exactly at its snd.nxt ends the flow, translated. */
	struct seginfo s = { .from_server = true, .flags = TCPH_RST, .seq = BISN + 1 };
	assert_int_equal(feed(v, &s, buf, sizeof(buf)), VERDICT_ACCEPT);
	struct pkt p;
	assert_int_equal(packet_parse(&p, buf, 40), PKT_OK);
	assert_int_equal(p.seq, iss + 1);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	env_free(v);
}

static void test_illegal_flags_and_malformed(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	static const uint8_t bad[] = { TCPH_SYN | TCPH_FIN, TCPH_SYN | TCPH_RST, 0, TCPH_FIN,
				       TCPH_PSH | TCPH_URG | TCPH_FIN };

	for (size_t i = 0; i < sizeof(bad); i++) {
		struct seginfo s = { .flags = bad[i], .seq = CISN };

		assert_int_equal(feed(v, &s, buf, sizeof(buf)), VERDICT_DROP);
		assert_int_equal(v->out.reason, CNT_bad_flags);
		assert_int_equal(v->out.nemit, 0);
	}
	/* A truncated TCP header. */
	struct seginfo s = { .flags = TCPH_SYN, .seq = CISN };
	uint32_t len = mk(v, &s, buf, sizeof(buf));
	put_be16(buf + 2, (uint16_t)(len - 10));
	engine_input(v->e, buf, len - 10, NULL, v->now, &v->out);
	assert_int_equal(v->out.verdict, VERDICT_DROP);
	assert_int_equal(cnt(v, CNT_parse_truncated) + cnt(v, CNT_parse_bad_doff), 1);
	/* A wrong checksum on a SYN. */
	len = mk(v, &s, buf, sizeof(buf));
	buf[len - 1] ^= 0xff;
	engine_input(v->e, buf, len, NULL, v->now, &v->out);
	assert_int_equal(v->out.reason, CNT_bad_checksum);
	assert_int_equal(cnt(v, CNT_synack_sent), 0);
	env_free(v);
}

static void rule_variants(struct env *v)
{
	struct prefix p;

	v->pol.nrules = 3;
	default_rule(&v->pol.rules[1]);
	v->pol.rules[1].ports[0] = 80;
	v->pol.rules[1].action = RULE_RESET;
	v->pol.rules[1].reset_pass_ms = 30000;
	default_rule(&v->pol.rules[2]);
	v->pol.rules[2].ports[0] = 22;
	v->pol.rules[2].action = RULE_DROP;
	assert_int_equal(prefix_parse("192.0.2.66", &p), 0);
	v->pol.rules[0].deny = cidrset_new(&p, 1);
}

static void test_rule_actions(void **state)
{
	struct env *v = env_new(rule_variants);
	uint8_t buf[256];
	struct pkt p;
	struct tcpopt so;

	v->sport = 22;
	struct seginfo syn = { .flags = TCPH_SYN, .seq = CISN, .win = 1000 };
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rule_drop);

	/* Reset rule: a proven handshake gets an RST, then passes. */
	v->sport = 80;
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
			     .opt = { .have = TO_TS, .tsval = 1, .tsecr = ts } };
	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_reset_action);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(p.flags, TCPH_RST);
	assert_int_equal(p.seq, iss + 1);
	v->now += 1000;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_reset_pass);
	v->now += 30000;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_received);

	/* A denied source. */
	v->sport = 6379;
	addr4(&v->cli, 192, 0, 2, 66);
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_denied);
	/* Nothing to do with us. */
	v->sport = 443;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_no_rule);
	env_free(v);
}

static void rate_limited(struct env *v)
{
	v->pol.rules[0].syn_rate_per_source = 2;
	v->pol.rules[0].syn_burst_per_source = 2;
}

static void test_syn_rate_limit(void **state)
{
	struct env *v = env_new(rate_limited);
	uint8_t buf[256];
	struct seginfo syn = { .flags = TCPH_SYN, .seq = CISN, .win = 1000 };
	int sent = 0;

	for (int i = 0; i < 10; i++) {
		v->cport = (uint16_t)(3000 + i);
		feed(v, &syn, buf, sizeof(buf));
		sent += v->out.nemit;
	}
	assert_int_equal(sent, 2);
	assert_int_equal(cnt(v, CNT_syn_rate_limited), 8);
	/* Another /24 is not affected. */
	addr4(&v->cli, 198, 51, 100, 1);
	feed(v, &syn, buf, sizeof(buf));
	assert_int_equal(v->out.nemit, 1);
	env_free(v);
}

static void half_open_two(struct env *v)
{
	v->pol.rules[0].max_half_open_per_source = 2;
}

static uint32_t cache_entries(struct env *v)
{
	struct engine_gauges g;

	engine_gauges(v->e, &g);
	return g.syncache_entries;
}

/* A SYN from v->cli port cport, answered (from the cache or by cookie). */
static void syn_from(struct env *v, uint16_t cport)
{
	uint8_t buf[256];
	struct seginfo syn = { .flags = TCPH_SYN, .seq = CISN, .win = 1000, .opt = linux_syn_opts };

	v->cport = cport;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
}

/* The client's RST for its half-open entry at cport (seq = its ISN + 1). */
static void rst_from(struct env *v, uint16_t cport)
{
	uint8_t buf[256];
	struct seginfo rst = { .flags = TCPH_RST, .seq = CISN + 1 };

	v->cport = cport;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syncache_reset);
}

/* max_half_open_per_source: past the limit a source's /24 is answered by
 * cookie instead of the cache; an entry that leaves makes room again. */
static void test_half_open_limit(void **state)
{
	struct env *v = env_new(half_open_two);

	syn_from(v, 3000);
	syn_from(v, 3001);
	assert_int_equal(cache_entries(v), 2);
	syn_from(v, 3002);
	assert_int_equal(cnt(v, CNT_half_open_limited), 1);
	assert_int_equal(cnt(v, CNT_cookie_sent), 1);
	assert_int_equal(cache_entries(v), 2);
	addr4(&v->cli, 192, 0, 2, 77);             /* same /24 */
	syn_from(v, 3003);
	assert_int_equal(cnt(v, CNT_half_open_limited), 2);
	addr4(&v->cli, 198, 51, 100, 1);           /* another /24 */
	syn_from(v, 3004);
	assert_int_equal(cache_entries(v), 3);
	addr4(&v->cli, 192, 0, 2, 10);
	rst_from(v, 3000);
	syn_from(v, 3005);
	assert_int_equal(cnt(v, CNT_half_open_limited), 2);
	assert_int_equal(cache_entries(v), 3);
	env_free(v);
}

/* A limit added by a reload counts the entries already in the cache; one
 * removed and added again does not reuse counts gone stale meanwhile. */
static void test_half_open_limit_added_by_reload(void **state)
{
	struct env *v = env_new(NULL);
	struct policy limited = v->pol, unlimited = v->pol;

	syn_from(v, 3000);
	syn_from(v, 3001);
	syn_from(v, 3002);
	assert_int_equal(cache_entries(v), 3);
	limited.rules[0].max_half_open_per_source = 3;
	engine_set_policy(v->e, &limited);
	syn_from(v, 3003);
	assert_int_equal(cnt(v, CNT_half_open_limited), 1);
	assert_int_equal(cache_entries(v), 3);

	engine_set_policy(v->e, &unlimited);
	rst_from(v, 3000);                          /* not counted now */
	assert_int_equal(cache_entries(v), 2);
	engine_set_policy(v->e, &limited);
	syn_from(v, 3004);                          /* 2 < 3: cached */
	assert_int_equal(cnt(v, CNT_half_open_limited), 1);
	assert_int_equal(cache_entries(v), 3);
	syn_from(v, 3005);
	assert_int_equal(cnt(v, CNT_half_open_limited), 2);
	engine_set_policy(v->e, &v->pol);
	env_free(v);
}

static void auto_rule(struct env *v)
{
	v->pol.rules[0].wscale_mode = OPT_AUTO;
	v->pol.rules[0].mss_mode = OPT_AUTO;
}

static void test_learned_options(void **state)
{
	struct env *v = env_new(auto_rule);
	struct pkt p;
	struct tcpopt so;

	splice(v, 3, NULL);       /* the backend announces wscale 3, MSS 1460 */
	v->cport++;
	do_syn(v, &linux_syn_opts, NULL);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(so.wscale, 3);
	assert_int_equal(cnt(v, CNT_options_learned), 1);
	env_free(v);
}

static void ipv6_rule(struct env *v)
{
	addr6(&v->pol.rules[0].dst.addr, 0x2001, 2);
	v->pol.rules[0].dst.len = 128;
	addr6(&v->cli, 0x2001, 0x10);
	addr6(&v->srv, 0x2001, 2);
}

static void test_ipv6_splice(void **state)
{
	struct env *v = env_new(ipv6_rule);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct pkt p;

	struct seginfo r = { .from_server = true, .flags = TCPH_ACK | TCPH_PSH, .seq = BISN + 1,
			     .ack = CISN + 1, .win = 227, .payload = "+PONG\r\n" };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, 40 + 20 + 7), PKT_OK);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.seq, iss + 1);
	assert_true(packet_tcp_csum_ok(&p));
	env_free(v);
}

static void test_flush_releases_everything(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct engine_gauges g;

	do_ack(v, iss, ts, "held");
	engine_gauges(v->e, &g);
	assert_int_equal(g.held_packets, 1);
	assert_false(engine_flush(v->e, &v->out));
	assert_int_equal(v->out.nrelease, 1);
	assert_int_equal(v->out.release[0].verdict, VERDICT_DROP);
	engine_gauges(v->e, &g);
	assert_int_equal(g.held_packets, 0);
	env_free(v);
}

static void test_flood_memory_bounded(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	struct engine_gauges g0, g;
	struct seginfo syn = { .flags = TCPH_SYN, .win = 1000 };

	engine_gauges(v->e, &g0);
	for (uint32_t i = 0; i < 200000; i++) {
		addr4(&v->cli, 198, 18, (uint8_t)(i >> 8), (uint8_t)i);
		v->cport = (uint16_t)(1024 + i % 60000);
		syn.seq = i * 7919u;
		feed(v, &syn, buf, sizeof(buf));
		assert_int_equal(v->out.nemit, 1);
	}
	engine_gauges(v->e, &g);
	assert_true(g.syncache_entries <= v->cfg.syncache.max_entries);
	assert_true(cnt(v, CNT_cookie_sent) > 0);
	env_free(v);
}


static void crosscheck(struct env *v)
{
	v->cfg.cookie_crosscheck = true;
}

/* Every SYN-ACK's ISN is also a cookie in "auto" mode, so a cache hit
 * must agree with the cookie path (FreeBSD's syncookie_cmp idea). */
static void test_cookie_crosscheck_agrees(void **state)
{
	struct env *v = env_new(crosscheck);

	for (int i = 0; i < 50; i++) {
		uint32_t ts, iss;

		v->cport = (uint16_t)(5000 + i);
		iss = do_syn(v, &linux_syn_opts, &ts);
		v->now += 30;
		do_ack(v, iss, ts, NULL);
	}
	assert_int_equal(cnt(v, CNT_syncache_hit), 50);
	assert_int_equal(cnt(v, CNT_cookie_mismatch), 0);
	env_free(v);
}

/* Random damage to real handshake and data packets: the engine must never
 * read out of bounds (run under ASan), and must answer each with a verdict
 * and consistent counters. */
static void test_mutated_packets(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t good[4][256], buf[300];
	uint32_t len[4], seed = 12345;
	uint32_t ts, iss = splice(v, 7, &ts);
	struct seginfo si[4] = {
		{ .flags = TCPH_SYN, .seq = CISN, .win = 1000, .opt = linux_syn_opts },
		{ .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1, .win = 229,
		  .payload = "hello", .opt = { .have = TO_TS, .tsval = 5, .tsecr = ts } },
		{ .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1, .ack = CISN + 1,
		  .win = 100, .opt = { .have = TO_TS, .tsval = 6, .tsecr = 5 } },
		{ .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229 },
	};

	for (int i = 0; i < 4; i++)
		len[i] = mk(v, &si[i], good[i], sizeof(good[i]));
	for (int n = 0; n < 200000; n++) {
		int k = n % 4;
		uint32_t l = len[k];

		memcpy(buf, good[k], l);
		for (int flips = 1 + (int)((seed >> 8) % 4); flips > 0; flips--) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 16) % l] ^= (uint8_t)(1u << ((seed >> 4) % 8));
		}
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 8 == 0)
			l = (seed >> 4) % (l + 1);     /* truncate too */
		v->now += (seed >> 20) % 3;
		engine_input(v->e, buf, l, NULL, v->now, &v->out);
		assert_true(v->out.verdict == VERDICT_ACCEPT || v->out.verdict == VERDICT_DROP ||
			    v->out.verdict == VERDICT_HOLD);
		assert_true(v->out.nemit <= ENGINE_MAX_EMIT);
		while (engine_tick(v->e, v->now, &v->out))
			;
	}
	assert_int_equal(cnt(v, CNT_packets_received), 200000 + 3);
	assert_int_equal(cnt(v, CNT_packets_accepted) + cnt(v, CNT_packets_dropped) +
			 cnt(v, CNT_packets_held), 200000 + 3);
	env_free(v);
}

/* A client that lost its connection and reuses the port: its SYN gets a
 * challenge ACK, its RST to that ends the old flow, its next SYN opens a
 * new connection.  A spoofed SYN alone ends nothing. */
static void test_syn_on_live_flow_challenge(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct engine_gauges g;
	struct pkt p;
	struct tcpopt so;

	struct seginfo syn = { .flags = TCPH_SYN, .seq = 12345, .win = 1000 };
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_on_flow);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
	assert_int_equal(p.flags, TCPH_ACK);
	assert_int_equal(p.seq, iss + 1);
	assert_int_equal(p.ack, CISN + 1);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	/* The client (in SYN-SENT) answers with RST seq = the challenge's ack. */
	struct seginfo rst = { .flags = TCPH_RST, .seq = p.ack };
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	v->now += 1000;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_received);
	assert_int_equal(cnt(v, CNT_syn_on_flow), 1);
	env_free(v);
}

/* An established flow is offered for offload with what the kernel needs;
 * once offloaded it lives only for the grace time (packets already queued
 * are still translated). */
/* The tuple of the env's current client and server. */
static struct conn_key env_key(const struct env *v)
{
	return (struct conn_key){ .caddr = v->cli, .saddr = v->srv, .cport = v->cport,
				  .sport = v->sport };
}

/* A spliced flow handed to the kernel; returns our ISN. */
static uint32_t offloaded_flow(struct env *v)
{
	uint32_t iss = splice(v, 7, NULL);
	struct conn_key k = env_key(v);

	assert_true(engine_offloaded(v->e, &k, v->now));
	return iss;
}

static void test_offer_and_offload(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct engine_gauges g;
	struct conn_key k = env_key(v);

	do_ack(v, iss, ts, NULL);
	assert_false(v->out.offer);
	do_synack(v, 7, 5000);
	assert_true(v->out.offer);
	assert_true(conn_key_eq(&v->out.offer_flow.key, &k));
	assert_int_equal(v->out.offer_flow.seq_delta, iss - BISN);
	assert_int_equal(v->out.offer_flow.iss, iss);
	assert_int_equal(v->out.offer_flow.bis, BISN);
	assert_int_equal(v->out.offer_flow.irs, CISN);
	assert_int_equal(v->out.offer_flow.our_tsval, ts);
	assert_int_equal(v->out.offer_flow.ts_delta, ts - 5000);
	assert_true(v->out.offer_flow.ts);
	assert_false(v->out.offer_flow.rescaled);
	assert_true(engine_offloaded(v->e, &k, v->now));
	assert_false(engine_offloaded(v->e, &k, v->now));
	/* A packet queued before the kernel took over is still translated. */
	struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1,
			     .ack = CISN + 1, .win = 100 };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	v->now += v->cfg.rst_grace_ms;
	engine_tick(v->e, v->now, &v->out);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_flows_offloaded), 1);
	assert_int_equal(cnt(v, CNT_offload_released), 1);
	env_free(v);
}

/* A new flow tells the caller to clear the kernel's entries for its
 * tuple (an earlier connection's entry would translate it with the wrong
 * offsets); the backend handshake's answer does not. */
static void test_new_flow_forgets_kernel_entry(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct conn_key k = env_key(v);

	assert_false(v->out.forget);
	do_ack(v, iss, ts, NULL);
	assert_true(v->out.forget);
	assert_true(conn_key_eq(&v->out.forget_key, &k));
	do_synack(v, 7, 5000);
	assert_false(v->out.forget);
	env_free(v);
}

/* A FIN of an offloaded flow that reaches the engine passed conntrack
 * before the flow's entry was made: the flow comes back to userspace
 * (the caller removes the entry), closes there and ends as closed, not
 * as released; data without FIN or RST leaves it offloaded. */
static void test_offloaded_flow_withdrawn_on_missed_fin(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = offloaded_flow(v);
	struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1,
			     .ack = CISN + 1, .win = 100 };
	struct engine_gauges g;

	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_false(v->out.forget);
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 0);

	close_flow(v, iss, true);                   /* the server's FIN first */
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 1);
	/* Back in userspace: the rest of the close is tracked, and the flow
	 * waits out time-wait instead of the offload's grace. */
	v->now += v->cfg.rst_grace_ms;
	engine_tick(v->e, v->now, &v->out);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	v->now += v->cfg.time_wait_ms;
	engine_tick(v->e, v->now, &v->out);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_flows_closed), 1);
	assert_int_equal(cnt(v, CNT_offload_released), 0);
	env_free(v);
}

/* The first FIN's own output asks for the entry to go. */
static void test_withdraw_asks_to_forget(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = offloaded_flow(v);
	struct conn_key k = env_key(v);
	struct seginfo rst = { .flags = TCPH_RST | TCPH_ACK, .seq = CISN + 1, .ack = iss + 1 };

	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_true(v->out.forget);
	assert_true(conn_key_eq(&v->out.forget_key, &k));
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 1);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

static void test_rescaled_flow_flagged(void **state)
{
	struct env *v = env_new(NULL);

	splice(v, 2, NULL);
	assert_true(v->out.offer);
	assert_true(v->out.offer_flow.rescaled);
	env_free(v);
}

/* Two engines with the same secret but different uptimes validate each
 * other's cookies once both know the wall clock (ECMP proxies). */
static void test_shared_secret_wallclock(void **state)
{
	struct env *a = env_new(cookies_always), *b = env_new(cookies_always);
	uint32_t ts, iss;

	b->now = a->now + 5000000;        /* booted 83 minutes earlier */
	engine_set_wallclock(a->e, 1790000000000ull, a->now);
	engine_set_wallclock(b->e, 1790000000000ull, b->now);
	iss = do_syn(a, &linux_syn_opts, &ts);
	b->now += 10;
	do_ack(b, iss, ts, NULL);
	assert_int_equal(cnt(b, CNT_cookie_valid), 1);
	env_free(a);
	env_free(b);
}

static void few_flows(struct env *v)
{
	v->cfg.max_flows = 64;
}

/* A table full of flows in time-wait makes room for a new connection by
 * ending one of them (as Linux reuses time-wait sockets); a table full of
 * live flows still turns the handshake away. */
static void test_full_table_recycles_time_wait(void **state)
{
	struct env *v = env_new(few_flows);
	struct engine_gauges g;
	uint8_t buf[256];
	uint32_t ts, iss;

	for (uint16_t i = 0; i < 64; i++) {
		v->cport = (uint16_t)(20000 + i);
		close_flow(v, splice(v, 7, NULL), false);
	}
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 64);
	v->cport = 30000;
	iss = do_syn(v, &linux_syn_opts, &ts);
	do_ack(v, iss, ts, NULL);
	assert_int_equal(cnt(v, CNT_time_wait_recycled), 1);
	assert_int_equal(cnt(v, CNT_flows_closed), 1);
	assert_int_equal(cnt(v, CNT_flows_full), 0);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 64);

	/* Now 63 in time-wait and one live: recycle them all, then full. */
	for (uint16_t i = 0; i < 63; i++) {
		v->cport = (uint16_t)(30001 + i);
		iss = do_syn(v, &linux_syn_opts, &ts);
		do_ack(v, iss, ts, NULL);
	}
	assert_int_equal(cnt(v, CNT_time_wait_recycled), 64);
	v->cport = 31000;
	iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo ack = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
			       .opt = { .have = TO_TS, .tsval = 2959270705u, .tsecr = ts } };
	assert_int_equal(feed(v, &ack, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_flows_full);
	env_free(v);
}

/* Clients that finish their handshake against a backend that never
 * answers fill the flow table, never more: later ones are counted and
 * dropped (they retransmit), the memory does not move, and the table
 * drains as the backend SYNs time out. */
static void test_half_finished_backend_handshakes_bounded(void **state)
{
	struct env *v = env_new(few_flows);
	struct engine_gauges g0, g;
	uint8_t buf[256];

	engine_gauges(v->e, &g0);
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t ts;
		uint32_t iss;

		addr4(&v->cli, 198, 18, (uint8_t)(i >> 8), (uint8_t)i);
		iss = do_syn(v, &linux_syn_opts, &ts);
		struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1,
				     .win = 229, .opt = { .have = TO_TS, .tsval = 1, .tsecr = ts } };
		feed(v, &a, buf, sizeof(buf));
	}
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 64);
	assert_int_equal(cnt(v, CNT_flows_created), 64);
	assert_int_equal(cnt(v, CNT_flows_full), 20000 - 64);
	v->now += 60000;
	while (engine_tick(v->e, v->now, &v->out))
		;
	for (int i = 0; i < 20; i++) {
		v->now += 1000;
		while (engine_tick(v->e, v->now, &v->out))
			;
	}
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_backend_timeout), 64);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_splice),
		cmocka_unit_test(test_close_and_time_wait),
		cmocka_unit_test(test_duplicate_syn_same_synack),
		cmocka_unit_test(test_synack_retransmit_schedule),
		cmocka_unit_test(test_bad_ack_dropped),
		cmocka_unit_test(test_cache_full_falls_back_to_cookie),
		cmocka_unit_test(test_cache_full_sheds_due_entries),
		cmocka_unit_test(test_cookies_always),
		cmocka_unit_test(test_cookies_off_evicts_oldest),
		cmocka_unit_test(test_backend_refuses),
		cmocka_unit_test(test_backend_silent),
		cmocka_unit_test(test_early_data_held_and_released),
		cmocka_unit_test(test_early_data_not_held_not_acked),
		cmocka_unit_test(test_held_segments_pass_paws),
		cmocka_unit_test(test_window_rescaled),
		cmocka_unit_test(test_sack_and_wrap),
		cmocka_unit_test(test_keepalive_and_zero_window_probe),
		cmocka_unit_test(test_rst_validation),
		cmocka_unit_test(test_illegal_flags_and_malformed),
		cmocka_unit_test(test_rule_actions),
		cmocka_unit_test(test_syn_rate_limit),
		cmocka_unit_test(test_half_open_limit),
		cmocka_unit_test(test_half_open_limit_added_by_reload),
		cmocka_unit_test(test_learned_options),
		cmocka_unit_test(test_ipv6_splice),
		cmocka_unit_test(test_flush_releases_everything),
		cmocka_unit_test(test_flood_memory_bounded),
		cmocka_unit_test(test_cookie_crosscheck_agrees),
		cmocka_unit_test(test_mutated_packets),
		cmocka_unit_test(test_syn_on_live_flow_challenge),
		cmocka_unit_test(test_offer_and_offload),
		cmocka_unit_test(test_new_flow_forgets_kernel_entry),
		cmocka_unit_test(test_offloaded_flow_withdrawn_on_missed_fin),
		cmocka_unit_test(test_withdraw_asks_to_forget),
		cmocka_unit_test(test_rescaled_flow_flagged),
		cmocka_unit_test(test_shared_secret_wallclock),
		cmocka_unit_test(test_half_finished_backend_handshakes_bounded),
		cmocka_unit_test(test_full_table_recycles_time_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
