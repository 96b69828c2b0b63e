/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SYN cookie's encoding: the MSS and window-scale tables, the bit
 * layout of the ISN's low byte and of the timestamp bits, and the MAC over
 * the 46-byte input.  One definition for the engine (cookie.c, whose
 * opening comment explains every choice) and for the XDP stage
 * (src/bpf/xdp_synproxy.bpf.c), which issues the same cookies before the
 * queue.  Freestanding and header-only: clang -target bpf compiles these
 * very lines, so nothing here may need the C library. */
#ifndef SP_COOKIE_ENC_H
#define SP_COOKIE_ENC_H

#include <stdbool.h>
#include <stdint.h>

#include "siphash_impl.h"

#define COOKIE_PARITY_SHIFT 7
#define COOKIE_MSS_SHIFT 4
#define COOKIE_WS_SHIFT 1
#define COOKIE_INDEX_MASK 0x7u
#define COOKIE_SACK_BIT 0x1u
#define COOKIE_LOW_MASK 0xffu
#define COOKIE_WS_MAX 14          /* RFC 7323 */
#define COOKIE_TS_WS_NONE 15      /* "no window scale" in the TS bits */
#define COOKIE_TS_WS_SHIFT 2
#define COOKIE_TS_SACK 0x2u
#define COOKIE_TS_ECN 0x1u
#define COOKIE_TS_FIELD_BITS 6    /* = COOKIE_TS_BITS of cookie.h */
#define COOKIE_TS_MASK ((1u << COOKIE_TS_FIELD_BITS) - 1)
#define COOKIE_NO_TS 0xffu        /* MAC input when the SYN had no TS */
#define COOKIE_WS_ABSENT 0xffu    /* = COOKIE_NO_WSCALE of cookie.h */
#define COOKIE_MAC_INPUT_LEN 46
#define COOKIE_PERIOD_MS_ENC 64000u  /* = COOKIE_PERIOD_MS of cookie.h */

/* The MSS value of table index i (0..7). */
static inline uint16_t cookie_mss_value(unsigned i)
{
	switch (i & COOKIE_INDEX_MASK) {
	case 0: return 536;
	case 1: return 1220;
	case 2: return 1360;
	case 3: return 1400;
	case 4: return 1440;
	case 5: return 1452;
	case 6: return 1460;
	default: return 8960;
	}
}

/* The window-scale shift of table index i (1..7); index 0 means "none"
 * and its value is never used. */
static inline uint8_t cookie_ws_value(unsigned i)
{
	switch (i & COOKIE_INDEX_MASK) {
	case 0: return 0;
	case 1: return 0;
	case 2: return 2;
	case 3: return 4;
	case 4: return 6;
	case 5: return 7;
	case 6: return 8;
	default: return 9;
	}
}

/* The largest index whose MSS is <= mss, or 0 when none is. */
static inline unsigned cookie_mss_index(uint16_t mss)
{
	unsigned i = 7;

	while (i > 0 && cookie_mss_value(i) > mss)
		i--;
	return i;
}

/* The largest index 1..7 whose shift is <= ws.  Expects ws <= 14. */
static inline unsigned cookie_ws_index(uint8_t ws)
{
	unsigned i = 7;

	while (i > 1 && cookie_ws_value(i) > ws)
		i--;
	return i;
}

/* The six timestamp bits for an exact shift ws (COOKIE_WS_ABSENT: none;
 * expects ws <= 14 otherwise) and the SACK and ECN flags. */
static inline uint8_t cookie_ts_field(uint8_t ws, bool sack, bool ecn)
{
	unsigned w = ws == COOKIE_WS_ABSENT ? COOKIE_TS_WS_NONE : ws;

	return (uint8_t)((w << COOKIE_TS_WS_SHIFT) | (sack ? COOKIE_TS_SACK : 0) |
			 (ecn ? COOKIE_TS_ECN : 0));
}

/* The ISN's low byte: counter parity, MSS index, window-scale index
 * (0 = none) and SACK. */
static inline uint8_t cookie_low_byte(uint32_t counter, unsigned mi, unsigned wi, bool sack)
{
	return (uint8_t)(((counter & 1u) << COOKIE_PARITY_SHIFT) | (mi << COOKIE_MSS_SHIFT) |
			 (wi << COOKIE_WS_SHIFT) | (sack ? COOKIE_SACK_BIT : 0));
}

/* What one cookie's MAC covers.  caddr and saddr are 16-byte addresses
 * (IPv4 mapped), ports in host order. */
struct cookie_in {
	const uint8_t *caddr;
	const uint8_t *saddr;
	uint16_t cport;
	uint16_t sport;
	uint32_t irs;             /* the client's ISN */
	uint32_t t;               /* the period counter */
	uint8_t low;              /* the ISN's low byte */
	uint8_t tsb;              /* the six TS bits, or COOKIE_NO_TS */
};

/* The MAC's input, 46 bytes (padded to 48, 8-byte aligned). */
union cookie_msg {
	uint64_t align;
	uint8_t b[48];
};

/* Writes the MAC input of in into m: the 46 bytes
 *   caddr(16) saddr(16) cport(2) sport(2) irs(4) t(4) low(1) tsb(1)
 * with integers big-endian. */
static inline void cookie_mac_input(union cookie_msg *m, const struct cookie_in *in)
{
	uint8_t *p = m->b;

	__builtin_memcpy(p, in->caddr, 16);
	__builtin_memcpy(p + 16, in->saddr, 16);
	p[32] = (uint8_t)(in->cport >> 8);
	p[33] = (uint8_t)in->cport;
	p[34] = (uint8_t)(in->sport >> 8);
	p[35] = (uint8_t)in->sport;
	p[36] = (uint8_t)(in->irs >> 24);
	p[37] = (uint8_t)(in->irs >> 16);
	p[38] = (uint8_t)(in->irs >> 8);
	p[39] = (uint8_t)in->irs;
	p[40] = (uint8_t)(in->t >> 24);
	p[41] = (uint8_t)(in->t >> 16);
	p[42] = (uint8_t)(in->t >> 8);
	p[43] = (uint8_t)in->t;
	p[44] = in->low;
	p[45] = in->tsb;
}

/* The 24-bit MAC of the input m under the period key, in bits 31..8. */
static inline uint32_t cookie_mac24_of(const uint8_t key[SIPHASH_KEY_LEN], const union cookie_msg *m)
{
	return (uint32_t)(sip24(key, m->b, COOKIE_MAC_INPUT_LEN) >> 40) << 8;
}

/* The 24-bit MAC of in under the period key, in bits 31..8. */
static inline uint32_t cookie_mac24(const uint8_t key[SIPHASH_KEY_LEN], const struct cookie_in *in)
{
	union cookie_msg m;

	cookie_mac_input(&m, in);
	return cookie_mac24_of(key, &m);
}

#endif
