/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TCP options: parse every option a segment carries, write the options of
 * segments the proxy makes, and locate the ones the translation rewrites.
 * Unknown options are skipped on parse and never touched in place. */
#ifndef SP_TCPOPT_H
#define SP_TCPOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACKOK 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

/* Bits of struct tcpopt.have. */
#define TO_MSS 0x01
#define TO_WSCALE 0x02
#define TO_SACKOK 0x04
#define TO_TS 0x08
#define TO_SACK 0x10

#define TCPOPT_MAX_SACK 4
#define TCP_MAX_WSCALE 14

struct tcpopt {
	uint8_t have;        /* TO_* */
	uint8_t wscale;      /* as received; values above 14 are kept (users clamp) */
	uint16_t mss;
	uint32_t tsval;
	uint32_t tsecr;
	uint8_t nsack;
	uint32_t sack[TCPOPT_MAX_SACK][2];  /* left, right edges */
	uint8_t ts_off;      /* offset of the TS option's kind byte from the TCP header, 0 if none */
	uint8_t sack_off;    /* offset of the SACK option's kind byte, 0 if none */
};

/* Parses the options of a TCP header of hdrlen bytes (20..60) at tcp into
 * o.  Returns 0, or -1 when an option's length byte is < 2 or overruns
 * the header (o is then partially filled and must not be used).  A
 * zero-length option area is fine. */
int tcpopt_parse(const uint8_t *tcp, size_t hdrlen, struct tcpopt *o);

/* Writes o's MSS, SACK-permitted, timestamp and window-scale options
 * (those whose TO_ bit is set; SACK blocks are not written) in the order
 * Linux uses, padded with NOPs to a multiple of 4.  Returns the byte count
 * (at most 20), or 0 if cap is too small. */
size_t tcpopt_write(uint8_t *buf, size_t cap, const struct tcpopt *o);

#endif
