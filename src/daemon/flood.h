/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is a SYN flood going on?  The main thread samples, every
 * OVERLOAD_SAMPLE_MS, the SYNs seen (the engines' syn_received plus the
 * SYNs the XDP stage answered) and the signs that something took over
 * from the SYN cache: SYNs the cache could not take (answered by cookies
 * alone), SYNs the XDP stage answered beyond the queue's share, packets the
 * kernel dropped at a full queue.  This module turns the samples into
 * notices: a flood starts with the first such sign (told FLOOD_START_MS
 * later, when its rate is known), goes on (one report a minute), and ends
 * once FLOOD_QUIET_MS pass without a sign, each with the SYN rate and the
 * rule most of the SYNs were for.  No I/O: the caller samples and logs. */
#ifndef SP_FLOOD_H
#define SP_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* A flood is told this long after its first sign (the rate's window). */
#define FLOOD_START_MS 1000
/* A flood has ended once no sign was seen for this long. */
#define FLOOD_QUIET_MS 5000
/* While it goes on, one report per this much time. */
#define FLOOD_REPORT_MS 60000
/* The rate is measured over this many of the last samples (1 s). */
#define FLOOD_RATE_SAMPLES 10

/* Running totals at one moment. */
struct flood_totals {
	uint64_t syns;          /* syn_received + xdp_syn_answered */
	uint64_t cookies;       /* syncache_full: SYNs answered by a cookie alone */
	uint64_t xdp;           /* xdp_syn_answered (0 when the stage answers every SYN anyway) */
	uint64_t queue_drops;   /* queue_kernel_dropped + queue_user_dropped */
	/* SYNs the queue saw per rule (index in the rule set), counted for
	 * rules_gen; a different generation restarts the per-rule baseline. */
	const uint64_t *rule_syns;
	uint32_t nrules;
	uint32_t rules_gen;
};

enum flood_event {
	FLOOD_NONE,
	FLOOD_START,            /* FLOOD_START_MS in: rate = SYNs/s over the last second */
	FLOOD_ONGOING,          /* syns and ms since the start, peak rate */
	FLOOD_END,              /* the flood's totals: syns, ms (to the last sign), peak */
};

struct flood_report {
	enum flood_event event;
	uint64_t rate;          /* SYNs a second now (START) */
	uint64_t peak;          /* the highest one-second rate seen (ONGOING, END) */
	uint64_t syns;          /* since the start (ONGOING, END) */
	uint64_t ms;            /* since the start (ONGOING), the length (END) */
	bool cookies;           /* the SYN cache was full: cookies took over */
	bool xdp;               /* the XDP stage answered */
	bool queue_full;        /* the kernel dropped at a full queue */
	int rule;               /* the rule with most of the SYNs the queue saw; -1: none */
	uint64_t rule_syns;     /* ... and how many */
};

struct flood {
	bool fl_primed;
	struct flood_totals fl_last;
	uint64_t fl_syn_hist[FLOOD_RATE_SAMPLES];  /* SYNs of the last samples */
	unsigned fl_hist_pos;
	bool fl_on;
	bool fl_reported;                         /* its START was told */
	uint64_t fl_start_ms, fl_last_sign_ms, fl_last_report_ms;
	uint64_t fl_syns, fl_peak;
	bool fl_cookies, fl_xdp, fl_queue_full;   /* seen during this flood */
	uint64_t fl_rule_last[POLICY_MAX_RULES];  /* totals at the last sample */
	uint64_t fl_rule_acc[POLICY_MAX_RULES];   /* since the flood started */
	uint32_t fl_rules_gen;
};

/* Takes the sample t at now_ms (the first one only sets the baseline). */
struct flood_report flood_sample(struct flood *f, uint64_t now_ms, const struct flood_totals *t);

#endif
