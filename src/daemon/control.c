/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* accept4 */
/* Requests are served on the main thread, one at a time, each bounded by
 * a receive timeout: the control socket is an administrator's tool, not a
 * service, and access to it is limited by the file mode. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

#define CONTROL_LINE_MAX 256

struct control {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static int make_dir(const char *path)
{
	char copy[sizeof(((struct control *)0)->path)];
	const char *dir;

	strcpy(copy, path);
	dir = dirname(copy);
	if (mkdir(dir, 0750) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* True when a daemon answers on path. */
static bool socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

struct control *control_open(const char *path)
{
	struct control *c;
	struct sockaddr_un sa;

	if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/') {
		log_err("control socket %s: need an absolute path shorter than %zu bytes", path,
			sizeof(sa.sun_path));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("control socket: out of memory");
		return NULL;
	}
	strcpy(c->path, path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (make_dir(path) < 0) {
		log_err("control socket %s: directory: %s", path, strerror(errno));
		goto fail;
	}
	if (socket_live(&sa)) {
		log_err("control socket %s: another synproxyd answers there", path);
		goto fail;
	}
	(void)unlink(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(c->fd, 16) < 0) {
		log_err("control socket %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		goto fail;
	}
	return c;
fail:
	free(c);
	return NULL;
}

int control_fd(const struct control *c)
{
	return c->fd;
}

static void reply(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client went away or stalled past the timeout */
		buf += n;
		len -= (size_t)n;
	}
}

void control_serve(struct control *c, control_handler *fn, void *ctx)
{
	struct timeval tv = { .tv_sec = 1 };
	char line[CONTROL_LINE_MAX];
	size_t have = 0, len = 0;
	char *out = NULL, *nl;
	FILE *f;
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (have < sizeof(line) - 1) {
		ssize_t n = recv(fd, line + have, sizeof(line) - 1 - have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (memchr(line, '\n', have))
			break;
	}
	line[have] = '\0';
	nl = strpbrk(line, "\r\n");
	if (nl)
		*nl = '\0';
	f = open_memstream(&out, &len);
	if (f) {
		fn(line, f, ctx);
		if (fclose(f) == 0)
			reply(fd, out, len);
		free(out);
	}
	close(fd);
}

void control_close(struct control *c)
{
	if (!c)
		return;
	close(c->fd);
	(void)unlink(c->path);
	free(c);
}

struct gauge {
	const char *name;
	const char *help;
	uint64_t value;
};

void control_print_stats(FILE *out, const struct worker_snapshot *s, enum control_format f)
{
	/* Daemon-side counters, listed after the engine's. */
	const struct gauge extra[] = {
		{ "queue_received", "packets read from NFQUEUE", s->queue.nq_received },
		{ "queue_overruns", "NFQUEUE receive overruns (ENOBUFS)", s->queue.nq_overruns },
		{ "queue_truncated", "packets copied partially, accepted untouched",
		  s->queue.nq_truncated },
		{ "queue_unread", "packets queued while a queue was set up, dropped unread",
		  s->queue.nq_unread },
		{ "queue_verdicts", "verdicts sent", s->queue.nq_verdicts },
		{ "queue_kernel_dropped", "dropped by the kernel: queue full",
		  s->kqueue.dropped },
		{ "queue_user_dropped", "dropped by the kernel: the daemon's socket buffer full",
		  s->kqueue.user_dropped },
		{ "netlink_errors", "netlink errors (refused verdicts, failed sends)",
		  s->queue.nq_netlink_errors },
		{ "raw_sent", "packets sent on the raw sockets", s->raw_sent },
		{ "raw_send_errors", "raw socket send failures", s->raw_errors },
		{ "link_sent", "of raw_sent, answers sent back on the link they came from",
		  s->link_sent },
		{ "offload_ok", "established flows handed to the kernel fast path",
		  s->offload.ok },
		{ "offload_refused_rescaled", "flows kept in userspace: window rescaled",
		  s->offload.refused_rescaled },
		{ "offload_refused_off", "flows kept in userspace: fast path off or unavailable",
		  s->offload.refused_off },
		{ "offload_failed", "flows kept in userspace: the kernel refused the entry",
		  s->offload.failed },
		{ "offload_stale_removed",
		  "conntrack entries removed for a new flow's tuple or a withdrawn flow",
		  s->offload.stale_removed },
		{ "offload_forget_failed", "such removals that ctnetlink refused",
		  s->offload.forget_failed },
		{ "xdp_map_errors", "updates of the XDP stage's flow and option maps that failed",
		  s->xdp_map_errors },
		{ "rules_reinstalled", "times our rules were found removed or changed and put back",
		  s->rules_reinstalled },
		{ "flows_adopted", "connections established before the daemon, passed untranslated",
		  s->flows_adopted },
	};
	const struct gauge gauge[] = {
		{ "syncache_entries", "half-open entries in the SYN cache",
		  s->gauges.syncache_entries },
		{ "flows_active", "flows in the flow table", s->gauges.flows_active },
		{ "held_packets", "client packets held for a backend", s->gauges.held_packets },
		{ "held_bytes", "bytes held for backends", s->gauges.held_bytes },
		{ "memory_bytes", "memory of every engine table", (uint64_t)s->gauges.memory_bytes },
		{ "xdp_interfaces", "interfaces carrying the XDP stage", s->xdp_attached },
	};
	const char *sep = "";
	size_t i;
	int c;

	if (f == CONTROL_JSON)
		fputc('{', out);
	for (c = 0; c < CNT_MAX; c++) {
		const char *name = counter_name((enum counter)c);

		if (f == CONTROL_TEXT)
			fprintf(out, "%s %" PRIu64 "\n", name, s->counters[c]);
		else if (f == CONTROL_JSON)
			fprintf(out, "%s\"%s\":%" PRIu64, sep, name, s->counters[c]);
		else
			fprintf(out, "# HELP synproxyd_%s_total %s\n# TYPE synproxyd_%s_total counter\n"
				"synproxyd_%s_total %" PRIu64 "\n", name,
				counter_help((enum counter)c), name, name, s->counters[c]);
		sep = ",";
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		if (f == CONTROL_TEXT)
			fprintf(out, "%s %" PRIu64 "\n", extra[i].name, extra[i].value);
		else if (f == CONTROL_JSON)
			fprintf(out, ",\"%s\":%" PRIu64, extra[i].name, extra[i].value);
		else
			fprintf(out, "# HELP synproxyd_%s_total %s\n# TYPE synproxyd_%s_total counter\n"
				"synproxyd_%s_total %" PRIu64 "\n", extra[i].name, extra[i].help,
				extra[i].name, extra[i].name, extra[i].value);
	}
	for (i = 0; i < sizeof(gauge) / sizeof(gauge[0]); i++) {
		if (f == CONTROL_TEXT)
			fprintf(out, "%s %" PRIu64 "\n", gauge[i].name, gauge[i].value);
		else if (f == CONTROL_JSON)
			fprintf(out, ",\"%s\":%" PRIu64, gauge[i].name, gauge[i].value);
		else
			fprintf(out, "# HELP synproxyd_%s %s\n# TYPE synproxyd_%s gauge\n"
				"synproxyd_%s %" PRIu64 "\n", gauge[i].name, gauge[i].help,
				gauge[i].name, gauge[i].name, gauge[i].value);
	}
#ifdef HAVE_XDP
	if (s->xdp_attached) {
		static const char *const xname[XC_MAX] = {
#define XDP_X_NAME(name, help) #name,
			XDP_COUNTERS(XDP_X_NAME)
#undef XDP_X_NAME
		};
		static const char *const xhelp[XC_MAX] = {
#define XDP_X_HELP(name, help) help,
			XDP_COUNTERS(XDP_X_HELP)
#undef XDP_X_HELP
		};

		for (i = 0; i < XC_MAX; i++) {
			if (f == CONTROL_TEXT)
				fprintf(out, "%s %" PRIu64 "\n", xname[i], s->xdp[i]);
			else if (f == CONTROL_JSON)
				fprintf(out, ",\"%s\":%" PRIu64, xname[i], s->xdp[i]);
			else
				fprintf(out, "# HELP synproxyd_%s_total %s\n# TYPE synproxyd_%s_total "
					"counter\nsynproxyd_%s_total %" PRIu64 "\n", xname[i], xhelp[i],
					xname[i], xname[i], s->xdp[i]);
		}
	}
#endif
	if (f == CONTROL_JSON)
		fputs("}\n", out);
}
