/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Internet checksum, written from RFC 1071 (computation) and RFC 1624
 * (incremental update, eqn. 3: HC' = ~(~HC + ~m + m')). */
#include "csum.h"

#include "bytes.h"

/* Folding a 64-bit accumulator back into 32 bits keeps the one's
 * complement value (carries wrap around), so callers may chain calls on
 * any amount of data without overflow. */
static uint32_t fold32(uint64_t s)
{
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* The data is summed as 32-bit big-endian words: since 2^16 = 1 modulo
 * 0xffff, a word adds the same one's complement value as its two 16-bit
 * halves, in half the additions (RFC 1071 section 2(C) suggests the same
 * "deferred carries" on wider words). */
uint32_t csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	uint64_t s = sum;
	size_t i = 0;

	for (; i + 4 <= len; i += 4)
		s += get_be32(data + i);
	if (i + 2 <= len) {
		s += get_be16(data + i);
		i += 2;
	}
	if (i < len)
		s += (uint32_t)data[i] << 8;
	return fold32(s);
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t csum_update16(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~check;

	s += (uint16_t)~old;
	s += new;
	return csum_fold(s);
}

uint16_t csum_update32(uint16_t check, uint32_t old, uint32_t new)
{
	uint32_t s = (uint16_t)~check;

	s += (uint16_t)~(old >> 16);
	s += (uint16_t)~old;
	s += new >> 16;
	s += new & 0xffff;
	return csum_fold(s);
}
