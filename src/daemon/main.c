/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxyd: command line, start-up in order, the main thread's event
 * loop (signals, control socket, watchdog) and shutdown in reverse.
 * The packet path lives in the worker threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "fastpath.h"
#include "log.h"
#include "notify.h"
#include "overload.h"
#include "rules.h"
#include "state.h"
#include "worker.h"
#include "xdp.h"

#ifndef PACKAGE_VERSION
#include "config.h"
#endif

#define DEFAULT_CONF "/etc/synproxyd/synproxyd.conf"
/* How often, with -r, the daemon checks that its rules are in place. */
#define RULES_CHECK_MS 2000
#define MAX_WORKERS 64

struct daemon {
	const char *conf_path;
	struct conf *conf;
	uint8_t secret[ENGINE_SECRET_LEN];
	bool manage_rules;
	bool keep_rules;                 /* leave the rules in place at exit (a restart follows) */
	bool rules_installed;
	struct worker *workers[MAX_WORKERS];
	unsigned nworkers;
	struct control *control;
	struct xdp_stage *xdp;           /* NULL: no XDP stage */
	int sigfd;
	int wdfd;
	int hkfd;                        /* housekeeping timer, OVERLOAD_SAMPLE_MS */
	unsigned hk_ticks;
	uint64_t rules_reinstalled;      /* someone else removed or changed them */
	uint64_t flows_adopted;          /* connections that predate the daemon */
	int epfd;
	struct overload overload;
	bool stop;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: synproxyd [-c FILE] [-r [--keep-rules]]  run in the foreground\n"
		"       synproxyd [-c FILE] -t            check the configuration\n"
		"       synproxyd [-c FILE] --print-rules print the iptables-restore input\n"
		"       synproxyd [-c FILE] --install-rules | --remove-rules\n"
		"       synproxyd -V | -h\n"
		"\n"
		"  -c, --config FILE   configuration file (default " DEFAULT_CONF ")\n"
		"  -t, --test          check FILE and exit: 0 when valid, else 1 with\n"
		"                      FILE:LINE: message on stderr\n"
		"  -r, --manage-rules  install the firewall rules at start, keep them\n"
		"                      in place while running, remove them at stop\n"
		"      --keep-rules    with -r: leave them at stop (a restart follows;\n"
		"                      the systemd unit removes them on a real stop)\n"
		"      --print-rules   print the rules for iptables-restore, then a line\n"
		"                      '# ip6tables-restore input' and those for IPv6\n"
		"      --install-rules apply the rules (iptables-restore --noflush) and exit\n"
		"      --remove-rules  remove them and exit\n"
		"  -V, --version       print the version\n"
		"  -h, --help          this text\n"
		"\n"
		"Signals: SIGHUP reloads the rules (as does 'synproxyctl reload');\n"
		"SIGTERM and SIGINT stop.  Once its sockets are open the daemon keeps\n"
		"only CAP_NET_ADMIN and CAP_NET_RAW.\n");
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct conf *load(const char *path)
{
	struct conf *c = malloc(sizeof(*c));
	char err[512];

	if (!c) {
		fprintf(stderr, "%s: out of memory\n", path);
		return NULL;
	}
	if (conf_load(path, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		free(c);
		return NULL;
	}
	return c;
}

static void unload(struct conf *c)
{
	if (!c)
		return;
	conf_free(c);
	free(c);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The shared secret: 64 hex digits and an optional newline, in a file
 * nobody but its owner may read (every proxy sharing it can forge
 * cookies for the others). */
static int secret_read(const char *path, uint8_t secret[ENGINE_SECRET_LEN])
{
	char buf[ENGINE_SECRET_LEN * 2 + 3];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int i;

	if (fd < 0) {
		log_err("secret file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		log_err("secret file %s: readable by group or others (chmod 600 it)", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == ENGINE_SECRET_LEN * 2 + 1 && buf[n - 1] == '\n')
		n--;
	if (n != ENGINE_SECRET_LEN * 2) {
		log_err("secret file %s: expected %d hex digits", path, ENGINE_SECRET_LEN * 2);
		return -1;
	}
	for (i = 0; i < ENGINE_SECRET_LEN; i++) {
		int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			log_err("secret file %s: not hexadecimal", path);
			return -1;
		}
		secret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int secret_init(const struct conf *c, uint8_t secret[ENGINE_SECRET_LEN])
{
	size_t got = 0;

	if (c->secret_file[0])
		return secret_read(c->secret_file, secret);
	while (got < ENGINE_SECRET_LEN) {
		ssize_t n = getrandom(secret + got, ENGINE_SECRET_LEN - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* Keeps CAP_NET_ADMIN (verdicts, SO_MARK, iptables) and CAP_NET_RAW in the
 * calling thread, which the workers then inherit, and with the XDP stage
 * CAP_BPF (kernels before 6.5 refuse even updates of a loaded program's
 * maps without it while unprivileged BPF is disabled).  The bounding set
 * is left alone so that iptables-restore, run as root at stop, still
 * works. */
static int caps_drop(bool bpf)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	uint32_t keep = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);
	uint32_t keep_hi = bpf ? 1u << (CAP_BPF - 32) : 0;

	memset(d, 0, sizeof(d));
	d[0].effective = keep;
	d[0].permitted = keep;
	d[1].effective = keep_hi;
	d[1].permitted = keep_hi;
	return (int)syscall(SYS_capset, &h, d);
}

static void workers_stop(struct daemon *d)
{
	unsigned i;

	for (i = 0; i < d->nworkers; i++)
		worker_stop(d->workers[i]);
}

/*
 * The kernel's own per-queue drop counters (what never reached us), from
 * /proc/net/netfilter/nfnetlink_queue of the daemon's namespace.  A line:
 * queue, peer portid, queued now, copy mode, copy range, dropped because
 * the queue was full, dropped because our socket buffer was full, last
 * packet id, 1.  (The queues never fail open, so a full queue always
 * shows here.)  Missing file or lines leave the counters at 0.
 */
static void kqueue_stats(const struct conf *c, struct worker_kqueue *k)
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
		if (num < c->queue.num || num >= (unsigned long long)c->queue.num + c->queue.count)
			continue;
		k->dropped += dropped;
		k->user_dropped += udropped;
	}
	fclose(f);
}

static void stats_sum(struct daemon *d, struct worker_snapshot *sum)
{
	struct worker_snapshot s;
	unsigned i;
	int c;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < d->nworkers; i++) {
		worker_snapshot(d->workers[i], &s);
		for (c = 0; c < CNT_MAX; c++)
			sum->counters[c] += s.counters[c];
		sum->gauges.syncache_entries += s.gauges.syncache_entries;
		sum->gauges.flows_active += s.gauges.flows_active;
		sum->gauges.held_packets += s.gauges.held_packets;
		sum->gauges.held_bytes += s.gauges.held_bytes;
		sum->gauges.memory_bytes += s.gauges.memory_bytes;
		sum->queue.nq_received += s.queue.nq_received;
		sum->queue.nq_overruns += s.queue.nq_overruns;
		sum->queue.nq_netlink_errors += s.queue.nq_netlink_errors;
		sum->queue.nq_truncated += s.queue.nq_truncated;
		sum->queue.nq_unread += s.queue.nq_unread;
		sum->queue.nq_verdicts += s.queue.nq_verdicts;
		sum->raw_sent += s.raw_sent;
		sum->raw_errors += s.raw_errors;
		sum->link_sent += s.link_sent;
		sum->offload.ok += s.offload.ok;
		sum->offload.refused_rescaled += s.offload.refused_rescaled;
		sum->offload.refused_off += s.offload.refused_off;
		sum->offload.failed += s.offload.failed;
		sum->offload.stale_removed += s.offload.stale_removed;
		sum->offload.forget_failed += s.offload.forget_failed;
		sum->xdp_map_errors += s.xdp_map_errors;
	}
	kqueue_stats(d->conf, &sum->kqueue);
	sum->rules_reinstalled = d->rules_reinstalled;
	sum->flows_adopted = d->flows_adopted;
	if (d->xdp) {
		sum->xdp_attached = xdp_stage_attached(d->xdp);
		xdp_stage_counters(d->xdp, sum->xdp);
	}
}

/* Settings the file asks for that the daemon does not honour. */
static void conf_notes(const struct conf *c)
{
	if (c->queue.fail_open)
		log_warn("queue.fail_open is ignored: the queues fail closed (a SYN that "
			 "overflows a queue must not reach a server unproxied, and every other "
			 "queued packet needs translating; synproxyd.conf(5))");
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
	if (strcmp(old->secret_file, nc->secret_file) != 0)
		note_setting(changed, len, "secret_file");
	if (old->log_target != nc->log_target)
		note_setting(changed, len, "log_target");
	if (nc->fastpath != old->fastpath && nc->fastpath == CONF_FASTPATH_OFF)
		note_setting(changed, len, "fastpath");
	if (memcmp(&old->engine, &nc->engine, sizeof(old->engine)) != 0)
		note_setting(changed, len, "syncache/flows/timeouts/cookies");
	if (old->xdp.nifaces != nc->xdp.nifaces || old->xdp.mode != nc->xdp.mode ||
	    memcmp(old->xdp.ifaces, nc->xdp.ifaces, sizeof(old->xdp.ifaces)) != 0)
		note_setting(changed, len, "xdp interfaces/mode");
	if (changed[0])
		log_warn("reload: %s need a restart; the running values are kept", changed);
	nc->mode = old->mode;
	nc->queue = old->queue;
	nc->mark = old->mark;
	memcpy(nc->control_socket, old->control_socket, sizeof(nc->control_socket));
	memcpy(nc->secret_file, old->secret_file, sizeof(nc->secret_file));
	nc->log_target = old->log_target;
	nc->fastpath = old->fastpath;
	nc->engine = old->engine;
	nc->xdp.nifaces = old->xdp.nifaces;
	nc->xdp.mode = old->xdp.mode;
	memcpy(nc->xdp.ifaces, old->xdp.ifaces, sizeof(nc->xdp.ifaces));
}

enum reload_result { RELOAD_OK, RELOAD_PARTIAL, RELOAD_FAILED };

/* Reads the file again and applies it as a whole or not at all: a file that
 * does not parse, or rules the kernel refuses, leave the running
 * configuration and its rules in place (RELOAD_FAILED, err says why).  A
 * file that changes settings only a restart can apply is otherwise applied
 * (RELOAD_PARTIAL, err names them). */
static enum reload_result reload(struct daemon *d, char *err, size_t errlen)
{
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
		log_err("%s", err);
		log_err("reload failed: previous configuration kept");
		free(nc);
		notify_send("READY=1");
		return RELOAD_FAILED;
	}
	keep_restart_settings(d->conf, nc, changed, sizeof(changed));
	if (d->manage_rules && rules_install(nc) < 0) {
		/* iptables-restore commits a table or nothing; putting the old
		 * set back covers a failure between the two families. */
		snprintf(err, errlen, "the kernel refused the new rules; previous "
			 "configuration and rules kept (the log has iptables' message)");
		log_err("reload failed: %s", err);
		if (rules_install(d->conf) < 0)
			log_err("reload: reinstalling the previous rules failed too");
		unload(nc);
		notify_send("READY=1");
		return RELOAD_FAILED;
	}
	conf_notes(nc);
	log_set_level(nc->log_level);
	if (d->xdp)
		(void)xdp_stage_set_conf(d->xdp, nc);
	for (i = 0; i < d->nworkers; i++) {
		if (worker_set_conf(d->workers[i], nc) < 0) {
			log_err("reload: worker %u did not answer; old rules kept in memory", i);
			leak = true;
		}
	}
	if (!leak)
		unload(d->conf);
	d->conf = nc;
	log_notice("reloaded %s: %u rules", d->conf_path, nc->policy.nrules);
	notify_send("READY=1");
	if (changed[0]) {
		snprintf(err, errlen, "%s", changed);
		return RELOAD_PARTIAL;
	}
	return RELOAD_OK;
}

static void handle_request(const char *req, FILE *out, void *ctx)
{
	struct daemon *d = ctx;
	struct worker_snapshot sum;
	char err[512];
	unsigned i;

	if (strcmp(req, "stats") == 0 || strcmp(req, "stats json") == 0 ||
	    strcmp(req, "stats prometheus") == 0) {
		stats_sum(d, &sum);
		control_print_stats(out, &sum, req[5] == '\0' ? CONTROL_TEXT :
					       req[6] == 'j' ? CONTROL_JSON : CONTROL_PROMETHEUS);
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
		switch (reload(d, err, sizeof(err))) {
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

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int loop_init(struct daemon *d)
{
	sigset_t set;
	uint64_t wd = notify_watchdog_ms();

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any worker exists, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->epfd < 0 || add_fd(d->epfd, d->sigfd) < 0)
		return -1;
	if (d->control && add_fd(d->epfd, control_fd(d->control)) < 0)
		return -1;
	{
		struct itimerspec its = {
			.it_value.tv_nsec = OVERLOAD_SAMPLE_MS * 1000000L,
			.it_interval.tv_nsec = OVERLOAD_SAMPLE_MS * 1000000L,
		};

		d->hkfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (d->hkfd < 0 || timerfd_settime(d->hkfd, 0, &its, NULL) < 0 ||
		    add_fd(d->epfd, d->hkfd) < 0)
			return -1;
	}
	if (wd) {
		struct itimerspec its;

		d->wdfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (d->wdfd < 0)
			return -1;
		its.it_value.tv_sec = (time_t)(wd / 1000);
		its.it_value.tv_nsec = (long)(wd % 1000) * 1000000;
		its.it_interval = its.it_value;
		if (timerfd_settime(d->wdfd, 0, &its, NULL) < 0 || add_fd(d->epfd, d->wdfd) < 0)
			return -1;
	}
	return 0;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;
	char err[512];

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_notice("SIGHUP: reloading %s", d->conf_path);
			(void)reload(d, err, sizeof(err));
		} else {
			log_notice("signal %u: stopping", si.ssi_signo);
			d->stop = true;
		}
	}
}

/* Someone (iptables -F, nft flush ruleset, a firewall script) removed or
 * changed our rules: put them back, count it and say so.  Within
 * RULES_CHECK_MS of the change, the queue rules are back. */
static void rules_watch(struct daemon *d)
{
	int r = rules_verify(d->conf);

	if (r <= 0) {
		if (r < 0)
			log_warn("rules: cannot read the kernel's rules to check ours");
		return;
	}
	d->rules_reinstalled++;
	if (rules_install(d->conf) == 0)
		log_warn("rules: ours were removed or changed by someone else; reinstalled "
			 "(%llu times so far)", (unsigned long long)d->rules_reinstalled);
	else
		log_err("rules: ours were removed or changed by someone else, and reinstalling "
			"them failed (see above)");
}

/* Every OVERLOAD_SAMPLE_MS: is the queue the bottleneck?  The kernel's
 * drop counts and the SYN cache's refusals, from the snapshots the workers
 * published (no worker is interrupted).  An overflow is logged when it
 * starts, once a minute while it lasts, and when it ends. */
static void housekeeping(struct daemon *d)
{
	struct worker_kqueue k = { 0 };
	struct worker_snapshot s;
	struct overload_report r;
	uint64_t pressure = 0, now;
	unsigned i;

	kqueue_stats(d->conf, &k);
	for (i = 0; i < d->nworkers; i++) {
		worker_published(d->workers[i], &s);
		pressure += s.counters[CNT_syncache_full] + s.counters[CNT_syncache_shed];
	}
	now = mono_ms();
	/* Every RULES_CHECK_MS, with -r: are our rules still there? */
	if (d->manage_rules && d->rules_installed &&
	    ++d->hk_ticks >= RULES_CHECK_MS / OVERLOAD_SAMPLE_MS) {
		d->hk_ticks = 0;
		rules_watch(d);
	}
	r = overload_sample(&d->overload, now, k.dropped + k.user_dropped, pressure);
	if (d->xdp)
		xdp_stage_tick(d->xdp, now, wall_ms(), d->overload.ol_pressure_until);
	switch (r.event) {
	case OVERLOAD_NONE:
		break;
	case OVERLOAD_START:
		log_warn("queue overflow: the kernel dropped %llu packets at queues %u-%u "
			 "(the queues fail closed: nothing passed unproxied)",
			 (unsigned long long)r.dropped, d->conf->queue.num,
			 d->conf->queue.num + d->conf->queue.count - 1);
		break;
	case OVERLOAD_ONGOING:
		log_warn("queue overflow goes on: %llu packets dropped in %llu s",
			 (unsigned long long)r.dropped, (unsigned long long)r.ms / 1000);
		break;
	case OVERLOAD_END:
		log_notice("queue overflow ended: %llu packets dropped over %llu.%llu s",
			   (unsigned long long)r.dropped, (unsigned long long)r.ms / 1000,
			   (unsigned long long)(r.ms % 1000) / 100);
		break;
	}
}

static void loop_run(struct daemon *d)
{
	while (!d->stop) {
		struct epoll_event ev[4];
		int n = epoll_wait(d->epfd, ev, 4, -1);
		int i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll: %s", strerror(errno));
			return;
		}
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == d->sigfd) {
				on_signal(d);
			} else if (fd == d->hkfd) {
				uint64_t v;

				if (read(fd, &v, sizeof(v)) > 0)
					housekeeping(d);
			} else if (fd == d->wdfd) {
				uint64_t v;

				if (read(fd, &v, sizeof(v)) > 0)
					notify_send("WATCHDOG=1");
			} else if (d->control && fd == control_fd(d->control)) {
				control_serve(d->control, handle_request, d);
			}
		}
	}
}

static void log_started(const struct daemon *d)
{
	const struct conf *c = d->conf;
	static const char *const cookies[] = { "off", "auto", "always" };

	log_notice("started: %s mode, %u rules, queues %u-%u%s, mark 0x%x, cookies %s, "
		   "fastpath %s, replies by %s, "
		   "syncache %u entries, %u flows, hold %u packets/flow %u bytes total, "
		   "secret %s, xdp stage on %u interface(s), control %s%s",
		   c->mode == CONF_MODE_GATEWAY ? "gateway" : "local", c->policy.nrules,
		   c->queue.num, c->queue.num + c->queue.count - 1,
		   c->queue.bypass ? " bypass (not for SYNs)" : "",
		   c->mark, cookies[c->engine.cookies],
		   c->fastpath == CONF_FASTPATH_OFF ? "off" : "on",
		   c->reply_path == CONF_REPLY_LINK ? "link" : "route", c->engine.syncache.max_entries,
		   c->engine.max_flows, c->engine.hold_packets_per_flow,
		   c->engine.hold_bytes_total, c->secret_file[0] ? c->secret_file : "random",
		   xdp_stage_attached(d->xdp), c->control_socket,
		   d->rules_installed ? ", rules installed" : "");
	notify_status("proxying with %u rules on %u queue(s)", c->policy.nrules, c->queue.count);
}

/* The state file a previous process left (NULL: none, or refused). */
static struct state *state_take(const struct conf *c)
{
	char why[256];
	struct state *s;

	if (!c->state_file[0])
		return NULL;
	s = state_load(c->state_file, c, why, sizeof(why));
	if (!s && why[0])
		log_warn("state file %s refused: %s; starting without its connections",
			 c->state_file, why);
	return s;
}

struct restore_ctx {
	struct daemon *d;
	unsigned flows, learned, other;
};

static void restore_one(unsigned worker, const uint8_t *rec, size_t len, void *ctx)
{
	struct restore_ctx *r = ctx;

	switch (worker_restore(r->d->workers[worker], rec, len)) {
	case ENGINE_RESTORE_FLOW:
		r->flows++;
		break;
	case ENGINE_RESTORE_LEARNED:
		r->learned++;
		break;
	default:
		r->other++;
		break;
	}
}

static void state_restore(struct daemon *d, struct state *s)
{
	struct restore_ctx r = { .d = d };

	state_records(s, restore_one, &r);
	log_notice("restored %u connections and %u learned backends from %s (saved %llu s "
		   "ago)%s", r.flows, r.learned, d->conf->state_file,
		   (unsigned long long)state_age_s(s),
		   r.other ? "; some records were not taken (see flows_restored)" : "");
}

static size_t fill_state(unsigned worker, void (*put)(const uint8_t *rec, size_t len, void *ctx),
			 void *put_ctx, void *ctx)
{
	struct daemon *d = ctx;

	return worker_save(d->workers[worker], put, put_ctx);
}

static void state_write(struct daemon *d)
{
	size_t flows;

	if (!d->conf->state_file[0] || d->nworkers != d->conf->queue.count)
		return;
	if (state_save(d->conf->state_file, d->conf, d->secret, fill_state, d, &flows) == 0)
		log_notice("saved %zu connections to %s for the next start", flows,
			   d->conf->state_file);
}

/* Connections established before the daemon's rules were in place
 * (its first start; a crash) go on untranslated: with the fast path, by
 * marking their conntrack entries so the accept rule passes them.  Done
 * before the rules install, so that their packets never reach the queue
 * (whose engine would take them for forged cookies). */
static void adopt(struct daemon *d)
{
	struct fastpath *fp;
	int n;

	if (d->conf->fastpath == CONF_FASTPATH_OFF)
		return;
	fp = fastpath_open(d->conf->mark, d->conf->engine.established_idle_ms / 1000);
	if (!fp) {
		log_warn("adopting connections: ctnetlink: %s", strerror(errno));
		return;
	}
	n = fastpath_adopt(fp, &d->conf->policy);
	fastpath_close(fp);
	if (n < 0) {
		log_warn("adopting connections: %s", strerror(errno));
		return;
	}
	d->flows_adopted = (uint64_t)n;
	if (n > 0)
		log_notice("adopted %d connections established before synproxyd ran: they "
			   "go on untranslated on the kernel fast path", n);
}

static int run(struct daemon *d)
{
	struct state *st;
	unsigned i;
	int rc = 1;

	log_open(d->conf->log_target, d->conf->log_level);
	conf_notes(d->conf);
	if (notify_open() < 0)
		log_warn("NOTIFY_SOCKET unusable: %s", strerror(errno));
	/* A previous process's state brings its secret along (unless a
	 * secret file names one), so that its cookies still validate. */
	st = state_take(d->conf);
	if (st && !d->conf->secret_file[0])
		memcpy(d->secret, state_secret(st), ENGINE_SECRET_LEN);
	else if (secret_init(d->conf, d->secret) < 0)
		goto out;
	/* Probed once: "auto" becomes "off" for the whole run when the
	 * kernel will not take the entries, and the rules follow. */
	if (d->conf->fastpath == CONF_FASTPATH_AUTO && fastpath_probe() < 0) {
		log_warn("kernel fast path unavailable (ctnetlink: %s); flows stay in userspace",
			 strerror(errno));
		d->conf->fastpath = CONF_FASTPATH_OFF;
	}
	if (d->conf->fastpath != CONF_FASTPATH_OFF && fastpath_loose_pickup())
		log_notice("net.netfilter.nf_conntrack_tcp_loose is 1: a packet racing a kernel "
			   "offload can be dropped once; 0 is recommended (synproxyd(8))");
	if (d->conf->queue.count > MAX_WORKERS) {
		log_err("queue count %u above %u", d->conf->queue.count, MAX_WORKERS);
		goto out;
	}
	/* Loaded before the workers, which keep its flow map. */
	d->xdp = xdp_stage_open(d->conf, d->secret, d->conf->fastpath != CONF_FASTPATH_OFF,
				d->conf->queue.count, mono_ms(), wall_ms());
	for (i = 0; i < d->conf->queue.count; i++) {
		d->workers[i] = worker_new((uint16_t)(d->conf->queue.num + i), d->conf, d->secret,
					   d->xdp);
		if (!d->workers[i])
			goto out;
		d->nworkers++;
	}
	if (st) {
		state_restore(d, st);
		state_free(st);
		st = NULL;
	}
	adopt(d);
	/* Queues are bound before the rules send them packets; the control
	 * socket comes last, so that its appearance means "rules in place". */
	if (d->manage_rules) {
		if (rules_install(d->conf) < 0)
			goto out;
		d->rules_installed = true;
	}
	d->control = control_open(d->conf->control_socket);
	if (!d->control)
		goto out;
	if (loop_init(d) < 0) {
		log_err("event loop: %s", strerror(errno));
		goto out;
	}
	if (caps_drop(d->xdp != NULL) < 0)
		log_warn("dropping capabilities: %s (running with all of them)", strerror(errno));
	for (i = 0; i < d->nworkers; i++) {
		if (worker_start(d->workers[i]) < 0) {
			log_err("worker thread: %s", strerror(errno));
			goto out;
		}
	}
	log_started(d);
	notify_send("READY=1");
	loop_run(d);
	notify_send("STOPPING=1");
	rc = 0;
out:
	state_free(st);
	workers_stop(d);
	/* After a normal stop: the next process takes the connections over. */
	if (rc == 0)
		state_write(d);
	for (i = d->nworkers; i-- > 0;)
		worker_free(d->workers[i]);
	xdp_stage_close(d->xdp);
	if (d->rules_installed && !d->keep_rules && rules_remove(d->conf) < 0)
		rc = 1;
	control_close(d->control);
	if (d->wdfd >= 0)
		close(d->wdfd);
	if (d->hkfd >= 0)
		close(d->hkfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
	notify_close();
	if (rc == 0)
		log_notice("stopped");
	log_close();
	explicit_bzero(d->secret, sizeof(d->secret));
	return rc;
}

enum {
	OPT_PRINT_RULES = 256,
	OPT_KEEP_RULES,
	OPT_INSTALL_RULES,
	OPT_REMOVE_RULES,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "manage-rules", no_argument, NULL, 'r' },
		{ "keep-rules", no_argument, NULL, OPT_KEEP_RULES },
		{ "print-rules", no_argument, NULL, OPT_PRINT_RULES },
		{ "install-rules", no_argument, NULL, OPT_INSTALL_RULES },
		{ "remove-rules", no_argument, NULL, OPT_REMOVE_RULES },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .conf_path = DEFAULT_CONF, .sigfd = -1, .wdfd = -1, .hkfd = -1,
			    .epfd = -1 };
	int action = 0, opt, rc;

	while ((opt = getopt_long(argc, argv, "c:trVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.conf_path = optarg;
			break;
		case 'r':
			d.manage_rules = true;
			break;
		case OPT_KEEP_RULES:
			d.keep_rules = true;
			break;
		case 't':
		case OPT_PRINT_RULES:
		case OPT_INSTALL_RULES:
		case OPT_REMOVE_RULES:
			if (action && action != opt) {
				fprintf(stderr, "synproxyd: choose one of -t, --print-rules, "
						"--install-rules, --remove-rules\n");
				return 2;
			}
			action = opt;
			break;
		case 'V':
			printf("synproxyd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	d.conf = load(d.conf_path);
	if (!d.conf)
		return 1;
	switch (action) {
	case 't':
		conf_notes(d.conf);
		rc = 0;
		break;
	case OPT_PRINT_RULES:
		rc = rules_print(d.conf, RULES_IPV4, stdout) < 0 ||
		     fputs("# ip6tables-restore input\n", stdout) < 0 ||
		     rules_print(d.conf, RULES_IPV6, stdout) < 0 || fflush(stdout) != 0;
		break;
	case OPT_INSTALL_RULES:
		/* As at a start with -r: connections established while no
		 * rules were in place are adopted before the rules would send
		 * their packets to a queue (the unit runs this before the
		 * daemon, whose own adoption then finds them marked). */
		adopt(&d);
		rc = rules_install(d.conf) < 0;
		break;
	case OPT_REMOVE_RULES:
		rc = rules_remove(d.conf) < 0;
		break;
	default:
		rc = run(&d);
		break;
	}
	unload(d.conf);
	return rc;
}
