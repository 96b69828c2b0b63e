/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every output of the statistics (see stats.h) walks one table generated
 * from the three lists, and writes each value through put_metric. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "stats.h"

enum group { G_ENGINE, G_DAEMON, G_XDP };

struct metric {
	const char *name;
	const char *help;
	enum group group;
	unsigned idx;
	bool counter;
	bool per_queue;
};

#define COUNTER true
#define GAUGE false
#define QUEUE true
#define DAEMON false

static const struct metric metrics[] = {
#define ENGINE_ROW(name, help) { #name, help, G_ENGINE, CNT_##name, true, true },
	COUNTER_LIST(ENGINE_ROW)
#undef ENGINE_ROW
#define DAEMON_ROW(name, type, scope, help) { #name, help, G_DAEMON, DS_##name, type, scope },
	DAEMON_STATS(DAEMON_ROW)
#undef DAEMON_ROW
#define XDP_ROW(name, help) { #name, help, G_XDP, XC_##name, true, false },
	XDP_COUNTERS(XDP_ROW)
#undef XDP_ROW
};

#undef COUNTER
#undef GAUGE
#undef QUEUE
#undef DAEMON

static uint64_t value(const struct stats *s, const struct metric *m)
{
	switch (m->group) {
	case G_ENGINE:
		return s->st_engine[m->idx];
	case G_DAEMON:
		return s->st_daemon[m->idx];
	case G_XDP:
		return s->st_xdp[m->idx];
	}
	return 0;
}

void stats_add(struct stats *sum, const struct stats *s)
{
	size_t i;

	for (i = 0; i < CNT_MAX; i++) {
		sum->st_engine[i] += s->st_engine[i];
		sum->st_reason[0][i] += s->st_reason[0][i];
		sum->st_reason[1][i] += s->st_reason[1][i];
	}
	for (i = 0; i < DS_MAX; i++)
		sum->st_daemon[i] += s->st_daemon[i];
	for (i = 0; i < XC_MAX; i++)
		sum->st_xdp[i] += s->st_xdp[i];
	if (s->st_rules_gen == sum->st_rules_gen && s->st_nrules == sum->st_nrules)
		for (i = 0; i < sum->st_nrules && i < POLICY_MAX_RULES; i++)
			sum->st_rule_syn[i] += s->st_rule_syn[i];
}

void stats_prom_family(FILE *out, const char *name, bool counter, const char *help)
{
	const char *suffix = counter ? "_total" : "";

	fprintf(out, "# HELP synproxyd_%s%s %s\n# TYPE synproxyd_%s%s %s\n", name, suffix, help,
		name, suffix, counter ? "counter" : "gauge");
}

void stats_prom_sample(FILE *out, const char *name, bool counter, const char *labels,
		       uint64_t v)
{
	fprintf(out, "synproxyd_%s%s%s %" PRIu64 "\n", name, counter ? "_total" : "", labels, v);
}

/* Writes one value of m in format f; sep is what precedes a JSON member. */
static void put_metric(FILE *out, enum stats_format f, const struct metric *m, uint64_t v,
		       const char *sep)
{
	switch (f) {
	case STATS_TEXT:
		fprintf(out, "%s %" PRIu64 "\n", m->name, v);
		break;
	case STATS_JSON:
		fprintf(out, "%s\"%s\":%" PRIu64, sep, m->name, v);
		break;
	case STATS_PROMETHEUS:
		stats_prom_family(out, m->name, m->counter, m->help);
		stats_prom_sample(out, m->name, m->counter, "", v);
		break;
	}
}

static bool shown(const struct stats *s, const struct metric *m)
{
	return m->group != G_XDP || s->st_daemon[DS_xdp_interfaces] > 0;
}

void stats_print(FILE *out, const struct stats *s, enum stats_format f)
{
	const char *sep = "";
	size_t i;

	if (f == STATS_JSON)
		fputc('{', out);
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		if (!shown(s, &metrics[i]))
			continue;
		put_metric(out, f, &metrics[i], value(s, &metrics[i]), sep);
		sep = ",";
	}
	if (f == STATS_JSON)
		fputs("}\n", out);
}

void stats_print_labelled(FILE *out, const struct stats *q, unsigned n, uint16_t first_queue,
			  const struct stats *sum)
{
	char labels[128];
	size_t i;
	unsigned k;
	int v, c;

	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];

		if (!shown(sum, m))
			continue;
		stats_prom_family(out, m->name, m->counter, m->help);
		if (!m->per_queue) {
			stats_prom_sample(out, m->name, m->counter, "", value(sum, m));
			continue;
		}
		for (k = 0; k < n; k++) {
			snprintf(labels, sizeof(labels), "{queue=\"%u\"}", first_queue + k);
			stats_prom_sample(out, m->name, m->counter, labels, value(&q[k], m));
		}
	}
	stats_prom_family(out, "verdict_reasons", true,
			  "input packets by verdict and the engine counter that explains it");
	for (k = 0; k < n; k++)
		for (v = 0; v < 2; v++)
			for (c = 0; c < CNT_MAX; c++) {
				if (!q[k].st_reason[v][c])
					continue;
				snprintf(labels, sizeof(labels),
					 "{queue=\"%u\",verdict=\"%s\",reason=\"%s\"}",
					 first_queue + k, v ? "drop" : "accept",
					 counter_name((enum counter)c));
				stats_prom_sample(out, "verdict_reasons", true, labels,
						  q[k].st_reason[v][c]);
			}
}

/* Seconds with millisecond decimals, as Prometheus timestamps are. */
static void put_seconds(FILE *out, const char *name, const char *help, uint64_t ms)
{
	fprintf(out, "# HELP synproxyd_%s %s\n# TYPE synproxyd_%s gauge\n"
		"synproxyd_%s %" PRIu64 ".%03u\n", name, help, name, name, ms / 1000,
		(unsigned)(ms % 1000));
}

void stats_print_info(FILE *out, const struct stats_info *i, const struct stats *sum)
{
	static const char *const action[] = {
		[RULE_PROXY] = "proxy", [RULE_RESET] = "reset", [RULE_ACCEPT] = "accept",
		[RULE_DROP] = "drop",
	};
	char labels[128];
	uint32_t r;

	stats_prom_family(out, "build_info", false, "the running build (always 1)");
	snprintf(labels, sizeof(labels), "{version=\"%s\",xdp=\"%s\"}", i->si_version,
		 i->si_xdp_built ? "yes" : "no");
	stats_prom_sample(out, "build_info", false, labels, 1);
	put_seconds(out, "start_time_seconds", "when the daemon started (Unix time)",
		    i->si_start_ms);
	stats_prom_family(out, "config_last_reload_successful", false,
			  "1 when the last reload worked (or none was tried), 0 when it failed "
			  "and the previous configuration is running");
	stats_prom_sample(out, "config_last_reload_successful", false, "", i->si_reload_ok);
	put_seconds(out, "config_last_reload_success_timestamp_seconds",
		    "when the running configuration was loaded (Unix time)", i->si_loaded_ms);
	stats_prom_family(out, "config_reloads", true, "reloads by result");
	stats_prom_sample(out, "config_reloads", true, "{result=\"success\"}",
			  i->si_reloads - i->si_reload_failures);
	stats_prom_sample(out, "config_reloads", true, "{result=\"failure\"}",
			  i->si_reload_failures);
	stats_prom_family(out, "rule_info", false, "the rules in force (always 1)");
	for (r = 0; r < i->si_nrules && r < POLICY_MAX_RULES; r++) {
		snprintf(labels, sizeof(labels), "{rule=\"%s\",action=\"%s\"}",
			 i->si_rule[r].name, action[i->si_rule[r].action]);
		stats_prom_sample(out, "rule_info", false, labels, 1);
	}
	if (sum->st_rules_gen != i->si_rules_gen || sum->st_nrules != i->si_nrules)
		return;  /* a reload is being taken up: the counts are for other rules */
	stats_prom_family(out, "rule_syn_received", true,
			  "client SYNs for each rule: those the queue saw and those the XDP stage answered or dropped (a rule keeps its count across reloads by its name)");
	for (r = 0; r < i->si_nrules && r < POLICY_MAX_RULES; r++) {
		snprintf(labels, sizeof(labels), "{rule=\"%s\"}", i->si_rule[r].name);
		stats_prom_sample(out, "rule_syn_received", true, labels, sum->st_rule_syn[r]);
	}
}
