/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* accept4 */
/* The control socket's connections are served on the main thread without
 * ever blocking it: every socket is non-blocking, and the listening
 * socket, the connections and a timer for their deadlines sit in an epoll
 * set of their own, whose descriptor is what the main loop polls
 * (control_fd).  A connection gets CONTROL_REQUEST_MS for its request
 * line (at most CONTROL_LINE_MAX bytes) and CONTROL_REPLY_MS to take the
 * answer, and at most CONTROL_CONNS are open at once; a client that
 * dribbles bytes, never reads or opens connections in a loop costs the
 * daemon nothing but those.  Access is limited by the file mode: this is
 * an administrator's tool, not a service. */
#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

#define CONTROL_LINE_MAX 256
#define CONTROL_CONNS 8
#define CONTROL_REQUEST_MS 1000
#define CONTROL_REPLY_MS 10000

/* One client connection. */
struct conn {
	int fd;                 /* -1: free */
	bool replying;          /* the request was answered; out is being sent */
	uint64_t opened_ms;
	uint64_t deadline_ms;
	size_t have;            /* request bytes in line */
	char line[CONTROL_LINE_MAX];
	char *out;              /* the answer */
	size_t outlen, sent;
};

struct control {
	int fd;                 /* the listening socket */
	int epfd;               /* it, the timer and the connections */
	int tfd;                /* due at the earliest connection deadline */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct conn conn[CONTROL_CONNS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

/* Watches fd for events ev; the pointer (NULL: the listening socket or
 * the timer, told apart by fd) comes back with them. */
static int watch(struct control *c, int op, int fd, uint32_t ev, struct conn *cn)
{
	struct epoll_event e = { .events = ev };

	if (cn)
		e.data.ptr = cn;
	else
		e.data.fd = fd;
	return epoll_ctl(c->epfd, op, fd, &e);
}

struct control *control_open(const char *path)
{
	struct control *c;
	struct sockaddr_un sa;

	if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/') {
		log_errx("control socket %s: need an absolute path shorter than %zu bytes", path,
			 sizeof(sa.sun_path));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_errx("control socket: out of memory");
		return NULL;
	}
	c->fd = c->epfd = c->tfd = -1;
	for (int i = 0; i < CONTROL_CONNS; i++)
		c->conn[i].fd = -1;
	strcpy(c->path, path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (make_dir(path) < 0) {
		log_err("control socket %s: directory", path);
		goto fail;
	}
	if (socket_live(&sa)) {
		log_errx("control socket %s: another synproxyd answers there", path);
		goto fail;
	}
	(void)unlink(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(c->fd, 16) < 0) {
		log_err("control socket %s", path);
		goto fail;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->epfd < 0 || c->tfd < 0 || watch(c, EPOLL_CTL_ADD, c->fd, EPOLLIN, NULL) < 0 ||
	    watch(c, EPOLL_CTL_ADD, c->tfd, EPOLLIN, NULL) < 0) {
		log_err("control socket %s: event set", path);
		goto fail;
	}
	return c;
fail:
	control_close(c);
	return NULL;
}

int control_fd(const struct control *c)
{
	return c->epfd;
}

static void drop_conn(struct control *c, struct conn *cn)
{
	(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, cn->fd, NULL);
	close(cn->fd);
	free(cn->out);
	memset(cn, 0, sizeof(*cn));
	cn->fd = -1;
}

/* Arms the timer for the earliest deadline (or disarms it). */
static void arm(struct control *c)
{
	struct itimerspec its;
	uint64_t at = 0;

	for (int i = 0; i < CONTROL_CONNS; i++)
		if (c->conn[i].fd >= 0 && (!at || c->conn[i].deadline_ms < at))
			at = c->conn[i].deadline_ms;
	memset(&its, 0, sizeof(its));
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000);
		its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
	}
	(void)timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Takes every waiting connection.  With every slot taken, a new one
 * replaces the oldest still sending its request (its time is nearly up,
 * or it is one of a flood); when all are being answered, it is closed. */
static void take(struct control *c, uint64_t now)
{
	for (;;) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *cn = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < CONTROL_CONNS && !cn; i++)
			if (c->conn[i].fd < 0)
				cn = &c->conn[i];
		for (int i = 0; i < CONTROL_CONNS && !cn; i++) {
			struct conn *o = &c->conn[i];

			if (!o->replying && (!cn || o->opened_ms < cn->opened_ms))
				cn = o;
		}
		if (cn && cn->fd >= 0)
			drop_conn(c, cn);
		if (!cn) {
			close(fd);
			continue;
		}
		cn->fd = fd;
		cn->opened_ms = now;
		cn->deadline_ms = now + CONTROL_REQUEST_MS;
		if (watch(c, EPOLL_CTL_ADD, fd, EPOLLIN, cn) < 0)
			drop_conn(c, cn);
	}
}

/* Sends what the socket takes of the answer; closes the connection when
 * it is all sent or the client is gone. */
static void send_more(struct control *c, struct conn *cn)
{
	while (cn->sent < cn->outlen) {
		ssize_t n = send(cn->fd, cn->out + cn->sent, cn->outlen - cn->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;
		cn->sent += (size_t)n;
	}
	drop_conn(c, cn);
}

/* Answers the request in cn->line (without its line end). */
static void answer(struct control *c, struct conn *cn, control_handler *fn, void *ctx)
{
	size_t len = 0;
	char *nl;
	FILE *f;

	cn->line[cn->have] = '\0';
	nl = strpbrk(cn->line, "\r\n");
	if (nl)
		*nl = '\0';
	f = open_memstream(&cn->out, &len);
	if (!f) {
		drop_conn(c, cn);
		return;
	}
	fn(cn->line, f, ctx);
	if (fclose(f) != 0) {
		drop_conn(c, cn);
		return;
	}
	cn->outlen = len;
	cn->replying = true;
	/* The handler may have taken a while (a reload, the workers'
	 * listings): the answer's own time starts now. */
	cn->deadline_ms = mono_ms() + CONTROL_REPLY_MS;
	if (watch(c, EPOLL_CTL_MOD, cn->fd, EPOLLOUT, cn) < 0) {
		drop_conn(c, cn);
		return;
	}
	send_more(c, cn);
}

/* Reads what has arrived of cn's request; answers it once a line end,
 * the end of the stream or the size limit is reached. */
static void read_more(struct control *c, struct conn *cn, control_handler *fn, void *ctx,
		      uint64_t now)
{
	for (;;) {
		ssize_t n = recv(cn->fd, cn->line + cn->have, sizeof(cn->line) - 1 - cn->have,
				 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			drop_conn(c, cn);
			return;
		}
		cn->have += (size_t)n;
		if (n == 0 || memchr(cn->line, '\n', cn->have) ||
		    cn->have == sizeof(cn->line) - 1)
			break;
	}
	if (cn->have == sizeof(cn->line) - 1 && !memchr(cn->line, '\n', cn->have)) {
		static const char too_long[] = "error: request longer than 255 bytes\n";

		cn->out = strdup(too_long);
		if (!cn->out) {
			drop_conn(c, cn);
			return;
		}
		cn->outlen = sizeof(too_long) - 1;
		cn->replying = true;
		cn->deadline_ms = now + CONTROL_REPLY_MS;
		if (watch(c, EPOLL_CTL_MOD, cn->fd, EPOLLOUT, cn) < 0) {
			drop_conn(c, cn);
			return;
		}
		send_more(c, cn);
		return;
	}
	answer(c, cn, fn, ctx);
}

void control_serve(struct control *c, control_handler *fn, void *ctx)
{
	struct epoll_event ev[CONTROL_CONNS + 2];
	uint64_t now = mono_ms(), v;
	int n = epoll_wait(c->epfd, ev, CONTROL_CONNS + 2, 0);

	for (int i = 0; i < n; i++) {
		struct conn *cn;

		/* A connection's event carries its slot, the others their
		 * descriptor (a small number, never a slot's address). */
		cn = ev[i].data.ptr;
		if (cn >= c->conn && cn < c->conn + CONTROL_CONNS) {
			if (cn->fd < 0)
				continue;       /* dropped earlier in this round */
			if (cn->replying)
				send_more(c, cn);
			else
				read_more(c, cn, fn, ctx, now);
		} else if (ev[i].data.fd == c->tfd) {
			if (read(c->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("control socket: timer");
		} else if (ev[i].data.fd == c->fd) {
			take(c, now);
		}
	}
	now = mono_ms();
	for (int i = 0; i < CONTROL_CONNS; i++)
		if (c->conn[i].fd >= 0 && c->conn[i].deadline_ms <= now)
			drop_conn(c, &c->conn[i]);
	arm(c);
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < CONTROL_CONNS; i++)
		if (c->conn[i].fd >= 0)
			drop_conn(c, &c->conn[i]);
	if (c->fd >= 0) {
		close(c->fd);
		(void)unlink(c->path);
	}
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}
