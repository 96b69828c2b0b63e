/* SPDX-License-Identifier: GPL-2.0-or-later */
/* In-place rewriting of an established flow's segments: sequence and
 * acknowledgement numbers, SACK blocks, timestamps and the window field,
 * with incremental checksum updates (RFC 1624).  The length of the packet
 * never changes. */
#ifndef SP_TRANSLATE_H
#define SP_TRANSLATE_H

#include <stdint.h>

struct pkt;

/* What to add (mod 2^32) to each field.  An all-zero struct with
 * win_from == win_to leaves the packet untouched. */
struct xlate {
	uint32_t seq_add;    /* added to the sequence number */
	uint32_t ack_add;    /* added to the acknowledgement number if ACK is set */
	uint32_t sack_add;   /* added to both edges of every SACK block */
	uint32_t tsval_add;  /* added to TSval */
	uint32_t tsecr_add;  /* added to TSecr if ACK is set */
	uint8_t win_from;    /* window scale the sender applies */
	uint8_t win_to;      /* window scale the receiver expects */
};

/* Rewrites p's TCP header as x says, keeping checksums valid (a packet
 * whose checksum was wrong stays wrong by the same amount).  The window
 * becomes (win << win_from) >> win_to, saturated at 65535, and never
 * rounded down to zero from a non-zero window.  p's parsed fields are
 * updated too.  Expects p parsed by packet_parse. */
void translate_apply(struct pkt *p, const struct xlate *x);

/* Rewrites as x says the TCP header at tcp of which only the first avail
 * bytes (at least 8) are there, as an ICMP error quotes it: the fields
 * wholly present, the checksum when present (kept valid for the whole
 * segment it summed), the options only when the whole header is there;
 * a header cut before its flags is taken for an ACK without SYN. */
void translate_quote(uint8_t *tcp, uint32_t avail, const struct xlate *x);

/* Sets inv to undo x: applied after x, it gives back every field but a
 * window that x rounded when it rescaled it. */
void translate_invert(const struct xlate *x, struct xlate *inv);

#endif
