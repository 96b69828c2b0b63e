/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ordering rule of egress.h.  At any moment at most one kind of
 * order-bound output is pending: queueing an emit sends pending accepts,
 * queueing an accept sends pending emits, so a flush in either order
 * keeps the engine's order.  Drops never force a send. */
#include "egress.h"

void egress_init(struct egress *e, const struct egress_ops *ops, void *ctx)
{
	e->eg_ops = ops;
	e->eg_ctx = ctx;
	e->eg_emits = false;
	e->eg_accepts = false;
}

void egress_emit(struct egress *e, const struct engine_emit *em)
{
	if (e->eg_accepts) {
		e->eg_ops->eo_verdict_flush(e->eg_ctx);
		e->eg_accepts = false;
	}
	e->eg_ops->eo_emit(e->eg_ctx, em);
	e->eg_emits = true;
}

void egress_verdict(struct egress *e, uint32_t id, bool accept, const uint8_t *data,
		    uint32_t len)
{
	if (accept) {
		if (e->eg_emits) {
			e->eg_ops->eo_emit_flush(e->eg_ctx);
			e->eg_emits = false;
		}
		e->eg_accepts = true;
	}
	e->eg_ops->eo_verdict(e->eg_ctx, id, accept, data, len);
}

void egress_out(struct egress *e, const struct engine_out *o)
{
	uint32_t i;

	for (i = 0; i < o->nemit; i++)
		egress_emit(e, &o->emit[i]);
	for (i = 0; i < o->nrelease; i++) {
		const struct engine_release *r = &o->release[i];
		bool accept = r->verdict == VERDICT_ACCEPT;

		egress_verdict(e, r->id, accept, accept ? r->data : NULL, r->len);
	}
}

void egress_flush(struct egress *e)
{
	e->eg_ops->eo_emit_flush(e->eg_ctx);
	e->eg_ops->eo_verdict_flush(e->eg_ctx);
	e->eg_emits = false;
	e->eg_accepts = false;
}
