/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The main thread's requests to a worker (worker.h), through the mailbox
 * under wk_lock: a new configuration, new cookie secrets, a counter
 * snapshot, a flow listing, the flows saved and restored across a
 * restart.  Each waits, bounded, until the worker thread has taken it. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "worker_int.h"

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
	worker_poke(w);
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
	worker_poke(w);
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
		worker_poke(w);
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
	worker_poke(w);
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
	if (r == ENGINE_RESTORE_FLOW)
		w->wk_restored = true;
	if (w->wk_xdp && (o->nflowev || o->learned))
		xdp_stage_apply(w->wk_xdp, o, &w->wk_xdp_errors);
	return r;
}
