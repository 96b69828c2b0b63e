/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SYN cookies: a stateless encoding of a half-open connection in the ISN
 * of the SYN-ACK (and, when the client sent timestamps, in the low bits of
 * our TSval).  See the design comment in cookie.c for the bit layout. */
#ifndef SP_COOKIE_H
#define SP_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define COOKIE_SECRET_LEN 32
#define COOKIE_PERIOD_MS 64000u   /* one time-counter step */
#define COOKIE_TS_BITS 6          /* low TSval bits that carry options */

/* The options a cookie carries.  wscale is 0xff when none was offered. */
struct cookie_opts {
	uint16_t mss;
	uint8_t wscale;
	bool sack;
	bool ecn;
	bool ts;
};

#define COOKIE_NO_WSCALE 0xff

/* Why a cookie failed to validate; each is a counter. */
enum cookie_result {
	COOKIE_VALID = 0,
	COOKIE_BAD_MAC,      /* wrong tuple, ISN or a forgery */
	COOKIE_EXPIRED,      /* counter older than the validity window */
	COOKIE_RESULT_MAX
};

/* The 16-byte MAC key of period t under the master secret (what the XDP
 * stage is given instead of the secret itself). */
void cookie_period_key(const uint8_t secret[COOKIE_SECRET_LEN], uint32_t t,
		       uint8_t key[16]);

/* The time counter for now_ms. */
uint32_t cookie_counter(uint64_t now_ms);

/* Makes the cookie ISN for k and the client ISN irs at counter under the
 * master secret.  o is rounded to what the cookie can carry (MSS down to
 * a table entry, but never below 536; window scale capped at 14, and down
 * to a table entry unless timestamps carry it exactly; ECN dropped without
 * timestamps), and when o->ts is set, *ts_bits receives the COOKIE_TS_BITS
 * value to put in the low bits of our TSval. */
uint32_t cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const struct conn_key *k,
		     uint32_t irs, uint32_t counter, struct cookie_opts *o,
		     uint32_t *ts_bits);

/* Checks cookie (the client's ACK number minus one) for k and irs (the
 * client's sequence number minus one) at counter now_counter.  have_ts
 * and tsecr come from the ACK.  On COOKIE_VALID fills o. */
enum cookie_result cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
				const struct conn_key *k, uint32_t irs, uint32_t cookie,
				uint32_t now_counter, bool have_ts, uint32_t tsecr,
				struct cookie_opts *o);

/* The per-period MAC keys of one master secret, kept for the periods a
 * cookie is checked against (the two valid ones, and the one before them
 * that tells an expired cookie from a forgery), so that a key is derived
 * once per period rather than for every cookie.  Mutable: one per engine
 * (thread). */
struct cookie_keys {
	uint8_t secret[COOKIE_SECRET_LEN];
	uint32_t t[4];                  /* the period in each slot (slot = t mod 4) */
	uint8_t have;                   /* bit i set: key[i] is t[i]'s key */
	uint8_t key[4][16];
};

/* Prepares ck for the master secret; no key is derived yet. */
void cookie_keys_init(struct cookie_keys *ck, const uint8_t secret[COOKIE_SECRET_LEN]);

/* cookie_make with the keys of ck (derived on first use of a period). */
uint32_t cookie_make_keys(struct cookie_keys *ck, const struct conn_key *k, uint32_t irs,
			  uint32_t counter, struct cookie_opts *o, uint32_t *ts_bits);

/* cookie_check with the keys of ck. */
enum cookie_result cookie_check_keys(struct cookie_keys *ck, const struct conn_key *k,
				     uint32_t irs, uint32_t cookie, uint32_t now_counter,
				     bool have_ts, uint32_t tsecr, struct cookie_opts *o);

/* The COOKIE_TS_BITS value cookie_make gives *ts_bits for options o (o
 * itself is not changed), without computing a MAC: a SYN-ACK retransmitted
 * for a stored cookie needs only these bits. */
uint32_t cookie_ts_bits(const struct cookie_opts *o);

/* Name of a result ("bad_mac", ...). */
const char *cookie_result_name(enum cookie_result r);

#endif
