/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The statistics synproxyctl stats and the metrics endpoint report, defined
 * once: the engine's counters (COUNTER_LIST, counters.h), the daemon's own
 * counters and gauges (DAEMON_STATS below) and the XDP stage's counters
 * (XDP_COUNTERS, xdp_abi.h).  The struct, the sum over workers, every
 * output format and the man page check (tests/check-man-counters.sh) are
 * generated from these lists. */
#ifndef SP_STATS_H
#define SP_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "counters.h"
#include "policy.h"
#include "xdp_abi.h"

/*
 * X(name, type, scope, help): type COUNTER (only grows) or GAUGE (a level
 * now); scope QUEUE (each worker has its own, summed over workers) or
 * DAEMON (one value, filled in by the main thread).  Names as synproxyd(8)
 * lists them, in this order.
 */
#define DAEMON_STATS(X)                                                                    \
	X(queue_received, COUNTER, QUEUE, "packets read from NFQUEUE")                     \
	X(queue_overruns, COUNTER, QUEUE, "NFQUEUE receive overruns (ENOBUFS)")            \
	X(queue_truncated, COUNTER, QUEUE, "packets copied partially, accepted untouched") \
	X(queue_unread, COUNTER, QUEUE,                                                    \
	  "packets queued while a queue was set up, dropped unread")                       \
	X(queue_verdicts, COUNTER, QUEUE, "verdicts sent")                                 \
	X(queue_batches, COUNTER, QUEUE, "batch verdict messages (several verdicts in one)") \
	X(queue_kernel_dropped, COUNTER, QUEUE, "dropped by the kernel: queue full")       \
	X(queue_user_dropped, COUNTER, QUEUE,                                              \
	  "dropped by the kernel: the daemon's socket buffer full")                        \
	X(netlink_errors, COUNTER, QUEUE, "netlink errors (refused verdicts, failed sends)") \
	X(raw_sent, COUNTER, QUEUE, "packets sent on the raw and packet sockets")          \
	X(raw_send_errors, COUNTER, QUEUE, "raw and packet socket send failures")          \
	X(link_sent, COUNTER, QUEUE,                                                       \
	  "of raw_sent, answers sent back on the link they came from")                     \
	X(offload_ok, COUNTER, QUEUE, "established flows handed to the kernel fast path")  \
	X(offload_refused_rescaled, COUNTER, QUEUE, "flows kept in userspace: window rescaled") \
	X(offload_refused_off, COUNTER, QUEUE,                                             \
	  "flows kept in userspace: fast path off or unavailable")                         \
	X(offload_failed, COUNTER, QUEUE,                                                  \
	  "flows kept in userspace: the kernel refused the entry")                         \
	X(offload_stale_removed, COUNTER, QUEUE,                                           \
	  "conntrack entries removed for a new flow's tuple or a withdrawn flow")          \
	X(offload_forget_failed, COUNTER, QUEUE, "such removals that ctnetlink refused")   \
	X(offload_stale_skipped, COUNTER, QUEUE,                                           \
	  "new flows whose tuple can have no entry of ours: no removal asked")             \
	X(offload_events, COUNTER, QUEUE,                                                  \
	  "conntrack events read about offloaded flows (a close, an entry's end)")         \
	X(offload_events_lost, COUNTER, QUEUE,                                             \
	  "times conntrack events were lost (socket buffer full)")                         \
	X(xdp_map_errors, COUNTER, QUEUE,                                                  \
	  "updates of the XDP stage's flow and option maps that failed")                   \
	X(rules_reinstalled, COUNTER, DAEMON,                                              \
	  "times our rules were found removed or changed and put back")                    \
	X(flows_adopted, COUNTER, DAEMON,                                                  \
	  "connections established before the daemon, adopted at start")                  \
	X(syncache_entries, GAUGE, QUEUE, "half-open entries in the SYN cache")            \
	X(flows_active, GAUGE, QUEUE, "flows in the flow table")                           \
	X(held_packets, GAUGE, QUEUE, "client packets held for a backend")                 \
	X(held_bytes, GAUGE, QUEUE, "bytes held for backends")                             \
	X(memory_bytes, GAUGE, QUEUE, "memory of every engine table")                      \
	X(xdp_interfaces, GAUGE, DAEMON, "interfaces carrying the XDP stage")              \
	X(ct_orphans, GAUGE, DAEMON,                                                       \
	  "conntrack entries of ours that no engine holds")

enum daemon_stat {
#define DAEMON_STAT_ENUM(name, type, scope, help) DS_##name,
	DAEMON_STATS(DAEMON_STAT_ENUM)
#undef DAEMON_STAT_ENUM
	DS_MAX
};

/* One worker's statistics, or their sum.  The engine's verdict reasons
 * count, per verdict (accept, drop), the input packets each engine
 * counter explained (engine_out.reason). */
struct stats {
	uint64_t st_engine[CNT_MAX];
	uint64_t st_daemon[DS_MAX];
	uint64_t st_xdp[XC_MAX];         /* the XDP stage's (main thread; 0 without it) */
	uint64_t st_reason[2][CNT_MAX];  /* [0] accepted, [1] dropped, by reason */
	/* Client SYNs the queue saw per rule (index in the rule set of
	 * generation st_rules_gen, which has st_nrules rules). */
	uint64_t st_rule_syn[POLICY_MAX_RULES];
	uint32_t st_rules_gen;
	uint32_t st_nrules;
};

/* Adds every value of s to sum (gauges too: a sum over workers); the
 * per-rule SYNs only when both count for the same rule set (set sum's
 * st_rules_gen and st_nrules first). */
void stats_add(struct stats *sum, const struct stats *s);

enum stats_format {
	STATS_TEXT,          /* "name value" per line */
	STATS_JSON,          /* one JSON object */
	STATS_PROMETHEUS,    /* text exposition format with HELP and TYPE, no labels */
};

/* Writes every statistic of s in format f; the XDP stage's counters only
 * while it is attached (xdp_interfaces above 0). */
void stats_print(FILE *out, const struct stats *s, enum stats_format f);

/* Writes, in the Prometheus text format, every statistic with the per-queue
 * ones labelled queue="N" (q[i] is queue first_queue + i) and the others
 * from sum, then the verdict reasons that occurred
 * (synproxyd_verdict_reasons_total{queue,verdict,reason}). */
void stats_print_labelled(FILE *out, const struct stats *q, unsigned n, uint16_t first_queue,
			  const struct stats *sum);

/* What the metrics page says about the daemon itself, beside the
 * statistics. */
struct stats_info {
	const char *si_version;
	bool si_xdp_built;
	uint64_t si_start_ms;            /* wall clock, ms */
	bool si_reload_ok;               /* the last reload worked (or none was tried) */
	uint64_t si_loaded_ms;           /* wall clock of the last successful (re)load */
	uint64_t si_reloads;             /* tried */
	uint64_t si_reload_failures;
	uint32_t si_nrules;
	uint32_t si_rules_gen;           /* the generation of the rules below */
	struct {
		char name[RULE_NAME_MAX];
		enum rule_action action;
	} si_rule[POLICY_MAX_RULES];
};

/* Writes i in the Prometheus text format: synproxyd_build_info, the start
 * time, the last reload's success and time, the reload counts, one
 * synproxyd_rule_info{rule,action} per rule and, when sum counts for the
 * same rule set, each rule's SYNs (synproxyd_rule_syn_received_total). */
void stats_print_info(FILE *out, const struct stats_info *i, const struct stats *sum);

/* Writes a metric family's HELP and TYPE lines (name without the
 * synproxyd_ prefix; counter families end in _total). */
void stats_prom_family(FILE *out, const char *name, bool counter, const char *help);

/* Writes one sample of family name (as given to stats_prom_family), with
 * labels ("" or "{a=\"b\"}"). */
void stats_prom_sample(FILE *out, const char *name, bool counter, const char *labels,
		       uint64_t value);

#endif
