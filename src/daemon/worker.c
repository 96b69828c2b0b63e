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
 * them: queueing an emit first sends any pending accept verdict, and
 * queueing an accept first sends any pending emit.  Drop verdicts and
 * emits travel in either order, which is what lets a SYN flood's SYN-ACKs
 * and drops go out as two batches. */
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

struct worker {
	uint16_t wk_queue;
	pthread_t wk_thread;
	bool wk_started;
	struct engine *wk_engine;
	struct nfqueue *wk_nfq;
	struct rawsock wk_raw;
	struct fastpath *wk_fp;          /* NULL: fast path off */
	struct routes *wk_routes;        /* gateway mode: where servers' packets come in */
	struct xdp_stage *wk_xdp;        /* NULL: no XDP stage */
	uint64_t wk_xdp_errors;
	struct worker_offload wk_offload;
	int wk_epfd;
	int wk_timerfd;
	int wk_eventfd;
	uint64_t wk_now;
	uint64_t wk_last_tick;
	uint64_t wk_armed;
	uint64_t wk_snap_ms;
	bool wk_dirty;
	struct engine_out *wk_out;
	bool wk_accepts;                 /* accept verdicts queued, not sent */
	/* The packet being handled while its answers are queued, when they
	 * may go back on its link (see reply_to); NULL otherwise. */
	const struct nfqueue_pkt *wk_reply_to;
	struct log_limit wk_errlimit;

	/* The mailbox, shared with the main thread under wk_lock. */
	pthread_mutex_t wk_lock;
	pthread_cond_t wk_cond;
	const struct conf *wk_conf;
	const struct conf *wk_pending;
	bool wk_stop;
	bool wk_flows_wanted;
	bool wk_snap_wanted;
	char *wk_flows;
	size_t wk_flows_len;
	struct worker_snapshot wk_snap;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch: the SYN-cookie counter runs on it so that
 * proxies sharing a secret agree (engine_set_wallclock). */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void poke(struct worker *w)
{
	uint64_t one = 1;

	/* The counter only saturates after 2^64-2 writes: this cannot fail usefully. */
	if (write(w->wk_eventfd, &one, sizeof(one)) < 0)
		log_warn("worker %u: eventfd: %s", w->wk_queue, strerror(errno));
}

static void raw_error(int err, void *ctx)
{
	struct worker *w = ctx;
	uint32_t suppressed;

	/* Expected transient errors are counted only (rs_errors). */
	if (err == ENOBUFS || err == EHOSTUNREACH || err == ENETUNREACH || err == EAGAIN ||
	    err == EPERM || err == EMSGSIZE)
		return;
	if (log_limit_allow(&w->wk_errlimit, w->wk_now, &suppressed))
		log_warn("worker %u: raw send: %s", w->wk_queue, strerror(err));
}

/* Sends every gathered emit and verdict. */
static void flush_out(struct worker *w)
{
	rawsock_flush(&w->wk_raw, raw_error, w);
	nfqueue_flush(w->wk_nfq);
	w->wk_accepts = false;
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

static void queue_emit(struct worker *w, const struct engine_emit *em)
{
	int r;

	if (w->wk_accepts) {
		nfqueue_flush(w->wk_nfq);
		w->wk_accepts = false;
	}
	if (w->wk_reply_to && answers(w->wk_reply_to, em))
		r = rawsock_queue_link(&w->wk_raw, em->data, em->len, w->wk_reply_to->indev,
				       w->wk_reply_to->hwaddr, w->wk_reply_to->hwlen, raw_error, w);
	else
		r = rawsock_queue(&w->wk_raw, em->data, em->len, raw_error, w);
	if (r < 0)
		raw_error(errno, w);
}

static void queue_verdict(struct worker *w, uint32_t id, bool accept, const uint8_t *data,
			  uint32_t len)
{
	if (accept) {
		if (w->wk_raw.rs_pending)
			rawsock_flush(&w->wk_raw, raw_error, w);
		w->wk_accepts = true;
	}
	nfqueue_verdict(w->wk_nfq, id, accept, data, len);
}

static void apply_out(struct worker *w, const struct engine_out *o)
{
	uint32_t i;

	for (i = 0; i < o->nemit; i++)
		queue_emit(w, &o->emit[i]);
	for (i = 0; i < o->nrelease; i++) {
		const struct engine_release *r = &o->release[i];
		bool accept = r->verdict == VERDICT_ACCEPT;

		queue_verdict(w, r->id, accept, accept ? r->data : NULL, r->len);
	}
	if (o->nemit || o->nrelease)
		w->wk_dirty = true;
	/* The stage must know a flow before its next packet arrives, and
	 * forget it once it ended (its packets are then dropped there). */
	if (w->wk_xdp && (o->nflowev || o->learned))
		xdp_stage_apply(w->wk_xdp, o, &w->wk_xdp_errors);
}

/* Hands an established flow to the kernel.  Whatever goes wrong, the flow
 * stays on the userspace path, which keeps translating it. */
static void offload(struct worker *w, const struct flow_info *fi)
{
	uint32_t suppressed;

	if (!w->wk_fp) {
		w->wk_offload.refused_off++;
		return;
	}
	if (fi->rescaled) {
		w->wk_offload.refused_rescaled++;
		return;
	}
	/* The verdicts first: a released packet may carry a conntrack entry
	 * the kernel has not confirmed yet; once ours is in the table, its
	 * confirmation would clash with it and the kernel would drop it. */
	flush_out(w);
	if (fastpath_offload(w->wk_fp, fi) == 0 &&
	    engine_offloaded(w->wk_engine, &fi->key, w->wk_now)) {
		w->wk_offload.ok++;
		return;
	}
	w->wk_offload.failed++;
	if (log_limit_allow(&w->wk_errlimit, w->wk_now, &suppressed))
		log_warn("worker %u: kernel offload failed: %s (flow kept in userspace)",
			 w->wk_queue, strerror(errno));
}

/* Removes the kernel's entries for a tuple the engine keeps in userspace
 * (see engine_out.forget). */
static void forget(struct worker *w, const struct conn_key *k)
{
	uint32_t suppressed;
	int n;

	if (!w->wk_fp)
		return;
	n = fastpath_forget(w->wk_fp, k);
	if (n > 0) {
		w->wk_offload.stale_removed += (uint64_t)n;
		return;
	}
	if (n == 0)
		return;
	w->wk_offload.forget_failed++;
	if (log_limit_allow(&w->wk_errlimit, w->wk_now, &suppressed))
		log_warn("worker %u: removing a conntrack entry failed: %s", w->wk_queue,
			 strerror(errno));
}

/* Where p came from (engine_meta.side; the engine reads it only for a
 * protected server's packets).  In local mode those come from the local
 * stack, with no input interface; in gateway mode in on the interface the
 * route to their source leaves by.  The rule scan is the engine's own,
 * repeated here so that only such packets cost a route lookup. */
static enum engine_side side_of(struct worker *w, const struct nfqueue_pkt *p)
{
	struct pkt pk;
	int64_t oif;

	if (w->wk_conf->mode == CONF_MODE_LOCAL)
		return p->indev ? SIDE_WRONG : SIDE_BACKEND;
	if (packet_parse(&pk, p->data, p->len) != PKT_OK ||
	    policy_match_server(&w->wk_conf->policy, &pk.src, pk.sport) < 0)
		return SIDE_ANY;
	if (!p->indev)
		return SIDE_UNCHECKED;  /* not forwarded: no rule of ours queues it */
	oif = w->wk_routes ? routes_oif(w->wk_routes, &pk.src, w->wk_now) : -1;
	if (oif < 0)
		return SIDE_UNCHECKED;
	return (uint64_t)oif == p->indev ? SIDE_BACKEND : SIDE_WRONG;
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
	w->wk_reply_to = reply_to(w, p);
	engine_input(w->wk_engine, p->data, p->len, &m, w->wk_now, o);
	apply_out(w, o);
	w->wk_reply_to = NULL;
	switch (o->verdict) {
	case VERDICT_ACCEPT:
		queue_verdict(w, p->id, true, o->modified ? p->data : NULL, p->len);
		break;
	case VERDICT_DROP:
		queue_verdict(w, p->id, false, NULL, 0);
		break;
	case VERDICT_HOLD:
		break; /* its verdict comes with a later release */
	}
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
	pthread_mutex_lock(&w->wk_lock);
	memcpy(w->wk_snap.counters, engine_counters(w->wk_engine), sizeof(w->wk_snap.counters));
	engine_gauges(w->wk_engine, &w->wk_snap.gauges);
	nfqueue_stats(w->wk_nfq, &w->wk_snap.queue);
	w->wk_snap.raw_sent = w->wk_raw.rs_sent;
	w->wk_snap.raw_errors = w->wk_raw.rs_errors;
	w->wk_snap.link_sent = w->wk_raw.rs_link_sent;
	w->wk_snap.xdp_map_errors = w->wk_xdp_errors;
	w->wk_snap.offload = w->wk_offload;
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
		log_warn("worker %u: eventfd: %s", w->wk_queue, strerror(errno));
	pthread_mutex_lock(&w->wk_lock);
	if (w->wk_pending) {
		engine_set_policy(w->wk_engine, &w->wk_pending->policy);
		w->wk_conf = w->wk_pending;
		w->wk_pending = NULL;
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
			log_err("worker %u: epoll: %s", w->wk_queue, strerror(errno));
			break;
		}
		w->wk_now = mono_ms();
		engine_set_wallclock(w->wk_engine, wall_ms(), w->wk_now);
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			uint64_t v;

			if (fd == w->wk_timerfd) {
				if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("worker %u: timerfd: %s", w->wk_queue,
						 strerror(errno));
				w->wk_armed = 0;
			} else if (fd == w->wk_eventfd) {
				mailbox(w);
			} else {
				int rounds, got = 1;

				for (rounds = 0; rounds < WORKER_RX_ROUNDS && got > 0; rounds++) {
					got = nfqueue_receive(w->wk_nfq, on_packet, w);
					flush_out(w);
				}
				if (got < 0) {
					uint32_t suppressed;

					if (log_limit_allow(&w->wk_errlimit, w->wk_now, &suppressed))
						log_warn("worker %u: queue receive: %s",
							 w->wk_queue, strerror(errno));
				}
			}
		}
		run_timers(w);
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

	if (!w) {
		log_err("worker %u: out of memory", num);
		return NULL;
	}
	w->wk_queue = num;
	w->wk_conf = c;
	w->wk_xdp = xdp;
	w->wk_epfd = w->wk_timerfd = w->wk_eventfd = -1;
	w->wk_raw.rs_fd4 = w->wk_raw.rs_fd6 = w->wk_raw.rs_fdl = -1;
	pthread_mutex_init(&w->wk_lock, NULL);
	pthread_cond_init(&w->wk_cond, NULL);
	w->wk_out = malloc(sizeof(*w->wk_out));
	if (!w->wk_out) {
		log_err("worker %u: out of memory", num);
		goto fail;
	}
	w->wk_engine = engine_new(&c->engine, &c->policy, secret, mono_ms());
	if (!w->wk_engine) {
		log_err("worker %u: cannot create the engine (tables too large?)", num);
		goto fail;
	}
	if (rawsock_open(&w->wk_raw, c->mark) < 0) {
		log_err("worker %u: raw socket: %s", num, strerror(errno));
		goto fail;
	}
	if (w->wk_raw.rs_fdl < 0 && c->reply_path == CONF_REPLY_LINK)
		log_warn("worker %u: packet socket: %s; answers follow the routing table", num,
			 strerror(w->wk_raw.rs_link_errno));
	w->wk_nfq = nfqueue_open(num, c->queue.maxlen);
	if (!w->wk_nfq)
		goto fail;
	if (c->mode == CONF_MODE_GATEWAY) {
		w->wk_routes = routes_open();
		if (!w->wk_routes)
			log_warn("worker %u: rtnetlink: %s; servers' packets are not checked for "
				 "their side, and no options are learned", num, strerror(errno));
	}
	if (c->fastpath != CONF_FASTPATH_OFF) {
		/* Entries idle out as the engine's flows would. */
		w->wk_fp = fastpath_open(c->mark, c->engine.established_idle_ms / 1000);
		if (!w->wk_fp)
			log_warn("worker %u: ctnetlink: %s; kernel fast path off", num,
				 strerror(errno));
	}
	w->wk_epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wk_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	w->wk_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wk_epfd < 0 || w->wk_timerfd < 0 || w->wk_eventfd < 0 ||
	    add_fd(w->wk_epfd, w->wk_timerfd) < 0 || add_fd(w->wk_epfd, w->wk_eventfd) < 0 ||
	    add_fd(w->wk_epfd, nfqueue_fd(w->wk_nfq)) < 0) {
		log_err("worker %u: event loop: %s", num, strerror(errno));
		goto fail;
	}
	return w;
fail:
	worker_free(w);
	return NULL;
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

static bool snap_done(const struct worker *w, const void *arg)
{
	return !w->wk_snap_wanted;
}

void worker_snapshot(struct worker *w, struct worker_snapshot *s)
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

void worker_published(struct worker *w, struct worker_snapshot *s)
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
