/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctnetlink requests for the kernel fast path: entries made, looked up and
 * deleted, and the dumps at start (adoption, our own marked entries).
 * The event sockets are in fastpath_events.c.
 *
 * What the entry says, and why (facts checked on Linux 6.18, see
 * DESIGN.md "Kernel fast path"):
 *  - Original tuple client -> server, reply tuple server -> client.
 *  - Status SEEN_REPLY|ASSURED|CONFIRMED, TCP state ESTABLISHED, both
 *    window scales, WINDOW_SCALE|SACK_PERM, and BE_LIBERAL: conntrack never
 *    saw the handshake, so its window tracking starts mid-stream; a packet
 *    it called INVALID would lose its translation (and reach the queue of
 *    a daemon that has forgotten the flow).
 *  - Sequence adjustment belongs to the reply direction.  The kernel adds
 *    the offset of a direction to the seq of that direction's packets and
 *    subtracts it from the ack (and SACK blocks) of the other direction,
 *    which is exactly the engine's translation: server seq + seq_delta,
 *    client ack - seq_delta.  Position 0 with equal offsets before and
 *    after makes the offset hold over the whole sequence space.
 *  - Timestamps: the synproxy extension subtracts tsoff from the reply
 *    direction's TSval and adds it to the original direction's TSecr, so
 *    tsoff = -ts_delta.  The kernel applies it only while some SYNPROXY
 *    rule exists in the namespace (rules.c installs a dormant one).
 *  - The connection mark tells the "ESTABLISHED and ours" accept rule
 *    which entries we made; entries the kernel made for itself (picked up
 *    mid-stream) carry no translation and must keep going to the queue.
 *  - An existing entry cannot be turned into this one by an update (the
 *    kernel ignores most of these attributes there): it is deleted first,
 *    and the new one created with NLM_F_EXCL, then read back. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "fastpath.h"
#include "fastpath_int.h"

/* Kernel-created entries for one tuple: the client's and the server's
 * packets may each have made one (one per direction, at most). */
#define FASTPATH_CREATE_TRIES 3

/* A netlink request is answered at once; this only bounds a stuck kernel. */
#define FASTPATH_RECV_TIMEOUT_MS 500

struct fastpath {
	struct mnl_socket *fp_nl;
	uint32_t fp_portid;
	uint32_t fp_seq;
	uint32_t fp_ctmark;
	uint32_t fp_timeout_s;
	char fp_buf[FASTPATH_BUF];
};

/* The endpoints of one direction. */
struct tuple {
	const struct addr *src, *dst;
	uint16_t sport, dport;
};

static struct nlmsghdr *start(struct fastpath *fp, uint16_t type, uint16_t flags, bool v4)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(fp->fp_buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++fp->fp_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = v4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct tuple *t)
{
	struct nlattr *outer = mnl_attr_nest_start(nlh, type);
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	if (addr_is_v4(t->src)) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t->src->a + 12);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->dst->a + 12);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, t->src->a);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, t->dst->a);
	}
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, outer);
}

static void put_be32(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
	mnl_attr_put_u32(nlh, type, htonl(v));
}

/* Sends the request in fp_buf and reads answers until its ACK (or error);
 * cb sees any data message.  0, or -1 with errno. */
static int talk(struct fastpath *fp, mnl_cb_t cb, void *data)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)fp->fp_buf;
	uint32_t seq = nlh->nlmsg_seq;
	int rc;

	if (mnl_socket_sendto(fp->fp_nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	do {
		ssize_t n = mnl_socket_recvfrom(fp->fp_nl, fp->fp_buf, sizeof(fp->fp_buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				errno = ETIMEDOUT;
			return -1;
		}
		rc = mnl_cb_run(fp->fp_buf, (size_t)n, seq, fp->fp_portid, cb, data);
	} while (rc > MNL_CB_STOP);
	return rc < 0 ? -1 : 0;
}

static void put_entry(struct fastpath *fp, struct nlmsghdr *nlh, const struct flow_info *fi)
{
	const struct conn_key *k = &fi->key;
	const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };
	const struct tuple reply = { &k->saddr, &k->caddr, k->sport, k->cport };
	struct nf_ct_tcp_flags fo = { 0, 0 }, fr = { 0, 0 };
	bool ws = fi->client_wscale != 0xff && fi->backend_wscale != 0xff;
	struct nlattr *n1, *n2;

	put_tuple(nlh, CTA_TUPLE_ORIG, &orig);
	put_tuple(nlh, CTA_TUPLE_REPLY, &reply);
	put_be32(nlh, CTA_STATUS, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
	put_be32(nlh, CTA_TIMEOUT, fp->fp_timeout_s);
	put_be32(nlh, CTA_MARK, fp->fp_ctmark);

	fo.flags = IP_CT_TCP_FLAG_BE_LIBERAL | (ws ? IP_CT_TCP_FLAG_WINDOW_SCALE : 0) |
		   (fi->sack ? IP_CT_TCP_FLAG_SACK_PERM : 0);
	fo.mask = IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_WINDOW_SCALE |
		  IP_CT_TCP_FLAG_SACK_PERM;
	fr = fo;
	n1 = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	n2 = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, ws ? fi->client_wscale : 0);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_REPLY, ws ? fi->backend_wscale : 0);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, sizeof(fo), &fo);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_FLAGS_REPLY, sizeof(fr), &fr);
	mnl_attr_nest_end(nlh, n2);
	mnl_attr_nest_end(nlh, n1);

	n1 = mnl_attr_nest_start(nlh, CTA_SEQ_ADJ_REPLY);
	put_be32(nlh, CTA_SEQADJ_CORRECTION_POS, 0);
	put_be32(nlh, CTA_SEQADJ_OFFSET_BEFORE, fi->seq_delta);
	put_be32(nlh, CTA_SEQADJ_OFFSET_AFTER, fi->seq_delta);
	mnl_attr_nest_end(nlh, n1);

	if (fi->ts) {
		n1 = mnl_attr_nest_start(nlh, CTA_SYNPROXY);
		put_be32(nlh, CTA_SYNPROXY_ISN, fi->iss);
		put_be32(nlh, CTA_SYNPROXY_ITS, fi->our_tsval);
		put_be32(nlh, CTA_SYNPROXY_TSOFF, 0u - fi->ts_delta);
		mnl_attr_nest_end(nlh, n1);
	}
}

/* Deletes the entry holding t in either direction; ENOENT is success. */
static int delete_tuple(struct fastpath *fp, const struct tuple *t)
{
	struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_DELETE, 0, addr_is_v4(t->src));

	put_tuple(nlh, CTA_TUPLE_ORIG, t);
	if (talk(fp, NULL, NULL) < 0)
		return errno == ENOENT ? 1 : -1;
	return 0;
}

/* Reads the single entry a CT_GET answers into the struct ct_entry data. */
static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_entry *e = data;

	e->found = true;
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, data) < 0 ?
	       MNL_CB_ERROR : MNL_CB_OK;
}

static int verify(struct fastpath *fp, const struct flow_info *fi, const struct tuple *orig,
		  uint32_t *ct_id)
{
	struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_GET, 0, addr_is_v4(orig->src));
	struct ct_entry e = { 0 };

	put_tuple(nlh, CTA_TUPLE_ORIG, orig);
	if (talk(fp, entry_cb, &e) < 0)
		return -1;
	if (!e.found || !(e.status & IPS_SEQ_ADJUST) || !e.seqadj_reply ||
	    e.mark != fp->fp_ctmark || (fi->ts && !e.synproxy)) {
		errno = EPROTO;
		return -1;
	}
	*ct_id = e.id;
	return 0;
}

int fastpath_kernel_flow(struct fastpath *fp, const struct conn_key *k,
			 struct engine_kernel_flow *kf)
{
	const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };
	struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_GET, 0, addr_is_v4(&k->caddr));
	struct ct_entry e = { 0 };
	bool ws;

	assert(fp && k && kf);
	put_tuple(nlh, CTA_TUPLE_ORIG, &orig);
	if (talk(fp, entry_cb, &e) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!e.found || e.mark != fp->fp_ctmark || !e.have_state ||
	    !fastpath_kstate(e.state, &kf->state))
		return 0;
	/* An adopted connection is marked and needs no translation. */
	kf->seq_delta = (e.status & IPS_SEQ_ADJUST) && e.seqadj_reply ? e.seq_offset : 0;
	kf->ts = e.synproxy;
	kf->ts_delta = e.synproxy ? 0u - e.tsoff : 0;
	kf->ct_id = e.id;
	ws = (e.flags_orig & IP_CT_TCP_FLAG_WINDOW_SCALE) &&
	     (e.flags_reply & IP_CT_TCP_FLAG_WINDOW_SCALE);
	kf->client_wscale = ws ? e.ws_orig : 0xff;
	kf->backend_wscale = ws ? e.ws_reply : 0xff;
	kf->sack = (e.flags_orig & IP_CT_TCP_FLAG_SACK_PERM) &&
		   (e.flags_reply & IP_CT_TCP_FLAG_SACK_PERM);
	return 1;
}

/* Deletes the entries for orig until ENOENT (each direction of a flow may
 * have made its own), at most FASTPATH_CREATE_TRIES.  Returns how many
 * went, or -1 with errno. */
static int delete_all(struct fastpath *fp, const struct tuple *orig)
{
	int n, r;

	for (n = 0; n < FASTPATH_CREATE_TRIES; n++) {
		r = delete_tuple(fp, orig);
		if (r == 1)
			break;
		if (r < 0)
			return -1;
	}
	return n;
}

int fastpath_lookup(struct fastpath *fp, const struct conn_key *k, uint32_t *ct_id)
{
	const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };
	struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_GET, 0, addr_is_v4(&k->caddr));
	struct ct_entry e = { 0 };

	put_tuple(nlh, CTA_TUPLE_ORIG, &orig);
	if (talk(fp, entry_cb, &e) < 0)
		return errno == ENOENT ? 0 : -1;
	*ct_id = e.id;
	return e.found && e.mark == fp->fp_ctmark;
}

int fastpath_forget(struct fastpath *fp, const struct conn_key *k)
{
	const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };

	assert(fp && k);
	return delete_all(fp, &orig);
}

int fastpath_offload(struct fastpath *fp, const struct flow_info *fi, uint32_t *ct_id)
{
	const struct conn_key *k = &fi->key;
	const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };
	bool v4 = addr_is_v4(&k->caddr);
	int tries, err;

	assert(fp && fi && !fi->rescaled);
	for (tries = 0; tries < FASTPATH_CREATE_TRIES; tries++) {
		struct nlmsghdr *nlh;

		if (delete_all(fp, &orig) < 0)
			return -1;
		nlh = start(fp, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, v4);
		put_entry(fp, nlh, fi);
		if (talk(fp, NULL, NULL) == 0)
			break;
		/* A packet of the flow made a new entry in between: again. */
		if (errno != EEXIST)
			return -1;
	}
	if (tries == FASTPATH_CREATE_TRIES) {
		errno = EEXIST;
		return -1;
	}
	if (verify(fp, fi, &orig, ct_id) < 0) {
		err = errno;
		(void)delete_tuple(fp, &orig);
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- adoption of connections that predate the daemon ---- */

static int ip_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_IP_V4_SRC:
		if (mnl_attr_get_payload_len(a) == 4)
			addr_from_v4(&e->key.caddr, mnl_attr_get_payload(a));
		e->v4 = true;
		break;
	case CTA_IP_V4_DST:
		if (mnl_attr_get_payload_len(a) == 4)
			addr_from_v4(&e->key.saddr, mnl_attr_get_payload(a));
		break;
	case CTA_IP_V6_SRC:
		if (mnl_attr_get_payload_len(a) == 16)
			addr_from_v6(&e->key.caddr, mnl_attr_get_payload(a));
		break;
	case CTA_IP_V6_DST:
		if (mnl_attr_get_payload_len(a) == 16)
			addr_from_v6(&e->key.saddr, mnl_attr_get_payload(a));
		break;
	}
	return MNL_CB_OK;
}

static int proto_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_PROTO_NUM:
		e->tcp = mnl_attr_get_u8(a) == IPPROTO_TCP;
		break;
	case CTA_PROTO_SRC_PORT:
		e->key.cport = ntohs(mnl_attr_get_u16(a));
		break;
	case CTA_PROTO_DST_PORT:
		e->key.sport = ntohs(mnl_attr_get_u16(a));
		e->have_key = true;
		break;
	}
	return MNL_CB_OK;
}

static int tuple_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTA_TUPLE_IP)
		return mnl_attr_parse_nested(a, ip_cb, data);
	if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO)
		return mnl_attr_parse_nested(a, proto_cb, data);
	return MNL_CB_OK;
}

static int tcpinfo_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_STATE) {
		e->state = mnl_attr_get_u8(a);
		e->have_state = true;
	}
	else if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_FLAGS_ORIGINAL &&
		 mnl_attr_get_payload_len(a) >= sizeof(struct nf_ct_tcp_flags))
		e->flags_orig = ((const struct nf_ct_tcp_flags *)mnl_attr_get_payload(a))->flags;
	else if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_FLAGS_REPLY &&
		 mnl_attr_get_payload_len(a) >= sizeof(struct nf_ct_tcp_flags))
		e->flags_reply = ((const struct nf_ct_tcp_flags *)mnl_attr_get_payload(a))->flags;
	else if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_WSCALE_ORIGINAL)
		e->ws_orig = mnl_attr_get_u8(a);
	else if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP_WSCALE_REPLY)
		e->ws_reply = mnl_attr_get_u8(a);
	return MNL_CB_OK;
}

static int protoinfo_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTA_PROTOINFO_TCP)
		return mnl_attr_parse_nested(a, tcpinfo_cb, data);
	return MNL_CB_OK;
}

static int seqadj_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	if (mnl_attr_get_type(a) == CTA_SEQADJ_OFFSET_AFTER &&
	    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		e->seq_offset = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int synproxy_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	if (mnl_attr_get_type(a) == CTA_SYNPROXY_TSOFF && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		e->tsoff = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

int ct_attr_cb(const struct nlattr *a, void *data)
{
	struct ct_entry *e = data;

	switch (mnl_attr_get_type(a)) {
	case CTA_TUPLE_ORIG:
		return mnl_attr_parse_nested(a, tuple_cb, data);
	case CTA_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			e->id = ntohl(mnl_attr_get_u32(a));
		break;
	case CTA_STATUS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			e->status = ntohl(mnl_attr_get_u32(a));
		break;
	case CTA_MARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			e->mark = ntohl(mnl_attr_get_u32(a));
		break;
	case CTA_PROTOINFO:
		return mnl_attr_parse_nested(a, protoinfo_cb, data);
	case CTA_SEQ_ADJ_REPLY:
		e->seqadj_reply = true;
		return mnl_attr_parse_nested(a, seqadj_cb, data);
	case CTA_SYNPROXY:
		e->synproxy = true;
		return mnl_attr_parse_nested(a, synproxy_cb, data);
	}
	return MNL_CB_OK;
}

bool fastpath_kstate(uint8_t state, enum engine_kstate *ks)
{
	switch (state) {
	case TCP_CONNTRACK_ESTABLISHED:
		*ks = ENGINE_K_ESTABLISHED;
		return true;
	case TCP_CONNTRACK_FIN_WAIT:
	case TCP_CONNTRACK_CLOSE_WAIT:
	case TCP_CONNTRACK_LAST_ACK:
		*ks = ENGINE_K_CLOSING;
		return true;
	case TCP_CONNTRACK_TIME_WAIT:
		*ks = ENGINE_K_TIME_WAIT;
		return true;
	case TCP_CONNTRACK_CLOSE:
		*ks = ENGINE_K_RESET;
		return true;
	default:
		return false;
	}
}

struct adopt_ctx {
	const struct policy *pol;
	struct conn_key *keys;
	size_t n, cap;
	bool nomem;
};

/* A connection to a proxied service that conntrack followed from its
 * handshake (assured, not picked up mid-stream: no BE_LIBERAL), now
 * established, and not marked by anyone. */
static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct adopt_ctx *c = data;
	struct ct_entry e;
	int r;

	memset(&e, 0, sizeof(e));
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, &e) < 0)
		return MNL_CB_OK;
	if (!e.tcp || !e.have_key || e.mark != 0 || e.state != TCP_CONNTRACK_ESTABLISHED ||
	    !(e.status & IPS_ASSURED) || (e.flags_orig & IP_CT_TCP_FLAG_BE_LIBERAL))
		return MNL_CB_OK;
	r = policy_match(c->pol, &e.key.saddr, e.key.sport);
	if (r < 0 || c->pol->rules[r].action != RULE_PROXY)
		return MNL_CB_OK;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct conn_key *k = realloc(c->keys, cap * sizeof(*k));

		if (!k) {
			c->nomem = true;
			return MNL_CB_OK;
		}
		c->keys = k;
		c->cap = cap;
	}
	c->keys[c->n++] = e.key;
	return MNL_CB_OK;
}

int fastpath_adopt(struct fastpath *fp, const struct policy *pol)
{
	struct adopt_ctx c = { .pol = pol };
	int adopted = 0;

	for (int v4 = 1; v4 >= 0; v4--) {
		struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_GET, NLM_F_DUMP, v4);

		/* A dump ends with NLMSG_DONE; an ACK after it would be read
		 * as the answer to the next request. */
		nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
		if (talk(fp, dump_cb, &c) < 0) {
			free(c.keys);
			return -1;
		}
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct conn_key *k = &c.keys[i];
		const struct tuple orig = { &k->caddr, &k->saddr, k->cport, k->sport };
		struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_NEW, 0, addr_is_v4(&k->caddr));

		put_tuple(nlh, CTA_TUPLE_ORIG, &orig);
		put_be32(nlh, CTA_MARK, fp->fp_ctmark);
		/* Gone meanwhile (ENOENT) is no failure. */
		if (talk(fp, NULL, NULL) == 0)
			adopted++;
	}
	free(c.keys);
	if (c.nomem) {
		errno = ENOMEM;
		return -1;
	}
	return adopted;
}

struct ours_ctx {
	uint32_t mark;
	void (*fn)(const struct conn_key *k, uint32_t id, void *ctx);
	void *ctx;
	int n;
};

static int ours_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ours_ctx *c = data;
	struct ct_entry e;

	memset(&e, 0, sizeof(e));
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, &e) < 0)
		return MNL_CB_OK;
	if (e.tcp && e.have_key && e.mark == c->mark) {
		c->fn(&e.key, e.id, c->ctx);
		c->n++;
	}
	return MNL_CB_OK;
}

int fastpath_each_ours(struct fastpath *fp,
		       void (*fn)(const struct conn_key *k, uint32_t id, void *ctx), void *ctx)
{
	struct ours_ctx c = { .mark = fp->fp_ctmark, .fn = fn, .ctx = ctx };

	for (int v4 = 1; v4 >= 0; v4--) {
		struct nlmsghdr *nlh = start(fp, IPCTNL_MSG_CT_GET, NLM_F_DUMP, v4);

		nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;  /* see fastpath_adopt */
		if (talk(fp, ours_cb, &c) < 0)
			return -1;
	}
	return c.n;
}

struct fastpath *fastpath_open(uint32_t ctmark, uint32_t timeout_s)
{
	struct fastpath *fp = calloc(1, sizeof(*fp));
	struct timeval tv = {
		.tv_sec = FASTPATH_RECV_TIMEOUT_MS / 1000,
		.tv_usec = (FASTPATH_RECV_TIMEOUT_MS % 1000) * 1000,
	};
	int err;

	if (!fp)
		return NULL;
	fp->fp_ctmark = ctmark;
	fp->fp_timeout_s = timeout_s ? timeout_s : 1;
	fp->fp_nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!fp->fp_nl)
		goto fail;
	if (mnl_socket_bind(fp->fp_nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(fp->fp_nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0)
		goto fail;
	fp->fp_portid = mnl_socket_get_portid(fp->fp_nl);
	fp->fp_seq = (uint32_t)time(NULL);
	return fp;
fail:
	err = errno;
	fastpath_close(fp);
	errno = err;
	return NULL;
}

void fastpath_close(struct fastpath *fp)
{
	if (!fp)
		return;
	if (fp->fp_nl)
		mnl_socket_close(fp->fp_nl);
	free(fp);
}

bool fastpath_loose_pickup(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_loose", "re");
	int v = 1;

	if (!f)
		return true;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v != 0;
}

int fastpath_probe(void)
{
	/* 127.255.255.253:0 -> 127.255.255.254:0: port 0 is never a live flow. */
	struct flow_info fi = {
		.state = FLOW_ESTABLISHED,
		.seq_delta = 0x10000,
		.ts_delta = 0x100,
		.iss = 1,
		.our_tsval = 1,
		.client_wscale = 7,
		.our_wscale = 7,
		.backend_wscale = 7,
		.sack = true,
		.ts = true,
	};
	struct fastpath *fp;
	uint32_t id;
	int rc, err;

	fi.key.caddr.a[10] = fi.key.caddr.a[11] = 0xff;
	fi.key.saddr = fi.key.caddr;
	memcpy(fi.key.caddr.a + 12, "\x7f\xff\xff\xfd", 4);
	memcpy(fi.key.saddr.a + 12, "\x7f\xff\xff\xfe", 4);
	fp = fastpath_open(1, 10);
	if (!fp)
		return -1;
	rc = fastpath_offload(fp, &fi, &id);
	err = errno;
	if (rc == 0) {
		const struct tuple orig = { &fi.key.caddr, &fi.key.saddr, 0, 0 };

		(void)delete_tuple(fp, &orig);
	}
	fastpath_close(fp);
	errno = err;
	return rc;
}
