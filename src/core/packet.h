/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounds-checked parsing and building of IPv4/IPv6 TCP packets.
 *
 * A struct pkt is a view on a caller-owned buffer holding one whole IP
 * packet (no link-layer header).  packet_parse never reads outside
 * [data, data + len), whatever the bytes are; everything after it reads
 * the fields it filled in. */
#ifndef SP_PACKET_H
#define SP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define TCPH_FIN 0x01
#define TCPH_SYN 0x02
#define TCPH_RST 0x04
#define TCPH_PSH 0x08
#define TCPH_ACK 0x10
#define TCPH_URG 0x20
#define TCPH_ECE 0x40
#define TCPH_CWR 0x80

#define IPPROTO_TCP_ 6
#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

/* Why a packet was not parsed; each one is a counted drop reason. */
enum pkt_err {
	PKT_OK = 0,
	PKT_TRUNCATED,       /* shorter than a header says */
	PKT_BAD_VERSION,     /* not 4 or 6 */
	PKT_BAD_IHL,         /* IPv4 header length < 20 */
	PKT_BAD_LENGTH,      /* total/payload length larger than the buffer or too small */
	PKT_FRAGMENT,        /* IPv4 MF/offset or IPv6 fragment header */
	PKT_BAD_EXTHDR,      /* IPv6 extension header we do not walk (or too many) */
	PKT_NOT_TCP,         /* another transport (ICMP errors: icmp.h) */
	PKT_BAD_DOFF,        /* TCP data offset < 5 or past the end */
	PKT_BAD_OPTIONS,     /* a TCP option's length overruns or is < 2 */
	PKT_ERR_MAX
};

/* A parsed packet.  Offsets are from data. */
struct pkt {
	uint8_t *data;
	uint32_t len;        /* bytes of IP packet (total length, not buffer) */
	uint8_t family;      /* 4 or 6 */
	uint8_t proto;       /* IPPROTO_TCP_, or what else packet_parse found */
	uint16_t l4off;      /* TCP header offset */
	uint16_t doff;       /* TCP header length in bytes (20..60) */
	uint32_t paylen;     /* TCP payload bytes */
	struct addr src;
	struct addr dst;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	uint8_t flags;       /* TCPH_* */
};

/* Parses an IPv4 or IPv6 packet carrying TCP into p.  IPv4 options are
 * skipped; IPv6 hop-by-hop, routing, destination-options headers are
 * walked (at most 8); fragments are refused.  TCP options are checked to
 * be well formed.  Returns PKT_OK or the first problem found. */
enum pkt_err packet_parse(struct pkt *p, uint8_t *data, uint32_t len);

/* Human-readable name of a parse error ("truncated", ...). */
const char *packet_err_name(enum pkt_err e);

/* True when the TCP checksum of a parsed packet is correct. */
bool packet_tcp_csum_ok(const struct pkt *p);

/* Recomputes the TCP (and, for IPv4, the IP header) checksum in full. */
void packet_tcp_csum_fix(struct pkt *p);

/* The ECN field of the IP header (RFC 3168). */
#define IP_ECN_NOT_ECT 0
#define IP_ECN_ECT1 1
#define IP_ECN_ECT0 2
#define IP_ECN_CE 3
#define IP_ECN_MASK 3

/* The ECN field of a parsed packet. */
uint8_t packet_ecn(const struct pkt *p);

/* Sets the ECN field of a parsed packet to Not-ECT, updating the IPv4
 * header checksum (IPv6 has none, and the TCP pseudo-header does not
 * cover the field). */
void packet_clear_ecn(struct pkt *p);

/* Walks the IPv6 headers of the packet of end bytes at data (at least
 * the 40 fixed ones) from the fixed header's next-header field to the
 * first one that is not hop-by-hop, routing or destination options (at
 * most 8 of them).  On PKT_OK *off and *nh name that header, which the
 * caller judges; PKT_TRUNCATED or PKT_BAD_EXTHDR otherwise. */
enum pkt_err packet_ip6_walk(const uint8_t *data, uint32_t end, uint32_t *off, uint8_t *nh);

struct tcpopt;

/* What to put in a segment the proxy makes itself. */
struct seg {
	struct addr src;
	struct addr dst;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	uint8_t flags;
	uint8_t tos;                 /* IPv4 TOS / IPv6 traffic class (ECN bits) */
	const struct tcpopt *opt;    /* options to write, or NULL */
};

#define PACKET_BUILD_MAX 120  /* IPv6 header + 60-byte TCP header + slack */

/* Builds a whole IPv4 (both addresses mapped) or IPv6 packet for s into
 * buf with valid checksums, TTL/hop limit 64 and DF set.  Returns the
 * length, or 0 when cap is too small or the families differ. */
size_t packet_build(uint8_t *buf, size_t cap, const struct seg *s);

#endif
