/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Big-endian loads and stores on unaligned buffers.  The core never
 * includes the C library's networking headers, so byte order lives here. */
#ifndef SP_BYTES_H
#define SP_BYTES_H

#include <stdint.h>

/* Reads a big-endian 16-bit value at p. */
static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Reads a big-endian 32-bit value at p. */
static inline uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

/* Writes v big-endian at p. */
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Writes v big-endian at p. */
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
