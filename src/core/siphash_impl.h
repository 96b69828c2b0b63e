/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SipHash-2-4 as a freestanding inline function: the one body that
 * siphash.c exports to the core and that the XDP stage (src/bpf, built by
 * clang -target bpf) compiles for the cookie MAC.  Written from the
 * specification in "SipHash: a fast short-input PRF" (Aumasson, Bernstein;
 * INDOCRYPT 2012), section 2.  Nothing here may need the C library. */
#ifndef SP_SIPHASH_IMPL_H
#define SP_SIPHASH_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

static inline uint64_t sip_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* On a little-endian machine the load is one unaligned move (a constant
 * 8-byte copy compiles to it); byte by byte it was half the function's
 * instructions.  The BPF target is little-endian on every host we build
 * for. */
static inline uint64_t sip_load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
#else
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
#endif
}

#define SIP_ROUND(v0, v1, v2, v3)                                              \
	do {                                                                   \
		v0 += v1; v1 = sip_rotl(v1, 13); v1 ^= v0; v0 = sip_rotl(v0, 32); \
		v2 += v3; v3 = sip_rotl(v3, 16); v3 ^= v2;                     \
		v0 += v3; v3 = sip_rotl(v3, 21); v3 ^= v0;                     \
		v2 += v1; v1 = sip_rotl(v1, 17); v1 ^= v2; v2 = sip_rotl(v2, 32); \
	} while (0)

/* SipHash-2-4 of len bytes at in under the 16-byte key.  With a constant
 * len (the cookie's 46 bytes) every loop has a fixed trip count, which is
 * what the BPF verifier needs. */
static inline uint64_t sip24(const uint8_t key[SIPHASH_KEY_LEN], const uint8_t *in, size_t len)
{
	uint64_t k0 = sip_load_le64(key), k1 = sip_load_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	uint64_t last = (uint64_t)len << 56;
	size_t off;

	for (off = 0; off + 8 <= len; off += 8) {
		uint64_t m = sip_load_le64(in + off);

		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; off + i < len; i++)
		last |= (uint64_t)in[off + i] << (8 * i);
	v3 ^= last;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#endif
