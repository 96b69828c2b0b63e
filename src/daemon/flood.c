/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SYN flood detector: see flood.h.  Totals only grow; one that steps
 * back (the XDP stage gone, a queue re-created) is taken as a new
 * baseline rather than a huge delta. */
#include <string.h>

#include "flood.h"

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : 0;
}

static uint64_t rate(const struct flood *f)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < FLOOD_RATE_SAMPLES; i++)
		sum += f->fl_syn_hist[i];
	return sum;  /* FLOOD_RATE_SAMPLES samples make one second */
}

/* Per-rule SYNs since the last sample, added to the flood's tally (kept
 * only while a flood goes on). */
static void count_rules(struct flood *f, const struct flood_totals *t)
{
	uint32_t n = t->nrules < POLICY_MAX_RULES ? t->nrules : POLICY_MAX_RULES;
	uint32_t i;

	if (!t->rule_syns)
		return;
	if (t->rules_gen != f->fl_rules_gen) {
		/* A reload: new rules, new baseline (and the tally restarts). */
		f->fl_rules_gen = t->rules_gen;
		memset(f->fl_rule_acc, 0, sizeof(f->fl_rule_acc));
		memcpy(f->fl_rule_last, t->rule_syns, n * sizeof(*t->rule_syns));
		return;
	}
	for (i = 0; i < n; i++) {
		f->fl_rule_acc[i] += delta(t->rule_syns[i], f->fl_rule_last[i]);
		f->fl_rule_last[i] = t->rule_syns[i];
	}
}

static void top_rule(const struct flood *f, struct flood_report *r)
{
	uint32_t i;

	r->rule = -1;
	r->rule_syns = 0;
	for (i = 0; i < POLICY_MAX_RULES; i++) {
		if (f->fl_rule_acc[i] > r->rule_syns) {
			r->rule = (int)i;
			r->rule_syns = f->fl_rule_acc[i];
		}
	}
}

struct flood_report flood_sample(struct flood *f, uint64_t now_ms, const struct flood_totals *t)
{
	struct flood_report r = { .event = FLOOD_NONE, .rule = -1 };
	uint64_t syns, cookies, xdp, drops, now_rate;
	bool sign;

	if (!f->fl_primed) {
		memset(f, 0, sizeof(*f));
		f->fl_primed = true;
		f->fl_last = *t;
		f->fl_rules_gen = t->rules_gen;
		if (t->rule_syns)
			memcpy(f->fl_rule_last, t->rule_syns,
			       (t->nrules < POLICY_MAX_RULES ? t->nrules : POLICY_MAX_RULES) *
				       sizeof(*t->rule_syns));
		return r;
	}
	syns = delta(t->syns, f->fl_last.syns);
	cookies = delta(t->cookies, f->fl_last.cookies);
	xdp = delta(t->xdp, f->fl_last.xdp);
	drops = delta(t->queue_drops, f->fl_last.queue_drops);
	f->fl_last = *t;
	f->fl_syn_hist[f->fl_hist_pos] = syns;
	f->fl_hist_pos = (f->fl_hist_pos + 1) % FLOOD_RATE_SAMPLES;
	now_rate = rate(f);
	sign = cookies || xdp || drops;
	if (!f->fl_on && !sign) {
		count_rules(f, t);
		memset(f->fl_rule_acc, 0, sizeof(f->fl_rule_acc));
		return r;
	}
	if (!f->fl_on) {
		f->fl_on = true;
		f->fl_reported = false;
		f->fl_start_ms = f->fl_last_report_ms = now_ms;
		f->fl_syns = 0;
		f->fl_peak = 0;
		f->fl_cookies = f->fl_xdp = f->fl_queue_full = false;
		memset(f->fl_rule_acc, 0, sizeof(f->fl_rule_acc));
	}
	count_rules(f, t);
	f->fl_syns += syns;
	if (now_rate > f->fl_peak)
		f->fl_peak = now_rate;
	if (sign) {
		f->fl_last_sign_ms = now_ms;
		f->fl_cookies |= cookies > 0;
		f->fl_xdp |= xdp > 0;
		f->fl_queue_full |= drops > 0;
	}
	r.cookies = f->fl_cookies;
	r.xdp = f->fl_xdp;
	r.queue_full = f->fl_queue_full;
	r.rate = now_rate;
	r.peak = f->fl_peak;
	r.syns = f->fl_syns;
	top_rule(f, &r);
	/* The start is told once the rate covers a second of the flood (its
	 * first sample may hold only its first SYNs). */
	if (!f->fl_reported && now_ms - f->fl_start_ms >= FLOOD_START_MS) {
		f->fl_reported = true;
		f->fl_last_report_ms = now_ms;
		r.event = FLOOD_START;
		r.ms = now_ms - f->fl_start_ms;
		return r;
	}
	if (now_ms - f->fl_last_sign_ms >= FLOOD_QUIET_MS) {
		f->fl_on = false;
		r.event = FLOOD_END;
		r.ms = f->fl_last_sign_ms - f->fl_start_ms;
		memset(f->fl_rule_acc, 0, sizeof(f->fl_rule_acc));
		return r;
	}
	if (now_ms - f->fl_last_report_ms >= FLOOD_REPORT_MS) {
		f->fl_last_report_ms = now_ms;
		r.event = FLOOD_ONGOING;
		r.ms = now_ms - f->fl_start_ms;
	}
	return r;
}
