/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Messages go to stderr unadorned when systemd captures them (it adds
 * the time and the unit), or to syslog with the daemon facility. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static enum conf_log_target log_target = CONF_LOG_STDERR;
static int log_level = LOG_NOTICE;

void log_open(enum conf_log_target target, int level)
{
	if (target == CONF_LOG_SYSLOG && log_target != CONF_LOG_SYSLOG)
		openlog("synproxyd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_target = target;
	log_level = level;
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

void log_msg(int prio, const char *fmt, ...)
{
	static const char *const tag[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
	};
	char line[1024];
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_target == CONF_LOG_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	/* One fprintf per line keeps lines from two threads apart. */
	fprintf(stderr, "synproxyd: %s: %s\n", tag[prio & 7], line);
}

bool log_limit_allow(struct log_limit *l, uint64_t now_ms, uint32_t *suppressed)
{
	*suppressed = 0;
	if (now_ms - l->ll_window_ms >= 1000) {
		*suppressed = l->ll_suppressed;
		l->ll_window_ms = now_ms;
		l->ll_count = 0;
		l->ll_suppressed = 0;
	}
	if (l->ll_count < LOG_LIMIT_BURST) {
		l->ll_count++;
		return true;
	}
	l->ll_suppressed++;
	return false;
}
