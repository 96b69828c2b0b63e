/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tuples that may have a conntrack entry with synproxyd's mark, so
 * that a new flow removes such an entry only where one can exist.
 *
 * A marked ESTABLISHED entry that outlived its connection would let the
 * handshake ACK of a new connection on the same tuple past the proxy
 * (rules.c, "Why not SYNs"), so a new flow used to cost a ctnetlink
 * DELETE every time, nearly always answered ENOENT.  Marked entries come
 * from three places only: this process's offloads (recorded before the
 * entry is made), entries of earlier processes and adopted connections
 * (recorded from a dump at start, before any packet is read).  An entry
 * leaves the set when conntrack reports its end (with the id it was
 * recorded with: a later entry of the same tuple stays) or when all of a
 * tuple's entries were deleted.  A set that would outgrow its bound stops
 * answering "no" for good, and every new flow deletes again.
 *
 * Tuples are kept as 64-bit SipHash values under a random key: two
 * tuples sharing one (2^-64) only cost a needless DELETE, except that the
 * end of one's entry could remove the other's, which the key makes
 * impossible to aim.  One mutex: the workers share the set because a
 * reinstalled rule set may hash a tuple to another queue. */
#ifndef SP_CTSEEN_H
#define SP_CTSEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct ctseen;

/* A set that holds at most max tuples (its table grows to twice that).
 * NULL with errno. */
struct ctseen *ctseen_new(size_t max);

/* Frees it (NULL is fine). */
void ctseen_free(struct ctseen *s);

/* k may have a marked entry, of conntrack id `id` (0: not known yet; an
 * entry about to be made).  Recording k again updates the id.  False when
 * the set is full (it then answers every ctseen_maybe with true). */
bool ctseen_put(struct ctseen *s, const struct conn_key *k, uint32_t id);

/* Whether k may have a marked entry. */
bool ctseen_maybe(struct ctseen *s, const struct conn_key *k);

/* Whether k is held with entry id `id` exactly (false once the set has
 * overflowed: it may have missed it). */
bool ctseen_has_id(struct ctseen *s, const struct conn_key *k, uint32_t id);

/* Conntrack ended k's entry `id`: k leaves the set if that is the entry it
 * was recorded with. */
void ctseen_gone(struct ctseen *s, const struct conn_key *k, uint32_t id);

/* Every entry of k was deleted: k leaves the set. */
void ctseen_drop(struct ctseen *s, const struct conn_key *k);

/* Tuples held, and whether the set overflowed. */
size_t ctseen_count(struct ctseen *s, bool *overflowed);

#endif
