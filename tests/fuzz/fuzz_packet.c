/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the packet parser, the TCP option parser, the in-place
 * translation and the ICMP error parser and quote translation on
 * arbitrary bytes.
 *
 * Input: 22 bytes of struct xlate (five big-endian 32-bit additions, then
 * win_from and win_to), the rest is one IP packet.  Invariants: nothing
 * reads outside the buffer (ASan), a parsed packet's options parse, and
 * translate_apply changes exactly the fields it promises, keeps a valid
 * checksum valid and an invalid one invalid, and never changes a byte
 * outside the TCP header; icmp_translate does the same for the outer
 * checksum and the quoted TCP header, and keeps the error readable with
 * the same tuple. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"

#include "bytes.h"
#include "icmp.h"
#include "packet.h"
#include "tcpopt.h"
#include "translate.h"

#define XLATE_BYTES 22
#define PKT_MAX 4096

/* What translate_apply must produce, from the header's promises. */
static uint16_t expect_win(uint16_t win, uint8_t from, uint8_t to)
{
	uint32_t w;

	/* RFC 7323 2.3: shifts above 14 count as 14.  Rounded down, to 0
	 * too: never more than the receiver announced. */
	from = from > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : from;
	to = to > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : to;
	w = ((uint32_t)win << from) >> to;
	if (w > 0xffff)
		w = 0xffff;
	return (uint16_t)w;
}

static void check_translate(uint8_t *buf, uint32_t len, const struct xlate *x)
{
	static uint8_t before[PKT_MAX];
	struct pkt p, q;
	struct tcpopt o0, o1;
	bool ok, ack;
	uint8_t *tcp;

	if (packet_parse(&p, buf, len) != PKT_OK)
		return;
	FUZZ_CHECK(p.family == 4 || p.family == 6);
	FUZZ_CHECK(p.doff >= 20 && p.doff <= 60 && p.doff % 4 == 0);
	FUZZ_CHECK((uint32_t)p.l4off + p.doff + p.paylen == p.len && p.len <= len);
	tcp = buf + p.l4off;
	/* packet_parse promises well-formed options. */
	FUZZ_CHECK(tcpopt_parse(tcp, p.doff, &o0) == 0);
	FUZZ_CHECK(o0.nsack <= TCPOPT_MAX_SACK);
	FUZZ_CHECK(!(o0.have & TO_TS) || (o0.ts_off >= 20 && o0.ts_off + 10u <= p.doff));
	FUZZ_CHECK(!(o0.have & TO_SACK) ||
		   (o0.sack_off >= 20 && o0.sack_off + 2u + 8u * o0.nsack <= p.doff));
	ok = packet_tcp_csum_ok(&p);
	ack = p.flags & TCPH_ACK;
	memcpy(before, buf, len);

	translate_apply(&p, x);

	FUZZ_CHECK(packet_tcp_csum_ok(&p) == ok);
	/* Only the TCP header may change; the length never does. */
	FUZZ_CHECK(memcmp(before, buf, p.l4off) == 0);
	FUZZ_CHECK(memcmp(before + p.l4off + p.doff, buf + p.l4off + p.doff,
			  len - p.l4off - p.doff) == 0);
	FUZZ_CHECK(memcmp(before + p.l4off, tcp, 4) == 0);         /* ports */
	FUZZ_CHECK(memcmp(before + p.l4off + 12, tcp + 12, 2) == 0); /* doff, flags */
	FUZZ_CHECK(packet_parse(&q, buf, len) == PKT_OK);
	FUZZ_CHECK(q.len == p.len && q.doff == p.doff && q.paylen == p.paylen);
	FUZZ_CHECK(q.seq == get_be32(before + p.l4off + 4) + x->seq_add && q.seq == p.seq);
	FUZZ_CHECK(q.ack == get_be32(before + p.l4off + 8) + (ack ? x->ack_add : 0));
	FUZZ_CHECK(q.ack == p.ack);
	if (p.flags & TCPH_SYN)
		FUZZ_CHECK(q.win == get_be16(before + p.l4off + 14));
	else
		FUZZ_CHECK(q.win == expect_win(get_be16(before + p.l4off + 14), x->win_from,
					       x->win_to));
	FUZZ_CHECK(q.win == p.win);
	FUZZ_CHECK(tcpopt_parse(tcp, p.doff, &o1) == 0);
	FUZZ_CHECK(o1.have == o0.have && o1.nsack == o0.nsack);
	if (o0.have & TO_TS) {
		FUZZ_CHECK(o1.tsval == o0.tsval + x->tsval_add);
		FUZZ_CHECK(o1.tsecr == o0.tsecr + (ack ? x->tsecr_add : 0));
	}
	for (unsigned i = 0; i < o0.nsack; i++) {
		FUZZ_CHECK(o1.sack[i][0] == o0.sack[i][0] + x->sack_add);
		FUZZ_CHECK(o1.sack[i][1] == o0.sack[i][1] + x->sack_add);
	}
	if (o0.have & TO_MSS)
		FUZZ_CHECK(o1.mss == o0.mss);
	if (o0.have & TO_WSCALE)
		FUZZ_CHECK(o1.wscale == o0.wscale);
}

/* An ICMP error's quote translated: the outer checksum stays as right or
 * wrong as it was, nothing but the quoted TCP header's first 60 bytes and
 * the ICMP checksum changes, and the error reads back the same. */
static void check_icmp(uint8_t *buf, uint32_t len, const struct xlate *x)
{
	static uint8_t before[PKT_MAX];
	struct icmp_err ie, again;
	uint32_t hdr_end;
	bool ok;

	if (icmp_parse(buf, len, &ie) != ICMP_OK)
		return;
	FUZZ_CHECK(ie.tcp_len >= 8 && ie.tcp_off + ie.tcp_len <= ie.end && ie.end <= len);
	FUZZ_CHECK(ie.icmp_off + 8 <= ie.tcp_off);
	ok = icmp_csum_ok(buf, &ie);
	memcpy(before, buf, len);
	icmp_translate(buf, &ie, x);
	FUZZ_CHECK(icmp_csum_ok(buf, &ie) == ok);
	hdr_end = ie.tcp_off + (ie.tcp_len < 60 ? ie.tcp_len : 60);
	FUZZ_CHECK(memcmp(before, buf, ie.icmp_off + 2) == 0);
	FUZZ_CHECK(memcmp(before + ie.icmp_off + 4, buf + ie.icmp_off + 4,
			  ie.tcp_off - ie.icmp_off - 4) == 0);
	FUZZ_CHECK(memcmp(before + hdr_end, buf + hdr_end, len - hdr_end) == 0);
	FUZZ_CHECK(memcmp(before + ie.tcp_off, buf + ie.tcp_off, 4) == 0);  /* ports */
	FUZZ_CHECK(get_be32(buf + ie.tcp_off + 4) == ie.seq + x->seq_add);
	FUZZ_CHECK(icmp_parse(buf, len, &again) == ICMP_OK);
	FUZZ_CHECK(conn_key_eq(&again.quote, &ie.quote) && again.tcp_len == ie.tcp_len &&
		   again.kind == ie.kind && again.flags == ie.flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[PKT_MAX];
	struct xlate x;
	struct tcpopt o;
	struct icmp_err ie;
	struct pkt p;
	enum pkt_err err;
	uint32_t len;
	uint8_t *exact;

	if (size < XLATE_BYTES)
		return 0;
	x.seq_add = get_be32(data);
	x.ack_add = get_be32(data + 4);
	x.sack_add = get_be32(data + 8);
	x.tsval_add = get_be32(data + 12);
	x.tsecr_add = get_be32(data + 16);
	x.win_from = data[20] & 0x0f;  /* 15 is beyond RFC 7323: clamped */
	x.win_to = data[21] & 0x0f;
	data += XLATE_BYTES;
	size -= XLATE_BYTES;
	len = size > PKT_MAX ? PKT_MAX : (uint32_t)size;

	/* The parsers get a heap copy of exactly len bytes so ASan catches
	 * a read one past the end. */
	exact = malloc(len ? len : 1);
	if (!exact)
		return 0;
	memcpy(exact, data, len);
	err = packet_parse(&p, exact, len);
	FUZZ_CHECK(err >= PKT_OK && err < PKT_ERR_MAX);
	FUZZ_CHECK(packet_err_name(err) != NULL);
	/* An ICMP error is never TCP (nor a fragment). */
	if (icmp_parse(exact, len, &ie) != ICMP_NOT_ERROR)
		FUZZ_CHECK(err == PKT_NOT_TCP);
	/* The same bytes as a TCP header of every legal length. */
	for (size_t h = 20; h <= 60 && h <= len; h += 4)
		(void)tcpopt_parse(exact, h, &o);
	free(exact);

	memcpy(buf, data, len);
	check_translate(buf, len, &x);
	memcpy(buf, data, len);
	check_icmp(buf, len, &x);
	return 0;
}
