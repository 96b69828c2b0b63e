/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy: the compiled rule set (which destinations and ports are
 * protected and how, with each rule's options, allow/deny sets and
 * per-source limits).  The tables that enforce a rule at run time have
 * their own modules: cidrset.h, srclimit.h, learned.h, passlist.h.
 *
 * A struct policy is built once (by the config loader or a test) and is
 * read-only afterwards, so a reload swaps in a whole new one. */
#ifndef SP_POLICY_H
#define SP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cidrset.h"

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

/* The MSS mss "auto" announces before the server's own is learned: what a
 * 1500-byte link carries in each family, as the kernel announces on one. */
#define AUTO_MSS4 1460
#define AUTO_MSS6 1440

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
	uint16_t mss;                    /* OPT_ON value */
	enum opt_mode wscale_mode;
	uint8_t wscale;
	enum opt_mode sack_mode;
	enum opt_mode ts_mode;
	bool ecn;                        /* accept ECN-setup SYNs */
	struct cidrset *allow;           /* NULL: everyone */
	struct cidrset *deny;            /* NULL: nobody */
	uint32_t max_half_open_per_source;  /* 0: no limit */
	uint32_t max_flows_per_source;   /* flows one source network may hold; 0: no limit */
	uint8_t flows_prefix4;           /* what one source network is: IPv4 /n ... */
	uint8_t flows_prefix6;           /* ... and IPv6 /n */
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

/* What identifies rule r across a reload: a hash of what it matches (its
 * destination prefix and ports) and its action, not of its place in the
 * list nor of its other settings.  The RULE_RESET pass list is keyed by
 * it, so that a reload that reorders the rules does not let a source
 * through another rule. */
uint32_t rule_ident(const struct rule *r);

/* Releases the cidrsets the rules own; the struct itself is the caller's. */
void policy_clear(struct policy *pol);

#endif
