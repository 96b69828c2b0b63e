/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The worker's output ordering (src/daemon/egress.c), tested as
 * test_vbatch.c tests batching: the calls the module makes are played
 * against a model of what the kernel sees.  The model keeps two queues,
 * packets to send and verdicts, that reach the wire when flushed, and
 * sometimes earlier, as a full sendmmsg batch or netlink buffer does.  It
 * records the order in which things took effect; the check is the rule
 * worker.c states: emits and accept verdicts take effect in the engine's
 * order (drops may move), and every packet gets exactly one verdict.  A
 * path that batches without the rule (naive_*) must be caught by the same
 * check, or the check proves nothing. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "egress.h"

#define MAXITEMS 20000
#define MAXIDS 8000

enum kind { K_EMIT, K_ACCEPT, K_DROP };

struct item {
	enum kind kind;
	int seq;                  /* position in the engine's order */
	uint32_t id;              /* verdicts */
};

struct kernel {
	struct item emitq[MAXITEMS];
	int nemitq;
	struct item verdq[MAXITEMS];
	int nverdq;
	struct item wire[MAXITEMS];   /* in the order they took effect */
	int nwire;
	int verdicts[MAXIDS];         /* per id */
	int seq_of_id[MAXIDS];        /* the engine order of each id's verdict */
	uint64_t rng;
	int early_every;              /* 0: queues send only when flushed */
	int emit_sends, verdict_sends;
};

static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void send_emits(struct kernel *k)
{
	if (k->nemitq)
		k->emit_sends++;
	for (int i = 0; i < k->nemitq; i++)
		k->wire[k->nwire++] = k->emitq[i];
	k->nemitq = 0;
}

static void send_verdicts(struct kernel *k)
{
	if (k->nverdq)
		k->verdict_sends++;
	for (int i = 0; i < k->nverdq; i++) {
		k->wire[k->nwire++] = k->verdq[i];
		k->verdicts[k->verdq[i].id]++;
	}
	k->nverdq = 0;
}

/* A queue that is full sends what it holds before taking more. */
static bool full(struct kernel *k)
{
	return k->early_every && next(&k->rng) % (uint64_t)k->early_every == 0;
}

static void k_emit(void *ctx, const struct engine_emit *em)
{
	struct kernel *k = ctx;
	int seq;

	memcpy(&seq, em->data, sizeof(seq));
	if (full(k))
		send_emits(k);
	k->emitq[k->nemitq++] = (struct item){ .kind = K_EMIT, .seq = seq };
}

static void k_emit_flush(void *ctx)
{
	send_emits(ctx);
}

static void k_verdict(void *ctx, uint32_t id, bool accept, const uint8_t *data, uint32_t len)
{
	struct kernel *k = ctx;

	assert_true(id < MAXIDS);
	if (full(k))
		send_verdicts(k);
	k->verdq[k->nverdq++] = (struct item){
		.kind = accept ? K_ACCEPT : K_DROP, .seq = k->seq_of_id[id], .id = id,
	};
}

static void k_verdict_flush(void *ctx)
{
	send_verdicts(ctx);
}

static const struct egress_ops kernel_ops = {
	.eo_emit = k_emit,
	.eo_emit_flush = k_emit_flush,
	.eo_verdict = k_verdict,
	.eo_verdict_flush = k_verdict_flush,
};

/* Order violations on the wire: pairs of emits and accepts that took
 * effect in the opposite order to the engine's (counted between
 * neighbours in wire order, which is enough to see any inversion). */
static int violations(const struct kernel *k)
{
	int bad = 0, last = -1;

	for (int i = 0; i < k->nwire; i++) {
		if (k->wire[i].kind == K_DROP)
			continue;
		if (k->wire[i].seq < last)
			bad++;
		if (k->wire[i].seq > last)
			last = k->wire[i].seq;
	}
	return bad;
}

/* The two ways to drive the queues: through egress, or naively (each
 * output straight into its queue, both flushed at the end of a batch). */
struct path {
	void (*emit)(struct egress *e, const struct engine_emit *em);
	void (*verdict)(struct egress *e, uint32_t id, bool accept, const uint8_t *data,
			uint32_t len);
	void (*flush)(struct egress *e);
};

static void naive_emit(struct egress *e, const struct engine_emit *em)
{
	e->eg_ops->eo_emit(e->eg_ctx, em);
}

static void naive_verdict(struct egress *e, uint32_t id, bool accept, const uint8_t *data,
			  uint32_t len)
{
	e->eg_ops->eo_verdict(e->eg_ctx, id, accept, data, len);
}

static void naive_flush(struct egress *e)
{
	e->eg_ops->eo_emit_flush(e->eg_ctx);
	e->eg_ops->eo_verdict_flush(e->eg_ctx);
}

static const struct path egress_path = { egress_emit, egress_verdict, egress_flush };
static const struct path naive_path = { naive_emit, naive_verdict, naive_flush };

/* The engine's side of a run: calls emit and give verdicts in one order,
 * numbered as they are made. */
struct run {
	struct kernel *k;
	struct egress eg;
	const struct path *p;
	int seq;
	struct engine_out out;    /* egress_out's input, for releases */
};

static void r_emit(struct run *r)
{
	struct engine_emit em = { .len = 40 };
	int seq = r->seq++;

	memcpy(em.data, &seq, sizeof(seq));
	r->p->emit(&r->eg, &em);
}

static void r_verdict(struct run *r, uint32_t id, enum kind kind)
{
	r->k->seq_of_id[id] = r->seq++;
	r->p->verdict(&r->eg, id, kind == K_ACCEPT, NULL, 0);
}

static struct run *run_new(const struct path *p, uint64_t seed, int early_every)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->k = calloc(1, sizeof(*r->k));
	assert_non_null(r->k);
	r->k->rng = seed | 1;
	r->k->early_every = early_every;
	r->p = p;
	egress_init(&r->eg, &kernel_ops, r->k);
	return r;
}

static void run_free(struct run *r)
{
	free(r->k);
	free(r);
}

/* Every id below n got exactly one verdict. */
static void check_one_verdict_each(const struct kernel *k, uint32_t n)
{
	for (uint32_t id = 0; id < n; id++)
		if (k->verdicts[id] != 1)
			fail_msg("packet %u got %d verdicts", id, k->verdicts[id]);
}

/* ---- scenarios with a known wire order -------------------------------- */

/* A SYN flood: each SYN answered by a SYN-ACK and dropped.  Drops force
 * no send, so a receive batch goes out as one batch of SYN-ACKs and one
 * datagram of drops. */
static void test_flood_batches(void **state)
{
	struct run *r = run_new(&egress_path, 1, 0);

	(void)state;
	for (uint32_t id = 0; id < 16; id++) {
		r_emit(r);
		r_verdict(r, id, K_DROP);
	}
	egress_flush(&r->eg);
	assert_int_equal(r->k->emit_sends, 1);
	assert_int_equal(r->k->verdict_sends, 1);
	assert_int_equal(violations(r->k), 0);
	check_one_verdict_each(r->k, 16);
	run_free(r);
}

/* The backend's SYN-ACK completes the handshake: the engine emits the ACK
 * to the backend and releases the held client data (accept), then drops
 * the SYN-ACK itself.  The ACK must be on the wire before the data. */
static void test_release_after_ack(void **state)
{
	struct run *r = run_new(&egress_path, 1, 0);
	struct engine_out *o = &r->out;
	int ack_seq;

	(void)state;
	/* Packet 0 (client data) was held: its verdict comes in the release. */
	memset(o, 0, sizeof(*o));
	o->nemit = 1;
	ack_seq = r->seq++;
	memcpy(o->emit[0].data, &ack_seq, sizeof(ack_seq));
	o->nrelease = 1;
	o->release[0] = (struct engine_release){ .id = 0, .verdict = VERDICT_ACCEPT };
	r->k->seq_of_id[0] = r->seq++;
	egress_out(&r->eg, o);
	r_verdict(r, 1, K_DROP);
	egress_flush(&r->eg);
	assert_int_equal(r->k->nwire, 3);
	assert_int_equal(r->k->wire[0].kind, K_EMIT);
	assert_int_equal(r->k->wire[1].kind, K_ACCEPT);
	assert_int_equal(violations(r->k), 0);
	check_one_verdict_each(r->k, 2);
	run_free(r);
}

/* An accepted data segment, then a packet whose answer is an RST: the
 * segment's accept must take effect before the RST leaves. */
static void test_accept_before_emit(void **state)
{
	struct run *r = run_new(&egress_path, 1, 0);

	(void)state;
	r_verdict(r, 0, K_ACCEPT);
	r_emit(r);
	r_verdict(r, 1, K_DROP);
	egress_flush(&r->eg);
	assert_int_equal(r->k->wire[0].kind, K_ACCEPT);
	assert_int_equal(r->k->wire[1].kind, K_EMIT);
	assert_int_equal(violations(r->k), 0);
	run_free(r);
}

/* The same two scenarios through the naive path break the rule, and the
 * check says so. */
static void test_check_catches_naive(void **state)
{
	struct run *r = run_new(&naive_path, 1, 0);

	(void)state;
	r_verdict(r, 0, K_ACCEPT);
	r_emit(r);
	naive_flush(&r->eg);
	assert_int_equal(violations(r->k), 1);
	run_free(r);
}

/* ---- random runs ------------------------------------------------------- */

/* Engine calls at random: each emits 0-3 packets, releases 0-3 held
 * packets with random verdicts, and gives its input an accept, a drop or
 * no verdict (held); timer calls emit and release only; offloads flush
 * mid-batch; a receive batch ends with a flush.  Returns the violations. */
static int random_run(const struct path *p, uint64_t seed, int early_every)
{
	struct run *r = run_new(p, seed, early_every);
	uint32_t held[MAXIDS], nheld = 0, id = 0;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1;
	int bad;

	while (id < 3000) {
		uint64_t v = next(&x);
		bool timer = v % 10 == 0;
		struct engine_out *o = &r->out;

		o->nemit = (uint32_t)((v >> 8) % 4);
		for (uint32_t i = 0; i < o->nemit; i++) {
			int seq = r->seq++;

			memcpy(o->emit[i].data, &seq, sizeof(seq));
		}
		o->nrelease = 0;
		while (nheld && o->nrelease < (uint32_t)((v >> 12) % 4)) {
			uint32_t k = (uint32_t)(next(&x) % nheld);
			bool acc = next(&x) & 1;

			o->release[o->nrelease++] = (struct engine_release){
				.id = held[k], .verdict = acc ? VERDICT_ACCEPT : VERDICT_DROP,
			};
			r->k->seq_of_id[held[k]] = r->seq++;
			held[k] = held[--nheld];
		}
		if (p == &egress_path) {
			egress_out(&r->eg, o);
		} else {
			for (uint32_t i = 0; i < o->nemit; i++)
				naive_emit(&r->eg, &o->emit[i]);
			for (uint32_t i = 0; i < o->nrelease; i++)
				naive_verdict(&r->eg, o->release[i].id,
					      o->release[i].verdict == VERDICT_ACCEPT, NULL, 0);
		}
		if (!timer) {
			switch ((v >> 16) % 4) {
			case 0:
				held[nheld++] = id;
				break;
			case 1:
				r_verdict(r, id, K_ACCEPT);
				break;
			default:
				r_verdict(r, id, K_DROP);
				break;
			}
			id++;
		}
		if ((v >> 20) % 50 == 0 || (v >> 26) % 16 == 0)
			p->flush(&r->eg);   /* an offload, or the end of a receive batch */
	}
	/* Shutdown: the held packets are dropped. */
	for (uint32_t i = 0; i < nheld; i++)
		r_verdict(r, held[i], K_DROP);
	p->flush(&r->eg);
	assert_int_equal(r->k->nemitq + r->k->nverdq, 0);
	check_one_verdict_each(r->k, id);
	bad = violations(r->k);
	run_free(r);
	return bad;
}

static void test_random(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		int early = seed % 4 == 0 ? 0 : (int)(seed % 7) + 2;

		if (random_run(&egress_path, seed, early) != 0)
			fail_msg("seed %llu (early sends every ~%d): emits and accepts reordered",
				 (unsigned long long)seed, early);
	}
}

/* Without the rule the same runs reorder: the check must see it. */
static void test_random_naive_caught(void **state)
{
	int caught = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++)
		caught += random_run(&naive_path, seed, 0) > 0;
	assert_int_equal(caught, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_batches),
		cmocka_unit_test(test_release_after_ack),
		cmocka_unit_test(test_accept_before_emit),
		cmocka_unit_test(test_check_catches_naive),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_naive_caught),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
