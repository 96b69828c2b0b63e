/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine end to end (src/core/engine.c): one connection from SYN to
 * spliced data, the dispatch of packets by rule and flag, malformed and
 * mutated input, memory under a flood, and flushing held packets.  The
 * handshake and the splice have their own tests (test_handshake.c,
 * test_splice.c); the harness is in testutil.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

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

/* Rule r: the default rule on port, with action a (reset rules pass a
 * proven source for 30 s). */
static void rule_on(struct rule *r, uint16_t port, enum rule_action a)
{
	default_rule(r);
	r->ports[0] = port;
	r->action = a;
	if (a == RULE_RESET)
		r->reset_pass_ms = 30000;
}

static void rule_variants(struct env *v)
{
	struct prefix p;

	v->pol.nrules = 3;
	rule_on(&v->pol.rules[1], 80, RULE_RESET);
	default_rule(&v->pol.rules[2]);
	v->pol.rules[2].ports[0] = 22;
	v->pol.rules[2].action = RULE_DROP;
	assert_int_equal(prefix_parse("192.0.2.66", &p), 0);
	v->pol.rules[0].deny = cidrset_new(&p, 1);
}

/* The client's handshake ACK for SYN-ACK iss (TSecr ts) on a reset rule:
 * dropped, the client reset. */
static void prove_for_reset(struct env *v, uint32_t iss, uint32_t ts)
{
	uint8_t buf[256];
	struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
			     .opt = { .have = TO_TS, .tsval = 1, .tsecr = ts } };

	assert_int_equal(feed(v, &a, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_reset_action);
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
	prove_for_reset(v, iss, ts);
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

static void two_reset_rules(struct env *v)
{
	v->pol.nrules = 2;
	rule_on(&v->pol.rules[0], 80, RULE_RESET);
	rule_on(&v->pol.rules[1], 8080, RULE_RESET);
}

/* The pass a source earned on a reset rule follows that rule, not its
 * place in the list: after a reload that swaps two reset rules it still
 * passes the rule it proved itself to and not the other (before, the
 * pass was keyed by the rule's index and moved to the other rule). */
static void test_reset_pass_survives_reorder(void **state)
{
	struct env *v = env_new(two_reset_rules);
	struct policy swapped = v->pol;
	uint8_t buf[256];
	struct seginfo syn = { .flags = TCPH_SYN, .seq = CISN, .win = 1000 };

	v->sport = 80;
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	prove_for_reset(v, iss, ts);

	swapped.rules[0] = v->pol.rules[1];
	swapped.rules[1] = v->pol.rules[0];
	engine_set_policy(v->e, &swapped);
	v->now += 1000;
	v->cport++;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_reset_pass);
	v->sport = 8080;
	v->cport++;
	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_received);
	engine_set_policy(v->e, &v->pol);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_splice),
		cmocka_unit_test(test_illegal_flags_and_malformed),
		cmocka_unit_test(test_rule_actions),
		cmocka_unit_test(test_reset_pass_survives_reorder),
		cmocka_unit_test(test_flush_releases_everything),
		cmocka_unit_test(test_flood_memory_bounded),
		cmocka_unit_test(test_mutated_packets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
