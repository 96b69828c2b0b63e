/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* sendmmsg */
/* The raw and packet sockets for emitted packets (see rawsock.h).
 * IPPROTO_RAW implies a caller-built header for both families on Linux.
 * The destination passed with each message only steers routing; the
 * kernel sends the header as written (IPv4 fills in the id and checksum
 * when zero).
 *
 * sendmmsg reports only how many messages went out: when message i fails
 * after some were sent, its error is lost.  The loop therefore resends
 * from i, where the failure comes back as the call's own error, counts
 * that one packet and carries on, so every packet is counted exactly once
 * (a transient error that has cleared by the retry simply lets it go). */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rawsock.h"

struct rawsock_slot {
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
		struct sockaddr_ll sll;
	} to;
	int fd;
	uint8_t data[RAWSOCK_PKT_MAX];
};

struct rawsock_batch {
	struct rawsock_slot slot[RAWSOCK_BATCH];
	struct iovec iov[RAWSOCK_BATCH];
	struct mmsghdr msg[RAWSOCK_BATCH];
};

static int open_one(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	int one = 1;
	int saved;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	if (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int rawsock_open(struct rawsock *rs, uint32_t mark)
{
	int saved;

	memset(rs, 0, sizeof(*rs));
	rs->rs_fd4 = rs->rs_fd6 = rs->rs_fdl = -1;
	rs->rs_batch = calloc(1, sizeof(*rs->rs_batch));
	if (!rs->rs_batch)
		return -1;
	rs->rs_fd4 = open_one(AF_INET, mark);
	if (rs->rs_fd4 < 0)
		goto fail;
	rs->rs_fd6 = open_one(AF_INET6, mark);
	if (rs->rs_fd6 < 0)
		goto fail;
	/* Protocol 0: it only sends, nothing is delivered to it. */
	rs->rs_fdl = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (rs->rs_fdl < 0)
		rs->rs_link_errno = errno;
	return 0;
fail:
	saved = errno;
	rawsock_close(rs);
	errno = saved;
	return -1;
}

/* Sends msg[0..n) on fd, counting each packet once. */
static void send_run(struct rawsock *rs, int fd, struct mmsghdr *msg, unsigned n,
		     void (*on_error)(int err, void *ctx), void *ctx)
{
	unsigned i = 0;

	while (i < n) {
		int r = sendmmsg(fd, msg + i, n - i, 0);

		if (r > 0) {
			rs->rs_sent += (unsigned)r;
			if (fd == rs->rs_fdl)
				rs->rs_link_sent += (unsigned)r;
			i += (unsigned)r;
			continue;
		}
		/* r == 0 cannot happen for n > i; treat it as a failure to move on. */
		if (r == 0)
			errno = EIO;
		rs->rs_errors++;
		if (on_error)
			on_error(errno, ctx);
		i++;
	}
}

void rawsock_flush(struct rawsock *rs, void (*on_error)(int err, void *ctx), void *ctx)
{
	struct rawsock_batch *b = rs->rs_batch;
	unsigned start = 0, i;

	for (i = 1; i <= rs->rs_pending; i++) {
		if (i < rs->rs_pending && b->slot[i].fd == b->slot[start].fd)
			continue;
		send_run(rs, b->slot[start].fd, b->msg + start, i - start, on_error, ctx);
		start = i;
	}
	rs->rs_pending = 0;
}

/* The next free slot for a packet of len bytes at data, or NULL after
 * counting a packet that is not IPv4 or IPv6 or too long; *v4 tells
 * which family it is. */
static struct rawsock_slot *take_slot(struct rawsock *rs, const uint8_t *data, size_t len,
				      bool *v4, void (*on_error)(int err, void *ctx), void *ctx)
{
	bool is4 = len >= 20 && (data[0] >> 4) == 4, is6 = len >= 40 && (data[0] >> 4) == 6;
	struct rawsock_slot *s;

	if ((!is4 && !is6) || len > RAWSOCK_PKT_MAX) {
		errno = len > RAWSOCK_PKT_MAX ? EMSGSIZE : EINVAL;
		rs->rs_errors++;
		return NULL;
	}
	if (rs->rs_pending == RAWSOCK_BATCH)
		rawsock_flush(rs, on_error, ctx);
	s = &rs->rs_batch->slot[rs->rs_pending];
	memset(&s->to, 0, sizeof(s->to));
	memcpy(s->data, data, len);
	*v4 = is4;
	return s;
}

/* Adds the slot just filled (its fd and address set) to the batch. */
static void commit_slot(struct rawsock *rs, size_t len, socklen_t namelen)
{
	struct rawsock_batch *b = rs->rs_batch;
	struct rawsock_slot *s = &b->slot[rs->rs_pending];
	struct msghdr *h = &b->msg[rs->rs_pending].msg_hdr;

	memset(h, 0, sizeof(*h));
	b->iov[rs->rs_pending].iov_base = s->data;
	b->iov[rs->rs_pending].iov_len = len;
	h->msg_name = &s->to;
	h->msg_namelen = namelen;
	h->msg_iov = &b->iov[rs->rs_pending];
	h->msg_iovlen = 1;
	rs->rs_pending++;
}

int rawsock_queue(struct rawsock *rs, const uint8_t *data, size_t len,
		  void (*on_error)(int err, void *ctx), void *ctx)
{
	bool v4;
	struct rawsock_slot *s = take_slot(rs, data, len, &v4, on_error, ctx);

	if (!s)
		return -1;
	if (v4) {
		s->to.sin.sin_family = AF_INET;
		memcpy(&s->to.sin.sin_addr, data + 16, 4);
		s->fd = rs->rs_fd4;
		commit_slot(rs, len, sizeof(s->to.sin));
	} else {
		s->to.sin6.sin6_family = AF_INET6;
		memcpy(&s->to.sin6.sin6_addr, data + 24, 16);
		s->fd = rs->rs_fd6;
		commit_slot(rs, len, sizeof(s->to.sin6));
	}
	return 0;
}

void rawsock_send(struct rawsock *rs, const uint8_t *data, size_t len,
		  void (*on_error)(int err, void *ctx), void *ctx)
{
	union {
		struct sockaddr_in sin;
		struct sockaddr_in6 sin6;
	} to;
	socklen_t tolen;
	int fd;

	memset(&to, 0, sizeof(to));
	if (len >= 20 && (data[0] >> 4) == 4) {
		to.sin.sin_family = AF_INET;
		memcpy(&to.sin.sin_addr, data + 16, 4);
		fd = rs->rs_fd4;
		tolen = sizeof(to.sin);
	} else if (len >= 40 && (data[0] >> 4) == 6) {
		to.sin6.sin6_family = AF_INET6;
		memcpy(&to.sin6.sin6_addr, data + 24, 16);
		fd = rs->rs_fd6;
		tolen = sizeof(to.sin6);
	} else {
		rs->rs_errors++;
		if (on_error)
			on_error(EINVAL, ctx);
		return;
	}
	if (sendto(fd, data, len, 0, (const struct sockaddr *)&to, tolen) < 0) {
		rs->rs_errors++;
		if (on_error)
			on_error(errno, ctx);
		return;
	}
	rs->rs_sent++;
}

int rawsock_queue_link(struct rawsock *rs, const uint8_t *data, size_t len, uint32_t ifindex,
		       const uint8_t *hw, uint8_t hwlen, void (*on_error)(int err, void *ctx),
		       void *ctx)
{
	struct rawsock_slot *s;
	bool v4;

	if (rs->rs_fdl < 0 || ifindex == 0 || ifindex > INT32_MAX || hwlen == 0 ||
	    hwlen > sizeof(s->to.sll.sll_addr))
		return rawsock_queue(rs, data, len, on_error, ctx);
	s = take_slot(rs, data, len, &v4, on_error, ctx);
	if (!s)
		return -1;
	s->to.sll.sll_family = AF_PACKET;
	s->to.sll.sll_protocol = htons(v4 ? ETH_P_IP : ETH_P_IPV6);
	s->to.sll.sll_ifindex = (int)ifindex;
	s->to.sll.sll_halen = hwlen;
	memcpy(s->to.sll.sll_addr, hw, hwlen);
	s->fd = rs->rs_fdl;
	commit_slot(rs, len, sizeof(s->to.sll));
	return 0;
}

void rawsock_close(struct rawsock *rs)
{
	if (rs->rs_fd4 >= 0)
		close(rs->rs_fd4);
	if (rs->rs_fd6 >= 0)
		close(rs->rs_fd6);
	if (rs->rs_fdl >= 0)
		close(rs->rs_fdl);
	rs->rs_fd4 = rs->rs_fd6 = rs->rs_fdl = -1;
	free(rs->rs_batch);
	rs->rs_batch = NULL;
	rs->rs_pending = 0;
}
