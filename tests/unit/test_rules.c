/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests for the packet-filter rules.  Each case is a configuration file's
 * text and the exact iptables-restore input expected for each family.
 *
 * The expected texts were written by hand from the layout described in
 * rules.c and synproxyd(8); the option order within a line is the one
 * iptables-save prints.  tests/live/rules_syntax.sh is the independent
 * check: it loads the same kind of text into the kernel (nf_tables and
 * legacy) and asserts that iptables -S prints every line back unchanged.
 *
 * rules_install and rules_remove are tested without root against fake
 * iptables-save / iptables-restore scripts found first in PATH: the save
 * script prints a canned rule set, the restore script logs its arguments
 * and input (the fakes set their own PATH). */
#define _GNU_SOURCE  /* asprintf, getdelim */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "rules.h"

static char tmp_dir[512];

static const char *tmp_base(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Loads text as a configuration file into a fresh heap struct. */
static struct conf *load(const char *text)
{
	struct conf *c = malloc(sizeof(*c));
	char path[600], err[512];
	int fd, rc;

	assert_non_null(c);
	snprintf(path, sizeof(path), "%s/test_rules.XXXXXX", tmp_base());
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = conf_load(path, c, err, sizeof(err));
	unlink(path);
	if (rc != 0)
		fail_msg("conf_load: %s", err);
	return c;
}

static void unload(struct conf *c)
{
	conf_free(c);
	free(c);
}

/* What f(c, fam, out) writes, as a string to free. */
static char *capture(int (*f)(const struct conf *, enum rules_family, FILE *),
		     const struct conf *c, enum rules_family fam)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(f(c, fam, out), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* The chains every IPv4 or IPv6 gateway text starts with; the raw rule
 * only when some rule queues packets of the family. */
#define GW_HEAD(fam, tool, raw)                                               \
	"# synproxyd: " fam " rules, gateway mode, for " tool " --noflush\n"  \
	"*raw\n:SYNPROXYD-RAW - [0:0]\n-I OUTPUT 1 -j SYNPROXYD-RAW\n" raw    \
	"COMMIT\n*filter\n:SYNPROXYD - [0:0]\n-I FORWARD 1 -j SYNPROXYD\n"
#define LOCAL_HEAD(fam, tool, raw)                                            \
	"# synproxyd: " fam " rules, local mode, for " tool " --noflush\n"    \
	"*raw\n:SYNPROXYD-RAW - [0:0]\n-I OUTPUT 1 -j SYNPROXYD-RAW\n" raw    \
	"COMMIT\n*filter\n:SYNPROXYD-IN - [0:0]\n:SYNPROXYD-OUT - [0:0]\n"    \
	"-I INPUT 1 -j SYNPROXYD-IN\n-I OUTPUT 1 -j SYNPROXYD-OUT\n"
#define RAW(mark) "-A SYNPROXYD-RAW -p tcp -m mark --mark " mark " -j CT --notrack\n"
/* With queued rules and the fast path on (the default): the dormant
 * SYNPROXY chain, and the accept of our own conntrack entries (ctmark =
 * the mark) first in every chain that queues. */
#define TS_CHAIN ":SYNPROXYD-TS - [0:0]\n"
#define FP_COMMENT "# kernel fast path: offloaded flows skip the queue\n"
#define OURS(chain, mark)                                                     \
	"-A " chain " -p tcp -m tcp --tcp-flags SYN NONE -m connmark --mark " mark  \
	" -m conntrack --ctstate ESTABLISHED -j ACCEPT\n"
#define TS_RULE \
	"-A SYNPROXYD-TS -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n"
/* With the fast path the daemon's own ICMP packets are untracked too. */
#define RAW_ICMP(proto, mark)                                                 \
	"-A SYNPROXYD-RAW -p " proto " -m mark --mark " mark " -j CT --notrack\n"
#define GW_HEAD_FP(fam, tool, mark, proto)                                    \
	"# synproxyd: " fam " rules, gateway mode, for " tool " --noflush\n"  \
	"*raw\n:SYNPROXYD-RAW - [0:0]\n-I OUTPUT 1 -j SYNPROXYD-RAW\n"        \
	RAW(mark) RAW_ICMP(proto, mark) "COMMIT\n*filter\n:SYNPROXYD - [0:0]\n" TS_CHAIN           \
	"-I FORWARD 1 -j SYNPROXYD\n" FP_COMMENT OURS("SYNPROXYD", mark) TS_RULE
#define LOCAL_HEAD_FP(fam, tool, mark, proto)                                 \
	"# synproxyd: " fam " rules, local mode, for " tool " --noflush\n"    \
	"*raw\n:SYNPROXYD-RAW - [0:0]\n-I OUTPUT 1 -j SYNPROXYD-RAW\n"        \
	RAW(mark) RAW_ICMP(proto, mark) "COMMIT\n*filter\n:SYNPROXYD-IN - [0:0]\n"                 \
	":SYNPROXYD-OUT - [0:0]\n" TS_CHAIN                                   \
	"-I INPUT 1 -j SYNPROXYD-IN\n-I OUTPUT 1 -j SYNPROXYD-OUT\n"          \
	FP_COMMENT OURS("SYNPROXYD-IN", mark) OURS("SYNPROXYD-OUT", mark) TS_RULE
/* ICMP errors to the first queue, after the rules, in the chain that
 * takes client packets (every family with queued rules). */
#define ICMP_COMMENT "# ICMP errors: their quotes translated (path MTU discovery)\n"
#define ICMP_LINE(chain, match, type, mark, q)                                \
	"-A " chain " " match " " type " -m mark ! --mark " mark                \
	" -j NFQUEUE --queue-num " q " --queue-bypass\n"
#define ICMP4(chain, mark, q)                                                 \
	ICMP_COMMENT                                                          \
	ICMP_LINE(chain, "-p icmp -m icmp --icmp-type", "3", mark, q)         \
	ICMP_LINE(chain, "-p icmp -m icmp --icmp-type", "11", mark, q)        \
	ICMP_LINE(chain, "-p icmp -m icmp --icmp-type", "12", mark, q)
#define ICMP6(chain, mark, q)                                                 \
	ICMP_COMMENT                                                          \
	ICMP_LINE(chain, "-p ipv6-icmp -m icmp6 --icmpv6-type", "1", mark, q)  \
	ICMP_LINE(chain, "-p ipv6-icmp -m icmp6 --icmpv6-type", "2", mark, q)  \
	ICMP_LINE(chain, "-p ipv6-icmp -m icmp6 --icmpv6-type", "3", mark, q)  \
	ICMP_LINE(chain, "-p ipv6-icmp -m icmp6 --icmpv6-type", "4", mark, q)
/* Defaults: queue 0, one queue, no bypass, mark 0x5350. */
#define Q0 " -m mark ! --mark 0x5350 -j NFQUEUE --queue-num 0\n"

struct print_case {
	const char *name;
	const char *conf;
	const char *v4;
	const char *v6;
};

static const struct print_case print_cases[] = {
	{
		"gateway, one IPv4 rule, two ports, defaults",
		"rules = ( { name = \"web\"; dst = \"203.0.113.2\"; ports = [ 80, 443 ]; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule web: proxy\n"
		"-A SYNPROXYD -d 203.0.113.2/32 -p tcp -m multiport --dports 80,443" Q0
		"-A SYNPROXYD -s 203.0.113.2/32 -p tcp -m multiport --sports 80,443" Q0
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"fastpath off: no accept of established flows, no SYNPROXY chain",
		"fastpath = \"off\";\n"
		"rules = ( { name = \"web\"; dst = \"203.0.113.2\"; ports = [ 80 ]; } );\n",
		GW_HEAD("IPv4", "iptables-restore", RAW("0x5350"))
		"# rule web: proxy\n"
		"-A SYNPROXYD -d 203.0.113.2/32 -p tcp -m multiport --dports 80" Q0
		"-A SYNPROXYD -s 203.0.113.2/32 -p tcp -m multiport --sports 80" Q0
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"local mode, a reset rule and a drop rule, other mark and queue",
		"mode = \"local\"; mark = 0xBEEF; queue = { num = 7; };\n"
		"rules = (\n"
		"  { name = \"ssh\"; dst = \"192.0.2.1\"; ports = [ 22 ]; action = \"reset\"; },\n"
		"  { name = \"tn\"; dst = \"192.0.2.0/24\"; ports = [ 23 ]; action = \"drop\"; }\n"
		");\n",
		LOCAL_HEAD_FP("IPv4", "iptables-restore", "0xbeef", "icmp")
		"# rule ssh: reset\n"
		"-A SYNPROXYD-IN -d 192.0.2.1/32 -p tcp -m multiport --dports 22"
		" -m mark ! --mark 0xbeef -j NFQUEUE --queue-num 7\n"
		"-A SYNPROXYD-OUT -s 192.0.2.1/32 -p tcp -m multiport --sports 22"
		" -m mark ! --mark 0xbeef -j NFQUEUE --queue-num 7\n"
		"# rule tn: drop\n"
		"-A SYNPROXYD-IN -d 192.0.2.0/24 -p tcp -m multiport --dports 23 -j DROP\n"
		ICMP4("SYNPROXYD-IN", "0xbeef", "7")
		"COMMIT\n",
		LOCAL_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"two queues balance num..num+1, no ports means no multiport",
		"queue = { num = 10; count = 2; };\n"
		"rules = ( { name = \"all\"; dst = \"198.51.100.0/24\"; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule all: proxy\n"
		"-A SYNPROXYD -d 198.51.100.0/24 -p tcp -m mark ! --mark 0x5350"
		" -j NFQUEUE --queue-balance 10:11\n"
		"-A SYNPROXYD -s 198.51.100.0/24 -p tcp -m mark ! --mark 0x5350"
		" -j NFQUEUE --queue-balance 10:11\n"
		ICMP4("SYNPROXYD", "0x5350", "10")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		/* A SYN never bypasses: the client direction's SYNs get a line
		 * of their own, first, without --queue-bypass; a drop rule has
		 * no queue to bypass. */
		"bypass on: SYNs to the server on their own line, never bypassed",
		"queue = { num = 3; count = 2; bypass = true; };\n"
		"rules = ( { name = \"web\"; dst = \"203.0.113.2\"; ports = [ 80 ]; },\n"
		"          { name = \"tn\"; dst = \"203.0.113.3\"; ports = [ 23 ]; action = \"drop\"; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule web: proxy\n"
		"-A SYNPROXYD -d 203.0.113.2/32 -p tcp -m tcp --tcp-flags SYN SYN -m multiport"
		" --dports 80 -m mark ! --mark 0x5350 -j NFQUEUE --queue-balance 3:4\n"
		"-A SYNPROXYD -d 203.0.113.2/32 -p tcp -m multiport --dports 80"
		" -m mark ! --mark 0x5350 -j NFQUEUE --queue-balance 3:4 --queue-bypass\n"
		"-A SYNPROXYD -s 203.0.113.2/32 -p tcp -m multiport --sports 80"
		" -m mark ! --mark 0x5350 -j NFQUEUE --queue-balance 3:4 --queue-bypass\n"
		"# rule tn: drop\n"
		"-A SYNPROXYD -d 203.0.113.3/32 -p tcp -m multiport --dports 23 -j DROP\n"
		ICMP4("SYNPROXYD", "0x5350", "3")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"bypass off, highest queue number",
		"queue = { num = 65535; bypass = false; };\n"
		"rules = ( { name = \"a\"; dst = \"10.0.0.0/8\"; ports = [ 65535 ]; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule a: proxy\n"
		"-A SYNPROXYD -d 10.0.0.0/8 -p tcp -m multiport --dports 65535"
		" -m mark ! --mark 0x5350 -j NFQUEUE --queue-num 65535\n"
		"-A SYNPROXYD -s 10.0.0.0/8 -p tcp -m multiport --sports 65535"
		" -m mark ! --mark 0x5350 -j NFQUEUE --queue-num 65535\n"
		ICMP4("SYNPROXYD", "0x5350", "65535")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"20 ports split 15 + 5 in each direction",
		"rules = ( { name = \"many\"; dst = \"192.0.2.0/24\";\n"
		"            ports = [ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,\n"
		"                      16, 17, 18, 19, 20 ]; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule many: proxy\n"
		"-A SYNPROXYD -d 192.0.2.0/24 -p tcp -m multiport --dports"
		" 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" Q0
		"-A SYNPROXYD -d 192.0.2.0/24 -p tcp -m multiport --dports 16,17,18,19,20" Q0
		"-A SYNPROXYD -s 192.0.2.0/24 -p tcp -m multiport --sports"
		" 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" Q0
		"-A SYNPROXYD -s 192.0.2.0/24 -p tcp -m multiport --sports 16,17,18,19,20" Q0
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"exactly 15 ports stay on one line, 16 split 15 + 1",
		"rules = (\n"
		"  { name = \"p15\"; dst = \"192.0.2.1\";\n"
		"    ports = [ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 ]; },\n"
		"  { name = \"p16\"; dst = \"192.0.2.2\"; action = \"drop\";\n"
		"    ports = [ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 ]; }\n"
		");\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule p15: proxy\n"
		"-A SYNPROXYD -d 192.0.2.1/32 -p tcp -m multiport --dports"
		" 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" Q0
		"-A SYNPROXYD -s 192.0.2.1/32 -p tcp -m multiport --sports"
		" 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15" Q0
		"# rule p16: drop\n"
		"-A SYNPROXYD -d 192.0.2.2/32 -p tcp -m multiport --dports"
		" 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -j DROP\n"
		"-A SYNPROXYD -d 192.0.2.2/32 -p tcp -m multiport --dports 16 -j DROP\n"
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
	{
		"an IPv6 rule appears only in the IPv6 text",
		"rules = (\n"
		"  { name = \"v4\"; dst = \"192.0.2.1\"; ports = [ 80 ]; },\n"
		"  { name = \"v6\"; dst = \"2001:db8::/64\"; ports = [ 22 ]; }\n"
		");\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule v4: proxy\n"
		"-A SYNPROXYD -d 192.0.2.1/32 -p tcp -m multiport --dports 80" Q0
		"-A SYNPROXYD -s 192.0.2.1/32 -p tcp -m multiport --sports 80" Q0
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD_FP("IPv6", "ip6tables-restore", "0x5350", "ipv6-icmp")
		"# rule v6: proxy\n"
		"-A SYNPROXYD -d 2001:db8::/64 -p tcp -m multiport --dports 22" Q0
		"-A SYNPROXYD -s 2001:db8::/64 -p tcp -m multiport --sports 22" Q0
		ICMP6("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
	},
	{
		"accept needs no line, drop only client -> server; no raw rule without a queue",
		"rules = (\n"
		"  { name = \"ok\"; dst = \"192.0.2.1\"; ports = [ 80 ]; action = \"accept\"; },\n"
		"  { name = \"no\"; dst = \"2001:db8::1\"; action = \"drop\"; }\n"
		");\n",
		GW_HEAD("IPv4", "iptables-restore", "") "# rule ok: accept, nothing to queue\nCOMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "")
		"# rule no: drop\n"
		"-A SYNPROXYD -d 2001:db8::1/128 -p tcp -j DROP\n"
		"COMMIT\n",
	},
	{
		/* ::/0 holds every IPv4 (mapped) address too; iptables-save omits
		 * a /0 address match, so the text does as well. */
		"::/0 covers both families, written without an address match",
		"rules = ( { name = \"any\"; dst = \"::/0\"; ports = [ 443 ]; } );\n",
		GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
		"# rule any: proxy\n"
		"-A SYNPROXYD -p tcp -m multiport --dports 443" Q0
		"-A SYNPROXYD -p tcp -m multiport --sports 443" Q0
		ICMP4("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
		GW_HEAD_FP("IPv6", "ip6tables-restore", "0x5350", "ipv6-icmp")
		"# rule any: proxy\n"
		"-A SYNPROXYD -p tcp -m multiport --dports 443" Q0
		"-A SYNPROXYD -p tcp -m multiport --sports 443" Q0
		ICMP6("SYNPROXYD", "0x5350", "0")
		"COMMIT\n",
	},
	{
		"a mapped address written in IPv6 form is IPv4",
		"rules = ( { name = \"m\"; dst = \"::ffff:192.0.2.0/120\"; ports = [ 25 ]; "
		"action = \"drop\"; } );\n",
		GW_HEAD("IPv4", "iptables-restore", "")
		"# rule m: drop\n"
		"-A SYNPROXYD -d 192.0.2.0/24 -p tcp -m multiport --dports 25 -j DROP\n"
		"COMMIT\n",
		GW_HEAD("IPv6", "ip6tables-restore", "") "COMMIT\n",
	},
};

static void test_print(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(print_cases) / sizeof(print_cases[0]); i++) {
		const struct print_case *pc = &print_cases[i];
		struct conf *c = load(pc->conf);
		char *v4 = capture(rules_print, c, RULES_IPV4);
		char *v6 = capture(rules_print, c, RULES_IPV6);

		print_message("case: %s\n", pc->name);
		assert_string_equal(v4, pc->v4);
		assert_string_equal(v6, pc->v6);
		free(v4);
		free(v6);
		unload(c);
	}
}

/* The SYNPROXYD-TS chain exists only for a family with queued rules. */
#define REMOVE_GATEWAY(ts)                                                    \
	"*raw\n-D OUTPUT -j SYNPROXYD-RAW\n-F SYNPROXYD-RAW\n-X SYNPROXYD-RAW\nCOMMIT\n" \
	"*filter\n-D FORWARD -j SYNPROXYD\n-F SYNPROXYD\n-X SYNPROXYD\n" ts "COMMIT\n"
#define REMOVE_LOCAL(ts)                                                      \
	"*raw\n-D OUTPUT -j SYNPROXYD-RAW\n-F SYNPROXYD-RAW\n-X SYNPROXYD-RAW\nCOMMIT\n" \
	"*filter\n-D INPUT -j SYNPROXYD-IN\n-D OUTPUT -j SYNPROXYD-OUT\n"    \
	"-F SYNPROXYD-IN\n-X SYNPROXYD-IN\n-F SYNPROXYD-OUT\n-X SYNPROXYD-OUT\n" ts "COMMIT\n"
#define DROP_TS "-F SYNPROXYD-TS\n-X SYNPROXYD-TS\n"

static void test_print_remove(void **state)
{
	struct conf *c = load("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n");
	char *t;

	t = capture(rules_print_remove, c, RULES_IPV4);
	assert_string_equal(t, REMOVE_GATEWAY(DROP_TS));
	free(t);
	t = capture(rules_print_remove, c, RULES_IPV6);  /* no IPv6 rule: no SYNPROXY chain */
	assert_string_equal(t, REMOVE_GATEWAY(""));
	free(t);
	unload(c);

	c = load("fastpath = \"off\"; rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n");
	t = capture(rules_print_remove, c, RULES_IPV4);
	assert_string_equal(t, REMOVE_GATEWAY(""));
	free(t);
	unload(c);

	c = load("mode = \"local\"; rules = ( { name = \"a\"; dst = \"2001:db8::1\"; } );\n");
	t = capture(rules_print_remove, c, RULES_IPV4);
	assert_string_equal(t, REMOVE_LOCAL(""));
	free(t);
	t = capture(rules_print_remove, c, RULES_IPV6);
	assert_string_equal(t, REMOVE_LOCAL(DROP_TS));
	free(t);
	unload(c);
}

/* A full device makes the flush fail: both printers report it. */
static void test_write_error(void **state)
{
	struct conf *c = load("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n");
	FILE *full = fopen("/dev/full", "w");

	assert_non_null(full);
	assert_int_equal(rules_print(c, RULES_IPV4, full), -1);
	clearerr(full);
	assert_int_equal(rules_print_remove(c, RULES_IPV6, full), -1);
	fclose(full);
	unload(c);
}

/* ------------------------------------------------------------------ */
/* rules_install / rules_remove against fake tools. */

/* A saved IPv4 rule set holding an older copy of our chains (the raw jump
 * twice), things that only look like ours (SYNPROXYD-OUTX, a SYNPROXYD
 * chain in nat, a jump with a match), and unrelated rules. */
static const char SAVED4[] =
	"# Generated by iptables-save v1.8.9 (nf_tables) on Fri Nov 27 13:16:55 2026\n"
	"*raw\n"
	":PREROUTING ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	":SYNPROXYD-RAW - [0:0]\n"
	"-A OUTPUT -j SYNPROXYD-RAW\n"
	"-A OUTPUT -j SYNPROXYD-RAW\n"
	"-A SYNPROXYD-RAW -p tcp -m mark --mark 0x5350 -j CT --notrack\n"
	"COMMIT\n"
	"# Completed on Fri Nov 27 13:16:55 2026\n"
	"*nat\n"
	":PREROUTING ACCEPT [0:0]\n"
	":SYNPROXYD - [0:0]\n"
	"-A PREROUTING -j SYNPROXYD\n"
	"COMMIT\n"
	"*filter\n"
	":INPUT ACCEPT [0:0]\n"
	":FORWARD ACCEPT [10:600]\n"
	":OUTPUT ACCEPT [0:0]\n"
	":OTHER - [0:0]\n"
	":SYNPROXYD-IN - [0:0]\n"
	":SYNPROXYD-OUTX - [0:0]\n"
	":SYNPROXYD-TS - [0:0]\n"
	"-A INPUT -j SYNPROXYD-IN\n"
	"-A INPUT -i lo -j SYNPROXYD-OUTX\n"
	"-A FORWARD -j OTHER\n"
	"-A OTHER -p tcp -m tcp --dport 8080 -j DROP\n"
	"-A SYNPROXYD-IN -d 192.0.2.1/32 -p tcp -j NFQUEUE --queue-num 0\n"
	"-A SYNPROXYD-TS -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460\n"
	"COMMIT\n";

static const char REMOVAL4[] =
	"== iptables-restore --noflush -w\n"
	"*raw\n-D OUTPUT -j SYNPROXYD-RAW\n-D OUTPUT -j SYNPROXYD-RAW\n"
	"-F SYNPROXYD-RAW\n-X SYNPROXYD-RAW\nCOMMIT\n"
	"*filter\n-D INPUT -j SYNPROXYD-IN\n-F SYNPROXYD-IN\n-X SYNPROXYD-IN\n"
	"-F SYNPROXYD-TS\n-X SYNPROXYD-TS\nCOMMIT\n";

static const char CONF_BOTH[] =
	"rules = (\n"
	"  { name = \"v4\"; dst = \"192.0.2.1\"; ports = [ 80 ]; },\n"
	"  { name = \"v6\"; dst = \"2001:db8::/64\"; ports = [ 22 ]; }\n"
	");\n";
static const char INSTALL4[] =
	"== iptables-restore --noflush -w\n"
	GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
	"# rule v4: proxy\n"
	"-A SYNPROXYD -d 192.0.2.1/32 -p tcp -m multiport --dports 80" Q0
	"-A SYNPROXYD -s 192.0.2.1/32 -p tcp -m multiport --sports 80" Q0
	ICMP4("SYNPROXYD", "0x5350", "0")
	"COMMIT\n";
static const char INSTALL6[] =
	"== ip6tables-restore --noflush -w\n"
	GW_HEAD_FP("IPv6", "ip6tables-restore", "0x5350", "ipv6-icmp")
	"# rule v6: proxy\n"
	"-A SYNPROXYD -d 2001:db8::/64 -p tcp -m multiport --dports 22" Q0
	"-A SYNPROXYD -s 2001:db8::/64 -p tcp -m multiport --sports 22" Q0
	ICMP6("SYNPROXYD", "0x5350", "0")
	"COMMIT\n";

static const char CONF_V4[] =
	"rules = ( { name = \"v4\"; dst = \"192.0.2.1\"; ports = [ 80 ]; } );\n";
static const char INSTALL4_ONLY[] =
	"== iptables-restore --noflush -w\n"
	GW_HEAD_FP("IPv4", "iptables-restore", "0x5350", "icmp")
	"# rule v4: proxy\n"
	"-A SYNPROXYD -d 192.0.2.1/32 -p tcp -m multiport --dports 80" Q0
	"-A SYNPROXYD -s 192.0.2.1/32 -p tcp -m multiport --sports 80" Q0
	ICMP4("SYNPROXYD", "0x5350", "0")
	"COMMIT\n";

/* The restore fake logs "== NAME ARGS" and its input, and fails when the
 * input contains $FAKE_FAIL. */
static const char FAKE_RESTORE[] =
	"#!/bin/sh\n"
	"PATH=/usr/bin:/bin\n"
	"in=$(cat; echo x)\n"
	"{ echo \"== $(basename \"$0\") $*\"; printf '%s' \"${in%x}\"; } >>\"$FAKE_LOG\"\n"
	"if [ -n \"${FAKE_FAIL:-}\" ]; then\n"
	"  case \"$in\" in *\"$FAKE_FAIL\"*) exit 1;; esac\n"
	"fi\n"
	"exit 0\n";

static char *old_path;

/* Makes a directory with the fake tools (ip6tables ones only when with6),
 * and points PATH, FAKE_LOG and the save fakes' output at it. */
static void fake_tools(bool with6, const char *saved6)
{
	char path[700], script[1024];

	snprintf(tmp_dir, sizeof(tmp_dir), "%s/test_rules.XXXXXX", tmp_base());
	assert_non_null(mkdtemp(tmp_dir));
	snprintf(path, sizeof(path), "%s/saved4", tmp_dir);
	write_file(path, SAVED4, 0644);
	snprintf(path, sizeof(path), "%s/saved6", tmp_dir);
	write_file(path, saved6, 0644);
	snprintf(path, sizeof(path), "%s/iptables-restore", tmp_dir);
	write_file(path, FAKE_RESTORE, 0755);
	snprintf(script, sizeof(script), "#!/bin/sh\nexec /bin/cat '%s/saved4'\n", tmp_dir);
	snprintf(path, sizeof(path), "%s/iptables-save", tmp_dir);
	write_file(path, script, 0755);
	if (with6) {
		snprintf(path, sizeof(path), "%s/ip6tables-restore", tmp_dir);
		write_file(path, FAKE_RESTORE, 0755);
		snprintf(script, sizeof(script), "#!/bin/sh\nexec /bin/cat '%s/saved6'\n", tmp_dir);
		snprintf(path, sizeof(path), "%s/ip6tables-save", tmp_dir);
		write_file(path, script, 0755);
	}
	snprintf(path, sizeof(path), "%s/log", tmp_dir);
	write_file(path, "", 0644);
	setenv("FAKE_LOG", path, 1);
	unsetenv("FAKE_FAIL");
	old_path = strdup(getenv("PATH") ? getenv("PATH") : "");
	setenv("PATH", tmp_dir, 1);
}

/* Returns the log (to free) and removes the fake directory. */
static char *fake_done(void)
{
	static const char *const names[] = { "saved4", "saved6", "log", "iptables-restore",
		"iptables-save", "ip6tables-restore", "ip6tables-save" };
	char path[700];
	char *log = NULL;
	size_t i, len = 0;
	FILE *f;

	setenv("PATH", old_path, 1);
	free(old_path);
	snprintf(path, sizeof(path), "%s/log", tmp_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(getdelim(&log, &len, '\0', f) >= 0, 1);
	fclose(f);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_dir, names[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(tmp_dir), 0);
	return log;
}

static char *concat(const char *a, const char *b, const char *c, const char *d)
{
	char *s;

	assert_true(asprintf(&s, "%s%s%s%s", a, b, c, d) > 0);
	return s;
}

/* Old copy removed (IPv6 shows none: no restore run), then both texts. */
static void test_install(void **state)
{
	struct conf *c = load(CONF_BOTH);
	char *log, *want;

	fake_tools(true, "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
	assert_int_equal(rules_install(c), 0);
	log = fake_done();
	want = concat(REMOVAL4, INSTALL4, INSTALL6, "");
	assert_string_equal(log, want);
	free(log);
	free(want);
	unload(c);
}

/* The IPv6 restore fails: everything is removed again, and -1. */
static void test_install_rollback(void **state)
{
	struct conf *c = load(CONF_BOTH);
	char *log, *want;

	fake_tools(true, "");
	setenv("FAKE_FAIL", "2001:db8", 1);
	assert_int_equal(rules_install(c), -1);
	log = fake_done();
	want = concat(REMOVAL4, INSTALL4, INSTALL6, REMOVAL4);
	assert_string_equal(log, want);
	free(log);
	free(want);
	unload(c);
}

static void test_remove(void **state)
{
	struct conf *c = load(CONF_BOTH);
	char *log;

	fake_tools(true, "");
	assert_int_equal(rules_remove(c), 0);
	log = fake_done();
	assert_string_equal(log, REMOVAL4);
	free(log);
	unload(c);
}

/* Without ip6tables: skipped silently when no rule needs IPv6 ... */
static void test_no_ip6tables_v4_only(void **state)
{
	struct conf *c = load(CONF_V4);
	char *log, *want;

	fake_tools(false, "");
	assert_int_equal(rules_install(c), 0);
	assert_int_equal(rules_remove(c), 0);
	log = fake_done();
	want = concat(REMOVAL4, INSTALL4_ONLY, REMOVAL4, "");
	assert_string_equal(log, want);
	free(log);
	free(want);
	unload(c);
}

/* ... and an error when one does: install touches nothing, remove still
 * removes the IPv4 rules. */
static void test_no_ip6tables_v6_rule(void **state)
{
	struct conf *c = load(CONF_BOTH);
	char *log;

	fake_tools(false, "");
	assert_int_equal(rules_install(c), -1);
	assert_int_equal(rules_remove(c), -1);
	log = fake_done();
	assert_string_equal(log, REMOVAL4);
	free(log);
	unload(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_remove),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_install),
		cmocka_unit_test(test_install_rollback),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_no_ip6tables_v4_only),
		cmocka_unit_test(test_no_ip6tables_v6_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
