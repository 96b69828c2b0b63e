/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: see engine.h for the contract and DESIGN.md for the data
 * path.  One struct engine owns every table; nothing here allocates after
 * engine_new, reads a clock or touches a socket.
 *
 * This file owns the engine's life (configuration defaults, keys derived
 * from the master secret, the tables, a policy swap), every public call,
 * the dispatch of an input packet to the handshake (handshake.c), to its
 * flow (splice.c) or, for an ICMP error, to icmp.c, and the timer loop.
 * engine_int.h says who owns what inside. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hold.h"

void engine_config_defaults(struct engine_config *c)
{
	*c = (struct engine_config){
		.syncache = {
			.buckets = 4096,
			.bucket_limit = 16,
			.max_entries = 32768,
			.retries = 3,
			.rto_ms = 1000,
		},
		.cookies = COOKIES_AUTO,
		.max_flows = 65536,
		.hold_packets_per_flow = 8,
		.hold_bytes_total = 4u << 20,
		.backend_syn_rto_ms = 1000,
		.backend_syn_retries = 3,
		.established_idle_ms = 5u * 86400 * 1000,   /* as conntrack: outlives keepalives */
		.fin_wait_ms = 120u * 1000,
		.time_wait_ms = 60u * 1000,
		.rst_grace_ms = 10u * 1000,
		.offload_after_segs = 32,
		.kernel_reports_end = false,
		.synack_window = 65535,
		.srclimit_slots = 65536,
		.learned_slots = 1024,
		.passlist_slots = 16384,
		.cookie_crosscheck = false,
	};
}

/* Half-open entries are counted per source network only while some rule
 * limits them: otherwise each SYN and each entry leaving the cache would
 * pay a lookup in the source table (a cache miss under a flood) for a
 * count nobody reads. */
static bool limits_half_open(const struct policy *pol)
{
	for (uint32_t i = 0; i < pol->nrules; i++)
		if (pol->rules[i].max_half_open_per_source)
			return true;
	return false;
}

static void recount_entry(const struct syn_state *s, uint64_t deadline_ms, void *ctx)
{
	struct engine *e = ctx;

	(void)deadline_ms;
	srclimit_half_open(e->src, &s->key.caddr, 1);
}

/* Derives a 16-byte key for one use from the master secret. */
static void derive_key(const uint8_t secret[ENGINE_SECRET_LEN], const char *label,
		       uint8_t out[SIPHASH_KEY_LEN])
{
	uint64_t a = siphash24(secret, label, strlen(label));
	uint64_t b = siphash24(secret + SIPHASH_KEY_LEN, label, strlen(label));

	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(a >> (8 * i));
		out[8 + i] = (uint8_t)(b >> (8 * i));
	}
}

struct engine *engine_new(const struct engine_config *c, const struct policy *pol,
			  const uint8_t secret[ENGINE_SECRET_LEN], uint64_t now_ms)
{
	struct engine *e;
	uint8_t k[SIPHASH_KEY_LEN];

	if (c->hold_packets_per_flow > ENGINE_MAX_RELEASE)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *c;
	e->pol = pol;
	e->count_half_open = limits_half_open(pol);
	_Static_assert(ENGINE_SECRET_LEN == COOKIE_SECRET_LEN, "one master secret");
	cookie_keys_init(&e->cookie_keys, secret);
	derive_key(secret, "synproxyd isn", e->isn_key);
	derive_key(secret, "synproxyd challenge", e->challenge_key);
	e->ts_base = engine_ts_base(secret);
	derive_key(secret, "synproxyd syncache", k);
	e->sc = c->cookies == COOKIES_ALWAYS ? NULL : syncache_new(&c->syncache, k);
	derive_key(secret, "synproxyd flows", k);
	e->ft = flowtab_new(c->max_flows, k);
	e->hold = hold_new(c->hold_bytes_total);
	derive_key(secret, "synproxyd tables", k);
	e->src = srclimit_new(c->srclimit_slots, k);
	derive_key(secret, "synproxyd srcflows", k);
	e->srcflows = srcflows_new(c->max_flows, k);
	e->learned = learned_new(c->learned_slots, k);
	e->pass = passlist_new(c->passlist_slots, k);
	if ((c->cookies != COOKIES_ALWAYS && !e->sc) || !e->ft || !e->hold || !e->src ||
	    !e->srcflows || !e->learned || !e->pass) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->sc)
		syncache_free(e->sc);
	flowtab_free(e->ft);
	hold_free(e->hold);
	if (e->src)
		srclimit_free(e->src);
	srcflows_free(e->srcflows);
	if (e->learned)
		learned_free(e->learned);
	if (e->pass)
		passlist_free(e->pass);
	free(e);
}

void engine_set_policy(struct engine *e, const struct policy *pol)
{
	bool want = limits_half_open(pol);

	/* A limit that appears starts from the true counts: the ones left
	 * from an earlier limit are stale, the entries in the cache now are
	 * what it limits. */
	if (want && !e->count_half_open) {
		srclimit_clear_half_open(e->src);
		if (e->sc)
			syncache_walk(e->sc, recount_entry, e);
	}
	e->count_half_open = want;
	e->pol = pol;
}

const uint64_t *engine_counters(const struct engine *e)
{
	return e->cnt;
}

void engine_set_wallclock(struct engine *e, uint64_t wall_ms, uint64_t now_ms)
{
	e->wall_offset_ms = (int64_t)(wall_ms - now_ms);
}

void engine_set_cookie_secrets(struct engine *e, const uint8_t cur[ENGINE_SECRET_LEN],
			       const uint8_t *prev)
{
	cookie_keys_init(&e->cookie_keys, cur);
	derive_key(cur, "synproxyd isn", e->isn_key);
	e->have_cookie_prev = prev != NULL;
	if (prev)
		cookie_keys_init(&e->cookie_prev, prev);
}

uint32_t engine_ts_base(const uint8_t secret[ENGINE_SECRET_LEN])
{
	uint8_t k[SIPHASH_KEY_LEN];

	derive_key(secret, "synproxyd ts", k);
	return (uint32_t)siphash24(k, "base", 4);
}

static void out_reset(struct engine_out *out)
{
	out->verdict = VERDICT_ACCEPT;
	out->reason = CNT_packets_received;
	out->dir = DIR_NONE;
	out->modified = false;
	out->pass_on = false;
	out->reinject = false;
	out->nemit = 0;
	out->nrelease = 0;
	out->offer = false;
	out->forget = false;
	out->nflowev = 0;
	out->learned = false;
}

void engine_emit(struct engine *e, struct engine_out *out, enum dir to, const struct seg *s)
{
	struct engine_emit *em;
	size_t len;

	assert(out->nemit < ENGINE_MAX_EMIT);
	em = &out->emit[out->nemit];
	len = packet_build(em->data, sizeof(em->data), s);
	assert(len > 0);
	em->len = (uint8_t)len;
	em->to = (uint8_t)to;
	out->nemit++;
	if (s->flags & TCPH_RST)
		count(e, CNT_rst_sent);
}

/* The key of a packet as (client, server). */
static void key_of(const struct pkt *p, enum dir d, struct conn_key *k)
{
	memset(k, 0, sizeof(*k));
	if (d == DIR_CLIENT) {
		k->caddr = p->src;
		k->saddr = p->dst;
		k->cport = p->sport;
		k->sport = p->dport;
	} else {
		k->caddr = p->dst;
		k->saddr = p->src;
		k->cport = p->dport;
		k->sport = p->sport;
	}
}

/* A client packet (not part of a flow) under rule ridx. */
static void client_input(struct engine *e, struct pkt *p, const struct engine_meta *m,
			 unsigned ridx, uint64_t now_ms, struct engine_out *out)
{
	const struct rule *r = &e->pol->rules[ridx];
	uint8_t fl = p->flags;
	struct engine_kernel_flow kf;
	struct conn_key k;
	struct flow *f;

	switch (r->action) {
	case RULE_ACCEPT:
		count_verdict(e, out, VERDICT_ACCEPT, CNT_rule_accept);
		return;
	case RULE_DROP:
		count_verdict(e, out, VERDICT_DROP, CNT_rule_drop);
		return;
	case RULE_PROXY:
	case RULE_RESET:
		break;
	}
	if (((fl & TCPH_SYN) && (fl & (TCPH_FIN | TCPH_RST))) ||
	    !(fl & (TCPH_SYN | TCPH_ACK | TCPH_RST))) {
		count_verdict(e, out, VERDICT_DROP, CNT_bad_flags);
		return;
	}
	key_of(p, DIR_CLIENT, &k);
	f = flowtab_lookup(e->ft, &k);
	/* A marked conntrack entry the engine does not know (see
	 * splice_from_kernel) would carry the handshake ACK of this SYN's
	 * connection past the proxy. */
	if (!f && (fl & TCPH_SYN) && !(fl & TCPH_ACK) && m && m->kernel_flow &&
	    m->kernel_flow(m->kernel_ctx, &k, &kf))
		f = splice_from_kernel(e, &k, &kf, now_ms, out);
	if (f && (fl & TCPH_SYN) && !(fl & TCPH_ACK)) {
		/* A new connection reusing the tuple ends the old one, when
		 * the old one is over (splice_syn); a SYN on a live flow
		 * gets a challenge ACK. */
		if (!splice_syn(e, f, p, now_ms, out))
			return;
		f = NULL;
	}
	if (f) {
		splice_client(e, f, p, m, now_ms, out);
		return;
	}
	if ((r->deny && cidrset_contains(r->deny, &p->src)) ||
	    (r->allow && !cidrset_contains(r->allow, &p->src))) {
		count_verdict(e, out, VERDICT_DROP, CNT_denied);
		return;
	}
	if (r->action == RULE_RESET && passlist_check(e->pass, &p->src, rule_ident(r), now_ms)) {
		count_verdict(e, out, VERDICT_ACCEPT, CNT_reset_pass);
		return;
	}
	if ((fl & TCPH_SYN) && !(fl & TCPH_ACK)) {
		handshake_syn(e, p, m, &k, ridx, now_ms, out);
		return;
	}
	if (fl & TCPH_RST) {
		handshake_rst(e, p, &k, out);
		return;
	}
	if ((fl & TCPH_ACK) && !(fl & TCPH_SYN)) {
		handshake_ack(e, p, m, &k, ridx, now_ms, out);
		return;
	}
	count_verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
}

static const enum counter parse_counter[PKT_ERR_MAX] = {
	[PKT_OK] = CNT_packets_received,
	[PKT_TRUNCATED] = CNT_parse_truncated,
	[PKT_BAD_VERSION] = CNT_parse_bad_version,
	[PKT_BAD_IHL] = CNT_parse_bad_ihl,
	[PKT_BAD_LENGTH] = CNT_parse_bad_length,
	[PKT_FRAGMENT] = CNT_parse_fragment,
	[PKT_BAD_EXTHDR] = CNT_parse_bad_exthdr,
	[PKT_NOT_TCP] = CNT_parse_not_tcp,
	[PKT_BAD_DOFF] = CNT_parse_bad_doff,
	[PKT_BAD_OPTIONS] = CNT_parse_bad_options,
};

void engine_input(struct engine *e, uint8_t *data, uint32_t len, const struct engine_meta *m,
		  uint64_t now_ms, struct engine_out *out)
{
	enum pkt_err err;
	struct pkt p;
	int ridx;

	out_reset(out);
	count(e, CNT_packets_received);
	err = packet_parse(&p, data, len);
	if (err == PKT_NOT_TCP) {
		icmp_input(e, data, len, m, out);
	} else if (err != PKT_OK) {
		count_verdict(e, out, VERDICT_DROP, parse_counter[err]);
	} else if ((ridx = policy_match(e->pol, &p.dst, p.dport)) >= 0) {
		out->dir = DIR_CLIENT;
		client_input(e, &p, m, (unsigned)ridx, now_ms, out);
	} else if (policy_match_server(e->pol, &p.src, p.sport) >= 0) {
		struct conn_key k;
		struct flow *f;

		out->dir = DIR_SERVER;
		if (m && m->side == SIDE_WRONG) {
			count_verdict(e, out, VERDICT_DROP, CNT_server_wrong_side);
		} else {
			key_of(&p, DIR_SERVER, &k);
			f = flowtab_lookup(e->ft, &k);
			if (f)
				splice_server(e, f, &p, m, now_ms, out);
			else
				count_verdict(e, out, VERDICT_ACCEPT, CNT_passthrough);
		}
	} else {
		count_verdict(e, out, VERDICT_ACCEPT, CNT_no_rule);
	}
	if (out->verdict == VERDICT_ACCEPT)
		count(e, CNT_packets_accepted);
	else if (out->verdict == VERDICT_DROP)
		count(e, CNT_packets_dropped);
}

/* Room for the worst a single timer event emits and releases. */
static bool out_has_room(const struct engine_out *out, const struct engine *e)
{
	return out->nemit + 1 <= ENGINE_MAX_EMIT && out->nflowev + 1 <= ENGINE_MAX_FLOWEV &&
	       out->nrelease + e->cfg.hold_packets_per_flow <= ENGINE_MAX_RELEASE;
}

bool engine_offloaded(struct engine *e, const struct conn_key *k, uint32_t ct_id,
		      uint64_t now_ms)
{
	struct flow *f = flowtab_lookup(e->ft, k);

	return f && splice_offload(e, f, ct_id, now_ms);
}

void engine_kernel_event(struct engine *e, const struct conn_key *k, uint32_t ct_id,
			 enum engine_kstate ks, uint64_t now_ms, struct engine_out *out)
{
	struct flow *f = flowtab_lookup(e->ft, k);

	out_reset(out);
	if (f)
		splice_kernel(e, f, ct_id, ks, now_ms, out);
}

bool engine_tick(struct engine *e, uint64_t now_ms, struct engine_out *out)
{
	struct flow *f;

	out_reset(out);
	if (handshake_tick(e, now_ms, out))
		return true;
	while (out_has_room(out, e) && (f = flowtab_due(e->ft, now_ms)))
		splice_timer(e, f, now_ms, out);
	return !out_has_room(out, e) && flowtab_next_deadline(e->ft) <= now_ms;
}

uint64_t engine_next_deadline(const struct engine *e)
{
	uint64_t a = e->sc ? syncache_next_deadline(e->sc) : UINT64_MAX;
	uint64_t b = flowtab_next_deadline(e->ft);

	return a < b ? a : b;
}

struct flush_ctx {
	struct flow *found;
};

static void find_held(const struct flow *f, void *ctx)
{
	struct flush_ctx *c = ctx;

	if (!c->found && f->fl_held.count)
		c->found = (struct flow *)(uintptr_t)f;
}

bool engine_flush(struct engine *e, struct engine_out *out)
{
	struct flush_ctx c;

	out_reset(out);
	for (;;) {
		c.found = NULL;
		flowtab_walk(e->ft, find_held, &c);
		if (!c.found)
			return false;
		if (out->nrelease + c.found->fl_held.count > ENGINE_MAX_RELEASE)
			return true;
		splice_release_held(e, out, c.found, VERDICT_DROP);
	}
}

void engine_gauges(const struct engine *e, struct engine_gauges *g)
{
	memset(g, 0, sizeof(*g));
	g->syncache_entries = e->sc ? syncache_count(e->sc) : 0;
	g->flows_active = flowtab_count(e->ft);
	hold_usage(e->hold, &g->held_packets, &g->held_bytes);
	/* Every table engine_new allocated (tests/unit/test_memory.c counts
	 * the allocations and holds this to their sum). */
	g->memory_bytes = sizeof(*e) + (e->sc ? syncache_memory(e->sc) : 0) +
			  flowtab_memory(e->ft) + hold_memory(e->hold) + srclimit_memory(e->src) +
			  srcflows_memory(e->srcflows) +
			  learned_memory(e->learned) + passlist_memory(e->pass);
}

struct walk_ctx {
	void (*fn)(const struct flow_info *fi, void *ctx);
	void *ctx;
	uint64_t now_ms;
};

static void walk_flow(const struct flow *f, void *arg)
{
	const struct walk_ctx *w = arg;
	struct flow_info fi;

	splice_describe(f, w->now_ms, &fi);
	w->fn(&fi, w->ctx);
}

static void walk_half_open(const struct syn_state *s, uint64_t deadline_ms, void *arg)
{
	const struct walk_ctx *w = arg;
	struct flow_info fi = {
		.key = s->key,
		.state = FLOW_HALF_OPEN,
		.client_wscale = s->wscale,
	};

	w->fn(&fi, w->ctx);
}

void engine_walk(const struct engine *e, uint64_t now_ms,
		 void (*fn)(const struct flow_info *fi, void *ctx), void *ctx)
{
	struct walk_ctx w = { fn, ctx, now_ms };

	if (e->sc)
		syncache_walk(e->sc, walk_half_open, &w);
	flowtab_walk(e->ft, walk_flow, &w);
}
