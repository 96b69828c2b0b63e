/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One worker thread per NFQUEUE queue.  A worker owns its engine, queue
 * socket and raw sockets outright, so the packet path takes no lock; the
 * main thread talks to it only through a small mailbox (new rule set,
 * flow listing, stop) guarded by a mutex and announced by an eventfd. */
#ifndef SP_WORKER_H
#define SP_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "counters.h"
#include "ctseen.h"
#include "engine.h"
#include "nfq.h"
#include "stats.h"
#include "xdp.h"

struct worker;

/* Creates the worker for queue num: its engine (rules from c, which must
 * stay alive until replaced), the bound queue, the raw sockets and, unless
 * c->fastpath is off, its ctnetlink socket.  xdp (NULL: none) is the XDP
 * stage whose flow map the worker keeps in step with its engine.  Does
 * not start the thread.  Returns NULL with a logged reason. */
struct worker *worker_new(uint16_t num, const struct conf *c,
			  const uint8_t secret[ENGINE_SECRET_LEN], struct xdp_stage *xdp);

/* The set of tuples that may have a marked conntrack entry (ctseen.h),
 * shared by the workers; NULL (the default): a new flow always deletes
 * its tuple's entries.  orphans (or NULL): the subset no engine holds
 * (daemon_ct.c), from which the worker drops the flows its engine restored,
 * and the tuples whose entries end or it deletes.  Before worker_start. */
void worker_set_ctseen(struct worker *w, struct ctseen *s, struct ctseen *orphans);

/* Whether w reads conntrack's events (without them, an offloaded flow
 * whose entry lives on can end: its entry becomes an orphan). */
bool worker_has_ct_events(const struct worker *w);

/* The queue number w serves. */
uint16_t worker_queue(const struct worker *w);

/* Starts the thread.  Returns 0, or -1 with errno. */
int worker_start(struct worker *w);

/* Makes the worker use c's rules; returns once it does (0), or -1 when it
 * did not answer within a few seconds (the caller must then keep the old
 * configuration alive). */
int worker_set_conf(struct worker *w, const struct conf *c);

/* Hands the engine the SYN cookie secrets of a rotation (prev NULL: none;
 * engine_set_cookie_secrets) and waits until it has them.  0, or -1 when
 * the worker did not answer in time. */
int worker_set_secrets(struct worker *w, const uint8_t cur[ENGINE_SECRET_LEN],
		       const uint8_t *prev);

/* Copies a snapshot the worker publishes on request into s (the latest
 * published one if the worker does not answer within a few seconds). */
void worker_snapshot(struct worker *w, struct stats *s);

/* Copies the snapshot the worker published last (at most about 100 ms
 * old) into s without asking it for a new one: for periodic sampling,
 * which must not interrupt a busy worker. */
void worker_published(struct worker *w, struct stats *s);

/* Returns a malloc'd text listing of the worker's flows, one per line,
 * with its length in *len, or NULL when the worker did not answer in time
 * or memory ran out. */
char *worker_flows(struct worker *w, size_t *len);

/* The engine's snapshot records (engine_snapshot), for the state file;
 * only while the thread is not running (before worker_start or after
 * worker_stop).  Returns the number of flows. */
size_t worker_save(struct worker *w, void (*fn)(const uint8_t *rec, size_t len, void *ctx),
		   void *ctx);

/* Takes a snapshot record back into the engine (engine_restore), and a
 * restored flow into the XDP stage's flow map; before worker_start. */
enum engine_restore_result worker_restore(struct worker *w, const uint8_t *rec, size_t len);

/* Asks the thread to finish: every held packet gets its verdict, the queue
 * is closed, the thread joined.  Harmless on a worker never started. */
void worker_stop(struct worker *w);

/* Frees everything (stopping the worker first if need be). */
void worker_free(struct worker *w);

#endif
