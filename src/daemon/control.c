/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* accept4 */
/* Requests are served on the main thread, one at a time, each bounded by
 * a receive timeout: the control socket is an administrator's tool, not a
 * service, and access to it is limited by the file mode. */
#include <errno.h>
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
		log_errx("control socket %s: need an absolute path shorter than %zu bytes", path,
			 sizeof(sa.sun_path));
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_errx("control socket: out of memory");
		return NULL;
	}
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
