/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshots of an engine's flows and learned options, for a restart
 * without loss: the daemon writes them when it stops (src/daemon/state.c)
 * and the next process's engines take them back.
 *
 * A record is a flow's fields laid out one by one, big-endian, behind a
 * type and a version byte, so the format does not follow struct flow's
 * memory layout or the compiler's: a field added to struct flow must be
 * added here and SNAP_VERSION raised (tests/unit/test_snapshot.c fills
 * every byte of a flow and checks that the restored one matches); records
 * of another version are refused, and the daemon logs why (version 2 added
 * the acknowledgements and largest windows the RFC 5961 checks track, and
 * the source network a flow counts for; version 3 the segments a flow has
 * passed toward the fast path's threshold, 32 bits of flags and the
 * conntrack id of an offloaded flow).
 *
 * Times are relative: a flow's deadline travels as milliseconds from
 * now and its age as milliseconds before now, so that a record moves
 * between two processes (two monotonic time bases) of one boot.
 *
 * Flows on the kernel fast path come back as such, with their conntrack
 * id: conntrack went on translating them meanwhile, and the new process
 * must know them to follow their end (events carry the id) and to judge
 * a SYN on their tuple (splice_syn); the daemon ends those whose entry is
 * gone or another's by then (worker_check_restored).  Version 3 records
 * already carried the flags and the id; a version 3 reader that predates
 * this refuses such a record alone (FL_OFFLOADED) and takes the others.
 * Left out: held client segments (the stopping daemon gave them a drop
 * verdict; the client sends them again).  A flow still in its backend handshake
 * therefore forgets the client data it had seen, and its backend SYN is
 * due at once after the restore.
 *
 * Besides splice.c, this is the one file that writes fl_ fields: it puts
 * back what splice.c wrote.
 */
#include <string.h>

#include "bytes.h"
#include "engine_int.h"

#define SNAP_FLOW 1
#define SNAP_LEARNED 2
#define SNAP_VERSION 3

#define SNAP_FLOW_LEN (2 + 36 + 17 * 4 + 3 * 2 + 6 + 2 * 22 + 2 * 8)
#define SNAP_LEARNED_LEN (2 + 16 + 2 + 2 + 3)

_Static_assert(SNAP_FLOW_LEN <= ENGINE_SNAPSHOT_MAX, "room for a flow");

/* A cursor over a record. */
struct cur {
	uint8_t *p;
	const uint8_t *r;
};

static void w8(struct cur *c, uint8_t v)
{
	*c->p++ = v;
}

static void w16(struct cur *c, uint16_t v)
{
	put_be16(c->p, v);
	c->p += 2;
}

static void w32(struct cur *c, uint32_t v)
{
	put_be32(c->p, v);
	c->p += 4;
}

static void w64(struct cur *c, uint64_t v)
{
	w32(c, (uint32_t)(v >> 32));
	w32(c, (uint32_t)v);
}

static uint8_t r8(struct cur *c)
{
	return *c->r++;
}

static uint16_t r16(struct cur *c)
{
	uint16_t v = get_be16(c->r);

	c->r += 2;
	return v;
}

static uint32_t r32(struct cur *c)
{
	uint32_t v = get_be32(c->r);

	c->r += 4;
	return v;
}

static uint64_t r64(struct cur *c)
{
	uint64_t hi = r32(c);

	return (hi << 32) | r32(c);
}

static void w_xlate(struct cur *c, const struct xlate *x)
{
	w32(c, x->seq_add);
	w32(c, x->ack_add);
	w32(c, x->sack_add);
	w32(c, x->tsval_add);
	w32(c, x->tsecr_add);
	w8(c, x->win_from);
	w8(c, x->win_to);
}

static void r_xlate(struct cur *c, struct xlate *x)
{
	x->seq_add = r32(c);
	x->ack_add = r32(c);
	x->sack_add = r32(c);
	x->tsval_add = r32(c);
	x->tsecr_add = r32(c);
	x->win_from = r8(c);
	x->win_to = r8(c);
}

/* Writes flow f as a record into rec (SNAP_FLOW_LEN bytes). */
static void put_flow(const struct flow *f, uint64_t now_ms, uint8_t *rec)
{
	struct cur c = { .p = rec };
	uint32_t c_nxt = f->fl_c_nxt;
	/* A restored flow starts a fresh challenge-ACK budget, and its
	 * backend SYN (sent again at once) may reset a stale ACK again. */
	uint32_t flags = f->fl_flags & ~(uint32_t)(FL_CHALLENGED | FL_STALE_RST);

	/* Held data dies with the old process: what it carried was not
	 * received (the client sends it again). */
	if (f->fl_state == FLOW_BACKEND_SYN) {
		c_nxt = f->fl_irs + 1;
		flags &= ~(uint32_t)FL_C_FIN;
	}
	w8(&c, SNAP_FLOW);
	w8(&c, SNAP_VERSION);
	memcpy(c.p, f->fl_key.caddr.a, 16);
	memcpy(c.p + 16, f->fl_key.saddr.a, 16);
	c.p += 32;
	w16(&c, f->fl_key.cport);
	w16(&c, f->fl_key.sport);
	w32(&c, f->fl_irs);
	w32(&c, f->fl_iss);
	w32(&c, f->fl_bis);
	w32(&c, f->fl_our_tsval);
	w32(&c, f->fl_c_tsval);
	w32(&c, c_nxt);
	w32(&c, f->fl_s_nxt);
	w32(&c, f->fl_c_ack);
	w32(&c, f->fl_s_ack);
	w32(&c, f->fl_c_maxwnd);
	w32(&c, f->fl_s_maxwnd);
	w32(&c, f->fl_c_fin);
	w32(&c, f->fl_s_fin);
	w32(&c, f->fl_c_wnd);
	w32(&c, f->fl_s_wnd);
	w16(&c, f->fl_c_win);
	w16(&c, f->fl_mss);
	w16(&c, f->fl_segs);
	w32(&c, flags);
	w32(&c, f->fl_ct_id);
	w8(&c, f->fl_state);
	w8(&c, f->fl_c_ws);
	w8(&c, f->fl_our_ws);
	w8(&c, f->fl_b_ws);
	w8(&c, f->fl_retries);
	w8(&c, f->fl_src_len);
	w_xlate(&c, &f->fl_c2s);
	w_xlate(&c, &f->fl_s2c);
	w64(&c, now_ms >= f->fl_created_ms ? now_ms - f->fl_created_ms : 0);
	w64(&c, f->fl_state == FLOW_BACKEND_SYN ? 0 :
		f->fl_deadline_ms > now_ms ? f->fl_deadline_ms - now_ms : 0);
}

struct snap_ctx {
	uint64_t now_ms;
	void (*fn)(const uint8_t *rec, size_t len, void *ctx);
	void *ctx;
	size_t n;
};

static void snap_flow(const struct flow *f, void *arg)
{
	struct snap_ctx *s = arg;
	uint8_t rec[SNAP_FLOW_LEN];

	put_flow(f, s->now_ms, rec);
	s->fn(rec, sizeof(rec), s->ctx);
	s->n++;
}

static void snap_learned(const struct addr *a, uint16_t port, const struct learned_opts *o,
			 void *arg)
{
	struct snap_ctx *s = arg;
	uint8_t rec[SNAP_LEARNED_LEN];
	struct cur c = { .p = rec };

	w8(&c, SNAP_LEARNED);
	w8(&c, SNAP_VERSION);
	memcpy(c.p, a->a, 16);
	c.p += 16;
	w16(&c, port);
	w16(&c, o->mss);
	w8(&c, o->wscale);
	w8(&c, o->sack);
	w8(&c, o->ts);
	s->fn(rec, sizeof(rec), s->ctx);
}

size_t engine_snapshot(const struct engine *e, uint64_t now_ms,
		       void (*fn)(const uint8_t *rec, size_t len, void *ctx), void *ctx)
{
	struct snap_ctx s = { .now_ms = now_ms, .fn = fn, .ctx = ctx };

	learned_walk(e->learned, snap_learned, &s);
	flowtab_walk(e->ft, snap_flow, &s);
	return s.n;
}

/* Reads a flow record into f (whose key is set) and returns its deadline
 * and age; false when a field is out of range. */
static bool get_flow(struct cur *c, struct flow *f, uint64_t *in_ms, uint64_t *age_ms)
{
	c->r += 36;   /* the key, read by the caller */
	f->fl_irs = r32(c);
	f->fl_iss = r32(c);
	f->fl_bis = r32(c);
	f->fl_our_tsval = r32(c);
	f->fl_c_tsval = r32(c);
	f->fl_c_nxt = r32(c);
	f->fl_s_nxt = r32(c);
	f->fl_c_ack = r32(c);
	f->fl_s_ack = r32(c);
	f->fl_c_maxwnd = r32(c);
	f->fl_s_maxwnd = r32(c);
	f->fl_c_fin = r32(c);
	f->fl_s_fin = r32(c);
	f->fl_c_wnd = r32(c);
	f->fl_s_wnd = r32(c);
	f->fl_c_win = r16(c);
	f->fl_mss = r16(c);
	f->fl_segs = r16(c);
	f->fl_flags = r32(c);
	f->fl_ct_id = r32(c);
	f->fl_state = r8(c);
	f->fl_c_ws = r8(c);
	f->fl_our_ws = r8(c);
	f->fl_b_ws = r8(c);
	f->fl_retries = r8(c);
	f->fl_src_len = r8(c);
	r_xlate(c, &f->fl_c2s);
	r_xlate(c, &f->fl_s2c);
	*age_ms = r64(c);
	*in_ms = r64(c);
	return f->fl_state >= FLOW_BACKEND_SYN && f->fl_state <= FLOW_TIME_WAIT &&
	       !(f->fl_flags & (FL_CHALLENGED | FL_STALE_RST)) &&
	       (!(f->fl_flags & FL_OFFLOADED) || f->fl_ct_id != 0) &&
	       f->fl_src_len <= 128 &&
	       f->fl_c_ws <= TCP_MAX_WSCALE &&
	       f->fl_b_ws <= TCP_MAX_WSCALE && f->fl_our_ws <= TCP_MAX_WSCALE &&
	       f->fl_c2s.win_from <= TCP_MAX_WSCALE && f->fl_c2s.win_to <= TCP_MAX_WSCALE &&
	       f->fl_s2c.win_from <= TCP_MAX_WSCALE && f->fl_s2c.win_to <= TCP_MAX_WSCALE;
}

enum engine_restore_result engine_restore(struct engine *e, const uint8_t *rec, size_t len,
					  uint64_t now_ms, struct engine_out *out)
{
	struct cur c = { .r = rec };
	struct flow tmp, *f;
	uint64_t in_ms, age_ms;
	struct conn_key kk, *key = &kk;
	uint8_t type;

	out->nflowev = 0;
	out->learned = false;
	if (len < 2 || rec[1] != SNAP_VERSION)
		return ENGINE_RESTORE_BAD;
	type = r8(&c);
	c.r++;
	if (type == SNAP_LEARNED) {
		struct learned_opts o = { .valid = true };
		struct addr a;
		uint16_t port;

		if (len != SNAP_LEARNED_LEN)
			return ENGINE_RESTORE_BAD;
		memcpy(a.a, c.r, 16);
		c.r += 16;
		port = r16(&c);
		o.mss = r16(&c);
		o.wscale = r8(&c);
		o.sack = r8(&c) != 0;
		o.ts = r8(&c) != 0;
		learned_put(e->learned, &a, port, &o);
		out->learned = true;
		out->learned_addr = a;
		out->learned_port = port;
		out->learned_opts = o;
		return ENGINE_RESTORE_LEARNED;
	}
	if (type != SNAP_FLOW || len != SNAP_FLOW_LEN)
		return ENGINE_RESTORE_BAD;
	memset(&tmp, 0, sizeof(tmp));
	memset(key, 0, sizeof(*key));
	memcpy(key->caddr.a, c.r, 16);
	memcpy(key->saddr.a, c.r + 16, 16);
	key->cport = get_be16(c.r + 32);
	key->sport = get_be16(c.r + 34);
	if (!get_flow(&c, &tmp, &in_ms, &age_ms))
		return ENGINE_RESTORE_BAD;
	if (flowtab_lookup(e->ft, key))
		return ENGINE_RESTORE_DUPLICATE;
	f = flowtab_insert(e->ft, key, now_ms + in_ms);
	if (!f)
		return ENGINE_RESTORE_FULL;
	tmp.fl_key = f->fl_key;
	tmp.fl_next = f->fl_next;
	tmp.fl_deadline_ms = f->fl_deadline_ms;
	tmp.fl_held = f->fl_held;
	tmp.fl_created_ms = now_ms >= age_ms ? now_ms - age_ms : 0;
	*f = tmp;
	/* Counted for its source again, as splice_open counts a new flow. */
	if (f->fl_flags & FL_SRC_COUNTED)
		srcflows_add(e->srcflows, &f->fl_key.caddr, f->fl_src_len, 0);
	count(e, CNT_flows_restored);
	out->flowev[0].key = *key;
	out->flowev[0].up = true;
	out->nflowev = 1;
	return ENGINE_RESTORE_FLOW;
}
