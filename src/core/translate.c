/* SPDX-License-Identifier: GPL-2.0-or-later */
/* In-place translation of established segments.  Each changed field is
 * folded into the TCP checksum with RFC 1624 updates, so an incorrect
 * checksum stays incorrect and the receiver still drops it. */
#include <assert.h>

#include "translate.h"

#include "bytes.h"
#include "csum.h"
#include "packet.h"
#include "tcpopt.h"

#define TCP_CSUM_OFF 16

/* Adds add to the 32-bit field at off (from the TCP header) and updates
 * *check.  Options need not be aligned: a field at an odd offset straddles
 * three 16-bit checksum words, which are then updated one by one. */
static uint32_t add32(uint8_t *tcp, unsigned off, uint32_t add, uint16_t *check)
{
	uint32_t old = get_be32(tcp + off), new = old + add;

	if (add == 0)
		return old;
	if (off % 2 == 0) {
		put_be32(tcp + off, new);
		*check = csum_update32(*check, old, new);
	} else {
		uint8_t *w = tcp + off - 1;
		uint16_t before[3];

		for (int i = 0; i < 3; i++)
			before[i] = get_be16(w + 2 * i);
		put_be32(tcp + off, new);
		for (int i = 0; i < 3; i++)
			*check = csum_update16(*check, before[i], get_be16(w + 2 * i));
	}
	return new;
}

/* RFC 7323 2.3: scale shifts above 14 are treated as 14, which also keeps
 * the shifts below 32 bits.  The window is rounded down, to 0 if need be:
 * a window announces buffer space the receiver has, so rounding up would
 * promise up to 2^to - 1 bytes it does not have.  Linux does the same
 * when it must round a small window (__tcp_select_window rounds the free
 * space down to the scale and announces 0 below it); the sender then
 * probes the closed window until the receiver opens it. */
static uint16_t rescale(uint16_t win, uint8_t from, uint8_t to)
{
	uint32_t w;

	if (from > TCP_MAX_WSCALE)
		from = TCP_MAX_WSCALE;
	if (to > TCP_MAX_WSCALE)
		to = TCP_MAX_WSCALE;
	w = ((uint32_t)win << from) >> to;
	if (w > 0xffff)
		w = 0xffff;
	return (uint16_t)w;
}

/* Rewrites the TCP header at tcp of which the first avail bytes are
 * present (all of it for a segment, maybe fewer for one quoted in an ICMP
 * error): every field x changes that lies wholly inside them, and the
 * checksum when it does too.  The flags decide what depends on ACK and
 * SYN; a header cut before them counts as an ACK without SYN, as every
 * established segment is.  Options are rewritten only when the whole
 * header is present. */
static void rewrite(uint8_t *tcp, uint32_t avail, const struct xlate *x)
{
	bool have_check = avail >= TCP_CSUM_OFF + 2;
	uint16_t check = have_check ? get_be16(tcp + TCP_CSUM_OFF) : 0;
	uint8_t flags = avail > 13 ? tcp[13] : TCPH_ACK;
	bool ack = flags & TCPH_ACK;
	uint32_t doff = avail > 12 ? (uint32_t)(tcp[12] >> 4) * 4 : 0;

	if (avail >= 8)
		add32(tcp, 4, x->seq_add, &check);
	if (ack && avail >= 12)
		add32(tcp, 8, x->ack_add, &check);

	if ((x->sack_add || x->tsval_add || (ack && x->tsecr_add)) && doff >= 20 &&
	    doff <= avail) {
		struct tcpopt o;

		if (tcpopt_parse(tcp, doff, &o) == 0) {
			if (o.have & TO_TS) {
				add32(tcp, o.ts_off + 2u, x->tsval_add, &check);
				if (ack)
					add32(tcp, o.ts_off + 6u, x->tsecr_add, &check);
			}
			if (o.have & TO_SACK) {
				for (unsigned i = 0; i < 2u * o.nsack; i++)
					add32(tcp, o.sack_off + 2u + 4u * i, x->sack_add, &check);
			}
		}
	}

	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	if (x->win_from != x->win_to && !(flags & TCPH_SYN) && avail >= 16) {
		uint16_t old = get_be16(tcp + 14), w = rescale(old, x->win_from, x->win_to);

		if (w != old) {
			put_be16(tcp + 14, w);
			check = csum_update16(check, old, w);
		}
	}
	if (have_check)
		put_be16(tcp + TCP_CSUM_OFF, check);
}

/* Expects p parsed by packet_parse with PKT_OK (so its options parse). */
void translate_apply(struct pkt *p, const struct xlate *x)
{
	uint8_t *tcp = p->data + p->l4off;

	assert(p->doff >= 20 && (uint32_t)p->l4off + p->doff <= p->len);
	rewrite(tcp, p->doff, x);
	p->seq = get_be32(tcp + 4);
	p->ack = get_be32(tcp + 8);
	p->win = get_be16(tcp + 14);
}

/* Expects at least 8 bytes at tcp. */
void translate_quote(uint8_t *tcp, uint32_t avail, const struct xlate *x)
{
	assert(avail >= 8);
	rewrite(tcp, avail, x);
}

void translate_invert(const struct xlate *x, struct xlate *inv)
{
	*inv = (struct xlate){
		.seq_add = 0u - x->seq_add,
		.ack_add = 0u - x->ack_add,
		.sack_add = 0u - x->sack_add,
		.tsval_add = 0u - x->tsval_add,
		.tsecr_add = 0u - x->tsecr_add,
		.win_from = x->win_to,
		.win_to = x->win_from,
	};
}
