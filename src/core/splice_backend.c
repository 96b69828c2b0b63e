/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The splice's backend leg (engine_int.h; splice.c has the rest of a
 * flow's life and the sequence spaces): our SYN to the backend with the
 * client's ISN and options, its retransmissions, the backend's SYN-ACK
 * (the options learned from it by agreement, the translation set up, our
 * ACK, the held client data released), and a backend that still holds an
 * older connection on the ports.  With splice.c, the only code that
 * writes a flow's fl_ fields. */
#include <assert.h>
#include <string.h>

#include "engine_int.h"
#include "hold.h"
#include "seq.h"
#include "translate.h"

/* Sends the SYN that opens the backend leg: the client's ISN and options. */
void splice_send_backend_syn(struct engine *e, struct engine_out *out, const struct flow *f)
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
	engine_emit(e, out, DIR_SERVER, &s);
}

/* Counts the options the backend of f announced in its SYN-ACK (o) toward
 * what rules whose options are "auto" offer clients, and reports a change
 * (out->learned, which the XDP stage mirrors).  Only a sane set counts
 * (an MSS a host must accept at least, RFC 9293 and RFC 8200; a window
 * scale RFC 7323 allows), only from a SYN-ACK known to come from the
 * backends' side, and a new set is used only once LEARNED_AGREE
 * SYN-ACKs in a row agree on it (for a smaller MSS, SYN-ACKs to clients
 * of as many networks: the backend's MSS follows its path MTU toward
 * each client): a forged or odd SYN-ACK, or one client's path, must not
 * change what every later client is offered. */
static void learn(struct engine *e, const struct flow *f, const struct tcpopt *o,
		  const struct engine_meta *m, struct engine_out *out)
{
	uint16_t min_mss = addr_is_v4(&f->fl_key.saddr) ? DEFAULT_MSS : DEFAULT_MSS6;
	struct learned_opts cur, lo = {
		.mss = (o->have & TO_MSS) ? o->mss : min_mss,
		.wscale = (o->have & TO_WSCALE) ? o->wscale : WS_NONE,
		.sack = o->have & TO_SACKOK,
		.ts = o->have & TO_TS,
		.valid = true,
	};
	bool known = learned_get(e->learned, &f->fl_key.saddr, f->fl_key.sport, &cur);
	int ridx = policy_match(e->pol, &f->fl_key.saddr, f->fl_key.sport);
	const struct rule *r = ridx >= 0 ? &e->pol->rules[ridx] : NULL;
	/* The "auto" options our SYN did not offer (its client had none). */
	bool ws = r && r->wscale_mode == OPT_AUTO && !(f->fl_flags & FL_WS);
	bool sack = r && r->sack_mode == OPT_AUTO && !(f->fl_flags & FL_SACK);
	bool ts = r && r->ts_mode == OPT_AUTO && !(f->fl_flags & FL_TS);

	if (lo.mss < min_mss || (lo.wscale != WS_NONE && lo.wscale > TCP_MAX_WSCALE) ||
	    (m && m->side == SIDE_UNCHECKED)) {
		count(e, CNT_options_refused);
		return;
	}
	/* A SYN-ACK says nothing about an option our SYN did not offer: an
	 * "auto" one keeps what was agreed, and with nothing agreed yet the
	 * SYN-ACK cannot vote (a client without SACK must not teach that the
	 * backend has none). */
	if (ws || sack || ts) {
		if (!known)
			return;
		if (ws)
			lo.wscale = cur.wscale;
		if (sack)
			lo.sack = cur.sack;
		if (ts)
			lo.ts = cur.ts;
	}
	if (!learned_vote(e->learned, &f->fl_key.saddr, f->fl_key.sport, &lo,
			  &f->fl_key.caddr))
		return;
	out->learned = true;
	out->learned_addr = f->fl_key.saddr;
	out->learned_port = f->fl_key.sport;
	out->learned_opts = lo;
	count(e, CNT_options_learned);
}

/* The backend's SYN-ACK to our SYN: splice the two legs. */
void splice_backend_synack(struct engine *e, struct flow *f, struct pkt *p,
			          const struct engine_meta *m, uint64_t now_ms, struct engine_out *out)
{
	struct tcpopt o, ao = { .have = 0 };
	struct seg s;

	if (p->ack != f->fl_irs + 1) {
		count_verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	f->fl_bis = p->seq;
	/* From here the server's numbers are the backend's own: the client
	 * has acknowledged its SYN-ACK as far as it knows (our ISN + 1). */
	f->fl_s_nxt = p->seq + 1;
	f->fl_c_ack = p->seq + 1;
	if (o.have & TO_WSCALE) {
		f->fl_flags |= FL_B_WS;
		f->fl_b_ws = clamp_ws(o.wscale);
	}
	if (o.have & TO_TS)
		f->fl_flags |= FL_B_TS;
	else if (f->fl_flags & FL_TS)
		count(e, CNT_ts_missing);
	if ((p->flags & (TCPH_ECE | TCPH_CWR)) == TCPH_ECE)
		f->fl_flags |= FL_B_ECN;
	else if (f->fl_flags & FL_ECN)
		count(e, CNT_ecn_declined);
	splice_set_translation(f, o.tsval);
	f->fl_s_wnd = p->win;   /* SYN windows are never scaled */
	if (p->win > f->fl_s_maxwnd)
		f->fl_s_maxwnd = p->win;
	learn(e, f, &o, m, out);

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
	engine_emit(e, out, DIR_SERVER, &s);
	f->fl_state = FLOW_ESTABLISHED;
	count(e, CNT_backend_established);

	if (f->fl_held.count) {
		splice_release_held(e, out, f, VERDICT_ACCEPT);
	} else {
		/* Tell the client the backend's real window. */
		struct tcpopt wo = { .have = 0 };
		uint32_t w = ((uint32_t)p->win >> f->fl_s2c.win_to);

		seg_init(&s, &f->fl_key, DIR_CLIENT);
		s.seq = f->fl_iss + 1;
		s.ack = f->fl_c_nxt;
		s.flags = TCPH_ACK;
		s.win = (uint16_t)(w > 65535 ? 65535 : w);
		if ((f->fl_flags & FL_TS) && (f->fl_flags & FL_B_TS)) {
			wo.have = TO_TS;
			wo.tsval = o.tsval + f->fl_s2c.tsval_add;
			wo.tsecr = f->fl_c_tsval;
			s.opt = &wo;
		}
		engine_emit(e, out, DIR_CLIENT, &s);
	}
	flowtab_set_deadline(e->ft, f, now_ms + e->cfg.established_idle_ms);
	/* The kernel's fast path would not fit ECN to the backend; and
	 * with a threshold the flow is offered once it has passed it. */
	if (!e->cfg.offload_after_segs && !splice_ecn_declined(f)) {
		f->fl_flags |= FL_OFFERED;
		out->offer = true;
		splice_describe(f, now_ms, &out->offer_flow);
	}
	set_verdict(out, VERDICT_DROP, CNT_backend_established);
}

/* Sends the backend SYN of f again and schedules the next one. */
void splice_retransmit_backend_syn(struct engine *e, struct flow *f, uint64_t now_ms,
				          struct engine_out *out)
{
	f->fl_retries++;
	f->fl_flags &= ~(uint32_t)FL_STALE_RST;
	splice_send_backend_syn(e, out, f);
	count(e, CNT_backend_syn_retrans);
	flowtab_set_deadline(e->ft, f, now_ms + ((uint64_t)e->cfg.backend_syn_rto_ms
						 << f->fl_retries));
}

/* The backend answered our SYN with an ACK that is not for it: it still
 * holds an older connection on the tuple (established, or in time-wait
 * and the SYN not newer), whose client reused its port, and this is its
 * challenge ACK (RFC 5961 section 4) or its time-wait ACK.  A client stack
 * in SYN-SENT answers with an RST at that ACK's number (RFC 9293), which
 * is exact for the old connection and clears it; we do the same in the
 * client's name and send the SYN again at once, once per backend SYN
 * (the RST and the SYN leave in that order on the same path), instead of
 * dropping the ACK and waiting out the retransmission timer. */
void splice_backend_stale(struct engine *e, struct flow *f, const struct pkt *p,
			         uint64_t now_ms, struct engine_out *out)
{
	struct seg s;

	if ((f->fl_flags & FL_STALE_RST) || f->fl_retries >= e->cfg.backend_syn_retries) {
		count_verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	seg_init(&s, &f->fl_key, DIR_SERVER);
	s.seq = p->ack;
	s.flags = TCPH_RST;
	engine_emit(e, out, DIR_SERVER, &s);
	splice_retransmit_backend_syn(e, f, now_ms, out);
	f->fl_flags |= FL_STALE_RST;
	count_verdict(e, out, VERDICT_DROP, CNT_backend_stale_reset);
}
