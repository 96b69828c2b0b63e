/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A flow on the kernel's fast path: handed to conntrack (splice_offload),
 * followed by what conntrack reports of its entry (splice_kernel), and
 * taken in from an entry of ours no engine held (splice_from_kernel).
 * The packets of such a flow no longer come here; what still does (a FIN
 * or RST conntrack missed, a SYN on its tuple) brings it back to
 * userspace in splice.c (withdraw). */
#include <string.h>

#include "engine_int.h"
#include "siphash.h"

bool splice_offload(struct engine *e, struct flow *f, uint32_t ct_id, uint64_t now_ms)
{
	if (f->fl_state != FLOW_ESTABLISHED || (f->fl_flags & FL_OFFLOADED))
		return false;
	f->fl_flags |= FL_OFFLOADED | FL_OFFERED;
	f->fl_ct_id = ct_id;
	flowtab_set_deadline(e->ft, f, splice_live_deadline(e, f, now_ms));
	count(e, CNT_flows_offloaded);
	return true;
}

void splice_kernel(struct engine *e, struct flow *f, uint32_t ct_id, enum engine_kstate ks,
		   uint64_t now_ms, struct engine_out *out)
{
	if (!(f->fl_flags & FL_OFFLOADED) || f->fl_ct_id != ct_id)
		return;
	switch (ks) {
	case ENGINE_K_ESTABLISHED:
		return;
	case ENGINE_K_CLOSING:
		if (f->fl_state == FLOW_ESTABLISHED) {
			f->fl_state = FLOW_CLOSING;
			flowtab_set_deadline(e->ft, f, splice_live_deadline(e, f, now_ms));
		}
		return;
	case ENGINE_K_TIME_WAIT:
		if (f->fl_state == FLOW_TIME_WAIT)
			return;
		count(e, CNT_offload_closed);
		/* As update_close: its tuple is free for a new SYN. */
		splice_uncount(e, f);
		f->fl_state = FLOW_TIME_WAIT;
		flowtab_set_deadline(e->ft, f, now_ms + e->cfg.time_wait_ms);
		return;
	case ENGINE_K_RESET:
		if (f->fl_state != FLOW_TIME_WAIT)
			count(e, CNT_offload_closed);
		splice_end(e, out, f, splice_rst_counter(f));
		return;
	case ENGINE_K_GONE:
		splice_end(e, out, f, f->fl_state == FLOW_TIME_WAIT ? CNT_flows_closed :
				     CNT_offload_released);
		return;
	}
}

struct flow *splice_from_kernel(struct engine *e, const struct conn_key *k,
				const struct engine_kernel_flow *kf, uint64_t now_ms,
				struct engine_out *out)
{
	uint32_t numbers[4];
	struct flow *f;

	if (kf->state != ENGINE_K_ESTABLISHED && kf->state != ENGINE_K_CLOSING)
		return NULL;
	f = flowtab_insert(e->ft, k, now_ms);
	if (!f)
		return NULL;
	splice_flow_event(out, k, true);
	f->fl_state = kf->state == ENGINE_K_CLOSING ? FLOW_CLOSING : FLOW_ESTABLISHED;
	f->fl_created_ms = now_ms;
	f->fl_flags = FL_OFFLOADED | FL_OFFERED | FL_RESYNC_C | FL_RESYNC_S;
	f->fl_ct_id = kf->ct_id;
	/* The translation the entry applies, as splice_set_translation makes
	 * it from ISNs and TSvals: only their differences count. */
	f->fl_iss = kf->seq_delta;
	f->fl_bis = 0;
	if (kf->ts) {
		f->fl_flags |= FL_TS | FL_B_TS;
		f->fl_our_tsval = kf->ts_delta;
	}
	if (kf->sack)
		f->fl_flags |= FL_SACK;
	if (kf->client_wscale != WS_NONE && kf->backend_wscale != WS_NONE) {
		/* An offloaded flow is never rescaled. */
		f->fl_flags |= FL_WS | FL_B_WS;
		f->fl_c_ws = clamp_ws(kf->client_wscale);
		f->fl_b_ws = f->fl_our_ws = clamp_ws(kf->backend_wscale);
	}
	splice_set_translation(f, 0);
	/* What the connection's numbers are, conntrack does not say: each
	 * side's next segment sets them (FL_RESYNC_*).  Until then they are
	 * values nobody else knows, so that only an RST answering the
	 * challenge ACK they make (a client that lost the connection) is
	 * exact, never a blind one. */
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b[sizeof(*k) + 1];

		memcpy(b, k, sizeof(*k));
		b[sizeof(*k)] = (uint8_t)i;
		numbers[i] = (uint32_t)siphash24(e->challenge_key, b, sizeof(b));
	}
	f->fl_c_nxt = f->fl_s_ack = numbers[0];
	f->fl_c_ack = numbers[1];
	f->fl_s_nxt = numbers[2];
	f->fl_irs = numbers[3];
	/* Not counted for its source (max_flows_per_source): the connection
	 * predates this process and its limits, as an adopted one does. */
	count(e, CNT_flows_from_conntrack);
	flowtab_set_deadline(e->ft, f, splice_live_deadline(e, f, now_ms));
	return f;
}
