/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The flow table: spliced connections, from the backend SYN to the end of
 * time-wait, with the translation state of each.  Like the SYN cache it is
 * allocated once and never grows: a hashed table of chains over one array
 * of entries, each bucket carrying a lower bound of its entries' deadlines
 * so the timer scan only visits buckets with something due, and one bit
 * per bucket saying whether its chain is empty, so the lookup of an absent
 * key (every SYN of a flood) does not touch the buckets at all. */
#ifndef SP_FLOW_H
#define SP_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hold.h"
#include "siphash.h"
#include "translate.h"

/* Where a flow is in its life (struct flow.fl_state, and the listings). */
enum flow_state {
	FLOW_HALF_OPEN,      /* only in the SYN cache (listings) */
	FLOW_BACKEND_SYN,    /* client proved, backend SYN sent */
	FLOW_ESTABLISHED,
	FLOW_CLOSING,        /* FIN seen in one direction */
	FLOW_TIME_WAIT,      /* both FINs acknowledged */
};

/* Name of a state ("established", ...). */
const char *flow_state_name(enum flow_state s);

/* Bits of struct flow.fl_flags. */
#define FL_TS 0x0001          /* timestamps negotiated with the client */
#define FL_SACK 0x0002        /* SACK negotiated with the client */
#define FL_WS 0x0004          /* window scale negotiated with the client */
#define FL_ECN 0x0008         /* ECN negotiated with the client */
#define FL_B_TS 0x0010        /* the backend agreed to timestamps */
#define FL_B_WS 0x0020        /* the backend agreed to window scale */
#define FL_C_FIN 0x0040       /* client sent FIN (fl_c_fin valid) */
#define FL_S_FIN 0x0080       /* server sent FIN (fl_s_fin valid) */
#define FL_C_FIN_ACKED 0x0100 /* server acknowledged the client's FIN */
#define FL_S_FIN_ACKED 0x0200 /* client acknowledged the server's FIN */
#define FL_COOKIE 0x0400      /* created from a cookie (no SYN cache entry) */
#define FL_OFFLOADED 0x0800   /* the kernel translates it (engine_offloaded) */
#define FL_CHALLENGED 0x1000  /* a challenge ACK was sent (fl_challenge_ms valid) */
#define FL_B_ECN 0x2000       /* the backend agreed to ECN (an ECN-setup SYN-ACK) */
#define FL_SRC_COUNTED 0x4000 /* counted for its source network (fl_src_len) */
#define FL_RESYNC_C 0x8000    /* the client's numbers are stale (a SYN withdrew the
			       * flow from the kernel): its next segment re-seeds them */
#define FL_RESYNC_S 0x10000   /* the same for the server's */
#define FL_OFFERED 0x20000    /* offered to the kernel fast path (engine_out.offer) */
#define FL_STALE_RST 0x40000  /* the backend's stale ACK to this backend SYN was reset */

struct flow {
	struct conn_key fl_key;
	uint32_t fl_irs;          /* client ISN */
	uint32_t fl_iss;          /* our ISN, as the client knows the server */
	uint32_t fl_bis;          /* backend ISN */
	uint32_t fl_our_tsval;    /* TSval of our SYN-ACK, echoed by the client */
	uint32_t fl_c_tsval;      /* latest client TSval; its handshake ACK's until
				   * the backend answers */
	/* What each side sent and acknowledged, from segments inside the
	 * other side's window only (splice.c, acceptable).  Before the
	 * backend answers, the server's numbers are the client's view of
	 * ours (fl_s2c is the identity then). */
	uint32_t fl_c_nxt;        /* highest client seq + len seen */
	uint32_t fl_s_nxt;        /* highest server seq + len seen (backend space) */
	uint32_t fl_c_ack;        /* highest ack the client sent (backend space) */
	uint32_t fl_s_ack;        /* highest ack the server sent (client space) */
	uint32_t fl_c_fin;        /* seq of the client's FIN */
	uint32_t fl_s_fin;        /* seq of the server's FIN (backend space) */
	uint32_t fl_c_wnd;        /* client receive window in bytes */
	uint32_t fl_s_wnd;        /* server receive window in bytes */
	uint32_t fl_c_maxwnd;     /* the largest of them, for the window checks */
	uint32_t fl_s_maxwnd;
	uint32_t fl_challenge_ms; /* low 32 bits of when the last challenge ACK left */
	uint16_t fl_c_win;        /* latest raw client window field */
	uint16_t fl_mss;          /* client's MSS */
	uint16_t fl_segs;         /* segments passed since the backend answered
				   * (saturating): the fast path's threshold */
	uint32_t fl_flags;        /* FL_* */
	uint32_t fl_ct_id;        /* the kernel's id of its conntrack entry (offloaded) */
	uint8_t fl_state;         /* enum flow_state */
	uint8_t fl_c_ws;          /* client's window scale */
	uint8_t fl_our_ws;        /* the scale we announced to the client */
	uint8_t fl_b_ws;          /* the backend's window scale */
	uint8_t fl_retries;       /* backend SYN retransmissions */
	uint8_t fl_src_len;       /* its source network's length (mapped space) */
	struct xlate fl_c2s;      /* applied to client -> server segments */
	struct xlate fl_s2c;      /* applied to server -> client segments */
	struct hold_queue fl_held;
	uint64_t fl_created_ms;
	uint64_t fl_deadline_ms;  /* next timer: retransmission or expiry */
	uint32_t fl_next;         /* chain / free list */
};

struct flowtab;

/* A table of max flows.  NULL on bad size or no memory. */
struct flowtab *flowtab_new(uint32_t max, const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees the table. */
void flowtab_free(struct flowtab *ft);

/* The flow for k, or NULL. */
struct flow *flowtab_lookup(struct flowtab *ft, const struct conn_key *k);

/* A zeroed flow for k (which must not be present) with its deadline set,
 * or NULL when the table is full. */
struct flow *flowtab_insert(struct flowtab *ft, const struct conn_key *k,
			    uint64_t deadline_ms);

/* Removes f from the table (f is invalid afterwards). */
void flowtab_remove(struct flowtab *ft, struct flow *f);

/* A flow in state, looked for over at most max_visits flows, resuming
 * where the previous call stopped (a clock hand over the buckets), or
 * NULL. */
struct flow *flowtab_find_state(struct flowtab *ft, uint8_t state, uint32_t max_visits);

/* Sets f's deadline (keeping its bucket's lower bound a lower bound). */
void flowtab_set_deadline(struct flowtab *ft, struct flow *f, uint64_t deadline_ms);

/* A flow whose deadline is at or before now_ms, or NULL when none is due.
 * Expects the caller to move the returned flow's deadline past now_ms or
 * remove it before calling again. */
struct flow *flowtab_due(struct flowtab *ft, uint64_t now_ms);

/* A lower bound of the earliest deadline (UINT64_MAX when empty). */
uint64_t flowtab_next_deadline(const struct flowtab *ft);

/* Flows in the table. */
uint32_t flowtab_count(const struct flowtab *ft);

/* Bytes the table allocated. */
size_t flowtab_memory(const struct flowtab *ft);

/* Calls fn for every flow. */
void flowtab_walk(const struct flowtab *ft, void (*fn)(const struct flow *f, void *ctx),
		  void *ctx);

#endif
