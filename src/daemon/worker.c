/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The worker loop: epoll over the queue socket, a timerfd and an eventfd.
 * The timer is armed for the engine's next deadline, kept between 10 ms
 * and 1 s away, and brought forward when a fresh counter snapshot is due.
 * Per engine call the order is fixed: emitted packets first (raw socket),
 * then held packets' verdicts, then the input's own verdict.
 *
 * Emitted packets and verdicts are both gathered and sent per receive
 * batch (sendmmsg, one verdict datagram).  Only an accept lets a packet
 * out, so only emits and accept verdicts must keep engine order between
 * them; drop verdicts and emits travel in either order, which is what
 * lets a SYN flood's SYN-ACKs and drops go out as two batches.  egress.c
 * keeps that rule (tests/unit/test_egress.c checks it against a model of
 * the kernel); this file binds its two queues to the sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "egress.h"
#include "fastpath.h"
#include "log.h"
#include "packet.h"
#include "rawsock.h"
#include "route.h"
#include "worker.h"

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
	struct xdp_stage *wk_xdp;        /* NULL: no XDP stage */
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

static void poke(struct worker *w)
{
	uint64_t one = 1;

	/* The counter only saturates after 2^64-2 writes: this cannot fail usefully. */
	if (write(w->wk_eventfd, &one, sizeof(one)) < 0)
		log_warn("worker %u: eventfd", w->wk_queue);
}

static void raw_error(int err, void *ctx)
{
	struct worker *w = ctx;

	/* Expected transient errors are counted only (rs_errors). */
	if (err == ENOBUFS || err == EHOSTUNREACH || err == ENETUNREACH || err == EAGAIN ||
	    err == EPERM || err == EMSGSIZE)
		return;
	errno = err;
	log_warn_limited(w->wk_now, "worker %u: raw send", w->wk_queue);
}

/* Sends every gathered emit and verdict. */
static void flush_out(struct worker *w)
{
	egress_flush(&w->wk_egress);
}

/* p itself when its answers may go back on its link: reply_path "link",
 * an input interface, and a link-layer source that is not all zero
 * (loopback's is; a tunnel has none); NULL otherwise. */
static const struct nfqueue_pkt *reply_to(const struct worker *w, const struct nfqueue_pkt *p)
{
	static const uint8_t zero[sizeof(p->hwaddr)];

	if (w->wk_conf->reply_path != CONF_REPLY_LINK || p->indev == 0 || p->hwlen == 0 ||
	    memcmp(p->hwaddr, zero, p->hwlen) == 0)
		return NULL;
	return p;
}

/* Whether em answers p: same IP version, addressed to p's source.  The
 * engine rewrites p in place, but never its addresses. */
static bool answers(const struct nfqueue_pkt *p, const struct engine_emit *em)
{
	uint8_t v = em->data[0] >> 4;

	if (p->len < 40 || em->len < 40 || (p->data[0] >> 4) != v)
		return false;
	if (v == 4)
		return memcmp(em->data + 16, p->data + 12, 4) == 0;
	return v == 6 && memcmp(em->data + 24, p->data + 8, 16) == 0;
}

/* "CLIENT:PORT -> SERVER:PORT" for debug lines (IPv6 in brackets). */
static const char *tuple_text(const struct conn_key *k, char *buf, size_t size)
{
	char c[ADDR_STRLEN], s[ADDR_STRLEN];
	bool v4 = addr_is_v4(&k->caddr);

	addr_format(&k->caddr, c, sizeof(c));
	addr_format(&k->saddr, s, sizeof(s));
	snprintf(buf, size, "%s%s%s:%u -> %s%s%s:%u", v4 ? "" : "[", c, v4 ? "" : "]", k->cport,
		 v4 ? "" : "[", s, v4 ? "" : "]", k->sport);
	return buf;
}

/* The egress queues (egress.h): emits go back on the link of the packet
 * being handled when they answer it (reply_to), else through routing. */
static void emit_queue(void *ctx, const struct engine_emit *em)
{
	struct worker *w = ctx;
	int r;

	if (w->wk_reply_to && answers(w->wk_reply_to, em))
		r = rawsock_queue_link(&w->wk_raw, em->data, em->len, w->wk_reply_to->indev,
				       w->wk_reply_to->hwaddr, w->wk_reply_to->hwlen, raw_error, w);
	else
		r = rawsock_queue(&w->wk_raw, em->data, em->len, raw_error, w);
	if (r < 0)
		raw_error(errno, w);
}

static void emit_flush(void *ctx)
{
	struct worker *w = ctx;

	rawsock_flush(&w->wk_raw, raw_error, w);
}

static void verdict_queue(void *ctx, uint32_t id, bool accept, const uint8_t *data,
			  uint32_t len)
{
	struct worker *w = ctx;

	nfqueue_verdict(w->wk_nfq, id, accept, data, len);
}

static void verdict_flush(void *ctx)
{
	struct worker *w = ctx;

	nfqueue_flush(w->wk_nfq);
}

static const struct egress_ops worker_egress = {
	.eo_emit = emit_queue,
	.eo_emit_flush = emit_flush,
	.eo_verdict = verdict_queue,
	.eo_verdict_flush = verdict_flush,
};

static void apply_out(struct worker *w, const struct engine_out *o)
{
	egress_out(&w->wk_egress, o);
	if (o->nemit || o->nrelease)
		w->wk_dirty = true;
	if (o->nflowev && log_enabled(LOG_DEBUG)) {
		char t[2 * ADDR_STRLEN + 32];
		uint32_t i;

		for (i = 0; i < o->nflowev; i++)
			log_debug_limited(w->wk_now, "worker %u: flow %s %s", w->wk_queue,
					  tuple_text(&o->flowev[i].key, t, sizeof(t)),
					  o->flowev[i].up ? "opened" : "ended");
	}
	/* The stage must know a flow before its next packet arrives, and
	 * forget it once it ended (its packets are then dropped there). */
	if (w->wk_xdp && (o->nflowev || o->learned))
		xdp_stage_apply(w->wk_xdp, o, &w->wk_xdp_errors);
}

/* Hands an established flow to the kernel.  Whatever goes wrong, the flow
 * stays on the userspace path, which keeps translating it. */
static void offload(struct worker *w, const struct flow_info *fi)
{
	char t[2 * ADDR_STRLEN + 32];
	uint32_t id;

	if (!w->wk_fp) {
		w->wk_offload.refused_off++;
		return;
	}
	if (fi->rescaled) {
		w->wk_offload.refused_rescaled++;
		if (log_enabled(LOG_DEBUG))
			log_debug_limited(w->wk_now, "worker %u: flow %s stays in userspace: its "
					  "window is rescaled", w->wk_queue,
					  tuple_text(&fi->key, t, sizeof(t)));
		return;
	}
	/* The verdicts first: a released packet may carry a conntrack entry
	 * the kernel has not confirmed yet; once ours is in the table, its
	 * confirmation would clash with it and the kernel would drop it. */
	flush_out(w);
	if (fastpath_offload(w->wk_fp, fi, &id) == 0 &&
	    engine_offloaded(w->wk_engine, &fi->key, id, w->wk_now)) {
		w->wk_offload.ok++;
		if (log_enabled(LOG_DEBUG))
			log_debug_limited(w->wk_now, "worker %u: flow %s handed to the kernel",
					  w->wk_queue, tuple_text(&fi->key, t, sizeof(t)));
		return;
	}
	w->wk_offload.failed++;
	log_warn_limited(w->wk_now, "worker %u: kernel offload failed (flow kept in userspace)",
			 w->wk_queue);
}

/* Removes the kernel's entries for a tuple the engine keeps in userspace
 * (see engine_out.forget). */
static void forget(struct worker *w, const struct conn_key *k)
{
	int n;

	if (!w->wk_fp)
		return;
	n = fastpath_forget(w->wk_fp, k);
	if (n > 0) {
		w->wk_offload.stale_removed += (uint64_t)n;
		if (log_enabled(LOG_DEBUG)) {
			char t[2 * ADDR_STRLEN + 32];

			log_debug_limited(w->wk_now, "worker %u: stale conntrack entry of %s removed",
					  w->wk_queue, tuple_text(k, t, sizeof(t)));
		}
		return;
	}
	if (n == 0)
		return;
	w->wk_offload.forget_failed++;
	log_warn_limited(w->wk_now, "worker %u: removing a conntrack entry failed", w->wk_queue);
}

/* One conntrack event about an entry of ours: the engine moves or ends
 * the flow (a flow of another worker's engine is not found and ignored). */
static void on_ct_event(const struct fastpath_event *ev, void *ctx)
{
	struct worker *w = ctx;

	w->wk_offload.events++;
	engine_kernel_event(w->wk_engine, &ev->key, ev->id, ev->state, w->wk_now, w->wk_out);
	apply_out(w, w->wk_out);
}

struct offloaded_keys {
	struct conn_key *keys;
	uint32_t *ids;
	size_t n, cap;
};

static void note_offloaded(const struct flow_info *fi, void *ctx)
{
	struct offloaded_keys *o = ctx;

	if (!fi->offloaded || o->n == o->cap)
		return;
	o->keys[o->n] = fi->key;
	o->ids[o->n++] = fi->ct_id;
}

/* Events were lost: each offloaded flow whose entry is gone (or is
 * another's now) ends, as its event would have ended it.  Closes the
 * kernel saw meanwhile are not learned; those flows end with their
 * entries. */
static void recheck_offloaded(struct worker *w)
{
	struct engine_gauges g;
	struct offloaded_keys o = { 0 };

	engine_gauges(w->wk_engine, &g);
	o.cap = g.flows_active;
	o.keys = calloc(o.cap ? o.cap : 1, sizeof(*o.keys));
	o.ids = calloc(o.cap ? o.cap : 1, sizeof(*o.ids));
	if (!o.keys || !o.ids) {
		log_warnx_limited(w->wk_now, "worker %u: out of memory for a conntrack check",
				  w->wk_queue);
		goto out;
	}
	engine_walk(w->wk_engine, w->wk_now, note_offloaded, &o);
	for (size_t i = 0; i < o.n; i++) {
		uint32_t id = 0;
		int r = fastpath_lookup(w->wk_fp, &o.keys[i], &id);

		if (r < 0)
			break;
		if (r == 0 || id != o.ids[i]) {
			engine_kernel_event(w->wk_engine, &o.keys[i], o.ids[i], ENGINE_K_GONE,
					    w->wk_now, w->wk_out);
			apply_out(w, w->wk_out);
		}
	}
	log_warnx_limited(w->wk_now, "worker %u: conntrack events lost; %zu offloaded flows "
			  "checked", w->wk_queue, o.n);
out:
	free(o.keys);
	free(o.ids);
}

/* Answers lost events by a check, at most once a second (it costs a
 * round trip per offloaded flow); called after every read of events and
 * at every turn of the loop, so a loss is answered without a next event. */
static void answer_lost_events(struct worker *w)
{
	if (!w->wk_fev || fastpath_events_lost(w->wk_fev) == w->wk_offload.events_lost_seen ||
	    w->wk_now < w->wk_offload.rechecked_ms + 1000)
		return;
	w->wk_offload.events_lost_seen = fastpath_events_lost(w->wk_fev);
	w->wk_offload.rechecked_ms = w->wk_now;
	recheck_offloaded(w);
	flush_out(w);
}

static void read_ct_events(struct worker *w)
{
	if (fastpath_events_read(w->wk_fev, on_ct_event, w) < 0)
		log_warn_limited(w->wk_now, "worker %u: conntrack events", w->wk_queue);
	flush_out(w);
	answer_lost_events(w);
}

/* The destination of a TCP SYN without ACK at d (IPv4 unfragmented, or
 * IPv6 with TCP right after the fixed header); false for anything else. */
static bool syn_dest(const uint8_t *d, uint32_t len, struct addr *dst, uint16_t *port)
{
	uint32_t l4;

	if (len < 40)
		return false;
	if (d[0] >> 4 == 4) {
		l4 = (d[0] & 15) * 4u;
		if (d[9] != 6 || l4 < 20 || len < l4 + 14 || ((d[6] & 0x1f) | d[7]))
			return false;
		addr_from_v4(dst, d + 16);
	} else if (d[0] >> 4 == 6) {
		l4 = 40;
		if (d[6] != 6 || len < l4 + 14)
			return false;
		addr_from_v6(dst, d + 24);
	} else {
		return false;
	}
	if ((d[l4 + 13] & 0x12) != 0x02)
		return false;
	*port = (uint16_t)(d[l4 + 2] << 8 | d[l4 + 3]);
	return true;
}

/* Counts a client SYN against its rule (the flood notices and the metrics
 * name the rule a flood is for; the engine keeps no per-rule counts). */
static void count_rule_syn(struct worker *w, const struct nfqueue_pkt *p)
{
	struct addr dst;
	uint16_t port;
	int r;

	if (!syn_dest(p->data, p->len, &dst, &port))
		return;
	r = policy_match(&w->wk_conf->policy, &dst, port);
	if (r >= 0)
		w->wk_rule_syn[r]++;
}

/* Where p came from (engine_meta.side; the engine reads it only for a
 * protected server's packets).  In local mode those come from the local
 * stack, with no input interface; in gateway mode in on the interface the
 * route to their source leaves by.  The rule scan is the engine's own,
 * repeated here so that only such packets cost a route lookup. */
static enum engine_side side_of(struct worker *w, const struct nfqueue_pkt *p)
{
	struct pkt pk;
	int via;

	if (w->wk_conf->mode == CONF_MODE_LOCAL)
		return p->indev ? SIDE_WRONG : SIDE_BACKEND;
	if (packet_parse(&pk, p->data, p->len) != PKT_OK ||
	    policy_match_server(&w->wk_conf->policy, &pk.src, pk.sport) < 0)
		return SIDE_ANY;
	if (!p->indev)
		return SIDE_UNCHECKED;  /* not forwarded: no rule of ours queues it */
	via = w->wk_routes ? routes_via(w->wk_routes, &pk.src, p->indev, w->wk_now) : -1;
	if (via < 0)
		return SIDE_UNCHECKED;
	return via ? SIDE_BACKEND : SIDE_WRONG;
}

/* engine_meta.kernel_flow: the offsets of the kernel's entry for k, if
 * it is ours, asked of conntrack (WORKER_CT_LOOKUPS a second at most;
 * past that, or when the request fails, the kernel does not know it). */
static bool kernel_flow(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	struct worker *w = ctx;
	int r;

	if (w->wk_now / 1000 != w->wk_ct_second) {
		w->wk_ct_second = w->wk_now / 1000;
		w->wk_ct_lookups = 0;
	}
	if (w->wk_ct_lookups >= WORKER_CT_LOOKUPS)
		return false;
	w->wk_ct_lookups++;
	r = fastpath_kernel_flow(w->wk_fp, k, kf);
	if (r < 0)
		log_warn_limited(w->wk_now, "worker %u: conntrack lookup for an ICMP error",
				 w->wk_queue);
	return r > 0;
}

/* What m says about ICMP errors: the rules send them to the first queue
 * (rules.c), whose worker asks the kernel about flows the fast path
 * translates; every worker but the last's hands one it cannot place to
 * the next queue, where another engine may hold its flow. */
static void icmp_meta(struct worker *w, struct engine_meta *m)
{
	const struct conf *c = w->wk_conf;

	if (w->wk_fp && w->wk_queue == c->queue.num) {
		m->kernel_flow = kernel_flow;
		m->kernel_ctx = w;
	}
	m->pass_on = (uint32_t)w->wk_queue + 1 < (uint32_t)c->queue.num + c->queue.count;
}

static void on_packet(const struct nfqueue_pkt *p, void *ctx)
{
	struct worker *w = ctx;
	struct engine_out *o = w->wk_out;
	/* NFQA_SKB_CSUM_NOTVERIFIED (p->csum_unverified) means nobody has
	 * checked the checksum yet, so the engine must check it: it is not the
	 * engine's "not computed yet", which only a partial checksum is, and
	 * that one is completed below.  Passing it on let every forged SYN
	 * with a bad checksum through (hostile.sh, badsum). */
	struct engine_meta m = { .id = p->id, .csum_unverified = false };

	if (p->csum_not_ready) {
		struct pkt pk;

		/* The kernel takes a rewritten packet's checksum as final, so the
		 * partial one must become whole before anything is translated. */
		if (packet_parse(&pk, p->data, p->len) == PKT_OK)
			packet_tcp_csum_fix(&pk);
	}
	m.side = side_of(w, p);
	icmp_meta(w, &m);
	w->wk_reply_to = reply_to(w, p);
	engine_input(w->wk_engine, p->data, p->len, &m, w->wk_now, o);
	apply_out(w, o);
	w->wk_reply_to = NULL;
	switch (o->verdict) {
	case VERDICT_ACCEPT:
		/* An ICMP error for the next queue: it depends on no emit. */
		if (o->pass_on)
			nfqueue_requeue(w->wk_nfq, p->id, (uint16_t)(w->wk_queue + 1));
		else
			egress_verdict(&w->wk_egress, p->id, true, o->modified ? p->data : NULL,
				       p->len);
		break;
	case VERDICT_DROP:
		/* An ICMP error conntrack would rewrite leaves as our own
		 * packet (core/icmp.c); it depends on no emit either. */
		if (o->reinject)
			rawsock_send(&w->wk_raw, p->data, p->len, raw_error, w);
		egress_verdict(&w->wk_egress, p->id, false, NULL, 0);
		break;
	case VERDICT_HOLD:
		break; /* its verdict comes with a later release */
	}
	if (o->verdict != VERDICT_HOLD && (unsigned)o->reason < CNT_MAX)
		w->wk_reason[o->verdict == VERDICT_DROP][o->reason]++;
	if (o->dir == DIR_CLIENT)
		count_rule_syn(w, p);
	/* While the emits are still queued: the backend SYN of a new flow
	 * must not draw an answer that a stale entry would translate. */
	if (o->forget)
		forget(w, &o->forget_key);
	/* After the verdicts: the netlink round trips must not delay them. */
	if (o->offer)
		offload(w, &o->offer_flow);
	w->wk_dirty = true;
}

static void run_timers(struct worker *w)
{
	int rounds;

	if (w->wk_now < engine_next_deadline(w->wk_engine))
		return;
	w->wk_last_tick = w->wk_now;
	for (rounds = 0; rounds < 1000; rounds++) {
		bool more = engine_tick(w->wk_engine, w->wk_now, w->wk_out);

		apply_out(w, w->wk_out);
		if (!more)
			break;
	}
	flush_out(w);
}

static void publish(struct worker *w)
{
	struct stats *st = &w->wk_snap;
	struct nfqueue_stats q;
	struct engine_gauges g;

	nfqueue_stats(w->wk_nfq, &q);
	engine_gauges(w->wk_engine, &g);
	pthread_mutex_lock(&w->wk_lock);
	memcpy(st->st_engine, engine_counters(w->wk_engine), sizeof(st->st_engine));
	memcpy(st->st_reason, w->wk_reason, sizeof(st->st_reason));
	memcpy(st->st_rule_syn, w->wk_rule_syn, sizeof(st->st_rule_syn));
	st->st_rules_gen = w->wk_conf->generation;
	st->st_nrules = w->wk_conf->policy.nrules;
	st->st_daemon[DS_queue_received] = q.nq_received;
	st->st_daemon[DS_queue_overruns] = q.nq_overruns;
	st->st_daemon[DS_queue_truncated] = q.nq_truncated;
	st->st_daemon[DS_queue_unread] = q.nq_unread;
	st->st_daemon[DS_queue_verdicts] = q.nq_verdicts;
	st->st_daemon[DS_queue_batches] = q.nq_batches;
	st->st_daemon[DS_netlink_errors] = q.nq_netlink_errors;
	st->st_daemon[DS_raw_sent] = w->wk_raw.rs_sent;
	st->st_daemon[DS_raw_send_errors] = w->wk_raw.rs_errors;
	st->st_daemon[DS_link_sent] = w->wk_raw.rs_link_sent;
	st->st_daemon[DS_offload_ok] = w->wk_offload.ok;
	st->st_daemon[DS_offload_refused_rescaled] = w->wk_offload.refused_rescaled;
	st->st_daemon[DS_offload_refused_off] = w->wk_offload.refused_off;
	st->st_daemon[DS_offload_failed] = w->wk_offload.failed;
	st->st_daemon[DS_offload_stale_removed] = w->wk_offload.stale_removed;
	st->st_daemon[DS_offload_forget_failed] = w->wk_offload.forget_failed;
	st->st_daemon[DS_offload_events] = w->wk_offload.events;
	st->st_daemon[DS_offload_events_lost] = w->wk_fev ? fastpath_events_lost(w->wk_fev) : 0;
	st->st_daemon[DS_xdp_map_errors] = w->wk_xdp_errors;
	st->st_daemon[DS_syncache_entries] = g.syncache_entries;
	st->st_daemon[DS_flows_active] = g.flows_active;
	st->st_daemon[DS_held_packets] = g.held_packets;
	st->st_daemon[DS_held_bytes] = g.held_bytes;
	st->st_daemon[DS_memory_bytes] = g.memory_bytes;
	pthread_mutex_unlock(&w->wk_lock);
	w->wk_snap_ms = w->wk_now;
	w->wk_dirty = false;
}

static void arm_timer(struct worker *w)
{
	uint64_t at = engine_next_deadline(w->wk_engine);
	struct itimerspec its;

	if (w->wk_dirty && at > w->wk_snap_ms + WORKER_SNAPSHOT_MS)
		at = w->wk_snap_ms + WORKER_SNAPSHOT_MS;
	if (at < w->wk_last_tick + WORKER_TICK_MIN_MS)
		at = w->wk_last_tick + WORKER_TICK_MIN_MS;
	if (at > w->wk_now + WORKER_TICK_MAX_MS)
		at = w->wk_now + WORKER_TICK_MAX_MS;
	if (at == w->wk_armed)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(at / 1000);
	its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	if (timerfd_settime(w->wk_timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		w->wk_armed = at;
}

static void list_flow(const struct flow_info *fi, void *ctx)
{
	FILE *f = ctx;
	char c[ADDR_STRLEN], s[ADDR_STRLEN];
	bool v4 = addr_is_v4(&fi->key.caddr);

	addr_format(&fi->key.caddr, c, sizeof(c));
	addr_format(&fi->key.saddr, s, sizeof(s));
	fprintf(f, "%-12s %s%s%s:%u  %s%s%s:%u  age=%" PRIu64 ".%" PRIu64 "s  dseq=%" PRIu32
		"  dts=%" PRIu32 "  wscale=%u/%u/%u  path=%s\n",
		flow_state_name(fi->state), v4 ? "" : "[", c, v4 ? "" : "]", fi->key.cport,
		v4 ? "" : "[", s, v4 ? "" : "]", fi->key.sport, fi->age_ms / 1000,
		(fi->age_ms % 1000) / 100, fi->seq_delta, fi->ts_delta, fi->client_wscale,
		fi->our_wscale, fi->backend_wscale, fi->offloaded ? "kernel" : "userspace");
}

static void mailbox(struct worker *w)
{
	uint64_t v;
	char *buf = NULL;
	size_t len = 0;
	bool want_flows, want_snap;
	FILE *f;

	if (read(w->wk_eventfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: eventfd", w->wk_queue);
	pthread_mutex_lock(&w->wk_lock);
	if (w->wk_pending) {
		engine_set_policy(w->wk_engine, &w->wk_pending->policy);
		w->wk_conf = w->wk_pending;
		memset(w->wk_rule_syn, 0, sizeof(w->wk_rule_syn));
		w->wk_dirty = true;  /* publish the new rules' counts soon */
		w->wk_pending = NULL;
		pthread_cond_broadcast(&w->wk_cond);
	}
	if (w->wk_secrets_pending) {
		engine_set_cookie_secrets(w->wk_engine, w->wk_sec_cur,
					  w->wk_sec_have_prev ? w->wk_sec_prev : NULL);
		w->wk_secrets_pending = false;
		pthread_cond_broadcast(&w->wk_cond);
	}
	want_flows = w->wk_flows_wanted;
	want_snap = w->wk_snap_wanted;
	pthread_mutex_unlock(&w->wk_lock);
	if (want_snap) {
		/* A stats request: publish now so that it sees every packet
		 * handled so far, not a snapshot up to 100 ms old. */
		publish(w);
		pthread_mutex_lock(&w->wk_lock);
		w->wk_snap_wanted = false;
		pthread_cond_broadcast(&w->wk_cond);
		pthread_mutex_unlock(&w->wk_lock);
	}
	if (!want_flows)
		return;
	/* The listing is built outside the lock; the walk is not on the packet path. */
	f = open_memstream(&buf, &len);
	if (f) {
		engine_walk(w->wk_engine, w->wk_now, list_flow, f);
		if (fclose(f) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	pthread_mutex_lock(&w->wk_lock);
	free(w->wk_flows);
	w->wk_flows = buf;
	w->wk_flows_len = buf ? len : 0;
	w->wk_flows_wanted = false;
	pthread_cond_broadcast(&w->wk_cond);
	pthread_mutex_unlock(&w->wk_lock);
}

static void drain(struct worker *w)
{
	int rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		bool more = engine_flush(w->wk_engine, w->wk_out);

		apply_out(w, w->wk_out);
		if (!more)
			break;
	}
	flush_out(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[4];
	bool stop = false;

	w->wk_now = mono_ms();
	w->wk_snap_ms = w->wk_now;
	while (!stop) {
		int n = epoll_wait(w->wk_epfd, ev, 4, -1);
		int i;

		if (n < 0 && errno != EINTR) {
			log_err("worker %u: epoll", w->wk_queue);
			break;
		}
		w->wk_now = mono_ms();
		engine_set_wallclock(w->wk_engine, wall_ms(), w->wk_now);
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			uint64_t v;

			if (fd == w->wk_timerfd) {
				if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("worker %u: timerfd", w->wk_queue);
				w->wk_armed = 0;
			} else if (fd == w->wk_eventfd) {
				mailbox(w);
			} else if (w->wk_fev && fd == fastpath_events_fd(w->wk_fev)) {
				read_ct_events(w);
			} else {
				int rounds, got = 1;

				for (rounds = 0; rounds < WORKER_RX_ROUNDS && got > 0; rounds++) {
					got = nfqueue_receive(w->wk_nfq, on_packet, w);
					flush_out(w);
				}
				if (got < 0)
					log_warn_limited(w->wk_now, "worker %u: queue receive",
							 w->wk_queue);
			}
		}
		run_timers(w);
		answer_lost_events(w);
		if (w->wk_dirty && w->wk_now >= w->wk_snap_ms + WORKER_SNAPSHOT_MS)
			publish(w);
		arm_timer(w);
		pthread_mutex_lock(&w->wk_lock);
		stop = w->wk_stop;
		pthread_mutex_unlock(&w->wk_lock);
	}
	drain(w);
	publish(w);
	return NULL;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct worker *worker_new(uint16_t num, const struct conf *c,
			  const uint8_t secret[ENGINE_SECRET_LEN], struct xdp_stage *xdp)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct engine_config ec;

	if (!w) {
		log_errx("worker %u: out of memory", num);
		return NULL;
	}
	w->wk_queue = num;
	w->wk_conf = c;
	w->wk_xdp = xdp;
	w->wk_epfd = w->wk_timerfd = w->wk_eventfd = -1;
	w->wk_raw.rs_fd4 = w->wk_raw.rs_fd6 = w->wk_raw.rs_fdl = -1;
	egress_init(&w->wk_egress, &worker_egress, w);
	pthread_mutex_init(&w->wk_lock, NULL);
	pthread_cond_init(&w->wk_cond, NULL);
	w->wk_out = malloc(sizeof(*w->wk_out));
	if (!w->wk_out) {
		log_errx("worker %u: out of memory", num);
		goto fail;
	}
	if (c->fastpath != CONF_FASTPATH_OFF) {
		/* Entries idle out as the engine's flows would. */
		w->wk_fp = fastpath_open(c->mark, c->engine.established_idle_ms / 1000);
		if (!w->wk_fp)
			log_warnx("worker %u: ctnetlink: %s; kernel fast path off", num,
				  strerror(errno));
	}
	/* Subscribed before the first offload: an entry gets its events only
	 * when a listener exists as it is made. */
	if (w->wk_fp) {
		w->wk_fev = fastpath_events_open(c->mark);
		if (!w->wk_fev)
			log_warnx("worker %u: conntrack events: %s; offloaded flows are forgotten "
				  "after rst_grace, and their close is not seen", num, strerror(errno));
	}
	ec = c->engine;
	ec.kernel_reports_end = w->wk_fev != NULL;
	w->wk_engine = engine_new(&ec, &c->policy, secret, mono_ms());
	if (!w->wk_engine) {
		log_errx("worker %u: cannot create the engine (tables too large?)", num);
		goto fail;
	}
	if (rawsock_open(&w->wk_raw, c->mark) < 0) {
		log_err("worker %u: raw socket", num);
		goto fail;
	}
	if (w->wk_raw.rs_fdl < 0 && c->reply_path == CONF_REPLY_LINK)
		log_warnx("worker %u: packet socket: %s; answers follow the routing table", num,
			  strerror(w->wk_raw.rs_link_errno));
	w->wk_nfq = nfqueue_open(num, c->queue.maxlen);
	if (!w->wk_nfq)
		goto fail;
	if (c->mode == CONF_MODE_GATEWAY) {
		w->wk_routes = routes_open();
		if (!w->wk_routes)
			log_warnx("worker %u: rtnetlink: %s; servers' packets are not checked for "
				  "their side, and no options are learned", num, strerror(errno));
	}
	w->wk_epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wk_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	w->wk_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wk_epfd < 0 || w->wk_timerfd < 0 || w->wk_eventfd < 0 ||
	    add_fd(w->wk_epfd, w->wk_timerfd) < 0 || add_fd(w->wk_epfd, w->wk_eventfd) < 0 ||
	    add_fd(w->wk_epfd, nfqueue_fd(w->wk_nfq)) < 0 ||
	    (w->wk_fev && add_fd(w->wk_epfd, fastpath_events_fd(w->wk_fev)) < 0)) {
		log_err("worker %u: event loop", num);
		goto fail;
	}
	log_info("worker %u: queue bound, replies by %s%s", num,
		 w->wk_raw.rs_fdl >= 0 && c->reply_path == CONF_REPLY_LINK ? "link" : "route",
		 w->wk_fp ? ", kernel fast path on" : "");
	return w;
fail:
	worker_free(w);
	return NULL;
}

uint16_t worker_queue(const struct worker *w)
{
	return w->wk_queue;
}

int worker_start(struct worker *w)
{
	int err = pthread_create(&w->wk_thread, NULL, worker_main, w);

	if (err) {
		errno = err;
		return -1;
	}
	w->wk_started = true;
	return 0;
}

/* Waits on the worker's condition until done() holds or the deadline
 * passes; called with wk_lock held. */
static bool wait_for(struct worker *w, bool (*done)(const struct worker *w, const void *arg),
		     const void *arg)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WORKER_WAIT_MS / 1000;
	while (!done(w, arg)) {
		if (pthread_cond_timedwait(&w->wk_cond, &w->wk_lock, &dl) == ETIMEDOUT)
			return done(w, arg);
	}
	return true;
}

static bool conf_taken(const struct worker *w, const void *arg)
{
	return w->wk_pending == NULL && w->wk_conf == arg;
}

int worker_set_conf(struct worker *w, const struct conf *c)
{
	bool ok;

	pthread_mutex_lock(&w->wk_lock);
	if (!w->wk_started) {
		engine_set_policy(w->wk_engine, &c->policy);
		w->wk_conf = c;
		pthread_mutex_unlock(&w->wk_lock);
		return 0;
	}
	w->wk_pending = c;
	pthread_mutex_unlock(&w->wk_lock);
	poke(w);
	pthread_mutex_lock(&w->wk_lock);
	ok = wait_for(w, conf_taken, c);
	pthread_mutex_unlock(&w->wk_lock);
	return ok ? 0 : -1;
}

static bool secrets_taken(const struct worker *w, const void *arg)
{
	(void)arg;
	return !w->wk_secrets_pending;
}

int worker_set_secrets(struct worker *w, const uint8_t cur[ENGINE_SECRET_LEN],
		       const uint8_t *prev)
{
	bool ok;

	pthread_mutex_lock(&w->wk_lock);
	if (!w->wk_started) {
		engine_set_cookie_secrets(w->wk_engine, cur, prev);
		pthread_mutex_unlock(&w->wk_lock);
		return 0;
	}
	memcpy(w->wk_sec_cur, cur, ENGINE_SECRET_LEN);
	w->wk_sec_have_prev = prev != NULL;
	if (prev)
		memcpy(w->wk_sec_prev, prev, ENGINE_SECRET_LEN);
	w->wk_secrets_pending = true;
	pthread_mutex_unlock(&w->wk_lock);
	poke(w);
	pthread_mutex_lock(&w->wk_lock);
	ok = wait_for(w, secrets_taken, NULL);
	pthread_mutex_unlock(&w->wk_lock);
	return ok ? 0 : -1;
}

static bool snap_done(const struct worker *w, const void *arg)
{
	return !w->wk_snap_wanted;
}

void worker_snapshot(struct worker *w, struct stats *s)
{
	pthread_mutex_lock(&w->wk_lock);
	if (w->wk_started) {
		w->wk_snap_wanted = true;
		pthread_mutex_unlock(&w->wk_lock);
		poke(w);
		pthread_mutex_lock(&w->wk_lock);
		wait_for(w, snap_done, NULL);
	}
	*s = w->wk_snap;
	pthread_mutex_unlock(&w->wk_lock);
}

void worker_published(struct worker *w, struct stats *s)
{
	pthread_mutex_lock(&w->wk_lock);
	*s = w->wk_snap;
	pthread_mutex_unlock(&w->wk_lock);
}

static bool flows_done(const struct worker *w, const void *arg)
{
	return !w->wk_flows_wanted;
}

char *worker_flows(struct worker *w, size_t *len)
{
	char *buf = NULL;

	pthread_mutex_lock(&w->wk_lock);
	if (!w->wk_started) {
		pthread_mutex_unlock(&w->wk_lock);
		*len = 0;
		return calloc(1, 1);
	}
	w->wk_flows_wanted = true;
	pthread_mutex_unlock(&w->wk_lock);
	poke(w);
	pthread_mutex_lock(&w->wk_lock);
	if (wait_for(w, flows_done, NULL)) {
		buf = w->wk_flows;
		*len = w->wk_flows_len;
		w->wk_flows = NULL;
		w->wk_flows_len = 0;
	}
	pthread_mutex_unlock(&w->wk_lock);
	return buf;
}

size_t worker_save(struct worker *w, void (*fn)(const uint8_t *rec, size_t len, void *ctx),
		   void *ctx)
{
	return engine_snapshot(w->wk_engine, mono_ms(), fn, ctx);
}

enum engine_restore_result worker_restore(struct worker *w, const uint8_t *rec, size_t len)
{
	struct engine_out *o = w->wk_out;
	enum engine_restore_result r;

	r = engine_restore(w->wk_engine, rec, len, mono_ms(), o);
	if (w->wk_xdp && (o->nflowev || o->learned))
		xdp_stage_apply(w->wk_xdp, o, &w->wk_xdp_errors);
	return r;
}

void worker_stop(struct worker *w)
{
	if (!w->wk_started)
		return;
	pthread_mutex_lock(&w->wk_lock);
	w->wk_stop = true;
	pthread_mutex_unlock(&w->wk_lock);
	poke(w);
	pthread_join(w->wk_thread, NULL);
	w->wk_started = false;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_stop(w);
	if (w->wk_engine && w->wk_nfq && w->wk_out)
		drain(w); /* every queued packet gets a verdict, started or not */
	nfqueue_close(w->wk_nfq);
	fastpath_events_close(w->wk_fev);
	fastpath_close(w->wk_fp);
	routes_close(w->wk_routes);
	rawsock_close(&w->wk_raw);
	if (w->wk_engine)
		engine_free(w->wk_engine);
	if (w->wk_epfd >= 0)
		close(w->wk_epfd);
	if (w->wk_timerfd >= 0)
		close(w->wk_timerfd);
	if (w->wk_eventfd >= 0)
		close(w->wk_eventfd);
	free(w->wk_flows);
	free(w->wk_out);
	pthread_mutex_destroy(&w->wk_lock);
	pthread_cond_destroy(&w->wk_cond);
	free(w);
}
