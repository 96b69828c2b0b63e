/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Internet checksum: full computation (RFC 1071) and incremental
 * update (RFC 1624, eqn. 3).  Sums are kept as 32-bit accumulators of
 * big-endian 16-bit words and folded at the end. */
#ifndef SP_CSUM_H
#define SP_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds the bytes at data to sum as big-endian 16-bit words (an odd
 * trailing byte is padded with zero) and returns the new sum. */
uint32_t csum_add(uint32_t sum, const uint8_t *data, size_t len);

/* Folds sum to 16 bits and returns its one's complement: the value to
 * store in a checksum field. */
uint16_t csum_fold(uint32_t sum);

/* Returns the checksum field value after a 16-bit word of the covered
 * data changed from old to new (RFC 1624). */
uint16_t csum_update16(uint16_t check, uint16_t old, uint16_t new);

/* The same for a 32-bit value (two adjacent 16-bit words). */
uint16_t csum_update32(uint16_t check, uint32_t old, uint32_t new);

#endif
