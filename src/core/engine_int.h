/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's insides, shared by its files and by nothing else:
 *   engine.c     lifecycle, the public calls, dispatch of each packet
 *                and the timer loop;
 *   handshake.c  the client's SYN and handshake ACK: option negotiation,
 *                the SYN cache and cookies, our SYN-ACK;
 *   splice.c     the flow from the backend SYN to its end: the backend's
 *                SYN-ACK, both directions of an established flow, RSTs,
 *                the close and the translation (the backend leg in
 *                splice_backend.c, the kernel fast path's side in
 *                splice_kernel.c).  They are the only code that writes a
 *                flow's fl_ fields (and snapshot.c, which puts them back);
 *   icmp.c       ICMP errors about flows: translated for their receiver,
 *                or judged (it reads flows, and ends one only through
 *                splice_fail).
 * The daemon, the tools and the tests include engine.h, never this. */
#ifndef SP_ENGINE_INT_H
#define SP_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "flow.h"
#include "learned.h"
#include "passlist.h"
#include "srcflows.h"
#include "srclimit.h"
#include "tcpopt.h"

#define WS_NONE 0xff
#define DEFAULT_MSS 536      /* RFC 9293: MSS assumed when none is sent */
#define DEFAULT_MSS6 1220    /* RFC 8200: the same for IPv6 (1280 - 60) */

struct engine {
	struct engine_config cfg;
	const struct policy *pol;
	uint8_t isn_key[SIPHASH_KEY_LEN];
	struct cookie_keys cookie_keys;  /* the master secret and its per-period keys */
	struct cookie_keys cookie_prev;  /* a previous secret, still accepted (rotation) */
	bool have_cookie_prev;
	uint32_t ts_base;          /* offset of our TS clock from now_ms */
	struct syncache *sc;
	struct flowtab *ft;
	struct hold *hold;
	struct srclimit *src;
	struct srcflows *srcflows;  /* flows per source network (max_flows_per_source) */
	bool count_half_open;       /* some rule limits half-open entries per source */
	struct learned *learned;
	struct passlist *pass;
	int64_t wall_offset_ms;     /* wall clock - now_ms, for the cookie counter */
	uint64_t sc_pressure_until; /* the SYN cache refused a SYN less than an rto ago */
	uint8_t challenge_key[SIPHASH_KEY_LEN];  /* draws each second's budget */
	uint32_t challenge_second;  /* now_ms / 1000 of the current challenge budget */
	uint32_t challenge_budget;  /* challenge ACKs allowed in that second (0: not drawn) */
	uint32_t challenge_sent;    /* challenge ACKs sent in that second */
	uint64_t cnt[CNT_MAX];
};

/* The options we answer a client with (or offer a backend). */
struct nego {
	uint16_t mss;              /* 0: no MSS option */
	uint8_t ws;                /* WS_NONE: no window scale */
	bool sack;
	bool ts;
	bool ecn;
};

static inline void count(struct engine *e, enum counter c)
{
	e->cnt[c]++;
}

/* Gives the input packet its verdict and counts the reason. */
static inline void count_verdict(struct engine *e, struct engine_out *out, enum verdict v,
				 enum counter why)
{
	out->verdict = v;
	out->reason = why;
	count(e, why);
}

/* Gives the input packet its verdict; the reason was counted already. */
static inline void set_verdict(struct engine_out *out, enum verdict v, enum counter why)
{
	out->verdict = v;
	out->reason = why;
}

/* Rule idx of the policy in force, or NULL when a reload removed it. */
static inline const struct rule *rule_at(const struct engine *e, unsigned idx)
{
	return idx < e->pol->nrules ? &e->pol->rules[idx] : NULL;
}

/* A segment from the server side of k to the client, or the reverse. */
static inline void seg_init(struct seg *s, const struct conn_key *k, enum dir to)
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

/* ---- engine.c ---- */

/* Builds s into the next emit slot, toward side to (counting RSTs).
 * Emits are sized for the worst case of every caller, so running out is
 * a bug (assert). */
void engine_emit(struct engine *e, struct engine_out *out, enum dir to, const struct seg *s);

/* ---- handshake.c ---- */

/* A client SYN for no flow under proxying (or resetting) rule ridx:
 * answered with a SYN-ACK, from the SYN cache or a cookie. */
void handshake_syn(struct engine *e, const struct pkt *p, const struct engine_meta *m,
		   const struct conn_key *k, unsigned ridx, uint64_t now_ms,
		   struct engine_out *out);

/* The handshake ACK (possibly with data) of a client with no flow: checked
 * against the SYN cache or as a cookie, then spliced (splice_open) or,
 * under a RULE_RESET rule, reset. */
void handshake_ack(struct engine *e, struct pkt *p, const struct engine_meta *m,
		   const struct conn_key *k, unsigned ridx, uint64_t now_ms,
		   struct engine_out *out);

/* A client RST for no flow: it ends a half-open entry it matches exactly. */
void handshake_rst(struct engine *e, const struct pkt *p, const struct conn_key *k,
		   struct engine_out *out);

/* Runs the SYN cache's due entries: SYN-ACK retransmissions, expiry and
 * shedding.  True when out filled up before all were run. */
bool handshake_tick(struct engine *e, uint64_t now_ms, struct engine_out *out);

/* ---- icmp.c ---- */

/* A packet that is not TCP (packet_parse said PKT_NOT_TCP): an ICMP or
 * ICMPv6 error about a flow is translated into its receiver's sequence
 * space, or dropped, or passed on, as icmp.c's design comment says;
 * anything else passes untouched (parse_not_tcp). */
void icmp_input(struct engine *e, uint8_t *data, uint32_t len, const struct engine_meta *m,
		struct engine_out *out);

/* ---- splice.c ---- */

enum splice_open_result {
	SPLICE_FULL,       /* no room in the flow table: nothing changed */
	SPLICE_SOURCE_FULL,  /* the source holds its rule's flows: nothing changed */
	SPLICE_OPENED,     /* the flow is made and its backend SYN sent */
	SPLICE_HELD,       /* the same, and p is held (its verdict is HOLD) */
};

/* Makes the flow of a client whose handshake st proved (from a cookie or
 * the SYN cache), under rule ridx, with the options n we answered, and
 * sends its backend SYN.  p is the handshake ACK with its options o; data
 * or a FIN in it is held when there is room and counted dropped when not. */
enum splice_open_result splice_open(struct engine *e, struct engine_out *out,
				    const struct syn_state *st, const struct nego *n,
				    bool from_cookie, unsigned ridx, const struct pkt *p,
				    const struct tcpopt *o, const struct engine_meta *m,
				    uint64_t now_ms);

/* A client segment of flow f. */
void splice_client(struct engine *e, struct flow *f, struct pkt *p, const struct engine_meta *m,
		   uint64_t now_ms, struct engine_out *out);

/* A server segment of flow f, from the side m says (m may be NULL). */
void splice_server(struct engine *e, struct flow *f, struct pkt *p, const struct engine_meta *m,
		   uint64_t now_ms, struct engine_out *out);

/* Takes in, as an offloaded flow of this engine, the conntrack entry of
 * ours kf describes for tuple k, which the engine did not hold (an
 * adopted connection, or an offloaded flow of a process that left no
 * state): a SYN on its tuple is then judged as on any offloaded flow
 * (splice_syn).  NULL when the entry is past its close (conntrack reopens
 * it for a SYN itself) or the table is full. */
struct flow *splice_from_kernel(struct engine *e, const struct conn_key *k,
				const struct engine_kernel_flow *kf, uint64_t now_ms,
				struct engine_out *out);

/* A client SYN (without ACK) on the tuple of flow f.  True when f was
 * over (time-wait, or both FINs seen and the SYN newer by RFC 6191):
 * f is ended and the SYN opens a new connection.  False when f lives:
 * the SYN is answered by a challenge ACK and dropped (out's verdict),
 * and an offloaded f comes back from the kernel (its entry would carry
 * a new connection's handshake ACK to the old backend socket). */
bool splice_syn(struct engine *e, struct flow *f, const struct pkt *p, uint64_t now_ms,
		struct engine_out *out);

/* Answers a segment from side `to` of f that must not change it (a client
 * SYN on the live flow, RFC 5961 section 4; an inexact RST in the window,
 * section 3) with a challenge ACK to that side, within f's budget and the
 * engine's (splice.c). */
void splice_challenge(struct engine *e, struct flow *f, enum dir to, uint64_t now_ms,
		      struct engine_out *out);

/* Ends f, counted as why: its held segments are dropped, its end reported
 * (out->flowev) and its state freed. */
void splice_end(struct engine *e, struct engine_out *out, struct flow *f, enum counter why);

/* The counter for f ended by an exact RST: flows_reset, or flows_closed in
 * time-wait (splice.c). */
enum counter splice_rst_counter(const struct flow *f);

/* Ends f, whose backend refused or never answered, counted as why: the
 * client gets an RST as if from the server. */
void splice_fail(struct engine *e, struct engine_out *out, struct flow *f, enum counter why);

/* Runs f's due timer: a backend SYN retransmission, the backend's failure
 * or the flow's expiry. */
void splice_timer(struct engine *e, struct flow *f, uint64_t now_ms, struct engine_out *out);

/* Marks the established flow f as translated by the kernel through its
 * conntrack entry ct_id; false when it is not established or is offloaded
 * already. */
bool splice_offload(struct engine *e, struct flow *f, uint32_t ct_id, uint64_t now_ms);

/* What the kernel saw of offloaded flow f's entry ct_id (see
 * engine_kernel_event). */
void splice_kernel(struct engine *e, struct flow *f, uint32_t ct_id, enum engine_kstate ks,
		   uint64_t now_ms, struct engine_out *out);

/* Gives every held segment of f the verdict v (translated for ACCEPT). */
void splice_release_held(struct engine *e, struct engine_out *out, struct flow *f,
			 enum verdict v);

/* Fills fi from f. */
void splice_describe(const struct flow *f, uint64_t now_ms, struct flow_info *fi);

/* splice.c, splice_backend.c and splice_kernel.c between them: */
/* Sends our SYN to the backend for f (the client's ISN and options). */
void splice_send_backend_syn(struct engine *e, struct engine_out *out, const struct flow *f);
/* The backend's SYN-ACK p for f, which waits for it. */
void splice_backend_synack(struct engine *e, struct flow *f, struct pkt *p,
			   const struct engine_meta *m, uint64_t now_ms, struct engine_out *out);
/* f's backend SYN timer ran out: our SYN again, or the flow fails. */
void splice_retransmit_backend_syn(struct engine *e, struct flow *f, uint64_t now_ms,
				   struct engine_out *out);
/* The backend answered our SYN with the ACK of an older connection p. */
void splice_backend_stale(struct engine *e, struct flow *f, const struct pkt *p,
			  uint64_t now_ms, struct engine_out *out);
/* A window scale as RFC 7323 caps it. */
static inline uint8_t clamp_ws(uint8_t ws)
{
	return ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
}
/* Whether f's client offered ECN that the backend declined. */
bool splice_ecn_declined(const struct flow *f);
/* Sets f's translation from both handshakes (b_tsval: the backend's TSval). */
void splice_set_translation(struct flow *f, uint32_t b_tsval);
/* Records in out that k gained (up) or lost its flow. */
void splice_flow_event(struct engine_out *out, const struct conn_key *k, bool up);
/* Stops counting f for its source network (max_flows_per_source). */
void splice_uncount(struct engine *e, struct flow *f);
/* The deadline a live flow gets after a segment. */
uint64_t splice_live_deadline(const struct engine *e, const struct flow *f, uint64_t now_ms);

#endif
