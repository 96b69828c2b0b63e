/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the rules text (rules.c) and the code that applies it
 * (rules_apply.c) share: synproxyd's chains, the tools' names, and which
 * rules need lines. */
#ifndef SP_RULES_INT_H
#define SP_RULES_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"
#include "rules.h"

struct chain {
	const char *table;
	const char *builtin;   /* the built-in chain holding the jump */
	const char *name;
};

enum {
	CH_RAW,
	CH_FORWARD,
	CH_IN,
	CH_OUT,
	CH_TS,
	CH_COUNT
};

static const struct chain CHAINS[CH_COUNT] = {
	[CH_RAW] = { "raw", "OUTPUT", "SYNPROXYD-RAW" },
	[CH_FORWARD] = { "filter", "FORWARD", "SYNPROXYD" },
	[CH_IN] = { "filter", "INPUT", "SYNPROXYD-IN" },
	[CH_OUT] = { "filter", "OUTPUT", "SYNPROXYD-OUT" },
	[CH_TS] = { "filter", NULL, "SYNPROXYD-TS" },  /* never jumped to */
};

static const char *const TOOL_RESTORE[2] = { "iptables-restore", "ip6tables-restore" };
static const char *const TOOL_SAVE[2] = { "iptables-save", "ip6tables-save" };
static const char *const FAMILY_NAME[2] = { "IPv4", "IPv6" };

#define QUEUED ((1u << RULE_PROXY) | (1u << RULE_RESET))
#define NEEDED (QUEUED | (1u << RULE_DROP))

/* True when some rule of family f has an action in mask (1 << action). */
bool rules_have(const struct conf *c, enum rules_family f, unsigned mask);

/* Writes the lines dropping chain ch, once its jumps are gone. */
static inline void print_drop_chain(FILE *out, int ch)
{
	fprintf(out, "-F %s\n-X %s\n", CHAINS[ch].name, CHAINS[ch].name);
}

#endif
