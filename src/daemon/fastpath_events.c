/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Conntrack events for the entries synproxyd made (fastpath.h): a socket
 * per worker, filtered in the kernel by our connection mark, read into
 * the engine's view of a flow's kernel state. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "fastpath.h"
#include "fastpath_int.h"

/* An offloaded flow's packets never reach the daemon, so its close is
 * learned from conntrack's own events (NFNLGRP_CONNTRACK_UPDATE for a
 * TCP state change, _DESTROY for the entry's end), on a socket of each
 * worker.  A socket filter passes only entries that carry our mark, so a
 * busy gateway's other connections cost the daemon nothing: it finds the
 * CTA_MARK attribute with the kernel's netlink-attribute helper
 * (SKF_AD_NLATTR) and compares its value. */

#define FASTPATH_EVENTS_RCVBUF (4 << 20)

struct fastpath_events {
	struct mnl_socket *fe_nl;
	uint64_t fe_lost;
	char fe_buf[FASTPATH_BUF];
};

static int attach_mark_filter(int fd, uint32_t ctmark)
{
	struct sock_filter code[] = {
		/* A = where the attributes start, X = the type sought. */
		BPF_STMT(BPF_LD | BPF_IMM, (uint32_t)(sizeof(struct nlmsghdr) +
						      sizeof(struct nfgenmsg))),
		BPF_STMT(BPF_LDX | BPF_IMM, CTA_MARK),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_NLATTR)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* The attribute's value, after its 4-byte header. */
		BPF_STMT(BPF_LD | BPF_W | BPF_IND, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ctmark, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* Whether conntrack delivers events in this namespace
 * (net.netfilter.nf_conntrack_events: 0 turns them off for good). */
static bool events_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_events", "re");
	int v = 1;

	if (!f)
		return true;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v != 0;
}

struct fastpath_events *fastpath_events_open(uint32_t ctmark)
{
	struct fastpath_events *fe;
	int size = FASTPATH_EVENTS_RCVBUF, err, fd;

	if (!events_enabled()) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->fe_nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!fe->fe_nl)
		goto fail;
	fd = mnl_socket_get_fd(fe->fe_nl);
	/* A larger buffer where the capability allows it; the default
	 * otherwise (lost events are counted). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (attach_mark_filter(fd, ctmark) < 0 ||
	    mnl_socket_bind(fe->fe_nl, (1u << (NFNLGRP_CONNTRACK_UPDATE - 1)) |
				       (1u << (NFNLGRP_CONNTRACK_DESTROY - 1)),
			    MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	return fe;
fail:
	err = errno;
	fastpath_events_close(fe);
	errno = err;
	return NULL;
}

void fastpath_events_close(struct fastpath_events *fe)
{
	if (!fe)
		return;
	if (fe->fe_nl)
		mnl_socket_close(fe->fe_nl);
	free(fe);
}

int fastpath_events_fd(const struct fastpath_events *fe)
{
	return mnl_socket_get_fd(fe->fe_nl);
}

uint64_t fastpath_events_lost(const struct fastpath_events *fe)
{
	return fe->fe_lost;
}

struct event_ctx {
	void (*fn)(const struct fastpath_event *ev, void *ctx);
	void *ctx;
	unsigned n;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct event_ctx *c = data;
	uint8_t type = (uint8_t)(nlh->nlmsg_type & 0xff);
	struct fastpath_event ev;
	struct ct_entry e;

	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK)
		return MNL_CB_OK;
	memset(&e, 0, sizeof(e));
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, &e) < 0 || !e.tcp ||
	    !e.have_key)
		return MNL_CB_OK;
	ev.key = e.key;
	ev.id = e.id;
	if (type == IPCTNL_MSG_CT_DELETE)
		ev.state = ENGINE_K_GONE;
	else if (!e.have_state || !fastpath_kstate(e.state, &ev.state))
		return MNL_CB_OK;
	c->n++;
	c->fn(&ev, c->ctx);
	return MNL_CB_OK;
}

int fastpath_events_read(struct fastpath_events *fe,
			 void (*fn)(const struct fastpath_event *ev, void *ctx), void *ctx)
{
	struct event_ctx c = { fn, ctx, 0 };

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(fe->fe_nl, fe->fe_buf, sizeof(fe->fe_buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (int)c.n;
			if (errno == ENOBUFS) {
				fe->fe_lost++;
				continue;
			}
			return -1;
		}
		(void)mnl_cb_run(fe->fe_buf, (size_t)n, 0, 0, event_cb, &c);
	}
}
