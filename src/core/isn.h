/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Keyed initial sequence numbers in the manner of RFC 6528:
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where
 * M is a 4-microsecond timer and F is SipHash-2-4. */
#ifndef SP_ISN_H
#define SP_ISN_H

#include <stdint.h>

#include "addr.h"
#include "siphash.h"

/* The ISN for connection k at time now_ms under key. */
uint32_t isn_generate(const uint8_t key[SIPHASH_KEY_LEN], const struct conn_key *k,
		      uint64_t now_ms);

#endif
