/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's clocks (see clock.h). */
#include <time.h>

#include "clock.h"

static uint64_t read_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

uint64_t wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}
