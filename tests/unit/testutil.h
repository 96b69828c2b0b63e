/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers and test vectors shared by several unit tests. */
#ifndef SP_TESTUTIL_H
#define SP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

/* The redis-cli capture from the seed article (10.179.181.97 ->
 * 10.96.92.212; bytes of a test only, never sent): the client's SYN and
 * its "ping" data segment, with their real checksums. */
static const char syn_hex[] =
	"4500 003c 08cf 4000 3606 14a5 0ab3 b561 0a60 5cd4 989e 18eb f65a ebff 0000 0000"
	"a002 7210 872f 0000 0204 05b4 0402 080a b062 e330 0000 0000 0103 0307";
static const char ping_hex[] =
	"4500 0042 08d1 4000 3606 149d 0ab3 b561 0a60 5cd4 989e 18eb f65a ec00 fe33 5504"
	"8018 00e5 4b5f 0000 0101 080a b062 ecac bab2 6fe6 2a31 0d0a 2434 0d0a 7069 6e67 0d0a";


/* Decodes hex digits (anything else is skipped) into out; returns the byte
 * count. */
static inline size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v;

		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}


static inline void set_v4(struct addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a->a, 0, 10);
	a->a[10] = 0xff;
	a->a[11] = 0xff;
	a->a[12] = b0;
	a->a[13] = b1;
	a->a[14] = b2;
	a->a[15] = b3;
}


/* 192.0.2.1:40000 -> 198.51.100.7:80 */
static inline void key_v4(struct conn_key *k)
{
	set_v4(&k->caddr, 192, 0, 2, 1);
	set_v4(&k->saddr, 198, 51, 100, 7);
	k->cport = 40000;
	k->sport = 80;
}


#endif
