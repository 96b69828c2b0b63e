/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Addresses and connection keys.  IPv4 addresses are held as IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d) so that every table, hash and prefix
 * test has one shape for both families. */
#ifndef SP_ADDR_H
#define SP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr {
	uint8_t a[16];
};

/* A TCP connection seen from the proxy: c* is the client, s* the
 * protected server (backend).  Ports are in host byte order. */
struct conn_key {
	struct addr caddr;
	struct addr saddr;
	uint16_t cport;
	uint16_t sport;
};

/* A prefix: addr with its low bits cleared, len counted in the 128-bit
 * mapped space (an IPv4 /24 is len 120). */
struct prefix {
	struct addr addr;
	uint8_t len;
};

#define ADDR_STRLEN 46

/* Builds a mapped address from 4 network-order bytes. */
void addr_from_v4(struct addr *a, const uint8_t v4[4]);

/* Copies 16 network-order bytes into a. */
void addr_from_v6(struct addr *a, const uint8_t v6[16]);

/* True when a is an IPv4-mapped address. */
bool addr_is_v4(const struct addr *a);

/* True when both addresses are equal. */
bool addr_eq(const struct addr *a, const struct addr *b);

/* True when both keys name the same connection. */
bool conn_key_eq(const struct conn_key *a, const struct conn_key *b);

/* The network a source is counted by, its host bits clear: an IPv4 /24
 * or an IPv6 /64 (one host can hold a whole /64; behind NAT, many share
 * a /24). */
struct addr addr_source_net(const struct addr *a);

/* Parses "192.0.2.1", "2001:db8::1" or either with a "/len" suffix (len
 * in the family's own terms; no suffix means a single host).  Returns 0,
 * or -1 on malformed text or host bits set beyond the prefix. */
int prefix_parse(const char *text, struct prefix *p);

/* True when a lies inside p. */
bool prefix_contains(const struct prefix *p, const struct addr *a);

/* Writes a's text form (dotted quad for mapped IPv4) into buf, which holds
 * at least ADDR_STRLEN bytes; returns buf. */
char *addr_format(const struct addr *a, char *buf, size_t size);

#endif
