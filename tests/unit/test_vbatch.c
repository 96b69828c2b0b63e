/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Verdict batching (src/daemon/vbatch.c).  The messages the module asks
 * for are played against a model of the kernel's queue written from
 * net/netfilter/nfnetlink_queue.c's documented behaviour: a verdict
 * message takes the one packet with its id (an unknown id is an error);
 * a batch message takes, from the head of the queue (enqueue order), every
 * packet whose id is not after the given one.  Each scenario says which
 * verdict each packet must end with; a held packet must end with its own
 * late verdict, never with a batch's. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vbatch.h"

#define MAXQ 4096

enum fate { F_NONE, F_DROP, F_ACCEPT, F_MANGLED };

struct kq {
	uint32_t id[MAXQ];       /* queued ids, head first */
	int n;
	uint32_t base;           /* id of the first packet ever queued */
	enum fate got[MAXQ];     /* by id - base */
	int errors;              /* verdicts for ids not in the queue */
	int batches;
	int messages;
};

static void kq_take(struct kq *q, int i, enum fate f)
{
	uint32_t slot = q->id[i] - q->base;

	assert_true(slot < MAXQ);
	if (q->got[slot] != F_NONE)
		q->errors++;
	q->got[slot] = f;
	for (; i + 1 < q->n; i++)
		q->id[i] = q->id[i + 1];
	q->n--;
}

static void kq_single(struct kq *q, uint32_t id, enum fate f)
{
	q->messages++;
	for (int i = 0; i < q->n; i++) {
		if (q->id[i] == id) {
			kq_take(q, i, f);
			return;
		}
	}
	q->errors++;
}

static void put(const struct vbatch_msg *m, void *ctx)
{
	struct kq *q = ctx;
	enum fate f = m->accept ? F_ACCEPT : F_DROP;

	if (!m->batch) {
		kq_single(q, m->id, f);
		return;
	}
	q->messages++;
	q->batches++;
	/* The kernel's nfq_id_after: (int)(id - max) > 0 stops the walk. */
	while (q->n && (int32_t)(q->id[0] - m->id) <= 0)
		kq_take(q, 0, f);
}

static void verdict(struct vbatch *vb, struct kq *q, uint32_t id, enum fate f)
{
	bool mangled = f == F_MANGLED;

	if (!vbatch_verdict(vb, id, f != F_DROP, mangled, put, q)) {
		assert_true(mangled);
		kq_single(q, id, F_MANGLED);
	}
}

/* A scenario: packets base..base+n-1 are queued and handed over in order;
 * now[i] is the verdict given when packet i is handed over (F_NONE: held),
 * and after packet i is handled the held packets listed in rel[i] (-1
 * ended) get their late verdict late[j].  flush_every > 0 closes the run
 * every so many packets, as the end of a receive batch does. */
struct step {
	enum fate now;
	int rel[4];
};

struct scenario {
	const char *name;
	uint32_t base;
	int n;
	const struct step *steps;
	const enum fate *late;    /* by packet index: the held packet's verdict */
	int flush_every;
	int want_batches_min;
	int want_batches_max;
};

/* Returns the number of batch messages. */
static int run(const struct scenario *sc)
{
	struct kq *q = calloc(1, sizeof(*q));
	bool *released = calloc((size_t)sc->n, sizeof(bool));
	struct vbatch vb;
	int batches;

	assert_non_null(q);
	assert_non_null(released);
	vbatch_init(&vb);
	q->base = sc->base;
	for (int i = 0; i < sc->n; i++)
		q->id[q->n++] = sc->base + (uint32_t)i;
	for (int i = 0; i < sc->n; i++) {
		uint32_t id = sc->base + (uint32_t)i;

		if (sc->steps[i].now == F_NONE)
			vbatch_hold(&vb, id);
		else
			verdict(&vb, q, id, sc->steps[i].now);
		for (int j = 0; j < 4 && sc->steps[i].rel[j] >= 0; j++) {
			int k = sc->steps[i].rel[j];

			verdict(&vb, q, sc->base + (uint32_t)k, sc->late[k]);
			released[k] = true;
		}
		if (sc->flush_every && (i + 1) % sc->flush_every == 0)
			vbatch_close(&vb, put, q);
	}
	vbatch_close(&vb, put, q);
	/* Held packets still waiting get their verdicts after the last flush. */
	for (int i = 0; i < sc->n; i++)
		if (sc->steps[i].now == F_NONE && !released[i])
			verdict(&vb, q, sc->base + (uint32_t)i, sc->late[i]);
	vbatch_close(&vb, put, q);
	for (int i = 0; i < sc->n; i++) {
		enum fate want = sc->steps[i].now != F_NONE ? sc->steps[i].now : sc->late[i];

		if (q->got[i] != want)
			fail_msg("%s: packet %d ended %d, want %d", sc->name, i, q->got[i], want);
	}
	assert_int_equal(q->errors, 0);
	assert_int_equal(q->n, 0);
	if (q->batches < sc->want_batches_min || q->batches > sc->want_batches_max)
		fail_msg("%s: %d batches, want %d..%d", sc->name, q->batches,
			 sc->want_batches_min, sc->want_batches_max);
	batches = q->batches;
	vbatch_free(&vb);
	free(released);
	free(q);
	return batches;
}

#define D { F_DROP, { -1 } }
#define A { F_ACCEPT, { -1 } }
#define M { F_MANGLED, { -1 } }
#define H { F_NONE, { -1 } }

/* A SYN flood: every packet dropped, nothing held: one batch per flush. */
static const struct step flood_steps[] = { D, D, D, D, D, D, D, D, D, D, D, D };
/* Packet 3 is held while later ones are dropped, then released with a
 * rewritten accept: no batch may take 3 with the drops. */
static const struct step held_mid_steps[] = {
	D, D, D, H, D, D, D, D, { F_DROP, { 3, -1 } }, D, D, D,
};
static const enum fate held_mid_late[12] = { [3] = F_ACCEPT };
/* As above, but the late verdict is a plain drop equal to the run's. */
static const struct step held_drop_steps[] = {
	D, H, D, D, D, { F_DROP, { 1, -1 } }, D, D,
};
static const enum fate held_drop_late[8] = { [1] = F_DROP };
/* Held at the very start and released after the last packet's flush. */
static const struct step held_first_steps[] = { H, D, D, D, D, { F_DROP, { 0, -1 } } };
static const enum fate held_first_late[6] = { [0] = F_MANGLED };
/* Alternating verdicts: runs of one, never a batch. */
static const struct step alt_steps[] = { A, D, A, D, M, D, A, M };
/* Accepts (unmangled) batch too; a mangled one splits the run. */
static const struct step acc_steps[] = { A, A, A, M, A, A, A, A };
/* Ids wrapping through 0. */
static const struct step wrap_steps[] = { D, D, H, D, D, D, { F_DROP, { 2, -1 } }, D };
static const enum fate wrap_late[8] = { [2] = F_MANGLED };
/* Two held packets released in reverse order. */
static const struct step two_held_steps[] = {
	D, H, D, H, D, D, { F_DROP, { 3, -1 } }, D, { F_ACCEPT, { 1, -1 } }, D, D, D,
};
static const enum fate two_held_late[12] = { [1] = F_DROP, [3] = F_ACCEPT };

static const struct scenario scenarios[] = {
	{ "flood", 1, 12, flood_steps, NULL, 4, 3, 3 },
	{ "flood one flush", 1, 12, flood_steps, NULL, 0, 1, 1 },
	{ "held mid", 100, 12, held_mid_steps, held_mid_late, 0, 1, 2 },
	{ "held mid flushed", 100, 12, held_mid_steps, held_mid_late, 4, 1, 3 },
	{ "held same verdict", 7, 8, held_drop_steps, held_drop_late, 0, 1, 2 },
	{ "held first", 50, 6, held_first_steps, held_first_late, 3, 0, 0 },
	{ "alternating", 1, 8, alt_steps, NULL, 0, 0, 0 },
	{ "accepts", 1, 8, acc_steps, NULL, 0, 2, 2 },
	{ "wrap", 0xfffffffdu, 8, wrap_steps, wrap_late, 0, 1, 2 },
	{ "two held", 1000, 12, two_held_steps, two_held_late, 0, 1, 4 },
};

static void test_scenarios(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
}

/* Random runs: a quarter of the packets held and released at random later
 * moments (not in order) with random verdicts; whatever happens, each
 * packet must end with exactly its own verdict and the kernel model must
 * see no error.  Batches must still happen, or the test proves nothing. */
static void test_random(void **state)
{
	static struct step steps[2000];
	static enum fate late[2000];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int batches = 0;

	(void)state;
	for (int round = 0; round < 200; round++) {
		int held[2000], nheld = 0;
		struct scenario sc = {
			.name = "random", .base = round % 2 ? 0xffffff00u : 5, .n = 2000,
			.steps = steps, .late = late, .flush_every = 16 + round % 50,
			.want_batches_min = 0, .want_batches_max = 2000,
		};

		for (int i = 0; i < sc.n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			steps[i].now = (x & 3) == 0 ? F_NONE : (x >> 8) % 8 == 0 ? F_ACCEPT :
				       (x >> 8) % 8 == 1 ? F_MANGLED : F_DROP;
			late[i] = (enum fate)(1 + (x >> 20) % 3);
			steps[i].rel[0] = -1;
			if (steps[i].now == F_NONE)
				held[nheld++] = i;
			if (nheld && ((x >> 30) & 1)) {
				int k = (int)((x >> 33) % (uint64_t)nheld);

				steps[i].rel[0] = held[k];
				steps[i].rel[1] = -1;
				held[k] = held[--nheld];
			}
		}
		batches += run(&sc);
	}
	assert_true(batches > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
