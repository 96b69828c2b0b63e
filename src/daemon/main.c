/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxyd: command line, start-up in order, the main thread's event
 * loop (signals, control socket, watchdog) and shutdown in reverse.
 * The packet path lives in the worker threads. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <pthread.h>
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

#include "clock.h"
#include "conf.h"
#include "cookie.h"
#include "control.h"
#include "daemon.h"
#include "fastpath.h"
#include "flood.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "overload.h"
#include "rules.h"
#include "state.h"
#include "stats.h"
#include "worker.h"
#include "xdp.h"

#ifndef PACKAGE_VERSION
#include "config.h"
#endif

#define DEFAULT_CONF "/etc/synproxyd/synproxyd.conf"
/* How often, with -r, the daemon checks that its rules are in place. */
#define RULES_CHECK_MS 2000

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

/* The file's diagnostic is printed bare, "FILE:LINE: message" as a
 * compiler does (synproxyd(8), -t): it is the command's answer, read by
 * people and editors, not a log line. */
struct conf *daemon_load(const char *path)
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

void daemon_unload(struct conf *c)
{
	if (!c)
		return;
	conf_free(c);
	free(c);
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

/* Settings the file asks for that the daemon does not honour. */
void daemon_conf_notes(const struct conf *c)
{
	if (c->queue.fail_open)
		log_warnx("queue.fail_open is ignored: the queues fail closed (a SYN that "
			  "overflows a queue must not reach a server unproxied, and every other "
			  "queued packet needs translating; synproxyd.conf(5))");
	for (unsigned i = 0; i < c->nserver_ifaces; i++)
		if (!if_nametoindex(c->server_ifaces[i]))
			log_warnx("server_interfaces: no interface %s (yet); a server's packet "
				  "coming in by it counts as forged until it exists "
				  "(server_wrong_side)", c->server_ifaces[i]);
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
			(void)daemon_reload(d, err, sizeof(err));
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
			log_warnx("rules: cannot read the kernel's rules to check ours");
		return;
	}
	d->rules_reinstalled++;
	if (rules_install(d->conf) == 0)
		log_warnx("rules: ours were removed or changed by someone else; reinstalled "
			 "(%llu times so far)", (unsigned long long)d->rules_reinstalled);
	else
		log_errx("rules: ours were removed or changed by someone else, and reinstalling "
			"them failed (see above)");
}

/* What took over from the SYN cache during a flood, for its notices. */
static const char *flood_means(const struct flood_report *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s",
		 r->cookies ? "; the SYN cache is full, cookies answer" : "",
		 r->xdp ? "; the XDP stage answers" : "",
		 r->queue_full ? "; the queue overflows (fails closed)" : "",
		 r->cookies || r->xdp || r->queue_full ? "" : "; nothing took over");
	return buf + 2;
}

/* The rule a flood report names, as "rule NAME (N SYNs to it)" (those the
 * queue saw and those the XDP stage answered or dropped), or what is known
 * without one. */
static const char *flood_rule(const struct daemon *d, const struct stats *sum,
			      const struct flood_report *r, char *buf, size_t size)
{
	if (r->rule >= 0 && sum->st_rules_gen == d->conf->generation &&
	    (uint32_t)r->rule < d->conf->policy.nrules)
		snprintf(buf, size, "rule %s (%llu SYNs to it)",
			 d->conf->policy.rules[r->rule].name, (unsigned long long)r->rule_syns);
	else
		snprintf(buf, size, "rule not known (no SYN counted for a rule)");
	return buf;
}

/* SYN flood notices (flood.c): when one starts, once a minute while it
 * lasts, and when it ends, with the rate, the rule and what took over. */
static void flood_watch(struct daemon *d, const struct stats *sum, uint64_t now)
{
	struct flood_totals t = {
		.syns = sum->st_engine[CNT_syn_received] + sum->st_xdp[XC_xdp_syn_answered],
		.cookies = sum->st_engine[CNT_syncache_full],
		/* With answer "always" the stage answers every SYN, flood or not. */
		.xdp = d->conf->xdp.answer == CONF_XDP_ALWAYS ? 0 : sum->st_xdp[XC_xdp_syn_answered],
		.queue_drops = sum->st_daemon[DS_queue_kernel_dropped] +
			       sum->st_daemon[DS_queue_user_dropped],
		.rule_syns = sum->st_rule_syn,
		.nrules = sum->st_nrules,
		.rules_gen = sum->st_rules_gen,
	};
	struct flood_report r = flood_sample(&d->flood, now, &t);
	char rule[128], means[160];

	switch (r.event) {
	case FLOOD_NONE:
		break;
	case FLOOD_START:
		log_notice("SYN flood: %llu SYNs/s, %s; %s", (unsigned long long)r.rate,
			   flood_rule(d, sum, &r, rule, sizeof(rule)),
			   flood_means(&r, means, sizeof(means)));
		break;
	case FLOOD_ONGOING:
		log_notice("SYN flood goes on: %llu SYNs in %llu s (peak %llu/s), %s; %s",
			   (unsigned long long)r.syns, (unsigned long long)r.ms / 1000,
			   (unsigned long long)r.peak, flood_rule(d, sum, &r, rule, sizeof(rule)),
			   flood_means(&r, means, sizeof(means)));
		break;
	case FLOOD_END:
		log_notice("SYN flood ended: %llu SYNs over %llu.%llu s (peak %llu/s), %s; %s",
			   (unsigned long long)r.syns, (unsigned long long)r.ms / 1000,
			   (unsigned long long)(r.ms % 1000) / 100, (unsigned long long)r.peak,
			   flood_rule(d, sum, &r, rule, sizeof(rule)),
			   flood_means(&r, means, sizeof(means)));
		break;
	}
}

/* Every OVERLOAD_SAMPLE_MS: is the queue the bottleneck?  The kernel's
 * drop counts and the SYN cache's refusals, from the snapshots the workers
 * published (no worker is interrupted).  An overflow is logged when it
 * starts, once a minute while it lasts, and when it ends. */
static void housekeeping(struct daemon *d)
{
	struct stats *q = calloc(d->nworkers ? d->nworkers : 1, sizeof(*q));
	struct stats sum;
	struct overload_report r;
	uint64_t now;

	if (!q)
		return;
	daemon_stats(d, false, q, &sum);
	free(q);
	now = mono_ms();
	/* Every RULES_CHECK_MS, with -r: are our rules still there? */
	if (d->manage_rules && d->rules_installed &&
	    ++d->hk_ticks >= RULES_CHECK_MS / OVERLOAD_SAMPLE_MS) {
		d->hk_ticks = 0;
		rules_watch(d);
	}
	/* The end of a rotation's overlap. */
	if (d->have_prev && d->prev_until_ms && now >= d->prev_until_ms) {
		d->have_prev = false;
		d->prev_until_ms = 0;
		explicit_bzero(d->secret_prev, sizeof(d->secret_prev));
		daemon_secrets_push(d);
		log_notice("cookie secret: the previous one is no longer accepted");
	}
	flood_watch(d, &sum, now);
	r = overload_sample(&d->overload, now,
			    sum.st_daemon[DS_queue_kernel_dropped] + sum.st_daemon[DS_queue_user_dropped],
			    sum.st_engine[CNT_syncache_full] + sum.st_engine[CNT_syncache_shed]);
	if (d->xdp)
		xdp_stage_tick(d->xdp, now, wall_ms(), d->overload.ol_pressure_until);
	daemon_syn_lookup_update(d, false);
	switch (r.event) {
	case OVERLOAD_NONE:
		break;
	case OVERLOAD_START:
		log_warnx("queue overflow: the kernel dropped %llu packets at queues %u-%u "
			  "(the queues fail closed: nothing passed unproxied)",
			  (unsigned long long)r.dropped, d->conf->queue.num,
			  d->conf->queue.num + d->conf->queue.count - 1);
		break;
	case OVERLOAD_ONGOING:
		log_warnx("queue overflow goes on: %llu packets dropped in %llu s",
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
			log_err("epoll");
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
				control_serve(d->control, daemon_request, d);
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
		   "secret %s, xdp stage on %u interface(s), control %s%s%s%s",
		   c->mode == CONF_MODE_GATEWAY ? "gateway" : "local", c->policy.nrules,
		   c->queue.num, c->queue.num + c->queue.count - 1,
		   c->queue.bypass ? " bypass (not for SYNs)" : "",
		   c->mark, cookies[c->engine.cookies],
		   c->fastpath == CONF_FASTPATH_OFF ? "off" : "on",
		   c->reply_path == CONF_REPLY_LINK ? "link" : "route", c->engine.syncache.max_entries,
		   c->engine.max_flows, c->engine.hold_packets_per_flow,
		   c->engine.hold_bytes_total, c->secret_file[0] ? c->secret_file : "random",
		   xdp_stage_attached(d->xdp), c->control_socket,
		   d->metrics ? ", metrics on " : "", d->metrics ? c->metrics.listen : "",
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
		log_warnx("state file %s refused: %s; starting without its connections",
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

static int run(struct daemon *d)
{
	struct state *st;
	unsigned i;
	int rc = 1;

	log_open(d->conf->log_target, d->conf->log_level);
	daemon_conf_notes(d->conf);
	if (notify_open() < 0)
		log_warn("NOTIFY_SOCKET unusable");
	/* A previous process's state brings its secret along (unless a
	 * secret file names one), so that its cookies still validate. */
	st = state_take(d->conf);
	if (st && !d->conf->secret_file[0]) {
		memcpy(d->secret, state_secret(st), ENGINE_SECRET_LEN);
	} else {
		if (daemon_secret_init(d) < 0)
			goto out;
		/* The file changed across the restart: the cookies the last
		 * process issued go on validating for their lifetime. */
		if (st && !d->have_prev &&
		    memcmp(state_secret(st), d->secret, ENGINE_SECRET_LEN) != 0) {
			memcpy(d->secret_prev, state_secret(st), ENGINE_SECRET_LEN);
			d->have_prev = true;
			d->prev_until_ms = mono_ms() + SECRET_OVERLAP_MS;
			log_notice("cookie secret changed (%s) since the last process; its secret "
				   "is accepted for 130 s more", d->conf->secret_file);
		}
	}
	/* Probed once: "auto" becomes "off" for the whole run when the
	 * kernel will not take the entries, and the rules follow. */
	if (d->conf->fastpath == CONF_FASTPATH_AUTO && fastpath_probe() < 0) {
		log_warnx("kernel fast path unavailable (ctnetlink: %s); flows stay in userspace",
			  strerror(errno));
		d->conf->fastpath = CONF_FASTPATH_OFF;
	}
	if (d->conf->fastpath != CONF_FASTPATH_OFF && fastpath_loose_pickup())
		log_notice("net.netfilter.nf_conntrack_tcp_loose is 1: a packet racing a kernel "
			   "offload can be dropped once; 0 is recommended (synproxyd(8))");
	if (d->conf->queue.count > MAX_WORKERS) {
		log_errx("queue count %u above %u", d->conf->queue.count, MAX_WORKERS);
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
	if (d->have_prev)
		daemon_secrets_push(d);
	if (st) {
		state_restore(d, st);
		state_free(st);
		st = NULL;
	}
	daemon_adopt(d);
	daemon_ctseen_init(d);
	daemon_syn_lookup_update(d, true);
	/* Queues are bound before the rules send them packets; the control
	 * socket comes last, so that its appearance means "rules in place". */
	if (d->manage_rules) {
		if (rules_install(d->conf) < 0)
			goto out;
		d->rules_installed = true;
	}
	d->control = control_open(d->conf->control_socket);
	if (!d->control || daemon_metrics_init(d) < 0)
		goto out;
	if (loop_init(d) < 0) {
		log_err("event loop");
		goto out;
	}
	if (caps_drop(d->xdp != NULL) < 0)
		log_warnx("dropping capabilities: %s (running with all of them)", strerror(errno));
	for (i = 0; i < d->nworkers; i++) {
		if (worker_start(d->workers[i]) < 0) {
			log_err("worker thread");
			goto out;
		}
	}
	if (daemon_metrics_run(d) < 0)
		goto out;
	log_started(d);
	notify_send("READY=1");
	loop_run(d);
	notify_send("STOPPING=1");
	rc = 0;
out:
	state_free(st);
	metrics_close(d->metrics);
	d->metrics = NULL;
	workers_stop(d);
	/* After a normal stop: the next process takes the connections over. */
	if (rc == 0)
		state_write(d);
	for (i = d->nworkers; i-- > 0;)
		worker_free(d->workers[i]);
	xdp_stage_close(d->xdp);
	ctseen_free(d->ctseen);
	ctseen_free(d->orphans);
	d->ctseen = d->orphans = NULL;
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
	explicit_bzero(d->secret_prev, sizeof(d->secret_prev));
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
			    .epfd = -1, .info_lock = PTHREAD_MUTEX_INITIALIZER };
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
	d.conf = daemon_load(d.conf_path);
	if (!d.conf)
		return 1;
	switch (action) {
	case 't':
		daemon_conf_notes(d.conf);
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
		daemon_adopt(&d);
		rc = rules_install(d.conf) < 0;
		break;
	case OPT_REMOVE_RULES:
		rc = rules_remove(d.conf) < 0;
		break;
	default:
		rc = run(&d);
		break;
	}
	daemon_unload(d.conf);
	return rc;
}
