/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration's rules (conf_int.h): each rule's destination, ports,
 * action, options, source lists and limits, checked one by one and
 * against each other (names are unique, and no two rules may overlap). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_int.h"

/* ------------------------------------------------------------------ */
/* Rules */

static int get_prefix(struct ctx *x, const config_setting_t *s, struct prefix *p)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be an address or prefix string",
			          cf_label(s));
	if (prefix_parse(config_setting_get_string(s), p) < 0)
		return cf_fail_at(x, cf_line_of(s), "'%s': bad address or prefix \"%s\" "
			          "(malformed, or host bits set)", cf_label(s),
			          config_setting_get_string(s));
	return 0;
}

static bool is_list(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
}

static int get_ports(struct ctx *x, const config_setting_t *s, struct rule *r)
{
	int n = config_setting_length(s);

	if (!is_list(s))
		return cf_fail_at(x, cf_line_of(s), "'ports' must be a list [ ... ] of port numbers");
	if (n < 1 || n > RULE_MAX_PORTS)
		return cf_fail_at(x, cf_line_of(s), "'ports' must hold 1 to %d ports", RULE_MAX_PORTS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		int64_t v;

		if (cf_get_int(x, e, 1, 65535, &v) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (r->ports[j] == v)
				return cf_fail_at(x, cf_line_of(e), "port %" PRId64 " listed twice", v);
		r->ports[i] = (uint16_t)v;
	}
	r->nports = (uint8_t)n;
	return 0;
}

/* flows_source_prefix = [ IPv4 length, IPv6 length ]. */
static int get_source_prefix(struct ctx *x, const config_setting_t *s, struct rule *r)
{
	int64_t v4, v6;

	if (!is_list(s) || config_setting_length(s) != 2)
		return cf_fail_at(x, cf_line_of(s), "'flows_source_prefix' must be a list [ IPv4 length, "
			          "IPv6 length ]");
	if (cf_get_int(x, config_setting_get_elem(s, 0), 1, 32, &v4) < 0 ||
	    cf_get_int(x, config_setting_get_elem(s, 1), 1, 128, &v6) < 0)
		return -1;
	r->flows_prefix4 = (uint8_t)v4;
	r->flows_prefix6 = (uint8_t)v6;
	return 0;
}

static int get_cidrset(struct ctx *x, const config_setting_t *s, struct cidrset **out)
{
	int n = config_setting_length(s);
	struct prefix *p;

	if (!is_list(s))
		return cf_fail_at(x, cf_line_of(s), "'%s' must be a list [ ... ] of prefixes",
			          cf_label(s));
	if (n < 1 || n > CONF_LIST_MAX)
		return cf_fail_at(x, cf_line_of(s), "'%s' must hold 1 to %d prefixes", cf_label(s),
			          CONF_LIST_MAX);
	p = calloc((size_t)n, sizeof(*p));
	if (!p)
		return cf_fail_at(x, cf_line_of(s), "out of memory");
	for (int i = 0; i < n; i++) {
		if (get_prefix(x, config_setting_get_elem(s, (unsigned)i), &p[i]) < 0) {
			free(p);
			return -1;
		}
	}
	*out = cidrset_new(p, (size_t)n);
	free(p);
	if (!*out)
		return cf_fail_at(x, cf_line_of(s), "out of memory");
	return 0;
}

static int get_name(struct ctx *x, const config_setting_t *s, struct rule *r)
{
	const char *v;
	size_t len;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cf_fail_at(x, cf_line_of(s), "'name' must be a string");
	v = config_setting_get_string(s);
	len = strlen(v);
	if (len < 1 || len >= RULE_NAME_MAX)
		return cf_fail_at(x, cf_line_of(s), "rule name must be 1 to %d characters",
			          RULE_NAME_MAX - 1);
	if (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789_.-") != len)
		return cf_fail_at(x, cf_line_of(s), "rule name \"%s\" may hold only letters, "
			          "digits, '_', '.' and '-'", v);
	memcpy(r->name, v, len + 1);
	return 0;
}

/* mss: "auto" or a fixed value. */
static int get_mss(struct ctx *x, const config_setting_t *s, struct rule *r)
{
	int64_t v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "auto") == 0) {
		r->mss_mode = OPT_AUTO;
		return 0;
	}
	if (!cf_is_int(s))
		return cf_fail_at(x, cf_line_of(s), "'mss' must be \"auto\" or 536 to 65535");
	if (cf_get_int(x, s, 536, 65535, &v) < 0)
		return -1;
	r->mss_mode = OPT_ON;
	r->mss = (uint16_t)v;
	return 0;
}

/* wscale: "auto", "off", false or a fixed shift. */
static int get_wscale(struct ctx *x, const config_setting_t *s, struct rule *r)
{
	int t = config_setting_type(s);
	int64_t v;

	if (t == CONFIG_TYPE_STRING && strcmp(config_setting_get_string(s), "auto") == 0) {
		r->wscale_mode = OPT_AUTO;
		return 0;
	}
	if ((t == CONFIG_TYPE_STRING && strcmp(config_setting_get_string(s), "off") == 0) ||
	    (t == CONFIG_TYPE_BOOL && !config_setting_get_bool(s))) {
		r->wscale_mode = OPT_OFF;
		r->wscale = 0;
		return 0;
	}
	if (!cf_is_int(s))
		return cf_fail_at(x, cf_line_of(s), "'wscale' must be \"auto\", \"off\", false "
			          "or 0 to 14");
	if (cf_get_int(x, s, 0, 14, &v) < 0)
		return -1;
	r->wscale_mode = OPT_ON;
	r->wscale = (uint8_t)v;
	return 0;
}

/* sack, timestamps: "auto", true or false. */
static int get_onoff(struct ctx *x, const config_setting_t *s, enum opt_mode *out)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "auto") == 0) {
		*out = OPT_AUTO;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be \"auto\", true or false",
			          cf_label(s));
	*out = config_setting_get_bool(s) ? OPT_ON : OPT_OFF;
	return 0;
}

static void rule_defaults(struct rule *r)
{
	*r = (struct rule){
		.action = RULE_PROXY,
		.mss_mode = OPT_AUTO,
		.mss = AUTO_MSS4,
		.wscale_mode = OPT_AUTO,
		.wscale = 7,
		.sack_mode = OPT_AUTO,
		.ts_mode = OPT_AUTO,
		.max_flows_per_source = CONF_FLOWS_PER_SOURCE_DEFAULT,
		.flows_prefix4 = 32,
		.flows_prefix6 = 64,
	};
}

static int load_rule(struct ctx *x, const config_setting_t *g, struct rule *r)
{
	static const char *const keys[] = {
		"name", "dst", "ports", "action", "mss", "wscale", "sack", "timestamps", "ecn",
		"allow", "deny", "max_half_open_per_source", "syn_rate_per_source",
		"syn_burst_per_source", "reset_pass_time", "max_flows_per_source",
		"flows_source_prefix", NULL
	};
	static const char *const actions[] = { "proxy", "reset", "accept", "drop", NULL };
	static const enum rule_action action_of[] = {
		RULE_PROXY, RULE_RESET, RULE_ACCEPT, RULE_DROP
	};
	const config_setting_t *s;
	char where[RULE_NAME_MAX + 16] = "'rules'";
	int action = 0;

	rule_defaults(r);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cf_fail_at(x, cf_line_of(g), "each rule must be a group { ... }");
	s = config_setting_get_member(g, "name");
	if (s && config_setting_type(s) == CONFIG_TYPE_STRING)
		snprintf(where, sizeof(where), "rule '%.*s'", RULE_NAME_MAX - 1,
			 config_setting_get_string(s));
	if (cf_check_keys(x, g, keys, where) < 0)
		return -1;
	if (!s)
		return cf_fail_at(x, cf_line_of(g), "rule without a 'name'");
	if (get_name(x, s, r) < 0)
		return -1;
	s = config_setting_get_member(g, "dst");
	if (!s)
		return cf_fail_at(x, cf_line_of(g), "rule '%s' has no 'dst'", r->name);
	if (get_prefix(x, s, &r->dst) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "ports")) && get_ports(x, s, r) < 0)
		return -1;
	if (cf_opt_word(x, g, "action", actions, &action) < 0)
		return -1;
	r->action = action_of[action];
	if ((s = config_setting_get_member(g, "mss")) && get_mss(x, s, r) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "wscale")) && get_wscale(x, s, r) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "sack")) && get_onoff(x, s, &r->sack_mode) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "timestamps")) &&
	    get_onoff(x, s, &r->ts_mode) < 0)
		return -1;
	if (cf_opt_bool(x, g, "ecn", &r->ecn) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "allow")) && get_cidrset(x, s, &r->allow) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "deny")) && get_cidrset(x, s, &r->deny) < 0)
		return -1;
	if (cf_opt_u32(x, g, "max_half_open_per_source", 0, 1000000,
		       &r->max_half_open_per_source) < 0 ||
	    cf_opt_u32(x, g, "syn_rate_per_source", 0, 1000000, &r->syn_rate_per_source) < 0 ||
	    cf_opt_u32(x, g, "syn_burst_per_source", 0, 1000000, &r->syn_burst_per_source) < 0 ||
	    cf_opt_u32(x, g, "max_flows_per_source", 0, CONF_FLOWS_MAX, &r->max_flows_per_source) < 0)
		return -1;
	if ((s = config_setting_get_member(g, "flows_source_prefix")) &&
	    get_source_prefix(x, s, r) < 0)
		return -1;
	if (r->syn_burst_per_source && !r->syn_rate_per_source)
		return cf_fail_at(x, cf_line_of(config_setting_get_member(g, "syn_burst_per_source")),
			          "'syn_burst_per_source' needs 'syn_rate_per_source'");
	s = config_setting_get_member(g, "reset_pass_time");
	if (r->action == RULE_RESET) {
		r->reset_pass_ms = 60000;
		if (cf_opt_ms(x, g, "reset_pass_time", 1000, 86400000, &r->reset_pass_ms) < 0)
			return -1;
	} else if (s) {
		return cf_fail_at(x, cf_line_of(s), "'reset_pass_time' needs action \"reset\"");
	}
	return 0;
}

static bool prefixes_overlap(const struct prefix *a, const struct prefix *b)
{
	/* Two prefixes overlap exactly when the shorter contains the longer. */
	return a->len <= b->len ? prefix_contains(a, &b->addr) : prefix_contains(b, &a->addr);
}

static bool ports_intersect(const struct rule *a, const struct rule *b)
{
	if (a->nports == 0 || b->nports == 0)
		return true;
	for (unsigned i = 0; i < a->nports; i++)
		for (unsigned j = 0; j < b->nports; j++)
			if (a->ports[i] == b->ports[j])
				return true;
	return false;
}

int cf_load_rules(struct ctx *x, const config_setting_t *list, struct policy *pol)
{
	unsigned rule_line[POLICY_MAX_RULES], name_line[POLICY_MAX_RULES];
	int n = config_setting_length(list);

	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return cf_fail_at(x, cf_line_of(list), "'rules' must be a list ( { ... }, ... )");
	if (n == 0)
		return cf_fail_at(x, cf_line_of(list), "'rules' is empty");
	if (n > POLICY_MAX_RULES)
		return cf_fail_at(x, cf_line_of(config_setting_get_elem(list, POLICY_MAX_RULES)),
			          "more than %d rules", POLICY_MAX_RULES);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct rule *r = &pol->rules[i];

		/* Counted first, so a failure below frees this rule's sets too. */
		pol->nrules = (uint32_t)i + 1;
		if (load_rule(x, g, r) < 0)
			return -1;
		rule_line[i] = cf_line_of(g);
		name_line[i] = cf_line_of(config_setting_get_member(g, "name"));
		for (int j = 0; j < i; j++) {
			const struct rule *o = &pol->rules[j];

			if (strcmp(o->name, r->name) == 0)
				return cf_fail_at(x, name_line[i], "duplicate rule name '%s' "
					          "(first at line %u)", r->name, name_line[j]);
			if (prefixes_overlap(&o->dst, &r->dst) && ports_intersect(o, r))
				return cf_fail_at(x, rule_line[i], "rule '%s' overlaps rule '%s' "
					          "(line %u)", r->name, o->name, rule_line[j]);
		}
	}
	return 0;
}
