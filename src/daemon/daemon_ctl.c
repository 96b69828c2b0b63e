/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the main thread answers (daemon.h): a reload, applied as a whole or
 * not at all; the control socket's requests; the statistics summed over
 * the workers with the kernel's queue counters; the metrics page. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "control.h"
#include "daemon.h"
#include "fastpath.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "rules.h"
#include "stats.h"
#include "worker.h"
#include "xdp.h"

#ifndef PACKAGE_VERSION
#include "config.h"
#endif

/*
 * The kernel's own per-queue drop counters (what never reached us), from
 * /proc/net/netfilter/nfnetlink_queue of the daemon's namespace.  A line:
 * queue, peer portid, queued now, copy mode, copy range, dropped because
 * the queue was full, dropped because our socket buffer was full, last
 * packet id, 1.  (The queues never fail open, so a full queue always
 * shows here.)  Queue first + i goes into q[i], for i below n; missing
 * file or lines leave the counters as they were.
 */
static void kqueue_stats(uint16_t first, unsigned n, struct stats *q)
{
	unsigned long long num, portid, total, mode, range, dropped, udropped;
	char line[256];
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %llu %llu %llu %llu %llu %llu", &num, &portid, &total, &mode,
			   &range, &dropped, &udropped) != 7)
			continue;
		if (num < first || num >= (unsigned long long)first + n)
			continue;
		q[num - first].st_daemon[DS_queue_kernel_dropped] = dropped;
		q[num - first].st_daemon[DS_queue_user_dropped] = udropped;
	}
	fclose(f);
}

/* Each worker's statistics into q[0..nworkers): a fresh snapshot when
 * fresh (a stats request), else the one it published last (periodic
 * sampling and the metrics thread, which must not wait for a busy
 * worker); each queue's kernel drop counts; and into sum, the total with
 * the daemon-wide values (the XDP stage's).  Safe on any thread once the
 * workers run. */
void daemon_stats(struct daemon *d, bool fresh, struct stats *q, struct stats *sum)
{
	bool overflowed;
	unsigned i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < d->nworkers; i++) {
		if (fresh)
			worker_snapshot(d->workers[i], &q[i]);
		else
			worker_published(d->workers[i], &q[i]);
	}
	if (d->nworkers) {
		kqueue_stats(worker_queue(d->workers[0]), d->nworkers, q);
		sum->st_rules_gen = q[0].st_rules_gen;
		sum->st_nrules = q[0].st_nrules;
	}
	for (i = 0; i < d->nworkers; i++)
		stats_add(sum, &q[i]);
	sum->st_daemon[DS_rules_reinstalled] = d->rules_reinstalled;
	sum->st_daemon[DS_flows_adopted] = d->flows_adopted;
	if (d->orphans)
		sum->st_daemon[DS_ct_orphans] = ctseen_count(d->orphans, &overflowed);
	if (d->xdp) {
		sum->st_daemon[DS_xdp_interfaces] = xdp_stage_attached(d->xdp);
		xdp_stage_counters(d->xdp, sum->st_xdp);
		/* The rules' SYNs that never reached the queue. */
		(void)xdp_stage_rule_syns(d->xdp, sum->st_rules_gen, sum->st_rule_syn);
	}
}

/* Appends name to the comma-separated list in buf. */
static void note_setting(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

/* Settings that size tables or name kernel objects stay as they were: the
 * new file's values are replaced by the running ones and their names are
 * collected in changed (empty when none differ), for the reply and the log. */
static void keep_restart_settings(const struct conf *old, struct conf *nc, char *changed,
				  size_t len)
{
	changed[0] = '\0';
	if (old->mode != nc->mode)
		note_setting(changed, len, "mode");
	if (memcmp(&old->queue, &nc->queue, sizeof(old->queue)) != 0)
		note_setting(changed, len, "queue");
	if (old->mark != nc->mark)
		note_setting(changed, len, "mark");
	if (strcmp(old->control_socket, nc->control_socket) != 0)
		note_setting(changed, len, "control_socket");
	if (old->log_target != nc->log_target)
		note_setting(changed, len, "log_target");
	if (nc->fastpath != old->fastpath && nc->fastpath == CONF_FASTPATH_OFF)
		note_setting(changed, len, "fastpath");
	if (memcmp(&old->engine, &nc->engine, sizeof(old->engine)) != 0)
		note_setting(changed, len, "syncache/flows/timeouts/cookies");
	if (strcmp(old->metrics.listen, nc->metrics.listen) != 0)
		note_setting(changed, len, "metrics listen");
	if (old->xdp.nifaces != nc->xdp.nifaces || old->xdp.mode != nc->xdp.mode ||
	    memcmp(old->xdp.ifaces, nc->xdp.ifaces, sizeof(old->xdp.ifaces)) != 0)
		note_setting(changed, len, "xdp interfaces/mode");
	if (changed[0])
		log_warnx("reload: %s need a restart; the running values are kept", changed);
	nc->mode = old->mode;
	nc->queue = old->queue;
	nc->mark = old->mark;
	memcpy(nc->control_socket, old->control_socket, sizeof(nc->control_socket));
	nc->log_target = old->log_target;
	nc->fastpath = old->fastpath;
	nc->engine = old->engine;
	nc->metrics = old->metrics;
	nc->xdp.nifaces = old->xdp.nifaces;
	nc->xdp.mode = old->xdp.mode;
	memcpy(nc->xdp.ifaces, old->xdp.ifaces, sizeof(nc->xdp.ifaces));
}

/* Records a (re)load for the metrics page: at start (ok) and after each
 * reload, with d->conf the configuration now running. */
static void daemon_info_update(struct daemon *d, bool ok)
{
	struct stats_info *i = &d->info;
	uint32_t r;

	pthread_mutex_lock(&d->info_lock);
	if (i->si_start_ms == 0) {
		i->si_version = PACKAGE_VERSION;
#ifdef HAVE_XDP
		i->si_xdp_built = true;
#endif
		i->si_start_ms = wall_ms();
	} else {
		i->si_reloads++;
		i->si_reload_failures += !ok;
	}
	i->si_reload_ok = ok;
	if (ok) {
		i->si_loaded_ms = wall_ms();
		i->si_nrules = d->conf->policy.nrules;
		i->si_rules_gen = d->conf->generation;
		for (r = 0; r < i->si_nrules; r++) {
			memcpy(i->si_rule[r].name, d->conf->policy.rules[r].name,
			       sizeof(i->si_rule[r].name));
			i->si_rule[r].action = d->conf->policy.rules[r].action;
		}
	}
	pthread_mutex_unlock(&d->info_lock);
}

/* Reads the file again and applies it as a whole or not at all: a file that
 * does not parse, or rules the kernel refuses, leave the running
 * configuration and its rules in place (RELOAD_FAILED, err says why).  A
 * file that changes settings only a restart can apply is otherwise applied
 * (RELOAD_PARTIAL, err names them). */
enum reload_result daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	uint8_t sec[ENGINE_SECRET_LEN], sec_prev[ENGINE_SECRET_LEN];
	bool sec_have_prev = false;
	struct conf *nc;
	char msg[128], changed[256];
	bool leak = false;
	unsigned i;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)mono_ms() * 1000);
	notify_send(msg);
	nc = malloc(sizeof(*nc));
	if (!nc || conf_load(d->conf_path, nc, err, errlen) < 0) {
		if (!nc)
			snprintf(err, errlen, "out of memory");
		log_errx("%s", err);
		log_errx("reload failed: previous configuration kept");
		free(nc);
		daemon_info_update(d, false);
		notify_send("READY=1");
		return RELOAD_FAILED;
	}
	keep_restart_settings(d->conf, nc, changed, sizeof(changed));
	if (nc->secret_file[0] &&
	    daemon_secret_read(nc->secret_file, sec, sec_prev, &sec_have_prev) < 0) {
		snprintf(err, errlen, "secret file %s unusable (the log says why); previous "
			 "configuration kept", nc->secret_file);
		log_errx("reload failed: %s", err);
		daemon_unload(nc);
		daemon_info_update(d, false);
		notify_send("READY=1");
		return RELOAD_FAILED;
	}
	if (d->manage_rules && rules_install(nc) < 0) {
		/* iptables-restore commits a table or nothing; putting the old
		 * set back covers a failure between the two families. */
		snprintf(err, errlen, "the kernel refused the new rules; previous "
			 "configuration and rules kept (the log has iptables' message)");
		log_errx("reload failed: %s", err);
		if (rules_install(d->conf) < 0)
			log_errx("reload: reinstalling the previous rules failed too");
		daemon_unload(nc);
		daemon_info_update(d, false);
		notify_send("READY=1");
		return RELOAD_FAILED;
	}
	nc->generation = d->conf->generation + 1;
	daemon_conf_notes(nc);
	log_set_level(nc->log_level);
	if (d->xdp)
		(void)xdp_stage_set_conf(d->xdp, nc);
	for (i = 0; i < d->nworkers; i++) {
		if (worker_set_conf(d->workers[i], nc) < 0) {
			log_errx("reload: worker %u did not answer; old rules kept in memory", i);
			leak = true;
		}
	}
	if (nc->secret_file[0])
		daemon_secrets_reload(d, nc->secret_file, sec, sec_prev, sec_have_prev);
	else if (d->conf->secret_file[0])
		log_warnx("reload: secret_file removed; the running cookie secret is kept until "
			  "a restart");
	if (!leak)
		daemon_unload(d->conf);
	d->conf = nc;
	daemon_info_update(d, true);
	log_notice("reloaded %s: %u rules", d->conf_path, nc->policy.nrules);
	notify_send("READY=1");
	if (changed[0]) {
		snprintf(err, errlen, "%s", changed);
		return RELOAD_PARTIAL;
	}
	return RELOAD_OK;
}

/* The control socket's stats request: every worker asked for a fresh
 * snapshot, the sum written in format f. */
static void daemon_print_stats(struct daemon *d, FILE *out, enum stats_format f)
{
	struct stats *q = calloc(d->nworkers ? d->nworkers : 1, sizeof(*q));
	struct stats sum;

	if (!q) {
		fprintf(out, "error: out of memory\n");
		return;
	}
	daemon_stats(d, true, q, &sum);
	stats_print(out, &sum, f);
	free(q);
}

void daemon_request(const char *req, FILE *out, void *ctx)
{
	struct daemon *d = ctx;
	char err[512];
	unsigned i;

	if (strcmp(req, "stats") == 0) {
		daemon_print_stats(d, out, STATS_TEXT);
	} else if (strcmp(req, "stats json") == 0) {
		daemon_print_stats(d, out, STATS_JSON);
	} else if (strcmp(req, "stats prometheus") == 0) {
		daemon_print_stats(d, out, STATS_PROMETHEUS);
	} else if (strcmp(req, "flows") == 0) {
		for (i = 0; i < d->nworkers; i++) {
			size_t len;
			char *buf = worker_flows(d->workers[i], &len);

			if (!buf) {
				fprintf(out, "# worker %u did not answer\n", i);
				continue;
			}
			fwrite(buf, 1, len, out);
			free(buf);
		}
	} else if (strcmp(req, "reload") == 0) {
		switch (daemon_reload(d, err, sizeof(err))) {
		case RELOAD_OK:
			fprintf(out, "ok\n");
			break;
		case RELOAD_PARTIAL:
			fprintf(out, "restart needed: %s changed; the rest of the file is "
				     "applied, these keep their running values\n", err);
			break;
		case RELOAD_FAILED:
			fprintf(out, "error: %s\n", err);
			break;
		}
	} else {
		fprintf(out, "error: unknown request (stats [json|prometheus], flows, reload)\n");
	}
}

/* The metrics page (on the metrics thread): every worker's published
 * snapshot, labelled by queue, and what the main thread recorded. */
static void metrics_page(FILE *out, void *ctx)
{
	struct daemon *d = ctx;
	struct stats *q = calloc(d->nworkers ? d->nworkers : 1, sizeof(*q));
	struct stats sum;
	struct stats_info *info = malloc(sizeof(*info));

	if (q && info) {
		daemon_stats(d, false, q, &sum);
		stats_print_labelled(out, q, d->nworkers,
				     d->nworkers ? worker_queue(d->workers[0]) : 0, &sum);
		pthread_mutex_lock(&d->info_lock);
		*info = d->info;
		pthread_mutex_unlock(&d->info_lock);
		stats_print_info(out, info, &sum);
	}
	free(info);
	free(q);
}

/* Opens the metrics socket when the configuration asks for one (before
 * privileges are dropped).  0, or -1 with a logged reason. */
int daemon_metrics_init(struct daemon *d)
{
	daemon_info_update(d, true);
	if (!d->conf->metrics.enabled)
		return 0;
	d->metrics = metrics_open(d->conf);
	return d->metrics ? 0 : -1;
}

/* Starts serving the metrics page, once the workers run (the thread
 * inherits the main thread's reduced capabilities and signal mask). */
int daemon_metrics_run(struct daemon *d)
{
	return d->metrics ? metrics_start(d->metrics, metrics_page, d) : 0;
}
