/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel fast path: an established flow is handed to conntrack, which
 * then rewrites its sequence numbers (seqadj) and timestamps (the synproxy
 * extension) at forwarding speed, so its packets stop crossing NFQUEUE.
 * One ctnetlink socket per worker; every call is a synchronous request. */
#ifndef SP_FASTPATH_H
#define SP_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

struct fastpath;

/* Opens a ctnetlink socket whose entries carry connection mark ctmark and
 * expire after timeout_s idle seconds.  NULL with errno. */
struct fastpath *fastpath_open(uint32_t ctmark, uint32_t timeout_s);

/* Closes the socket (NULL is fine).  Entries already made stay. */
void fastpath_close(struct fastpath *fp);

/* Checks once that this kernel takes the entries an offload makes, by
 * creating and deleting a dummy one (port 0, never a real flow).  Returns
 * 0, or -1 with errno. */
int fastpath_probe(void);

/* True when conntrack picks up TCP connections from mid-stream packets
 * (net.netfilter.nf_conntrack_tcp_loose = 1, the kernel's default): a
 * packet of a flow that arrives while the flow is being offloaded may then
 * make an entry that clashes with ours, and the kernel drops it once. */
bool fastpath_loose_pickup(void);

/* Replaces whatever conntrack holds for fi's tuple with an entry that
 * translates the flow, and reads it back.  Returns 0 once the entry is in
 * place and verified; -1 with errno otherwise, having removed any entry
 * it made, so the flow's packets keep coming to the queue.  *ct_id gets
 * the kernel's id of the entry (its events carry it).
 * Expects fi to be established and not rescaled. */
int fastpath_offload(struct fastpath *fp, const struct flow_info *fi, uint32_t *ct_id);

/* Whether conntrack holds an entry of ours (our mark) for k's tuple: 1
 * with its id in *ct_id, 0 when not, -1 with errno. */
int fastpath_lookup(struct fastpath *fp, const struct conn_key *k, uint32_t *ct_id);

/* Reads what conntrack's entry for k's tuple does to the flow, when the
 * entry is ours (fp's mark): its sequence adjustment and timestamp offset
 * as the engine counts them (0 for a connection adopted untranslated).
 * Returns 1 with kf filled in, 0 when there is no such entry, -1 with
 * errno. */
int fastpath_kernel_flow(struct fastpath *fp, const struct conn_key *k,
			 struct engine_kernel_flow *kf);

/* Removes every conntrack entry for k's tuple.  Returns how many there
 * were (0 normally), or -1 with errno. */
int fastpath_forget(struct fastpath *fp, const struct conn_key *k);

/* Adopts the connections to services pol proxies that were established
 * before the daemon's rules were (conntrack followed them from their
 * handshake; nobody marked them): their entries get fp's mark, so the
 * rule that lets the fast path's connections through passes them
 * untranslated, as they need.  Returns how many, or -1 with errno. */
int fastpath_adopt(struct fastpath *fp, const struct policy *pol);

/* Calls fn for every TCP entry with fp's mark (key in the original
 * direction, client to server, and the entry's id).  Returns how many, or
 * -1 with errno. */
int fastpath_each_ours(struct fastpath *fp,
		       void (*fn)(const struct conn_key *k, uint32_t id, void *ctx), void *ctx);

/* What the kernel saw of one of our entries. */
struct fastpath_event {
	struct conn_key key;        /* client -> server */
	uint32_t id;                /* the entry's id (fastpath_offload's ct_id) */
	enum engine_kstate state;
};

struct fastpath_events;

/* Subscribes to conntrack's update and destroy events for entries with
 * connection mark ctmark (a socket filter drops the rest in the kernel).
 * Non-blocking.  NULL with errno (no event support, no permission;
 * EOPNOTSUPP when net.netfilter.nf_conntrack_events is 0). */
struct fastpath_events *fastpath_events_open(uint32_t ctmark);

/* Closes the socket (NULL is fine). */
void fastpath_events_close(struct fastpath_events *fe);

/* The socket, for the event loop. */
int fastpath_events_fd(const struct fastpath_events *fe);

/* Calls fn for every event waiting (a TCP state change of an entry, or
 * its end), until none is left.  Returns how many, or -1 with errno. */
int fastpath_events_read(struct fastpath_events *fe,
			 void (*fn)(const struct fastpath_event *ev, void *ctx), void *ctx);

/* Times the kernel dropped events because the socket's buffer was full. */
uint64_t fastpath_events_lost(const struct fastpath_events *fe);

#endif
