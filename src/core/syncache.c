/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SYN cache: what the proxy remembers between answering a client's SYN
 * and seeing the ACK that completes the handshake.
 *
 * Contents.  One entry per answered SYN: the connection key, the client's
 * ISN and the options it offered (MSS, window, window scale, SACK,
 * timestamp, ECN), the ISN we answered with, the window scale we announced,
 * how many SYN-ACKs we have retransmitted, and when the next one is due.
 * Nothing points outside the entry (no packet buffers, no sockets), so an
 * entry can be dropped at any moment without cleanup.
 *
 * Layout.  A table of `buckets` rows (a power of two), each a singly linked
 * chain kept in insertion order: head is the oldest, tail the newest.  The
 * row is chosen by SipHash-2-4 of the 36 key bytes under a secret key,
 * masked to the table size, so a sender who does not know the secret
 * cannot aim SYNs at one row to push a chosen victim out of it.  Every
 * entry lives in one array of max_entries slots allocated by syncache_new;
 * links are 32-bit slot indexes, and unused slots form a free list.  Each
 * row also keeps its length and a 64-bit lower bound of its entries'
 * deadlines, kept in a 4-ary min-heap of rows, so the earliest deadline
 * is read at the top and the timer scan visits only rows with something
 * due (each costs one row walk and a log4(buckets) sift), never a walk of
 * every row.  The heap holds each row's bound itself, and a row's four
 * children share one 64-byte line, so a sift reads one line per level
 * (plus the moved rows' back-pointers) instead of a random row per
 * comparison.
 *
 * A SYN looks its key up and then, on a miss, inserts it: the cache keeps
 * the row and outcome of the last lookup for its key (forgotten by any
 * change), so the insertion neither hashes nor walks the row again.
 *
 * Limits.  A row holds at most bucket_limit entries and the table at most
 * max_entries.  When either limit stops an insertion and the caller allows
 * eviction, the row's oldest entry is dropped (and handed back) to make
 * room: a client that has been silent the longest is the least likely to
 * answer.  When the table is full and the target row is empty there is
 * nothing in that row to drop and the insertion fails, as it does whenever
 * eviction is not allowed; the engine then answers with a SYN cookie.
 * Re-inserting a key already present replaces the entry and moves it to
 * the row's tail (it is treated as a new SYN); syncache_touch keeps the
 * entry's place in the row.
 *
 * Shedding.  The caller may ask syncache_due to shed: a due entry is then
 * removed (SC_SHED) instead of being retransmitted.  The engine asks for it
 * while the cache is under pressure (docs/decisions.md): unanswered entries
 * then make room after one timeout instead of after the whole schedule,
 * and cost no SYN-ACK beyond the first.
 *
 * Retransmission.  With timeout R (rto_ms) and retry limit N, an entry
 * inserted at t (when its SYN-ACK went out) is retransmitted at
 * t + R(2^k - 1) for k = 1..N, each timeout doubling the one before, and
 * expires R * 2^N after the last retransmission, at t + R(2^(N+1) - 1).
 * With R = 1000 ms and N = 3: SYN-ACKs at +1 s, +3 s, +7 s, expiry at +15 s.
 * A later deadline is counted from the time syncache_due ran, not from the
 * missed deadline, so a late timer never produces a burst.  syncache_touch
 * (a duplicate SYN re-sent the SYN-ACK) restarts the schedule from zero.
 *
 * Time.  Deadlines are stored as the low 32 bits of now_ms and compared
 * wrap-safely (seq.h), which is exact while every deadline lies within
 * 2^31 ms of the time passed in.  Hence syncache_new refuses an
 * rto_ms << retries above 2^30 ms and the caller must call syncache_due at
 * least every 2^30 ms (about 12 days).  Row bounds are kept as full 64-bit
 * times so syncache_next_deadline needs no reconstruction; syncache_walk
 * widens each 32-bit deadline against the latest now_ms the cache was given.
 * now_ms is expected never to decrease.
 *
 * Threat model.  A spoofed SYN flood controls keys and timing but not the
 * hash secret.  It cannot grow memory: everything is allocated in
 * syncache_new and nothing afterwards.  It cannot make a lookup cost more
 * than bucket_limit key comparisons.  A timer call costs a walk and a heap
 * sift per row that has something due, and reports at most `max` entries,
 * resuming where it stopped next time.  Under a flood the
 * cache degrades to churn (oldest entries evicted) or, without eviction, to
 * cookies; it never blocks legitimate work for longer than one row walk.
 *
 * Memory.  64 bytes per entry (struct syn_state is 56, plus a 32-bit
 * deadline and a 32-bit link), 24 bytes per row and 16 per heap place,
 * plus the small header: 64 * max_entries + 40 * buckets + 128 +
 * sizeof(struct syncache).  For example 65536 entries in 16384 rows take
 * 4 MiB + 640 KiB.
 *
 * Row filter.  Under a flood every row is full and nearly every SYN is
 * new, so a lookup would walk bucket_limit entries, one cache miss each,
 * to find nothing.  Each row keeps a 64-bit filter with the bit of every
 * key in it (6 bits of a cheap unkeyed mix of the key: choosing them buys
 * an attacker nothing but the full walk every lookup would take without
 * the filter); a lookup whose bit is clear skips the walk.  Bits are set
 * on insertion and recomputed from the remaining entries when entries
 * leave, so the filter never grows stale.
 *
 * Reference for the general shape (hashed rows, per-row and total limits,
 * dropping a row's oldest entry on overflow, per-row next-timeout hints,
 * exponential SYN-ACK backoff, falling back to cookies alone under
 * pressure): FreeBSD sys/netinet/tcp_syncache.c and
 * Jonathan Lemon, "Resisting SYN flood DoS attacks with a SYN cache",
 * BSDCon 2002.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "seq.h"
#include "syncache.h"

#define NIL UINT32_MAX
#define SC_MAX_TIMEOUT (UINT32_C(1) << 30)

struct entry {
	struct syn_state s;
	uint32_t deadline;   /* low 32 bits of the ms time the next event is due */
	uint32_t next;       /* next slot in the row, or in the free list; NIL ends */
};

_Static_assert(sizeof(struct conn_key) == 36, "conn_key must have no padding to be hashed");
_Static_assert(sizeof(struct syn_state) == 56, "syn_state layout changed");
_Static_assert(sizeof(struct entry) == 64, "a SYN cache entry must be 64 bytes");

struct bucket {
	uint32_t head;       /* oldest */
	uint32_t tail;       /* newest */
	uint32_t count;
	uint32_t hpos;       /* place in the heap, which holds the row's bound */
	uint64_t filter;     /* tag_bit() of every key in the row */
};

/* A heap place: a row and its bound (<= every deadline in the row;
 * UINT64_MAX when the row is empty). */
struct hplace {
	uint64_t bound;
	uint32_t row;
	uint32_t unused;
};

/* Heap place k lives at slot k + HEAP_SKEW of a 64-byte aligned array, so
 * the children 4k+1..4k+4 of any place fill exactly one line. */
#define HEAP_SKEW 3

_Static_assert(sizeof(struct bucket) == 24, "the design comment's memory figure assumes this");
_Static_assert(sizeof(struct hplace) == 16, "four heap places must fill a 64-byte line");

struct syncache {
	struct syncache_limits lim;
	uint8_t hashkey[SIPHASH_KEY_LEN];
	uint32_t mask;
	uint32_t count;
	uint32_t free_head;
	uint64_t now;        /* latest now_ms seen: anchors 32-bit deadlines */
	struct bucket *buckets;
	void *heap_mem;      /* what calloc returned for the heap */
	struct hplace *heap; /* the rows, a 4-ary min-heap on their bound */
	struct entry *entries;
	/* The last lookup: its key, row and slot (NIL: absent), while valid. */
	bool memo_valid;
	struct conn_key memo_key;
	uint32_t memo_row;
	uint32_t memo_slot;
	uint32_t memo_prev;
};

size_t syncache_entry_size(void)
{
	return sizeof(struct entry);
}

size_t syncache_row_size(void)
{
	return sizeof(struct bucket) + sizeof(struct hplace);
}

size_t syncache_memory(const struct syncache *sc)
{
	return sizeof(*sc) + (size_t)sc->lim.buckets * sizeof(*sc->buckets) +
	       ((size_t)sc->lim.buckets + 8) * sizeof(*sc->heap) +
	       (size_t)sc->lim.max_entries * sizeof(*sc->entries);
}

static bool limits_ok(const struct syncache_limits *lim)
{
	if (lim->buckets == 0 || (lim->buckets & (lim->buckets - 1)) != 0)
		return false;
	if (lim->bucket_limit == 0 || lim->max_entries == 0 || lim->max_entries >= NIL)
		return false;
	/* A row that can never fill would make the row limit a lie. */
	if (lim->bucket_limit > lim->max_entries)
		return false;
	if (lim->rto_ms == 0 || lim->retries > 30)
		return false;
	return ((uint64_t)lim->rto_ms << lim->retries) <= SC_MAX_TIMEOUT;
}

struct syncache *syncache_new(const struct syncache_limits *lim,
			      const uint8_t hashkey[SIPHASH_KEY_LEN])
{
	struct syncache *sc;

	assert(lim && hashkey);
	if (!limits_ok(lim))
		return NULL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->buckets = calloc(lim->buckets, sizeof(*sc->buckets));
	sc->heap_mem = calloc((size_t)lim->buckets + 8, sizeof(*sc->heap));
	sc->entries = calloc(lim->max_entries, sizeof(*sc->entries));
	if (!sc->buckets || !sc->heap_mem || !sc->entries) {
		syncache_free(sc);
		return NULL;
	}
	/* calloc's 16-byte alignment leaves at most 3 places before a line. */
	sc->heap = (struct hplace *)(((uintptr_t)sc->heap_mem + 63) & ~(uintptr_t)63) + HEAP_SKEW;
	sc->lim = *lim;
	memcpy(sc->hashkey, hashkey, SIPHASH_KEY_LEN);
	sc->mask = lim->buckets - 1;
	for (uint32_t i = 0; i < lim->buckets; i++) {
		sc->buckets[i].head = NIL;
		sc->buckets[i].tail = NIL;
		sc->buckets[i].hpos = i;
		/* Every bound equal: already a heap. */
		sc->heap[i] = (struct hplace){ .bound = UINT64_MAX, .row = i };
	}
	for (uint32_t i = 0; i < lim->max_entries; i++)
		sc->entries[i].next = i + 1 < lim->max_entries ? i + 1 : NIL;
	return sc;
}

void syncache_free(struct syncache *sc)
{
	if (!sc)
		return;
	free(sc->entries);
	free(sc->heap_mem);
	free(sc->buckets);
	free(sc);
}

/* The full time of a 32-bit deadline, taken as the one within 2^31 ms of
 * now; 0 for a deadline that would fall before time 0. */
static uint64_t widen(uint64_t now, uint32_t dl)
{
	int64_t d = (int32_t)(dl - (uint32_t)now);

	if (d < 0 && (uint64_t)-d > now)
		return 0;
	return now + (uint64_t)d;
}

static void note_time(struct syncache *sc, uint64_t now_ms)
{
	if (now_ms > sc->now)
		sc->now = now_ms;
}

static uint32_t row_of(const struct syncache *sc, const struct conn_key *k)
{
	return (uint32_t)siphash24(sc->hashkey, k, sizeof(*k)) & sc->mask;
}

/* The key's bit in its row's filter (see "Row filter" above). */
static uint64_t tag_bit(const struct conn_key *k)
{
	uint32_t x = get_be32(k->caddr.a + 12) ^ get_be32(k->caddr.a + 8) ^
		     ((uint32_t)k->cport << 16 | k->sport);

	return UINT64_C(1) << ((x * UINT32_C(0x9e3779b1)) >> 26);
}

/* Recomputes b's filter from the entries left in it. */
static void refilter(struct syncache *sc, struct bucket *b)
{
	uint64_t f = 0;

	for (uint32_t i = b->head; i != NIL; i = sc->entries[i].next)
		f |= tag_bit(&sc->entries[i].s.key);
	b->filter = f;
}

static void heap_put(struct syncache *sc, uint32_t pos, struct hplace p)
{
	sc->heap[pos] = p;
	sc->buckets[p.row].hpos = pos;
}

/* Moves the row at heap place pos up or down to where its bound belongs. */
static void heap_fix(struct syncache *sc, uint32_t pos)
{
	struct hplace x = sc->heap[pos];
	uint32_t n = sc->mask + 1;

	while (pos > 0 && sc->heap[(pos - 1) / 4].bound > x.bound) {
		heap_put(sc, pos, sc->heap[(pos - 1) / 4]);
		pos = (pos - 1) / 4;
	}
	for (;;) {
		uint32_t c = 4 * pos + 1, best = c;

		if (c >= n)
			break;
		for (uint32_t j = c + 1; j < c + 4 && j < n; j++)
			if (sc->heap[j].bound < sc->heap[best].bound)
				best = j;
		if (sc->heap[best].bound >= x.bound)
			break;
		heap_put(sc, pos, sc->heap[best]);
		pos = best;
	}
	heap_put(sc, pos, x);
}

static uint64_t bound_of(const struct syncache *sc, const struct bucket *b)
{
	return sc->heap[b->hpos].bound;
}

static void set_bound(struct syncache *sc, struct bucket *b, uint64_t bound)
{
	sc->heap[b->hpos].bound = bound;
	heap_fix(sc, b->hpos);
}

/* Lowers b's bound to dl when dl is earlier. */
static void lower_bound(struct syncache *sc, struct bucket *b, uint64_t dl)
{
	if (dl < bound_of(sc, b))
		set_bound(sc, b, dl);
}

/* The slot holding k in b, or NIL; *prev gets its predecessor (NIL at the
 * head). */
static uint32_t find(const struct syncache *sc, const struct bucket *b,
		     const struct conn_key *k, uint32_t *prev)
{
	uint32_t p = NIL;

	*prev = NIL;
	if (!(b->filter & tag_bit(k)))
		return NIL;
	for (uint32_t i = b->head; i != NIL; p = i, i = sc->entries[i].next) {
		if (conn_key_eq(&sc->entries[i].s.key, k)) {
			*prev = p;
			return i;
		}
	}
	*prev = NIL;
	return NIL;
}

/* Finds k: its row in *row, its slot (or NIL) returned, as find does.  The
 * answer of the last call is reused while nothing changed. */
static uint32_t locate(struct syncache *sc, const struct conn_key *k, uint32_t *row,
		       uint32_t *prev)
{
	if (sc->memo_valid && conn_key_eq(&sc->memo_key, k)) {
		*row = sc->memo_row;
		*prev = sc->memo_prev;
		return sc->memo_slot;
	}
	*row = row_of(sc, k);
	sc->memo_key = *k;
	sc->memo_row = *row;
	sc->memo_slot = find(sc, &sc->buckets[*row], k, &sc->memo_prev);
	sc->memo_valid = true;
	*prev = sc->memo_prev;
	return sc->memo_slot;
}

/* Takes slot i out of b's chain, leaving b's bound alone. */
static void detach(struct syncache *sc, struct bucket *b, uint32_t i, uint32_t prev)
{
	uint32_t next = sc->entries[i].next;

	assert(b->count > 0);
	sc->memo_valid = false;
	if (prev == NIL)
		b->head = next;
	else
		sc->entries[prev].next = next;
	if (b->tail == i)
		b->tail = prev;
	b->count--;
}

/* Takes slot i out of b's chain; the slot stays counted in the table. */
static void unlink_slot(struct syncache *sc, struct bucket *b, uint32_t i, uint32_t prev)
{
	detach(sc, b, i, prev);
	refilter(sc, b);
	if (b->count == 0)
		set_bound(sc, b, UINT64_MAX);
}

static void release_slot(struct syncache *sc, uint32_t i)
{
	sc->entries[i].next = sc->free_head;
	sc->free_head = i;
	sc->count--;
}

/* Fills slot i with s, due after one rto, and appends it to b as newest. */
static void store(struct syncache *sc, struct bucket *b, uint32_t i,
		  const struct syn_state *s, uint64_t now_ms)
{
	struct entry *e = &sc->entries[i];
	uint64_t dl = now_ms + sc->lim.rto_ms;

	sc->memo_valid = false;
	e->s = *s;
	e->s.retries = 0;
	e->deadline = (uint32_t)dl;
	e->next = NIL;
	if (b->tail == NIL)
		b->head = i;
	else
		sc->entries[b->tail].next = i;
	b->tail = i;
	b->count++;
	b->filter |= tag_bit(&s->key);
	lower_bound(sc, b, dl);
}

enum sc_insert syncache_insert(struct syncache *sc, const struct syn_state *s,
			       uint64_t now_ms, bool evict, struct syn_state *evicted)
{
	enum sc_insert res = SC_INSERTED;
	uint32_t row, prev, i;
	struct bucket *b;

	note_time(sc, now_ms);
	i = locate(sc, &s->key, &row, &prev);
	b = &sc->buckets[row];
	if (i != NIL) {
		unlink_slot(sc, b, i, prev);
	} else if (b->count >= sc->lim.bucket_limit || sc->count >= sc->lim.max_entries) {
		if (!evict || b->count == 0)
			return SC_FULL;
		/* The oldest's slot is reused at once: the table count holds. */
		i = b->head;
		if (evicted)
			*evicted = sc->entries[i].s;
		unlink_slot(sc, b, i, NIL);
		res = SC_EVICTED;
	} else {
		assert(sc->free_head != NIL);
		i = sc->free_head;
		sc->free_head = sc->entries[i].next;
		sc->count++;
	}
	store(sc, b, i, s, now_ms);
	return res;
}

const struct syn_state *syncache_lookup(struct syncache *sc, const struct conn_key *k)
{
	uint32_t row, prev, i = locate(sc, k, &row, &prev);

	return i == NIL ? NULL : &sc->entries[i].s;
}

bool syncache_remove(struct syncache *sc, const struct conn_key *k, struct syn_state *out)
{
	uint32_t row, prev, i = locate(sc, k, &row, &prev);

	if (i == NIL)
		return false;
	if (out)
		*out = sc->entries[i].s;
	unlink_slot(sc, &sc->buckets[row], i, prev);
	release_slot(sc, i);
	return true;
}

bool syncache_touch(struct syncache *sc, const struct conn_key *k, uint64_t now_ms)
{
	uint32_t row, prev, i = locate(sc, k, &row, &prev);
	uint64_t dl = now_ms + sc->lim.rto_ms;

	note_time(sc, now_ms);
	if (i == NIL)
		return false;
	sc->entries[i].s.retries = 0;
	sc->entries[i].deadline = (uint32_t)dl;
	lower_bound(sc, &sc->buckets[row], dl);
	return true;
}

/* Handles the due entries of b, reporting at most room of them, and
 * recomputes b's bound exactly.  *left says whether a due entry had to be
 * left for the next call. */
static size_t scan(struct syncache *sc, struct bucket *b, uint64_t now_ms, bool shed,
		   struct syn_state *out, enum sc_event *ev, size_t room, bool *left)
{
	uint32_t now32 = (uint32_t)now_ms, prev = NIL, next;
	uint64_t bound = UINT64_MAX, dl, filter = 0;
	size_t n = 0;

	*left = false;
	sc->memo_valid = false;
	for (uint32_t i = b->head; i != NIL; i = next) {
		struct entry *e = &sc->entries[i];

		next = e->next;
		if (seq_after(e->deadline, now32) || n == room) {
			*left |= !seq_after(e->deadline, now32);
			dl = widen(now_ms, e->deadline);
		} else if (!shed && e->s.retries < sc->lim.retries) {
			e->s.retries++;
			dl = now_ms + ((uint64_t)sc->lim.rto_ms << e->s.retries);
			e->deadline = (uint32_t)dl;
			out[n] = e->s;
			ev[n++] = SC_RETRANSMIT;
		} else {
			out[n] = e->s;
			ev[n++] = e->s.retries < sc->lim.retries ? SC_SHED : SC_EXPIRED;
			/* The bound is rewritten below. */
			detach(sc, b, i, prev);
			release_slot(sc, i);
			continue;
		}
		if (dl < bound)
			bound = dl;
		filter |= tag_bit(&e->s.key);
		prev = i;
	}
	b->filter = filter;
	set_bound(sc, b, bound);
	return n;
}

/* Expects out and ev to hold max elements each. */
size_t syncache_due(struct syncache *sc, uint64_t now_ms, bool shed, struct syn_state *out,
		    enum sc_event *ev, size_t max)
{
	size_t n = 0;

	assert(max == 0 || (out && ev));
	note_time(sc, now_ms);
	/* Each round either reports every due entry of the top row, pushing
	 * it down, or runs out of room and returns; the top row is where the
	 * next call resumes, so no row is rescanned or starved. */
	for (uint32_t rounds = 0; rounds <= sc->mask && n < max; rounds++) {
		struct bucket *b = &sc->buckets[sc->heap[0].row];
		bool left;

		if (sc->heap[0].bound > now_ms)
			break;
		n += scan(sc, b, now_ms, shed, out + n, ev + n, max - n, &left);
		if (left)
			break;
	}
	return n;
}

uint32_t syncache_count(const struct syncache *sc)
{
	return sc->count;
}

uint64_t syncache_next_deadline(const struct syncache *sc)
{
	return sc->heap[0].bound;
}

/* Expects fn not to modify the cache. */
void syncache_walk(const struct syncache *sc,
		   void (*fn)(const struct syn_state *s, uint64_t deadline_ms, void *ctx),
		   void *ctx)
{
	assert(fn);
	for (uint32_t r = 0; r <= sc->mask; r++) {
		for (uint32_t i = sc->buckets[r].head; i != NIL; i = sc->entries[i].next)
			fn(&sc->entries[i].s, widen(sc->now, sc->entries[i].deadline), ctx);
	}
}
