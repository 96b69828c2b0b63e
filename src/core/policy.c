/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rule lookup.  Rules are few (at most POLICY_MAX_RULES) and their order
 * is the meaning of the configuration, so a linear scan in file order is
 * both the simplest and the correct lookup. */
#include <assert.h>

#include "policy.h"

/* Expects r->nports <= RULE_MAX_PORTS. */
static bool port_listed(const struct rule *r, uint16_t port)
{
	assert(r->nports <= RULE_MAX_PORTS);
	if (r->nports == 0)
		return true;
	for (unsigned i = 0; i < r->nports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

static bool rule_covers(const struct rule *r, const struct addr *a, uint16_t port)
{
	return prefix_contains(&r->dst, a) && port_listed(r, port);
}

/* Expects pol->nrules <= POLICY_MAX_RULES. */
int policy_match(const struct policy *pol, const struct addr *dst, uint16_t dport)
{
	assert(pol->nrules <= POLICY_MAX_RULES);
	for (uint32_t i = 0; i < pol->nrules; i++)
		if (rule_covers(&pol->rules[i], dst, dport))
			return (int)i;
	return -1;
}

/* Only rules that put the daemon in the middle of a connection care about
 * the server's side of it; ACCEPT and DROP rules never see those packets
 * as theirs.  Expects pol->nrules <= POLICY_MAX_RULES. */
int policy_match_server(const struct policy *pol, const struct addr *src, uint16_t sport)
{
	assert(pol->nrules <= POLICY_MAX_RULES);
	for (uint32_t i = 0; i < pol->nrules; i++) {
		const struct rule *r = &pol->rules[i];

		if (r->action != RULE_PROXY && r->action != RULE_RESET)
			continue;
		if (rule_covers(r, src, sport))
			return (int)i;
	}
	return -1;
}

/* Expects pol->nrules <= POLICY_MAX_RULES. */
void policy_clear(struct policy *pol)
{
	assert(pol->nrules <= POLICY_MAX_RULES);
	for (uint32_t i = 0; i < pol->nrules; i++) {
		cidrset_free(pol->rules[i].allow);
		cidrset_free(pol->rules[i].deny);
		pol->rules[i].allow = NULL;
		pol->rules[i].deny = NULL;
	}
	pol->nrules = 0;
}

/* FNV-1a over the bytes that say what the rule matches: a keyless hash
 * is enough, two rules that collide would have to be told apart by an
 * attacker who proved a handshake to one of them. */
static uint32_t fnv1a(uint32_t h, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

uint32_t rule_ident(const struct rule *r)
{
	uint32_t h = 2166136261u;
	uint8_t b[4];

	assert(r->nports <= RULE_MAX_PORTS);
	h = fnv1a(h, r->dst.addr.a, sizeof(r->dst.addr.a));
	b[0] = r->dst.len;
	b[1] = r->nports;
	b[2] = (uint8_t)r->action;
	h = fnv1a(h, b, 3);
	for (unsigned i = 0; i < r->nports; i++) {
		b[0] = (uint8_t)(r->ports[i] >> 8);
		b[1] = (uint8_t)r->ports[i];
		h = fnv1a(h, b, 2);
	}
	return h;
}
