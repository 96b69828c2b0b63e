/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SYN cookies for synproxyd.
 *
 * What they are for.  When the SYN cache is full (or the operator asked
 * for cookies always), the proxy answers a SYN without keeping any state:
 * everything it must remember about the half-open connection is folded
 * into the 32-bit ISN of its SYN-ACK.  A legitimate client echoes that
 * ISN + 1 in the acknowledgement field of its ACK; the proxy recomputes a
 * MAC over the connection and, if it matches, rebuilds the connection and
 * only then opens the backend connection.  A flood of spoofed SYNs thus
 * costs the proxy a few SipHash calls per SYN and no memory.
 *
 * What must survive the handshake.  The backend SYN the proxy sends later
 * must announce the client's options, or the backend would mis-size its
 * segments or mis-read the client's windows:
 *  MSS:     the backend must never send segments larger than the client
 *           announced, so the MSS is rounded DOWN to an 8-entry table.
 *  WSCALE:  the shift the client applies to its advertised windows.
 *           Rounding it down makes the backend under-estimate the client's
 *           window, which costs throughput but never overruns the client.
 *           Absence of the option is its own table index (0).
 *  SACK:    one bit.
 *  ECN:     only with timestamps (below); a cookie without timestamps
 *           drops ECN rather than steal a MAC bit for it, so ECN is not
 *           offered to a client without timestamps (handshake.c).
 *  TS:      its presence is visible again in the ACK, so it needs no bit.
 * When the client sent timestamps, six more bits ride in the low bits of
 * our TSval and come back in the client's TSecr: the EXACT window scale
 * and the SACK and ECN flags.  Those bits are covered by the MAC too, so
 * they are as trustworthy as the ISN's.
 *
 * Layout of the cookie ISN (bit 31 is the most significant):
 *
 *   31                             8   7   6   4   3   1   0
 *  +--------------------------------+---+-------+-------+---+
 *  |        MAC (24 bits)           | P |  MSS  |  WS   | S |
 *  +--------------------------------+---+-------+-------+---+
 *
 *   MAC  top 24 bits of the SipHash described below
 *   P    parity of the time counter t the cookie was made at (t & 1)
 *   MSS  index into the MSS table
 *   WS   index into the window-scale table; 0 = no window scale offered
 *   S    SACK permitted
 *
 * Layout of the timestamp bits (low COOKIE_TS_BITS bits of our TSval, only
 * when the client's SYN carried a timestamp option):
 *
 *    5       2   1   0
 *  +-----------+---+---+
 *  |  WSCALE   | S | E |
 *  +-----------+---+---+
 *
 *   WSCALE  the exact shift 0..14, or 15 when none was offered
 *   S       SACK permitted
 *   E       ECN (the SYN asked for ECN with ECE+CWR)
 *
 * The low byte is sent in the clear: it only repeats options the client
 * itself sent in its SYN, so it reveals nothing an observer lacks.
 *
 * Tables (cookie_enc.h, which the XDP stage compiles too, holds them with
 * the bit layout and the MAC).  MSS values, ascending; a client value
 * between entries uses the entry below it:
 *    536  the IPv4 default (RFC 9293) and the floor of the table
 *   1220  IPv6 minimum link MTU 1280 minus 60
 *   1360  IPsec (the usual clamp), IPv6 over 1420-byte WireGuard tunnels
 *   1400  generic tunnels, MSS clamping on VPN gateways
 *   1440  IPv6 over Ethernet (1500 - 60)
 *   1452  IPv4 over PPPoE (1492 - 40), a very common DSL value
 *   1460  IPv4 over Ethernet (1500 - 40), the most common value of all
 *   8960  IPv4 over 9000-byte jumbo frames (data centres)
 * A client announcing less than 536 is given 536: it is the smallest
 * segment every IPv4 host must accept (a 576-byte datagram, RFC 1122) and
 * tiny MSS values are mostly resource-exhaustion probes.  This is the one
 * case where the encoded MSS exceeds the client's.
 * Window scale shifts: none, 0, 2, 4, 6, 7, 8, 9.  Common stacks announce
 * 6 to 9 (Linux usually 7, Windows 8, macOS 6), hosts tuned for large
 * buffers 9 and above, small or old stacks 0 to 2; odd shifts below 6 are
 * rare.  Values above 14 are taken as 14 (RFC 7323 section 2.3) before
 * rounding.
 *
 * Time counter and secrets.  t = now_ms / COOKIE_PERIOD_MS, a 64-second
 * step.  Each step has its own 16-byte SipHash key, derived from the
 * 32-byte master secret:
 *   K(t) = SipHash(master[0..15],  L | t)  ||  SipHash(master[16..31], L | t)
 * with L the 16 ASCII bytes "synproxyd cookie", t 4 bytes big-endian and
 * each 64-bit output stored little-endian.  The key therefore rotates every
 * period without any timer or shared mutable state, and proxies that hold
 * the same master secret (a shared secret file) and agree on the clock
 * validate each other's cookies.  Deterministic derivation also makes
 * replay tests reproducible.
 * A cookie made at counter t is accepted while the current counter is t or
 * t + 1, i.e. for 64 to 128 seconds: long enough for a slow client's
 * retransmitted ACK, short enough to bound replays.  The parity bit tells
 * the checker which of the two counters to try, so a check costs one MAC.
 * A cookie from t - 2 or t - 3 (same parity, one period further back) is
 * recognised only to count it as expired rather than forged.
 *
 * What the MAC covers (46 bytes, integers big-endian):
 *   caddr(16) saddr(16) cport(2) sport(2) irs(4) t(4) low-byte(1) tsb(1)
 * where low-byte is the cookie's bits 7..0 and tsb the six timestamp bits,
 * or 0xff when the SYN carried no timestamp (a value the six bits can
 * never take, so "no TS" and every TS encoding are distinct inputs).
 * Covering irs ties the cookie to one SYN, t to one period, and the option
 * bits make it impossible to alter any option without breaking the MAC.
 *
 * Threat model.  The attacker is off-path: it can send packets with any
 * source address but cannot see our SYN-ACKs to spoofed addresses.  Its
 * goals are (a) to exhaust the proxy's memory or CPU, (b) to make the
 * proxy open a backend connection from a spoofed address (bypassing
 * source-based policy), (c) to plant wrong options for a connection.
 *  (a) A SYN costs three SipHash calls and no state; a bad ACK costs at
 *      most six (two key derivations, two MACs, the second for the
 *      expired check), a few hundred nanoseconds.
 *  (b) Without the master secret, an ACK carries a valid cookie with
 *      probability 2^-24 per packet (the MAC is checked against exactly one
 *      counter, and every choice of the low byte or TSecr bits is just a
 *      different 24-bit target).  A blind attacker needs 2^24 (about 16.8
 *      million) packets on average for one spoofed connection, about 11.6
 *      million for a 50% chance and 38.6 million for 90%; at one million
 *      packets per second that is one spoofed connection every ~17 seconds,
 *      each of which it then has to drive blind.  Rate limits upstream of
 *      the cookie check cut this further.
 *  (c) Options are inside the MAC; flipping any bit fails the check.
 *  Recovering the secret means breaking SipHash-2-4 as a PRF (128-bit key);
 *  a leaked per-period key K(t) exposes only its own period, never the
 *  master or other periods.  An on-path attacker sees the cookie and can
 *  complete the handshake for that tuple, but it could hijack the
 *  connection anyway; cookies do not defend against it.
 *
 * Deliberate limits.  An ACK whose timestamp presence differs from its SYN
 * fails as a bad MAC.  TS in the SYN but none in the ACK breaks RFC 7323,
 * and recovering the six bits without a TSecr would mean trying all 64
 * values, multiplying both the CPU cost and a forger's odds by 64.  TS in
 * the ACK but not in the SYN only happens when something stripped the
 * SYN's option (our SYN-ACK carries TS only if the SYN did); accepting it
 * would need a second MAC candidate and halve the forgery margin.  There
 * is therefore no distinct "bad timestamp" result.  Clocks of proxies
 * sharing a master must agree to well within a period.
 *
 * References:
 *  D. J. Bernstein, SYN cookies, https://cr.yp.to/syncookies.html (1996)
 *  RFC 4987  TCP SYN Flooding Attacks and Common Mitigations
 *  RFC 7323  TCP Extensions for High Performance (window scale, timestamps)
 *  RFC 9293  Transmission Control Protocol (MSS defaults)
 *  J.-P. Aumasson, D. J. Bernstein, SipHash: a fast short-input PRF (2012)
 *  FreeBSD sys/netinet/tcp_syncache.c (the shape of this comment, the idea
 *  of table indexes and a parity bit) and Linux net/ipv4/syncookies.c
 *  (options in the timestamp).
 */
#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "bytes.h"
#include "cookie.h"
#include "cookie_enc.h"
#include "siphash.h"

_Static_assert(COOKIE_TS_FIELD_BITS == COOKIE_TS_BITS, "one TS field width");
_Static_assert(COOKIE_WS_ABSENT == COOKIE_NO_WSCALE, "one 'no window scale'");
_Static_assert(COOKIE_PERIOD_MS_ENC == COOKIE_PERIOD_MS, "one period");

static const char cookie_label[16] = {
	's', 'y', 'n', 'p', 'r', 'o', 'x', 'y', 'd', ' ', 'c', 'o', 'o', 'k', 'i', 'e',
};

uint32_t cookie_counter(uint64_t now_ms)
{
	return (uint32_t)(now_ms / COOKIE_PERIOD_MS);
}

void cookie_period_key(const uint8_t secret[COOKIE_SECRET_LEN], uint32_t t,
		       uint8_t key[SIPHASH_KEY_LEN])
{
	uint8_t msg[sizeof(cookie_label) + 4];
	uint64_t h0, h1;

	memcpy(msg, cookie_label, sizeof(cookie_label));
	put_be32(msg + sizeof(cookie_label), t);
	h0 = siphash24(secret, msg, sizeof(msg));
	h1 = siphash24(secret + SIPHASH_KEY_LEN, msg, sizeof(msg));
	for (int i = 0; i < 8; i++) {
		key[i] = (uint8_t)(h0 >> (8 * i));
		key[8 + i] = (uint8_t)(h1 >> (8 * i));
	}
}

/* The key of period t: from ck's slot t mod 4 (t, t - 1 and t - 2 never
 * share one), derived into it when the slot holds another period. */
static const uint8_t *period_key_cached(struct cookie_keys *ck, uint32_t t)
{
	unsigned slot = t & 3u;

	if (!(ck->have & (1u << slot)) || ck->t[slot] != t) {
		cookie_period_key(ck->secret, t, ck->key[slot]);
		ck->t[slot] = t;
		ck->have |= (uint8_t)(1u << slot);
	}
	return ck->key[slot];
}

/* The MAC of one cookie for k under a period key (cookie_enc.h). */
static uint32_t mac(const uint8_t key[SIPHASH_KEY_LEN], const struct conn_key *k,
		    uint32_t irs, uint32_t t, uint8_t low, uint8_t tsb)
{
	struct cookie_in in = {
		.caddr = k->caddr.a, .saddr = k->saddr.a, .cport = k->cport, .sport = k->sport,
		.irs = irs, .t = t, .low = low, .tsb = tsb,
	};

	return cookie_mac24(key, &in);
}

uint32_t cookie_ts_bits(const struct cookie_opts *o)
{
	struct cookie_opts c = *o;

	if (c.wscale != COOKIE_NO_WSCALE && c.wscale > COOKIE_WS_MAX)
		c.wscale = COOKIE_WS_MAX;
	return cookie_ts_field(c.wscale, c.sack, c.ecn);
}

void cookie_keys_init(struct cookie_keys *ck, const uint8_t secret[COOKIE_SECRET_LEN])
{
	memset(ck, 0, sizeof(*ck));
	memcpy(ck->secret, secret, COOKIE_SECRET_LEN);
}

/* Expects ck, k, o non-NULL, and ts_bits non-NULL when o->ts. */
uint32_t cookie_make_keys(struct cookie_keys *ck, const struct conn_key *k, uint32_t irs,
			  uint32_t counter, struct cookie_opts *o, uint32_t *ts_bits)
{
	unsigned mi, wi = 0;
	uint8_t low, tsb = COOKIE_NO_TS;

	assert(ck != NULL && k != NULL && o != NULL);
	assert(!o->ts || ts_bits != NULL);

	mi = cookie_mss_index(o->mss);
	o->mss = cookie_mss_value(mi);
	if (o->wscale != COOKIE_NO_WSCALE) {
		if (o->wscale > COOKIE_WS_MAX)
			o->wscale = COOKIE_WS_MAX;
		wi = cookie_ws_index(o->wscale);
	}
	low = cookie_low_byte(counter, mi, wi, o->sack);

	if (o->ts) {
		/* The exact shift travels in the timestamp, so o keeps it. */
		tsb = cookie_ts_field(o->wscale, o->sack, o->ecn);
		*ts_bits = tsb;
	} else {
		if (wi != 0)
			o->wscale = cookie_ws_value(wi);
		o->ecn = false;
	}
	return mac(period_key_cached(ck, counter), k, irs, counter, low, tsb) | low;
}

/* Expects secret, k, o non-NULL, and ts_bits non-NULL when o->ts. */
uint32_t cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const struct conn_key *k,
		     uint32_t irs, uint32_t counter, struct cookie_opts *o,
		     uint32_t *ts_bits)
{
	struct cookie_keys ck;

	assert(secret != NULL);
	cookie_keys_init(&ck, secret);
	return cookie_make_keys(&ck, k, irs, counter, o, ts_bits);
}

/* Expects secret, k, o non-NULL. */
enum cookie_result cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
				const struct conn_key *k, uint32_t irs, uint32_t cookie,
				uint32_t now_counter, bool have_ts, uint32_t tsecr,
				struct cookie_opts *o)
{
	struct cookie_keys ck;

	assert(secret != NULL);
	cookie_keys_init(&ck, secret);
	return cookie_check_keys(&ck, k, irs, cookie, now_counter, have_ts, tsecr, o);
}

/* Expects ck, k, o non-NULL. */
enum cookie_result cookie_check_keys(struct cookie_keys *ck, const struct conn_key *k,
				     uint32_t irs, uint32_t cookie, uint32_t now_counter,
				     bool have_ts, uint32_t tsecr, struct cookie_opts *o)
{
	uint8_t low = (uint8_t)(cookie & COOKIE_LOW_MASK);
	uint8_t tsb = have_ts ? (uint8_t)(tsecr & COOKIE_TS_MASK) : COOKIE_NO_TS;
	unsigned mi = (low >> COOKIE_MSS_SHIFT) & COOKIE_INDEX_MASK;
	unsigned wi = (low >> COOKIE_WS_SHIFT) & COOKIE_INDEX_MASK;
	uint32_t t = now_counter;

	assert(ck != NULL && k != NULL && o != NULL);

	/* Counters wrap modulo 2^32, an even number, so parity survives. */
	if (((low >> COOKIE_PARITY_SHIFT) & 1u) != (now_counter & 1u))
		t--;
	if (mac(period_key_cached(ck, t), k, irs, t, low, tsb) != (cookie & ~COOKIE_LOW_MASK)) {
		/* Only to tell an expired cookie from a forgery. */
		if (mac(period_key_cached(ck, t - 2), k, irs, t - 2, low, tsb) ==
		    (cookie & ~COOKIE_LOW_MASK))
			return COOKIE_EXPIRED;
		return COOKIE_BAD_MAC;
	}

	o->mss = cookie_mss_value(mi);
	o->ts = have_ts;
	if (have_ts) {
		unsigned ws = tsb >> COOKIE_TS_WS_SHIFT;

		o->wscale = ws == COOKIE_TS_WS_NONE ? COOKIE_NO_WSCALE : (uint8_t)ws;
		o->sack = (tsb & COOKIE_TS_SACK) != 0;
		o->ecn = (tsb & COOKIE_TS_ECN) != 0;
	} else {
		o->wscale = wi == 0 ? COOKIE_NO_WSCALE : cookie_ws_value(wi);
		o->sack = (low & COOKIE_SACK_BIT) != 0;
		o->ecn = false;
	}
	return COOKIE_VALID;
}

const char *cookie_result_name(enum cookie_result r)
{
	static const char *const names[COOKIE_RESULT_MAX] = {
		[COOKIE_VALID] = "valid",
		[COOKIE_BAD_MAC] = "bad_mac",
		[COOKIE_EXPIRED] = "expired",
	};

	if ((unsigned)r >= COOKIE_RESULT_MAX || names[r] == NULL)
		return "unknown";
	return names[r];
}
