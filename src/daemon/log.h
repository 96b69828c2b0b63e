/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for the daemon: stderr (with sd-daemon(3) priority prefixes when
 * stderr is the journal) or syslog, a level threshold, and a rate limit per
 * call site for messages that packets can trigger.
 *
 * The convention is ntpd's: log_err and log_warn append ": " and
 * strerror(errno) to the message, log_errx and log_warnx do not (a cause
 * in the middle of a sentence is formatted by the caller).  Everything the
 * daemon and its command-line actions report goes through here; before
 * log_open the target is stderr, so -t, --print-rules and --install-rules
 * print their errors there. */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "conf.h"

/* Directs messages to target from now on, dropping those less important
 * than level (a syslog priority); looks again whether stderr is the
 * journal (JOURNAL_STREAM). */
void log_open(enum conf_log_target target, int level);

/* Changes the threshold (a reload may change it). */
void log_set_level(int level);

/* Closes syslog if it was used; later messages go to stderr. */
void log_close(void);

/* True when a message at prio would be written (to skip formatting work
 * for debug lines). */
bool log_enabled(int prio);

/* Logs one message at priority prio, followed by ": " and errno's text
 * when with_errno; thread-safe, and errno is left as it was. */
void log_msg(int prio, bool with_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_ERR, true, __VA_ARGS__)
#define log_errx(...) log_msg(LOG_ERR, false, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, true, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_WARNING, false, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, false, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, false, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, false, __VA_ARGS__)

/* One call site's budget: LOG_LIMIT_BURST messages a second. */
struct log_limit {
	uint64_t ll_window_ms;
	uint32_t ll_count;
	uint32_t ll_suppressed;
};

#define LOG_LIMIT_BURST 5

/* Logs as log_msg does when the budget l allows one more message at
 * now_ms; counts the ones it does not, and the first message written once
 * a new second has opened ends with how many were suppressed.  Messages
 * below the level threshold neither use nor count against the budget. */
void log_limited(struct log_limit *l, uint64_t now_ms, int prio, bool with_errno,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The rate-limited forms, each call site with a budget of its own per
 * thread (so no lock): log_warn_limited(now_ms, fmt, ...) and so on. */
#define LOG_LIMITED(now_ms, prio, with_errno, ...)                          \
	do {                                                                \
		static __thread struct log_limit log_limit_site_;           \
		log_limited(&log_limit_site_, (now_ms), (prio), (with_errno), __VA_ARGS__); \
	} while (0)
#define log_warn_limited(now_ms, ...) LOG_LIMITED(now_ms, LOG_WARNING, true, __VA_ARGS__)
#define log_warnx_limited(now_ms, ...) LOG_LIMITED(now_ms, LOG_WARNING, false, __VA_ARGS__)
#define log_info_limited(now_ms, ...) LOG_LIMITED(now_ms, LOG_INFO, false, __VA_ARGS__)
#define log_debug_limited(now_ms, ...) LOG_LIMITED(now_ms, LOG_DEBUG, false, __VA_ARGS__)

#endif
