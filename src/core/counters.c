/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The names and descriptions of the engine's counters, both generated
 * from COUNTER_LIST (counters.h). */
#include "counters.h"

static const char *const names[CNT_MAX] = {
#define COUNTER_NAME(name, help) #name,
	COUNTER_LIST(COUNTER_NAME)
#undef COUNTER_NAME
};

static const char *const helps[CNT_MAX] = {
#define COUNTER_HELP(name, help) help,
	COUNTER_LIST(COUNTER_HELP)
#undef COUNTER_HELP
};

const char *counter_name(enum counter c)
{
	return (unsigned)c < CNT_MAX ? names[c] : "?";
}

const char *counter_help(enum counter c)
{
	return (unsigned)c < CNT_MAX ? helps[c] : "?";
}
