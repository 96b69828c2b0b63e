/* Raw sockets that send the packets the engine builds, whole IP header
 * included, carrying the daemon's firewall mark so that the queue rules
 * skip them.  Packets are queued (copied) and sent in batches with
 * sendmmsg, one system call per run of packets of the same family. */
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
	uint64_t rs_sent;
	uint64_t rs_errors;      /* every packet not sent (ENOBUFS, EHOSTUNREACH, ...) */
	uint32_t rs_pending;     /* queued, not sent yet */
	struct rawsock_batch *rs_batch;
};

/* Opens the IPv4 and IPv6 sockets with SO_MARK mark and the batch buffer.
 * Returns 0, or -1 with errno (everything closed then). */
int rawsock_open(struct rawsock *rs, uint32_t mark);

/* Queues a copy of the IP packet of len bytes at data for its destination
 * address, sending the batch first when it is full.  Returns 0, or -1 with
 * errno after counting the failure (a packet that is not IPv4 or IPv6, or
 * longer than RAWSOCK_PKT_MAX); errors of the batch sent meanwhile go to
 * on_error as in rawsock_flush. */
int rawsock_queue(struct rawsock *rs, const uint8_t *data, size_t len,
		  void (*on_error)(int err, void *ctx), void *ctx);

/* Sends every queued packet in queue order.  Each packet is counted once,
 * as sent or as an error; on_error (when not NULL) gets the errno of each
 * failed one. */
void rawsock_flush(struct rawsock *rs, void (*on_error)(int err, void *ctx), void *ctx);

/* Closes both sockets and frees the batch (queued packets are lost). */
void rawsock_close(struct rawsock *rs);

#endif
