/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The overload detector (src/daemon/overload.c): scenarios of samples
 * (time, kernel drop total, SYN cache pressure total) with the event each
 * sample must produce and whether the XDP stage must be answering every
 * SYN afterwards. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "overload.h"

struct step {
	uint64_t ms, drops, pressure;
	enum overload_event event;
	uint64_t dropped, len_ms;      /* checked when event != NONE */
	bool pressed;
};

static void run(const struct step *s, size_t n)
{
	struct overload o = { .ol_primed = false };

	for (size_t i = 0; i < n; i++) {
		struct overload_report r = overload_sample(&o, s[i].ms, s[i].drops, s[i].pressure);

		if (r.event != s[i].event)
			fail_msg("step %zu (t=%llu): event %d, want %d", i,
				 (unsigned long long)s[i].ms, r.event, s[i].event);
		if (r.event != OVERLOAD_NONE) {
			assert_int_equal(r.dropped, s[i].dropped);
			if (r.event != OVERLOAD_START)
				assert_int_equal(r.ms, s[i].len_ms);
		}
		if (overload_pressed(&o, s[i].ms) != s[i].pressed)
			fail_msg("step %zu (t=%llu): pressed %d, want %d", i,
				 (unsigned long long)s[i].ms, !s[i].pressed, s[i].pressed);
	}
}

/* The first sample is a baseline, however large its totals: a daemon
 * started on a queue that overflowed before it must not report that. */
static void test_baseline(void **state)
{
	static const struct step s[] = {
		{ 0, 5000, 700, OVERLOAD_NONE, 0, 0, false },
		{ 100, 5000, 700, OVERLOAD_NONE, 0, 0, false },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

/* Drops start, go on, stop: one START, one END after OVERLOAD_QUIET_MS of
 * silence with the total and the length; the XDP stage answers SYNs until
 * OVERLOAD_HOLD_MS after the last drop. */
static void test_overflow_start_end(void **state)
{
	static const struct step s[] = {
		{ 0, 0, 0, OVERLOAD_NONE, 0, 0, false },
		{ 100, 10, 0, OVERLOAD_START, 10, 0, true },
		{ 200, 30, 0, OVERLOAD_NONE, 0, 0, true },
		{ 300, 30, 0, OVERLOAD_NONE, 0, 0, true },
		{ 2100, 30, 0, OVERLOAD_NONE, 0, 0, true },
		{ 2200, 30, 0, OVERLOAD_END, 30, 100, true },
		{ 2300, 30, 0, OVERLOAD_NONE, 0, 0, true },
		{ 10199, 30, 0, OVERLOAD_NONE, 0, 0, true },
		{ 10200, 30, 0, OVERLOAD_NONE, 0, 0, false },
		/* A second overflow is reported afresh. */
		{ 20000, 31, 0, OVERLOAD_START, 1, 0, true },
		{ 22000, 31, 0, OVERLOAD_END, 1, 0, true },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

/* A long overflow is reported every OVERLOAD_REPORT_MS with the drops so
 * far, not on every sample. */
static void test_overflow_ongoing(void **state)
{
	static const struct step s[] = {
		{ 0, 0, 0, OVERLOAD_NONE, 0, 0, false },
		{ 1000, 5, 0, OVERLOAD_START, 5, 0, true },
		{ 30000, 50, 0, OVERLOAD_NONE, 0, 0, true },
		{ 60999, 90, 0, OVERLOAD_NONE, 0, 0, true },
		{ 61000, 100, 0, OVERLOAD_ONGOING, 100, 60000, true },
		{ 62000, 110, 0, OVERLOAD_NONE, 0, 0, true },
		{ 64000, 110, 0, OVERLOAD_END, 110, 61000, true },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

/* SYN cache pressure alone (no queue drops) engages the XDP stage but is
 * not an overflow: nothing to log. */
static void test_pressure_only(void **state)
{
	static const struct step s[] = {
		{ 0, 0, 0, OVERLOAD_NONE, 0, 0, false },
		{ 100, 0, 3, OVERLOAD_NONE, 0, 0, true },
		{ 5000, 0, 9, OVERLOAD_NONE, 0, 0, true },
		{ 14999, 0, 9, OVERLOAD_NONE, 0, 0, true },
		{ 15000, 0, 9, OVERLOAD_NONE, 0, 0, false },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

/* A total that steps back is a new baseline, not a wrap to 2^64. */
static void test_counter_reset(void **state)
{
	static const struct step s[] = {
		{ 0, 100, 100, OVERLOAD_NONE, 0, 0, false },
		{ 100, 0, 0, OVERLOAD_NONE, 0, 0, false },
		{ 200, 4, 0, OVERLOAD_START, 4, 0, true },
	};

	(void)state;
	run(s, sizeof(s) / sizeof(s[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_overflow_start_end),
		cmocka_unit_test(test_overflow_ongoing),
		cmocka_unit_test(test_pressure_only),
		cmocka_unit_test(test_counter_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
