/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TCP option parsing and writing (RFC 9293 section 3.2, RFC 7323 for
 * window scale and timestamps, RFC 2018 for SACK). */
#include <assert.h>
#include <string.h>

#include "tcpopt.h"

#include "bytes.h"

#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACKOK 2
#define TCPOLEN_TS 10
#define TCPOLEN_SACK_BLOCK 8

/* Records a known option.  A known kind with the wrong length is treated
 * like an unknown option (skipped), as Linux does: the segment is still
 * well formed, the option is simply not understood. */
static void record(const uint8_t *tcp, size_t off, uint8_t kind, uint8_t len, struct tcpopt *o)
{
	const uint8_t *v = tcp + off + 2;

	switch (kind) {
	case TCPOPT_MSS:
		if (len != TCPOLEN_MSS)
			return;
		o->mss = get_be16(v);
		o->have |= TO_MSS;
		break;
	case TCPOPT_WSCALE:
		if (len != TCPOLEN_WSCALE)
			return;
		o->wscale = v[0];
		o->have |= TO_WSCALE;
		break;
	case TCPOPT_SACKOK:
		if (len != TCPOLEN_SACKOK)
			return;
		o->have |= TO_SACKOK;
		break;
	case TCPOPT_TS:
		if (len != TCPOLEN_TS)
			return;
		o->tsval = get_be32(v);
		o->tsecr = get_be32(v + 4);
		o->ts_off = (uint8_t)off;
		o->have |= TO_TS;
		break;
	case TCPOPT_SACK: {
		unsigned n = (len - 2u) / TCPOLEN_SACK_BLOCK;

		if ((len - 2u) % TCPOLEN_SACK_BLOCK || n < 1 || n > TCPOPT_MAX_SACK)
			return;
		for (unsigned i = 0; i < n; i++) {
			o->sack[i][0] = get_be32(v + i * TCPOLEN_SACK_BLOCK);
			o->sack[i][1] = get_be32(v + i * TCPOLEN_SACK_BLOCK + 4);
		}
		o->nsack = (uint8_t)n;
		o->sack_off = (uint8_t)off;
		o->have |= TO_SACK;
		break;
	}
	default:
		break;
	}
}

/* Expects hdrlen in 20..60, the range a data offset can express.  A
 * repeated option overwrites the earlier one, as in Linux, so the offsets
 * point at the copy the receiver will act on. */
int tcpopt_parse(const uint8_t *tcp, size_t hdrlen, struct tcpopt *o)
{
	size_t off = 20;

	assert(hdrlen >= 20 && hdrlen <= 60);
	memset(o, 0, sizeof(*o));
	while (off < hdrlen) {
		uint8_t kind = tcp[off];
		uint8_t len;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			off++;
			continue;
		}
		if (off + 1 >= hdrlen)
			return -1;
		len = tcp[off + 1];
		if (len < 2 || len > hdrlen - off)
			return -1;
		record(tcp, off, kind, len, o);
		off += len;
	}
	return 0;
}

/* Linux's SYN layout: every option lands on a 4-byte boundary and
 * SACK-permitted shares a word with the timestamp when both are sent. */
size_t tcpopt_write(uint8_t *buf, size_t cap, const struct tcpopt *o)
{
	uint8_t tmp[20];
	size_t n = 0;

	if (o->have & TO_MSS) {
		tmp[n++] = TCPOPT_MSS;
		tmp[n++] = TCPOLEN_MSS;
		put_be16(tmp + n, o->mss);
		n += 2;
	}
	if (o->have & TO_TS) {
		if (o->have & TO_SACKOK) {
			tmp[n++] = TCPOPT_SACKOK;
			tmp[n++] = TCPOLEN_SACKOK;
		} else {
			tmp[n++] = TCPOPT_NOP;
			tmp[n++] = TCPOPT_NOP;
		}
		tmp[n++] = TCPOPT_TS;
		tmp[n++] = TCPOLEN_TS;
		put_be32(tmp + n, o->tsval);
		put_be32(tmp + n + 4, o->tsecr);
		n += 8;
	} else if (o->have & TO_SACKOK) {
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_SACKOK;
		tmp[n++] = TCPOLEN_SACKOK;
	}
	if (o->have & TO_WSCALE) {
		tmp[n++] = TCPOPT_NOP;
		tmp[n++] = TCPOPT_WSCALE;
		tmp[n++] = TCPOLEN_WSCALE;
		tmp[n++] = o->wscale;
	}
	if (n > cap)
		return 0;
	memcpy(buf, tmp, n);
	return n;
}
