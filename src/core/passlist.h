/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pass list of RULE_RESET rules: sources whose handshake was proved
 * and reset, let through until a deadline (passlist.c; the table's shape
 * is in settable.h). */
#ifndef SP_PASSLIST_H
#define SP_PASSLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* Source addresses let through by a RULE_RESET rule until a deadline. */
struct passlist;

/* A table of nslots (power of two) entries; a full set drops its entry
 * that expires first. */
struct passlist *passlist_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void passlist_free(struct passlist *t);

/* Bytes it allocated. */
size_t passlist_memory(const struct passlist *t);

/* Lets src through for rule (its rule_ident, which a reload that reorders
 * the rules does not change) until now_ms + ms. */
void passlist_add(struct passlist *t, const struct addr *src, uint32_t rule,
		  uint64_t now_ms, uint32_t ms);

/* True when src is let through for rule at now_ms. */
bool passlist_check(const struct passlist *t, const struct addr *src, uint32_t rule,
		    uint64_t now_ms);

#endif
