/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state file: what a stopping daemon leaves for the next one so that
 * a restart (or an upgrade) loses no connection — every worker's flows and
 * learned options (the engine's snapshot records), and the master secret,
 * so that cookies issued before the restart still validate after it.
 * See state.c for the format and what makes a file acceptable. */
#ifndef SP_STATE_H
#define SP_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"

/* Records of one worker's engine, to save: state_save calls fill(i, ...)
 * for worker i, which calls put for each record. */
typedef size_t state_fill_fn(unsigned worker, void (*put)(const uint8_t *rec, size_t len,
							 void *ctx),
			     void *put_ctx, void *ctx);

/* Writes path (atomically: a temporary file renamed over it, mode 0600)
 * with the records of c->queue.count workers and the secret.  0, or -1
 * with a logged reason.  *flows receives the number of flows written. */
int state_save(const char *path, const struct conf *c, const uint8_t secret[ENGINE_SECRET_LEN],
	       state_fill_fn *fill, void *ctx, size_t *flows);

/* A state file read back and checked. */
struct state;

/* Reads and checks path: NULL when there is none (*why empty) or when it
 * is refused (*why says why: damaged, another format version, another
 * boot, another queue layout, too old).  Either way path is removed: a
 * state is taken once. */
struct state *state_load(const char *path, const struct conf *c, char *why, size_t whylen);

/* The secret the saving daemon ran with. */
const uint8_t *state_secret(const struct state *s);

/* Seconds since the state was saved. */
uint64_t state_age_s(const struct state *s);

/* Calls fn for every record, with the worker it belongs to. */
void state_records(const struct state *s,
		   void (*fn)(unsigned worker, const uint8_t *rec, size_t len, void *ctx),
		   void *ctx);

/* Frees s (and wipes the secret it held). */
void state_free(struct state *s);

#endif
