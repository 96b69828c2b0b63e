/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IPv4 (RFC 791) and IPv6 (RFC 8200) TCP packet parsing and building.
 *
 * Every read in the parsers is preceded by a check against the end of the
 * packet; lengths taken from headers are compared with what is left
 * before they are used, never added to a pointer first. */
#include <assert.h>
#include <string.h>

#include "packet.h"

#include "bytes.h"
#include "csum.h"
#include "tcpopt.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define IP4_MF 0x2000
#define IP4_DF 0x4000
#define IP4_OFFMASK 0x1fff
#define IP_TTL 64

#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_ESP 50
#define NH_AH 51
#define NH_NONE 59
#define NH_DSTOPTS 60
#define NH_MOBILITY 135
#define NH_HIP 139
#define NH_SHIM6 140

/* RFC 8200 allows few headers in practice; a long chain is an attack on
 * the parser rather than traffic. */
#define IP6_MAX_EXTHDRS 8

static const char *const err_names[PKT_ERR_MAX] = {
	[PKT_OK] = "ok",
	[PKT_TRUNCATED] = "truncated",
	[PKT_BAD_VERSION] = "bad_version",
	[PKT_BAD_IHL] = "bad_ihl",
	[PKT_BAD_LENGTH] = "bad_length",
	[PKT_FRAGMENT] = "fragment",
	[PKT_BAD_EXTHDR] = "bad_exthdr",
	[PKT_NOT_TCP] = "not_tcp",
	[PKT_BAD_DOFF] = "bad_doff",
	[PKT_BAD_OPTIONS] = "bad_options",
};

const char *packet_err_name(enum pkt_err e)
{
	if ((unsigned)e >= PKT_ERR_MAX)
		return "unknown";
	return err_names[e];
}

/* At most 8 headers of at most 2048 bytes follow the 40 fixed ones, so
 * *off stays below 16500 and fits the uint16_t offsets of struct pkt. */
enum pkt_err packet_ip6_walk(const uint8_t *data, uint32_t end, uint32_t *off, uint8_t *nh)
{
	unsigned count = 0;

	*nh = data[6];
	*off = IP6_HLEN;
	while (*nh == NH_HOPOPTS || *nh == NH_ROUTING || *nh == NH_DSTOPTS) {
		uint32_t hlen;

		if (++count > IP6_MAX_EXTHDRS)
			return PKT_BAD_EXTHDR;
		if (end - *off < 2)
			return PKT_TRUNCATED;
		hlen = ((uint32_t)data[*off + 1] + 1) * 8;
		if (end - *off < hlen)
			return PKT_TRUNCATED;
		*nh = data[*off];
		*off += hlen;
	}
	return PKT_OK;
}

/* Classifies the header that ends the IPv6 walk. */
static enum pkt_err judge_ip6_nh(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_TCP_:
		return PKT_OK;
	case NH_FRAGMENT:
		return PKT_FRAGMENT;
	case NH_ESP:
	case NH_AH:
	case NH_MOBILITY:
	case NH_HIP:
	case NH_SHIM6:
		return PKT_BAD_EXTHDR;
	default:
		return PKT_NOT_TCP;
	}
}

static enum pkt_err parse_ip4(struct pkt *p, uint8_t *data, uint32_t len)
{
	uint32_t ihl, tot;

	if (len < IP4_HLEN)
		return PKT_TRUNCATED;
	ihl = (uint32_t)(data[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN)
		return PKT_BAD_IHL;
	tot = get_be16(data + 2);
	if (tot > len || tot < ihl)
		return PKT_BAD_LENGTH;
	p->family = 4;
	p->len = tot;
	p->proto = data[9];
	addr_from_v4(&p->src, data + 12);
	addr_from_v4(&p->dst, data + 16);
	if (get_be16(data + 6) & (IP4_MF | IP4_OFFMASK))
		return PKT_FRAGMENT;
	if (p->proto != IPPROTO_TCP_)
		return PKT_NOT_TCP;
	p->l4off = (uint16_t)ihl;
	return PKT_OK;
}

static enum pkt_err parse_ip6(struct pkt *p, uint8_t *data, uint32_t len)
{
	uint32_t plen, off;
	uint8_t nh;
	enum pkt_err e;

	if (len < IP6_HLEN)
		return PKT_TRUNCATED;
	plen = get_be16(data + 4);
	/* Zero announces a jumbogram (RFC 2675), which we never handle. */
	if (plen == 0 || plen > len - IP6_HLEN)
		return PKT_BAD_LENGTH;
	p->family = 6;
	p->len = plen + IP6_HLEN;
	addr_from_v6(&p->src, data + 8);
	addr_from_v6(&p->dst, data + 24);
	e = packet_ip6_walk(data, p->len, &off, &nh);
	if (e != PKT_OK)
		return e;
	p->proto = nh;
	e = judge_ip6_nh(nh);
	if (e != PKT_OK)
		return e;
	p->l4off = (uint16_t)off;
	return PKT_OK;
}

static enum pkt_err parse_tcp(struct pkt *p)
{
	const uint8_t *tcp = p->data + p->l4off;
	uint32_t l4len = p->len - p->l4off;
	uint32_t doff;
	struct tcpopt o;

	if (l4len < TCP_HLEN)
		return PKT_TRUNCATED;
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_HLEN || doff > l4len)
		return PKT_BAD_DOFF;
	p->doff = (uint16_t)doff;
	p->paylen = l4len - doff;
	p->sport = get_be16(tcp);
	p->dport = get_be16(tcp + 2);
	p->seq = get_be32(tcp + 4);
	p->ack = get_be32(tcp + 8);
	p->flags = tcp[13];
	p->win = get_be16(tcp + 14);
	if (tcpopt_parse(tcp, doff, &o) != 0)
		return PKT_BAD_OPTIONS;
	return PKT_OK;
}

/* Trailing bytes beyond the IP length (Ethernet padding) are not part of
 * the packet: p->len is the IP length, and nothing reads past it. */
enum pkt_err packet_parse(struct pkt *p, uint8_t *data, uint32_t len)
{
	enum pkt_err e;

	memset(p, 0, sizeof(*p));
	p->data = data;
	if (len < 1)
		return PKT_TRUNCATED;
	switch (data[0] >> 4) {
	case 4:
		e = parse_ip4(p, data, len);
		break;
	case 6:
		e = parse_ip6(p, data, len);
		break;
	default:
		return PKT_BAD_VERSION;
	}
	if (e != PKT_OK)
		return e;
	return parse_tcp(p);
}

/* One's complement sum of the pseudo-header (RFC 9293 3.1, RFC 8200 8.1)
 * and the whole TCP segment.  The IPv6 destination is the one in the
 * fixed header: a routing header's final destination is not looked up. */
static uint32_t tcp_sum(const uint8_t *data, uint8_t family, uint32_t l4off, uint32_t len)
{
	uint32_t l4len = len - l4off;
	uint8_t ph[12];
	uint32_t sum;

	if (family == 4) {
		sum = csum_add(0, data + 12, 8);
		ph[0] = 0;
		ph[1] = IPPROTO_TCP_;
		put_be16(ph + 2, (uint16_t)l4len);
		sum = csum_add(sum, ph, 4);
	} else {
		sum = csum_add(0, data + 8, 32);
		put_be32(ph, l4len);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = IPPROTO_TCP_;
		sum = csum_add(sum, ph, 8);
	}
	return csum_add(sum, data + l4off, l4len);
}

/* Expects p parsed by packet_parse with PKT_OK. */
bool packet_tcp_csum_ok(const struct pkt *p)
{
	assert((uint32_t)p->l4off + TCP_HLEN <= p->len);
	return csum_fold(tcp_sum(p->data, p->family, p->l4off, p->len)) == 0;
}

static void fix_csums(uint8_t *data, uint8_t family, uint32_t l4off, uint32_t len)
{
	uint8_t *tcp = data + l4off;

	put_be16(tcp + 16, 0);
	put_be16(tcp + 16, csum_fold(tcp_sum(data, family, l4off, len)));
	if (family == 4) {
		put_be16(data + 10, 0);
		put_be16(data + 10, csum_fold(csum_add(0, data, l4off)));
	}
}

/* Expects p parsed by packet_parse with PKT_OK. */
void packet_tcp_csum_fix(struct pkt *p)
{
	assert((uint32_t)p->l4off + TCP_HLEN <= p->len);
	fix_csums(p->data, p->family, p->l4off, p->len);
}

/* IPv4: the TOS byte's low two bits.  IPv6: the traffic class's, bits
 * 21-20 of the first word. */
uint8_t packet_ecn(const struct pkt *p)
{
	if (p->family == 4)
		return p->data[1] & IP_ECN_MASK;
	return (p->data[1] >> 4) & IP_ECN_MASK;
}

void packet_clear_ecn(struct pkt *p)
{
	if (p->family == 4) {
		uint16_t old = get_be16(p->data);
		uint16_t new = old & (uint16_t)~IP_ECN_MASK;

		put_be16(p->data, new);
		put_be16(p->data + 10, csum_update16(get_be16(p->data + 10), old, new));
	} else {
		p->data[1] &= (uint8_t)~(IP_ECN_MASK << 4);
	}
}

size_t packet_build(uint8_t *buf, size_t cap, const struct seg *s)
{
	bool v4 = addr_is_v4(&s->src);
	uint8_t opts[40];
	size_t optlen = 0, iphl, total;
	uint8_t *tcp;

	if (v4 != addr_is_v4(&s->dst))
		return 0;
	if (s->opt) {
		optlen = tcpopt_write(opts, sizeof(opts), s->opt);
		assert(optlen % 4 == 0);
	}
	iphl = v4 ? IP4_HLEN : IP6_HLEN;
	total = iphl + TCP_HLEN + optlen;
	if (cap < total)
		return 0;
	memset(buf, 0, total);
	if (v4) {
		buf[0] = 0x45;
		buf[1] = s->tos;
		put_be16(buf + 2, (uint16_t)total);
		put_be16(buf + 6, IP4_DF);
		buf[8] = IP_TTL;
		buf[9] = IPPROTO_TCP_;
		memcpy(buf + 12, s->src.a + 12, 4);
		memcpy(buf + 16, s->dst.a + 12, 4);
	} else {
		put_be32(buf, (6u << 28) | ((uint32_t)s->tos << 20));
		put_be16(buf + 4, (uint16_t)(total - IP6_HLEN));
		buf[6] = IPPROTO_TCP_;
		buf[7] = IP_TTL;
		memcpy(buf + 8, s->src.a, 16);
		memcpy(buf + 24, s->dst.a, 16);
	}
	tcp = buf + iphl;
	put_be16(tcp, s->sport);
	put_be16(tcp + 2, s->dport);
	put_be32(tcp + 4, s->seq);
	put_be32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
	tcp[13] = s->flags;
	put_be16(tcp + 14, s->win);
	memcpy(tcp + TCP_HLEN, opts, optlen);
	fix_csums(buf, v4 ? 4 : 6, (uint32_t)iphl, (uint32_t)total);
	return total;
}
