/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Raw sockets that send the packets the engine builds, whole IP header
 * included, carrying the daemon's firewall mark so that the queue rules
 * skip them.  Packets are queued (copied) and sent in batches with
 * sendmmsg, one system call per run of packets for the same socket.
 *
 * A packet that answers one just received can instead go out on a packet
 * socket (AF_PACKET, SOCK_DGRAM): on the interface that packet came in on,
 * to the link-layer address it came from.  The kernel then only adds the
 * link header: no route lookup, no netfilter hooks, which is most of what
 * a raw socket costs per packet (bench/README.md, "The ceiling"). */
#ifndef SP_RAWSOCK_H
#define SP_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>

/* Packets queued before rawsock_queue sends the batch by itself. */
#define RAWSOCK_BATCH 64
/* Largest packet that can be queued (the engine builds at most 120). */
#define RAWSOCK_PKT_MAX 256

struct rawsock_batch;

struct rawsock {
	int rs_fd4;
	int rs_fd6;
	int rs_fdl;              /* the packet socket; -1: none (rs_link_errno) */
	int rs_link_errno;
	uint64_t rs_sent;        /* on all three sockets */
	uint64_t rs_link_sent;   /* on the packet socket */
	uint64_t rs_errors;      /* every packet not sent (ENOBUFS, EHOSTUNREACH, ...) */
	uint32_t rs_pending;     /* queued, not sent yet */
	struct rawsock_batch *rs_batch;
};

/* Opens the IPv4 and IPv6 sockets with SO_MARK mark, the packet socket
 * and the batch buffer.  Returns 0, or -1 with errno (everything closed
 * then).  A packet socket that cannot be opened is not an error: rs_fdl
 * is -1, rs_link_errno says why, and rawsock_queue_link routes instead. */
int rawsock_open(struct rawsock *rs, uint32_t mark);

/* Queues a copy of the IP packet of len bytes at data for its destination
 * address, sending the batch first when it is full.  Returns 0, or -1 with
 * errno after counting the failure (a packet that is not IPv4 or IPv6, or
 * longer than RAWSOCK_PKT_MAX); errors of the batch sent meanwhile go to
 * on_error as in rawsock_flush. */
int rawsock_queue(struct rawsock *rs, const uint8_t *data, size_t len,
		  void (*on_error)(int err, void *ctx), void *ctx);

/* Queues a copy of the IP packet of len bytes at data for the interface
 * ifindex and the link-layer address hw (hwlen bytes), as rawsock_queue
 * does; without a packet socket or an address it queues it for routing. */
int rawsock_queue_link(struct rawsock *rs, const uint8_t *data, size_t len, uint32_t ifindex,
		       const uint8_t *hw, uint8_t hwlen, void (*on_error)(int err, void *ctx),
		       void *ctx);

/* Sends the IP packet of len bytes at data for its destination address
 * at once, outside the batch (whatever its length; the packets queued
 * before it may leave after it).  Counted as sent or as an error, which
 * goes to on_error. */
void rawsock_send(struct rawsock *rs, const uint8_t *data, size_t len,
		  void (*on_error)(int err, void *ctx), void *ctx);

/* Sends every queued packet in queue order.  Each packet is counted once,
 * as sent or as an error; on_error (when not NULL) gets the errno of each
 * failed one. */
void rawsock_flush(struct rawsock *rs, void (*on_error)(int err, void *ctx), void *ctx);

/* Closes the sockets and frees the batch (queued packets are lost). */
void rawsock_close(struct rawsock *rs);

#endif
