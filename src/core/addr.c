/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Addresses (IPv4 kept as IPv4-mapped IPv6), prefixes, their text forms
 * and connection keys (see addr.h). */
#include <arpa/inet.h>
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void addr_from_v4(struct addr *a, const uint8_t v4[4])
{
	memcpy(a->a, v4mapped, sizeof(v4mapped));
	memcpy(a->a + 12, v4, 4);
}

void addr_from_v6(struct addr *a, const uint8_t v6[16])
{
	memcpy(a->a, v6, 16);
}

bool addr_is_v4(const struct addr *a)
{
	return memcmp(a->a, v4mapped, sizeof(v4mapped)) == 0;
}

bool addr_eq(const struct addr *a, const struct addr *b)
{
	return memcmp(a->a, b->a, 16) == 0;
}

struct addr addr_source_net(const struct addr *a)
{
	struct addr net = *a;

	if (addr_is_v4(a))
		net.a[15] = 0;
	else
		memset(net.a + 8, 0, 8);
	return net;
}

bool conn_key_eq(const struct conn_key *a, const struct conn_key *b)
{
	return a->cport == b->cport && a->sport == b->sport &&
	       addr_eq(&a->caddr, &b->caddr) && addr_eq(&a->saddr, &b->saddr);
}

/* True when every bit of a past the first len is zero. */
static bool host_bits_clear(const struct addr *a, unsigned len)
{
	for (unsigned bit = len; bit < 128; bit++)
		if (a->a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int prefix_parse(const char *text, struct prefix *p)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	uint8_t raw[16];
	unsigned maxlen, len;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1) {
		addr_from_v4(&p->addr, raw);
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, raw) == 1) {
		addr_from_v6(&p->addr, raw);
		maxlen = 128;
	} else {
		return -1;
	}
	len = maxlen;
	if (slash) {
		char *end;
		unsigned long v;

		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		v = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || v > maxlen)
			return -1;
		len = (unsigned)v;
	}
	p->len = (uint8_t)(len + (128 - maxlen));
	return host_bits_clear(&p->addr, p->len) ? 0 : -1;
}

bool prefix_contains(const struct prefix *p, const struct addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	assert(p->len <= 128);
	if (memcmp(p->addr.a, a->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->addr.a[full] ^ a->a[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

char *addr_format(const struct addr *a, char *buf, size_t size)
{
	const char *ok;

	if (addr_is_v4(a))
		ok = inet_ntop(AF_INET, a->a + 12, buf, (socklen_t)size);
	else
		ok = inet_ntop(AF_INET6, a->a, buf, (socklen_t)size);
	if (!ok && size > 0)
		buf[0] = '\0';
	return buf;
}
