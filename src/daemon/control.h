/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: an AF_UNIX stream socket taking one request line
 * per connection ("stats", "stats json", "stats prometheus", "flows",
 * "reload") and answering with text before it closes the connection. */
#ifndef SP_CONTROL_H
#define SP_CONTROL_H

#include <stdio.h>

struct control;

/* Answers request req (without its newline) by writing to out. */
typedef void control_handler(const char *req, FILE *out, void *ctx);

/* Creates path's directory (0750) if missing and listens on path (0660).
 * A stale socket is replaced; a live one (another daemon) is an error.
 * Returns NULL with a logged reason. */
struct control *control_open(const char *path);

/* The descriptor to poll for input (an epoll set holding the listening
 * socket, the connections and their timer). */
int control_fd(const struct control *c);

/* Does whatever is ready, without blocking: takes new connections, reads
 * requests (a line of at most 255 bytes, within a second of connecting),
 * calls fn for each complete one, sends answers (each within ten seconds
 * of its request) and closes connections past their time.  Call it when
 * control_fd is readable. */
void control_serve(struct control *c, control_handler *fn, void *ctx);

/* Closes the socket and removes its file. */
void control_close(struct control *c);

#endif
