/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The XDP stage's loader (see xdp.h and the design comment of
 * src/bpf/xdp_synproxy.bpf.c).
 *
 * Rules go into the program's tries as they are in the policy: one entry
 * per port (or one portless entry) with the rule's prefix.  The policy
 * applies the first rule whose destination and ports match and a
 * longest-prefix trie returns the longest match, but conf.c refuses rules
 * whose prefixes overlap on a common port (a portless rule shares every
 * port), so no address and port has two rules and both answers are the
 * same one.
 *
 * A reload fills the idle generation of every rule table and then flips
 * xdp_cfg.gen with one byte written to the mapped configuration; the
 * generation it leaves stays intact (a packet in flight may still read
 * it) until the next reload clears it. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "cookie.h"
#include "log.h"
#include "xdp.h"
/* bpftool's generated code casts const away. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "xdp_synproxy.skel.h"
#pragma GCC diagnostic pop

_Static_assert(sizeof(struct xdp_flow_key) == sizeof(struct conn_key), "one tuple layout");
_Static_assert(POLICY_MAX_RULES <= XDP_RULES, "every rule has a slot");

#define XDP_FLOWS_MIN 1024

struct xdp_stage {
	struct xdp_synproxy *skel;
	int links[CONF_XDP_IFACES];
	unsigned nlinks;
	int ncpus;
	uint8_t secret[ENGINE_SECRET_LEN];
	uint8_t prev[ENGINE_SECRET_LEN];  /* a rotation's previous secret */
	bool have_prev;
	uint32_t now_t;                   /* the cookie period of the last tick */
	/* The live rules' names (their slots' SYN counts follow a rule's name
	 * across a reload) and the configuration generation they are of. */
	char names[XDP_RULES][RULE_NAME_MAX];
	uint32_t nnames;
	uint32_t conf_gen;
};

/* Writes the key of period u under secret into slot k. */
static void put_key(struct xdp_keyslot *k, const uint8_t secret[ENGINE_SECRET_LEN], uint32_t u)
{
	__atomic_store_n(&k->valid, 0, __ATOMIC_RELEASE);
	cookie_period_key(secret, u, k->key);
	k->t = u;
	__atomic_store_n(&k->valid, 1, __ATOMIC_RELEASE);
}

/* libbpf's messages into the log, one line each; a refused program's
 * verifier log (thousands of lines) is cut to its last lines, which say
 * why. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char text[65536];
	char *line, *next, *keep;
	int n, lines = 0, shown = 0;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return 0;
	for (line = text; *line; line++)
		lines += *line == '\n';
	keep = text;
	for (line = text; *line && lines - shown > 12; line++) {
		if (*line == '\n') {
			shown++;
			keep = line + 1;
		}
	}
	if (keep != text)
		log_msg(LOG_INFO, false, "xdp: (%d lines of the verifier log left out)", shown);
	for (line = keep; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line)
			log_msg(level == LIBBPF_WARN ? LOG_WARNING : LOG_INFO, false, "xdp: %s", line);
	}
	return 0;
}

static struct xdp_rule rule_of(const struct rule *r)
{
	return (struct xdp_rule){
		.action = (uint8_t)r->action,
		.mss_mode = (uint8_t)r->mss_mode,
		.wscale_mode = (uint8_t)r->wscale_mode,
		.sack_mode = (uint8_t)r->sack_mode,
		.ts_mode = (uint8_t)r->ts_mode,
		.wscale = r->wscale,
		.ecn = r->ecn,
		.lists = (uint8_t)((r->allow ? XDP_LIST_ALLOW : 0) | (r->deny ? XDP_LIST_DENY : 0)),
		.mss = r->mss_mode == OPT_AUTO ? AUTO_MSS4 : r->mss,
		.mss6 = r->mss_mode == OPT_AUTO ? AUTO_MSS6 : r->mss,
		.syn_rate = r->syn_rate_per_source,
		.syn_burst = r->syn_burst_per_source,
	};
}

/* Deletes every key of the trie fd whose generation byte (after the
 * 4-byte prefix length) is gen. */
static int clear_gen(int fd, size_t keysize, uint8_t gen)
{
	uint8_t cur[64], next[64];
	bool have = false;

	if (keysize > sizeof(cur))
		return -1;
	while (bpf_map_get_next_key(fd, have ? cur : NULL, next) == 0) {
		memcpy(cur, next, keysize);
		have = true;
		if (next[4] != gen)
			continue;
		if (bpf_map_delete_elem(fd, next) < 0)
			return -1;
		/* Deleting the current key: start over (tries have no stable
		 * successor of a deleted key). */
		have = false;
	}
	return 0;
}

struct list_ctx {
	int fd;
	uint8_t gen, rule, list;
	int err;
};

static void put_list_prefix(const struct prefix *p, void *arg)
{
	struct list_ctx *lc = arg;
	struct xdp_list_key k = {
		.prefixlen = 24u + p->len, .gen = lc->gen, .rule = lc->rule, .list = lc->list,
	};
	uint8_t one = 1;

	memcpy(k.addr, p->addr.a, 16);
	if (!lc->err && bpf_map_update_elem(lc->fd, &k, &one, BPF_ANY) < 0)
		lc->err = errno;
}

/* Writes pol into generation gen of the rule tables. */
static int fill_gen(struct xdp_stage *x, const struct policy *pol, uint8_t gen)
{
	struct xdp_synproxy *s = x->skel;
	int fd_rules = bpf_map__fd(s->maps.rules), fd_port = bpf_map__fd(s->maps.dst_port);
	int fd_any = bpf_map__fd(s->maps.dst_any), fd_lists = bpf_map__fd(s->maps.lists);

	if (clear_gen(fd_port, sizeof(struct xdp_dst_port_key), gen) < 0 ||
	    clear_gen(fd_any, sizeof(struct xdp_dst_any_key), gen) < 0 ||
	    clear_gen(fd_lists, sizeof(struct xdp_list_key), gen) < 0) {
		log_err("xdp: clearing the idle rule tables");
		return -1;
	}
	for (uint32_t i = 0; i < pol->nrules; i++) {
		const struct rule *r = &pol->rules[i];
		struct xdp_rule xr = rule_of(r);
		uint32_t idx = (uint32_t)gen * XDP_RULES + i;

		if (bpf_map_update_elem(fd_rules, &idx, &xr, BPF_ANY) < 0)
			goto fail;
		if (r->nports == 0) {
			struct xdp_dst_any_key k = { .prefixlen = 8u + r->dst.len, .gen = gen };

			memcpy(k.addr, r->dst.addr.a, 16);
			if (bpf_map_update_elem(fd_any, &k, &i, BPF_ANY) < 0)
				goto fail;
		}
		for (unsigned p = 0; p < r->nports; p++) {
			struct xdp_dst_port_key k = { .prefixlen = 24u + r->dst.len, .gen = gen };

			k.port[0] = (uint8_t)(r->ports[p] >> 8);
			k.port[1] = (uint8_t)r->ports[p];
			memcpy(k.addr, r->dst.addr.a, 16);
			if (bpf_map_update_elem(fd_port, &k, &i, BPF_ANY) < 0)
				goto fail;
		}
		for (int l = 0; l < 2; l++) {
			const struct cidrset *set = l ? r->deny : r->allow;
			struct list_ctx lc = {
				.fd = fd_lists, .gen = gen, .rule = (uint8_t)i,
				.list = l ? XDP_LIST_DENY : XDP_LIST_ALLOW,
			};

			if (!set)
				continue;
			cidrset_prefixes(set, put_list_prefix, &lc);
			if (lc.err) {
				errno = lc.err;
				goto fail;
			}
		}
	}
	return 0;
fail:
	log_err("xdp: writing the rule tables");
	return -1;
}

/* Every rule slot's per-CPU SYN counts, in one system call: v[slot *
 * ncpus + cpu].  NULL on failure (logged). */
static uint64_t *read_rule_syns(struct xdp_stage *x)
{
	int fd = bpf_map__fd(x->skel->maps.rule_syns);
	uint32_t n = XDP_RULES * XDP_GENS, count = n, out_batch;
	uint32_t *keys = calloc(n, sizeof(*keys));
	uint64_t *v = calloc((size_t)n * (size_t)x->ncpus, sizeof(*v));

	if (keys && v && (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, v, &count, NULL) == 0 ||
			  errno == ENOENT)) {
		/* An array map answers in key order from 0. */
		if (count == n) {
			free(keys);
			return v;
		}
	}
	log_warn("xdp: reading the per-rule SYN counts");
	free(keys);
	free(v);
	return NULL;
}

/* Before the idle generation gen goes live with pol: each of its rule
 * slots starts with the per-CPU counts of the live rule of the same name
 * (0 for a new rule), so that a rule's count goes on across a reload.
 * SYNs the old generation counts between this copy and the flip are
 * lost: microseconds' worth. */
static void carry_rule_syns(struct xdp_stage *x, const struct policy *pol, uint8_t gen)
{
	int fd = bpf_map__fd(x->skel->maps.rule_syns);
	uint8_t live = x->skel->bss->cfg.gen & 1;
	uint64_t *v = read_rule_syns(x);
	uint64_t *zero = calloc((size_t)x->ncpus, sizeof(*zero));

	for (uint32_t j = 0; v && zero && j < XDP_RULES; j++) {
		uint32_t slot = (uint32_t)(gen & 1) * XDP_RULES + j;
		const uint64_t *from = zero;

		for (uint32_t i = 0; j < pol->nrules && i < x->nnames; i++)
			if (strcmp(x->names[i], pol->rules[j].name) == 0) {
				from = v + (size_t)(live * XDP_RULES + i) * (size_t)x->ncpus;
				break;
			}
		if (bpf_map_update_elem(fd, &slot, from, BPF_ANY) < 0) {
			log_warn("xdp: carrying the per-rule SYN counts");
			break;
		}
	}
	free(v);
	free(zero);
	for (uint32_t j = 0; j < pol->nrules && j < XDP_RULES; j++)
		memcpy(x->names[j], pol->rules[j].name, RULE_NAME_MAX);
	x->nnames = pol->nrules;
}

bool xdp_stage_rule_syns(struct xdp_stage *x, uint32_t conf_gen, uint64_t *syns)
{
	uint8_t live = __atomic_load_n(&x->skel->bss->cfg.gen, __ATOMIC_ACQUIRE) & 1;
	uint64_t *v;

	if (__atomic_load_n(&x->conf_gen, __ATOMIC_ACQUIRE) != conf_gen ||
	    !(v = read_rule_syns(x)))
		return false;
	for (uint32_t j = 0; j < POLICY_MAX_RULES; j++)
		for (int cpu = 0; cpu < x->ncpus; cpu++)
			syns[j] += v[(size_t)(live * XDP_RULES + j) * (size_t)x->ncpus + (size_t)cpu];
	free(v);
	return true;
}

int xdp_stage_set_conf(struct xdp_stage *x, const struct conf *c)
{
	struct xdp_cfg *cfg = &x->skel->bss->cfg;
	uint8_t gen = (uint8_t)(cfg->gen ^ 1);
	uint32_t per_cpu = c->xdp.queue_syn_rate / (uint32_t)x->ncpus;

	if (c->xdp.queue_syn_rate && per_cpu == 0)
		per_cpu = 1;
	if (!cfg->enabled)
		gen = 0;
	if (fill_gen(x, &c->policy, gen) < 0) {
		/* Half a rule set must not answer for a whole one: the queue,
		 * which has the new rules, answers every SYN until a reload
		 * succeeds. */
		cfg->enabled = 0;
		log_errx("xdp: the stage passes every packet to the queue until a reload "
			 "succeeds");
		return -1;
	}
	cfg->queue_rate = per_cpu;
	cfg->queue_burst = per_cpu / 10 ? per_cpu / 10 : 1;
	cfg->always = c->xdp.answer == CONF_XDP_ALWAYS;
	cfg->synack_window = c->engine.synack_window;
	carry_rule_syns(x, &c->policy, gen);
	__atomic_store_n(&cfg->gen, gen, __ATOMIC_RELEASE);
	__atomic_store_n(&x->conf_gen, c->generation, __ATOMIC_RELEASE);
	__atomic_store_n(&cfg->enabled, 1, __ATOMIC_RELEASE);
	return 0;
}

void xdp_stage_set_syn_lookup(struct xdp_stage *x, bool on)
{
	struct xdp_cfg *cfg = &x->skel->bss->cfg;

	__atomic_store_n(&cfg->syn_ct_lookup, (uint8_t)(on && cfg->ct_lookup), __ATOMIC_RELAXED);
}

void xdp_stage_tick(struct xdp_stage *x, uint64_t mono_ms, uint64_t wall_ms,
		    uint64_t pressure_until_ms)
{
	struct xdp_cfg *cfg = &x->skel->bss->cfg;
	uint32_t t = cookie_counter(wall_ms);

	__atomic_store_n(&cfg->wall_offset_ms, (int64_t)(wall_ms - mono_ms), __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->pressure_until_ms, pressure_until_ms, __ATOMIC_RELAXED);
	/* The program uses t and t - 1, and t + 1 within a clock skew of a
	 * boundary; a slot is only ever rewritten for a period two away from
	 * the ones in use. */
	x->now_t = t;
	for (uint32_t u = t - 1; u != t + 2; u++) {
		struct xdp_keyslot *k = &x->skel->bss->keys[u & (XDP_KEY_SLOTS - 1)];
		struct xdp_keyslot *pk = &x->skel->bss->prev_keys[u & (XDP_KEY_SLOTS - 1)];

		if (!k->valid || k->t != u)
			put_key(k, x->secret, u);
		if (x->have_prev && (!pk->valid || pk->t != u))
			put_key(pk, x->prev, u);
	}
}

void xdp_stage_set_secrets(struct xdp_stage *x, const uint8_t cur[ENGINE_SECRET_LEN],
			   const uint8_t *prev)
{
	uint32_t t = x->now_t;

	/* The previous keys first: while the current ones are rewritten, a
	 * cookie of the old secret finds its key there. */
	x->have_prev = prev != NULL;
	if (prev)
		memcpy(x->prev, prev, ENGINE_SECRET_LEN);
	for (uint32_t i = 0; i < XDP_KEY_SLOTS; i++) {
		struct xdp_keyslot *pk = &x->skel->bss->prev_keys[i];

		if (prev)
			__atomic_store_n(&pk->valid, 0, __ATOMIC_RELEASE);
		else
			pk->valid = 0;
	}
	for (uint32_t u = t - 1; prev && u != t + 2; u++)
		put_key(&x->skel->bss->prev_keys[u & (XDP_KEY_SLOTS - 1)], x->prev, u);
	memcpy(x->secret, cur, ENGINE_SECRET_LEN);
	for (uint32_t u = t - 1; u != t + 2; u++)
		put_key(&x->skel->bss->keys[u & (XDP_KEY_SLOTS - 1)], x->secret, u);
}

void xdp_stage_apply(struct xdp_stage *x, const struct engine_out *o, uint64_t *errors)
{
	int fd = bpf_map__fd(x->skel->maps.flows);
	uint8_t one = 1;

	for (uint32_t i = 0; i < o->nflowev; i++) {
		const struct engine_flowev *ev = &o->flowev[i];
		int r;

		if (ev->up)
			r = bpf_map_update_elem(fd, &ev->key, &one, BPF_ANY);
		else
			r = bpf_map_delete_elem(fd, &ev->key) < 0 && errno != ENOENT ? -1 : 0;
		if (r < 0)
			(*errors)++;
	}
	if (o->learned) {
		struct xdp_learned_key k = { .port = o->learned_port };
		struct xdp_learned v = {
			.mss = o->learned_opts.mss,
			.wscale = o->learned_opts.wscale,
			.sack = o->learned_opts.sack,
			.ts = o->learned_opts.ts,
		};

		memcpy(k.addr, o->learned_addr.a, 16);
		if (bpf_map_update_elem(bpf_map__fd(x->skel->maps.learned), &k, &v, BPF_ANY) < 0)
			(*errors)++;
	}
}

void xdp_stage_counters(struct xdp_stage *x, uint64_t *c)
{
	int fd = bpf_map__fd(x->skel->maps.counters);
	uint64_t *v = calloc((size_t)x->ncpus * XC_MAX, sizeof(*v));
	uint32_t keys[XC_MAX], out_batch, count = XC_MAX;

	if (!v)
		return;
	/* One system call for every counter of every CPU. */
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, keys, v, &count, NULL) < 0 &&
	    errno != ENOENT)
		count = 0;
	for (uint32_t i = 0; i < count; i++)
		for (int cpu = 0; cpu < x->ncpus; cpu++)
			if (keys[i] < XC_MAX)
				c[keys[i]] += v[(size_t)i * (size_t)x->ncpus + (size_t)cpu];
	free(v);
}

unsigned xdp_stage_attached(const struct xdp_stage *x)
{
	return x ? x->nlinks : 0;
}

int xdp_stage_prog_fd(const struct xdp_stage *x)
{
	return bpf_program__fd(x->skel->progs.synproxy_xdp);
}

/* Attaches the program to ifname as c->xdp.mode asks; 0 or -1. */
static int attach(struct xdp_stage *x, const struct conf *c, const char *ifname)
{
	static const char *const mode_name[] = { "native", "generic" };
	int prog = bpf_program__fd(x->skel->progs.synproxy_xdp);
	unsigned ifindex = if_nametoindex(ifname);
	int modes[2], nmodes = 0, fd = -1, i;

	if (!ifindex) {
		log_errx("xdp: interface %s: %s; the stage is not attached there", ifname,
			 strerror(errno));
		return -1;
	}
	if (c->xdp.mode != CONF_XDP_GENERIC)
		modes[nmodes++] = 0;
	if (c->xdp.mode != CONF_XDP_NATIVE)
		modes[nmodes++] = 1;
	for (i = 0; i < nmodes; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, lo,
			    .flags = modes[i] ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

		fd = bpf_link_create(prog, (int)ifindex, BPF_XDP, &lo);
		if (fd >= 0)
			break;
		if (i + 1 < nmodes)
			log_notice("xdp: %s: %s mode refused (%s), trying %s", ifname,
				   mode_name[modes[i]], strerror(errno), mode_name[modes[i + 1]]);
	}
	if (fd < 0) {
		log_errx("xdp: %s: cannot attach: %s%s", ifname, strerror(errno),
			 errno == EBUSY ? " (another XDP program is attached)" : "");
		return -1;
	}
	x->links[x->nlinks++] = fd;
	log_notice("xdp: attached to %s (%s mode)", ifname, mode_name[modes[i]]);
	return 0;
}

struct xdp_stage *xdp_stage_open(const struct conf *c, const uint8_t secret[ENGINE_SECRET_LEN],
				 bool ct_lookup, unsigned nworkers, uint64_t mono_ms,
				 uint64_t wall_ms)
{
	struct xdp_stage *x;
	uint64_t flows = (uint64_t)c->engine.max_flows * (nworkers ? nworkers : 1);

	if (!c->xdp.nifaces)
		return NULL;
	libbpf_set_print(libbpf_log);
	x = calloc(1, sizeof(*x));
	if (!x) {
		log_errx("xdp: out of memory");
		return NULL;
	}
	memcpy(x->secret, secret, ENGINE_SECRET_LEN);
	x->ncpus = libbpf_num_possible_cpus();
	if (x->ncpus <= 0) {
		log_errx("xdp: cannot count the CPUs: %s", strerror(-x->ncpus));
		goto fail;
	}
	x->skel = xdp_synproxy__open();
	if (!x->skel) {
		log_err("xdp: cannot open the program");
		goto fail;
	}
	/* Every flow of every engine has its entry, so an insert never fails
	 * for lack of room (the table cannot hold more). */
	if (flows < XDP_FLOWS_MIN)
		flows = XDP_FLOWS_MIN;
	if (flows > UINT32_MAX / 2 ||
	    bpf_map__set_max_entries(x->skel->maps.flows, (uint32_t)flows) < 0) {
		log_errx("xdp: flow map of %llu entries refused", (unsigned long long)flows);
		goto fail;
	}
	if (xdp_synproxy__load(x->skel) < 0) {
		log_errx("xdp: the kernel refused the program (%s); SYNs are answered through "
			 "the queue only, which fails closed", strerror(errno));
		goto fail;
	}
	x->skel->bss->cfg.ts_base = engine_ts_base(secret);
	x->skel->bss->cfg.mark = c->mark;
	x->skel->bss->cfg.ct_lookup = ct_lookup;
	/* Until the daemon has read conntrack (daemon_ct.c's orphans). */
	x->skel->bss->cfg.syn_ct_lookup = ct_lookup;
	xdp_stage_tick(x, mono_ms, wall_ms, 0);
	if (xdp_stage_set_conf(x, c) < 0)
		goto fail;
	for (unsigned i = 0; i < c->xdp.nifaces; i++)
		(void)attach(x, c, c->xdp.ifaces[i]);
	if (!x->nlinks) {
		log_errx("xdp: attached to no interface; SYNs are answered through the queue "
			 "only, which fails closed");
		goto fail;
	}
	return x;
fail:
	xdp_stage_close(x);
	return NULL;
}

void xdp_stage_close(struct xdp_stage *x)
{
	if (!x)
		return;
	for (unsigned i = 0; i < x->nlinks; i++)
		close(x->links[i]);
	xdp_synproxy__destroy(x->skel);
	explicit_bzero(x->secret, sizeof(x->secret));
	explicit_bzero(x->prev, sizeof(x->prev));
	free(x);
}
