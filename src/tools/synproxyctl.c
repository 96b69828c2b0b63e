/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxyctl: sends one request line to synproxyd's control socket and
 * copies the answer to stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/synproxyd/control.sock"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: synproxyctl [-s SOCKET] stats [--json|--prometheus]\n"
		"       synproxyctl [-s SOCKET] flows\n"
		"       synproxyctl [-s SOCKET] reload\n"
		"       synproxyctl -h\n"
		"\n"
		"  -s SOCKET  the daemon's control socket (default " DEFAULT_SOCKET ")\n"
		"  stats      every counter and gauge, 'name value' per line;\n"
		"             --json as one object, --prometheus in the text exposition format\n"
		"  flows      one line per half-open entry and flow\n"
		"  reload     re-read the configuration (as SIGHUP does)\n");
}

/* Returns 0 when the daemon answered, 1 otherwise (or when it reported an
 * error). */
static int request(const char *path, const char *req)
{
	struct sockaddr_un sa;
	char buf[4096];
	struct timeval tv = { .tv_sec = 30 };
	size_t len = strlen(req);
	int fd, rc = 0, first = 1;
	ssize_t n;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "synproxyctl: %s: path too long\n", path);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "synproxyctl: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "synproxyctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "synproxyctl: %s: %s\n", path, strerror(errno));
			rc = 1;
			break;
		}
		if (first && n >= 6 && memcmp(buf, "error:", 6) == 0)
			rc = 1;
		else if (first && n >= 15 && memcmp(buf, "restart needed:", 15) == 0)
			rc = 3;
		first = 0;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	int opt;

	while ((opt = getopt(argc, argv, "+s:h")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "stats") == 0)
		return request(path, "stats");
	if (argc == 2 && strcmp(argv[0], "stats") == 0 && strcmp(argv[1], "--json") == 0)
		return request(path, "stats json");
	if (argc == 2 && strcmp(argv[0], "stats") == 0 && strcmp(argv[1], "--prometheus") == 0)
		return request(path, "stats prometheus");
	if (argc == 1 && strcmp(argv[0], "flows") == 0)
		return request(path, "flows");
	if (argc == 1 && strcmp(argv[0], "reload") == 0)
		return request(path, "reload");
	usage(stderr);
	return 2;
}
