/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The packet-filter rules a configuration needs: generated as
 * iptables-restore / ip6tables-restore input, applied and removed.  All of
 * synproxyd's rules live in its own chains (SYNPROXYD-*) entered by one
 * jump each from the built-in chains, so removing them touches nothing
 * else on the host.  The text is made in rules.c (pure, see its design
 * comment); rules_apply.c runs iptables-restore and iptables-save. */
#ifndef SP_RULES_H
#define SP_RULES_H

#include <stdio.h>

#include "conf.h"

enum rules_family {
	RULES_IPV4,
	RULES_IPV6,
};

/* Writes the iptables-restore (--noflush) input that installs the rules
 * of family f for c to out.  Rules with no prefix of family f produce
 * only the empty chains.  Returns 0, or -1 on a write error. */
int rules_print(const struct conf *c, enum rules_family f, FILE *out);

/* Writes the input that removes everything rules_print installs. */
int rules_print_remove(const struct conf *c, enum rules_family f, FILE *out);

/* Applies the rules of both families with iptables-restore and
 * ip6tables-restore --noflush.  An older copy with the same chains and
 * jumps is replaced in one transaction per table (no packet sees the
 * chains empty); any other older copy is removed first.  Returns 0, or -1
 * with the reason logged; on failure nothing stays installed. */
int rules_install(const struct conf *c);

/* Removes what rules_install applied; missing chains are not an error.
 * Returns 0, or -1 with the reason logged. */
int rules_remove(const struct conf *c);

/* Compares what iptables-save shows with what c makes: our chains, the
 * jump into each (once) and every rule line in them, in order.  Rules of
 * others before or after our jumps are not ours to judge.  0 when they
 * match, 1 when something was removed or changed, -1 when the tools
 * cannot be run. */
int rules_verify(const struct conf *c);

#endif
