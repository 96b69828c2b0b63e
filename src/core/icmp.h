/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ICMP (RFC 792) and ICMPv6 (RFC 4443) errors that quote a TCP segment:
 * reading one without trusting any length it carries, checking its
 * checksum, and rewriting the quoted TCP header into the sequence space
 * of the host the error goes to, with both checksums kept right.  What
 * the engine does with each error is in icmp.c. */
#ifndef SP_ICMP_H
#define SP_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "translate.h"

/* The errors we read, by what they mean for a TCP sender. */
enum icmp_kind {
	ICMP_KIND_UNREACH,   /* destination unreachable, but for ... */
	ICMP_KIND_FRAG,      /* ... fragmentation needed (IPv4), and packet too big (IPv6) */
	ICMP_KIND_TIME,      /* time exceeded */
	ICMP_KIND_PARAM,     /* parameter problem */
};

/* An ICMP error and the segment it quotes.  Offsets are from the start of
 * the outer IP header. */
struct icmp_err {
	uint8_t family;          /* 4 or 6, the same outside and quoted */
	uint8_t type, code;
	enum icmp_kind kind;
	uint32_t icmp_off;       /* the ICMP header */
	uint32_t end;            /* the outer packet's length (trailing bytes excluded) */
	uint32_t tcp_off;        /* the quoted TCP header */
	uint32_t tcp_len;        /* quoted TCP bytes (>= 8), within the quoted packet */
	struct addr src, dst;    /* the error's own addresses */
	struct conn_key quote;   /* the quoted segment: caddr/cport its source,
				  * saddr/sport its destination */
	uint32_t seq;
	bool have_flags;         /* the quote reaches the flags (14 bytes) */
	uint8_t flags;
};

enum icmp_parse_result {
	ICMP_NOT_ERROR,          /* not ICMP, or not one of the errors above */
	ICMP_NOT_TCP,            /* such an error, quoting something else than TCP */
	ICMP_BAD,                /* such an error that cannot be read: too short,
				  * a quote of the other family, a quote without
				  * 8 bytes of TCP, a TCP data offset below 20 */
	ICMP_OK,
};

/* Reads the IPv4 or IPv6 packet of len bytes at data as an ICMP error
 * quoting TCP (ICMP_OK: ie filled in).  Never reads past len; the quote's
 * own length fields only shorten what is taken of it. */
enum icmp_parse_result icmp_parse(const uint8_t *data, uint32_t len, struct icmp_err *ie);

/* True when the ICMP (ICMPv6: with its pseudo-header) checksum of the
 * error ie read from data is right. */
bool icmp_csum_ok(const uint8_t *data, const struct icmp_err *ie);

/* Applies x to the TCP header quoted in the error ie read from data
 * (translate_quote) and updates the outer checksum incrementally, so that
 * a wrong one stays wrong by the same amount. */
void icmp_translate(uint8_t *data, const struct icmp_err *ie, const struct xlate *x);

#endif
