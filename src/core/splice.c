/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The splice: a flow from the moment a client's handshake is proved
 * (splice_open) to its end.  It owns the backend leg (our SYN, its
 * retransmissions, the backend's SYN-ACK and our ACK to it), the client
 * data held until then, the translation set up from both handshakes, both
 * directions of an established flow (tracking, RSTs, the close, the
 * timers), the challenge ACK, and taking a flow back from the kernel's
 * fast path (the backend leg itself is in splice_backend.c, the hand-over
 * to the kernel and what it reports in splice_kernel.c).  The three are
 * the only code that writes a flow's fl_ fields, and the
 * only code that makes and ends flows, so the flow events (out->flowev)
 * and the learned options (out->learned) are reported from here.
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
#include <string.h>

#include "engine_int.h"
#include "hold.h"
#include "seq.h"
#include "translate.h"

/* Challenge ACKs: at most one per flow every CHALLENGE_INTERVAL_MS
 * (Linux's tcp_invalid_ratelimit), and about CHALLENGE_ACK_PER_SEC a
 * second engine-wide, the second's budget drawn between half and one and
 * a half times that (as Linux has drawn it since CVE-2016-5696).  The
 * per-flow limit is what hides a flow: spoofed SYNs or RSTs on a guessed
 * tuple spend at most two of the engine's budget a second, so an
 * off-path sender counting the challenge ACKs on its own connections
 * learns nothing about whether the tuple is live.  The engine-wide one
 * keeps a flood over many live tuples from making the proxy a reflector. */
#define CHALLENGE_INTERVAL_MS 500
#define CHALLENGE_ACK_PER_SEC 1000

/* Flows visited, at most, to find one in time-wait when the table is full. */
#define RECYCLE_VISITS 64

/* Records that k gained (up) or lost its flow. */
void splice_flow_event(struct engine_out *out, const struct conn_key *k, bool up)
{
	assert(out->nflowev < ENGINE_MAX_FLOWEV);
	out->flowev[out->nflowev].key = *k;
	out->flowev[out->nflowev].up = up;
	out->nflowev++;
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
	engine_emit(e, out, DIR_CLIENT, &s);
}

/* Whether the client of f was told ECN works but its backend declined
 * it (RFC 3168: its SYN-ACK was no ECN-setup SYN-ACK). */
bool splice_ecn_declined(const struct flow *f)
{
	return (f->fl_flags & (FL_ECN | FL_B_ECN)) == FL_ECN && f->fl_state != FLOW_BACKEND_SYN;
}

/* Fits a client segment of f to a backend that declined ECN: its ECT
 * mark is cleared, since the backend would ignore a CE mark and the
 * client would never hear of the congestion, and a CE-marked segment is
 * dropped, the signal a router gives a flow without ECN (RFC 6040's rule
 * for a Not-ECT inner header).  False (counted) when p must be dropped. */
static bool ecn_fit(struct engine *e, const struct flow *f, struct pkt *p)
{
	uint8_t ecn;

	if (!splice_ecn_declined(f))
		return true;
	ecn = packet_ecn(p);
	if (ecn == IP_ECN_CE) {
		count(e, CNT_ecn_ce_dropped);
		return false;
	}
	if (ecn != IP_ECN_NOT_ECT)
		packet_clear_ecn(p);
	return true;
}

void splice_release_held(struct engine *e, struct engine_out *out, struct flow *f,
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
		if (v == VERDICT_ACCEPT && packet_parse(&p, data, len) == PKT_OK &&
		    ecn_fit(e, f, &p)) {
			translate_apply(&p, &f->fl_c2s);
			count(e, CNT_held_released);
		} else {
			r->verdict = VERDICT_DROP;
			count(e, CNT_held_dropped);
		}
	}
}

/* Stops counting f for its source network (max_flows_per_source). */
void splice_uncount(struct engine *e, struct flow *f)
{
	if (!(f->fl_flags & FL_SRC_COUNTED))
		return;
	srcflows_remove(e->srcflows, &f->fl_key.caddr, f->fl_src_len);
	f->fl_flags &= ~(uint32_t)FL_SRC_COUNTED;
}

/* How a flow that an RST ends is counted: a flow in time-wait had closed
 * (both FINs acknowledged) before it, and the RST is only a stack's answer
 * to a late retransmission (a backend that had left LAST-ACK resets the
 * client's repeated ACK of its retransmitted FIN), so it counts as closed. */
enum counter splice_rst_counter(const struct flow *f)
{
	return f->fl_state == FLOW_TIME_WAIT ? CNT_flows_closed : CNT_flows_reset;
}

void splice_end(struct engine *e, struct engine_out *out, struct flow *f, enum counter why)
{
	splice_uncount(e, f);
	splice_release_held(e, out, f, VERDICT_DROP);
	count(e, why);
	splice_flow_event(out, &f->fl_key, false);
	flowtab_remove(e->ft, f);
}

void splice_fail(struct engine *e, struct engine_out *out, struct flow *f, enum counter why)
{
	send_client_rst(e, out, f);
	splice_end(e, out, f, why);
}

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
	splice_end(e, out, tw, CNT_flows_closed);
	return true;
}

void splice_describe(const struct flow *f, uint64_t now_ms, struct flow_info *fi)
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
		.ct_id = f->fl_ct_id,
	};
}

/* Sets both translations once the backend's ISN and options are known.
 * The window: a sender scales by the shift it announced, a receiver by
 * the shift it was told; the two differ when the client and the backend
 * did not see the same options. */
void splice_set_translation(struct flow *f, uint32_t b_tsval)
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

/* Holds a client segment until the backend is ready; false when it
 * could not be held (then it is dropped and the client retransmits). */
static bool hold_segment(struct engine *e, struct flow *f, const struct pkt *p,
			 const struct engine_meta *m)
{
	if (f->fl_held.count >= e->cfg.hold_packets_per_flow)
		return false;
	return hold_push(e->hold, &f->fl_held, m ? m->id : 0, p->data, p->len);
}

/* The end of p's sequence space: its data and FIN. */
static uint32_t seg_end(const struct pkt *p)
{
	return p->seq + p->paylen + ((p->flags & TCPH_FIN) ? 1 : 0);
}

/* What a side acknowledges in p, in the other side's own space (a client
 * acknowledges the server in our ISN's space). */
static uint32_t ack_of(const struct flow *f, const struct pkt *p, enum dir from)
{
	return from == DIR_CLIENT ? p->ack - f->fl_s2c.seq_add : p->ack;
}

/* Whether p (not an RST) from side `from` of f lies where that side may
 * send: it ends inside the window the other side offered (conntrack's
 * test, and RFC 9293's acceptability, with the largest window seen), and
 * its acknowledgement covers nothing the other side has not sent and
 * nothing older than the sender's window (RFC 5961 section 5.2).  Only
 * such a segment moves what f tracks: a sender that does not see the
 * traffic must guess both numbers, so blind data cannot make a later
 * blind RST look exact, nor close or refresh the flow. */
static bool acceptable(const struct flow *f, const struct pkt *p, enum dir from)
{
	bool client = from == DIR_CLIENT;
	uint32_t end = seg_end(p);
	uint32_t nxt = client ? f->fl_c_nxt : f->fl_s_nxt;
	uint32_t rcv = client ? f->fl_s_ack : f->fl_c_ack;
	uint32_t rwnd = client ? f->fl_s_maxwnd : f->fl_c_maxwnd;

	if (!seq_between(end, nxt - rwnd, rcv + rwnd))
		return false;
	if (p->flags & TCPH_ACK) {
		uint32_t ack = ack_of(f, p, from);
		uint32_t una = client ? f->fl_c_ack : f->fl_s_ack;
		uint32_t peer_nxt = client ? f->fl_s_nxt : f->fl_c_nxt;
		uint32_t swnd = client ? f->fl_c_maxwnd : f->fl_s_maxwnd;

		if (!seq_between(ack, una - swnd, peer_nxt))
			return false;
	}
	return true;
}

/* Tracks what one side of f sent in p, before translation: the highest
 * sequence number and acknowledgement, its FIN, whether it acknowledged
 * the other side's FIN, its window and (the client's) TSval.  Expects p
 * acceptable.  o may be NULL for the server. */
static void track(struct flow *f, const struct pkt *p, const struct tcpopt *o, enum dir from)
{
	bool client = from == DIR_CLIENT;
	uint32_t *nxt = client ? &f->fl_c_nxt : &f->fl_s_nxt;
	uint16_t peer_fin = client ? FL_S_FIN : FL_C_FIN;
	/* The other side's FIN as this side numbers it: a client
	 * acknowledges in our sequence space, the backend in its own. */
	uint32_t peer_fin_seq = client ? f->fl_s_fin + f->fl_s2c.seq_add : f->fl_c_fin;
	uint32_t wnd;

	*nxt = seq_max(*nxt, seg_end(p));
	if (p->flags & TCPH_FIN) {
		f->fl_flags |= client ? FL_C_FIN : FL_S_FIN;
		*(client ? &f->fl_c_fin : &f->fl_s_fin) = p->seq + p->paylen;
	}
	if (p->flags & TCPH_ACK) {
		uint32_t *una = client ? &f->fl_c_ack : &f->fl_s_ack;

		*una = seq_max(*una, ack_of(f, p, from));
		if ((f->fl_flags & peer_fin) && seq_after(p->ack, peer_fin_seq))
			f->fl_flags |= client ? FL_S_FIN_ACKED : FL_C_FIN_ACKED;
	}
	if (!client) {
		wnd = (uint32_t)p->win << f->fl_s2c.win_from;
		f->fl_s_wnd = wnd;
		if (wnd > f->fl_s_maxwnd)
			f->fl_s_maxwnd = wnd;
		return;
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
	wnd = (uint32_t)p->win << ((f->fl_flags & FL_WS) ? f->fl_c_ws : 0);
	f->fl_c_wnd = wnd;
	if (wnd > f->fl_c_maxwnd)
		f->fl_c_maxwnd = wnd;
}

enum splice_open_result splice_open(struct engine *e, struct engine_out *out,
				    const struct syn_state *st, const struct nego *n,
				    bool from_cookie, unsigned ridx, const struct pkt *p,
				    const struct tcpopt *o, const struct engine_meta *m,
				    uint64_t now_ms)
{
	const struct conn_key *k = &st->key;
	const struct rule *r = rule_at(e, ridx);
	/* What one source is for the rule's limit: its /32 and /64 unless
	 * the rule says otherwise (in the mapped space, an IPv4 /n is
	 * 96 + n bits). */
	uint8_t len = addr_is_v4(&k->caddr) ? (uint8_t)(96 + (r ? r->flows_prefix4 : 32)) :
					      (r ? r->flows_prefix6 : 64);
	struct flow *f;

	if (r && r->max_flows_per_source &&
	    srcflows_count(e->srcflows, &k->caddr, len) >= r->max_flows_per_source)
		return SPLICE_SOURCE_FULL;
	f = flowtab_insert(e->ft, k, now_ms + e->cfg.backend_syn_rto_ms);
	if (!f && recycle_time_wait(e, out))
		f = flowtab_insert(e->ft, k, now_ms + e->cfg.backend_syn_rto_ms);
	if (!f)
		return SPLICE_FULL;
	/* Counted whatever the limit, so that a reload that sets one finds
	 * the true counts. */
	srcflows_add(e->srcflows, &k->caddr, len, 0);
	f->fl_flags |= FL_SRC_COUNTED;
	f->fl_src_len = len;
	out->forget = true;
	out->forget_key = *k;
	splice_flow_event(out, k, true);

	f->fl_irs = st->irs;
	f->fl_iss = st->iss;
	f->fl_mss = st->mss;
	f->fl_state = FLOW_BACKEND_SYN;
	f->fl_created_ms = now_ms;
	f->fl_c_nxt = st->irs + 1;
	/* Until the backend answers, the server side is us: our SYN-ACK
	 * acknowledged the SYN and offered synack_window (never scaled). */
	f->fl_s_nxt = st->iss + 1;
	f->fl_s_ack = st->irs + 1;
	f->fl_c_ack = st->iss + 1;
	f->fl_s_wnd = f->fl_s_maxwnd = e->cfg.synack_window;
	if (st->flags & SS_WSCALE) {
		f->fl_flags |= FL_WS;
		f->fl_c_ws = clamp_ws(st->wscale);
		f->fl_our_ws = n->ws == WS_NONE ? 0 : n->ws;
	}
	if (st->flags & SS_SACK)
		f->fl_flags |= FL_SACK;
	if ((st->flags & SS_TS) && (o->have & TO_TS)) {
		f->fl_flags |= FL_TS;
		f->fl_our_tsval = o->tsecr;
	}
	if (st->flags & SS_ECN)
		f->fl_flags |= FL_ECN;
	if (from_cookie)
		f->fl_flags |= FL_COOKIE;
	if (o->have & TO_TS)
		f->fl_c_tsval = o->tsval;
	track(f, p, o, DIR_CLIENT);
	count(e, CNT_flows_created);
	splice_send_backend_syn(e, out, f);
	count(e, CNT_backend_syn_sent);
	if (p->paylen || (p->flags & TCPH_FIN)) {
		if (hold_segment(e, f, p, m)) {
			count_verdict(e, out, VERDICT_HOLD, CNT_packets_held);
			return SPLICE_HELD;
		}
		/* Not held: the client sends it again, so what it carried
		 * is not received (see splice_client). */
		count(e, CNT_held_dropped);
		f->fl_c_nxt = st->irs + 1;
		f->fl_flags &= ~(uint32_t)FL_C_FIN;
	}
	return SPLICE_OPENED;
}

/* What an RST does to a flow (RFC 5961 section 3): an exact one ends
 * it; one inside the receiver's window is dropped and answered with a
 * challenge ACK, so that a sender that really meant it (it sees the ACK)
 * sends an exact one, while a blind one ends nothing and changes nothing;
 * any other is dropped. */
enum rst_kind { RST_EXACT, RST_IN_WINDOW, RST_OUTSIDE };

/* Classifies an RST from side `from` of f.  Exact is the receiver's next
 * expected number as it last acknowledged it (RFC 5961), or the sender's
 * own next number (a stack that resets its connection sends that, and the
 * receiver has it once what is in flight arrives); both move only with
 * acceptable segments. */
static enum rst_kind classify_rst(const struct flow *f, const struct pkt *p, enum dir from)
{
	bool client = from == DIR_CLIENT;
	uint32_t nxt = client ? f->fl_c_nxt : f->fl_s_nxt;
	uint32_t rcv = client ? f->fl_s_ack : f->fl_c_ack;
	uint32_t wnd = client ? f->fl_s_wnd : f->fl_c_wnd;

	if (p->seq == rcv || p->seq == nxt)
		return RST_EXACT;
	if (seq_between(p->seq, rcv, rcv + wnd) || seq_between(p->seq, rcv, nxt))
		return RST_IN_WINDOW;
	return RST_OUTSIDE;
}

/* An RST from side `from` of f that is not exact: dropped, with a
 * challenge ACK when it lies in the window.  True when p was such. */
static bool refuse_rst(struct engine *e, struct flow *f, const struct pkt *p, enum dir from,
		       uint64_t now_ms, struct engine_out *out)
{
	switch (classify_rst(f, p, from)) {
	case RST_EXACT:
		return false;
	case RST_IN_WINDOW:
		splice_challenge(e, f, from, now_ms, out);
		count_verdict(e, out, VERDICT_DROP, CNT_rst_in_window);
		return true;
	case RST_OUTSIDE:
		break;
	}
	count_verdict(e, out, VERDICT_DROP, CNT_rst_out_of_window);
	return true;
}

/* The deadline a live flow gets after a segment. */
uint64_t splice_live_deadline(const struct engine *e, const struct flow *f, uint64_t now_ms)
{
	if ((f->fl_flags & FL_OFFLOADED) && !e->cfg.kernel_reports_end)
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
		/* A flow in time-wait counts for its source no more: it
		 * only waits for a late retransmission, and a full table
		 * recycles it (recycle_time_wait). */
		splice_uncount(e, f);
		f->fl_state = FLOW_TIME_WAIT;
		flowtab_set_deadline(e->ft, f, now_ms + e->cfg.time_wait_ms);
	} else if (f->fl_flags & (FL_C_FIN | FL_S_FIN)) {
		f->fl_state = FLOW_CLOSING;
	}
}

/* A FIN or exact RST of an offloaded flow that reaches the queue went
 * past conntrack before the flow's entry existed: the entry will never
 * see the connection close and would stay ESTABLISHED, ready to translate
 * a later connection on the same tuple with this one's offsets.  The flow
 * comes back to userspace, where it ends as any other, and the entry
 * goes.  Called only for segments that were validated: what conntrack
 * hands over as INVALID (out of its window) must not change the flow's
 * path.  With resync, what f tracks is stale (the kernel translated the
 * flow for a while): each side's next segment sets it again. */
static void withdraw(struct engine *e, struct flow *f, bool resync, struct engine_out *out)
{
	if (!(f->fl_flags & FL_OFFLOADED))
		return;
	f->fl_flags &= ~(uint32_t)(FL_OFFLOADED | FL_OFFERED);
	if (resync)
		f->fl_flags |= FL_RESYNC_C | FL_RESYNC_S;
	/* It may be offered again once it has proved itself again. */
	f->fl_segs = 0;
	out->forget = true;
	out->forget_key = f->fl_key;
	count(e, CNT_offload_withdrawn);
}

/* Sets what side `from` of f tracks from p alone, when a withdrawal left
 * it stale: the kernel translated the flow meanwhile, so its numbers and
 * windows moved without us. */
static void resync(struct flow *f, const struct pkt *p, enum dir from)
{
	bool client = from == DIR_CLIENT;

	*(client ? &f->fl_c_nxt : &f->fl_s_nxt) = seg_end(p);
	if (p->flags & TCPH_ACK)
		*(client ? &f->fl_c_ack : &f->fl_s_ack) = ack_of(f, p, from);
	*(client ? &f->fl_c_maxwnd : &f->fl_s_maxwnd) = 0;
	f->fl_flags &= ~(uint32_t)(client ? FL_RESYNC_C : FL_RESYNC_S);
}

/* Offers f to the kernel's fast path once it has passed
 * offload_after_segs segments in userspace (docs/decisions.md: a
 * connection that ends within a few packets costs less here than a
 * conntrack entry made and removed), if the kernel can translate it. */
static void consider_offer(struct engine *e, struct flow *f, uint64_t now_ms,
			   struct engine_out *out)
{
	if (f->fl_segs < UINT16_MAX)
		f->fl_segs++;
	if (f->fl_segs < e->cfg.offload_after_segs || f->fl_state != FLOW_ESTABLISHED ||
	    (f->fl_flags & (FL_OFFERED | FL_OFFLOADED | FL_RESYNC_C | FL_RESYNC_S)) ||
	    splice_ecn_declined(f))
		return;
	f->fl_flags |= FL_OFFERED;
	out->offer = true;
	splice_describe(f, now_ms, &out->offer_flow);
}

/* A segment from side `from` of an established flow (o: its options, or
 * NULL): an RST is validated, anything else checked against the window
 * and tracked, then the segment is translated for the other side and
 * passed on.  A segment outside the window is passed on untracked (its
 * receiver drops it and answers as its stack does). */
static void forward(struct engine *e, struct flow *f, struct pkt *p, const struct tcpopt *o,
		    enum dir from, uint64_t now_ms, struct engine_out *out)
{
	const struct xlate *x = from == DIR_CLIENT ? &f->fl_c2s : &f->fl_s2c;

	if (p->flags & TCPH_RST) {
		if (refuse_rst(e, f, p, from, now_ms, out))
			return;
		withdraw(e, f, false, out);
		translate_apply(p, x);
		out->modified = true;
		splice_end(e, out, f, splice_rst_counter(f));
		count_verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
		return;
	}
	if (from == DIR_CLIENT && !ecn_fit(e, f, p)) {
		set_verdict(out, VERDICT_DROP, CNT_ecn_ce_dropped);
		return;
	}
	if (f->fl_flags & (from == DIR_CLIENT ? FL_RESYNC_C : FL_RESYNC_S)) {
		resync(f, p, from);
	} else if (!acceptable(f, p, from)) {
		translate_apply(p, x);
		out->modified = true;
		consider_offer(e, f, now_ms, out);
		count_verdict(e, out, VERDICT_ACCEPT, CNT_seg_out_of_window);
		return;
	}
	if (p->flags & TCPH_FIN)
		withdraw(e, f, false, out);
	track(f, p, o, from);
	translate_apply(p, x);
	out->modified = true;
	if (x->win_from != x->win_to)
		count(e, CNT_window_rescaled);
	update_close(e, f, now_ms);
	flowtab_set_deadline(e->ft, f, splice_live_deadline(e, f, now_ms));
	consider_offer(e, f, now_ms, out);
	count_verdict(e, out, VERDICT_ACCEPT, CNT_packets_translated);
}

void splice_client(struct engine *e, struct flow *f, struct pkt *p, const struct engine_meta *m,
		   uint64_t now_ms, struct engine_out *out)
{
	struct tcpopt o;

	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	if (f->fl_state == FLOW_BACKEND_SYN) {
		if (p->flags & TCPH_RST) {
			struct seg s;

			if (refuse_rst(e, f, p, DIR_CLIENT, now_ms, out))
				return;
			/* The client gave up: tell the backend, whose half-open
			 * entry comes from our SYN. */
			seg_init(&s, &f->fl_key, DIR_SERVER);
			s.seq = f->fl_irs + 1;
			s.flags = TCPH_RST;
			engine_emit(e, out, DIR_SERVER, &s);
			splice_end(e, out, f, CNT_flows_reset);
			set_verdict(out, VERDICT_DROP, CNT_flows_reset);
			return;
		}
		if (!acceptable(f, p, DIR_CLIENT)) {
			count_verdict(e, out, VERDICT_DROP, CNT_seg_out_of_window);
			return;
		}
		/* A segment that cannot be held is dropped, and the client
		 * sends it again: what it carried must not count as received,
		 * or the ACK after the backend's SYN-ACK would acknowledge it. */
		if (p->paylen || (p->flags & TCPH_FIN)) {
			if (hold_segment(e, f, p, m)) {
				track(f, p, &o, DIR_CLIENT);
				count_verdict(e, out, VERDICT_HOLD, CNT_packets_held);
				return;
			}
			count_verdict(e, out, VERDICT_DROP, CNT_held_dropped);
			return;
		}
		track(f, p, &o, DIR_CLIENT);
		count_verdict(e, out, VERDICT_DROP, CNT_cookie_retrans);
		return;
	}
	forward(e, f, p, &o, DIR_CLIENT, now_ms, out);
}

void splice_server(struct engine *e, struct flow *f, struct pkt *p, const struct engine_meta *m,
		   uint64_t now_ms, struct engine_out *out)
{
	if (f->fl_state == FLOW_BACKEND_SYN) {
		if ((p->flags & (TCPH_ACK | TCPH_RST)) == TCPH_ACK && p->ack != f->fl_irs + 1) {
			splice_backend_stale(e, f, p, now_ms, out);
			return;
		}
		if ((p->flags & (TCPH_SYN | TCPH_ACK | TCPH_RST)) == (TCPH_SYN | TCPH_ACK)) {
			splice_backend_synack(e, f, p, m, now_ms, out);
			return;
		}
		/* RFC 9293, SYN-SENT: an RST refuses the connection only
		 * when it acknowledges our SYN; without ACK, or with any
		 * other, it is dropped. */
		if (p->flags & TCPH_RST) {
			if ((p->flags & TCPH_ACK) && p->ack == f->fl_irs + 1) {
				splice_fail(e, out, f, CNT_backend_refused);
				set_verdict(out, VERDICT_DROP, CNT_backend_refused);
				return;
			}
			count_verdict(e, out, VERDICT_DROP, CNT_rst_out_of_window);
			return;
		}
		count_verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
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
			engine_emit(e, out, DIR_SERVER, &s);
		}
		count_verdict(e, out, VERDICT_DROP, CNT_backend_bad_synack);
		return;
	}
	forward(e, f, p, NULL, DIR_SERVER, now_ms, out);
}

/* Answers a SYN on a live flow the way RFC 5961 (section 4) has a TCP
 * endpoint do it: an ACK carrying what the server expects next.  A client
 * that lost the connection (or is opening a new one from the same port)
 * answers it with an RST at exactly that number, which ends the flow
 * through the exact-RST rule; its next SYN then opens a fresh connection.
 * A spoofed SYN learns nothing and ends nothing. */
void splice_challenge(struct engine *e, struct flow *f, enum dir to, uint64_t now_ms,
		      struct engine_out *out)
{
	uint32_t sec = (uint32_t)(now_ms / 1000), w;
	struct seg s;

	if ((f->fl_flags & FL_CHALLENGED) &&
	    (uint32_t)now_ms - f->fl_challenge_ms < CHALLENGE_INTERVAL_MS) {
		count(e, CNT_challenge_ack_limited);
		return;
	}
	if (sec != e->challenge_second || !e->challenge_budget) {
		uint64_t h = siphash24(e->challenge_key, &sec, sizeof(sec));

		e->challenge_second = sec;
		e->challenge_sent = 0;
		e->challenge_budget = CHALLENGE_ACK_PER_SEC / 2 + (uint32_t)(h % CHALLENGE_ACK_PER_SEC);
	}
	if (e->challenge_sent >= e->challenge_budget) {
		count(e, CNT_challenge_ack_limited);
		return;
	}
	e->challenge_sent++;
	f->fl_flags |= FL_CHALLENGED;
	f->fl_challenge_ms = (uint32_t)now_ms;
	/* What the other side would send: its next number, what it has
	 * acknowledged (never more: an ACK of data still in flight would
	 * make the sender forget it) and its window, in the receiver's
	 * space and scale. */
	seg_init(&s, &f->fl_key, to);
	s.flags = TCPH_ACK;
	if (to == DIR_CLIENT) {
		s.seq = f->fl_s_nxt + f->fl_s2c.seq_add;
		s.ack = f->fl_s_ack;
		w = f->fl_s_wnd >> ((f->fl_flags & FL_WS) ? f->fl_our_ws : 0);
	} else {
		s.seq = f->fl_c_nxt;
		s.ack = f->fl_c_ack;
		w = f->fl_c_wnd >> f->fl_c2s.win_to;
	}
	s.win = (uint16_t)(w > 65535 ? 65535 : w);
	engine_emit(e, out, to, &s);
}

void splice_timer(struct engine *e, struct flow *f, uint64_t now_ms, struct engine_out *out)
{
	switch (f->fl_state) {
	case FLOW_BACKEND_SYN:
		if (f->fl_retries < e->cfg.backend_syn_retries) {
			splice_retransmit_backend_syn(e, f, now_ms, out);
			return;
		}
		splice_fail(e, out, f, CNT_backend_timeout);
		return;
	case FLOW_TIME_WAIT:
		splice_end(e, out, f, CNT_flows_closed);
		return;
	default:
		splice_end(e, out, f, (f->fl_flags & FL_OFFLOADED) ? CNT_offload_released :
				    CNT_flows_expired);
		return;
	}
}

/* RFC 6191 (Linux's time-wait does the same): a SYN may open a new
 * connection on the tuple of an old one when its timestamp is newer than
 * the last the old client sent, or, when the two do not both have
 * timestamps, when its ISN lies beyond the old connection's numbers. */
static bool syn_is_newer(const struct flow *f, const struct pkt *p)
{
	struct tcpopt o;

	tcpopt_parse(p->data + p->l4off, p->doff, &o);
	if ((o.have & TO_TS) && (f->fl_flags & FL_TS))
		return (int32_t)(o.tsval - f->fl_c_tsval) > 0;
	return seq_after(p->seq, f->fl_c_nxt);
}

bool splice_syn(struct engine *e, struct flow *f, const struct pkt *p, uint64_t now_ms,
		struct engine_out *out)
{
	const uint32_t fins = FL_C_FIN | FL_S_FIN;

	/* Time-wait only waits for a late retransmission: nothing is left
	 * to lose, so any SYN starts over.  The backend, if it still holds
	 * the old connection, judges the SYN by RFC 6191 itself: ours
	 * carries the client's own ISN and timestamp (backend_stale). */
	if (f->fl_state == FLOW_TIME_WAIT)
		goto reuse;
	/* Both FINs seen, the last ACK not (lost, or still in flight):
	 * nothing is left to deliver, so a SYN that is newer opens a new
	 * connection as in time-wait.  With one direction still open, or
	 * established, the SYN may be blind: RFC 5961's challenge ACK. */
	if (!(f->fl_flags & FL_OFFLOADED) && f->fl_state == FLOW_CLOSING &&
	    (f->fl_flags & fins) == fins && syn_is_newer(f, p))
		goto reuse;
	/* An offloaded flow's conntrack entry would take the new
	 * connection's handshake ACK past the proxy to the old backend
	 * socket (conntrack lets a SYN on an established entry through and
	 * keeps the entry): it comes back to userspace, its entry goes, and
	 * the numbers of the challenge ACK below, which may be stale, are
	 * what the client's RST must match to end it.  A blind SYN costs
	 * the flow its fast path, not its life. */
	withdraw(e, f, true, out);
	splice_challenge(e, f, DIR_CLIENT, now_ms, out);
	count_verdict(e, out, VERDICT_DROP, CNT_syn_on_flow);
	return false;
reuse:
	count(e, CNT_flows_reused);
	splice_end(e, out, f, CNT_flows_closed);
	return true;
}
