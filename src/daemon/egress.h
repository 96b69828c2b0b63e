/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What leaves a worker, in an order the kernel cannot confuse.  The engine
 * produces, per call, packets to send (emits) and verdicts (the input's and
 * held packets' releases), in an order that matters: a backend ACK must
 * reach the backend before the held data it releases, a SYN-ACK before the
 * accept of anything that depends on it.  Both go out in batches (emits
 * through sendmmsg, verdicts in one netlink datagram), so this module
 * keeps the rule that makes batching safe:
 *
 *   emits and accept verdicts leave in the engine's order;
 *   drop verdicts and emits may be reordered (a drop lets nothing out).
 *
 * It does so by sending whatever of the other kind is pending before it
 * queues an emit or an accept.  The two queues are behind function
 * pointers (struct egress_ops): worker.c binds them to the raw/packet
 * sockets and the NFQUEUE verdict buffer, tests/unit/test_egress.c to a
 * model of what the kernel sees.  Pure: no socket, no library. */
#ifndef SP_EGRESS_H
#define SP_EGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

/* The two queues.  Each may send on its own before its flush (a full
 * buffer), never later than its flush returns. */
struct egress_ops {
	/* Queues packet em for sending. */
	void (*eo_emit)(void *ctx, const struct engine_emit *em);
	/* Sends every queued packet. */
	void (*eo_emit_flush)(void *ctx);
	/* Queues the verdict for packet id: accept (data/len the rewritten
	 * packet when data is not NULL) or drop. */
	void (*eo_verdict)(void *ctx, uint32_t id, bool accept, const uint8_t *data,
			   uint32_t len);
	/* Sends every queued verdict. */
	void (*eo_verdict_flush)(void *ctx);
};

struct egress {
	const struct egress_ops *eg_ops;
	void *eg_ctx;
	bool eg_emits;           /* emits queued since the last emit flush */
	bool eg_accepts;         /* accept verdicts queued since the last verdict flush */
};

/* Binds e to ops, which get ctx with every call. */
void egress_init(struct egress *e, const struct egress_ops *ops, void *ctx);

/* Queues one emitted packet, after any accept verdict queued before it. */
void egress_emit(struct egress *e, const struct engine_emit *em);

/* Queues one verdict; an accept goes after any packet queued before it. */
void egress_verdict(struct egress *e, uint32_t id, bool accept, const uint8_t *data,
		    uint32_t len);

/* Queues what one engine call produced, in the engine's order: its emits,
 * then its releases' verdicts (the input's own verdict is the caller's,
 * after this). */
void egress_out(struct egress *e, const struct engine_out *o);

/* Sends everything queued. */
void egress_flush(struct egress *e);

#endif
