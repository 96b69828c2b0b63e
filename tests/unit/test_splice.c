/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The splice (src/core/splice.c) through the engine: the backend leg
 * (refused, silent, its SYN-ACK), data held until then, translation of
 * both directions (windows, SACK across the wrap, keepalives, IPv6),
 * RSTs, every close, the challenge ACK, the hand-over to the kernel and
 * back, and a full flow table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "testutil.h"
#include "seq.h"

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
	/* In the window but not exact: dropped, answered by a challenge ACK
	 * with what the backend expects (RFC 5961 section 3), flow kept. */
	r.seq = CISN + 100;
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	assert_int_equal(v->out.nemit, 1);
	{
		struct pkt c;
		struct tcpopt co;

		parse_emit(&v->out.emit[0], &c, &co);
		assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
		assert_int_equal(c.flags, TCPH_ACK);
		assert_int_equal(c.seq, iss + 1);
		assert_int_equal(c.ack, CISN + 1);
	}
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

	assert_true(engine_offloaded(v->e, &k, 7, v->now));
	return iss;
}


/* An established flow is offered for offload with what the kernel needs;
 * once offloaded it lives only for the grace time (packets already queued
 * are still translated). */
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
	assert_true(engine_offloaded(v->e, &k, 7, v->now));
	assert_false(engine_offloaded(v->e, &k, 7, v->now));
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

static void note_state(const struct flow_info *fi, void *ctx)
{
	*(int *)ctx = fi->state;
}

/* The state of the env's one flow (or -1). */
static int flow_state(const struct env *v)
{
	int st = -1;

	engine_walk(v->e, v->now, note_state, &st);
	return st;
}

/* Blind in-window RSTs (issue 13, item 1): two of them 100 ms apart, as
 * spoofed from the client, end nothing and do not shorten the flow's
 * life: after rst_grace and more the flow still translates. */
static void test_blind_rsts_keep_the_flow(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct engine_gauges g;
	struct seginfo r = { .flags = TCPH_RST, .seq = CISN + 1 + 1000 };
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1,
			     .win = 229, .payload = "ping" };

	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	assert_int_equal(v->out.nemit, 1);          /* the challenge ACK */
	v->now += 100;
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	assert_int_equal(v->out.nemit, 0);          /* one per 500 ms */
	assert_int_equal(cnt(v, CNT_challenge_ack_limited), 1);
	v->now += v->cfg.rst_grace_ms + 1000;
	engine_tick(v->e, v->now, &v->out);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	assert_int_equal(cnt(v, CNT_flows_reset) + cnt(v, CNT_flows_expired), 0);
	env_free(v);
}

/* Blind data cannot move what the flow tracks (issue 13, item 1): data
 * outside the backend's window, or in it but acknowledging what the
 * server never sent, is passed on untracked, so the RST at its end is not
 * exact and a FIN in it closes nothing.  The same data with a right
 * acknowledgement is tracked (the positive control). */
static void test_blind_data_moves_nothing(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL);
	struct engine_gauges g;
	struct seginfo far = { .flags = TCPH_ACK | TCPH_FIN, .seq = CISN + 1 + 0x10000000u,
			       .ack = iss + 1, .win = 229, .payload = "blind" };
	struct seginfo badack = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1 + 100000,
				  .win = 229, .payload = "blind" };
	struct seginfo good = { .flags = TCPH_ACK, .seq = CISN + 1, .ack = iss + 1, .win = 229,
				.payload = "right" };
	struct seginfo rst = { .flags = TCPH_RST };

	assert_int_equal(feed(v, &far, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_seg_out_of_window);
	rst.seq = far.seq + 5 + 1;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_out_of_window);
	assert_int_equal(feed(v, &badack, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_seg_out_of_window);
	rst.seq = CISN + 1 + 5;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	assert_int_equal(flow_state(v), FLOW_ESTABLISHED);  /* the blind FIN closed nothing */
	assert_int_equal(cnt(v, CNT_flows_reset), 0);

	assert_int_equal(feed(v, &good, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	v->now += 1000;                             /* past the challenge interval */
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

/* An offloaded flow's RST that conntrack hands to the queue as invalid
 * (outside its window, or in it but not exact) is judged before anything
 * changes: the flow stays with the kernel (issue 13, item 1). */
static void test_offloaded_flow_kept_on_invalid_rst(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t iss = offloaded_flow(v);
	struct seginfo far = { .flags = TCPH_RST | TCPH_ACK, .seq = CISN + 0x40000000u,
			       .ack = iss + 1 };
	struct seginfo near = { .flags = TCPH_RST | TCPH_ACK, .seq = CISN + 1000, .ack = iss + 1 };
	struct engine_gauges g;

	assert_int_equal(feed(v, &far, buf, sizeof(buf)), VERDICT_DROP);
	assert_false(v->out.forget);
	assert_int_equal(feed(v, &near, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	assert_false(v->out.forget);
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 0);
	v->now += v->cfg.rst_grace_ms;
	engine_tick(v->e, v->now, &v->out);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_offload_released), 1);
	env_free(v);
}

/* The challenge-ACK side channel (issue 13, item 2; the CVE-2016-5696
 * pattern): an off-path sender that floods SYNs at a guessed tuple and
 * counts the challenge ACKs its own connection gets in the meantime must
 * see the same count whether the guessed tuple is live or not.  Each flow
 * has its own budget of one challenge ACK per 500 ms. */
static void test_challenge_budget_per_flow(void **state)
{
	int own[2] = { 0, 0 }, victim = 0;

	for (int live = 0; live < 2; live++) {
		struct env *v = env_new(NULL);
		uint8_t buf[256];
		const uint16_t victim_port = 39070, own_port = 39071;

		v->cport = own_port;
		splice(v, 7, NULL);
		if (live) {
			v->cport = victim_port;
			splice(v, 7, NULL);
		}
		/* 4000 SYNs over 2 s, every 400th on the own flow. */
		for (int i = 0; i < 4000; i++) {
			struct seginfo syn = { .flags = TCPH_SYN, .seq = 777u * (uint32_t)i,
					       .win = 1000 };

			v->now += (uint64_t)(i % 2);
			v->cport = (i % 400 == 0) ? own_port : victim_port;
			feed(v, &syn, buf, sizeof(buf));
			for (uint32_t k = 0; k < v->out.nemit; k++) {
				struct pkt p;
				struct tcpopt o;

				parse_emit(&v->out.emit[k], &p, &o);
				if (p.flags != TCPH_ACK)
					continue;
				if (p.dport == own_port)
					own[live]++;
				else if (live)
					victim++;
			}
		}
		env_free(v);
	}
	assert_int_equal(own[1], own[0]);
	/* 10 SYNs on the own flow over 2 s: one challenge ACK per 500 ms. */
	assert_int_equal(own[0], 4);
	assert_true(victim >= 1 && victim <= 4);
}

/* Engine-wide, each second's budget is drawn between 500 and 1499, so a
 * flood over many live tuples is capped and the cap is not a constant an
 * observer could measure against. */
static void test_challenge_budget_engine_wide(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t sent[6];
	bool varies = false;

	for (uint16_t i = 0; i < 1600; i++) {
		v->cport = (uint16_t)(20000 + i);
		splice(v, 7, NULL);
	}
	v->now = (v->now / 1000 + 1) * 1000;
	for (int s = 0; s < 6; s++) {
		sent[s] = 0;
		for (uint16_t i = 0; i < 1600; i++) {
			struct seginfo syn = { .flags = TCPH_SYN, .seq = 4242, .win = 1000 };

			v->cport = (uint16_t)(20000 + i);
			feed(v, &syn, buf, sizeof(buf));
			assert_int_equal(v->out.reason, CNT_syn_on_flow);
			sent[s] += v->out.nemit;
		}
		assert_true(sent[s] >= 500 && sent[s] <= 1499);
		if (s && sent[s] != sent[0])
			varies = true;
		v->now += 1000;
	}
	assert_true(varies);
	env_free(v);
}

/* RFC 9293 (SYN-SENT): a backend RST refuses our SYN only with an ACK of
 * it; one without ACK, or acknowledging anything else, is dropped and the
 * backend's real SYN-ACK still splices the flow (issue 13, item 4). */
static void test_backend_rst_needs_ack(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo bare = { .from_server = true, .flags = TCPH_RST, .seq = 12345 };
	struct seginfo wrong = { .from_server = true, .flags = TCPH_RST | TCPH_ACK, .seq = 0,
				 .ack = CISN + 2 };

	do_ack(v, iss, ts, NULL);
	assert_int_equal(feed(v, &bare, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_out_of_window);
	assert_int_equal(v->out.nemit, 0);
	assert_int_equal(feed(v, &wrong, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.nemit, 0);
	assert_int_equal(cnt(v, CNT_backend_refused), 0);
	do_synack(v, 7, 5000);
	assert_true(v->out.offer);
	env_free(v);
}

/* A client RST while the backend handshake runs is judged as any other
 * (issue 13, item 4): outside the window dropped, inside it but inexact
 * answered by a challenge ACK, exact it ends the flow and resets the
 * backend's half-open connection. */
static void test_client_rst_in_backend_handshake(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo rst = { .flags = TCPH_RST, .seq = CISN + 1 + 0x40000000u };
	struct engine_gauges g;
	struct pkt p;
	struct tcpopt o;

	do_ack(v, iss, ts, NULL);
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_out_of_window);
	assert_int_equal(v->out.nemit, 0);
	rst.seq = CISN + 1 + 100;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_rst_in_window);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
	assert_int_equal(p.flags, TCPH_ACK);
	assert_int_equal(p.seq, iss + 1);
	assert_int_equal(p.ack, CISN + 1);
	assert_int_equal(p.win, 65535 >> 7);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
	rst.seq = CISN + 1;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(v->out.emit[0].to, DIR_SERVER);
	assert_int_equal(p.flags, TCPH_RST);
	assert_int_equal(p.seq, CISN + 1);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

/* A flow whose client asked for ECN (and got it): the SYN, the ACK with
 * nothing, a CE-marked and an ECT(0) data segment held before the
 * backend answers, then the backend's SYN-ACK, with ECE when
 * backend_ecn.  Returns our ISN. */
static uint32_t ecn_flow(struct env *v, bool backend_ecn)
{
	uint8_t buf[256];
	struct seginfo syn = { .flags = TCPH_SYN | TCPH_ECE | TCPH_CWR, .seq = CISN, .win = 29200,
			       .opt = linux_syn_opts };
	struct seginfo ack = { .flags = TCPH_ACK, .seq = CISN + 1, .win = 229,
			       .opt = { .have = TO_TS, .tsval = 2959270800u } };
	struct seginfo d = ack;
	struct seginfo sa = { .from_server = true, .seq = BISN, .ack = CISN + 1, .win = 28960,
			      .flags = TCPH_SYN | TCPH_ACK | (backend_ecn ? TCPH_ECE : 0),
			      .opt = { .have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = 1460,
				       .wscale = 7, .tsval = 5000, .tsecr = 2959270800u } };
	struct pkt p;
	struct tcpopt o;
	uint32_t iss;

	assert_int_equal(feed(v, &syn, buf, sizeof(buf)), VERDICT_DROP);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(p.flags, TCPH_SYN | TCPH_ACK | TCPH_ECE);
	iss = p.seq;
	ack.ack = iss + 1;
	ack.opt.tsecr = o.tsval;
	assert_int_equal(feed(v, &ack, buf, sizeof(buf)), VERDICT_DROP);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(p.flags, TCPH_SYN | TCPH_ECE | TCPH_CWR);
	d.flags = TCPH_ACK | TCPH_PSH;
	d.ack = iss + 1;
	d.opt.tsecr = o.tsval;
	d.payload = "CE";
	d.tos = IP_ECN_CE;
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_HOLD);
	d.seq += 2;
	d.payload = "ECT";
	d.tos = IP_ECN_ECT0;
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_HOLD);
	assert_int_equal(feed(v, &sa, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_backend_established);
	return iss;
}

/* The ECN field of the IP packet at data. */
static uint8_t ecn_of(const uint8_t *data, uint32_t len)
{
	struct pkt p;

	assert_int_equal(packet_parse(&p, (uint8_t *)(uintptr_t)data, len), PKT_OK);
	assert_true(packet_tcp_csum_ok(&p));
	assert_int_equal(csum_fold(csum_add(0, data, 20)), 0);
	return packet_ecn(&p);
}

/* A backend that declines the ECN its client was given (issue 13, item
 * 5; RFC 3168): the client's ECT marks are cleared on the way to it and
 * CE-marked segments dropped, held ones too, and the flow stays in
 * userspace.  A backend that agrees gets every mark untouched. */
static void test_ecn_backend_declines(void **state)
{
	for (int agrees = 0; agrees < 2; agrees++) {
		struct env *v = env_new(NULL);
		uint8_t buf[256];
		uint32_t iss = ecn_flow(v, agrees);
		struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 6, .ack = iss + 1,
				     .win = 229, .payload = "data", .tos = IP_ECN_ECT0 };

		/* The held segments: the ACK to the backend, then the two. */
		assert_int_equal(v->out.nrelease, 2);
		assert_int_equal(v->out.release[0].verdict, agrees ? VERDICT_ACCEPT : VERDICT_DROP);
		assert_int_equal(v->out.release[1].verdict, VERDICT_ACCEPT);
		assert_int_equal(ecn_of(v->out.release[1].data, v->out.release[1].len),
				 agrees ? IP_ECN_ECT0 : IP_ECN_NOT_ECT);
		assert_int_equal(v->out.offer, agrees);
		assert_int_equal(cnt(v, CNT_ecn_declined), !agrees);

		assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_ACCEPT);
		assert_int_equal(ecn_of(buf, 20 + 20 + 4), agrees ? IP_ECN_ECT0 : IP_ECN_NOT_ECT);
		d.seq += 4;
		d.tos = IP_ECN_CE;
		assert_int_equal(feed(v, &d, buf, sizeof(buf)), agrees ? VERDICT_ACCEPT : VERDICT_DROP);
		assert_int_equal(cnt(v, CNT_ecn_ce_dropped), agrees ? 0 : 2);
		env_free(v);
	}
}

static void per_source_four(struct env *v)
{
	v->cfg.max_flows = 64;
	v->pol.rules[0].max_flows_per_source = 4;
	v->pol.rules[0].flows_prefix4 = 32;
	v->pol.rules[0].flows_prefix6 = 64;
}

/* A handshake ACK from the current client on the next port: its verdict
 * reason. */
static enum counter try_flow(struct env *v)
{
	uint8_t buf[256];
	uint32_t ts, iss;
	struct seginfo a = { .flags = TCPH_ACK, .seq = CISN + 1, .win = 229,
			     .opt = { .have = TO_TS, .tsval = 2959270800u } };

	v->cport++;
	iss = do_syn(v, &linux_syn_opts, &ts);
	a.ack = iss + 1;
	a.opt.tsecr = ts;
	feed(v, &a, buf, sizeof(buf));
	return v->out.reason;
}

/* One address cannot fill the flow table (issue 13, item 6): past its
 * rule's max_flows_per_source its handshakes are reset (the client is
 * told at once) and leave no half-open entry, while other sources still
 * get in; a flow that ends or reaches time-wait gives its place back.
 * IPv6 sources are counted per /64. */
static void test_flows_per_source_limit(void **state)
{
	struct env *v = env_new(per_source_four);
	struct engine_gauges g;
	struct pkt p;
	struct tcpopt o;
	uint32_t iss[4];

	for (int i = 0; i < 4; i++) {
		v->cport = (uint16_t)(20000 + i);
		iss[i] = splice(v, 7, NULL);
	}
	v->cport = 21000;
	assert_int_equal(try_flow(v), CNT_flows_source_limited);
	assert_int_equal(v->out.verdict, VERDICT_DROP);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &o);
	assert_int_equal(v->out.emit[0].to, DIR_CLIENT);
	assert_int_equal(p.flags, TCPH_RST);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 4);
	assert_int_equal(g.syncache_entries, 0);
	assert_int_equal(cnt(v, CNT_flows_source_limited), 1);

	addr4(&v->cli, 192, 0, 2, 11);             /* another address: its own count */
	assert_int_equal(try_flow(v), CNT_syncache_hit);
	addr4(&v->cli, 192, 0, 2, 10);

	v->cport = 20000;                           /* one flow to time-wait */
	close_flow(v, iss[0], false);
	v->cport = 21010;
	assert_int_equal(try_flow(v), CNT_syncache_hit);
	assert_int_equal(try_flow(v), CNT_flows_source_limited);
	v->cport = 20001;                           /* one reset */
	{
		uint8_t buf[256];
		struct seginfo rst = { .flags = TCPH_RST, .seq = CISN + 1 };

		assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	}
	v->cport = 21020;
	assert_int_equal(try_flow(v), CNT_syncache_hit);
	assert_int_equal(try_flow(v), CNT_flows_source_limited);
	env_free(v);

	v = env_new(per_source_four);
	ipv6_rule(v);
	for (int i = 0; i < 4; i++) {
		addr6(&v->cli, 0x2001, (uint16_t)(0x10 + i));  /* one /64 */
		assert_int_equal(try_flow(v), CNT_syncache_hit);
	}
	assert_int_equal(try_flow(v), CNT_flows_source_limited);
	{
		uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };   /* another /64 */

		b[15] = 0x10;
		addr_from_v6(&v->cli, b);
	}
	assert_int_equal(try_flow(v), CNT_syncache_hit);
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

static void few_flows(struct env *v)
{
	v->cfg.max_flows = 64;
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

/* ---- port reuse (issue 12, item 2) ---- */

#define LAST_TSVAL 2959270800u   /* the client's TSval in do_ack, its last */

/* A client SYN on the env's tuple: seq isn, with timestamp tsval (0: no
 * options at all). */
static enum verdict reuse_syn(struct env *v, uint32_t isn, uint32_t tsval)
{
	uint8_t buf[256];
	struct seginfo syn = { .flags = TCPH_SYN, .seq = isn, .win = 29200 };

	if (tsval) {
		syn.opt = linux_syn_opts;
		syn.opt.tsval = tsval;
	}
	return feed(v, &syn, buf, sizeof(buf));
}

/* Both FINs seen and the client's acknowledged; the client's last ACK
 * (of the server's FIN) not seen: closing, nothing left to deliver. */
static void both_fins(struct env *v, uint32_t iss)
{
	uint8_t buf[256];
	struct seginfo cf = { .flags = TCPH_FIN | TCPH_ACK, .seq = CISN + 1, .ack = iss + 1,
			      .win = 229 };
	struct seginfo sf = { .from_server = true, .flags = TCPH_FIN | TCPH_ACK, .seq = BISN + 1,
			      .ack = CISN + 2, .win = 227 };

	assert_int_equal(feed(v, &cf, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(feed(v, &sf, buf, sizeof(buf)), VERDICT_ACCEPT);
}

/* The SYN opened a new connection: the old flow ended (closed, reused)
 * and the SYN got our SYN-ACK. */
static void assert_reused(struct env *v, uint64_t reused)
{
	assert_int_equal(v->out.verdict, VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_received);
	assert_int_equal(v->out.nemit, 1);
	assert_int_equal(cnt(v, CNT_flows_reused), reused);
	assert_int_equal(cnt(v, CNT_flows_closed), reused);
	assert_int_equal(cnt(v, CNT_syn_on_flow), 0);
}

/* The SYN was answered by a challenge ACK and the old flow lives. */
static void assert_challenged(struct env *v)
{
	struct engine_gauges g;
	struct pkt p;
	struct tcpopt so;

	assert_int_equal(v->out.verdict, VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_syn_on_flow);
	assert_int_equal(v->out.nemit, 1);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(p.flags, TCPH_ACK);
	assert_int_equal(cnt(v, CNT_flows_reused), 0);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 1);
}

/* RFC 6191 on a flow with both FINs seen: a SYN whose ISN lies beyond
 * the old connection (no timestamps on the SYN) or whose timestamp is
 * newer (its ISN behind) opens a new connection; one with neither gets a
 * challenge ACK, and the client's RST to it ends the old flow. */
static void test_reuse_closing_rfc6191(void **state)
{
	for (int c = 0; c < 3; c++) {
		struct env *v = env_new(NULL);
		uint32_t iss = splice(v, 7, NULL);
		uint8_t buf[256];

		both_fins(v, iss);
		assert_int_equal(flow_state(v), FLOW_CLOSING);
		switch (c) {
		case 0:     /* ISN beyond, no timestamp */
			reuse_syn(v, CISN + 100000, 0);
			assert_reused(v, 1);
			break;
		case 1:     /* timestamp newer, ISN behind */
			reuse_syn(v, CISN - 100000, LAST_TSVAL + 1000);
			assert_reused(v, 1);
			break;
		case 2: {   /* timestamp older (with timestamps on both it decides) */
			struct pkt p;
			struct tcpopt so;

			reuse_syn(v, CISN + 100000, LAST_TSVAL - 1000);
			assert_challenged(v);
			parse_emit(&v->out.emit[0], &p, &so);
			struct seginfo rst = { .flags = TCPH_RST, .seq = p.ack };
			assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
			assert_int_equal(flow_state(v), -1);
			v->now += 1000;
			reuse_syn(v, CISN - 100000, LAST_TSVAL - 1000);
			assert_int_equal(v->out.reason, CNT_syn_received);
			break;
		}
		}
		env_free(v);
	}
}

/* A backend that left LAST-ACK before the client's ACK of its FIN came
 * (the ACK was late; the FIN went out again) resets the client's second
 * ACK: the flow had closed, the RST reaches the client, and the flow
 * counts as closed, not reset (seen in reuse.sh under a slow daemon). */
static void test_rst_after_close_counts_closed(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t iss = splice(v, 7, NULL);
	uint8_t buf[256];
	struct seginfo sf = { .from_server = true, .flags = TCPH_FIN | TCPH_ACK, .seq = BISN + 1,
			      .ack = CISN + 2, .win = 227 };
	struct seginfo ca = { .flags = TCPH_ACK, .seq = CISN + 2, .ack = iss + 2, .win = 229 };
	struct seginfo rst = { .from_server = true, .flags = TCPH_RST, .seq = BISN + 2 };
	struct engine_gauges g;
	struct pkt p;

	close_flow(v, iss, false);
	assert_int_equal(flow_state(v), FLOW_TIME_WAIT);
	assert_int_equal(feed(v, &sf, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(feed(v, &ca, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	/* Passed on, in the client's space. */
	assert_true(v->out.modified);
	assert_int_equal(packet_parse(&p, buf, 40), PKT_OK);
	assert_true(packet_tcp_csum_ok(&p));
	assert_int_equal(p.flags, TCPH_RST);
	assert_int_equal(p.seq, iss + 2);
	engine_gauges(v->e, &g);
	assert_int_equal(g.flows_active, 0);
	assert_int_equal(cnt(v, CNT_flows_closed), 1);
	assert_int_equal(cnt(v, CNT_flows_reset), 0);
	env_free(v);

	/* The same RST before the close completed ends a flow reset. */
	v = env_new(NULL);
	iss = splice(v, 7, NULL);
	rst.seq = BISN + 1;
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(cnt(v, CNT_flows_closed), 0);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

/* Time-wait holds nothing to lose: any SYN, even one neither newer nor
 * beyond, opens a new connection (the backend judges it by RFC 6191
 * itself if it still holds the old one).  Then the new flow's backend
 * SYN carries the new ISN. */
static void test_reuse_time_wait_any_syn(void **state)
{
	struct env *v = env_new(NULL);
	uint32_t ts, iss = splice(v, 7, NULL);

	close_flow(v, iss, false);
	assert_int_equal(flow_state(v), FLOW_TIME_WAIT);
	reuse_syn(v, CISN, LAST_TSVAL - 1000);
	assert_reused(v, 1);
	/* The same client carries on with this handshake. */
	v->now += 1;
	reuse_syn(v, CISN, LAST_TSVAL - 1000);
	iss = do_syn(v, &linux_syn_opts, &ts);
	do_ack(v, iss, ts, NULL);
	assert_int_equal(cnt(v, CNT_flows_created), 2);
	env_free(v);
}

/* RFC 5961 stays for live flows: established, or with one direction
 * still open (only the client's FIN), a SYN newer by both tests still
 * gets a challenge ACK and ends nothing. */
static void test_reuse_live_flow_challenged(void **state)
{
	for (int c = 0; c < 2; c++) {
		struct env *v = env_new(NULL);
		uint32_t iss = splice(v, 7, NULL);
		uint8_t buf[256];

		if (c == 1) {
			struct seginfo cf = { .flags = TCPH_FIN | TCPH_ACK, .seq = CISN + 1,
					      .ack = iss + 1, .win = 229 };
			assert_int_equal(feed(v, &cf, buf, sizeof(buf)), VERDICT_ACCEPT);
			assert_int_equal(flow_state(v), FLOW_CLOSING);
		}
		reuse_syn(v, CISN + 100000, LAST_TSVAL + 1000);
		assert_challenged(v);
		env_free(v);
	}
}

/* The backend still holds the old connection (established, or in
 * time-wait with our SYN not newer) and answers our SYN with an ACK of
 * it: we reset it at that ACK's number, as the client's stack would, and
 * send the SYN again at once; a second such ACK to the same SYN is
 * dropped; the backend's SYN-ACK then splices the flow. */
static void test_backend_stale_ack_reset(void **state)
{
	struct env *v = env_new(NULL);
	uint8_t buf[256];
	uint32_t ts, iss = do_syn(v, &linux_syn_opts, &ts);
	struct seginfo stale = { .from_server = true, .flags = TCPH_ACK, .seq = 777000,
				 .ack = CISN - 5000, .win = 500 };
	struct pkt p;
	struct tcpopt so;

	do_ack(v, iss, ts, NULL);
	assert_int_equal(feed(v, &stale, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_backend_stale_reset);
	assert_int_equal(v->out.nemit, 2);
	parse_emit(&v->out.emit[0], &p, &so);
	assert_int_equal(v->out.emit[0].to, DIR_SERVER);
	assert_int_equal(p.flags, TCPH_RST);
	assert_int_equal(p.seq, CISN - 5000);
	parse_emit(&v->out.emit[1], &p, &so);
	assert_int_equal(v->out.emit[1].to, DIR_SERVER);
	assert_int_equal(p.flags, TCPH_SYN);
	assert_int_equal(p.seq, CISN);
	assert_int_equal(cnt(v, CNT_backend_syn_retrans), 1);
	/* Once per SYN. */
	assert_int_equal(feed(v, &stale, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(v->out.reason, CNT_backend_bad_synack);
	assert_int_equal(v->out.nemit, 0);
	do_synack(v, 7, 5000);
	assert_int_equal(cnt(v, CNT_backend_stale_reset), 1);
	assert_int_equal(flow_state(v), FLOW_ESTABLISHED);
	env_free(v);
}

/* ---- the fast path's threshold (issue 12, item 2) ---- */

static void default_threshold(struct env *v)
{
	struct engine_config d;

	engine_config_defaults(&d);
	v->cfg.offload_after_segs = d.offload_after_segs;
}

/* With the default, a flow is offered once it has passed
 * offload_after_segs segments, and once only; a short connection that
 * closes before is never offered (no conntrack entry made and removed). */
static void test_offload_threshold(void **state)
{
	struct env *v = env_new(default_threshold);
	uint8_t buf[256];
	uint32_t iss = splice(v, 7, NULL), n = v->cfg.offload_after_segs, offers = 0;

	assert_true(n >= 8);
	assert_false(v->out.offer);
	for (uint32_t i = 0; i < n + 5; i++) {
		struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1 + 4 * (i / 2),
				     .ack = iss + 1, .win = 229, .payload = "ping" };
		struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1,
				     .ack = CISN + 1 + 4 * (i / 2 + 1), .win = 227 };

		feed(v, i % 2 ? &r : &d, buf, sizeof(buf));
		assert_int_equal(v->out.verdict, VERDICT_ACCEPT);
		assert_int_equal(v->out.offer, i + 1 == n);
		if (v->out.offer) {
			offers++;
			assert_false(v->out.offer_flow.rescaled);
			assert_int_equal(v->out.offer_flow.seq_delta, iss - BISN);
		}
	}
	assert_int_equal(offers, 1);
	env_free(v);

	/* A short connection: a request, its answer, the close. */
	v = env_new(default_threshold);
	iss = splice(v, 7, NULL);
	struct seginfo q = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1,
			     .win = 229, .payload = "ping" };
	struct seginfo a = { .from_server = true, .flags = TCPH_ACK | TCPH_PSH, .seq = BISN + 1,
			     .ack = CISN + 5, .win = 227, .payload = "pong" };
	struct seginfo cf = { .flags = TCPH_FIN | TCPH_ACK, .seq = CISN + 5, .ack = iss + 5,
			      .win = 229 };
	struct seginfo sf = { .from_server = true, .flags = TCPH_FIN | TCPH_ACK, .seq = BISN + 5,
			      .ack = CISN + 6, .win = 227 };
	struct seginfo ca = { .flags = TCPH_ACK, .seq = CISN + 6, .ack = iss + 6, .win = 229 };
	const struct seginfo *all[] = { &q, &a, &cf, &sf, &ca };

	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		assert_int_equal(feed(v, all[i], buf, sizeof(buf)), VERDICT_ACCEPT);
		assert_false(v->out.offer);
	}
	assert_int_equal(flow_state(v), FLOW_TIME_WAIT);
	env_free(v);
}

/* ---- offloaded flows and the kernel (issue 12, items 3 and 4) ---- */

static void kernel_reports(struct env *v)
{
	v->cfg.kernel_reports_end = true;
}

/* A SYN on an offloaded flow (the client vanished, and comes back from
 * the same port): the flow comes back from the kernel (its entry must
 * go before the new handshake's ACK would follow it to the old backend
 * socket) and the SYN gets a challenge ACK; the client's RST to it ends
 * the flow and its next SYN opens a new connection, whose ACK makes a
 * new flow.  A blind SYN costs a live flow its fast path only: it goes
 * on in userspace, taking its numbers from its next segments (they moved
 * while the kernel translated it). */
static void test_syn_on_offloaded_flow(void **state)
{
	struct env *v = env_new(kernel_reports);
	struct conn_key k = env_key(v);
	uint8_t buf[256];
	uint32_t ts, iss = splice(v, 7, NULL);
	struct pkt p;
	struct tcpopt so;

	assert_true(engine_offloaded(v->e, &k, 42, v->now));
	/* Kept past the grace time: the kernel reports its end. */
	v->now += v->cfg.rst_grace_ms * 3;
	engine_tick(v->e, v->now, &v->out);
	assert_int_equal(flow_state(v), FLOW_ESTABLISHED);

	reuse_syn(v, CISN + 999999, LAST_TSVAL + 99999);
	assert_challenged(v);
	assert_true(v->out.forget);
	assert_true(conn_key_eq(&v->out.forget_key, &k));
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 1);
	parse_emit(&v->out.emit[0], &p, &so);
	struct seginfo rst = { .flags = TCPH_RST, .seq = p.ack };
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(flow_state(v), -1);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	v->now += 1000;
	iss = do_syn(v, &linux_syn_opts, &ts);
	do_ack(v, iss, ts, NULL);
	assert_true(v->out.forget);
	assert_int_equal(cnt(v, CNT_flows_created), 2);
	env_free(v);

	/* The blind SYN on a live flow: the flow resynchronises. */
	v = env_new(kernel_reports);
	iss = splice(v, 7, NULL);
	assert_true(engine_offloaded(v->e, &k, 42, v->now));
	reuse_syn(v, 12345, 0);
	assert_challenged(v);
	/* Both sides moved on by 5 MB in the kernel meanwhile. */
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1 + 5000000,
			     .ack = iss + 1 + 5000000, .win = 229, .payload = "ping" };
	struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = BISN + 1 + 5000000,
			     .ack = CISN + 5 + 5000000, .win = 227 };
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	/* Tracked again: the server's exact RST ends it. */
	struct seginfo srst = { .from_server = true, .flags = TCPH_RST, .seq = BISN + 1 + 5000000 };
	assert_int_equal(feed(v, &srst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);
}

/* engine_meta.kernel_flow for test_syn_on_kernel_only_flow: the entry
 * ctx points to, for the env's tuple only. */
static bool kernel_entry(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	struct conn_key want;
	struct env *v = ((struct env **)ctx)[0];

	want = env_key(v);
	if (!conn_key_eq(k, &want))
		return false;
	*kf = *((struct engine_kernel_flow **)ctx)[1];
	return true;
}

/* A marked conntrack entry the engine does not hold (an adopted
 * connection, an offloaded flow of a process that crashed): a SYN on its
 * tuple takes it in as an offloaded flow, withdraws it (the entry goes)
 * and answers with a challenge ACK whose numbers only an RST answering it
 * matches; a blind RST does not end it.  A live client's segments then
 * resynchronise it and are translated by the entry's offsets.  An entry
 * past its close is left to conntrack (the SYN is answered as new). */
static void test_syn_on_kernel_only_flow(void **state)
{
	const uint32_t delta = 0x10203040, tsd = 0x01020304;
	struct engine_kernel_flow kf = { .seq_delta = delta, .ts_delta = tsd, .ct_id = 77,
					 .ts = true, .sack = true, .client_wscale = 7,
					 .backend_wscale = 10, .state = ENGINE_K_ESTABLISHED };
	void *ctx[2];
	struct env *v = env_new(kernel_reports);
	struct conn_key k = env_key(v);
	uint8_t buf[256];
	struct tcpopt so;
	struct pkt p;
	uint32_t iss, ts;

	ctx[0] = v;
	ctx[1] = &kf;
	v->kernel_flow = kernel_entry;
	v->kernel_ctx = ctx;
	reuse_syn(v, CISN, LAST_TSVAL);
	assert_challenged(v);
	assert_int_equal(cnt(v, CNT_flows_from_conntrack), 1);
	assert_int_equal(cnt(v, CNT_offload_withdrawn), 1);
	assert_true(v->out.forget);
	assert_true(conn_key_eq(&v->out.forget_key, &k));
	parse_emit(&v->out.emit[0], &p, &so);
	/* A blind RST (the SYN's own numbers) changes nothing. */
	struct seginfo blind = { .flags = TCPH_RST, .seq = CISN + 1 };
	assert_int_equal(feed(v, &blind, buf, sizeof(buf)), VERDICT_DROP);
	assert_int_equal(flow_state(v), FLOW_ESTABLISHED);
	/* The client that lost its connection answers the challenge ACK
	 * (RFC 793: an unacceptable ACK in SYN-SENT gets RST seq = its ack). */
	struct seginfo rst = { .flags = TCPH_RST, .seq = p.ack };
	assert_int_equal(feed(v, &rst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(flow_state(v), -1);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	/* The entry is gone: the next SYN opens a new connection. */
	v->kernel_flow = NULL;
	v->now += 1000;
	iss = do_syn(v, &linux_syn_opts, &ts);
	do_ack(v, iss, ts, NULL);
	assert_int_equal(cnt(v, CNT_flows_created), 1);
	env_free(v);

	/* A blind SYN on a live connection: it goes on, translated by the
	 * entry's offsets, in userspace. */
	v = env_new(kernel_reports);
	ctx[0] = v;
	v->kernel_flow = kernel_entry;
	v->kernel_ctx = ctx;
	reuse_syn(v, 12345, 0);
	assert_challenged(v);
	struct seginfo d = { .flags = TCPH_ACK | TCPH_PSH, .seq = 5000, .ack = 9000 + delta,
			     .win = 229, .payload = "ping", .opt = { .have = TO_TS,
			     .tsval = 111, .tsecr = 222 + tsd } };
	assert_int_equal(feed(v, &d, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(v->out.reason, CNT_packets_translated);
	assert_int_equal(packet_parse(&p, buf, get_be16(buf + 2)), PKT_OK);
	assert_int_equal(tcpopt_parse(p.data + p.l4off, p.doff, &so), 0);
	assert_int_equal(p.seq, 5000);
	assert_int_equal(p.ack, 9000);
	assert_int_equal(so.tsecr, 222);
	assert_int_equal(p.win, 229);   /* never rescaled */
	struct seginfo r = { .from_server = true, .flags = TCPH_ACK, .seq = 9000, .ack = 5004,
			     .win = 227, .opt = { .have = TO_TS, .tsval = 333, .tsecr = 111 } };
	assert_int_equal(feed(v, &r, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(packet_parse(&p, buf, get_be16(buf + 2)), PKT_OK);
	assert_int_equal(tcpopt_parse(p.data + p.l4off, p.doff, &so), 0);
	assert_int_equal(p.seq, 9000 + delta);
	assert_int_equal(so.tsval, 333 + tsd);
	assert_int_equal(p.win, 227);
	/* Tracked again: the server's exact RST ends it. */
	struct seginfo srst = { .from_server = true, .flags = TCPH_RST, .seq = 9000 };
	assert_int_equal(feed(v, &srst, buf, sizeof(buf)), VERDICT_ACCEPT);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	env_free(v);

	/* Conntrack reopens an entry in time-wait for a SYN itself. */
	v = env_new(kernel_reports);
	ctx[0] = v;
	kf.state = ENGINE_K_TIME_WAIT;
	v->kernel_flow = kernel_entry;
	v->kernel_ctx = ctx;
	iss = do_syn(v, &linux_syn_opts, &ts);
	assert_int_equal(cnt(v, CNT_flows_from_conntrack), 0);
	assert_int_equal(cnt(v, CNT_syn_on_flow), 0);
	env_free(v);
	(void)iss;
}

/* What conntrack's events say of an offloaded flow: an event for another
 * entry of the tuple changes nothing; a FIN makes it closing, both make
 * it time-wait (the listing says so, and a SYN on its tuple is a new
 * connection), the entry's end ends it; an RST ends it as reset. */
static void test_kernel_events(void **state)
{
	struct env *v = env_new(kernel_reports);
	struct conn_key k = env_key(v);

	splice(v, 7, NULL);
	assert_true(engine_offloaded(v->e, &k, 42, v->now));
	engine_kernel_event(v->e, &k, 41, ENGINE_K_TIME_WAIT, v->now, &v->out);
	assert_int_equal(flow_state(v), FLOW_ESTABLISHED);
	engine_kernel_event(v->e, &k, 42, ENGINE_K_CLOSING, v->now, &v->out);
	assert_int_equal(flow_state(v), FLOW_CLOSING);
	engine_kernel_event(v->e, &k, 42, ENGINE_K_TIME_WAIT, v->now, &v->out);
	assert_int_equal(flow_state(v), FLOW_TIME_WAIT);
	assert_int_equal(cnt(v, CNT_offload_closed), 1);
	reuse_syn(v, CISN - 100, 0);
	assert_reused(v, 1);
	env_free(v);

	v = env_new(kernel_reports);
	splice(v, 7, NULL);
	assert_true(engine_offloaded(v->e, &k, 42, v->now));
	engine_kernel_event(v->e, &k, 42, ENGINE_K_GONE, v->now, &v->out);
	assert_int_equal(v->out.nflowev, 1);
	assert_false(v->out.flowev[0].up);
	assert_int_equal(flow_state(v), -1);
	assert_int_equal(cnt(v, CNT_offload_released), 1);
	env_free(v);

	v = env_new(kernel_reports);
	splice(v, 7, NULL);
	assert_true(engine_offloaded(v->e, &k, 42, v->now));
	engine_kernel_event(v->e, &k, 42, ENGINE_K_RESET, v->now, &v->out);
	assert_int_equal(flow_state(v), -1);
	assert_int_equal(cnt(v, CNT_flows_reset), 1);
	assert_int_equal(cnt(v, CNT_offload_closed), 1);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_and_time_wait),
		cmocka_unit_test(test_rst_after_close_counts_closed),
		cmocka_unit_test(test_backend_refuses),
		cmocka_unit_test(test_backend_silent),
		cmocka_unit_test(test_early_data_held_and_released),
		cmocka_unit_test(test_early_data_not_held_not_acked),
		cmocka_unit_test(test_held_segments_pass_paws),
		cmocka_unit_test(test_window_rescaled),
		cmocka_unit_test(test_sack_and_wrap),
		cmocka_unit_test(test_keepalive_and_zero_window_probe),
		cmocka_unit_test(test_rst_validation),
		cmocka_unit_test(test_ipv6_splice),
		cmocka_unit_test(test_syn_on_live_flow_challenge),
		cmocka_unit_test(test_offer_and_offload),
		cmocka_unit_test(test_new_flow_forgets_kernel_entry),
		cmocka_unit_test(test_offloaded_flow_withdrawn_on_missed_fin),
		cmocka_unit_test(test_withdraw_asks_to_forget),
		cmocka_unit_test(test_rescaled_flow_flagged),
		cmocka_unit_test(test_blind_rsts_keep_the_flow),
		cmocka_unit_test(test_blind_data_moves_nothing),
		cmocka_unit_test(test_offloaded_flow_kept_on_invalid_rst),
		cmocka_unit_test(test_challenge_budget_per_flow),
		cmocka_unit_test(test_challenge_budget_engine_wide),
		cmocka_unit_test(test_backend_rst_needs_ack),
		cmocka_unit_test(test_client_rst_in_backend_handshake),
		cmocka_unit_test(test_ecn_backend_declines),
		cmocka_unit_test(test_flows_per_source_limit),
		cmocka_unit_test(test_half_finished_backend_handshakes_bounded),
		cmocka_unit_test(test_full_table_recycles_time_wait),
		cmocka_unit_test(test_reuse_closing_rfc6191),
		cmocka_unit_test(test_reuse_time_wait_any_syn),
		cmocka_unit_test(test_reuse_live_flow_challenged),
		cmocka_unit_test(test_backend_stale_ack_reset),
		cmocka_unit_test(test_offload_threshold),
		cmocka_unit_test(test_syn_on_offloaded_flow),
		cmocka_unit_test(test_syn_on_kernel_only_flow),
		cmocka_unit_test(test_kernel_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
