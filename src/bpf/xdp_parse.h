/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The XDP stage's packet parsing, a piece of xdp_synproxy.bpf.c (which
 * includes it after its constants, and alone: a BPF program is one
 * compilation unit): the parsed segment (struct seg), the TCP options the
 * engine reads (struct opts), Ethernet/VLAN, IPv4 and IPv6 with extension
 * headers and the TCP header as packet.c parses them (parse), the
 * options as tcpopt.c parses them (parse_opts), and a checksum fold. */
#ifndef SP_XDP_PARSE_H
#define SP_XDP_PARSE_H

static __always_inline uint16_t csum_fold32(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A parsed TCP segment.  Addresses are 16 bytes, IPv4 mapped. */
struct seg {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t l3off;           /* from the frame start */
	uint32_t l4off;
	uint32_t seglen;          /* TCP header and payload, from the IP length */
	uint32_t seq, ack;
	uint16_t sport, dport;    /* host order */
	uint8_t flags;
	uint8_t doff;             /* TCP header length in bytes */
	uint8_t v4;
	uint8_t ip4_ihl;          /* bytes */
};

/* The options the engine's tcpopt_parse records from a SYN or ACK. */
struct opts {
	uint32_t tsval, tsecr;
	uint16_t mss;
	uint8_t wscale;
	uint8_t have_mss, have_ws, have_sack, have_ts;
};

static __always_inline void map_v4(uint8_t a[16], const uint8_t *v4)
{
	__builtin_memset(a, 0, 10);
	a[10] = 0xff;
	a[11] = 0xff;
	a[12] = v4[0];
	a[13] = v4[1];
	a[14] = v4[2];
	a[15] = v4[3];
}

/* Parses Ethernet (one VLAN tag at most), IPv4 (any header length, no
 * fragment) or IPv6 (hop-by-hop, routing and destination options headers
 * skipped, as packet.c does) and the fixed TCP header.  0 when s holds a
 * TCP segment; -1 for anything the stage passes untouched. */
static __always_inline int parse(struct xdp_md *ctx, struct seg *s)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	uint8_t *eth = data;
	uint32_t off = ETH_HLEN_;
	uint16_t proto;
	uint8_t *tcp;

	if ((void *)(eth + ETH_HLEN_) > end)
		return -1;
	proto = ((uint16_t)eth[12] << 8) | eth[13];
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		uint8_t *vh = data + ETH_HLEN_;

		if ((void *)(vh + VLAN_HLEN) > end)
			return -1;
		proto = ((uint16_t)vh[2] << 8) | vh[3];
		off += VLAN_HLEN;
	}
	s->l3off = off;
	if (proto == ETH_P_IP) {
		uint8_t *ip = data + off;
		uint32_t ihl, tot;

		if ((void *)(ip + IP4_HLEN) > end)
			return -1;
		if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP)
			return -1;
		if (((ip[6] << 8) | ip[7]) & 0x3fff)      /* MF or an offset */
			return -1;
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		tot = ((uint32_t)ip[2] << 8) | ip[3];
		if (ihl < IP4_HLEN || tot < ihl + TCP_HLEN)
			return -1;
		map_v4(s->src, ip + 12);
		map_v4(s->dst, ip + 16);
		s->v4 = 1;
		s->ip4_ihl = (uint8_t)ihl;
		s->l4off = off + ihl;
		s->seglen = tot - ihl;
	} else if (proto == ETH_P_IPV6) {
		uint8_t *ip = data + off;
		uint32_t plen, l4;
		uint8_t nh;
		int i;

		if ((void *)(ip + IP6_HLEN) > end)
			return -1;
		if ((ip[0] >> 4) != 6)
			return -1;
		plen = ((uint32_t)ip[4] << 8) | ip[5];
		__builtin_memcpy(s->src, ip + 8, 16);
		__builtin_memcpy(s->dst, ip + 24, 16);
		nh = ip[6];
		l4 = off + IP6_HLEN;
		for (i = 0; i < IP6_MAX_EXTHDRS; i++) {
			uint8_t *h;

			if (nh != 0 && nh != 43 && nh != 60)
				break;
			if (l4 > MAX_L4OFF)
				return -1;
			h = data + l4;
			if ((void *)(h + 2) > end)
				return -1;
			nh = h[0];
			l4 += ((uint32_t)h[1] + 1) * 8;
		}
		if (nh != IPPROTO_TCP || l4 > MAX_L4OFF)
			return -1;
		if (plen < l4 - off - IP6_HLEN + TCP_HLEN)
			return -1;
		s->v4 = 0;
		s->l4off = l4;
		s->seglen = plen - (l4 - off - IP6_HLEN);
	} else {
		return -1;
	}
	if (s->l4off > MAX_L4OFF)
		return -1;
	tcp = data + s->l4off;
	if ((void *)(tcp + TCP_HLEN) > end)
		return -1;
	s->sport = ((uint16_t)tcp[0] << 8) | tcp[1];
	s->dport = ((uint16_t)tcp[2] << 8) | tcp[3];
	s->seq = ((uint32_t)tcp[4] << 24) | ((uint32_t)tcp[5] << 16) | ((uint32_t)tcp[6] << 8) |
		 tcp[7];
	s->ack = ((uint32_t)tcp[8] << 24) | ((uint32_t)tcp[9] << 16) | ((uint32_t)tcp[10] << 8) |
		 tcp[11];
	s->doff = (uint8_t)((tcp[12] >> 4) * 4);
	s->flags = tcp[13];
	return 0;
}

/* tcpopt_parse: every option in the header at l4off (doff bytes long), a
 * repeated one overwriting the earlier, a known kind with the wrong length
 * skipped.  -1 when an option's length byte is < 2 or overruns the header.
 * A global function: the verifier checks it once, not on every path of
 * its callers. */
__attribute__((noinline)) int parse_opts(struct xdp_md *ctx, uint32_t l4off, uint32_t doff,
					 struct opts *o)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	uint64_t l4 = l4off;
	uint32_t nxt = TCP_HLEN;      /* where the next option starts */
	uint8_t *tcp;

	if (!o)
		return -1;
	__builtin_memset(o, 0, sizeof(*o));
	asm volatile("" : "+r"(l4));  /* see sum_frame */
	if (l4 > MAX_L4OFF || doff > 60)
		return -1;
	tcp = data + l4;
	/* Unrolled over the 40 positions an option can start at: every read
	 * has a constant offset, and the verifier follows one short path per
	 * position instead of a loop whose offset it cannot bound. */
#pragma clang loop unroll(full)
	for (uint32_t pos = TCP_HLEN; pos < 60; pos++) {
		uint8_t kind, len;

		if (pos != nxt || pos >= doff)
			continue;
		if ((void *)(tcp + pos + 1) > end)
			return -1;
		kind = tcp[pos];
		if (kind == 0) {
			nxt = 0;              /* end of the option list */
			continue;
		}
		if (kind == 1) {
			nxt = pos + 1;
			continue;
		}
		if (pos + 1 >= doff || (void *)(tcp + pos + 2) > end)
			return -1;
		len = tcp[pos + 1];
		if (len < 2 || len > doff - pos)
			return -1;
		nxt = pos + len;
		if (kind == 2 && len == 4) {
			if ((void *)(tcp + pos + 4) > end)
				return -1;
			o->mss = ((uint16_t)tcp[pos + 2] << 8) | tcp[pos + 3];
			o->have_mss = 1;
		} else if (kind == 3 && len == 3) {
			if ((void *)(tcp + pos + 3) > end)
				return -1;
			o->wscale = tcp[pos + 2];
			o->have_ws = 1;
		} else if (kind == 4 && len == 2) {
			o->have_sack = 1;
		} else if (kind == 8 && len == 10) {
			if ((void *)(tcp + pos + 10) > end)
				return -1;
			o->tsval = ((uint32_t)tcp[pos + 2] << 24) | ((uint32_t)tcp[pos + 3] << 16) |
				   ((uint32_t)tcp[pos + 4] << 8) | tcp[pos + 5];
			o->tsecr = ((uint32_t)tcp[pos + 6] << 24) | ((uint32_t)tcp[pos + 7] << 16) |
				   ((uint32_t)tcp[pos + 8] << 8) | tcp[pos + 9];
			o->have_ts = 1;
		}
	}
	return 0;
}

#endif
