/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RFC 6528 initial sequence numbers.  The keyed term F hides the ISN from
 * off-path attackers (it cannot be predicted without the key); the clock
 * term M keeps successive ISNs of one 4-tuple increasing, so a new
 * incarnation's segments do not fall inside an old one's window. */
#include <assert.h>
#include <string.h>

#include "bytes.h"
#include "isn.h"

/* M ticks every 4 microseconds: 250 ticks per millisecond. */
#define ISN_TICKS_PER_MS 250u

/* Expects key and k non-NULL. */
uint32_t isn_generate(const uint8_t key[SIPHASH_KEY_LEN], const struct conn_key *k,
		      uint64_t now_ms)
{
	/* RFC 6528 orders the tuple local end first; we answer for the
	 * server, so the server address and port are "local". */
	uint8_t msg[16 + 2 + 16 + 2];
	uint8_t *p = msg;
	uint32_t m, f;

	assert(key != NULL && k != NULL);
	memcpy(p, k->saddr.a, sizeof(k->saddr.a));
	p += sizeof(k->saddr.a);
	put_be16(p, k->sport);
	p += 2;
	memcpy(p, k->caddr.a, sizeof(k->caddr.a));
	p += sizeof(k->caddr.a);
	put_be16(p, k->cport);

	/* Truncating the 64-bit product keeps M exact modulo 2^32. */
	m = (uint32_t)(now_ms * ISN_TICKS_PER_MS);
	f = (uint32_t)siphash24(key, msg, sizeof(msg));
	return m + f;
}
