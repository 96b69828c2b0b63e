/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The systemd notification protocol (sd_notify(3)) without libsystemd:
 * one datagram per state change to the socket named by $NOTIFY_SOCKET.
 * Every function is a no-op when the daemon does not run under systemd. */
#ifndef SP_NOTIFY_H
#define SP_NOTIFY_H

#include <stdint.h>

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC/$WATCHDOG_PID and opens the
 * datagram socket.  Returns 0, or -1 when the variable is malformed or the
 * socket cannot be made (then notifications are off). */
int notify_open(void);

/* Sends msg ("READY=1", "STATUS=...", several separated by newlines). */
void notify_send(const char *msg);

/* Sends "STATUS=" followed by the formatted text. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How often to send WATCHDOG=1 (half the configured timeout), in
 * milliseconds; 0 when no watchdog is configured for this process. */
uint64_t notify_watchdog_ms(void);

/* Closes the socket. */
void notify_close(void);

#endif
