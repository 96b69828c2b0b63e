/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Snapshots (src/core/snapshot.c): flows and learned options carried from
 * one engine to another, as a restart of the daemon does. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine_int.h"
#include "testutil.h"

struct recs {
	uint8_t b[64][ENGINE_SNAPSHOT_MAX];
	size_t len[64];
	size_t n;
};

static void keep(const uint8_t *rec, size_t len, void *ctx)
{
	struct recs *r = ctx;

	assert_true(r->n < 64 && len <= ENGINE_SNAPSHOT_MAX);
	memcpy(r->b[r->n], rec, len);
	r->len[r->n++] = len;
}

/* Restores every record of r into v's engine; returns the flows. */
static unsigned restore_all(struct env *v, const struct recs *r)
{
	unsigned flows = 0;

	for (size_t i = 0; i < r->n; i++) {
		enum engine_restore_result res = engine_restore(v->e, r->b[i], r->len[i], v->now,
								&v->out);

		assert_true(res == ENGINE_RESTORE_FLOW || res == ENGINE_RESTORE_LEARNED);
		flows += res == ENGINE_RESTORE_FLOW;
	}
	return flows;
}

/* A spliced flow carried to a new engine (a second process, another
 * clock) translates the next segments exactly as the old one would have:
 * both engines get the same segments and must give the same bytes. */
static void test_spliced_flow_carries_over(void **state)
{
	struct env *a = env_new(NULL), *b = env_new(NULL);
	struct recs r = { .n = 0 };
	uint32_t ts, iss = splice(a, 9, &ts);
	uint8_t ba[256], bb[256];
	struct seginfo c2s = { .flags = TCPH_ACK | TCPH_PSH, .seq = CISN + 1, .ack = iss + 1,
			       .win = 229, .payload = "PING\r\n",
			       .opt = { .have = TO_TS, .tsval = 2959270900u, .tsecr = ts } };
	struct seginfo s2c = { .from_server = true, .flags = TCPH_ACK | TCPH_PSH,
			       .seq = BISN + 1, .ack = CISN + 7, .win = 227, .payload = "+PONG\r\n",
			       .opt = { .have = TO_TS, .tsval = 123500, .tsecr = 2959270900u } };
	struct flow_info fa, fb;

	(void)state;
	a->now += 5000;
	assert_int_equal(engine_snapshot(a->e, a->now, keep, &r), 1);
	/* The next process's clock starts elsewhere. */
	b->now = a->now + 777777;
	assert_int_equal(restore_all(b, &r), 1);
	assert_int_equal(cnt(b, CNT_flows_restored), 1);
	assert_int_equal(b->out.nflowev, 1);
	assert_true(b->out.flowev[0].up);
	assert_int_equal(b->out.flowev[0].key.cport, b->cport);
	for (int i = 0; i < 2; i++) {
		const struct seginfo *si = i ? &s2c : &c2s;
		uint32_t la = mk(a, si, ba, sizeof(ba)), lb = mk(b, si, bb, sizeof(bb));
		struct engine_meta m = { .id = 9 };

		engine_input(a->e, ba, la, &m, a->now, &a->out);
		engine_input(b->e, bb, lb, &m, b->now, &b->out);
		assert_int_equal(a->out.verdict, VERDICT_ACCEPT);
		assert_int_equal(b->out.verdict, VERDICT_ACCEPT);
		assert_int_equal(la, lb);
		assert_memory_equal(ba, bb, la);
	}
	/* Same flow, same age and deadline (the clocks differ). */
	memset(&fa, 0, sizeof(fa));
	memset(&fb, 0, sizeof(fb));
	{
		struct flow *f = flowtab_lookup(a->e->ft, &(struct conn_key){ a->cli, a->srv,
										  a->cport, a->sport });
		struct flow *g = flowtab_lookup(b->e->ft, &(struct conn_key){ b->cli, b->srv,
										  b->cport, b->sport });

		assert_non_null(f);
		assert_non_null(g);
		splice_describe(f, a->now, &fa);
		splice_describe(g, b->now, &fb);
		assert_memory_equal(&fa, &fb, sizeof(fa));
		assert_int_equal(g->fl_deadline_ms - b->now, f->fl_deadline_ms - a->now);
		/* What the RFC 5961 checks track, and the source count. */
		assert_int_equal(g->fl_c_ack, f->fl_c_ack);
		assert_int_equal(g->fl_s_ack, f->fl_s_ack);
		assert_int_equal(g->fl_c_maxwnd, f->fl_c_maxwnd);
		assert_int_equal(g->fl_s_maxwnd, f->fl_s_maxwnd);
		assert_int_equal(g->fl_src_len, f->fl_src_len);
		assert_int_equal(g->fl_flags, f->fl_flags & ~FL_CHALLENGED);
		/* Its way toward the fast path's threshold (version 3). */
		assert_true(f->fl_segs > 0);
		assert_int_equal(g->fl_segs, f->fl_segs);
		assert_true(g->fl_flags & FL_SRC_COUNTED);
		assert_int_equal(srcflows_count(b->e->srcflows, &b->cli, g->fl_src_len), 1);
	}
	env_free(a);
	env_free(b);
}

/* A flow in its backend handshake comes back with its client data
 * forgotten (it was held, and the old process dropped it) and its backend
 * SYN due at once; a flow on the kernel fast path comes back as such,
 * with its conntrack id: an event about another entry of its tuple
 * leaves it, its own entry's end ends it. */
static void test_backend_syn_and_offloaded(void **state)
{
	struct env *a = env_new(NULL), *b = env_new(NULL);
	struct recs r = { .n = 0 };
	uint32_t ts, iss = do_syn(a, &linux_syn_opts, &ts);
	struct engine_out *o = &b->out;
	struct pkt p;
	struct tcpopt so;

	(void)state;
	do_ack(a, iss, ts, "held data");
	assert_int_equal(engine_snapshot(a->e, a->now, keep, &r), 1);
	b->now = a->now + 10;
	assert_int_equal(restore_all(b, &r), 1);
	assert_true(engine_next_deadline(b->e) <= b->now);
	assert_false(engine_tick(b->e, b->now, o));
	assert_int_equal(o->nemit, 1);
	parse_emit(&o->emit[0], &p, &so);
	assert_int_equal(p.flags, TCPH_SYN);
	assert_int_equal(p.seq, CISN);
	assert_int_equal(cnt(b, CNT_backend_syn_retrans), 1);
	{
		struct flow *g = flowtab_lookup(b->e->ft, &(struct conn_key){ b->cli, b->srv,
										  b->cport, b->sport });

		assert_non_null(g);
		assert_int_equal(g->fl_c_nxt, CISN + 1);
		assert_int_equal(g->fl_held.count, 0);
	}
	env_free(a);
	env_free(b);

	/* Offloaded: carried, with its id. */
	a = env_new(NULL);
	b = env_new(NULL);
	splice(a, 7, NULL);
	{
		struct conn_key k = { a->cli, a->srv, a->cport, a->sport };
		struct flow *g;

		assert_true(engine_offloaded(a->e, &k, 4242, a->now));
		r.n = 0;
		assert_int_equal(engine_snapshot(a->e, a->now, keep, &r), 1);
		b->now = a->now + 10;
		assert_int_equal(restore_all(b, &r), 1);
		g = flowtab_lookup(b->e->ft, &k);
		assert_non_null(g);
		assert_true(g->fl_flags & FL_OFFLOADED);
		assert_int_equal(g->fl_ct_id, 4242);
		assert_int_equal(g->fl_state, FLOW_ESTABLISHED);
		engine_kernel_event(b->e, &k, 4241, ENGINE_K_GONE, b->now, o = &b->out);
		assert_non_null(flowtab_lookup(b->e->ft, &k));
		engine_kernel_event(b->e, &k, 4242, ENGINE_K_GONE, b->now, o);
		assert_null(flowtab_lookup(b->e->ft, &k));
		assert_int_equal(cnt(b, CNT_offload_released), 1);
	}
	env_free(a);
	env_free(b);
}

/* Learned options come back, so the first connection after a restart is
 * offered what the backend announced before it. */
static void test_learned_carries_over(void **state)
{
	struct env *a = env_new(NULL), *b = env_new(NULL);
	struct recs r = { .n = 0 };
	struct learned_opts lo;
	unsigned learned = 0;

	(void)state;
	/* Options are learned once three SYN-ACKs in a row agree. */
	for (int n = 0; n < 3; n++) {
		splice(a, 9, NULL);
		a->cport++;
	}
	engine_snapshot(a->e, a->now, keep, &r);
	for (size_t i = 0; i < r.n; i++) {
		if (engine_restore(b->e, r.b[i], r.len[i], b->now, &b->out) ==
		    ENGINE_RESTORE_LEARNED) {
			learned++;
			assert_true(b->out.learned);
			assert_int_equal(b->out.learned_opts.wscale, 9);
		}
	}
	assert_int_equal(learned, 1);
	assert_true(learned_get(b->e->learned, &b->srv, b->sport, &lo));
	assert_int_equal(lo.wscale, 9);
	assert_true(lo.sack && lo.ts);
	env_free(a);
	env_free(b);
}

/* Records that are not ours, damaged or duplicated are refused, never
 * half taken. */
static void test_bad_records(void **state)
{
	struct env *a = env_new(NULL), *b = env_new(NULL);
	struct recs r = { .n = 0 };
	struct engine_out *k = &b->out;
	uint8_t rec[ENGINE_SNAPSHOT_MAX];
	size_t i;

	(void)state;
	splice(a, 7, NULL);
	engine_snapshot(a->e, a->now, keep, &r);
	for (i = 0; i < r.n && r.b[i][0] != 1; i++)
		;
	assert_true(i < r.n);
	memcpy(rec, r.b[i], r.len[i]);
	assert_int_equal(engine_restore(b->e, rec, r.len[i] - 1, b->now, k), ENGINE_RESTORE_BAD);
	rec[1] = 99;     /* an unknown version */
	assert_int_equal(engine_restore(b->e, rec, r.len[i], b->now, k), ENGINE_RESTORE_BAD);
	memcpy(rec, r.b[i], r.len[i]);
	rec[2 + 36 + 15 * 4 + 6 + 8] = 77;   /* the state byte */
	assert_int_equal(engine_restore(b->e, rec, r.len[i], b->now, k), ENGINE_RESTORE_BAD);
	assert_int_equal(flowtab_count(b->e->ft), 0);
	assert_int_equal(engine_restore(b->e, r.b[i], r.len[i], b->now, k), ENGINE_RESTORE_FLOW);
	assert_int_equal(engine_restore(b->e, r.b[i], r.len[i], b->now, k),
			 ENGINE_RESTORE_DUPLICATE);
	env_free(a);
	env_free(b);
}

/* A tripwire: a field added to struct flow must be written and read by
 * snapshot.c (and SNAP_VERSION raised).  When this fails, update
 * snapshot.c, then the size here. */
static void test_flow_layout_known(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct flow), 208);
	assert_int_equal(sizeof(struct xlate), 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spliced_flow_carries_over),
		cmocka_unit_test(test_backend_syn_and_offloaded),
		cmocka_unit_test(test_learned_carries_over),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_flow_layout_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
