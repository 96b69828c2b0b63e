/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wrap-safe comparison of 32-bit TCP sequence numbers (RFC 1982 serial
 * arithmetic): a is before b when b - a, taken modulo 2^32, is in
 * (0, 2^31].  RFC 1982 leaves a distance of exactly 2^31 undefined; here
 * both numbers are then "before" each other, as in Linux's before().  Every comparison of sequence numbers, acknowledgements,
 * timestamps and 32-bit millisecond deadlines in the core goes through
 * these helpers. */
#ifndef SP_SEQ_H
#define SP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* True when a comes strictly before b in sequence space. */
static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* True when a comes strictly after b in sequence space. */
static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_before(b, a);
}

/* True when a is at or before b. */
static inline bool seq_leq(uint32_t a, uint32_t b)
{
	return !seq_after(a, b);
}

/* True when a is at or after b. */
static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return !seq_before(a, b);
}

/* True when lo <= a <= hi, all in sequence space. */
static inline bool seq_between(uint32_t a, uint32_t lo, uint32_t hi)
{
	return a - lo <= hi - lo;
}

/* The later of a and b. */
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_after(a, b) ? a : b;
}

#endif
