/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SYN flood detector (src/daemon/flood.c): samples every 100 ms of
 * running totals (SYNs, cookies, XDP answers, queue drops, per-rule SYNs)
 * and the events they must produce: a start with the rate and the rule, a
 * report a minute, an end once 5 s pass without a sign, with the totals. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "flood.h"

struct sim {
	struct flood f;
	struct flood_totals t;
	uint64_t rules[3];
	uint64_t now;
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->t.rule_syns = s->rules;
	s->t.nrules = 3;
	s->t.rules_gen = 1;
	s->now = 1000;
	assert_int_equal(flood_sample(&s->f, s->now, &s->t).event, FLOOD_NONE);
}

/* One 100 ms sample: syns SYNs (all for rule), and the signs given. */
static struct flood_report step(struct sim *s, uint64_t syns, int rule, uint64_t cookies,
				uint64_t xdp, uint64_t drops)
{
	s->now += 100;
	s->t.syns += syns;
	if (rule >= 0)
		s->rules[rule] += syns;
	s->t.cookies += cookies;
	s->t.xdp += xdp;
	s->t.queue_drops += drops;
	return flood_sample(&s->f, s->now, &s->t);
}

static void test_quiet_traffic(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	for (int i = 0; i < 600; i++)
		assert_int_equal(step(&s, 50, 0, 0, 0, 0).event, FLOOD_NONE);
}

static void test_cookie_flood(void **state)
{
	struct flood_report r;
	struct sim s;
	int i, ongoing = 0;

	(void)state;
	sim_init(&s);
	for (i = 0; i < 10; i++)
		assert_int_equal(step(&s, 10, 0, 0, 0, 0).event, FLOOD_NONE);
	/* The cache fills: most SYNs are for rule 2.  The start is told a
	 * second later, with the rate of that second. */
	for (i = 0; i < 10; i++)
		assert_int_equal(step(&s, 5000, 2, 100, 0, 0).event, FLOOD_NONE);
	r = step(&s, 5000, 2, 100, 0, 0);
	assert_int_equal(r.event, FLOOD_START);
	assert_int_equal(r.rate, 50000);
	assert_int_equal(r.ms, 1000);
	assert_true(r.cookies);
	assert_false(r.xdp);
	assert_false(r.queue_full);
	assert_int_equal(r.rule, 2);
	assert_int_equal(r.rule_syns, 11 * 5000);
	/* 70 s of it: one report a minute after the start was told. */
	for (i = 0; i < 689; i++) {
		r = step(&s, 5000, 2, 4000, 0, i == 300);
		assert_true(r.event == FLOOD_NONE || r.event == FLOOD_ONGOING);
		if (r.event == FLOOD_ONGOING) {
			ongoing++;
			assert_int_equal(r.ms, 61000);
			assert_true(r.queue_full);
		}
	}
	assert_int_equal(ongoing, 1);
	/* It stops: a trickle of SYNs without signs, then the end 5 s after
	 * the last sign. */
	for (i = 0; i < 49; i++)
		assert_int_equal(step(&s, 1, 0, 0, 0, 0).event, FLOOD_NONE);
	r = step(&s, 1, 0, 0, 0, 0);
	assert_int_equal(r.event, FLOOD_END);
	assert_int_equal(r.ms, 699 * 100);
	assert_int_equal(r.syns, 700 * 5000 + 50);
	assert_int_equal(r.peak, 50000);
	assert_int_equal(r.rule, 2);
	assert_int_equal(r.rule_syns, 700 * 5000);
	assert_true(r.cookies && r.queue_full && !r.xdp);
	/* Quiet again. */
	for (i = 0; i < 100; i++)
		assert_int_equal(step(&s, 10, 0, 0, 0, 0).event, FLOOD_NONE);
}

/* The XDP stage answers from the start: the queue saw no SYN of it, so no
 * rule is named. */
static void test_xdp_flood(void **state)
{
	struct flood_report r;
	struct sim s;
	int i;

	(void)state;
	sim_init(&s);
	for (i = 0; i < 10; i++)
		assert_int_equal(step(&s, 20000, -1, 0, 20000, 0).event, FLOOD_NONE);
	r = step(&s, 20000, -1, 0, 20000, 0);
	assert_int_equal(r.event, FLOOD_START);
	assert_int_equal(r.rate, 200000);
	assert_true(r.xdp);
	assert_false(r.cookies);
	assert_int_equal(r.rule, -1);
	for (i = 0; i < 10; i++)
		assert_int_equal(step(&s, 20000, -1, 0, 20000, 0).event, FLOOD_NONE);
	for (i = 0; i < 49; i++)
		assert_int_equal(step(&s, 0, -1, 0, 0, 0).event, FLOOD_NONE);
	r = step(&s, 0, -1, 0, 0, 0);
	assert_int_equal(r.event, FLOOD_END);
	assert_int_equal(r.syns, 21 * 20000);
	assert_int_equal(r.ms, 2000);
}

/* A reload changes the rules: the per-rule totals start again, with no
 * huge delta from the old numbering; a total that steps back is a new
 * baseline. */
static void test_reload_and_step_back(void **state)
{
	struct flood_report r;
	struct sim s;

	(void)state;
	sim_init(&s);
	s.rules[1] = 1000000;
	s.t.rules_gen = 2;
	r = step(&s, 100, 0, 1, 0, 0);
	assert_int_equal(r.event, FLOOD_NONE);
	assert_int_equal(r.rule, -1);
	r = step(&s, 100, 0, 1, 0, 0);
	assert_int_equal(r.rule, 0);
	assert_int_equal(r.rule_syns, 100);
	s.t.syns = 0;
	r = step(&s, 0, -1, 1, 0, 0);
	assert_int_equal(r.event, FLOOD_NONE);
	r = step(&s, 10, -1, 1, 0, 0);
	assert_int_equal(r.syns, 100 + 100 + 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_traffic),
		cmocka_unit_test(test_cookie_flood),
		cmocka_unit_test(test_xdp_flood),
		cmocka_unit_test(test_reload_and_step_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
