/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE /* recvmmsg */
/* The queue socket.  Configuration messages are acknowledged one at a
 * time so that each optional feature can fail on its own; a packet that
 * arrives while we wait for an acknowledgement is accepted untouched (the
 * engine is not running yet, and accepting is what --queue-bypass would
 * have done a moment earlier). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "clock.h"
#include "log.h"
#include "nfq.h"
#include "vbatch.h"

/* A whole 64 KiB packet (GSO) plus the netlink and attribute headers. */
#define NFQ_RXBUF (0xffff + 4096)
#define NFQ_RXBATCH 16
#define NFQ_TXBUF (256 * 1024)
#define NFQ_SOCKBUF (16 * 1024 * 1024)

struct nfqueue {
	struct mnl_socket *nl;
	uint32_t portid;
	uint16_t num;
	uint32_t seq;
	uint8_t *rx[NFQ_RXBATCH];
	struct iovec iov[NFQ_RXBATCH];
	struct mmsghdr msg[NFQ_RXBATCH];
	uint8_t *tx;
	size_t txlen;
	struct vbatch vb;
	uint32_t cur_id;         /* the packet being handed to the callback */
	bool cur_pending;        /* ... and still without a verdict */
	struct nfqueue_stats st;
};

static void netlink_error(struct nfqueue *q, int err, const char *what)
{
	q->st.nq_netlink_errors++;
	errno = err;
	log_warn_limited(mono_ms(), "queue %u: %s", q->num, what);
}

/* Sends one configuration message and waits for its acknowledgement.
 * Returns 0, or -1 with the kernel's errno. */
static int config_send(struct nfqueue *q, struct nlmsghdr *nlh)
{
	uint8_t *buf = q->rx[0];
	uint32_t seq = ++q->seq;
	int tries;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	/* Bounded: the acknowledgement follows at most a queue's worth of packets. */
	for (tries = 0; tries < 100000; tries++) {
		ssize_t n = mnl_socket_recvfrom(q->nl, buf, NFQ_RXBUF);
		struct nlmsghdr *m;
		int len;

		if (n < 0) {
			if (errno == ENOBUFS || errno == EINTR)
				continue;
			return -1;
		}
		len = (int)n;
		for (m = (struct nlmsghdr *)buf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

				if (e->error == 0)
					return 0;
				errno = -e->error;
				return -1;
			}
			if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
				struct nlattr *attr[NFQA_MAX + 1] = { NULL };
				const struct nfqnl_msg_packet_hdr *ph;

				if (nfq_nlmsg_parse(m, attr) < 0 || !attr[NFQA_PACKET_HDR])
					continue;
				/* Queued between the bind and this message, maybe
				 * before the copy mode asked for its bytes: dropped
				 * unread (TCP sends it again).  Accepting it would
				 * let a SYN reach a server unproxied and a spliced
				 * flow's segment through untranslated. */
				ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
				q->st.nq_unread++;
				nfqueue_verdict(q, ntohl(ph->packet_id), false, NULL, 0);
			}
		}
		nfqueue_flush(q);
	}
	errno = ETIMEDOUT;
	return -1;
}

static int config_cmd(struct nfqueue *q, uint8_t cmd)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, q->num);

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	return config_send(q, nlh);
}

static int config_flag(struct nfqueue *q, uint32_t flag)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, q->num);

	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flag));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flag));
	return config_send(q, nlh);
}

static void sockbuf_grow(struct nfqueue *q)
{
	int fd = mnl_socket_get_fd(q->nl);
	int size = NFQ_SOCKBUF;
	int one = 1;
	static int warned;

	/* FORCE ignores rmem_max/wmem_max but needs CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	size = NFQ_TXBUF * 4;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0 && !warned++)
		log_warnx("NETLINK_NO_ENOBUFS: %s (queue overruns will be counted)",
			  strerror(errno));
}

static void free_queue(struct nfqueue *q)
{
	int i;

	if (q->nl)
		mnl_socket_close(q->nl);
	for (i = 0; i < NFQ_RXBATCH; i++)
		free(q->rx[i]);
	free(q->tx);
	vbatch_free(&q->vb);
	free(q);
}

struct nfqueue *nfqueue_open(uint16_t num, uint32_t maxlen)
{
	static int warned_maxlen, warned_gso;
	struct nfqueue *q = calloc(1, sizeof(*q));
	uint8_t buf[256];
	struct nlmsghdr *nlh;
	int i;

	if (!q)
		goto nomem;
	q->num = num;
	vbatch_init(&q->vb);
	for (i = 0; i < NFQ_RXBATCH; i++) {
		q->rx[i] = malloc(NFQ_RXBUF);
		if (!q->rx[i])
			goto nomem;
		q->iov[i].iov_base = q->rx[i];
		q->iov[i].iov_len = NFQ_RXBUF;
		q->msg[i].msg_hdr.msg_iov = &q->iov[i];
		q->msg[i].msg_hdr.msg_iovlen = 1;
	}
	q->tx = malloc(NFQ_TXBUF);
	if (!q->tx)
		goto nomem;
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_err("queue %u: netlink socket", num);
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	sockbuf_grow(q);

	if (config_cmd(q, NFQNL_CFG_CMD_BIND) < 0) {
		log_errx("queue %u: bind: %s%s", num, strerror(errno),
			 errno == EBUSY ? " (another program holds this queue)" : "");
		goto fail;
	}
	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	if (config_send(q, nlh) < 0) {
		log_err("queue %u: copy mode", num);
		goto fail;
	}
	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, num);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
	if (config_send(q, nlh) < 0 && !warned_maxlen++)
		log_warn("queue %u: queue length %u refused", num, maxlen);
	if (config_flag(q, NFQA_CFG_F_GSO) < 0 && !warned_gso++)
		log_warn("queue %u: GSO refused (large packets are segmented first)", num);
	return q;
nomem:
	log_errx("queue %u: out of memory", num);
fail:
	if (q)
		free_queue(q);
	return NULL;
}

int nfqueue_fd(const struct nfqueue *q)
{
	return mnl_socket_get_fd(q->nl);
}

static void handle_error(struct nfqueue *q, const struct nlmsghdr *m)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

	if (m->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || e->error == 0)
		return;
	netlink_error(q, -e->error, "verdict refused");
}

static int handle_packet(struct nfqueue *q, const struct nlmsghdr *m,
			 void (*fn)(const struct nfqueue_pkt *p, void *ctx), void *ctx)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	struct nfqueue_pkt p;
	uint32_t info = 0;

	if (nfq_nlmsg_parse(m, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
		netlink_error(q, EPROTO, "malformed packet message");
		return 0;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&p, 0, sizeof(p));
	p.id = ntohl(ph->packet_id);
	q->st.nq_received++;
	if (!attr[NFQA_PAYLOAD]) {
		/* Only before the copy mode took effect: not to be let
		 * through unseen (see config_send). */
		q->st.nq_unread++;
		nfqueue_verdict(q, p.id, false, NULL, 0);
		return 1;
	}
	p.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	p.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (attr[NFQA_CAP_LEN] && ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) > p.len)
		p.truncated = true;
	if (attr[NFQA_SKB_INFO])
		info = ntohl(mnl_attr_get_u32(attr[NFQA_SKB_INFO]));
	p.csum_not_ready = info & NFQA_SKB_CSUMNOTREADY;
	p.csum_unverified = info & NFQA_SKB_CSUM_NOTVERIFIED;
	p.gso = info & NFQA_SKB_GSO;
	if (attr[NFQA_IFINDEX_INDEV])
		p.indev = ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (attr[NFQA_HWADDR]) {
		const struct nfqnl_msg_packet_hw *hw = mnl_attr_get_payload(attr[NFQA_HWADDR]);
		uint16_t n = ntohs(hw->hw_addrlen);

		if (n <= sizeof(p.hwaddr)) {
			p.hwlen = (uint8_t)n;
			memcpy(p.hwaddr, hw->hw_addr, n);
		}
	}
	if (p.truncated) {
		/* A rewrite would cut the packet to what we saw: let it pass as is. */
		q->st.nq_truncated++;
		nfqueue_verdict(q, p.id, true, NULL, 0);
		return 1;
	}
	q->cur_id = p.id;
	q->cur_pending = true;
	fn(&p, ctx);
	if (q->cur_pending)
		vbatch_hold(&q->vb, p.id); /* the engine holds it: no batch may cover it */
	q->cur_pending = false;
	return 1;
}

int nfqueue_receive(struct nfqueue *q, void (*fn)(const struct nfqueue_pkt *p, void *ctx),
		    void *ctx)
{
	int fd = mnl_socket_get_fd(q->nl);
	int got, i, packets = 0;

	got = recvmmsg(fd, q->msg, NFQ_RXBATCH, MSG_DONTWAIT, NULL);
	if (got < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			q->st.nq_overruns++;
			return 0;
		}
		return -1;
	}
	for (i = 0; i < got; i++) {
		int len = (int)q->msg[i].msg_len;
		const struct nlmsghdr *m;

		for (m = (const struct nlmsghdr *)q->rx[i]; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_type == NLMSG_ERROR)
				handle_error(q, m);
			else if (m->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
				packets += handle_packet(q, m, fn, ctx);
		}
	}
	return packets;
}

static void send_tx(struct nfqueue *q)
{
	if (q->txlen == 0)
		return;
	/* Several verdicts in one datagram: the kernel walks them in order. */
	if (mnl_socket_sendto(q->nl, q->tx, q->txlen) < 0)
		netlink_error(q, errno, "sending verdicts");
	q->txlen = 0;
}

/* Appends one verdict message (type VERDICT or VERDICT_BATCH) to tx. */
static void put_verdict(struct nfqueue *q, uint16_t type, uint32_t id, uint32_t verdict,
			const uint8_t *data, uint32_t len)
{
	struct nlmsghdr *nlh;
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg)) +
		      MNL_ALIGN(sizeof(struct nlattr) + sizeof(struct nfqnl_msg_verdict_hdr));

	if (data)
		need += MNL_ALIGN(sizeof(struct nlattr) + len);
	if (q->txlen + need > NFQ_TXBUF)
		send_tx(q);
	nlh = nfq_nlmsg_put((char *)q->tx + q->txlen, type, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, (int)verdict);
	if (data)
		nfq_nlmsg_verdict_put_pkt(nlh, data, len);
	q->txlen += nlh->nlmsg_len;
}

static void put_msg(const struct vbatch_msg *m, void *ctx)
{
	put_verdict(ctx, m->batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, m->id,
		    m->accept ? NF_ACCEPT : NF_DROP, NULL, 0);
	if (m->batch)
		((struct nfqueue *)ctx)->st.nq_batches++;
}

void nfqueue_verdict(struct nfqueue *q, uint32_t id, bool accept, const uint8_t *data,
		     uint32_t len)
{
	bool mangled = accept && data;

	if (q->cur_pending && id == q->cur_id)
		q->cur_pending = false;
	q->st.nq_verdicts++;
	if (!vbatch_verdict(&q->vb, id, accept, mangled, put_msg, q))
		put_verdict(q, NFQNL_MSG_VERDICT, id, accept ? NF_ACCEPT : NF_DROP, data, len);
}

void nfqueue_requeue(struct nfqueue *q, uint32_t id, uint16_t num)
{
	if (q->cur_pending && id == q->cur_id)
		q->cur_pending = false;
	q->st.nq_verdicts++;
	/* As a mangled accept: a verdict of its own, after the run so far. */
	(void)vbatch_verdict(&q->vb, id, true, true, put_msg, q);
	put_verdict(q, NFQNL_MSG_VERDICT, id, NF_QUEUE_NR(num) | NF_VERDICT_FLAG_QUEUE_BYPASS,
		    NULL, 0);
}

void nfqueue_flush(struct nfqueue *q)
{
	vbatch_close(&q->vb, put_msg, q);
	send_tx(q);
}

void nfqueue_stats(const struct nfqueue *q, struct nfqueue_stats *s)
{
	*s = q->st;
}

void nfqueue_close(struct nfqueue *q)
{
	uint8_t buf[256];
	struct nlmsghdr *nlh;

	if (!q)
		return;
	nfqueue_flush(q);
	nlh = nfq_nlmsg_put((char *)buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	free_queue(q);
}
