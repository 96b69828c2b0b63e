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
#include <net/if.h>
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
#include "worker_int.h"

void worker_poke(struct worker *w)
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
void worker_flush_out(struct worker *w)
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
const char *worker_tuple_text(const struct conn_key *k, char *buf, size_t size)
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

void worker_apply_out(struct worker *w, const struct engine_out *o)
{
	egress_out(&w->wk_egress, o);
	if (o->nemit || o->nrelease)
		w->wk_dirty = true;
	if (o->nflowev && log_enabled(LOG_DEBUG)) {
		char t[2 * ADDR_STRLEN + 32];
		uint32_t i;

		for (i = 0; i < o->nflowev; i++)
			log_debug_limited(w->wk_now, "worker %u: flow %s %s", w->wk_queue,
					  worker_tuple_text(&o->flowev[i].key, t, sizeof(t)),
					  o->flowev[i].up ? "opened" : "ended");
	}
	/* The stage must know a flow before its next packet arrives, and
	 * forget it once it ended (its packets are then dropped there). */
	if (w->wk_xdp && (o->nflowev || o->learned))
		xdp_stage_apply(w->wk_xdp, o, &w->wk_xdp_errors);
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

/* Is indev one of server_interfaces?  The names are resolved to indexes
 * when the configuration changes, and again, at most once a second, when
 * a packet comes in by an index not among them: an interface deleted and
 * created again has a new index.  A name with no interface (yet) matches
 * nothing. */
static bool server_iface(struct worker *w, uint32_t indev)
{
	const struct conf *c = w->wk_conf;
	bool fresh = w->wk_srvif_set && w->wk_srvif_gen == c->generation;

	for (int pass = 0; pass < 2; pass++) {
		if (fresh)
			for (unsigned i = 0; i < c->nserver_ifaces; i++)
				if (w->wk_srvif[i] == indev)
					return true;
		if (pass || (fresh && w->wk_now < w->wk_srvif_ms + 1000))
			return false;
		for (unsigned i = 0; i < c->nserver_ifaces; i++)
			w->wk_srvif[i] = if_nametoindex(c->server_ifaces[i]);
		w->wk_srvif_gen = c->generation;
		w->wk_srvif_set = fresh = true;
		w->wk_srvif_ms = w->wk_now;
	}
	return false;
}

/* Where p came from (engine_meta.side; the engine reads it only for a
 * protected server's packets).  In local mode those come from the local
 * stack, with no input interface; in gateway mode in on an interface the
 * route to their source leaves by (any next hop of a multipath route), or
 * on one of server_interfaces when the configuration lists them
 * (asymmetric routing).  The rule scan is the engine's own, repeated here
 * so that only such packets cost a route lookup. */
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
	if (w->wk_conf->nserver_ifaces)
		return server_iface(w, p->indev) ? SIDE_BACKEND : SIDE_WRONG;
	via = w->wk_routes ? routes_via(w->wk_routes, &pk.src, p->indev, w->wk_now) : -1;
	if (via < 0)
		return SIDE_UNCHECKED;
	return via ? SIDE_BACKEND : SIDE_WRONG;
}

/* What m says about flows only the kernel knows: every worker asks
 * conntrack about a SYN's tuple that its engine does not hold but where
 * an entry of ours may be (worker_kernel_flow).  ICMP errors: the rules
 * send them to the first queue (rules.c), whose worker asks the kernel
 * about flows the fast path translates; every worker but the last's hands
 * one it cannot place to the next queue, where another engine may hold
 * its flow. */
static void kernel_meta(struct worker *w, struct engine_meta *m)
{
	const struct conf *c = w->wk_conf;

	if (w->wk_fp) {
		m->kernel_flow = worker_kernel_flow;
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
	kernel_meta(w, &m);
	w->wk_reply_to = reply_to(w, p);
	engine_input(w->wk_engine, p->data, p->len, &m, w->wk_now, o);
	worker_apply_out(w, o);
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
		worker_forget(w, &o->forget_key);
	/* After the verdicts: the netlink round trips must not delay them. */
	if (o->offer)
		worker_offload_flow(w, &o->offer_flow);
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

		worker_apply_out(w, w->wk_out);
		if (!more)
			break;
	}
	worker_flush_out(w);
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
	st->st_daemon[DS_offload_stale_skipped] = w->wk_offload.stale_skipped;
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

/* A new configuration: each rule keeps its SYN count by its name (the
 * metrics page's label), wherever the rule now stands; a new rule starts
 * at 0. */
static void carry_rule_syns(struct worker *w, const struct conf *old, const struct conf *nc)
{
	uint64_t carried[POLICY_MAX_RULES] = { 0 };

	for (uint32_t j = 0; j < nc->policy.nrules; j++)
		for (uint32_t i = 0; i < old->policy.nrules; i++)
			if (strcmp(old->policy.rules[i].name, nc->policy.rules[j].name) == 0) {
				carried[j] = w->wk_rule_syn[i];
				break;
			}
	memcpy(w->wk_rule_syn, carried, sizeof(carried));
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
		carry_rule_syns(w, w->wk_conf, w->wk_pending);
		w->wk_conf = w->wk_pending;
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

		worker_apply_out(w, w->wk_out);
		if (!more)
			break;
	}
	worker_flush_out(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[4];
	bool stop = false;

	w->wk_now = mono_ms();
	w->wk_snap_ms = w->wk_now;
	/* Restored flows on the fast path whose entries ended while no
	 * daemon ran end before any packet is read. */
	worker_check_restored(w);
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
				worker_read_ct_events(w);
			} else {
				int rounds, got = 1;

				for (rounds = 0; rounds < WORKER_RX_ROUNDS && got > 0; rounds++) {
					got = nfqueue_receive(w->wk_nfq, on_packet, w);
					worker_flush_out(w);
				}
				if (got < 0)
					log_warn_limited(w->wk_now, "worker %u: queue receive",
							 w->wk_queue);
			}
		}
		run_timers(w);
		worker_answer_lost_events(w);
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

static void drop_held(const struct flow_info *fi, void *ctx)
{
	if (fi->offloaded)
		ctseen_drop(ctx, &fi->key);
}

void worker_set_ctseen(struct worker *w, struct ctseen *s, struct ctseen *orphans)
{
	w->wk_ctseen = s;
	w->wk_orphans = orphans;
	if (orphans)
		engine_walk(w->wk_engine, mono_ms(), drop_held, orphans);
}

bool worker_has_ct_events(const struct worker *w)
{
	return w->wk_fev != NULL;
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

void worker_stop(struct worker *w)
{
	if (!w->wk_started)
		return;
	pthread_mutex_lock(&w->wk_lock);
	w->wk_stop = true;
	pthread_mutex_unlock(&w->wk_lock);
	worker_poke(w);
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
