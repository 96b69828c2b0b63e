/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Messages go to stderr as "synproxyd: LEVEL: text", or to syslog with
 * the daemon facility.  When stderr is the journal's stream (systemd sets
 * JOURNAL_STREAM to its device and inode), lines are "<N>text" instead:
 * the journal takes N as the priority and adds the name itself
 * (sd-daemon(3)).  Each message is formatted whole and written with one
 * call, so lines from two threads never mix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static enum conf_log_target log_target = CONF_LOG_STDERR;
static int log_level = LOG_NOTICE;
static int log_journal = -1;     /* stderr is the journal: 1; -1 not known yet */

/* Whether JOURNAL_STREAM names the file stderr is ("DEVICE:INODE"). */
static int journal_detect(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(enum conf_log_target target, int level)
{
	if (target == CONF_LOG_SYSLOG && log_target != CONF_LOG_SYSLOG)
		openlog("synproxyd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = target;
	log_level = level;
	log_journal = journal_detect();
}

void log_set_level(int level)
{
	log_level = level;
}

void log_close(void)
{
	if (log_target == CONF_LOG_SYSLOG)
		closelog();
	log_target = CONF_LOG_STDERR;
}

bool log_enabled(int prio)
{
	return prio <= log_level;
}

/* Writes one message: fmt with ap, errno's text (err, when with_errno),
 * and tail. */
static void emit(int prio, bool with_errno, int err, const char *tail, const char *fmt,
		 va_list ap)
{
	static const char *const tag[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	char line[1024], cause[128] = "";

	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno)
		snprintf(cause, sizeof(cause), ": %s", strerror(err));
	if (log_target == CONF_LOG_SYSLOG) {
		syslog(prio, "%s%s%s", line, cause, tail);
		return;
	}
	/* Before log_open, on the thread that starts (the only one then). */
	if (log_journal < 0)
		log_journal = journal_detect();
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", prio & 7, line, cause, tail);
	else
		fprintf(stderr, "synproxyd: %s: %s%s%s\n", tag[prio & 7], line, cause, tail);
}

void log_msg(int prio, bool with_errno, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	emit(prio, with_errno, err, "", fmt, ap);
	va_end(ap);
	errno = err;
}

void log_limited(struct log_limit *l, uint64_t now_ms, int prio, bool with_errno,
		 const char *fmt, ...)
{
	int err = errno;
	char tail[64] = "";
	va_list ap;

	if (prio > log_level)
		return;
	if (now_ms - l->ll_window_ms >= 1000 || l->ll_window_ms == 0) {
		if (l->ll_suppressed)
			snprintf(tail, sizeof(tail), " (%u similar lines suppressed)",
				 l->ll_suppressed);
		l->ll_window_ms = now_ms ? now_ms : 1;
		l->ll_count = 0;
		l->ll_suppressed = 0;
	}
	if (l->ll_count >= LOG_LIMIT_BURST) {
		l->ll_suppressed++;
		errno = err;
		return;
	}
	l->ll_count++;
	va_start(ap, fmt);
	emit(prio, with_errno, err, tail, fmt, ap);
	va_end(ap);
	errno = err;
}
