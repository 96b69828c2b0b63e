/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The handshake (src/core/handshake.c) through the engine: SYN-ACKs and
 * their retransmissions, duplicate SYNs, bad ACKs, the SYN cache full or
 * off and cookies instead, per-source SYN rate and half-open limits,
 * options learned from a backend, the cookie cross-check and cookies
 * shared by engines with one secret. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

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

/* The SYN cache under pressure: once it has turned a SYN away, a due entry
 * is dropped (syncache_shed) instead of retransmitted, its client's late
 * ACK still completes through the cookie, and once the cache has taken
 * every SYN for an rto the schedule is the usual one again. */
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

/* A second rule, for another server, ahead of or behind the env's. */
static void web_rule(struct rule *r)
{
	default_rule(r);
	strcpy(r->name, "web");
	addr4(&r->dst.addr, 198, 51, 100, 9);
	r->ports[0] = 80;
	r->mss = 1220;
	r->wscale = 2;
}

static void redis_then_web(struct env *v)
{
	web_rule(&v->pol.rules[1]);
	v->pol.nrules = 2;
}

/* A reload that reorders the rules and changes the redis rule's options
 * while a handshake is half open: the retransmitted SYN-ACK and the flow
 * made from the client's ACK keep the window scale the client was told
 * (7) and take the rest from the redis rule in force (MSS 1400), not from
 * the rule that now has the index the entry was made under (web: MSS
 * 1220, window scale 2). */
static void test_reload_keeps_half_open_entries(void **state)
{
	struct env *v = env_new(redis_then_web);
	struct policy reordered = v->pol;
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct pkt p;
	struct tcpopt so;

	reordered.rules[0] = v->pol.rules[1];
	reordered.rules[1] = v->pol.rules[0];
	reordered.rules[1].mss = 1400;
	reordered.rules[1].wscale = 9;
	engine_set_policy(v->e, &reordered);
	v->now += v->cfg.syncache.rto_ms;
	engine_tick(v->e, v->now, &v->out);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(p.seq, iss);
	assert_true(so.have & TO_WSCALE);
	assert_int_equal(so.wscale, 7);
	assert_int_equal(so.mss, 1400);

	do_ack(v, iss, ts, NULL);
	do_synack(v, 7, 5000);
	assert_true(v->out.offer);
	assert_int_equal(v->out.offer_flow.our_wscale, 7);
	assert_false(v->out.offer_flow.rescaled);
	engine_set_policy(v->e, &v->pol);
	env_free(v);
}

static void no_cookies(struct env *v)
{
	v->cfg.cookies = COOKIES_OFF;
}

/* The SYN-ACK flags answering an ECN-setup SYN with options o. */
static uint8_t ecn_synack_flags(struct env *v, const struct tcpopt *o)
{
	uint8_t buf[256];
	struct seginfo si = { .flags = TCPH_SYN | TCPH_ECE | TCPH_CWR, .seq = CISN, .win = 29200,
			      .opt = *o };
	struct pkt p;
	struct tcpopt so;

	assert_int_equal(feed(v, &si, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	v->cport++;
	return p.flags;
}

/* ECN is offered only where the handshake ACK can bring it back (issue
 * 13, item 5): with cookies on, a SYN without timestamps gets no ECE,
 * since a cookie carries ECN only in its timestamp bits; with timestamps,
 * or with cookies off (the SYN cache is then the only way), it does. */
static void test_ecn_offered_only_where_carried(void **state)
{
	struct tcpopt no_ts = linux_syn_opts;
	struct env *v = env_new(NULL);

	no_ts.have &= (uint8_t)~TO_TS;
	assert_int_equal(ecn_synack_flags(v, &no_ts), TCPH_SYN | TCPH_ACK);
	assert_int_equal(ecn_synack_flags(v, &linux_syn_opts), TCPH_SYN | TCPH_ACK | TCPH_ECE);
	env_free(v);
	v = env_new(no_cookies);
	assert_int_equal(ecn_synack_flags(v, &no_ts), TCPH_SYN | TCPH_ACK | TCPH_ECE);
	env_free(v);
}

static void auto_rule(struct env *v)
{
	v->pol.rules[0].wscale_mode = OPT_AUTO;
	v->pol.rules[0].mss_mode = OPT_AUTO;
}

/* The MSS and window scale the next client's SYN-ACK offers. */
static void offered(struct env *v, uint16_t *mss, uint8_t *ws)
{
	struct pkt p;
	struct tcpopt so;

	v->cport++;
	do_syn(v, &linux_syn_opts, NULL);
	parse_emit(&v->out.emit[0], &p, &so);
	*mss = so.mss;
	*ws = so.wscale;
	v->cport++;
}

/* A spliced flow whose backend's SYN-ACK announces MSS mss and window
 * scale ws, on the next client port. */
static void backend_says(struct env *v, uint16_t mss, uint8_t ws)
{
	uint8_t buf[256];
	uint32_t ts, iss;
	struct seginfo sa = {
		.from_server = true, .flags = TCPH_SYN | TCPH_ACK, .seq = BISN, .ack = CISN + 1,
		.win = 28960,
		.opt = { .have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = mss,
			 .wscale = ws, .tsval = 1, .tsecr = 2959270800u },
	};

	v->cport++;
	iss = do_syn(v, &linux_syn_opts, &ts);
	do_ack(v, iss, ts, NULL);
	assert_int_equal(feed(v, &sa, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_backend_established);
}

/* Learned options change what clients are offered only once three
 * SYN-ACKs in a row agree on them; one odd SYN-ACK between changes
 * nothing (issue 13, item 3). */
static void test_learned_options(void **state)
{
	struct env *v = env_new(auto_rule);
	uint16_t mss;
	uint8_t ws;

	backend_says(v, 1400, 3);
	backend_says(v, 1400, 3);
	offered(v, &mss, &ws);
	assert_int_equal(ws, 7);                    /* the rule's until agreed */
	assert_int_equal(mss, 1460);
	backend_says(v, 1400, 3);
	assert_true(v->out.learned);
	assert_int_equal(v->out.learned_opts.wscale, 3);
	offered(v, &mss, &ws);
	assert_int_equal(ws, 3);
	assert_int_equal(mss, 1400);
	assert_int_equal(cnt(v, CNT_options_learned), 1);

	backend_says(v, 1400, 5);                   /* odd one out */
	assert_false(v->out.learned);
	backend_says(v, 1400, 3);                   /* the set in use again */
	backend_says(v, 1400, 5);
	backend_says(v, 1400, 5);
	offered(v, &mss, &ws);
	assert_int_equal(ws, 3);
	backend_says(v, 1400, 5);
	assert_true(v->out.learned);
	offered(v, &mss, &ws);
	assert_int_equal(ws, 5);
	assert_int_equal(cnt(v, CNT_options_learned), 2);
	env_free(v);
}

/* The backend's MSS follows its route toward each client, path MTU
 * included: one client behind a 1280-byte path gets SYN-ACKs saying 1240.
 * Many of those in a row leave every other client offered the 1460
 * agreed; SYN-ACKs to clients of three networks saying 1240 change it
 * (tests/live/pmtu.sh shows the same with Linux backends). */
static void test_one_clients_path_mss_not_learned(void **state)
{
	struct env *v = env_new(auto_rule);
	uint16_t mss;
	uint8_t ws;

	for (int i = 0; i < 3; i++)
		backend_says(v, 1460, 7);
	for (int i = 0; i < 6; i++)
		backend_says(v, 1240, 7);
	assert_int_equal(cnt(v, CNT_options_learned), 1);
	v->cli = ad("198.51.100.7");
	offered(v, &mss, &ws);
	assert_int_equal(mss, 1460);
	backend_says(v, 1240, 7);
	v->cli = ad("203.0.113.7");
	backend_says(v, 1240, 7);
	assert_true(v->out.learned);
	offered(v, &mss, &ws);
	assert_int_equal(mss, 1240);
	assert_int_equal(cnt(v, CNT_options_learned), 2);
	env_free(v);
}

/* A SYN-ACK with options no genuine backend announces (issue 13, item
 * 3's MSS 1 and window scale 14 and beyond) teaches nothing: however
 * often it comes, clients are still offered the rule's options. */
static void test_insane_options_not_learned(void **state)
{
	struct env *v = env_new(auto_rule);
	uint16_t mss;
	uint8_t ws;

	for (int i = 0; i < 3; i++)
		backend_says(v, 1, 14);
	for (int i = 0; i < 3; i++)
		backend_says(v, 535, 3);
	for (int i = 0; i < 3; i++)
		backend_says(v, 1460, 15);
	offered(v, &mss, &ws);
	assert_int_equal(mss, 1460);
	assert_int_equal(ws, 7);
	assert_int_equal(cnt(v, CNT_options_learned), 0);
	assert_int_equal(cnt(v, CNT_options_refused), 9);
	env_free(v);
}

/* A spliced flow whose client offered no window scale (so neither did
 * our backend SYN) and whose backend's SYN-ACK announces MSS mss and no
 * window scale, on the next client port. */
static void unscaled_client(struct env *v, uint16_t mss)
{
	struct tcpopt no_ws = linux_syn_opts;
	uint8_t buf[256];
	uint32_t ts, iss;
	struct seginfo sa = {
		.from_server = true, .flags = TCPH_SYN | TCPH_ACK, .seq = BISN, .ack = CISN + 1,
		.win = 28960,
		.opt = { .have = TO_MSS | TO_SACKOK | TO_TS, .mss = mss, .tsval = 1,
			 .tsecr = 2959270800u },
	};

	no_ws.have &= (uint8_t)~TO_WSCALE;
	v->cport++;
	iss = do_syn(v, &no_ws, &ts);
	do_ack(v, iss, ts, NULL);
	assert_int_equal(feed(v, &sa, buf, sizeof(buf)), VERDICT_DROP);
}

/* A client without window scale says nothing about the backend's: its
 * backend SYN offered none, so the SYN-ACK has none, and that must not
 * become "the backend does not scale" for everyone. */
static void test_options_not_offered_not_learned(void **state)
{
	struct env *v = env_new(auto_rule);
	uint16_t mss;
	uint8_t ws;

	for (int i = 0; i < 3; i++)
		unscaled_client(v, 1400);
	offered(v, &mss, &ws);
	assert_int_equal(ws, 7);
	assert_int_equal(cnt(v, CNT_options_learned), 0);
	/* Once a set is agreed, such a SYN-ACK votes with the agreed scale
	 * (from clients of three networks, as a smaller MSS needs). */
	for (int i = 0; i < 3; i++)
		backend_says(v, 1400, 3);
	backend_says(v, 1220, 3);
	v->cli = ad("198.51.100.7");
	unscaled_client(v, 1220);
	v->cli = ad("203.0.113.7");
	unscaled_client(v, 1220);
	offered(v, &mss, &ws);
	assert_int_equal(mss, 1220);
	assert_int_equal(ws, 3);
	env_free(v);
}

/* A server packet the daemon knows came from elsewhere than the
 * backends' side (issue 13, item 3: the client's own forged SYN-ACK right
 * after its handshake) is dropped before it touches the flow, so the
 * backend's real SYN-ACK still splices it; one whose side could not be
 * checked is used for its flow but teaches nothing. */
static void test_server_packet_from_the_wrong_side(void **state)
{
	struct env *v = env_new(auto_rule);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo forged = {
		.from_server = true, .flags = TCPH_SYN | TCPH_ACK, .seq = 666, .ack = CISN + 1,
		.win = 28960,
		.opt = { .have = TO_MSS | TO_WSCALE, .mss = 1, .wscale = 14 },
	};
	uint16_t mss;
	uint8_t ws;

	do_ack(v, iss, ts, NULL);
	v->side = SIDE_WRONG;
	assert_int_equal(feed(v, &forged, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_server_wrong_side);
	assert_int_equal(v->out.nemit, 0);
	v->side = SIDE_BACKEND;
	do_synack(v, 7, 5000);
	assert_true(v->out.offer);
	assert_int_equal(v->out.offer_flow.bis, BISN);
	assert_int_equal(cnt(v, CNT_backend_bad_synack), 0);

	v->side = SIDE_UNCHECKED;
	for (int i = 0; i < 3; i++)
		backend_says(v, 1400, 3);
	v->side = SIDE_BACKEND;
	offered(v, &mss, &ws);
	assert_int_equal(ws, 7);
	assert_int_equal(cnt(v, CNT_options_refused), 3);
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

/* Feeds v the handshake ACK for iss, whatever becomes of it; the reason
 * the engine gives. */
static enum counter bare_ack(struct env *v, uint32_t iss, uint32_t our_ts)
{
	uint8_t buf[256];
	struct seginfo si = {
		.flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
		.opt = { .have = TO_TS, .tsval = 2959270800u, .tsecr = our_ts },
	};

	feed(v, &si, buf, sizeof(buf));
	return v->out.reason;
}

/* A rotation (engine_set_cookie_secrets): a cookie made under the old
 * secret fails where only the new one is known, validates where the old
 * one is kept as the previous secret (and is counted so), and fails again
 * once that is dropped; an engine's own cookies follow its new secret. */
static void test_secret_rotation(void **state)
{
	static const uint8_t next[ENGINE_SECRET_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	struct env *a = env_new(cookies_always), *b = env_new(cookies_always);
	uint32_t ts, iss;

	(void)state;
	iss = do_syn(a, &linux_syn_opts, &ts);          /* under the old secret */
	engine_set_cookie_secrets(b->e, next, NULL);
	b->now += 10;
	assert_int_equal(bare_ack(b, iss, ts), CNT_cookie_invalid_mac);
	assert_int_equal(cnt(b, CNT_cookie_valid), 0);
	engine_set_cookie_secrets(b->e, next, secret);
	do_ack(b, iss, ts, NULL);
	assert_int_equal(cnt(b, CNT_cookie_valid), 1);
	assert_int_equal(cnt(b, CNT_cookie_previous_secret), 1);
	/* Another connection after the overlap: the old secret is refused. */
	a->cport++;
	b->cport++;
	iss = do_syn(a, &linux_syn_opts, &ts);
	engine_set_cookie_secrets(b->e, next, NULL);
	assert_int_equal(bare_ack(b, iss, ts), CNT_cookie_invalid_mac);
	/* b's own cookies are made with the new secret: a, which has only
	 * the old one, refuses them until it learns the new one. */
	a->cport++;
	b->cport++;
	iss = do_syn(b, &linux_syn_opts, &ts);
	a->now = b->now;
	assert_int_equal(bare_ack(a, iss, ts), CNT_cookie_invalid_mac);
	engine_set_cookie_secrets(a->e, secret, next);
	do_ack(a, iss, ts, NULL);
	assert_int_equal(cnt(a, CNT_cookie_valid), 1);
	assert_int_equal(cnt(a, CNT_cookie_previous_secret), 1);
	env_free(a);
	env_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duplicate_syn_same_synack),
		cmocka_unit_test(test_synack_retransmit_schedule),
		cmocka_unit_test(test_bad_ack_dropped),
		cmocka_unit_test(test_cache_full_falls_back_to_cookie),
		cmocka_unit_test(test_cache_full_sheds_due_entries),
		cmocka_unit_test(test_cookies_always),
		cmocka_unit_test(test_cookies_off_evicts_oldest),
		cmocka_unit_test(test_syn_rate_limit),
		cmocka_unit_test(test_half_open_limit),
		cmocka_unit_test(test_half_open_limit_added_by_reload),
		cmocka_unit_test(test_reload_keeps_half_open_entries),
		cmocka_unit_test(test_ecn_offered_only_where_carried),
		cmocka_unit_test(test_learned_options),
		cmocka_unit_test(test_one_clients_path_mss_not_learned),
		cmocka_unit_test(test_insane_options_not_learned),
		cmocka_unit_test(test_options_not_offered_not_learned),
		cmocka_unit_test(test_server_packet_from_the_wrong_side),
		cmocka_unit_test(test_cookie_crosscheck_agrees),
		cmocka_unit_test(test_shared_secret_wallclock),
		cmocka_unit_test(test_secret_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
