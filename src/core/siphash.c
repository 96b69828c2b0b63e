/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SipHash-2-4 for the core; the body is siphash_impl.h, which the XDP
 * stage compiles too. */
#include "siphash.h"

#include "siphash_impl.h"

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
	return sip24(key, data, len);
}
