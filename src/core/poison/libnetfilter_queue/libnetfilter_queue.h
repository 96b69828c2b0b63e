/* SPDX-License-Identifier: GPL-2.0-or-later */
/* src/core is a pure library: no I/O library and no system call may be
 * reached from it (see STYLE.md, "a pure core").  This header shadows the
 * real <libnetfilter_queue/libnetfilter_queue.h> on the core's include path so that a stray include fails. */
#error "src/core must not include <libnetfilter_queue/libnetfilter_queue.h>: keep I/O in src/daemon or src/tools"
