/* SPDX-License-Identifier: GPL-2.0-or-later */
/* struct worker and what the worker's files share: worker.c (the packet
 * loop, the engine's answers sent in order, the timers), worker_fastpath.c
 * (flows handed to conntrack, its events, lookups for ICMP errors) and
 * worker_ctl.c (the main thread's requests through the mailbox).  Private
 * to those three. */
#ifndef SP_WORKER_INT_H
#define SP_WORKER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "egress.h"
#include "engine.h"
#include "fastpath.h"
#include "nfq.h"
#include "rawsock.h"
#include "route.h"
#include "stats.h"
#include "worker.h"
#include "xdp.h"

#define WORKER_TICK_MIN_MS 10
#define WORKER_TICK_MAX_MS 1000
#define WORKER_SNAPSHOT_MS 100
#define WORKER_WAIT_MS 5000
/* Receive rounds per wakeup, so timers still run under a flood. */
#define WORKER_RX_ROUNDS 64
/* Conntrack lookups for ICMP errors, at most, per second: forged errors
 * must not turn into as many netlink round trips. */
#define WORKER_CT_LOOKUPS 1000

/* What became of the flows offered for the kernel fast path. */
struct worker_offload {
	uint64_t ok;                /* flows the kernel now translates */
	uint64_t refused_rescaled;  /* window rescaled: the kernel cannot */
	uint64_t refused_off;       /* fast path off or unavailable */
	uint64_t failed;            /* ctnetlink refused: flow stays here */
	uint64_t stale_removed;     /* entries removed for a new or withdrawn flow */
	uint64_t stale_skipped;     /* new flows whose tuple can have no entry of ours */
	uint64_t forget_failed;     /* ctnetlink refused such a removal */
	uint64_t events;            /* conntrack events about offloaded flows */
	uint64_t events_lost_seen;  /* losses already answered by a check */
	uint64_t rechecked_ms;      /* when the last check ran */
};

struct worker {
	uint16_t wk_queue;
	pthread_t wk_thread;
	bool wk_started;
	struct engine *wk_engine;
	struct nfqueue *wk_nfq;
	struct rawsock wk_raw;
	struct fastpath *wk_fp;          /* NULL: fast path off */
	struct fastpath_events *wk_fev;  /* NULL: offloaded flows live rst_grace */
	struct routes *wk_routes;        /* gateway mode: where servers' packets come in */
	/* server_interfaces resolved: the indexes, for wk_conf generation
	 * wk_srvif_gen, looked up at wk_srvif_ms (server_iface, worker.c). */
	uint32_t wk_srvif[CONF_SERVER_IFACES];
	uint32_t wk_srvif_gen;
	bool wk_srvif_set;
	uint64_t wk_srvif_ms;
	struct xdp_stage *wk_xdp;        /* NULL: no XDP stage */
	struct ctseen *wk_ctseen;        /* NULL: always delete (ctseen.h) */
	struct ctseen *wk_orphans;       /* of those, no engine's (worker_set_ctseen) */
	bool wk_restored;                /* flows restored: check the offloaded ones */
	uint64_t wk_xdp_errors;
	struct worker_offload wk_offload;
	uint64_t wk_ct_second;           /* wk_now / 1000 of the lookups counted */
	uint32_t wk_ct_lookups;          /* conntrack lookups in that second */
	uint64_t wk_reason[2][CNT_MAX];  /* input verdicts (accept, drop) by reason */
	uint64_t wk_rule_syn[POLICY_MAX_RULES];  /* client SYNs per rule of wk_conf */
	int wk_epfd;
	int wk_timerfd;
	int wk_eventfd;
	uint64_t wk_now;
	uint64_t wk_last_tick;
	uint64_t wk_armed;
	uint64_t wk_snap_ms;
	bool wk_dirty;
	struct engine_out *wk_out;
	struct egress wk_egress;         /* emits and verdicts, in order */
	/* The packet being handled while its answers are queued, when they
	 * may go back on its link (see reply_to); NULL otherwise. */
	const struct nfqueue_pkt *wk_reply_to;

	/* The mailbox, shared with the main thread under wk_lock. */
	pthread_mutex_t wk_lock;
	pthread_cond_t wk_cond;
	const struct conf *wk_conf;
	const struct conf *wk_pending;
	bool wk_secrets_pending;         /* a rotation: wk_sec_* for the engine */
	bool wk_sec_have_prev;
	uint8_t wk_sec_cur[ENGINE_SECRET_LEN];
	uint8_t wk_sec_prev[ENGINE_SECRET_LEN];
	bool wk_stop;
	bool wk_flows_wanted;
	bool wk_snap_wanted;
	char *wk_flows;
	size_t wk_flows_len;
	struct stats wk_snap;
};

/* worker.c */
void worker_poke(struct worker *w);
void worker_flush_out(struct worker *w);
void worker_apply_out(struct worker *w, const struct engine_out *o);
/* k as text for the log, in buf. */
const char *worker_tuple_text(const struct conn_key *k, char *buf, size_t size);

/* worker_fastpath.c */
/* Hands fi's flow to conntrack (engine_out.offer), or counts why not. */
void worker_offload_flow(struct worker *w, const struct flow_info *fi);
/* Removes the kernel's entries for k (engine_out.forget). */
void worker_forget(struct worker *w, const struct conn_key *k);
/* Reads the conntrack events waiting on the event socket. */
void worker_read_ct_events(struct worker *w);
/* Answers lost events by a lookup of each offloaded flow, at most once a
 * second. */
void worker_answer_lost_events(struct worker *w);
/* At the thread's start, after a restore: ends the restored offloaded
 * flows whose conntrack entries are gone or another's. */
void worker_check_restored(struct worker *w);
/* engine_meta.kernel_flow: the offsets of the kernel's entry for k, if it
 * is ours (ctx is the worker). */
bool worker_kernel_flow(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf);

#endif
