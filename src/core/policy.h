/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy: the compiled rule set (which destinations and ports are
 * protected and how), allow/deny address sets, per-source SYN rate and
 * half-open limits, and the table of TCP options learned from backends.
 *
 * A struct policy is built once (by the config loader or a test) and is
 * read-only afterwards, so a reload swaps in a whole new one. */
#ifndef SP_POLICY_H
#define SP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

enum rule_action {
	RULE_PROXY,     /* answer SYNs, splice to the backend */
	RULE_RESET,     /* validate the handshake, RST it, then let the source through */
	RULE_ACCEPT,    /* pass untouched */
	RULE_DROP,      /* drop */
};

/* A TCP option setting: off, a fixed value, or learned from the backend. */
enum opt_mode {
	OPT_OFF,
	OPT_ON,
	OPT_AUTO,
};

/* A set of prefixes, both families, looked up in O(log n). */
struct cidrset;

/* Builds a set from n prefixes (copied; overlaps merged).  NULL on no
 * memory.  n may be 0. */
struct cidrset *cidrset_new(const struct prefix *p, size_t n);

/* Frees a set (NULL is fine). */
void cidrset_free(struct cidrset *s);

/* True when a is inside some prefix of s. */
bool cidrset_contains(const struct cidrset *s, const struct addr *a);

/* Number of merged ranges (for logs and tests). */
size_t cidrset_size(const struct cidrset *s);

#define RULE_NAME_MAX 32
#define RULE_MAX_PORTS 64

/* One rule, in the order written; the first whose dst and ports match a
 * packet's destination applies. */
struct rule {
	char name[RULE_NAME_MAX];
	struct prefix dst;
	uint16_t ports[RULE_MAX_PORTS];  /* nports == 0 means every port */
	uint8_t nports;
	enum rule_action action;
	enum opt_mode mss_mode;
	uint16_t mss;                    /* OPT_ON value; fallback for OPT_AUTO */
	enum opt_mode wscale_mode;
	uint8_t wscale;
	enum opt_mode sack_mode;
	enum opt_mode ts_mode;
	bool ecn;                        /* accept ECN-setup SYNs */
	struct cidrset *allow;           /* NULL: everyone */
	struct cidrset *deny;            /* NULL: nobody */
	uint32_t max_half_open_per_source;  /* 0: no limit */
	uint32_t syn_rate_per_source;    /* SYNs per second per /24 or /64; 0: no limit */
	uint32_t syn_burst_per_source;   /* bucket depth; 0 means equal to the rate */
	uint32_t reset_pass_ms;          /* RULE_RESET: how long a source passes */
};

#define POLICY_MAX_RULES 250

struct policy {
	struct rule rules[POLICY_MAX_RULES];
	uint32_t nrules;
};

/* Index of the first rule matching destination dst:dport, or -1. */
int policy_match(const struct policy *pol, const struct addr *dst, uint16_t dport);

/* Index of the first proxying rule whose destination is src:sport (a
 * packet from a protected server), or -1. */
int policy_match_server(const struct policy *pol, const struct addr *src, uint16_t sport);

/* Releases the cidrsets the rules own; the struct itself is the caller's. */
void policy_clear(struct policy *pol);

/* Per-source state: a token bucket for SYNs and a half-open count, keyed
 * by the source's /24 (IPv4) or /64 (IPv6).  A fixed-size, set-associative
 * table: when a set is full the least recently used slot is reused, so
 * memory never grows. */
struct srclimit;

/* A table of about nslots slots (rounded to a power of two). */
struct srclimit *srclimit_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void srclimit_free(struct srclimit *t);

/* Bytes it allocated. */
size_t srclimit_memory(const struct srclimit *t);

/* Takes one SYN token for src's prefix at now_ms with rate tokens/s and
 * burst depth; true when allowed.  rate 0 always allows. */
bool srclimit_syn(struct srclimit *t, const struct addr *src, uint32_t rate,
		  uint32_t burst, uint64_t now_ms);

/* Adjusts src's half-open count by delta (+1 or -1, saturating at 0; 0
 * only reads) and returns the new count. */
uint32_t srclimit_half_open(struct srclimit *t, const struct addr *src, int delta);

/* Sets every half-open count to 0 (the token buckets are kept). */
void srclimit_clear_half_open(struct srclimit *t);

/* Options learned from a backend's SYN-ACKs, per backend address and port.
 * Fixed size; a newer backend overwrites an older one in its slot. */
struct learned_opts {
	uint16_t mss;
	uint8_t wscale;      /* 0xff: backend does not scale */
	bool sack;
	bool ts;
	bool valid;
};

struct learned;

/* A table of nslots (power of two) entries. */
struct learned *learned_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void learned_free(struct learned *t);

/* Bytes it allocated. */
size_t learned_memory(const struct learned *t);

/* Records what backend addr:port announced. */
void learned_put(struct learned *t, const struct addr *a, uint16_t port,
		 const struct learned_opts *o);

/* What addr:port announced last; false when unknown. */
bool learned_get(const struct learned *t, const struct addr *a, uint16_t port,
		 struct learned_opts *o);

/* Source addresses let through by a RULE_RESET rule until a deadline. */
struct passlist;

/* A table of nslots (power of two) entries; a full set drops its entry
 * that expires first. */
struct passlist *passlist_new(uint32_t nslots, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees it. */
void passlist_free(struct passlist *t);

/* Bytes it allocated. */
size_t passlist_memory(const struct passlist *t);

/* Lets src through for rule until now_ms + ms. */
void passlist_add(struct passlist *t, const struct addr *src, uint8_t rule,
		  uint64_t now_ms, uint32_t ms);

/* True when src is let through for rule at now_ms. */
bool passlist_check(const struct passlist *t, const struct addr *src, uint8_t rule,
		    uint64_t now_ms);

#endif
