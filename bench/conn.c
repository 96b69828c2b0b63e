/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Connection benchmark helper for bench/connect_rate.sh.
 *   conn server ADDR PORT       accept; read the request; answer "ok\n"; close
 *   conn client ADDR PORT N PAR N connections over PAR processes, each one a
 *                               connect, a 4-byte request, the 3-byte answer
 *                               and a close (3 s timeout per step)
 * The client prints "ok OK fail FAIL seconds S rate R p50_ms P p99_ms Q", the
 * last two the median and 99th percentile of connect() times (SYN sent to
 * handshake done, as the client sees it) over the completed connections.
 * Build: gcc -O2 -o conn conn.c */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "conn: bad address %s\n", ip);
		exit(2);
	}
	return a;
}

static int serve(struct sockaddr_in a)
{
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	char buf[64];

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4096) < 0) {
		perror("conn: listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 && write(c, "ok\n", 3) != 3)
			perror("conn: write");
		close(c);
	}
}

static double now_s(void);

/* One connection; 0 when the answer came back.  *ct gets connect()'s time. */
static int one_conn(const struct sockaddr_in *a, double *ct)
{
	struct timeval tv = { 3, 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0), rc = -1;
	char buf[8];
	ssize_t n, got = 0;

	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	double t0 = now_s();
	int c = connect(s, (const struct sockaddr *)a, sizeof(*a));

	*ct = now_s() - t0;
	if (c == 0 && write(s, "GET\n", 4) == 4) {
		while (got < 3 && (n = read(s, buf + got, sizeof(buf) - (size_t)got)) > 0)
			got += n;
		rc = got == 3 && memcmp(buf, "ok\n", 3) == 0 ? 0 : -1;
	}
	close(s);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static int client(struct sockaddr_in a, long n, int par)
{
	int fds[2], i;
	long ok = 0, fail = 0, nt = 0, k;
	double t0 = now_s(), t;
	/* connect() times, one slot per connection (-1: failed), shared with
	 * the children. */
	double *ct = mmap(NULL, (size_t)n * sizeof(double), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (ct == MAP_FAILED || pipe(fds) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);  /* a reset connection is a failure, not an exit */
	for (i = 0; i < par; i++) {
		if (fork() == 0) {
			long mine[2] = { 0, 0 };

			close(fds[0]);
			for (k = i; k < n; k += par) {
				int bad = one_conn(&a, &ct[k]) != 0;

				mine[bad]++;
				if (bad)
					ct[k] = -1;
			}
			if (write(fds[1], mine, sizeof(mine)) != sizeof(mine))
				_exit(1);
			_exit(0);
		}
	}
	close(fds[1]);
	for (i = 0; i < par; i++) {
		long r[2];

		if (read(fds[0], r, sizeof(r)) == sizeof(r)) {
			ok += r[0];
			fail += r[1];
		}
	}
	while (wait(NULL) > 0)
		;
	t = now_s() - t0;
	for (k = 0; k < n; k++)
		if (ct[k] >= 0)
			ct[nt++] = ct[k];
	qsort(ct, (size_t)nt, sizeof(*ct), cmp_double);
	printf("ok %ld fail %ld seconds %.3f rate %.0f p50_ms %.2f p99_ms %.2f\n", ok, fail, t,
	       (double)ok / t, nt ? ct[(nt - 1) / 2] * 1e3 : -1.0,
	       nt ? ct[(nt * 99 - 1) / 100] * 1e3 : -1.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "server") == 0)
		return serve(addr_of(argv[2], argv[3]));
	if (argc == 6 && strcmp(argv[1], "client") == 0)
		return client(addr_of(argv[2], argv[3]), atol(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: conn server ADDR PORT | conn client ADDR PORT N PAR\n");
	return 2;
}
