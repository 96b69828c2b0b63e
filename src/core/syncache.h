/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hashed SYN cache: bounded half-open state, one entry per client SYN
 * the proxy answered, with SYN-ACK retransmission on an exponential
 * backoff.  See the design comment in syncache.c. */
#ifndef SP_SYNCACHE_H
#define SP_SYNCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* Bits of struct syn_state.flags. */
#define SS_WSCALE 0x01   /* client offered window scale */
#define SS_SACK 0x02     /* client offered SACK-permitted (and we agreed) */
#define SS_TS 0x04       /* client sent timestamps (and we agreed) */
#define SS_ECN 0x08      /* ECN-setup SYN accepted */

/* Everything the proxy must remember about a half-open connection. */
struct syn_state {
	struct conn_key key;
	uint32_t irs;        /* client ISN */
	uint32_t iss;        /* our ISN, sent in the SYN-ACK */
	uint32_t tsval;      /* client's TSval in its SYN (echoed in our SYN-ACK) */
	uint16_t mss;        /* client's MSS (536 when absent) */
	uint16_t win;        /* client's SYN window */
	uint8_t wscale;      /* client's window scale (when SS_WSCALE) */
	uint8_t flags;       /* SS_* */
	uint8_t our_ws;      /* the window scale our SYN-ACK announced (with
			      * SS_WSCALE); the rule is not stored: a reload
			      * may renumber the rules (see handshake.c) */
	uint8_t retries;     /* SYN-ACKs retransmitted so far */
};

struct syncache;

/* Sizes; buckets must be a power of two. */
struct syncache_limits {
	uint32_t buckets;
	uint32_t bucket_limit;
	uint32_t max_entries;
	uint8_t retries;         /* SYN-ACK retransmissions before giving up */
	uint32_t rto_ms;         /* first retransmission timeout (1000) */
};

enum sc_insert {
	SC_INSERTED,         /* stored */
	SC_EVICTED,          /* stored after evicting the bucket's oldest (*evicted filled) */
	SC_FULL,             /* not stored: bucket or table full and evict was false,
			      * or table full and this bucket has nothing to evict */
};

/* Why syncache_due reports an entry. */
enum sc_event {
	SC_RETRANSMIT,       /* send the SYN-ACK again; the entry stays */
	SC_EXPIRED,          /* retries exhausted; the entry is gone */
	SC_SHED,             /* due, but shedding was asked for; the entry is gone */
};

/* Bytes of one entry (for the memory report; asserted <= 64). */
size_t syncache_entry_size(void);

/* Bytes of one row: its header and its heap place (for the memory report). */
size_t syncache_row_size(void);

/* Bytes the cache allocated: its struct, rows, heap and entries. */
size_t syncache_memory(const struct syncache *sc);

/* Allocates a cache with the given limits; NULL on bad limits or no
 * memory.  The table is allocated once here and never grows. */
struct syncache *syncache_new(const struct syncache_limits *lim,
			      const uint8_t hashkey[SIPHASH_KEY_LEN]);

/* Frees the cache. */
void syncache_free(struct syncache *sc);

/* Stores s (its retries reset to 0) with the first retransmission due at
 * now_ms + rto, replacing any entry for the same key.  A full bucket, or a
 * full table, evicts the bucket's oldest entry when evict is true and the
 * bucket has one (copied to *evicted unless NULL), else fails. */
enum sc_insert syncache_insert(struct syncache *sc, const struct syn_state *s,
			       uint64_t now_ms, bool evict, struct syn_state *evicted);

/* Finds the entry for k; returns a pointer valid until the next call that
 * modifies the cache, or NULL. */
const struct syn_state *syncache_lookup(struct syncache *sc, const struct conn_key *k);

/* Removes the entry for k (copied to *out when out is non-NULL); returns
 * true when there was one. */
bool syncache_remove(struct syncache *sc, const struct conn_key *k, struct syn_state *out);

/* Resets the retransmission clock of k's entry as if its SYN-ACK had just
 * been sent (used when a duplicate SYN re-sends it); false when absent. */
bool syncache_touch(struct syncache *sc, const struct conn_key *k, uint64_t now_ms);

/* Reports up to max entries whose deadline is at or before now_ms, the
 * rows with the earliest deadlines first: each due entry either gets its
 * retry count bumped and its next deadline doubled (SC_RETRANSMIT) or is
 * removed, when retries are exhausted (SC_EXPIRED) or when shed is true
 * (SC_SHED).  Returns the number reported; call again while it returns
 * max.  Costs a row walk and a heap sift per row with something due. */
size_t syncache_due(struct syncache *sc, uint64_t now_ms, bool shed, struct syn_state *out,
		    enum sc_event *ev, size_t max);

/* Entries held now. */
uint32_t syncache_count(const struct syncache *sc);

/* The earliest deadline of any entry (UINT64_MAX when empty); a lower
 * bound, it may be earlier than the true one.  Constant time. */
uint64_t syncache_next_deadline(const struct syncache *sc);

/* Calls fn for every entry (for listings). */
void syncache_walk(const struct syncache *sc,
		   void (*fn)(const struct syn_state *s, uint64_t deadline_ms, void *ctx),
		   void *ctx);

#endif
