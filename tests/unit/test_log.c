/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's logging convention (src/daemon/log.c): log_warn appends
 * errno's text and log_warnx does not, errno survives a log call, the
 * level threshold, the rate limit per call site (a budget of
 * LOG_LIMIT_BURST lines a second, the first line of a new second saying
 * how many were suppressed), and <N> priority prefixes when stderr is the
 * journal.  stderr is redirected to a file and read
 * back. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"

static char path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	if (saved_stderr < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	unlink(path);
	return 0;
}

/* What stderr received since the last call (static buffer). */
static const char *taken(void)
{
	static char buf[8192];
	static long off;
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, off, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	off += (long)n;
	fclose(f);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_errno_convention(void **state)
{
	char want[256];

	(void)state;
	log_open(CONF_LOG_STDERR, LOG_INFO);
	taken();
	errno = ENOENT;
	log_warn("opening %s", "x.conf");
	assert_int_equal(errno, ENOENT);
	snprintf(want, sizeof(want), "synproxyd: warning: opening x.conf: %s\n", strerror(ENOENT));
	assert_string_equal(taken(), want);
	errno = ENOENT;
	log_warnx("plain %d", 7);
	assert_string_equal(taken(), "synproxyd: warning: plain 7\n");
	errno = EPERM;
	log_err("socket");
	snprintf(want, sizeof(want), "synproxyd: error: socket: %s\n", strerror(EPERM));
	assert_string_equal(taken(), want);
	log_errx("bad");
	assert_string_equal(taken(), "synproxyd: error: bad\n");
	log_debug("not shown at info");
	assert_string_equal(taken(), "");
	assert_false(log_enabled(LOG_DEBUG));
	assert_true(log_enabled(LOG_INFO));
}

/* Two call sites with a budget each. */
static void site_a(uint64_t now, int i)
{
	log_warnx_limited(now, "site a %d", i);
}

static void site_b(uint64_t now, int i)
{
	log_warnx_limited(now, "site b %d", i);
}

static void test_rate_limit(void **state)
{
	const char *got;
	int i;

	(void)state;
	log_open(CONF_LOG_STDERR, LOG_INFO);
	taken();
	for (i = 0; i < 12; i++)
		site_a(5000 + (uint64_t)i, i);
	got = taken();
	assert_int_equal(count_lines(got), LOG_LIMIT_BURST);
	assert_non_null(strstr(got, "site a 4\n"));
	assert_null(strstr(got, "site a 5"));
	/* Another site still has its whole budget. */
	for (i = 0; i < 3; i++)
		site_b(5100, i);
	assert_int_equal(count_lines(taken()), 3);
	/* Within the same second site a stays silent ... */
	site_a(5999, 99);
	assert_string_equal(taken(), "");
	/* ... and the next second's first line says what was left out. */
	site_a(6000, 100);
	assert_string_equal(taken(),
			    "synproxyd: warning: site a 100 (8 similar lines suppressed)\n");
	site_a(6001, 101);
	assert_string_equal(taken(), "synproxyd: warning: site a 101\n");
	/* Lines below the threshold use no budget. */
	log_set_level(LOG_NOTICE);
	for (i = 0; i < 20; i++)
		LOG_LIMITED(9000, LOG_INFO, false, "hidden %d", i);
	assert_string_equal(taken(), "");
}

/* With JOURNAL_STREAM naming stderr's file, lines carry <N> priorities
 * and no name; naming another file changes nothing. */
static void test_journal(void **state)
{
	struct stat st;
	char env[64];

	(void)state;
	assert_int_equal(fstat(2, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_open(CONF_LOG_STDERR, LOG_DEBUG);
	taken();
	log_notice("another file");
	assert_string_equal(taken(), "synproxyd: notice: another file\n");
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_open(CONF_LOG_STDERR, LOG_DEBUG);
	errno = EPERM;
	log_err("bind");
	log_warnx("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	snprintf(env, sizeof(env), "<3>bind: %s\n<4>w\n<5>n\n<6>i\n<7>d\n", strerror(EPERM));
	assert_string_equal(taken(), env);
	unsetenv("JOURNAL_STREAM");
	log_open(CONF_LOG_STDERR, LOG_INFO);
	log_info("plain again");
	assert_string_equal(taken(), "synproxyd: info: plain again\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_convention),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_journal),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
