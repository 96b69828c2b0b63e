/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The worker's side of the kernel fast path (worker_int.h): flows the
 * engine offers go to conntrack, stale entries are removed, conntrack's
 * events end offloaded flows (a lookup of each answers lost events), and
 * ICMP errors about flows only the kernel knows get its offsets. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fastpath.h"
#include "log.h"
#include "worker_int.h"

struct offloaded_keys {
	struct conn_key *keys;
	uint32_t *ids;
	size_t n, cap;
};

/* Hands an established flow to the kernel.  Whatever goes wrong, the flow
 * stays on the userspace path, which keeps translating it. */
void worker_offload_flow(struct worker *w, const struct flow_info *fi)
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
					  worker_tuple_text(&fi->key, t, sizeof(t)));
		return;
	}
	/* The verdicts first: a released packet may carry a conntrack entry
	 * the kernel has not confirmed yet; once ours is in the table, its
	 * confirmation would clash with it and the kernel would drop it. */
	worker_flush_out(w);
	/* Recorded before the entry exists (id unknown), so that no new
	 * flow on the tuple skips its removal (ctseen.h). */
	if (w->wk_ctseen)
		(void)ctseen_put(w->wk_ctseen, &fi->key, 0);
	if (fastpath_offload(w->wk_fp, fi, &id) == 0 &&
	    engine_offloaded(w->wk_engine, &fi->key, id, w->wk_now)) {
		if (w->wk_ctseen)
			(void)ctseen_put(w->wk_ctseen, &fi->key, id);
		w->wk_offload.ok++;
		if (log_enabled(LOG_DEBUG))
			log_debug_limited(w->wk_now, "worker %u: flow %s handed to the kernel",
					  w->wk_queue, worker_tuple_text(&fi->key, t, sizeof(t)));
		return;
	}
	w->wk_offload.failed++;
	log_warn_limited(w->wk_now, "worker %u: kernel offload failed (flow kept in userspace)",
			 w->wk_queue);
}

/* Removes the kernel's entries for a tuple the engine keeps in userspace
 * (see engine_out.forget), where one of ours can exist. */
void worker_forget(struct worker *w, const struct conn_key *k)
{
	int n;

	if (!w->wk_fp)
		return;
	if (w->wk_ctseen && !ctseen_maybe(w->wk_ctseen, k)) {
		w->wk_offload.stale_skipped++;
		return;
	}
	n = fastpath_forget(w->wk_fp, k);
	if (n >= 0 && w->wk_ctseen)
		ctseen_drop(w->wk_ctseen, k);
	if (n >= 0 && w->wk_orphans)
		ctseen_drop(w->wk_orphans, k);
	if (n > 0) {
		w->wk_offload.stale_removed += (uint64_t)n;
		if (log_enabled(LOG_DEBUG)) {
			char t[2 * ADDR_STRLEN + 32];

			log_debug_limited(w->wk_now, "worker %u: stale conntrack entry of %s removed",
					  w->wk_queue, worker_tuple_text(k, t, sizeof(t)));
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
	if (ev->state == ENGINE_K_GONE && w->wk_ctseen)
		ctseen_gone(w->wk_ctseen, &ev->key, ev->id);
	if (ev->state == ENGINE_K_GONE && w->wk_orphans)
		ctseen_gone(w->wk_orphans, &ev->key, ev->id);
	engine_kernel_event(w->wk_engine, &ev->key, ev->id, ev->state, w->wk_now, w->wk_out);
	worker_apply_out(w, w->wk_out);
}

static void note_offloaded(const struct flow_info *fi, void *ctx)
{
	struct offloaded_keys *o = ctx;

	if (!fi->offloaded || o->n == o->cap)
		return;
	o->keys[o->n] = fi->key;
	o->ids[o->n++] = fi->ct_id;
}

/* Events were lost (or, at start, nobody read them while no daemon ran):
 * each offloaded flow whose entry is gone (or is another's now) ends, as
 * its event would have ended it.  At start the entries read before any
 * packet (daemon_ctseen_init) answer without a round trip each.
 * Closes the kernel saw meanwhile are not learned; those flows end with
 * their entries. */
static void recheck_offloaded(struct worker *w, bool at_start)
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
		int r;

		if (at_start && w->wk_ctseen && ctseen_has_id(w->wk_ctseen, &o.keys[i], o.ids[i]))
			continue;
		r = fastpath_lookup(w->wk_fp, &o.keys[i], &id);
		if (r < 0)
			break;
		if (r == 0 || id != o.ids[i]) {
			if (w->wk_ctseen)
				ctseen_gone(w->wk_ctseen, &o.keys[i], o.ids[i]);
			engine_kernel_event(w->wk_engine, &o.keys[i], o.ids[i], ENGINE_K_GONE,
					    w->wk_now, w->wk_out);
			worker_apply_out(w, w->wk_out);
		}
	}
	if (at_start)
		log_info("worker %u: %zu restored flows on the kernel fast path checked against "
			 "conntrack", w->wk_queue, o.n);
	else
		log_warnx_limited(w->wk_now, "worker %u: conntrack events lost; %zu offloaded "
				  "flows checked", w->wk_queue, o.n);
out:
	free(o.keys);
	free(o.ids);
}

/* Answers lost events by a check, at most once a second (it costs a
 * round trip per offloaded flow); called after every read of events and
 * at every turn of the loop, so a loss is answered without a next event. */
void worker_answer_lost_events(struct worker *w)
{
	if (!w->wk_fev || fastpath_events_lost(w->wk_fev) == w->wk_offload.events_lost_seen ||
	    w->wk_now < w->wk_offload.rechecked_ms + 1000)
		return;
	w->wk_offload.events_lost_seen = fastpath_events_lost(w->wk_fev);
	w->wk_offload.rechecked_ms = w->wk_now;
	recheck_offloaded(w, false);
	worker_flush_out(w);
}

void worker_check_restored(struct worker *w)
{
	if (!w->wk_fp || !w->wk_restored)
		return;
	w->wk_restored = false;
	recheck_offloaded(w, true);
	worker_flush_out(w);
}

void worker_read_ct_events(struct worker *w)
{
	if (fastpath_events_read(w->wk_fev, on_ct_event, w) < 0)
		log_warn_limited(w->wk_now, "worker %u: conntrack events", w->wk_queue);
	worker_flush_out(w);
	worker_answer_lost_events(w);
}

/* engine_meta.kernel_flow: the offsets of the kernel's entry for k, if
 * it is ours, asked of conntrack only where one may be (ctseen) and
 * WORKER_CT_LOOKUPS times a second at most; past that, or when the
 * request fails, the kernel does not know it.  So a SYN flood costs a
 * set lookup per SYN, no request. */
bool worker_kernel_flow(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	struct worker *w = ctx;
	int r;

	if (w->wk_ctseen && !ctseen_maybe(w->wk_ctseen, k))
		return false;

	if (w->wk_now / 1000 != w->wk_ct_second) {
		w->wk_ct_second = w->wk_now / 1000;
		w->wk_ct_lookups = 0;
	}
	if (w->wk_ct_lookups >= WORKER_CT_LOOKUPS)
		return false;
	w->wk_ct_lookups++;
	r = fastpath_kernel_flow(w->wk_fp, k, kf);
	if (r < 0)
		log_warn_limited(w->wk_now, "worker %u: conntrack lookup of a flow only the kernel knows",
				 w->wk_queue);
	return r > 0;
}
