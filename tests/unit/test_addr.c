/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for addr.c: prefix parsing, containment, formatting and
 * connection keys.  Expected bytes are written out by hand from the
 * textual forms (RFC 4291 section 2.5.5.2 for the ::ffff:0:0/96 mapping). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "addr.h"

#define V4(a, b, c, d) { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d }

struct parse_case {
	const char *text;
	int ret;
	uint8_t len;            /* when ret is 0 */
	uint8_t addr[16];       /* when ret is 0 */
};

static const struct parse_case parse_cases[] = {
	/* An IPv4 length l maps to 96 + l in the 128-bit space. */
	{ "192.0.2.0/24", 0, 120, V4(192, 0, 2, 0) },
	{ "192.0.2.1", 0, 128, V4(192, 0, 2, 1) },
	{ "192.0.2.1/32", 0, 128, V4(192, 0, 2, 1) },
	{ "10.0.0.0/8", 0, 104, V4(10, 0, 0, 0) },
	{ "192.0.2.128/25", 0, 121, V4(192, 0, 2, 128) },
	{ "0.0.0.0/0", 0, 96, V4(0, 0, 0, 0) },
	{ "255.255.255.255", 0, 128, V4(255, 255, 255, 255) },
	{ "192.0.2.0/024", 0, 120, V4(192, 0, 2, 0) },
	{ "2001:db8::/32", 0, 32, { 0x20, 0x01, 0x0d, 0xb8 } },
	{ "2001:db8::1", 0, 128, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
	{ "2001:db8:0:1::/64", 0, 64, { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 } },
	{ "::/0", 0, 0, { 0 } },
	{ "::", 0, 128, { 0 } },
	{ "::1/128", 0, 128, { [15] = 1 } },
	/* Mapped text is the same address as the dotted quad. */
	{ "::ffff:192.0.2.1", 0, 128, V4(192, 0, 2, 1) },
	{ "::ffff:192.0.2.0/120", 0, 120, V4(192, 0, 2, 0) },
	/* IPv4-compatible (deprecated) text is not IPv4. */
	{ "::192.0.2.1", 0, 128, { [12] = 192, [13] = 0, [14] = 2, [15] = 1 } },

	{ "192.0.2.1/24", -1, 0, { 0 } },         /* host bits set */
	{ "192.0.2.128/24", -1, 0, { 0 } },
	{ "2001:db8::1/32", -1, 0, { 0 } },
	{ "::ffff:192.0.2.1/120", -1, 0, { 0 } },
	{ "192.0.2.0/33", -1, 0, { 0 } },
	{ "2001:db8::/129", -1, 0, { 0 } },
	{ "2001:db8::/99999999999999999999999", -1, 0, { 0 } },
	{ "", -1, 0, { 0 } },
	{ "/24", -1, 0, { 0 } },
	{ "1.2.3", -1, 0, { 0 } },
	{ "192.0.2.0/", -1, 0, { 0 } },
	{ "192.0.2.0/-1", -1, 0, { 0 } },
	{ "192.0.2.0/+24", -1, 0, { 0 } },
	{ "192.0.2.0/ 24", -1, 0, { 0 } },
	{ "192.0.2.0/24x", -1, 0, { 0 } },
	{ "192.0.2.0//24", -1, 0, { 0 } },
	{ "192.0.2.0/24/24", -1, 0, { 0 } },
	{ "abc", -1, 0, { 0 } },
	{ "256.0.0.0", -1, 0, { 0 } },
	{ " 192.0.2.1", -1, 0, { 0 } },
	{ "2001:db8:::1", -1, 0, { 0 } },
	{ "2001:db8::1::2", -1, 0, { 0 } },
	{ "1:2:3:4:5:6:7:8:9", -1, 0, { 0 } },
	/* Longer than any address text. */
	{ "2001:0db8:0000:0000:0000:0000:0000:0000:0000:0000:0001/128", -1, 0, { 0 } },
};

static void test_prefix_parse(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct prefix p;
		int ret = prefix_parse(c->text, &p);

		if (ret != c->ret)
			print_message("case \"%s\"\n", c->text);
		assert_int_equal(ret, c->ret);
		if (ret != 0)
			continue;
		assert_int_equal(p.len, c->len);
		assert_memory_equal(p.addr.a, c->addr, 16);
	}
}

static struct prefix pfx(const char *text)
{
	struct prefix p;

	assert_int_equal(prefix_parse(text, &p), 0);
	return p;
}

static struct addr ad(const char *text)
{
	struct prefix p = pfx(text);

	assert_int_equal(p.len, 128);
	return p.addr;
}

struct contains_case {
	const char *prefix;
	const char *addr;
	bool in;
};

static const struct contains_case contains_cases[] = {
	{ "192.0.2.0/24", "192.0.2.0", true },
	{ "192.0.2.0/24", "192.0.2.255", true },
	{ "192.0.2.0/24", "192.0.1.255", false },
	{ "192.0.2.0/24", "192.0.3.0", false },
	/* Boundaries inside a byte. */
	{ "192.0.2.0/25", "192.0.2.127", true },
	{ "192.0.2.0/25", "192.0.2.128", false },
	{ "192.0.2.128/25", "192.0.2.128", true },
	{ "192.0.2.128/25", "192.0.2.127", false },
	{ "10.0.0.0/9", "10.127.255.255", true },
	{ "10.0.0.0/9", "10.128.0.0", false },
	{ "192.0.2.1/32", "192.0.2.1", true },
	{ "192.0.2.1/32", "192.0.2.0", false },
	{ "192.0.2.1/32", "192.0.2.2", false },
	/* An IPv4 /0 is ::ffff:0:0/96: all of IPv4, no IPv6. */
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "0.0.0.0/0", "::", false },
	{ "0.0.0.0/0", "::fffe:ffff:ffff", false },
	{ "0.0.0.0/0", "::1:0:0:0", false },
	{ "0.0.0.0/0", "::192.0.2.1", false },
	/* An IPv6 /0 is the whole space, mapped IPv4 included. */
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "192.0.2.1", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/1", "8000::", false },
	{ "2001:db8::/32", "2001:db8::", true },
	{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db8::/33", "2001:db8:8000::", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::", false },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "::/96", "::192.0.2.1", true },
	{ "::/96", "192.0.2.1", false },
};

static void test_prefix_contains(void **state)
{
	for (size_t i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]); i++) {
		const struct contains_case *c = &contains_cases[i];
		struct prefix p = pfx(c->prefix);
		struct addr a = ad(c->addr);

		if (prefix_contains(&p, &a) != c->in)
			print_message("case %s in %s\n", c->addr, c->prefix);
		assert_int_equal(prefix_contains(&p, &a), c->in);
	}
}

struct format_case {
	const char *in;
	const char *out;        /* RFC 5952 canonical text */
};

static const struct format_case format_cases[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "0.0.0.0", "0.0.0.0" },
	{ "255.255.255.255", "255.255.255.255" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },
	{ "2001:db8::1", "2001:db8::1" },
	{ "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
	{ "::", "::" },
	{ "::1", "::1" },
	{ "fe80::1:2", "fe80::1:2" },
	{ "2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5" },
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
};

static void test_addr_format(void **state)
{
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		const struct format_case *c = &format_cases[i];
		struct addr a = ad(c->in), back;
		char buf[ADDR_STRLEN];

		assert_ptr_equal(addr_format(&a, buf, sizeof(buf)), buf);
		assert_string_equal(buf, c->out);
		back = ad(buf);
		assert_true(addr_eq(&a, &back));
	}
}

static void test_addr_format_short_buffer(void **state)
{
	struct addr a = ad("2001:db8::1");
	char buf[4] = "xyz";

	/* Too small for the text: an empty string, never a truncated one. */
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_addr_families(void **state)
{
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	static const uint8_t mapped[16] = V4(192, 0, 2, 1);
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t compat[16] = { [12] = 192, [13] = 0, [14] = 2, [15] = 1 };
	struct addr a, b;

	addr_from_v4(&a, v4);
	assert_memory_equal(a.a, mapped, 16);
	assert_true(addr_is_v4(&a));
	addr_from_v6(&b, mapped);
	assert_true(addr_eq(&a, &b));
	addr_from_v6(&b, v6);
	assert_false(addr_is_v4(&b));
	assert_false(addr_eq(&a, &b));
	addr_from_v6(&b, compat);
	assert_false(addr_is_v4(&b));
	assert_false(addr_eq(&a, &b));
}

static void test_conn_key_eq(void **state)
{
	struct conn_key k, m;

	memset(&k, 0, sizeof(k));
	k.caddr = ad("192.0.2.1");
	k.saddr = ad("2001:db8::80");
	k.cport = 40000;
	k.sport = 443;

	m = k;
	assert_true(conn_key_eq(&k, &m));
	m.caddr = ad("192.0.2.2");
	assert_false(conn_key_eq(&k, &m));
	m = k;
	m.saddr = ad("2001:db8::81");
	assert_false(conn_key_eq(&k, &m));
	m = k;
	m.cport = 40001;
	assert_false(conn_key_eq(&k, &m));
	m = k;
	m.sport = 80;
	assert_false(conn_key_eq(&k, &m));
	/* Client and server swapped is another connection. */
	m.caddr = k.saddr;
	m.saddr = k.caddr;
	m.cport = k.sport;
	m.sport = k.cport;
	assert_false(conn_key_eq(&k, &m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_addr_format_short_buffer),
		cmocka_unit_test(test_addr_families),
		cmocka_unit_test(test_conn_key_eq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
