/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metrics endpoint (optional: the metrics group of synproxyd.conf):
 * GET /metrics over HTTP, served by libmicrohttpd on a thread of its own
 * so that neither the main loop nor a worker ever waits for a client.
 * The page itself is the caller's (a metrics_writer), which must only read
 * snapshots. */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stdio.h>

#include "conf.h"

struct metrics;

/* Writes the page for one request to out; runs on the metrics thread. */
typedef void metrics_writer(FILE *out, void *ctx);

/* Binds and listens on c->metrics' address (done before the daemon drops
 * its privileges, so any port works).  Returns NULL with a logged reason. */
struct metrics *metrics_open(const struct conf *c);

/* Starts serving on m's socket, fn writing each answer (call it once the
 * threads that may share data with fn run).  0, or -1 with a logged
 * reason. */
int metrics_start(struct metrics *m, metrics_writer *fn, void *ctx);

/* Stops the thread (waiting for a request in progress) and closes the
 * socket.  NULL is harmless. */
void metrics_close(struct metrics *m);

#endif
