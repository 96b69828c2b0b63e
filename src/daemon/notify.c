/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd notification protocol (see notify.h).  The notify socket
 * path may start with '@', meaning the Linux abstract namespace: the '@'
 * becomes a NUL byte and the address length counts only the bytes of the
 * name. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;
static uint64_t notify_wd_ms;

static void watchdog_read(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	notify_wd_ms = 0;
	if (!usec)
		return;
	if (pid && strtol(pid, NULL, 10) != (long)getpid())
		return;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end || v == 0)
		return;
	notify_wd_ms = v / 2000;
	if (notify_wd_ms == 0)
		notify_wd_ms = 1;
}

int notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	watchdog_read();
	if (!path || !*path)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(notify_addr.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, n);
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';
	notify_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
				     (path[0] == '/' ? 1 : 0));
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd < 0 ? -1 : 0;
}

void notify_send(const char *msg)
{
	if (notify_fd < 0)
		return;
	/* Best effort: a lost notification only delays systemd's view. */
	(void)sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
		     (const struct sockaddr *)&notify_addr, notify_addrlen);
}

void notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	if (notify_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(buf);
}

uint64_t notify_watchdog_ms(void)
{
	return notify_fd < 0 ? 0 : notify_wd_ms;
}

void notify_close(void)
{
	if (notify_fd >= 0)
		close(notify_fd);
	notify_fd = -1;
}
