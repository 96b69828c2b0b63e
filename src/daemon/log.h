/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for the daemon: stderr or syslog, a level threshold, and a rate
 * limiter for messages that packets can trigger. */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "conf.h"

/* Directs messages to target from now on, dropping those less important
 * than level (a syslog priority). */
void log_open(enum conf_log_target target, int level);

/* Changes the threshold (a reload may change it). */
void log_set_level(int level);

/* Closes syslog if it was used; later messages go to stderr. */
void log_close(void);

/* Logs one message at priority prio; thread-safe. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A per-call-site budget of LOG_LIMIT_BURST messages per second; owned
 * by one thread, so it needs no lock. */
struct log_limit {
	uint64_t ll_window_ms;
	uint32_t ll_count;
	uint32_t ll_suppressed;
};

#define LOG_LIMIT_BURST 5

/* True when one more message fits the budget at now_ms; counts the ones
 * that do not, and reports how many were suppressed in *suppressed when a
 * new second opens. */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms, uint32_t *suppressed);

#endif
