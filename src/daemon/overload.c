/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The overload detector: see overload.h.  Counters only grow, but a
 * running total that steps back (a queue re-created by a restart of some
 * other consumer) is taken as a new baseline rather than a huge delta. */
#include "overload.h"

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : 0;
}

struct overload_report overload_sample(struct overload *o, uint64_t now_ms, uint64_t drops,
				       uint64_t pressure)
{
	struct overload_report r = { .event = OVERLOAD_NONE };
	uint64_t d, p;

	if (!o->ol_primed) {
		o->ol_primed = true;
		o->ol_drops = drops;
		o->ol_pressure = pressure;
		return r;
	}
	d = delta(drops, o->ol_drops);
	p = delta(pressure, o->ol_pressure);
	o->ol_drops = drops;
	o->ol_pressure = pressure;
	if (d || p)
		o->ol_pressure_until = now_ms + OVERLOAD_HOLD_MS;
	if (d) {
		o->ol_last_drop_ms = now_ms;
		o->ol_dropped += d;
		if (!o->ol_overflowing) {
			o->ol_overflowing = true;
			o->ol_start_ms = now_ms;
			o->ol_last_report_ms = now_ms;
			o->ol_dropped = d;
			r.event = OVERLOAD_START;
			r.dropped = d;
			return r;
		}
	}
	if (!o->ol_overflowing)
		return r;
	if (now_ms - o->ol_last_drop_ms >= OVERLOAD_QUIET_MS) {
		o->ol_overflowing = false;
		r.event = OVERLOAD_END;
		r.dropped = o->ol_dropped;
		r.ms = o->ol_last_drop_ms - o->ol_start_ms;
		return r;
	}
	if (now_ms - o->ol_last_report_ms >= OVERLOAD_REPORT_MS) {
		o->ol_last_report_ms = now_ms;
		r.event = OVERLOAD_ONGOING;
		r.dropped = o->ol_dropped;
		r.ms = now_ms - o->ol_start_ms;
	}
	return r;
}

bool overload_pressed(const struct overload *o, uint64_t now_ms)
{
	return now_ms < o->ol_pressure_until;
}
