/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's two clocks in milliseconds: the monotonic one every timer
 * and the engine run on, and the wall clock the SYN-cookie counter follows
 * (engine_set_wallclock), so that proxies sharing a secret agree. */
#ifndef SP_CLOCK_H
#define SP_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t mono_ms(void);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t wall_ms(void);

#endif
