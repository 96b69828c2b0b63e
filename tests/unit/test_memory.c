/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the engine allocates, measured rather than computed: malloc,
 * calloc, realloc and free are wrapped (-Wl,--wrap, Makefile.am) by a
 * counting allocator, so these tests see every byte the core asks for.
 * They hold the memory_bytes gauge to the bytes engine_new allocated, for
 * several configurations and the shipped example's, and check that the
 * packet path allocates nothing: a SYN flood past the SYN cache, spliced
 * connections and their timers leave the allocator untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "conf.h"
#include "engine.h"
#include "packet.h"
#include "tcpopt.h"

/* ---- the counting allocator ---------------------------------------------
 * Live blocks are kept in an open-addressed table keyed by pointer, so a
 * block allocated behind the wrappers' back (libconfig, libc) and freed
 * through them is simply not counted. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#define LIVE_SLOTS 4096

static struct { void *p; size_t n; } live[LIVE_SLOTS];
static size_t live_bytes;   /* bytes in live blocks */
static uint64_t alloc_calls; /* malloc, calloc and realloc calls */

static size_t slot_of(const void *p)
{
	return ((uintptr_t)p >> 4) * 2654435761u % LIVE_SLOTS;
}

static void track(void *p, size_t n)
{
	size_t i = slot_of(p);

	for (size_t k = 0; k < LIVE_SLOTS; k++, i = (i + 1) % LIVE_SLOTS) {
		if (!live[i].p) {
			live[i].p = p;
			live[i].n = n;
			live_bytes += n;
			return;
		}
	}
	abort();    /* more live blocks than the table holds: enlarge it */
}

static void untrack(void *p)
{
	size_t i = slot_of(p), j;

	for (size_t k = 0; k < LIVE_SLOTS && live[i].p; k++, i = (i + 1) % LIVE_SLOTS) {
		if (live[i].p != p)
			continue;
		live_bytes -= live[i].n;
		live[i].p = NULL;
		/* Re-insert the rest of the probe run (linear probing). */
		for (j = (i + 1) % LIVE_SLOTS; live[j].p; j = (j + 1) % LIVE_SLOTS) {
			void *q = live[j].p;
			size_t n = live[j].n;

			live[j].p = NULL;
			live_bytes -= n;
			track(q, n);
		}
		return;
	}
}

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	alloc_calls++;
	if (p)
		track(p, n);
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = __real_calloc(n, size);

	alloc_calls++;
	if (p)
		track(p, n * size);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p;

	if (old)
		untrack(old);
	p = __real_realloc(old, n);
	alloc_calls++;
	if (p)
		track(p, n);
	return p;
}

void __wrap_free(void *p)
{
	if (p)
		untrack(p);
	__real_free(p);
}

/* ---- helpers ------------------------------------------------------------- */

static const uint8_t secret[ENGINE_SECRET_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void addr4(struct addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t b[4] = { x, y, z, w };

	addr_from_v4(a, b);
}

/* The example configuration as it ships (loaded by the group setup): its
 * rules are what the engine runs with here, as a user's would be. */
static struct conf *example;

static int example_load(void **state)
{
	const char *top = getenv("top_srcdir");
	char path[1024], err[512] = "";

	(void)state;
	example = calloc(1, sizeof(*example));
	if (!example)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/synproxyd.conf.example", top ? top : ".");
	if (conf_load(path, example, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int example_free(void **state)
{
	(void)state;
	conf_free(example);
	free(example);
	return 0;
}

/* engine_new for c and pol, checked: memory_bytes equals the bytes it
 * allocated, and engine_free gives all of them back.  Returns the engine
 * (the caller frees it) when keep is set. */
static struct engine *checked_new(const struct engine_config *c, const struct policy *pol,
				  bool keep)
{
	size_t before = live_bytes;
	struct engine_gauges g;
	struct engine *e = engine_new(c, pol, secret, 1000000);

	assert_non_null(e);
	engine_gauges(e, &g);
	print_message("engine_new allocated %zu bytes, memory_bytes says %zu\n",
		      live_bytes - before, g.memory_bytes);
	assert_int_equal(g.memory_bytes, live_bytes - before);
	if (keep)
		return e;
	engine_free(e);
	assert_int_equal(live_bytes, before);
	return NULL;
}

/* ---- tests ---------------------------------------------------------------- */

static void tune_none(struct engine_config *c) { (void)c; }
static void tune_small(struct engine_config *c)
{
	c->syncache.buckets = 16;
	c->syncache.bucket_limit = 4;
	c->syncache.max_entries = 64;
	c->max_flows = 1000;
	c->hold_bytes_total = 262144;
	c->srclimit_slots = 100;
	c->learned_slots = 3;
	c->passlist_slots = 5;
}
static void tune_always(struct engine_config *c) { c->cookies = COOKIES_ALWAYS; }
static void tune_nohold(struct engine_config *c) { c->hold_bytes_total = 0; }

/* Every table counts: the SYN cache, the flow table, the hold pool, the
 * per-source limits, the learned options and the pass list; with the
 * example's rules (which limit half-open entries per source) and none. */
static void test_gauge_is_what_engine_new_allocates(void **state)
{
	static void (*const tunes[])(struct engine_config *) = {
		tune_none, tune_small, tune_always, tune_nohold,
	};
	static const struct policy none = { .nrules = 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(tunes) / sizeof(tunes[0]); i++) {
		struct engine_config c;

		engine_config_defaults(&c);
		tunes[i](&c);
		checked_new(&c, &example->policy, false);
		checked_new(&c, &none, false);
	}
}

/* The example configuration's own engine settings. */
static void test_gauge_for_the_example(void **state)
{
	(void)state;
	checked_new(&example->engine, &example->policy, false);
}

struct drive {
	struct engine *e;
	struct engine_out out;
	uint64_t now;
	uint32_t id;
};

static void input(struct drive *d, const struct seg *s)
{
	uint8_t buf[256];
	struct engine_meta m = { .id = d->id++ };
	size_t len = packet_build(buf, sizeof(buf), s);

	assert_true(len > 0);
	engine_input(d->e, buf, (uint32_t)len, &m, d->now, &d->out);
}

static void tick(struct drive *d)
{
	while (engine_tick(d->e, d->now, &d->out))
		;
}

/* The emit of the last call going to `to`, parsed; false when none. */
static bool emitted(struct drive *d, uint8_t to, struct pkt *p, struct tcpopt *o)
{
	for (uint32_t i = 0; i < d->out.nemit; i++) {
		struct engine_emit *em = &d->out.emit[i];

		if (em->to != to)
			continue;
		assert_int_equal(packet_parse(p, em->data, em->len), PKT_OK);
		assert_int_equal(tcpopt_parse(p->data + p->l4off, p->doff, o), 0);
		return true;
	}
	return false;
}

/* One connection from cli:cport: handshake, backend handshake, a request
 * and its answer, then FINs from both sides. */
static void connection(struct drive *d, const struct addr *cli, uint16_t cport,
		       const struct addr *srv, uint16_t port)
{
	const struct tcpopt syn_opts = {
		.have = TO_MSS | TO_SACKOK | TO_TS | TO_WSCALE, .mss = 1460, .wscale = 7,
		.tsval = 4242,
	};
	struct seg c = { .src = *cli, .dst = *srv, .sport = cport, .dport = port, .seq = 1000,
			 .win = 64240, .flags = TCPH_SYN, .opt = &syn_opts };
	struct seg s = { .src = *srv, .dst = *cli, .sport = port, .dport = cport, .seq = 5000,
			 .ack = 1001, .win = 65160, .flags = TCPH_SYN | TCPH_ACK, .opt = &syn_opts };
	struct tcpopt o, ts = { .have = TO_TS, .tsval = 4243 };
	struct pkt p;
	uint32_t iss;

	input(d, &c);
	assert_true(emitted(d, DIR_CLIENT, &p, &o));
	iss = p.seq;
	ts.tsecr = o.tsval;
	c = (struct seg){ .src = *cli, .dst = *srv, .sport = cport, .dport = port, .seq = 1001,
			  .ack = iss + 1, .win = 502, .flags = TCPH_ACK, .opt = &ts };
	d->now += 1;
	input(d, &c);
	assert_true(emitted(d, DIR_SERVER, &p, &o));
	d->now += 1;
	input(d, &s);
	assert_int_equal(d->out.reason, CNT_backend_established);
	/* 6 bytes each way (payload is not needed by the engine's books: the
	 * sequence numbers say it), then FIN, FIN. */
	c.flags = TCPH_ACK | TCPH_FIN;
	input(d, &c);
	s = (struct seg){ .src = *srv, .dst = *cli, .sport = port, .dport = cport, .seq = 5001,
			  .ack = 1002, .win = 509, .flags = TCPH_ACK | TCPH_FIN };
	input(d, &s);
	c.flags = TCPH_ACK;
	c.seq = 1002;
	c.ack = iss + 2;
	input(d, &c);
}

/* Nothing on the packet path allocates: with the example's rules, a SYN
 * flood at the web port well past the SYN cache (cookies), SYNs to the
 * redis port from outside its allow list, 500 whole connections, and
 * every timer after them. */
static void test_packet_path_allocates_nothing(void **state)
{
	struct drive d = { .now = 1000000 };
	struct engine_gauges g;
	struct addr srv, cli;
	uint64_t calls;
	size_t bytes;

	(void)state;
	addr4(&srv, 203, 0, 113, 2);
	d.e = checked_new(&example->engine, &example->policy, true);
	calls = alloc_calls;
	bytes = live_bytes;
	for (uint32_t i = 0; i < 100000; i++) {
		struct seg syn = { .dst = srv, .sport = (uint16_t)(1024 + i % 60000),
				   .dport = i % 10 ? 80 : 6379, .seq = i * 7919u, .win = 1000,
				   .flags = TCPH_SYN };

		addr4(&syn.src, 198, (uint8_t)(18 + (i >> 16 & 1)), (uint8_t)(i >> 8), (uint8_t)i);
		input(&d, &syn);
		if (i % 1000 == 0) {
			d.now += 10;
			tick(&d);
		}
	}
	assert_true(engine_counters(d.e)[CNT_cookie_sent] > 0);
	assert_true(engine_counters(d.e)[CNT_denied] > 0);
	for (uint32_t i = 0; i < 500; i++) {
		addr4(&cli, 192, 0, 2, (uint8_t)(100 + i % 100));
		connection(&d, &cli, (uint16_t)(30000 + i), &srv, 80);
	}
	assert_int_equal(engine_counters(d.e)[CNT_backend_established], 500);
	for (int i = 0; i < 200; i++) {
		d.now += 1000;
		tick(&d);
	}
	assert_int_equal(engine_counters(d.e)[CNT_flows_closed], 500);
	engine_gauges(d.e, &g);
	assert_int_equal(g.syncache_entries, 0);
	assert_int_equal(g.flows_active, 0);
	print_message("%llu allocator calls and %lld bytes on the packet path\n",
		      (unsigned long long)(alloc_calls - calls), (long long)live_bytes - (long long)bytes);
	assert_int_equal(alloc_calls, calls);
	assert_int_equal(live_bytes, bytes);
	engine_free(d.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gauge_is_what_engine_new_allocates),
		cmocka_unit_test(test_gauge_for_the_example),
		cmocka_unit_test(test_packet_path_allocates_nothing),
	};

	return cmocka_run_group_tests(tests, example_load, example_free);
}
