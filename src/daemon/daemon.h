/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's main-thread state (struct daemon) and what the files of the
 * main thread share: main.c (command line, start-up, the event loop,
 * shutdown), daemon_ctl.c (reload, control requests, statistics, the
 * metrics page), daemon_ct.c (what is read of conntrack at start:
 * adoption, the entries of ours, the orphans) and secret.c (the cookie
 * secret and its rotation).  Private to those four. */
#ifndef SP_DAEMON_H
#define SP_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "ctseen.h"
#include "cookie.h"
#include "control.h"
#include "flood.h"
#include "metrics.h"
#include "overload.h"
#include "stats.h"
#include "worker.h"
#include "xdp.h"

#define MAX_WORKERS 64
/* How long a secret that a reload or a restart replaced stays accepted: a
 * cookie is valid 64 to 128 s (cookie.c), and a little for clock skew. */
#define SECRET_OVERLAP_MS (2 * COOKIE_PERIOD_MS + 2000)

struct daemon {
	const char *conf_path;
	struct conf *conf;
	uint8_t secret[ENGINE_SECRET_LEN];      /* makes SYN cookies; keyed the tables */
	uint8_t secret_prev[ENGINE_SECRET_LEN]; /* still accepted during a rotation */
	bool have_prev;
	uint64_t prev_until_ms;          /* mono: secret_prev is dropped then; 0: kept
					  * while the secret file names it */
	bool manage_rules;
	bool keep_rules;                 /* leave the rules in place at exit (a restart follows) */
	bool rules_installed;
	struct worker *workers[MAX_WORKERS];
	unsigned nworkers;
	struct control *control;
	struct xdp_stage *xdp;           /* NULL: no XDP stage */
	struct ctseen *ctseen;           /* NULL: every new flow deletes (ctseen.h) */
	struct ctseen *orphans;          /* of those, no engine's (daemon_ctseen_init) */
	bool syn_lookup;                 /* the XDP stage looks SYNs up in conntrack */
	int sigfd;
	int wdfd;
	int hkfd;                        /* housekeeping timer, OVERLOAD_SAMPLE_MS */
	unsigned hk_ticks;
	uint64_t rules_reinstalled;      /* someone else removed or changed them */
	uint64_t flows_adopted;          /* connections that predate the daemon */
	int epfd;
	struct overload overload;
	struct flood flood;
	bool stop;
	struct metrics *metrics;         /* NULL: no metrics endpoint */
	pthread_mutex_t info_lock;       /* info is read by the metrics thread */
	struct stats_info info;
};

enum reload_result { RELOAD_OK, RELOAD_PARTIAL, RELOAD_FAILED };

/* main.c */
struct conf *daemon_load(const char *path);
void daemon_unload(struct conf *c);
void daemon_conf_notes(const struct conf *c);

/* daemon_ctl.c */
/* Sums the workers' published statistics into sum (and per queue into q,
 * with the kernel's own queue counters); fresh asks each worker for a
 * snapshot taken now rather than its last one. */
void daemon_stats(struct daemon *d, bool fresh, struct stats *q, struct stats *sum);
/* Reads the file again and applies it as a whole or not at all (err says
 * why when it is not RELOAD_OK). */
enum reload_result daemon_reload(struct daemon *d, char *err, size_t errlen);
/* One control request (control_serve's handler; ctx is the daemon). */
void daemon_request(const char *req, FILE *out, void *ctx);
/* The metrics endpoint, when the configuration names one: set up (it
 * records the start for the page) and started. */
int daemon_metrics_init(struct daemon *d);
int daemon_metrics_run(struct daemon *d);

/* daemon_ct.c */
/* Marks the conntrack entries of connections established before the
 * rules (adopted: they go on untranslated).  Before the rules install. */
void daemon_adopt(struct daemon *d);
/* Reads the entries of ours into d->ctseen and d->orphans and hands both
 * to the workers (after the state file's flows are restored). */
void daemon_ctseen_init(struct daemon *d);
/* Tells the XDP stage whether to look SYNs up in conntrack (while orphans
 * may exist), at start and then when that changes. */
void daemon_syn_lookup_update(struct daemon *d, bool at_start);

/* secret.c */
/* Reads the secret file at path (one or two lines of 64 hex digits): 0
 * with cur, and prev with *have_prev when there is a second line; -1
 * (logged) when it is missing, readable by others or malformed. */
int daemon_secret_read(const char *path, uint8_t cur[ENGINE_SECRET_LEN],
		       uint8_t prev[ENGINE_SECRET_LEN], bool *have_prev);
/* The cookie secret at start: from secret_file, or drawn at random. */
int daemon_secret_init(struct daemon *d);
/* Gives the workers (and the XDP stage) the current and previous secrets. */
void daemon_secrets_push(struct daemon *d);
/* After a reload: the secret file read again, a changed secret rotated in. */
void daemon_secrets_reload(struct daemon *d, const char *path, uint8_t cur[ENGINE_SECRET_LEN],
			   uint8_t prev[ENGINE_SECRET_LEN], bool have_prev);

#endif
