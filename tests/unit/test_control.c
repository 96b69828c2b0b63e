/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's connections (src/daemon/control.c): no client can
 * hold the main loop, whatever it does: one that sends its request a
 * byte at a time, never finishes it, sends too much, opens connections
 * in a loop or never reads its answer.  Every control_serve call must
 * return at once, and a well-behaved client must be answered meanwhile. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

/* What a control_serve call may take: it never waits for a client. */
#define CALL_MAX_MS 500

static char dir[64], path[96];

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void handler(const char *req, FILE *out, void *ctx)
{
	(void)ctx;
	if (strcmp(req, "big") == 0) {
		for (int i = 0; i < 4 << 10; i++)
			fprintf(out, "%01023d\n", i);
		return;
	}
	fprintf(out, "answer: %s\n", req);
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void say(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Waits up to ms for the control socket and serves it once; fails the
 * test when the call took longer than CALL_MAX_MS. */
static void serve(struct control *c, int ms)
{
	struct pollfd p = { .fd = control_fd(c), .events = POLLIN };
	uint64_t t0;

	if (poll(&p, 1, ms) <= 0)
		return;
	t0 = ms_now();
	control_serve(c, handler, NULL);
	if (ms_now() - t0 > CALL_MAX_MS)
		fail_msg("control_serve took %llu ms", (unsigned long long)(ms_now() - t0));
}

/* What fd has to read now: >0 bytes (into buf), 0 at the end of the
 * stream, -1 when nothing yet. */
static ssize_t peek(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);

	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return -1;
	}
	return n;
}

/* Serves c until fd has the whole answer "answer: REQ\n" (within 2 s). */
static void expect_answer(struct control *c, int fd, const char *req)
{
	char want[300], got[300];
	size_t have = 0;
	uint64_t end = ms_now() + 2000;

	snprintf(want, sizeof(want), "answer: %s\n", req);
	while (ms_now() < end) {
		ssize_t n;

		serve(c, 20);
		n = peek(fd, got + have, sizeof(got) - 1 - have);
		if (n == 0)
			break;
		if (n > 0)
			have += (size_t)n;
	}
	got[have] = '\0';
	assert_string_equal(got, want);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/spd-control.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl/control.sock", dir);
	*state = control_open(path);
	assert_non_null(*state);
	return 0;
}

static int teardown(void **state)
{
	char ctl[80];

	control_close(*state);
	snprintf(ctl, sizeof(ctl), "%s/ctl", dir);
	rmdir(ctl);
	rmdir(dir);
	return 0;
}

/* A client that sends one byte of its request and then a byte every
 * 300 ms (issue 13, item 7: one every 0.9 s used to hold the main thread
 * for minutes, past the watchdog): another client is answered meanwhile,
 * and the slow one is closed once its second is up, unanswered. */
static void test_slow_client(void **state)
{
	struct control *c = *state;
	int slow = client(), good;
	uint64_t t0 = ms_now(), closed = 0, next = t0 + 300;
	char buf[64];

	say(slow, "s");
	serve(c, 100);
	good = client();
	say(good, "stats\n");
	expect_answer(c, good, "stats");
	close(good);
	while (ms_now() < t0 + 3000 && !closed) {
		ssize_t n;

		if (ms_now() >= next) {
			(void)send(slow, "t", 1, MSG_NOSIGNAL);
			next += 300;
		}
		serve(c, 50);
		n = peek(slow, buf, sizeof(buf));
		assert_true(n <= 0);               /* never answered */
		if (n == 0)
			closed = ms_now();
	}
	assert_true(closed);
	assert_true(closed - t0 >= 900 && closed - t0 <= 2000);
	close(slow);
}

/* A request line past 255 bytes is refused with an error, at once. */
static void test_request_too_long(void **state)
{
	struct control *c = *state;
	int fd = client();
	char big[301], got[128];
	ssize_t n = -1;
	uint64_t end = ms_now() + 2000;

	memset(big, 'x', 300);
	big[300] = '\0';
	say(fd, big);
	while (ms_now() < end && (n = peek(fd, got, sizeof(got) - 1)) < 0)
		serve(c, 20);
	assert_true(n > 0);
	got[n] = '\0';
	assert_non_null(strstr(got, "error: request longer"));
	close(fd);
}

/* Connections opened in a loop and left silent take every slot: a new
 * client still gets one (the oldest silent one gives it up) and is
 * answered. */
static void test_connection_flood(void **state)
{
	struct control *c = *state;
	int idle[40], good;

	for (int i = 0; i < 40; i++) {
		idle[i] = client();
		serve(c, 10);
	}
	good = client();
	say(good, "flows\n");
	expect_answer(c, good, "flows");
	close(good);
	for (int i = 0; i < 40; i++)
		close(idle[i]);
}

/* A client that asks for a large answer and never reads it: the daemon
 * sends what the socket takes and goes on; others are answered. */
static void test_reader_that_never_reads(void **state)
{
	struct control *c = *state;
	int lazy = client(), good;
	uint64_t end = ms_now() + 500;

	say(lazy, "big\n");
	while (ms_now() < end)
		serve(c, 20);
	good = client();
	say(good, "stats json\n");
	expect_answer(c, good, "stats json");
	close(good);
	close(lazy);
	serve(c, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_that_never_reads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
