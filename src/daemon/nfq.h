/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One NFQUEUE queue over a netlink socket (libmnl and the nlmsg helpers of
 * libnetfilter_queue): packets in batches, verdicts gathered into one
 * datagram per batch.  Functions carry the nfqueue_ prefix because nfq_
 * belongs to the library. */
#ifndef SP_NFQ_H
#define SP_NFQ_H

#include <stdbool.h>
#include <stdint.h>

struct nfqueue;

/* One queued packet, valid during the receive callback only. */
struct nfqueue_pkt {
	uint32_t id;
	uint8_t *data;            /* writable: the engine rewrites in place */
	uint32_t len;
	bool truncated;           /* the kernel copied less than the whole packet */
	bool csum_not_ready;      /* checksum only partial (NFQA_SKB_CSUMNOTREADY) */
	bool csum_unverified;     /* checksum not checked by the NIC or stack */
	bool gso;                 /* larger than the MTU; the kernel re-segments */
	uint32_t indev;           /* interface it came in on; 0: none (output) */
	uint8_t hwlen;            /* link-layer source address length; 0: none */
	uint8_t hwaddr[8];        /* the previous hop's address, e.g. its MAC */
};

/* What the queue counted. */
struct nfqueue_stats {
	uint64_t nq_received;
	uint64_t nq_overruns;        /* ENOBUFS: the kernel dropped messages */
	uint64_t nq_netlink_errors;  /* error replies and failed sends */
	uint64_t nq_truncated;       /* partial copies, accepted untouched */
	uint64_t nq_unread;          /* arrived while the queue was set up, or
				      * without their bytes: dropped */
	uint64_t nq_verdicts;
	uint64_t nq_batches;         /* batch messages (several verdicts each) */
};

/* Binds queue num with whole-packet copies and the given kernel queue
 * length; GSO is asked for and, when the kernel refuses it, warned about
 * once.  The queue never fails open: a packet the queue has no room for
 * is dropped (and counted by the kernel), never accepted unproxied.
 * Returns NULL with a logged reason. */
struct nfqueue *nfqueue_open(uint16_t num, uint32_t maxlen);

/* The socket to poll for input. */
int nfqueue_fd(const struct nfqueue *q);

/* Reads what is waiting (several datagrams per system call) and calls fn
 * for each packet.  Returns the packets seen (0 when none), or -1 with
 * errno on a socket failure other than an overrun. */
int nfqueue_receive(struct nfqueue *q, void (*fn)(const struct nfqueue_pkt *p, void *ctx),
		    void *ctx);

/* Queues the verdict for packet id: accept (with data/len as the new
 * packet when data is not NULL) or drop.  Sent by nfqueue_flush, or
 * earlier when the buffer fills.  Runs of equal unmangled verdicts go as
 * one batch message when no packet left without a verdict by the receive
 * callback (a held one) lies below them (vbatch.h). */
void nfqueue_verdict(struct nfqueue *q, uint32_t id, bool accept, const uint8_t *data,
		     uint32_t len);

/* Queues the verdict that hands packet id, untouched, to queue num: the
 * kernel queues it there at the same point of its hook, and lets it go
 * on when nobody listens on num (bypass).  Never part of a batch. */
void nfqueue_requeue(struct nfqueue *q, uint32_t id, uint16_t num);

/* Sends every queued verdict. */
void nfqueue_flush(struct nfqueue *q);

/* Current counts. */
void nfqueue_stats(const struct nfqueue *q, struct nfqueue_stats *s);

/* Sends queued verdicts, unbinds and frees q (the kernel drops whatever
 * is still queued; give every packet its verdict before). */
void nfqueue_close(struct nfqueue *q);

#endif
