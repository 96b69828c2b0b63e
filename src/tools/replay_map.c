/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay's capture connections and their mapping: each
 * connection the capture shows, the ISNs and TSvals of its three parties,
 * and the feeding of its packets to the engine with the timers run in
 * time order between them; everything the engine decides is logged and
 * written to the output pcap.
 *
 * A capture records client and server talking directly, but the proxy
 * answers the client's SYN with its own ISN and TSval.  With mapping on
 * (the default) the tool therefore plays the part of both end hosts as
 * the proxy would see them:
 *   - the server's SYN-ACK (or its RST refusing the SYN) is held back
 *     until the engine has sent the backend its SYN (a real backend cannot
 *     answer earlier), then fed at the later of that moment and its own
 *     capture time; it moves the clock only then;
 *   - the client's later packets acknowledge the server's ISN B and echo
 *     its TSval Tb; they are rewritten to acknowledge the proxy's ISN P
 *     and echo its TSval Tp before they are fed, as the client would have
 *     done had it talked to the proxy.  A capture with no server SYN-ACK
 *     (the backend refused or never answered) still shows the client's
 *     ACK: its ack - 1 and TSecr stand for B and Tb.
 *   - an ICMP error to the server quotes a server segment as a router
 *     between the proxy and the client saw it: in the proxy's sequence
 *     and TS space, so its quote is rewritten (seq += P - B, TSval +=
 *     Tp - Tb) before it is fed.  One to the client quotes a client
 *     segment as a router between the proxy and the backend saw it, with
 *     the server's numbers as in the capture: it is fed as it is.
 * Packets the engine emits are not fed back: the daemon sends them
 * through a marked raw socket that bypasses the queue. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "icmp.h"
#include "packet.h"
#include "replay.h"
#include "translate.h"

/* ---- connections of the capture ---- */

static uint32_t key_hash(const struct conn_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *parts[2] = { k->caddr.a, k->saddr.a };
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	h = (h ^ k->cport) * 16777619u;
	h = (h ^ k->sport) * 16777619u;
	return h % CONN_BUCKETS;
}

static void key_reverse(struct conn_key *r, const struct conn_key *k)
{
	r->caddr = k->saddr;
	r->saddr = k->caddr;
	r->cport = k->sport;
	r->sport = k->cport;
}

static struct conn *conn_find(struct replay *r, const struct conn_key *k)
{
	for (uint32_t i = r->buckets[key_hash(k)]; i; i = r->conns[i].next)
		if (conn_key_eq(&r->conns[i].key, k))
			return &r->conns[i];
	return NULL;
}

static struct conn *conn_add(struct replay *r, const struct conn_key *k)
{
	struct conn *c;
	uint32_t h = key_hash(k);

	if (r->nconns + 1 >= r->capconns) {
		uint32_t cap = r->capconns ? r->capconns * 2 : 64;
		struct conn *n = realloc(r->conns, cap * sizeof(*n));
		if (!n) {
			fprintf(stderr, "synproxy-replay: out of memory\n");
			exit(1);
		}
		r->conns = n;
		r->capconns = cap;
		if (r->nconns == 0)
			r->nconns = 1;
	}
	c = &r->conns[r->nconns];
	memset(c, 0, sizeof(*c));
	c->key = *k;
	c->def_due_us = UINT64_MAX;
	c->next = r->buckets[h];
	r->buckets[h] = r->nconns++;
	return c;
}

struct conn *conn_of(struct replay *r, const struct view *v, bool *from_client)
{
	struct conn_key rk;
	struct conn *c;

	if (!v->ok)
		return NULL;
	c = conn_find(r, &v->key);
	if (c) {
		*from_client = true;
		return c;
	}
	key_reverse(&rk, &v->key);
	c = conn_find(r, &rk);
	*from_client = false;
	return c;
}

/* ---- output ---- */

static void record(struct replay *r, const uint8_t *d, uint32_t len)
{
	struct pcap_pkthdr h;

	if (!r->dump)
		return;
	h.ts.tv_sec = (time_t)(r->now_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(r->now_us % 1000000);
	h.caplen = len;
	h.len = len;
	pcap_dump((u_char *)r->dump, &h, d);
}

static const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPT:
		return "accept";
	case VERDICT_DROP:
		return "drop";
	case VERDICT_HOLD:
		return "hold";
	}
	return "?";
}

static const char *dir_tag(enum dir d)
{
	return d == DIR_CLIENT ? "c>s" : d == DIR_SERVER ? "s>c" : "---";
}

/* Notes what the engine sent for the mapping: the proxy's ISN and TSval
 * and whether the backend got its SYN. */
static void note_emit(struct replay *r, const struct engine_emit *em)
{
	struct view v;
	struct conn *c;
	bool fc;
	uint32_t tsval, tsecr;

	view_packet(&v, em->data, em->len);
	c = conn_of(r, &v, &fc);
	if (!c)
		return;
	uint8_t f = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST);
	if (em->to == DIR_CLIENT && !fc && f == (TCPH_SYN | TCPH_ACK)) {
		c->isn_p = v.seq;
		c->have_p = true;
		c->have_ts_p = view_ts(&v, &tsval, &tsecr);
		c->ts_p = c->have_ts_p ? tsval : 0;
		c->nsynack++;
	} else if (em->to == DIR_SERVER && fc && f == TCPH_SYN) {
		c->backend_syn = true;
		c->nbsyn++;
		if (c->def_data && c->def_due_us == UINT64_MAX)
			c->def_due_us = r->now_us > c->def_pcap_us ? r->now_us : c->def_pcap_us;
	}
}

static void log_emits_releases(struct replay *r)
{
	struct engine_out *o = &r->out;
	char pk[1024];

	for (uint32_t i = 0; i < o->nemit && i < ENGINE_MAX_EMIT; i++) {
		const struct engine_emit *em = &o->emit[i];
		note_emit(r, em);
		view_format(pk, sizeof(pk), em->data, em->len);
		fprintf(r->log, "%.6f    out %s %s\n", rel_time(r, r->now_us),
			em->to == DIR_CLIENT ? ">c" : em->to == DIR_SERVER ? ">s" : ">?", pk);
		explain_packet(r, em->to == DIR_CLIENT ? ROLE_PROXY_C : ROLE_PROXY_S, em->data, em->len,
			false);
		record(r, em->data, em->len);
	}
	for (uint32_t i = 0; i < o->nrelease && i < ENGINE_MAX_RELEASE; i++) {
		const struct engine_release *rl = &o->release[i];
		struct view v;
		bool fc = true;
		view_packet(&v, rl->data, rl->len);
		struct conn *c = conn_of(r, &v, &fc);
		view_format(pk, sizeof(pk), rl->data, rl->len);
		fprintf(r->log, "%.6f    rel #%" PRIu32 " %s %s -> %s\n", rel_time(r, r->now_us),
			rl->id, !c || fc ? ">s" : ">c", pk, verdict_name(rl->verdict));
		explain_packet(r, !c || fc ? ROLE_CLIENT : ROLE_SERVER, rl->data, rl->len, false);
		if (rl->verdict == VERDICT_ACCEPT)
			record(r, rl->data, rl->len);
	}
}

/* ---- feeding ---- */

/* Rewrites a client packet into the proxy's sequence and TS space. */
static bool map_client(struct replay *r, struct conn *c, uint8_t *d, uint32_t len)
{
	struct pkt p;
	struct xlate x;

	if (!c->have_p || !c->have_b)
		return false;
	if (packet_parse(&p, d, len) != PKT_OK || (p.flags & TCPH_SYN) || !(p.flags & TCPH_ACK))
		return false;
	memset(&x, 0, sizeof(x));
	x.ack_add = c->isn_p - c->isn_b;
	x.sack_add = x.ack_add;
	if (c->have_ts_p && c->have_ts_b)
		x.tsecr_add = c->ts_p - c->ts_b;
	translate_apply(&p, &x);
	return true;
}

/* Rewrites an ICMP error to the server about one of its segments into
 * the proxy's sequence and TS space (see the top of this file). */
static bool map_icmp(struct replay *r, uint8_t *d, uint32_t len)
{
	struct icmp_err ie;
	struct conn_key k;
	struct conn *c;
	struct xlate x;

	if (icmp_parse(d, len, &ie) != ICMP_OK)
		return false;
	k.caddr = ie.quote.saddr;
	k.saddr = ie.quote.caddr;
	k.cport = ie.quote.sport;
	k.sport = ie.quote.cport;
	c = conn_find(r, &k);
	if (!c || !c->have_p || !c->have_b)
		return false;
	memset(&x, 0, sizeof(x));
	x.seq_add = c->isn_p - c->isn_b;
	if (c->have_ts_p && c->have_ts_b)
		x.tsval_add = c->ts_p - c->ts_b;
	icmp_translate(d, &ie, &x);
	return true;
}

/* Hands one packet to the engine and logs all it produced. */
static void feed(struct replay *r, uint32_t id, uint8_t *d, uint32_t len, enum role role,
		 bool mapped, const char *note)
{
	struct engine_meta m = { .id = id, .csum_unverified = false };
	struct engine_out *o = &r->out;
	char pk[1024], fwd[1024];

	view_format(pk, sizeof(pk), d, len);
	if (r->explain)
		memcpy(r->pre, d, len);
	memset(o, 0, sizeof(*o));
	engine_input(r->e, d, len, &m, r->now_us / 1000, o);
	fprintf(r->log, "%.6f #%" PRIu32 " in  %s %s%s%s -> %s (%s)\n", rel_time(r, r->now_us),
		id, dir_tag(o->dir), pk, mapped ? " [mapped]" : "", note,
		verdict_name(o->verdict), counter_name(o->reason));
	explain_packet(r, role, r->pre, len, mapped);
	if (o->verdict == VERDICT_ACCEPT) {
		if (o->modified) {
			view_format(fwd, sizeof(fwd), d, len);
			fprintf(r->log, "%.6f    fwd %s %s\n", rel_time(r, r->now_us),
				o->dir == DIR_SERVER ? ">c" : ">s", fwd);
		}
		record(r, d, len);
	} else if (o->reinject) {
		/* The daemon sends it anew (an ICMP error conntrack would
		 * rewrite); in the capture it leaves all the same. */
		view_format(fwd, sizeof(fwd), d, len);
		fprintf(r->log, "%.6f    out %s %s (sent anew)\n", rel_time(r, r->now_us),
			o->dir == DIR_SERVER ? ">c" : ">s", fwd);
		record(r, d, len);
	}
	log_emits_releases(r);
}

static void tick_at(struct replay *r, uint64_t ms)
{
	bool more;

	if (ms * 1000 > r->now_us)
		r->now_us = ms * 1000;
	do {
		memset(&r->out, 0, sizeof(r->out));
		more = engine_tick(r->e, ms, &r->out);
		if (r->out.nemit || r->out.nrelease)
			fprintf(r->log, "%.6f timer\n", rel_time(r, r->now_us));
		log_emits_releases(r);
	} while (more);
	r->last_tick_ms = ms;
	r->ticked = true;
}

static void feed_deferred(struct replay *r, struct conn *c)
{
	char note[64];
	uint8_t *d = c->def_data;

	if (c->def_due_us > r->now_us)
		r->now_us = c->def_due_us;
	c->def_data = NULL;
	r->ndeferred--;
	snprintf(note, sizeof(note), " (deferred since %.6f)", rel_time(r, c->def_reach_us));
	feed(r, c->def_id, d, c->def_len, ROLE_SERVER, false, note);
	free(d);
}

/* The earliest scheduled deferred packet, or NULL. */
static struct conn *next_deferred(struct replay *r)
{
	struct conn *best = NULL;

	if (r->ndeferred == 0)
		return NULL;
	for (uint32_t i = 1; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];
		if (c->def_data && c->def_due_us != UINT64_MAX &&
		    (!best || c->def_due_us < best->def_due_us))
			best = c;
	}
	return best;
}

/* Runs every timer and deferred packet due at or before until_us, in time
 * order.  A deadline the engine reports at or before a millisecond already
 * ticked is taken one millisecond later, so the loop always advances. */
static void advance(struct replay *r, uint64_t until_us)
{
	for (;;) {
		uint64_t d = engine_next_deadline(r->e);
		struct conn *c = next_deferred(r);
		if (d != UINT64_MAX) {
			if (r->ticked && d <= r->last_tick_ms)
				d = r->last_tick_ms + 1;
			if (d * 1000 < r->now_us)
				d = r->now_us / 1000;
		}
		uint64_t dus = d == UINT64_MAX ? UINT64_MAX : d * 1000;
		if (c && c->def_due_us < dus) {
			if (c->def_due_us > until_us)
				break;
			feed_deferred(r, c);
			continue;
		}
		if (dus > until_us)
			break;
		tick_at(r, d);
	}
}

void map_packet(struct replay *r, uint32_t id, uint64_t ts_us, uint8_t *d, uint32_t len)
{
	struct view v;
	struct conn *c = NULL;
	bool fc = true, mapped = false;
	enum role role = ROLE_UNKNOWN;

	view_packet(&v, d, len);
	if (v.ok) {
		c = conn_of(r, &v, &fc);
		uint8_t f = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST | TCPH_FIN);
		if (f == TCPH_SYN) {
			if (!c) {
				c = conn_add(r, &v.key);
				fc = true;
			}
			if (fc && (!c->have_c || c->isn_c != v.seq)) {
				/* a new incarnation of the tuple starts afresh */
				free(c->def_data);
				if (c->def_data)
					r->ndeferred--;
				uint32_t next = c->next;
				struct conn_key k = c->key;
				memset(c, 0, sizeof(*c));
				c->key = k;
				c->next = next;
				c->def_due_us = UINT64_MAX;
				c->isn_c = v.seq;
				c->have_c = true;
			}
			if (fc)
				c->nsyn++;
		}
		if (c) {
			role = fc ? ROLE_CLIENT : ROLE_SERVER;
			if (!fc && f == (TCPH_SYN | TCPH_ACK)) {
				uint32_t tsecr;
				c->isn_b = v.seq;
				c->have_b = true;
				c->have_ts_b = view_ts(&v, &c->ts_b, &tsecr);
			}
			if (!fc && (v.flags & TCPH_FIN) && !c->sfin) {
				c->sfin = true;
				c->sfin_end = v.seq + v.paylen + 1;
			}
			if (fc && (v.flags & TCPH_FIN) && !c->cfin) {
				c->cfin = true;
				c->cfin_end = v.seq + v.paylen + 1;
			}
		}
	}
	uint8_t sar = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST);
	bool answer = sar == (TCPH_SYN | TCPH_ACK) || (sar & TCPH_RST && !(sar & TCPH_SYN));
	if (r->map && c && !fc && answer && !c->backend_syn && !c->def_data &&
	    (sar & TCPH_SYN || !c->have_b)) {
		/* not fed now, so it does not move the clock either */
		char pk[1024];
		c->def_data = malloc(len ? len : 1);
		if (!c->def_data) {
			fprintf(stderr, "synproxy-replay: out of memory\n");
			exit(1);
		}
		memcpy(c->def_data, d, len);
		c->def_len = len;
		c->def_id = id;
		c->def_pcap_us = ts_us < r->now_us ? r->now_us : ts_us;
		c->def_reach_us = r->now_us;
		c->def_due_us = UINT64_MAX;
		r->ndeferred++;
		view_format(pk, sizeof(pk), d, len);
		fprintf(r->log, "%.6f #%" PRIu32 " in  s>c %s -> deferred until the backend SYN",
			rel_time(r, r->now_us), id, pk);
		if (c->def_pcap_us != r->now_us)
			fprintf(r->log, " (stamped %.6f)", rel_time(r, c->def_pcap_us));
		fprintf(r->log, "\n");
		return;
	}
	advance(r, ts_us);
	if (ts_us > r->now_us)
		r->now_us = ts_us;
	if (r->map && c && fc && !c->have_b && (v.flags & (TCPH_SYN | TCPH_ACK)) == TCPH_ACK) {
		/* no server SYN-ACK in the capture: the client's first ACK tells
		 * which server ISN and TSval the capture assumed */
		uint32_t tsval;
		c->isn_b = v.ack - 1;
		c->have_b = true;
		c->have_ts_b = view_ts(&v, &tsval, &c->ts_b);
	}
	if (r->map && c && fc)
		mapped = map_client(r, c, d, len);
	else if (r->map && !c)
		mapped = map_icmp(r, d, len);
	feed(r, id, d, len, role, mapped, "");
}

static void print_end(struct replay *r)
{
	const uint64_t *cnt;
	char pk[1024];
	bool more;

	do {
		memset(&r->out, 0, sizeof(r->out));
		more = engine_flush(r->e, &r->out);
		if (r->out.nemit || r->out.nrelease)
			fprintf(r->log, "%.6f flush\n", rel_time(r, r->now_us));
		log_emits_releases(r);
	} while (more);
	for (uint32_t i = 1; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];
		if (!c->def_data)
			continue;
		view_format(pk, sizeof(pk), c->def_data, c->def_len);
		fprintf(r->log, "%.6f #%" PRIu32 " in  s>c %s -> never delivered: "
			"the backend got no SYN\n", rel_time(r, r->now_us), c->def_id, pk);
		free(c->def_data);
		c->def_data = NULL;
	}
	cnt = engine_counters(r->e);
	for (int i = 0; i < CNT_MAX; i++)
		if (cnt[i])
			fprintf(r->log, "%s = %" PRIu64 "\n", counter_name((enum counter)i), cnt[i]);
}

void map_finish(struct replay *r, uint64_t end_us)
{
	for (uint32_t i = 1; i < r->nconns; i++)
		if (r->conns[i].def_data && r->conns[i].def_due_us != UINT64_MAX &&
		    r->conns[i].def_due_us > end_us)
			end_us = r->conns[i].def_due_us;
	advance(r, end_us);
	if (end_us > r->now_us)
		r->now_us = end_us;
	print_end(r);
}

void map_free(struct replay *r)
{
	for (uint32_t i = 1; i < r->nconns; i++)
		free(r->conns[i].def_data);
	free(r->conns);
}
