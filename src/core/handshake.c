/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The handshake: a client's SYN and its handshake ACK, up to the moment
 * its flow is made (splice.c takes over there).  It owns the negotiation
 * of the options we answer with (the rule's, or those learned from the
 * backend), the ISN of our SYN-ACK (a cookie, or RFC 6528 with cookies
 * off), the SYN cache entry and its half-open count per source, the
 * SYN-ACK and its retransmissions, and the checks of the ACK: against the
 * cache entry, or as a cookie when there is none.  FreeBSD draws the same
 * line between tcp_syncache.c and tcp_input.c. */
#include <string.h>

#include "engine_int.h"
#include "isn.h"

/* The cookie time counter runs on the wall clock, so that proxies sharing
 * a secret agree on it whatever their uptime. */
static uint32_t cookie_now(const struct engine *e, uint64_t now_ms)
{
	return cookie_counter(now_ms + (uint64_t)e->wall_offset_ms);
}

/* Our TSval clock: 1 kHz, offset by a secret so it says nothing of our
 * uptime. */
static uint32_t ts_now(const struct engine *e, uint64_t now_ms)
{
	return (uint32_t)now_ms + e->ts_base;
}

/* Adjusts the half-open count of src's network, kept only while some
 * rule limits it (limits_half_open in engine.c). */
static void half_open(struct engine *e, const struct addr *src, int delta)
{
	if (e->count_half_open)
		srclimit_half_open(e->src, src, delta);
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
	if (r->mss_mode == OPT_AUTO)
		n.mss = lo.valid ? lo.mss : addr_is_v4(&k->saddr) ? AUTO_MSS4 : AUTO_MSS6;
	else
		n.mss = r->mss;
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
	/* ECN only where every way to the handshake ACK carries it: a
	 * cookie does in its timestamp bits alone (cookie.c), and with
	 * cookies on any SYN-ACK may come back as a cookie (an entry evicted
	 * or shed, a restart with a shared secret, the XDP stage), after
	 * which the backend SYN would go without ECN to a client that was
	 * told it has it. */
	n.ecn = ecn_setup && r->ecn && (n.ts || e->cfg.cookies == COOKIES_OFF);
	return n;
}

/* negotiate() for a client whose SYN is known only through its state
 * (a SYN cache entry or a cookie), under r, the rule in force now for its
 * destination.  A cache entry keeps the window scale our SYN-ACK
 * announced, which the client now applies to its windows: it wins over
 * the rule's, which a reload or newly learned options may have changed
 * since (a cookie cannot carry it, so it is recomputed). */
static struct nego negotiate_state(struct engine *e, const struct rule *r,
				   const struct syn_state *st)
{
	struct tcpopt o = {
		.have = (uint8_t)(((st->flags & SS_WSCALE) ? TO_WSCALE : 0) |
				  ((st->flags & SS_SACK) ? TO_SACKOK : 0) |
				  ((st->flags & SS_TS) ? TO_TS : 0)),
		.wscale = st->wscale,
	};
	struct nego n = negotiate(e, r, &st->key, &o, st->flags & SS_ECN);

	if ((st->flags & SS_WSCALE) && st->our_ws != WS_NONE)
		n.ws = st->our_ws;
	return n;
}

/* The rule in force for the destination of a half-open entry, found
 * again rather than remembered by its index: a reload may have reordered
 * the rules.  NULL when no rule answers SYNs there any more. */
static const struct rule *rule_for(const struct engine *e, const struct conn_key *k)
{
	int idx = policy_match(e->pol, &k->saddr, k->sport);
	const struct rule *r = idx >= 0 ? &e->pol->rules[idx] : NULL;

	if (!r || (r->action != RULE_PROXY && r->action != RULE_RESET))
		return NULL;
	return r;
}

/* The client's options as the SYN cache and the backend SYN carry them. */
static void state_from_syn(struct syn_state *st, const struct conn_key *k, const struct pkt *p,
			   const struct tcpopt *o, const struct nego *n)
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
	st->our_ws = n->ws;
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
	engine_emit(e, out, DIR_CLIENT, &s);
	count(e, CNT_synack_sent);
}

/* Checks the TCP checksum of a packet that is about to create state. */
static bool csum_ok(const struct pkt *p, const struct engine_meta *m)
{
	if (m && m->csum_unverified)
		return true;
	if (packet_tcp_csum_ok(p))
		return true;
	return false;
}

void handshake_syn(struct engine *e, const struct pkt *p, const struct engine_meta *m,
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
	if (!csum_ok(p, m)) {
		count_verdict(e, out, VERDICT_DROP, CNT_bad_checksum);
		return;
	}
	if (!srclimit_syn(e->src, &p->src, r->syn_rate_per_source, r->syn_burst_per_source,
			  now_ms)) {
		count_verdict(e, out, VERDICT_DROP, CNT_syn_rate_limited);
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
		if (st.flags & SS_WSCALE)
			n.ws = st.our_ws;
		syncache_insert(e->sc, &st, now_ms, false, NULL);
		send_synack(e, out, &st, &n, now_ms);
		count_verdict(e, out, VERDICT_DROP, CNT_syn_duplicate);
		return;
	}
	if (old) {
		/* A new attempt on the same tuple replaces the stale one. */
		syncache_remove(e->sc, k, NULL);
		half_open(e, &k->caddr, -1);
	}
	state_from_syn(&st, k, p, &o, &n);
	if (e->cfg.cookies != COOKIES_OFF)
		st.iss = cookie_iss(e, &st, now_ms);
	else
		st.iss = isn_generate(e->isn_key, k, now_ms);

	if (cache && r->max_half_open_per_source &&
	    srclimit_half_open(e->src, &k->caddr, 0) >= r->max_half_open_per_source) {
		if (e->cfg.cookies == COOKIES_OFF) {
			count_verdict(e, out, VERDICT_DROP, CNT_half_open_limited);
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
				count_verdict(e, out, VERDICT_DROP, CNT_syncache_full);
				return;
			}
			count(e, CNT_syncache_full);
			/* Under pressure: see handshake_tick. */
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
			      uint32_t iss, const struct cookie_opts *co)
{
	memset(st, 0, sizeof(*st));
	st->key = *k;
	st->irs = irs;
	st->iss = iss;
	st->mss = co->mss;
	st->our_ws = WS_NONE;
	if (co->wscale != COOKIE_NO_WSCALE) {
		st->flags |= SS_WSCALE;
		st->wscale = co->wscale;
	}
	st->flags |= (uint8_t)((co->sack ? SS_SACK : 0) | (co->ts ? SS_TS : 0) |
			       (co->ecn ? SS_ECN : 0));
}

/* Answers the client's handshake ACK p with an RST, as the server would
 * for a connection it does not have. */
static void reset_client(struct engine *e, struct engine_out *out, const struct conn_key *k,
			 const struct pkt *p)
{
	struct seg s;

	seg_init(&s, k, DIR_CLIENT);
	s.seq = p->ack;
	s.flags = TCPH_RST;
	engine_emit(e, out, DIR_CLIENT, &s);
}

void handshake_ack(struct engine *e, struct pkt *p, const struct engine_meta *m,
		   const struct conn_key *k, unsigned ridx, uint64_t now_ms,
		   struct engine_out *out)
{
	const struct rule *r = rule_at(e, ridx);
	const struct syn_state *hit = e->sc ? syncache_lookup(e->sc, k) : NULL;
	enum splice_open_result opened = SPLICE_OPENED;
	struct syn_state st;
	struct tcpopt o;

	if (!csum_ok(p, m)) {
		count_verdict(e, out, VERDICT_DROP, CNT_bad_checksum);
		return;
	}
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	if (hit) {
		if (p->ack != hit->iss + 1 || p->seq != hit->irs + 1) {
			count_verdict(e, out, VERDICT_DROP, CNT_ack_invalid);
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

		/* During a rotation, a cookie issued under the previous secret
		 * (by us before the change, or by a proxy not yet changed). */
		if (cr != COOKIE_VALID && e->have_cookie_prev &&
		    cookie_check_keys(&e->cookie_prev, k, p->seq - 1, p->ack - 1,
				      cookie_now(e, now_ms), o.have & TO_TS, o.tsecr,
				      &co) == COOKIE_VALID) {
			cr = COOKIE_VALID;
			count(e, CNT_cookie_previous_secret);
		}

		if (cr != COOKIE_VALID) {
			count(e, CNT_cookie_invalid);
			count_verdict(e, out, VERDICT_DROP,
				cr == COOKIE_EXPIRED ? CNT_cookie_invalid_expired :
				CNT_cookie_invalid_mac);
			return;
		}
		state_from_cookie(&st, k, p->seq - 1, p->ack - 1, &co);
	} else {
		count_verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
		return;
	}
	if (r->action == RULE_PROXY) {
		/* The options we answered with are recomputed, not stored
		 * (docs/decisions.md). */
		struct nego n = negotiate_state(e, r, &st);

		/* A full table drops the ACK and keeps the cache entry: the
		 * client's retransmission may find room. */
		opened = splice_open(e, out, &st, &n, !hit, ridx, p, &o, m, now_ms);
		if (opened == SPLICE_FULL) {
			count_verdict(e, out, VERDICT_DROP, CNT_flows_full);
			return;
		}
		if (opened == SPLICE_SOURCE_FULL) {
			/* The client's own flows must end first: it is told at
			 * once, rather than left retransmitting into a table
			 * that will not take it. */
			reset_client(e, out, k, p);
			if (hit) {
				syncache_remove(e->sc, k, NULL);
				half_open(e, &k->caddr, -1);
			}
			count_verdict(e, out, VERDICT_DROP, CNT_flows_source_limited);
			return;
		}
	}
	if (hit) {
		syncache_remove(e->sc, k, NULL);
		half_open(e, &k->caddr, -1);
		count(e, CNT_syncache_hit);
	} else {
		count(e, CNT_cookie_valid);
	}
	if (r->action == RULE_RESET) {
		reset_client(e, out, k, p);
		passlist_add(e->pass, &k->caddr, rule_ident(r), now_ms, r->reset_pass_ms);
		count_verdict(e, out, VERDICT_DROP, CNT_reset_action);
		return;
	}
	if (opened != SPLICE_HELD)
		set_verdict(out, VERDICT_DROP, hit ? CNT_syncache_hit : CNT_cookie_valid);
}

void handshake_rst(struct engine *e, const struct pkt *p, const struct conn_key *k,
		   struct engine_out *out)
{
	const struct syn_state *st = e->sc ? syncache_lookup(e->sc, k) : NULL;

	if (st && p->seq == st->irs + 1) {
		syncache_remove(e->sc, k, NULL);
		half_open(e, &k->caddr, -1);
		count_verdict(e, out, VERDICT_DROP, CNT_syncache_reset);
		return;
	}
	count_verdict(e, out, VERDICT_DROP, CNT_ack_no_state);
}

bool handshake_tick(struct engine *e, uint64_t now_ms, struct engine_out *out)
{
	struct syn_state due[ENGINE_MAX_EMIT];
	enum sc_event ev[ENGINE_MAX_EMIT];
	/* While the cache turns SYNs away (a flood fills it), an entry that
	 * is due is dropped instead of retransmitted: its SYN-ACK ISN is a
	 * cookie, so the client's late ACK still validates, a client that
	 * lost the SYN-ACK retransmits its SYN, and the room goes to new SYNs
	 * rather than to SYN-ACKs toward sources that never answer
	 * (docs/decisions.md). */
	bool shed = e->cfg.cookies == COOKIES_AUTO && now_ms < e->sc_pressure_until;
	size_t ndue;

	if (!e->sc)
		return false;
	ndue = syncache_due(e->sc, now_ms, shed, due, ev, ENGINE_MAX_EMIT / 2);
	for (size_t i = 0; i < ndue; i++) {
		if (ev[i] != SC_RETRANSMIT) {
			count(e, ev[i] == SC_SHED ? CNT_syncache_shed : CNT_syncache_expired);
			half_open(e, &due[i].key.caddr, -1);
			continue;
		}
		/* The same SYN-ACK again: the client's options and our window
		 * scale are in the entry, the rest comes from the rule in
		 * force now for its destination. */
		const struct rule *r = rule_for(e, &due[i].key);
		struct nego n;

		if (!r)
			continue;
		n = negotiate_state(e, r, &due[i]);
		send_synack(e, out, &due[i], &n, now_ms);
		count(e, CNT_synack_retrans);
	}
	return ndue == ENGINE_MAX_EMIT / 2;
}
