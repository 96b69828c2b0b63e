/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: see engine.h for the contract and DESIGN.md for the data
 * path.  One struct engine owns every table; nothing here allocates after
 * engine_new, reads a clock or touches a socket.
 *
 * Sequence spaces.  The client knows the server by our ISN (iss); the
 * backend knows itself by its own ISN (bis).  The backend SYN carries the
 * client's ISN (irs), so client sequence numbers never change; server
 * sequence numbers move by delta = iss - bis:
 *   server -> client: seq += delta, TSval += tsoff
 *   client -> server: ack -= delta, SACK edges -= delta, TSecr -= tsoff
 * and the window field is rescaled when the scale a sender applies differs
 * from the one its receiver believes in (see set_translation). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "engine.h"
#include "flow.h"
#include "hold.h"
#include "isn.h"
#include "seq.h"
#include "tcpopt.h"
#include "translate.h"

#define WS_NONE 0xff
#define DEFAULT_MSS 536      /* RFC 9293: MSS assumed when none is sent */

struct engine {
	struct engine_config cfg;
	const struct policy *pol;
	uint8_t isn_key[SIPHASH_KEY_LEN];
	struct cookie_keys cookie_keys;  /* the master secret and its per-period keys */
	uint32_t ts_base;          /* offset of our TS clock from now_ms */
	struct syncache *sc;
	struct flowtab *ft;
	struct hold *hold;
	struct srclimit *src;
	bool count_half_open;       /* some rule limits half-open entries per source */
	struct learned *learned;
	struct passlist *pass;
	int64_t wall_offset_ms;     /* wall clock - now_ms, for the cookie counter */
	uint64_t sc_pressure_until; /* the SYN cache refused a SYN less than an rto ago */
	uint64_t challenge_second;  /* now_ms / 1000 of the current challenge budget */
	uint32_t challenge_sent;    /* challenge ACKs sent in that second */
	uint64_t cnt[CNT_MAX];
};

/* Challenge ACKs per second, engine-wide (Linux's tcp_challenge_ack_limit
 * plays the same role): a SYN flood on a live tuple must not turn the
 * proxy into a reflector. */
#define CHALLENGE_ACK_PER_SEC 1000

/* The options we answer a client with (or offer a backend). */
struct nego {
	uint16_t mss;              /* 0: no MSS option */
	uint8_t ws;                /* WS_NONE: no window scale */
	bool sack;
	bool ts;
	bool ecn;
};

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
		.synack_window = 65535,
		.srclimit_slots = 65536,
		.learned_slots = 1024,
		.passlist_slots = 16384,
		.cookie_crosscheck = false,
	};
}

const char *flow_state_name(enum flow_state s)
{
	switch (s) {
	case FLOW_HALF_OPEN: return "half-open";
	case FLOW_BACKEND_SYN: return "backend-syn";
	case FLOW_ESTABLISHED: return "established";
	case FLOW_CLOSING: return "closing";
	case FLOW_TIME_WAIT: return "time-wait";
	}
	return "?";
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

static void half_open(struct engine *e, const struct addr *src, int delta)
{
	if (e->count_half_open)
		srclimit_half_open(e->src, src, delta);
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
	e->ts_base = engine_ts_base(secret);
	derive_key(secret, "synproxyd syncache", k);
	e->sc = c->cookies == COOKIES_ALWAYS ? NULL : syncache_new(&c->syncache, k);
	derive_key(secret, "synproxyd flows", k);
	e->ft = flowtab_new(c->max_flows, k);
	e->hold = hold_new(c->hold_bytes_total);
	derive_key(secret, "synproxyd tables", k);
	e->src = srclimit_new(c->srclimit_slots, k);
	e->learned = learned_new(c->learned_slots, k);
	e->pass = passlist_new(c->passlist_slots, k);
	if ((c->cookies != COOKIES_ALWAYS && !e->sc) || !e->ft || !e->hold || !e->src ||
	    !e->learned || !e->pass) {
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

static void count(struct engine *e, enum counter c)
{
	e->cnt[c]++;
}

/* The cookie time counter runs on the wall clock, so that proxies sharing
 * a secret agree on it whatever their uptime. */
static uint32_t cookie_now(const struct engine *e, uint64_t now_ms)
{
	return cookie_counter(now_ms + (uint64_t)e->wall_offset_ms);
}

void engine_set_wallclock(struct engine *e, uint64_t wall_ms, uint64_t now_ms)
{
	e->wall_offset_ms = (int64_t)(wall_ms - now_ms);
}

uint32_t engine_ts_base(const uint8_t secret[ENGINE_SECRET_LEN])
{
	uint8_t k[SIPHASH_KEY_LEN];

	derive_key(secret, "synproxyd ts", k);
	return (uint32_t)siphash24(k, "base", 4);
}

/* Our TSval clock: 1 kHz, offset by a secret so it says nothing of our
 * uptime. */
static uint32_t ts_now(const struct engine *e, uint64_t now_ms)
{
	return (uint32_t)now_ms + e->ts_base;
}

static void out_reset(struct engine_out *out)
{
	out->verdict = VERDICT_ACCEPT;
	out->reason = CNT_packets_received;
	out->dir = DIR_NONE;
	out->modified = false;
	out->nemit = 0;
	out->nrelease = 0;
	out->offer = false;
	out->forget = false;
	out->nflowev = 0;
	out->learned = false;
}

/* Records that k gained (up) or lost its flow. */
static void flow_event(struct engine_out *out, const struct conn_key *k, bool up)
{
	assert(out->nflowev < ENGINE_MAX_FLOWEV);
	out->flowev[out->nflowev].key = *k;
	out->flowev[out->nflowev].up = up;
	out->nflowev++;
}

/* Gives the input packet its verdict and counts the reason. */
static void verdict(struct engine *e, struct engine_out *out, enum verdict v, enum counter why)
{
	out->verdict = v;
	out->reason = why;
	count(e, why);
}

/* The same when the reason was counted already. */
static void set_verdict(struct engine_out *out, enum verdict v, enum counter why)
{
	out->verdict = v;
	out->reason = why;
}

/* Builds a segment into the next emit slot.  Emits are sized for the
 * worst case of every caller, so running out means a bug. */
static void emit(struct engine *e, struct engine_out *out, enum dir to, const struct seg *s)
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

static const struct rule *rule_at(const struct engine *e, unsigned idx)
{
	return idx < e->pol->nrules ? &e->pol->rules[idx] : NULL;
}

/* What we answer a client SYN offering o with, under rule r (NULL after a
 * reload removed it: then only what the client offered, unscaled). */
static struct nego negotiate(struct engine *e, const struct rule *r, const struct conn_key *k,
			     const struct tcpopt *o, bool ecn_setup)
{
	struct learned_opts lo = { .valid = false };
	struct nego n = { .mss = 1460, .ws = WS_NONE };

	if (!r)
		return n;
	if (r->mss_mode == OPT_AUTO || r->wscale_mode == OPT_AUTO || r->sack_mode == OPT_AUTO ||
	    r->ts_mode == OPT_AUTO)
		learned_get(e->learned, &k->saddr, k->sport, &lo);
	n.mss = r->mss_mode == OPT_AUTO && lo.valid ? lo.mss : r->mss;
	if (r->mss_mode == OPT_OFF)
		n.mss = 0;
	if ((o->have & TO_WSCALE) && r->wscale_mode != OPT_OFF) {
		if (r->wscale_mode == OPT_AUTO && lo.valid)
			n.ws = lo.wscale;
		else
			n.ws = r->wscale;
		if (n.ws != WS_NONE && n.ws > TCP_MAX_WSCALE)
			n.ws = TCP_MAX_WSCALE;
	}
	n.sack = (o->have & TO_SACKOK) && r->sack_mode != OPT_OFF &&
		 (r->sack_mode == OPT_ON || !lo.valid || lo.sack);
	n.ts = (o->have & TO_TS) && r->ts_mode != OPT_OFF &&
	       (r->ts_mode == OPT_ON || !lo.valid || lo.ts);
	n.ecn = ecn_setup && r->ecn;
	return n;
}

/* negotiate() for a client whose SYN is known only through its state
 * (a SYN cache entry or a cookie). */
static struct nego negotiate_state(struct engine *e, const struct syn_state *st)
{
	struct tcpopt o = {
		.have = (uint8_t)(((st->flags & SS_WSCALE) ? TO_WSCALE : 0) |
				  ((st->flags & SS_SACK) ? TO_SACKOK : 0) |
				  ((st->flags & SS_TS) ? TO_TS : 0)),
		.wscale = st->wscale,
	};

	return negotiate(e, rule_at(e, st->rule), &st->key, &o, st->flags & SS_ECN);
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

/* A segment from the server side of k to the client, or the reverse. */
static void seg_init(struct seg *s, const struct conn_key *k, enum dir to)
{
	memset(s, 0, sizeof(*s));
	if (to == DIR_CLIENT) {
		s->src = k->saddr;
		s->dst = k->caddr;
		s->sport = k->sport;
		s->dport = k->cport;
	} else {
		s->src = k->caddr;
		s->dst = k->saddr;
		s->sport = k->cport;
		s->dport = k->sport;
	}
}

/* The client's options as the SYN cache and the backend SYN carry them. */
static void state_from_syn(struct syn_state *st, const struct conn_key *k, const struct pkt *p,
			   const struct tcpopt *o, const struct nego *n, uint8_t rule)
{
	memset(st, 0, sizeof(*st));
	st->key = *k;
	st->irs = p->seq;
	st->tsval = o->tsval;
	st->mss = (o->have & TO_MSS) ? o->mss : DEFAULT_MSS;
	st->win = p->win;
	st->wscale = (o->have & TO_WSCALE) ? (o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE :
					      o->wscale) : 0;
	st->flags = (uint8_t)((n->ws != WS_NONE ? SS_WSCALE : 0) | (n->sack ? SS_SACK : 0) |
			      (n->ts ? SS_TS : 0) | (n->ecn ? SS_ECN : 0));
	st->rule = rule;
}

/* The options a cookie for st encodes. */
static struct cookie_opts cookie_opts_of(const struct syn_state *st)
{
	struct cookie_opts co = {
		.mss = st->mss,
		.wscale = (st->flags & SS_WSCALE) ? st->wscale : COOKIE_NO_WSCALE,
		.sack = st->flags & SS_SACK,
		.ecn = st->flags & SS_ECN,
		.ts = st->flags & SS_TS,
	};

	return co;
}

/* The cookie ISN for st; send_synack adds its TS bits to our TSval. */
static uint32_t cookie_iss(struct engine *e, const struct syn_state *st, uint64_t now_ms)
{
	struct cookie_opts co = cookie_opts_of(st);
	uint32_t bits;

	return cookie_make_keys(&e->cookie_keys, &st->key, st->irs, cookie_now(e, now_ms), &co,
				&bits);
}

/* Sends the SYN-ACK for st (first time or again). */
static void send_synack(struct engine *e, struct engine_out *out, const struct syn_state *st,
			const struct nego *n, uint64_t now_ms)
{
	struct tcpopt o = { .have = 0 };
	struct seg s;
	uint32_t tsval = ts_now(e, now_ms);

	if (e->cfg.cookies != COOKIES_OFF && (st->flags & SS_TS)) {
		/* st->iss is the cookie already: only its TS bits are needed. */
		struct cookie_opts co = cookie_opts_of(st);

		tsval = (tsval & ~((1u << COOKIE_TS_BITS) - 1)) | cookie_ts_bits(&co);
	}
	seg_init(&s, &st->key, DIR_CLIENT);
	s.seq = st->iss;
	s.ack = st->irs + 1;
	s.flags = TCPH_SYN | TCPH_ACK | ((st->flags & SS_ECN) ? TCPH_ECE : 0);
	s.win = e->cfg.synack_window;
	if (n->mss) {
		o.have |= TO_MSS;
		o.mss = n->mss;
	}
	if (st->flags & SS_WSCALE) {
		o.have |= TO_WSCALE;
		o.wscale = n->ws;
	}
	if (st->flags & SS_SACK)
		o.have |= TO_SACKOK;
	if (st->flags & SS_TS) {
		o.have |= TO_TS;
		o.tsval = tsval;
		o.tsecr = st->tsval;
	}
	s.opt = &o;
	emit(e, out, DIR_CLIENT, &s);
	count(e, CNT_synack_sent);
}

/* Sends the SYN that opens the backend leg: the client's ISN and options. */
static void send_backend_syn(struct engine *e, struct engine_out *out, const struct flow *f)
{
	struct tcpopt o = { .have = TO_MSS, .mss = f->fl_mss };
	struct seg s;
	uint32_t win = (uint32_t)f->fl_c_win << ((f->fl_flags & FL_WS) ? f->fl_c_ws : 0);

	seg_init(&s, &f->fl_key, DIR_SERVER);
	s.seq = f->fl_irs;
	s.flags = TCPH_SYN | ((f->fl_flags & FL_ECN) ? TCPH_ECE | TCPH_CWR : 0);
	s.win = (uint16_t)(win > 65535 ? 65535 : win);
	if (f->fl_flags & FL_WS) {
		o.have |= TO_WSCALE;
		o.wscale = f->fl_c_ws;
	}
	if (f->fl_flags & FL_SACK)
		o.have |= TO_SACKOK;
	if (f->fl_flags & FL_TS) {
		o.have |= TO_TS;
		o.tsval = f->fl_c_tsval;
		o.tsecr = 0;
	}
	s.opt = &o;
	emit(e, out, DIR_SERVER, &s);
}

/* An RST to the client as if from the server, acknowledging what the
 * client sent. */
static void send_client_rst(struct engine *e, struct engine_out *out, const struct flow *f)
{
	struct seg s;

	seg_init(&s, &f->fl_key, DIR_CLIENT);
	s.seq = f->fl_iss + 1;
	s.ack = f->fl_c_nxt;
	s.flags = TCPH_RST | TCPH_ACK;
	emit(e, out, DIR_CLIENT, &s);
}

/* Gives every held segment of f the verdict v (translated for ACCEPT). */
static void release_held(struct engine *e, struct engine_out *out, struct flow *f,
			 enum verdict v)
{
	uint32_t id, len;
	uint8_t *data;

	while (hold_pop(e->hold, &f->fl_held, &id, &data, &len)) {
		struct engine_release *r;
		struct pkt p;

		assert(out->nrelease < ENGINE_MAX_RELEASE);
		r = &out->release[out->nrelease++];
		r->id = id;
		r->data = data;
		r->len = len;
		r->verdict = v;
		if (v == VERDICT_ACCEPT && packet_parse(&p, data, len) == PKT_OK) {
			translate_apply(&p, &f->fl_c2s);
			count(e, CNT_held_released);
		} else {
			r->verdict = VERDICT_DROP;
			count(e, CNT_held_dropped);
		}
	}
}

/* Ends f: its held segments are dropped and its state freed. */
static void flow_end(struct engine *e, struct engine_out *out, struct flow *f, enum counter why)
{
	release_held(e, out, f, VERDICT_DROP);
	count(e, why);
	flow_event(out, &f->fl_key, false);
	flowtab_remove(e->ft, f);
}

/* Flows visited, at most, to find one in time-wait when the table is full. */
#define RECYCLE_VISITS 64

/* Makes room in a full flow table by ending a flow in time-wait, as Linux
 * reuses its time-wait sockets: such a flow only waits to translate a
 * late retransmission of the last FIN or ACK, while the table would
 * otherwise refuse new connections at flows.max / time_wait per second.
 * True when one was ended. */
static bool recycle_time_wait(struct engine *e, struct engine_out *out)
{
	struct flow *tw = flowtab_find_state(e->ft, FLOW_TIME_WAIT, RECYCLE_VISITS);

	if (!tw)
		return false;
	count(e, CNT_time_wait_recycled);
	flow_end(e, out, tw, CNT_flows_closed);
	return true;
}

/* Fills fi from f. */
static void flow_describe(const struct flow *f, uint64_t now_ms, struct flow_info *fi)
{
	*fi = (struct flow_info){
		.key = f->fl_key,
		.state = (enum flow_state)f->fl_state,
		.age_ms = now_ms - f->fl_created_ms,
		.seq_delta = f->fl_s2c.seq_add,
		.ts_delta = f->fl_s2c.tsval_add,
		.irs = f->fl_irs,
		.iss = f->fl_iss,
		.bis = f->fl_bis,
		.our_tsval = f->fl_our_tsval,
		.client_wscale = (f->fl_flags & FL_WS) ? f->fl_c_ws : WS_NONE,
		.our_wscale = (f->fl_flags & FL_WS) ? f->fl_our_ws : WS_NONE,
		.backend_wscale = (f->fl_flags & FL_B_WS) ? f->fl_b_ws : WS_NONE,
		.sack = f->fl_flags & FL_SACK,
		.ts = (f->fl_flags & (FL_TS | FL_B_TS)) == (FL_TS | FL_B_TS),
		.rescaled = f->fl_s2c.win_from != f->fl_s2c.win_to ||
			    f->fl_c2s.win_from != f->fl_c2s.win_to,
		.offloaded = f->fl_flags & FL_OFFLOADED,
	};
}

/* Sets both translations once the backend's ISN and options are known.
 * The window: a sender scales by the shift it announced, a receiver by
 * the shift it was told; the two differ when the client and the backend
 * did not see the same options. */
static void set_translation(struct flow *f, uint32_t b_tsval)
{
	uint32_t delta = f->fl_iss - f->fl_bis;
	uint32_t tsoff = 0;
	uint8_t c_ws = (f->fl_flags & FL_WS) ? f->fl_c_ws : 0;
	uint8_t our_ws = (f->fl_flags & FL_WS) ? f->fl_our_ws : 0;
	bool b_ws = (f->fl_flags & FL_WS) && (f->fl_flags & FL_B_WS);

	if ((f->fl_flags & FL_TS) && (f->fl_flags & FL_B_TS))
		tsoff = f->fl_our_tsval - b_tsval;
	f->fl_s2c = (struct xlate){
		.seq_add = delta,
		.tsval_add = tsoff,
		.win_from = b_ws ? f->fl_b_ws : 0,
		.win_to = our_ws,
	};
	f->fl_c2s = (struct xlate){
		.ack_add = (uint32_t)-delta,
		.sack_add = (uint32_t)-delta,
		.tsecr_add = (uint32_t)-tsoff,
		.win_from = c_ws,
		.win_to = b_ws ? c_ws : 0,
	};
}

/* Checks the TCP checksum of a packet that is about to create state. */
static bool csum_ok(struct engine *e, const struct pkt *p, const struct engine_meta *m)
{
	if (m && m->csum_unverified)
		return true;
	if (packet_tcp_csum_ok(p))
		return true;
	return false;
}

static uint8_t clamp_ws(uint8_t ws)
{
	return ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
}

/* A client SYN for no flow under proxying rule r. */
static void client_syn(struct engine *e, const struct pkt *p, const struct engine_meta *m,
		       const struct conn_key *k, unsigned ridx, uint64_t now_ms,
		       struct engine_out *out)
{
	const struct rule *r = rule_at(e, ridx);
	const struct syn_state *old;
	struct syn_state st, ev;
	struct tcpopt o;
	struct nego n;
	bool cache = e->sc != NULL;

	count(e, CNT_syn_received);
	if (!csum_ok(e, p, m)) {
		verdict(e, out, VERDICT_DROP, CNT_bad_checksum);
		return;
	}
	if (!srclimit_syn(e->src, &p->src, r->syn_rate_per_source, r->syn_burst_per_source,
			  now_ms)) {
		verdict(e, out, VERDICT_DROP, CNT_syn_rate_limited);
		return;
	}
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	n = negotiate(e, r, k, &o, (p->flags & (TCPH_ECE | TCPH_CWR)) == (TCPH_ECE | TCPH_CWR));
	old = e->sc ? syncache_lookup(e->sc, k) : NULL;
	if (old && old->irs == p->seq) {
		/* A retransmitted SYN: the same SYN-ACK again, echoing the
		 * newest TSval, with the retransmission clock restarted. */
		st = *old;
		st.tsval = o.tsval;
		syncache_insert(e->sc, &st, now_ms, false, NULL);
		send_synack(e, out, &st, &n, now_ms);
		verdict(e, out, VERDICT_DROP, CNT_syn_duplicate);
		return;
	}
	if (old) {
		/* A new attempt on the same tuple replaces the stale one. */
		syncache_remove(e->sc, k, NULL);
		half_open(e, &k->caddr, -1);
	}
	state_from_syn(&st, k, p, &o, &n, (uint8_t)ridx);
	if (e->cfg.cookies != COOKIES_OFF)
		st.iss = cookie_iss(e, &st, now_ms);
	else
		st.iss = isn_generate(e->isn_key, k, now_ms);

	if (cache && r->max_half_open_per_source &&
	    srclimit_half_open(e->src, &k->caddr, 0) >= r->max_half_open_per_source) {
		if (e->cfg.cookies == COOKIES_OFF) {
			verdict(e, out, VERDICT_DROP, CNT_half_open_limited);
			return;
		}
		count(e, CNT_half_open_limited);
		cache = false;
	}
	if (cache) {
		switch (syncache_insert(e->sc, &st, now_ms, e->cfg.cookies == COOKIES_OFF, &ev)) {
		case SC_EVICTED:
			count(e, CNT_syncache_evicted);
			half_open(e, &ev.key.caddr, -1);
			__attribute__((fallthrough));
		case SC_INSERTED:
			count(e, CNT_syncache_added);
			half_open(e, &k->caddr, 1);
			break;
		case SC_FULL:
			if (e->cfg.cookies == COOKIES_OFF) {
				verdict(e, out, VERDICT_DROP, CNT_syncache_full);
				return;
			}
			count(e, CNT_syncache_full);
			/* Under pressure: see engine_tick. */
			e->sc_pressure_until = now_ms + e->cfg.syncache.rto_ms;
			cache = false;
			break;
		}
	}
	if (!cache)
		count(e, CNT_cookie_sent);
	send_synack(e, out, &st, &n, now_ms);
	set_verdict(out, VERDICT_DROP, CNT_syn_received);
}

/* Turns a cookie's options into the syn_state a cache entry would hold. */
static void state_from_cookie(struct syn_state *st, const struct conn_key *k, uint32_t irs,
			      uint32_t iss, const struct cookie_opts *co, uint8_t rule)
{
	memset(st, 0, sizeof(*st));
	st->key = *k;
	st->irs = irs;
	st->iss = iss;
	st->mss = co->mss;
	st->rule = rule;
	if (co->wscale != COOKIE_NO_WSCALE) {
		st->flags |= SS_WSCALE;
		st->wscale = co->wscale;
	}
	st->flags |= (uint8_t)((co->sack ? SS_SACK : 0) | (co->ts ? SS_TS : 0) |
			       (co->ecn ? SS_ECN : 0));
}

/* Holds a client segment until the backend is ready; false when it
 * could not be held (then it is dropped and the client retransmits). */
static bool hold_segment(struct engine *e, struct flow *f, const struct pkt *p,
			 const struct engine_meta *m)
{
	if (f->fl_held.count >= e->cfg.hold_packets_per_flow)
		return false;
	return hold_push(e->hold, &f->fl_held, m ? m->id : 0, p->data, p->len);
}

/* Tracks what the client sent (sequence, FIN, window, TSval). */
static void track_client(struct flow *f, const struct pkt *p, const struct tcpopt *o)
{
	uint32_t end = p->seq + p->paylen + ((p->flags & TCPH_FIN) ? 1 : 0);

	f->fl_c_nxt = seq_max(f->fl_c_nxt, end);
	if (p->flags & TCPH_FIN) {
		f->fl_flags |= FL_C_FIN;
		f->fl_c_fin = p->seq + p->paylen;
	}
	/* While the backend handshake runs (SYN retransmissions, our final
	 * ACK), fl_c_tsval stays the TSval of the client's handshake ACK, set
	 * when the flow is made.  The held segments, released after that ACK,
	 * carry their own older TSvals than a later one; a backend that saw
	 * the newer value first drops them as old duplicates (PAWS, RFC 7323
	 * section 5) and the client must retransmit. */
	if (o && (o->have & TO_TS) && f->fl_state != FLOW_BACKEND_SYN)
		f->fl_c_tsval = o->tsval;
	f->fl_c_win = p->win;
	f->fl_c_wnd = (uint32_t)p->win << ((f->fl_flags & FL_WS) ? f->fl_c_ws : 0);
}

/* The handshake ACK (possibly with data) of a client with no flow. */
static void client_ack(struct engine *e, struct pkt *p, const struct engine_meta *m,
		       const struct conn_key *k, unsigned ridx, uint64_t now_ms,
		       struct engine_out *out)
{
	const struct rule *r = rule_at(e, ridx);
	const struct syn_state *hit = e->sc ? syncache_lookup(e->sc, k) : NULL;
	struct syn_state st;
	struct tcpopt o;
	struct flow *f = NULL;
	struct nego n;

	if (!csum_ok(e, p, m)) {
		verdict(e, out, VERDICT_DROP, CNT_bad_checksum);
		return;
	}
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	if (hit) {
		if (p->ack != hit->iss + 1 || p->seq != hit->irs + 1) {
			verdict(e, out, VERDICT_DROP, CNT_ack_invalid);
			return;
		}
		st = *hit;
		if (e->cfg.cookie_crosscheck && e->cfg.cookies != COOKIES_OFF) {
			struct cookie_opts co;

			if (cookie_check_keys(&e->cookie_keys, k, st.irs, st.iss, cookie_now(e, now_ms),
					 o.have & TO_TS, o.tsecr, &co) != COOKIE_VALID)
				count(e, CNT_cookie_mismatch);
		}
	} else if (e->cfg.cookies != COOKIES_OFF) {
		struct cookie_opts co;
		enum cookie_result cr = cookie_check_keys(&e->cookie_keys, k, p->seq - 1, p->ack - 1,
						     cookie_now(e, now_ms), o.have & TO_TS,
						     o.tsecr, &co);

		if (cr != COOKIE_VALID) {
			count(e, CNT_cookie_invalid);
			verdict(e, out, VERDICT_DROP,
				cr == COOKIE_EXPIRED ? CNT_cookie_invalid_expired :
				CNT_cookie_invalid_mac);
			return;
		}
		state_from_cookie(&st, k, p->seq - 1, p->ack - 1, &co, (uint8_t)ridx);
	} else {
		verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
		return;
	}
	if (r->action == RULE_PROXY) {
		f = flowtab_insert(e->ft, k, now_ms + e->cfg.backend_syn_rto_ms);
		if (!f && recycle_time_wait(e, out))
			f = flowtab_insert(e->ft, k, now_ms + e->cfg.backend_syn_rto_ms);
		if (!f) {
			verdict(e, out, VERDICT_DROP, CNT_flows_full);
			return;
		}
		out->forget = true;
		out->forget_key = *k;
		flow_event(out, k, true);
	}
	if (hit) {
		syncache_remove(e->sc, k, NULL);
		half_open(e, &k->caddr, -1);
		count(e, CNT_syncache_hit);
	} else {
		count(e, CNT_cookie_valid);
	}
	if (r->action == RULE_RESET) {
		struct seg s;

		seg_init(&s, k, DIR_CLIENT);
		s.seq = p->ack;
		s.flags = TCPH_RST;
		emit(e, out, DIR_CLIENT, &s);
		passlist_add(e->pass, &k->caddr, (uint8_t)ridx, now_ms, r->reset_pass_ms);
		verdict(e, out, VERDICT_DROP, CNT_reset_action);
		return;
	}
	assert(f);
	n = negotiate_state(e, &st);
	f->fl_irs = st.irs;
	f->fl_iss = st.iss;
	f->fl_mss = st.mss;
	f->fl_rule = (uint8_t)ridx;
	f->fl_state = FLOW_BACKEND_SYN;
	f->fl_created_ms = now_ms;
	f->fl_c_nxt = st.irs + 1;
	if (st.flags & SS_WSCALE) {
		f->fl_flags |= FL_WS;
		f->fl_c_ws = clamp_ws(st.wscale);
		f->fl_our_ws = n.ws == WS_NONE ? 0 : n.ws;
	}
	if (st.flags & SS_SACK)
		f->fl_flags |= FL_SACK;
	if ((st.flags & SS_TS) && (o.have & TO_TS)) {
		f->fl_flags |= FL_TS;
		f->fl_our_tsval = o.tsecr;
	}
	if (st.flags & SS_ECN)
		f->fl_flags |= FL_ECN;
	if (!hit)
		f->fl_flags |= FL_COOKIE;
	if (o.have & TO_TS)
		f->fl_c_tsval = o.tsval;
	track_client(f, p, &o);
	count(e, CNT_flows_created);
	send_backend_syn(e, out, f);
	count(e, CNT_backend_syn_sent);
	if (p->paylen || (p->flags & TCPH_FIN)) {
		if (hold_segment(e, f, p, m)) {
			verdict(e, out, VERDICT_HOLD, CNT_packets_held);
			return;
		}
		/* Not held: the client sends it again, so what it carried
		 * is not received (see client_flow). */
		count(e, CNT_held_dropped);
		f->fl_c_nxt = st.irs + 1;
		f->fl_flags &= (uint16_t)~FL_C_FIN;
	}
	set_verdict(out, VERDICT_DROP, hit ? CNT_syncache_hit : CNT_cookie_valid);
}

/* Decides what an RST does to a flow: an exact one (seq is what the
 * sender sends next) ends it; one inside the receiver's window is passed
 * on but only shortens the flow's life, as the receiver may answer it
 * with a challenge ACK (RFC 5961); any other is dropped. */
enum rst_kind { RST_EXACT, RST_IN_WINDOW, RST_OUTSIDE };

static enum rst_kind classify_rst(uint32_t seq, uint32_t nxt, uint32_t wnd)
{
	if (seq == nxt)
		return RST_EXACT;
	if (seq_between(seq, nxt, nxt + (wnd ? wnd : 1)))
		return RST_IN_WINDOW;
	return RST_OUTSIDE;
}

/* The deadline a live flow gets after a segment. */
static uint64_t live_deadline(const struct engine *e, const struct flow *f, uint64_t now_ms)
{
	if (f->fl_flags & FL_OFFLOADED)
		return now_ms + e->cfg.rst_grace_ms;
	switch (f->fl_state) {
	case FLOW_TIME_WAIT:
		return f->fl_deadline_ms;
	case FLOW_CLOSING:
		return now_ms + e->cfg.fin_wait_ms;
	default:
		return now_ms + e->cfg.established_idle_ms;
	}
}

/* Moves an established flow along its close once FINs are acknowledged. */
static void update_close(struct engine *e, struct flow *f, uint64_t now_ms)
{
	if (f->fl_state == FLOW_TIME_WAIT)
		return;
	if ((f->fl_flags & (FL_C_FIN_ACKED | FL_S_FIN_ACKED)) ==
	    (FL_C_FIN_ACKED | FL_S_FIN_ACKED)) {
		f->fl_state = FLOW_TIME_WAIT;
		flowtab_set_deadline(e->ft, f, now_ms + e->cfg.time_wait_ms);
	} else if (f->fl_flags & (FL_C_FIN | FL_S_FIN)) {
		f->fl_state = FLOW_CLOSING;
	}
}

/* A client segment of a spliced flow. */
/* A FIN or RST of an offloaded flow that reaches the queue went past
 * conntrack before the flow's entry existed (or conntrack found it
 * invalid): the entry will never see the connection close and would stay
 * ESTABLISHED, ready to translate a later connection on the same tuple
 * with this one's offsets.  The flow comes back to userspace, where it
 * ends as any other, and the entry goes. */
static void withdraw_if_closing(struct engine *e, struct flow *f, const struct pkt *p,
				struct engine_out *out)
{
	if (!(f->fl_flags & FL_OFFLOADED) || !(p->flags & (TCPH_FIN | TCPH_RST)))
		return;
	f->fl_flags &= (uint16_t)~FL_OFFLOADED;
	out->forget = true;
	out->forget_key = f->fl_key;
	count(e, CNT_offload_withdrawn);
}

static void client_flow(struct engine *e, struct flow *f, struct pkt *p,
			const struct engine_meta *m, uint64_t now_ms, struct engine_out *out)
{
	struct tcpopt o;

	withdraw_if_closing(e, f, p, out);
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	if (f->fl_state == FLOW_BACKEND_SYN) {
		if (p->flags & TCPH_RST) {
			struct seg s;

			/* The client gave up: tell the backend, whose half-open
			 * entry comes from our SYN. */
			seg_init(&s, &f->fl_key, DIR_SERVER);
			s.seq = f->fl_irs + 1;
			s.flags = TCPH_RST;
			emit(e, out, DIR_SERVER, &s);
			flow_end(e, out, f, CNT_flows_reset);
			set_verdict(out, VERDICT_DROP, CNT_flows_reset);
			return;
		}
		/* A segment that cannot be held is dropped, and the client
		 * sends it again: what it carried must not count as received,
		 * or the ACK after the backend's SYN-ACK would acknowledge it. */
		if (p->paylen || (p->flags & TCPH_FIN)) {
			if (hold_segment(e, f, p, m)) {
				track_client(f, p, &o);
				verdict(e, out, VERDICT_HOLD, CNT_packets_held);
				return;
			}
			verdict(e, out, VERDICT_DROP, CNT_held_dropped);
			return;
		}
		track_client(f, p, &o);
		verdict(e, out, VERDICT_DROP, CNT_cookie_retrans);
		return;
	}
	if (p->flags & TCPH_RST) {
		switch (classify_rst(p->seq, f->fl_c_nxt, f->fl_s_wnd)) {
		case RST_OUTSIDE:
			verdict(e, out, VERDICT_DROP, CNT_rst_out_of_window);
			return;
		case RST_IN_WINDOW:
			flowtab_set_deadline(e->ft, f, now_ms + e->cfg.rst_grace_ms);
			translate_apply(p, &f->fl_c2s);
			out->modified = true;
			verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
			return;
		case RST_EXACT:
			translate_apply(p, &f->fl_c2s);
			out->modified = true;
			flow_end(e, out, f, CNT_flows_reset);
			verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
			return;
		}
	}
	track_client(f, p, &o);
	translate_apply(p, &f->fl_c2s);
	out->modified = true;
	if ((p->flags & TCPH_ACK) && (f->fl_flags & FL_S_FIN) &&
	    seq_after(p->ack, f->fl_s_fin))
		f->fl_flags |= FL_S_FIN_ACKED;
	if (f->fl_c2s.win_from != f->fl_c2s.win_to)
		count(e, CNT_window_rescaled);
	update_close(e, f, now_ms);
	flowtab_set_deadline(e->ft, f, live_deadline(e, f, now_ms));
	verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
}

/* The backend's SYN-ACK to our SYN: splice the two legs. */
static void backend_synack(struct engine *e, struct flow *f, struct pkt *p, uint64_t now_ms,
			   struct engine_out *out)
{
	struct learned_opts lo;
	struct tcpopt o, ao = { .have = 0 };
	struct seg s;

	if (p->ack != f->fl_irs + 1) {
		verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	f->fl_bis = p->seq;
	f->fl_s_nxt = p->seq + 1;
	if (o.have & TO_WSCALE) {
		f->fl_flags |= FL_B_WS;
		f->fl_b_ws = clamp_ws(o.wscale);
	}
	if (o.have & TO_TS)
		f->fl_flags |= FL_B_TS;
	else if (f->fl_flags & FL_TS)
		count(e, CNT_ts_missing);
	set_translation(f, o.tsval);
	f->fl_s_wnd = p->win;   /* SYN windows are never scaled */
	lo = (struct learned_opts){
		.mss = (o.have & TO_MSS) ? o.mss : DEFAULT_MSS,
		.wscale = (o.have & TO_WSCALE) ? f->fl_b_ws : WS_NONE,
		.sack = o.have & TO_SACKOK,
		.ts = o.have & TO_TS,
		.valid = true,
	};
	{
		struct learned_opts old;

		if (!learned_get(e->learned, &f->fl_key.saddr, f->fl_key.sport, &old) ||
		    old.mss != lo.mss || old.wscale != lo.wscale || old.sack != lo.sack ||
		    old.ts != lo.ts) {
			out->learned = true;
			out->learned_addr = f->fl_key.saddr;
			out->learned_port = f->fl_key.sport;
			out->learned_opts = lo;
		}
	}
	learned_put(e->learned, &f->fl_key.saddr, f->fl_key.sport, &lo);
	count(e, CNT_options_learned);

	/* Complete the backend's handshake in the client's name. */
	seg_init(&s, &f->fl_key, DIR_SERVER);
	s.seq = f->fl_irs + 1;
	s.ack = f->fl_bis + 1;
	s.flags = TCPH_ACK;
	{
		uint32_t w = ((uint32_t)f->fl_c_win << f->fl_c2s.win_from) >> f->fl_c2s.win_to;

		s.win = (uint16_t)(w > 65535 ? 65535 : w);
	}
	if ((f->fl_flags & FL_TS) && (f->fl_flags & FL_B_TS)) {
		ao.have = TO_TS;
		ao.tsval = f->fl_c_tsval;
		ao.tsecr = o.tsval;
		s.opt = &ao;
	}
	emit(e, out, DIR_SERVER, &s);
	f->fl_state = FLOW_ESTABLISHED;
	count(e, CNT_backend_established);

	if (f->fl_held.count) {
		release_held(e, out, f, VERDICT_ACCEPT);
	} else {
		/* Tell the client the backend's real window. */
		struct tcpopt wo = { .have = 0 };
		uint32_t w = ((uint32_t)p->win >> f->fl_s2c.win_to);

		seg_init(&s, &f->fl_key, DIR_CLIENT);
		s.seq = f->fl_iss + 1;
		s.ack = f->fl_c_nxt;
		s.flags = TCPH_ACK;
		s.win = (uint16_t)(w ? w : 1);
		if ((f->fl_flags & FL_TS) && (f->fl_flags & FL_B_TS)) {
			wo.have = TO_TS;
			wo.tsval = o.tsval + f->fl_s2c.tsval_add;
			wo.tsecr = f->fl_c_tsval;
			s.opt = &wo;
		}
		emit(e, out, DIR_CLIENT, &s);
	}
	flowtab_set_deadline(e->ft, f, now_ms + e->cfg.established_idle_ms);
	out->offer = true;
	flow_describe(f, now_ms, &out->offer_flow);
	set_verdict(out, VERDICT_DROP, CNT_backend_established);
}

/* A server segment of a flow. */
static void server_flow(struct engine *e, struct flow *f, struct pkt *p, uint64_t now_ms,
			struct engine_out *out)
{
	uint32_t end;

	withdraw_if_closing(e, f, p, out);
	if (f->fl_state == FLOW_BACKEND_SYN) {
		if ((p->flags & (TCPH_SYN | TCPH_ACK | TCPH_RST)) == (TCPH_SYN | TCPH_ACK)) {
			backend_synack(e, f, p, now_ms, out);
			return;
		}
		if ((p->flags & TCPH_RST) && (!(p->flags & TCPH_ACK) || p->ack == f->fl_irs + 1)) {
			send_client_rst(e, out, f);
			flow_end(e, out, f, CNT_backend_refused);
			set_verdict(out, VERDICT_DROP, CNT_backend_refused);
			return;
		}
		verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	if ((p->flags & (TCPH_SYN | TCPH_ACK)) == (TCPH_SYN | TCPH_ACK)) {
		/* Our ACK to the backend was lost: it repeats its SYN-ACK. */
		if (p->seq == f->fl_bis && f->fl_state == FLOW_ESTABLISHED) {
			struct seg s;

			seg_init(&s, &f->fl_key, DIR_SERVER);
			s.seq = f->fl_irs + 1;
			s.ack = f->fl_bis + 1;
			s.flags = TCPH_ACK;
			s.win = p->win;
			emit(e, out, DIR_SERVER, &s);
		}
		verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	if (p->flags & TCPH_RST) {
		switch (classify_rst(p->seq, f->fl_s_nxt, f->fl_c_wnd)) {
		case RST_OUTSIDE:
			verdict(e, out, VERDICT_DROP, CNT_rst_out_of_window);
			return;
		case RST_IN_WINDOW:
			flowtab_set_deadline(e->ft, f, now_ms + e->cfg.rst_grace_ms);
			translate_apply(p, &f->fl_s2c);
			out->modified = true;
			verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
			return;
		case RST_EXACT:
			translate_apply(p, &f->fl_s2c);
			out->modified = true;
			flow_end(e, out, f, CNT_flows_reset);
			verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
			return;
		}
	}
	end = p->seq + p->paylen + ((p->flags & TCPH_FIN) ? 1 : 0);
	f->fl_s_nxt = seq_max(f->fl_s_nxt, end);
	if (p->flags & TCPH_FIN) {
		f->fl_flags |= FL_S_FIN;
		f->fl_s_fin = p->seq + p->paylen;
	}
	if ((p->flags & TCPH_ACK) && (f->fl_flags & FL_C_FIN) && seq_after(p->ack, f->fl_c_fin))
		f->fl_flags |= FL_C_FIN_ACKED;
	f->fl_s_wnd = (uint32_t)p->win << f->fl_s2c.win_from;
	translate_apply(p, &f->fl_s2c);
	out->modified = true;
	if (f->fl_s2c.win_from != f->fl_s2c.win_to)
		count(e, CNT_window_rescaled);
	update_close(e, f, now_ms);
	flowtab_set_deadline(e->ft, f, live_deadline(e, f, now_ms));
	verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
}

/* Answers a SYN on a live flow the way RFC 5961 (section 4) has a TCP
 * endpoint do it: an ACK carrying what the server expects next.  A client
 * that lost the connection (or is opening a new one from the same port)
 * answers it with an RST at exactly that number, which ends the flow
 * through the exact-RST rule; its next SYN then opens a fresh connection.
 * A spoofed SYN learns nothing and ends nothing. */
static void challenge_ack(struct engine *e, struct flow *f, uint64_t now_ms,
			  struct engine_out *out)
{
	uint32_t w = f->fl_s_wnd >> f->fl_s2c.win_to;
	struct seg s;

	if (now_ms / 1000 != e->challenge_second) {
		e->challenge_second = now_ms / 1000;
		e->challenge_sent = 0;
	}
	if (e->challenge_sent >= CHALLENGE_ACK_PER_SEC) {
		count(e, CNT_challenge_ack_limited);
		return;
	}
	e->challenge_sent++;
	seg_init(&s, &f->fl_key, DIR_CLIENT);
	s.seq = f->fl_s_nxt + f->fl_s2c.seq_add;
	s.ack = f->fl_c_nxt;
	s.flags = TCPH_ACK;
	s.win = (uint16_t)(w > 65535 ? 65535 : w);
	emit(e, out, DIR_CLIENT, &s);
}

/* A client packet (not part of a flow) under rule ridx. */
static void client_input(struct engine *e, struct pkt *p, const struct engine_meta *m,
			 unsigned ridx, uint64_t now_ms, struct engine_out *out)
{
	const struct rule *r = &e->pol->rules[ridx];
	uint8_t fl = p->flags;
	struct conn_key k;
	struct flow *f;

	switch (r->action) {
	case RULE_ACCEPT:
		verdict(e, out, VERDICT_ACCEPT, CNT_rule_accept);
		return;
	case RULE_DROP:
		verdict(e, out, VERDICT_DROP, CNT_rule_drop);
		return;
	case RULE_PROXY:
	case RULE_RESET:
		break;
	}
	if (((fl & TCPH_SYN) && (fl & (TCPH_FIN | TCPH_RST))) ||
	    !(fl & (TCPH_SYN | TCPH_ACK | TCPH_RST))) {
		verdict(e, out, VERDICT_DROP, CNT_bad_flags);
		return;
	}
	key_of(p, DIR_CLIENT, &k);
	f = flowtab_lookup(e->ft, &k);
	if (f && (fl & TCPH_SYN) && !(fl & TCPH_ACK)) {
		if (f->fl_state != FLOW_TIME_WAIT) {
			challenge_ack(e, f, now_ms, out);
			verdict(e, out, VERDICT_DROP, CNT_syn_on_flow);
			return;
		}
		/* A new connection reusing the tuple ends the old one. */
		flow_end(e, out, f, CNT_flows_closed);
		f = NULL;
	}
	if (f) {
		client_flow(e, f, p, m, now_ms, out);
		return;
	}
	if ((r->deny && cidrset_contains(r->deny, &p->src)) ||
	    (r->allow && !cidrset_contains(r->allow, &p->src))) {
		verdict(e, out, VERDICT_DROP, CNT_denied);
		return;
	}
	if (r->action == RULE_RESET && passlist_check(e->pass, &p->src, (uint8_t)ridx, now_ms)) {
		verdict(e, out, VERDICT_ACCEPT, CNT_reset_pass);
		return;
	}
	if ((fl & TCPH_SYN) && !(fl & TCPH_ACK)) {
		client_syn(e, p, m, &k, ridx, now_ms, out);
		return;
	}
	if (fl & TCPH_RST) {
		const struct syn_state *st = e->sc ? syncache_lookup(e->sc, &k) : NULL;

		if (st && p->seq == st->irs + 1) {
			syncache_remove(e->sc, &k, NULL);
			half_open(e, &k.caddr, -1);
			verdict(e, out, VERDICT_DROP, CNT_syncache_reset);
			return;
		}
		verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
		return;
	}
	if ((fl & TCPH_ACK) && !(fl & TCPH_SYN)) {
		client_ack(e, p, m, &k, ridx, now_ms, out);
		return;
	}
	verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
}

/* An ICMP error about a segment we sent toward a backend. */
static void icmp_input(struct engine *e, uint8_t *data, uint32_t len, struct engine_out *out)
{
	struct conn_key k;
	uint32_t seq;
	struct flow *f;

	if (!packet_parse_icmp_unreach(data, len, &k, &seq) ||
	    !(f = flowtab_lookup(e->ft, &k)) || f->fl_state != FLOW_BACKEND_SYN ||
	    seq != f->fl_irs) {
		verdict(e, out, VERDICT_ACCEPT, CNT_parse_not_tcp);
		return;
	}
	out->dir = DIR_SERVER;
	send_client_rst(e, out, f);
	flow_end(e, out, f, CNT_backend_unreachable);
	set_verdict(out, VERDICT_DROP, CNT_backend_unreachable);
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
		icmp_input(e, data, len, out);
	} else if (err != PKT_OK) {
		verdict(e, out, VERDICT_DROP, parse_counter[err]);
	} else if ((ridx = policy_match(e->pol, &p.dst, p.dport)) >= 0) {
		out->dir = DIR_CLIENT;
		client_input(e, &p, m, (unsigned)ridx, now_ms, out);
	} else if (policy_match_server(e->pol, &p.src, p.sport) >= 0) {
		struct conn_key k;
		struct flow *f;

		out->dir = DIR_SERVER;
		key_of(&p, DIR_SERVER, &k);
		f = flowtab_lookup(e->ft, &k);
		if (f)
			server_flow(e, f, &p, now_ms, out);
		else
			verdict(e, out, VERDICT_ACCEPT, CNT_passthrough);
	} else {
		verdict(e, out, VERDICT_ACCEPT, CNT_no_rule);
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

/* Runs one due flow's timer. */
static void flow_timer(struct engine *e, struct flow *f, uint64_t now_ms,
		       struct engine_out *out)
{
	switch (f->fl_state) {
	case FLOW_BACKEND_SYN:
		if (f->fl_retries < e->cfg.backend_syn_retries) {
			f->fl_retries++;
			send_backend_syn(e, out, f);
			count(e, CNT_backend_syn_retrans);
			flowtab_set_deadline(e->ft, f, now_ms + ((uint64_t)e->cfg.backend_syn_rto_ms
								 << f->fl_retries));
			return;
		}
		send_client_rst(e, out, f);
		flow_end(e, out, f, CNT_backend_timeout);
		return;
	case FLOW_TIME_WAIT:
		flow_end(e, out, f, CNT_flows_closed);
		return;
	default:
		flow_end(e, out, f, (f->fl_flags & FL_OFFLOADED) ? CNT_offload_released :
				    CNT_flows_expired);
		return;
	}
}

bool engine_offloaded(struct engine *e, const struct conn_key *k, uint64_t now_ms)
{
	struct flow *f = flowtab_lookup(e->ft, k);

	if (!f || f->fl_state != FLOW_ESTABLISHED || (f->fl_flags & FL_OFFLOADED))
		return false;
	f->fl_flags |= FL_OFFLOADED;
	flowtab_set_deadline(e->ft, f, now_ms + e->cfg.rst_grace_ms);
	count(e, CNT_flows_offloaded);
	return true;
}

bool engine_tick(struct engine *e, uint64_t now_ms, struct engine_out *out)
{
	struct syn_state due[ENGINE_MAX_EMIT];
	enum sc_event ev[ENGINE_MAX_EMIT];
	struct flow *f;

	out_reset(out);
	if (e->sc) {
		/* While the cache turns SYNs away (a flood fills it), an entry
		 * that is due is dropped instead of retransmitted: its SYN-ACK ISN
		 * is a cookie, so the client's late ACK still validates, a client
		 * that lost the SYN-ACK retransmits its SYN, and the room goes to
		 * new SYNs rather than to SYN-ACKs toward sources that never
		 * answer (docs/decisions.md). */
		bool shed = e->cfg.cookies == COOKIES_AUTO && now_ms < e->sc_pressure_until;
		size_t ndue = syncache_due(e->sc, now_ms, shed, due, ev, ENGINE_MAX_EMIT / 2);

		for (size_t i = 0; i < ndue; i++) {
			if (ev[i] != SC_RETRANSMIT) {
				count(e, ev[i] == SC_SHED ? CNT_syncache_shed :
							    CNT_syncache_expired);
				half_open(e, &due[i].key.caddr, -1);
				continue;
			}
			/* The options we answer with are those of the rule
			 * in force now: the client's are in the entry. */
			struct nego n = negotiate_state(e, &due[i]);

			if (n.ws == WS_NONE)
				due[i].flags &= (uint8_t)~SS_WSCALE;
			send_synack(e, out, &due[i], &n, now_ms);
			count(e, CNT_synack_retrans);
		}
		if (ndue == ENGINE_MAX_EMIT / 2)
			return true;
	}
	while (out_has_room(out, e) && (f = flowtab_due(e->ft, now_ms)))
		flow_timer(e, f, now_ms, out);
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
		release_held(e, out, c.found, VERDICT_DROP);
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

	flow_describe(f, w->now_ms, &fi);
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
