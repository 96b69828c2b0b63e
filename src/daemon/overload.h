/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is the queue the bottleneck?  The main thread samples, every
 * OVERLOAD_SAMPLE_MS, the kernel's count of packets dropped because a
 * queue was full and the engines' count of SYNs the SYN cache turned away
 * or shed, and this module turns the samples into two things: log events
 * (an overflow starts, goes on, ends) and a deadline until which the XDP
 * stage answers every SYN itself.  No I/O: the caller samples and logs. */
#ifndef SP_OVERLOAD_H
#define SP_OVERLOAD_H

#include <stdbool.h>
#include <stdint.h>

#define OVERLOAD_SAMPLE_MS 100
/* An overflow has ended once no queue drop was seen for this long. */
#define OVERLOAD_QUIET_MS 2000
/* While an overflow goes on, one report per this much time. */
#define OVERLOAD_REPORT_MS 60000
/* The XDP stage keeps answering every SYN this long after the last sign
 * of pressure (hysteresis: a flood that pauses does not flap it). */
#define OVERLOAD_HOLD_MS 10000

enum overload_event {
	OVERLOAD_NONE,
	OVERLOAD_START,     /* drops began: dropped = those of this sample */
	OVERLOAD_ONGOING,   /* a periodic report: dropped = since the start */
	OVERLOAD_END,       /* dropped = the overflow's total; ms = its length */
};

struct overload {
	bool ol_primed;              /* a first sample was taken */
	uint64_t ol_drops;           /* kernel queue drops at the last sample */
	uint64_t ol_pressure;        /* syncache_full + syncache_shed then */
	bool ol_overflowing;
	uint64_t ol_start_ms;
	uint64_t ol_last_drop_ms;
	uint64_t ol_last_report_ms;
	uint64_t ol_dropped;         /* drops since the overflow started */
	uint64_t ol_pressure_until;  /* answer SYNs in XDP until then (monotonic ms) */
};

/* What one sample produced. */
struct overload_report {
	enum overload_event event;
	uint64_t dropped;
	uint64_t ms;
};

/* Takes a sample at now_ms: drops is the kernel's running total of
 * packets dropped at our queues (queue or socket full), pressure the
 * engines' running total of SYNs the SYN cache could not keep.  The
 * first sample only sets the baseline. */
struct overload_report overload_sample(struct overload *o, uint64_t now_ms, uint64_t drops,
				       uint64_t pressure);

/* True while the XDP stage should answer every SYN (until OVERLOAD_HOLD_MS
 * after the last sample that showed drops or SYN cache pressure). */
bool overload_pressed(const struct overload *o, uint64_t now_ms);

#endif
