/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The route cache (route.h): a direct-mapped table of addresses, each
 * with the interfaces the kernel's route to it leaves by and when that
 * answer goes stale.  Slots are chosen by SipHash under a random key, so
 * forged addresses cannot be aimed at a backend's slot.  A miss asks the
 * kernel with one RTM_GETROUTE request (a few microseconds), at most
 * ROUTES_LOOKUPS_PER_SEC a second: a flood of packets forged from many
 * server addresses (a rule protecting a whole prefix) must not turn into
 * as many netlink round trips.  Past that the answer is "cannot tell". */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "route.h"
#include "siphash.h"

#define ROUTES_SLOTS 1024              /* a power of two */
#define ROUTES_TTL_MS 5000             /* a route change is seen within this */
#define ROUTES_LOOKUPS_PER_SEC 1000
#define ROUTES_RECV_TIMEOUT_MS 200     /* the kernel answers at once */
#define ROUTES_BUF 8192

struct route_slot {
	struct addr a;
	uint64_t expires_ms;           /* 0: empty */
	int32_t npaths;                /* -1: a route whose interfaces are not named */
	uint32_t oif[ROUTES_MAX_PATHS];
};

/* What an answer names: the interfaces, up to ROUTES_MAX_PATHS. */
struct route_answer {
	bool route;                    /* the kernel found a route */
	int32_t npaths;
	uint32_t oif[ROUTES_MAX_PATHS];
};

struct routes {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint64_t second;               /* now_ms / 1000 of the lookup budget */
	uint32_t lookups;              /* kernel lookups in that second */
	uint8_t key[SIPHASH_KEY_LEN];
	struct route_slot slot[ROUTES_SLOTS];
	char buf[ROUTES_BUF];
};

struct routes *routes_open(void)
{
	struct timeval tv = { .tv_usec = ROUTES_RECV_TIMEOUT_MS * 1000 };
	struct routes *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	if (getrandom(r->key, sizeof(r->key), 0) != (ssize_t)sizeof(r->key))
		goto fail;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!r->nl)
		goto fail;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(r->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	r->portid = mnl_socket_get_portid(r->nl);
	return r;
fail:
	err = errno;
	routes_close(r);
	errno = err;
	return NULL;
}

void routes_close(struct routes *r)
{
	if (!r)
		return;
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r);
}

static void add_path(struct route_answer *ans, uint32_t oif)
{
	if (ans->npaths >= 0 && ans->npaths < ROUTES_MAX_PATHS)
		ans->oif[ans->npaths++] = oif;
}

/* RTA_OIF (one path) or RTA_MULTIPATH (a struct rtnexthop per path). */
static int route_attr(const struct nlattr *attr, void *data)
{
	struct route_answer *ans = data;

	if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
		add_path(ans, mnl_attr_get_u32(attr));
	} else if (mnl_attr_get_type(attr) == RTA_MULTIPATH) {
		const struct rtnexthop *nh = mnl_attr_get_payload(attr);
		int left = (int)mnl_attr_get_payload_len(attr);

		while (RTNH_OK(nh, left)) {
			add_path(ans, (uint32_t)nh->rtnh_ifindex);
			left -= (int)NLMSG_ALIGN(nh->rtnh_len);
			nh = RTNH_NEXT(nh);
		}
	}
	return MNL_CB_OK;
}

static int route_msg(const struct nlmsghdr *nlh, void *data)
{
	struct route_answer *ans = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	ans->route = true;
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr, data);
}

/* Asks the kernel for the route to a: 0 with *ans filled in (no route:
 * ans->route false), or -1 with errno. */
static int ask(struct routes *r, const struct addr *a, struct route_answer *ans)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	bool v4 = addr_is_v4(a);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++r->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = v4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = v4 ? 32 : 128;
	/* The FIB entry rather than the route one flow would take: every
	 * next hop of a multipath route. */
	rtm->rtm_flags = RTM_F_FIB_MATCH;
	mnl_attr_put(nlh, RTA_DST, v4 ? 4 : 16, v4 ? a->a + 12 : a->a);
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	memset(ans, 0, sizeof(*ans));
	/* An answer to an earlier request that timed out may come first. */
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));
		int rc;

		if (n < 0)
			return -1;
		rc = mnl_cb_run(r->buf, (size_t)n, r->seq, r->portid, route_msg, ans);
		if (rc >= MNL_CB_STOP)
			return 0;
		if (errno == ENETUNREACH || errno == EHOSTUNREACH)
			return 0;       /* no route: a cacheable answer */
		if (errno != ESRCH)
			return -1;
	}
	errno = EPROTO;
	return -1;
}

static int slot_has(const struct route_slot *s, uint32_t ifindex)
{
	if (s->npaths < 0)
		return -1;
	for (int32_t i = 0; i < s->npaths; i++)
		if (s->oif[i] == ifindex)
			return 1;
	return 0;
}

int routes_via(struct routes *r, const struct addr *a, uint32_t ifindex, uint64_t now_ms)
{
	struct route_slot *s = &r->slot[siphash24(r->key, a->a, sizeof(a->a)) & (ROUTES_SLOTS - 1)];
	struct route_answer ans;

	if (s->expires_ms > now_ms && addr_eq(&s->a, a))
		return slot_has(s, ifindex);
	if (now_ms / 1000 != r->second) {
		r->second = now_ms / 1000;
		r->lookups = 0;
	}
	if (r->lookups >= ROUTES_LOOKUPS_PER_SEC)
		return -1;
	r->lookups++;
	if (ask(r, a, &ans) < 0)
		return -1;
	s->a = *a;
	/* A route whose answer names no interface (a nexthop object the
	 * kernel reports by its id only): cannot tell. */
	s->npaths = ans.route && ans.npaths == 0 ? -1 : ans.npaths;
	memcpy(s->oif, ans.oif, sizeof(s->oif));
	s->expires_ms = now_ms + ROUTES_TTL_MS;
	return slot_has(s, ifindex);
}
