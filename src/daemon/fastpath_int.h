/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What fastpath.c (requests, dumps, adoption) and fastpath_events.c (the
 * event sockets) share: one conntrack entry as parsed from ctnetlink.
 * Private to those two. */
#ifndef SP_FASTPATH_INT_H
#define SP_FASTPATH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "addr.h"
#include "engine.h"

/* One entry and its ACK fit many times over. */
#define FASTPATH_BUF 8192

/* What a dumped entry or an event says, as far as the daemon cares. */
struct ct_entry {
	struct conn_key key;      /* original direction: client -> server */
	bool found;               /* a CT_GET answered (entry_cb) */
	bool v4, tcp, have_key, have_state;
	bool seqadj_reply;        /* a reply-direction sequence adjustment */
	bool synproxy;            /* the synproxy extension (timestamps) */
	uint32_t id, status, mark;
	uint32_t seq_offset;      /* the reply direction's offset after its position */
	uint32_t tsoff;
	uint8_t state;
	uint8_t flags_orig, flags_reply;
	uint8_t ws_orig, ws_reply;
};

/* mnl attribute callback for a ctnetlink entry's top-level attributes:
 * fills the struct ct_entry `data` (zeroed by the caller). */
int ct_attr_cb(const struct nlattr *a, void *data);

/* What TCP conntrack state `state` means for an offloaded flow; false
 * when nothing (a handshake state). */
bool fastpath_kstate(uint8_t state, enum engine_kstate *ks);

#endif
