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

/* Expects p parsed by packet_parse with PKT_OK. */
void translate_apply(struct pkt *p, const struct xlate *x)
{
	uint8_t *tcp = p->data + p->l4off;
	uint16_t check = get_be16(tcp + TCP_CSUM_OFF);
	bool ack = p->flags & TCPH_ACK;

	assert(p->doff >= 20 && (uint32_t)p->l4off + p->doff <= p->len);
	p->seq = add32(tcp, 4, x->seq_add, &check);
	if (ack)
		p->ack = add32(tcp, 8, x->ack_add, &check);

	if (x->sack_add || x->tsval_add || (ack && x->tsecr_add)) {
		struct tcpopt o;
		int rc = tcpopt_parse(tcp, p->doff, &o);

		assert(rc == 0);
		(void)rc;
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

	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	if (x->win_from != x->win_to && !(p->flags & TCPH_SYN)) {
		uint16_t w = rescale(p->win, x->win_from, x->win_to);

		if (w != p->win) {
			put_be16(tcp + 14, w);
			check = csum_update16(check, p->win, w);
			p->win = w;
		}
	}
	put_be16(tcp + TCP_CSUM_OFF, check);
}
