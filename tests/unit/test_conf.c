/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests for the configuration loader: each case is a file's text, written
 * to a temporary file and loaded.  Expected values come from the grammar
 * in synproxyd.conf(5); line numbers are counted by hand from the case
 * text (one string literal per line). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"

static char tmp_path[512];

/* Writes text to a fresh temporary file and loads it. */
static int load_text(const char *text, struct conf *c, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd, rc;

	snprintf(tmp_path, sizeof(tmp_path), "%s/test_conf.XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	rc = conf_load(tmp_path, c, err, errlen);
	unlink(tmp_path);
	return rc;
}

static struct conf *new_conf(void)
{
	struct conf *c = malloc(sizeof(*c));

	assert_non_null(c);
	memset(c, 0xa5, sizeof(*c));  /* conf_load must initialise everything */
	return c;
}

/* An IPv4 prefix in the mapped space: ::ffff:a.b.c.d/(96+len). */
static void assert_v4_prefix(const struct prefix *p, uint8_t a, uint8_t b, uint8_t c,
			     uint8_t d, unsigned len)
{
	const uint8_t want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d };

	assert_memory_equal(p->addr.a, want, 16);
	assert_int_equal(p->len, 96 + len);
}

static struct addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct addr r = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d } };

	return r;
}

/* 2001:db8:<g3>::<last> */
static struct addr v6(uint16_t g3, uint8_t last)
{
	struct addr r = { { 0x20, 0x01, 0x0d, 0xb8, (uint8_t)(g3 >> 8), (uint8_t)g3 } };

	r.a[15] = last;
	return r;
}

/* ------------------------------------------------------------------ */

static const char full_text[] =
	"mode = \"local\";\n"
	"queue = { num = 10; count = 4; fail_open = false; bypass = false; maxlen = 1024; };\n"
	"mark = 0xdeadbeef;\n"
	"control_socket = \"/tmp/sp/ctl.sock\";\n"
	"secret_file = \"/etc/sp/secret\";\n"
	"cookies = \"always\";\n"
	"fastpath = \"off\";\n"
	"reply_path = \"route\";\n"
	"cookie_crosscheck = true;\n"
	"syncache = { buckets = 65536; bucket_limit = 8; max_entries = 100000;\n"
	"             synack_retries = 5; };\n"
	"flows = { max = 1000; hold_packets = 0; hold_bytes = 0; };\n"
	"timeouts = { synack_rto = 0.25; backend_syn_rto = 2; backend_syn_retries = 0;\n"
	"             established_idle = 86400; fin_wait = 30.5; time_wait = 1;\n"
	"             rst_grace = 3600; };\n"
	"logging = { level = \"debug\"; target = \"syslog\"; };\n"
	"rules = (\n"
	"  { name = \"db-1.x_y\"; dst = \"10.0.0.0/8\"; ports = [ 5432, 5433 ];\n"
	"    action = \"proxy\"; mss = 1400; wscale = 0; sack = true; timestamps = false;\n"
	"    ecn = true; allow = [ \"198.51.100.0/24\", \"2001:db8:5::/48\" ];\n"
	"    deny = [ \"198.51.100.7\" ]; max_half_open_per_source = 10;\n"
	"    syn_rate_per_source = 100; syn_burst_per_source = 150;\n"
	"    max_flows_per_source = 0; flows_source_prefix = [ 24, 48 ]; },\n"
	"  { name = \"rst\"; dst = \"192.0.2.0/24\"; action = \"reset\"; wscale = \"off\";\n"
	"    mss = \"auto\"; sack = false; timestamps = true; reset_pass_time = 1.5; },\n"
	"  { name = \"acc\"; dst = \"2001:db8::/32\"; action = \"accept\"; wscale = false; },\n"
	"  { name = \"drp\"; dst = \"198.51.100.1\"; action = \"drop\"; ports = ( 1, 65535 );\n"
	"    wscale = 14; mss = 536; sack = \"auto\"; timestamps = \"auto\"; },\n"
	"  { name = \"hi\"; dst = \"198.51.100.2\"; mss = 65535; reset_pass_time = 86400;\n"
	"    action = \"reset\"; }\n"
	");\n";

static void test_full(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";
	const struct rule *r;
	struct addr a;

	assert_int_equal(load_text(full_text, c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c->mode, CONF_MODE_LOCAL);
	assert_int_equal(c->queue.num, 10);
	assert_int_equal(c->queue.count, 4);
	assert_false(c->queue.fail_open);
	assert_false(c->queue.bypass);
	assert_int_equal(c->queue.maxlen, 1024);
	assert_int_equal(c->mark, 0xdeadbeefu);
	assert_string_equal(c->control_socket, "/tmp/sp/ctl.sock");
	assert_string_equal(c->secret_file, "/etc/sp/secret");
	assert_int_equal(c->engine.cookies, COOKIES_ALWAYS);
	assert_int_equal(c->fastpath, CONF_FASTPATH_OFF);
	assert_int_equal(c->reply_path, CONF_REPLY_ROUTE);
	assert_true(c->engine.cookie_crosscheck);
	assert_int_equal(c->engine.syncache.buckets, 65536);
	assert_int_equal(c->engine.syncache.bucket_limit, 8);
	assert_int_equal(c->engine.syncache.max_entries, 100000);
	assert_int_equal(c->engine.syncache.retries, 5);
	assert_int_equal(c->engine.syncache.rto_ms, 250);          /* 0.25 s */
	assert_int_equal(c->engine.max_flows, 1000);
	assert_int_equal(c->engine.hold_packets_per_flow, 0);
	assert_int_equal(c->engine.hold_bytes_total, 0);
	assert_int_equal(c->engine.backend_syn_rto_ms, 2000);      /* 2 s */
	assert_int_equal(c->engine.backend_syn_retries, 0);
	assert_int_equal(c->engine.established_idle_ms, 86400000); /* 1 day */
	assert_int_equal(c->engine.fin_wait_ms, 30500);            /* 30.5 s */
	assert_int_equal(c->engine.time_wait_ms, 1000);
	assert_int_equal(c->engine.rst_grace_ms, 3600000);         /* 1 hour */
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_int_equal(c->log_target, CONF_LOG_SYSLOG);
	assert_int_equal(c->policy.nrules, 5);

	r = &c->policy.rules[0];
	assert_string_equal(r->name, "db-1.x_y");
	assert_v4_prefix(&r->dst, 10, 0, 0, 0, 8);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0], 5432);
	assert_int_equal(r->ports[1], 5433);
	assert_int_equal(r->action, RULE_PROXY);
	assert_int_equal(r->mss_mode, OPT_ON);
	assert_int_equal(r->mss, 1400);
	assert_int_equal(r->wscale_mode, OPT_ON);
	assert_int_equal(r->wscale, 0);
	assert_int_equal(r->sack_mode, OPT_ON);
	assert_int_equal(r->ts_mode, OPT_OFF);
	assert_true(r->ecn);
	assert_non_null(r->allow);
	a = v4(198, 51, 100, 200);
	assert_true(cidrset_contains(r->allow, &a));
	a = v4(198, 51, 101, 1);
	assert_false(cidrset_contains(r->allow, &a));
	a = v6(5, 9);
	assert_true(cidrset_contains(r->allow, &a));
	a = v6(6, 9);
	assert_false(cidrset_contains(r->allow, &a));
	assert_non_null(r->deny);
	a = v4(198, 51, 100, 7);
	assert_true(cidrset_contains(r->deny, &a));
	a = v4(198, 51, 100, 8);
	assert_false(cidrset_contains(r->deny, &a));
	assert_int_equal(r->max_half_open_per_source, 10);
	assert_int_equal(r->syn_rate_per_source, 100);
	assert_int_equal(r->syn_burst_per_source, 150);
	assert_int_equal(r->max_flows_per_source, 0);
	assert_int_equal(r->flows_prefix4, 24);
	assert_int_equal(r->flows_prefix6, 48);
	assert_int_equal(r->reset_pass_ms, 0);

	r = &c->policy.rules[1];
	/* Not set: a sixteenth of flows.max (1000 here). */
	assert_int_equal(r->max_flows_per_source, 62);
	assert_int_equal(r->flows_prefix4, 32);
	assert_int_equal(r->flows_prefix6, 64);
	assert_string_equal(r->name, "rst");
	assert_v4_prefix(&r->dst, 192, 0, 2, 0, 24);
	assert_int_equal(r->nports, 0);
	assert_int_equal(r->action, RULE_RESET);
	assert_int_equal(r->mss_mode, OPT_AUTO);
	assert_int_equal(r->mss, 1460);
	assert_int_equal(r->wscale_mode, OPT_OFF);
	assert_int_equal(r->sack_mode, OPT_OFF);
	assert_int_equal(r->ts_mode, OPT_ON);
	assert_false(r->ecn);
	assert_null(r->allow);
	assert_null(r->deny);
	assert_int_equal(r->reset_pass_ms, 1500);                   /* 1.5 s */

	r = &c->policy.rules[2];
	assert_string_equal(r->name, "acc");
	{
		const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		assert_memory_equal(r->dst.addr.a, want, 16);
		assert_int_equal(r->dst.len, 32);
	}
	assert_int_equal(r->action, RULE_ACCEPT);
	assert_int_equal(r->wscale_mode, OPT_OFF);

	r = &c->policy.rules[3];
	assert_string_equal(r->name, "drp");
	assert_v4_prefix(&r->dst, 198, 51, 100, 1, 32);
	assert_int_equal(r->action, RULE_DROP);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0], 1);
	assert_int_equal(r->ports[1], 65535);
	assert_int_equal(r->wscale_mode, OPT_ON);
	assert_int_equal(r->wscale, 14);
	assert_int_equal(r->mss_mode, OPT_ON);
	assert_int_equal(r->mss, 536);
	assert_int_equal(r->sack_mode, OPT_AUTO);
	assert_int_equal(r->ts_mode, OPT_AUTO);

	r = &c->policy.rules[4];
	assert_int_equal(r->mss, 65535);
	assert_int_equal(r->reset_pass_ms, 86400000);
	assert_int_equal(r->action, RULE_RESET);

	conf_free(c);
	assert_int_equal(c->policy.nrules, 0);
	free(c);
}

/* The defaults as synproxyd.conf(5) lists them. */
static void assert_defaults(const struct conf *c)
{
	struct engine_config e;

	assert_int_equal(c->mode, CONF_MODE_GATEWAY);
	assert_int_equal(c->queue.num, 0);
	assert_int_equal(c->queue.count, 1);
	assert_false(c->queue.fail_open);
	assert_false(c->queue.bypass);
	assert_int_equal(c->queue.maxlen, 65536);
	assert_int_equal(c->mark, 0x5350);
	assert_int_equal(c->fastpath, CONF_FASTPATH_AUTO);
	assert_int_equal(c->reply_path, CONF_REPLY_LINK);
	assert_string_equal(c->control_socket, "/run/synproxyd/control.sock");
	assert_string_equal(c->secret_file, "");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->log_target, CONF_LOG_STDERR);
	assert_int_equal(c->engine.cookies, COOKIES_AUTO);
	assert_int_equal(c->engine.syncache.buckets, 4096);
	assert_int_equal(c->engine.syncache.bucket_limit, 16);
	assert_int_equal(c->engine.syncache.max_entries, 32768);
	assert_int_equal(c->engine.syncache.retries, 3);
	assert_int_equal(c->engine.syncache.rto_ms, 1000);
	assert_int_equal(c->engine.max_flows, 65536);
	assert_int_equal(c->engine.hold_packets_per_flow, 8);
	assert_int_equal(c->engine.hold_bytes_total, 4194304);
	assert_int_equal(c->engine.backend_syn_rto_ms, 1000);
	assert_int_equal(c->engine.backend_syn_retries, 3);
	assert_int_equal(c->engine.established_idle_ms, 432000000);   /* 5 days */
	assert_int_equal(c->engine.fin_wait_ms, 120000);
	assert_int_equal(c->engine.time_wait_ms, 60000);
	assert_int_equal(c->engine.rst_grace_ms, 10000);
	/* Settings the file cannot change keep the engine's own defaults. */
	engine_config_defaults(&e);
	assert_int_equal(c->engine.synack_window, e.synack_window);
	assert_int_equal(c->engine.srclimit_slots, e.srclimit_slots);
	assert_int_equal(c->engine.learned_slots, e.learned_slots);
	assert_int_equal(c->engine.passlist_slots, e.passlist_slots);
	assert_int_equal(c->engine.cookie_crosscheck, e.cookie_crosscheck);
}

static void test_defaults(void **state)
{
	struct conf *c = new_conf();

	conf_defaults(c);
	assert_defaults(c);
	assert_int_equal(c->policy.nrules, 0);
	free(c);
}

static void test_minimal(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";
	const struct rule *r;

	assert_int_equal(load_text("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n",
				   c, err, sizeof(err)), 0);
	assert_defaults(c);
	assert_int_equal(c->policy.nrules, 1);
	r = &c->policy.rules[0];
	assert_string_equal(r->name, "a");
	assert_v4_prefix(&r->dst, 192, 0, 2, 1, 32);
	assert_int_equal(r->nports, 0);
	assert_int_equal(r->action, RULE_PROXY);
	assert_int_equal(r->mss_mode, OPT_AUTO);
	assert_int_equal(r->mss, 1460);
	assert_int_equal(r->wscale_mode, OPT_AUTO);
	assert_int_equal(r->wscale, 7);
	assert_int_equal(r->sack_mode, OPT_AUTO);
	assert_int_equal(r->ts_mode, OPT_AUTO);
	assert_false(r->ecn);
	assert_null(r->allow);
	assert_null(r->deny);
	assert_int_equal(r->max_half_open_per_source, 0);
	assert_int_equal(r->syn_rate_per_source, 0);
	assert_int_equal(r->syn_burst_per_source, 0);
	assert_int_equal(r->max_flows_per_source, 65536 / 16);
	assert_int_equal(r->flows_prefix4, 32);
	assert_int_equal(r->flows_prefix6, 64);
	assert_int_equal(r->reset_pass_ms, 0);
	conf_free(c);
	free(c);
}

/* A reset rule without reset_pass_time passes sources for 60 s. */
static void test_reset_default(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";

	assert_int_equal(load_text("rules = ( { name = \"r\"; dst = \"192.0.2.1\"; "
				   "action = \"reset\"; } );\n", c, err, sizeof(err)), 0);
	assert_int_equal(c->policy.rules[0].action, RULE_RESET);
	assert_int_equal(c->policy.rules[0].reset_pass_ms, 60000);
	conf_free(c);
	free(c);
}

static void test_example(void **state)
{
	const char *top = getenv("top_srcdir");
	struct conf *c = new_conf();
	char path[1024], err[512] = "";
	const struct rule *r;
	struct addr a;

	snprintf(path, sizeof(path), "%s/etc/synproxyd.conf.example", top ? top : ".");
	if (conf_load(path, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->mode, CONF_MODE_GATEWAY);
	assert_int_equal(c->policy.nrules, 2);
	r = &c->policy.rules[0];
	assert_string_equal(r->name, "redis");
	assert_v4_prefix(&r->dst, 203, 0, 113, 2, 32);
	assert_int_equal(r->nports, 1);
	assert_int_equal(r->ports[0], 6379);
	assert_int_equal(r->action, RULE_PROXY);
	a = v4(198, 51, 100, 10);
	assert_true(cidrset_contains(r->allow, &a));
	r = &c->policy.rules[1];
	assert_string_equal(r->name, "web");
	assert_v4_prefix(&r->dst, 203, 0, 113, 2, 32);
	assert_int_equal(r->nports, 1);
	assert_int_equal(r->ports[0], 80);
	/* The example changes exactly these defaults; tests/live/lib.sh
	 * (EXAMPLE_CHANGES) names them where a live test keeps the default. */
	assert_int_equal(c->queue.count, 2);
	assert_int_equal(c->engine.backend_syn_rto_ms, 500);
	assert_int_equal(c->log_level, LOG_NOTICE);
	assert_int_equal(c->log_target, CONF_LOG_SYSLOG);
	c->queue.count = 1;
	c->engine.backend_syn_rto_ms = 1000;
	c->log_level = LOG_INFO;
	c->log_target = CONF_LOG_STDERR;
	assert_defaults(c);
	conf_free(c);
	free(c);
}

/* etc/synproxyd-local.conf.example loads as the local-mode example its
 * comments describe (tests/live/shipped_local.sh runs it). */
static void test_example_local(void **state)
{
	const char *top = getenv("top_srcdir");
	struct conf *c = new_conf();
	char path[1024], err[512] = "";
	const struct rule *r;
	struct addr a;

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/synproxyd-local.conf.example", top ? top : ".");
	if (conf_load(path, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->mode, CONF_MODE_LOCAL);
	assert_int_equal(c->queue.count, 2);
	assert_int_equal(c->policy.nrules, 3);
	r = &c->policy.rules[0];
	assert_string_equal(r->name, "web4");
	assert_v4_prefix(&r->dst, 203, 0, 113, 2, 32);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0], 80);
	assert_int_equal(r->ports[1], 443);
	assert_string_equal(c->policy.rules[1].name, "web6");
	assert_int_equal(c->policy.rules[1].dst.len, 128);
	r = &c->policy.rules[2];
	assert_string_equal(r->name, "redis");
	a = v4(198, 51, 100, 10);
	assert_true(cidrset_contains(r->allow, &a));
	a = v4(192, 0, 2, 10);
	assert_false(cidrset_contains(r->allow, &a));
	conf_free(c);
	free(c);
}

static void test_ipv6(void **state)
{
	static const char text[] =
		"rules = (\n"
		"  { name = \"v6net\"; dst = \"2001:db8:1::/64\"; ports = [ 443 ];\n"
		"    allow = [ \"2001:db8:2::/48\", \"192.0.2.0/24\" ];\n"
		"    deny = [ \"2001:db8:2::1\" ]; },\n"
		"  { name = \"v6host\"; dst = \"2001:db8:1::1\"; ports = [ 80 ]; },\n"
		"  { name = \"v4\"; dst = \"192.0.2.0/24\"; }\n"
		");\n";
	const uint8_t net[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };
	const uint8_t host[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, [15] = 1 };
	struct conf *c = new_conf();
	char err[512] = "";
	struct addr a;

	if (load_text(text, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->policy.nrules, 3);
	assert_memory_equal(c->policy.rules[0].dst.addr.a, net, 16);
	assert_int_equal(c->policy.rules[0].dst.len, 64);
	assert_memory_equal(c->policy.rules[1].dst.addr.a, host, 16);
	assert_int_equal(c->policy.rules[1].dst.len, 128);
	a = v6(2, 1);
	assert_true(cidrset_contains(c->policy.rules[0].allow, &a));
	assert_true(cidrset_contains(c->policy.rules[0].deny, &a));
	a = v6(2, 2);
	assert_false(cidrset_contains(c->policy.rules[0].deny, &a));
	a = v4(192, 0, 2, 99);
	assert_true(cidrset_contains(c->policy.rules[0].allow, &a));
	conf_free(c);
	free(c);
}

/* Texts that must load: rules that share no destination and port, and
 * edge values at the ends of their ranges. */
static const char *const good_texts[] = {
	/* same prefix, different ports */
	"rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ 80, 81 ]; },\n"
	"          { name = \"b\"; dst = \"192.0.2.1\"; ports = [ 443, 82 ]; } );\n",
	/* nested prefixes, different ports */
	"rules = ( { name = \"a\"; dst = \"192.0.2.0/24\"; ports = [ 80 ]; },\n"
	"          { name = \"b\"; dst = \"192.0.2.1\"; ports = [ 443 ]; } );\n",
	/* disjoint prefixes, every port */
	"rules = ( { name = \"a\"; dst = \"192.0.2.0/25\"; },\n"
	"          { name = \"b\"; dst = \"192.0.2.128/25\"; },\n"
	"          { name = \"c\"; dst = \"2001:db8::/33\"; },\n"
	"          { name = \"d\"; dst = \"2001:db8:8000::/33\"; } );\n",
	/* an IPv6 prefix never covers an IPv4 one */
	"rules = ( { name = \"a\"; dst = \"0.0.0.0/0\"; },\n"
	"          { name = \"b\"; dst = \"2000::/3\"; } );\n",
	/* range ends */
	"queue = { num = 65472; count = 64; maxlen = 16777216; };\n"
	"mark = 1;\n"
	"syncache = { buckets = 16777216; bucket_limit = 1024; max_entries = 67108864;\n"
	"             synack_retries = 10; };\n"
	"flows = { max = 67108864; hold_packets = 64; hold_bytes = 1073741824; };\n"
	"timeouts = { synack_rto = 0.1; backend_syn_rto = 60; established_idle = 864000;\n"
	"             fin_wait = 86400; time_wait = 86400; rst_grace = 1; };\n"
	"rules = ( { name = \"abcdefghijklmnopqrstuvwxyz01234\"; dst = \"192.0.2.1\";\n"
	"            wscale = \"auto\"; max_half_open_per_source = 1000000;\n"
	"            syn_rate_per_source = 1000000; syn_burst_per_source = 1000000; } );\n",
	/* syncache with max_entries equal to bucket_limit; 64-bit literal */
	"syncache = { buckets = 16; bucket_limit = 1; max_entries = 1; };\n"
	"queue = { maxlen = 16777216L; };\n"
	"rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n",
	/* long fractions and exponents are floats, not wrapped integers */
	"timeouts = { synack_rto = 0.5000000000000; fin_wait = 1.2e2;\n"
	"             time_wait = 30000000000e-9; };\n"
	"rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n",
	/* big numbers in comments and strings are not literals */
	"# 99999999999\n"
	"/* 0x1ffffffff */ // -99999999999\n"
	"rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } ); # 5000000000\n",
	/* the longest control socket path: 5 + 75 + 27 = 107 bytes */
	"control_socket = \"/run/"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxx\";\n"
	"rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n",
};

static void test_good(void **state)
{
	struct conf *c = new_conf();
	char err[512];

	for (size_t i = 0; i < sizeof(good_texts) / sizeof(good_texts[0]); i++) {
		err[0] = '\0';
		if (load_text(good_texts[i], c, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		conf_free(c);
	}
	free(c);
}

/* metrics.listen: IPv4, IPv6 in brackets; off without the group. */
static void test_metrics(void **state)
{
	static const uint8_t v6[16] = { [15] = 1 };
	struct conf *c = new_conf();
	char err[512] = "";

	assert_int_equal(load_text("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n", c, err,
				   sizeof(err)), 0);
	assert_false(c->metrics.enabled);
	conf_free(c);
	assert_int_equal(load_text("metrics = { listen = \"127.0.0.1:9464\"; };\n"
				   "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n", c, err,
				   sizeof(err)), 0);
	assert_true(c->metrics.enabled);
	assert_int_equal(c->metrics.family, 4);
	assert_memory_equal(c->metrics.addr, "\x7f\0\0\x01", 4);
	assert_int_equal(c->metrics.port, 9464);
	assert_string_equal(c->metrics.listen, "127.0.0.1:9464");
	conf_free(c);
	assert_int_equal(load_text("metrics = { listen = \"[::1]:1\"; };\n"
				   "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n", c, err,
				   sizeof(err)), 0);
	assert_int_equal(c->metrics.family, 6);
	assert_memory_equal(c->metrics.addr, v6, 16);
	assert_int_equal(c->metrics.port, 1);
	conf_free(c);
	free(c);
}

/* server_interfaces and the XDP stage's interfaces: lists of names, read
 * by one parser (conf.c, iface_list). */
static void test_interface_lists(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";

	assert_int_equal(load_text("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n", c, err,
				   sizeof(err)), 0);
	assert_int_equal(c->nserver_ifaces, 0);
	assert_int_equal(c->xdp.nifaces, 0);
	conf_free(c);
	assert_int_equal(load_text("server_interfaces = [ \"eth1\", \"bond0.20\" ];\n"
				   "xdp = { interfaces = [ \"eth0\" ]; };\n"
				   "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n", c, err,
				   sizeof(err)), 0);
	assert_int_equal(c->nserver_ifaces, 2);
	assert_string_equal(c->server_ifaces[0], "eth1");
	assert_string_equal(c->server_ifaces[1], "bond0.20");
	assert_int_equal(c->xdp.nifaces, 1);
	assert_string_equal(c->xdp.ifaces[0], "eth0");
	conf_free(c);
	free(c);
}

static void test_edges(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";

	assert_int_equal(load_text(good_texts[4], c, err, sizeof(err)), 0);
	assert_int_equal(c->queue.num, 65472);
	assert_int_equal(c->queue.count, 64);
	assert_int_equal(c->engine.syncache.rto_ms, 100);
	assert_int_equal(c->engine.backend_syn_rto_ms, 60000);
	assert_int_equal(c->engine.established_idle_ms, 864000000);
	conf_free(c);
	assert_int_equal(load_text("mark = 0xffffffff;\n"
				   "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n",
				   c, err, sizeof(err)), 0);
	assert_int_equal(c->mark, 0xffffffffu);
	conf_free(c);
	assert_int_equal(load_text(good_texts[5], c, err, sizeof(err)), 0);
	assert_int_equal(c->queue.maxlen, 16777216);
	conf_free(c);
	assert_int_equal(load_text(good_texts[6], c, err, sizeof(err)), 0);
	assert_int_equal(c->engine.syncache.rto_ms, 500);
	assert_int_equal(c->engine.fin_wait_ms, 120000);     /* 1.2e2 s */
	assert_int_equal(c->engine.time_wait_ms, 30000);     /* 3e10 ns */
	conf_free(c);
	free(c);
}

/* ------------------------------------------------------------------ */

#define R "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; } );\n"

struct bad {
	const char *text;
	unsigned line;
	const char *msg;
};

static const struct bad bad_cases[] = {
	/* libconfig syntax errors, with libconfig's words */
	{ "mode = \"gateway\";\n"
	  "queue = {\n"
	  "  num = ;\n"
	  "};\n" R, 3, "syntax error" },
	{ "mark = 1;\n"
	  "mark = 2;\n" R, 2, "duplicate setting name" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ 80, \"x\" ]; } );\n",
	  1, "mismatched element type" },
	/* interface lists */
	{ "server_interfaces = \"eth1\";\n" R, 1,
	  "'server_interfaces' must be a list of interface names" },
	{ "server_interfaces = [ \"eth1\", 2 ];\n" R, 1, "mismatched element type" },
	{ "server_interfaces = ( \"eth1\", 2 );\n" R, 1,
	  "'server_interfaces' must be a list of strings" },
	{ "server_interfaces = [ \"eth1\", \"eth1\" ];\n" R, 1,
	  "'server_interfaces': \"eth1\" twice" },
	{ "server_interfaces = [ \"a/b\" ];\n" R, 1,
	  "'server_interfaces': \"a/b\" is not an interface name" },
	{ "server_interfaces = [ \"a-name-far-too-long\" ];\n" R, 1,
	  "is not an interface name" },
	{ "server_interfaces = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\" ];\n" R,
	  1, "'server_interfaces': at most 8" },
	{ "mode = \"local\";\n"
	  "server_interfaces = [ \"eth1\" ];\n" R, 2,
	  "'server_interfaces' is for gateway mode" },
	{ "xdp = { interfaces = [ \"\" ]; };\n" R, 1,
	  "'interfaces': \"\" is not an interface name" },
	/* unknown settings */
	{ "foo = 1;\n" R, 1, "unknown setting 'foo'" },
	{ "queue = {\n"
	  "  num = 1;\n"
	  "  x = 2;\n"
	  "};\n" R, 3, "unknown setting 'x' in 'queue'" },
	{ "\nsyncache = { size = 1; };\n" R, 2, "unknown setting 'size' in 'syncache'" },
	{ "\n\nflows = { max = 100; hold = 1; };\n" R, 3, "unknown setting 'hold' in 'flows'" },
	{ "timeouts = { idle = 1; };\n" R, 1, "unknown setting 'idle' in 'timeouts'" },
	{ "logging = { facility = \"daemon\"; };\n" R, 1,
	  "unknown setting 'facility' in 'logging'" },
	{ "rules = (\n"
	  "  {\n"
	  "    name = \"a\";\n"
	  "    dst = \"192.0.2.1\";\n"
	  "    prot = 5;\n"
	  "  }\n"
	  ");\n", 5, "unknown setting 'prot' in rule 'a'" },
	{ "rules = ( { nmae = \"a\"; dst = \"192.0.2.1\"; } );\n", 1,
	  "unknown setting 'nmae' in 'rules'" },
	/* wrong types */
	{ R "ports = 5;\n", 2, "unknown setting 'ports'" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "            ports = \"80\"; } );\n", 2, "'ports' must be a list" },
	{ "queue = 5;\n" R, 1, "'queue' must be a group" },
	{ "syncache = [ 1 ];\n" R, 1, "'syncache' must be a group" },
	{ "queue = { num = \"1\"; };\n" R, 1, "'num' must be an integer" },
	{ "queue = { count = 1.0; };\n" R, 1, "'count' must be an integer" },
	{ "queue = { fail_open = 1; };\n" R, 1, "'fail_open' must be true or false" },
	{ "mark = \"0x10\";\n" R, 1, "'mark' must be an integer" },
	{ "cookie_crosscheck = 1;\n" R, 1, "'cookie_crosscheck' must be true or false" },
	{ "mode = 1;\n" R, 1, "'mode' must be one of \"gateway\", \"local\"" },
	{ "control_socket = 5;\n" R, 1, "'control_socket' must be a string" },
	{ "timeouts = { fin_wait = \"1\"; };\n" R, 1, "'fin_wait' must be a number" },
	{ "rules = { a = 1; };\n", 1, "'rules' must be a list" },
	{ "rules = ( 1 );\n", 1, "each rule must be a group" },
	{ "rules = ( { name = 5; dst = \"192.0.2.1\"; } );\n", 1, "'name' must be a string" },
	{ "rules = ( { name = \"a\"; dst = 5; } );\n", 1, "'dst' must be an address" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ecn = \"yes\"; } );\n", 1,
	  "'ecn' must be true or false" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; sack = 1; } );\n", 1,
	  "'sack' must be \"auto\", true or false" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; timestamps = \"on\"; } );\n", 1,
	  "'timestamps' must be \"auto\", true or false" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; wscale = true; } );\n", 1,
	  "'wscale' must be" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; mss = \"off\"; } );\n", 1,
	  "'mss' must be \"auto\" or 536 to 65535" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; allow = \"10.0.0.0/8\"; } );\n", 1,
	  "'allow' must be a list" },
	/* out of range */
	{ "queue = { num = 65536; };\n" R, 1, "'num' is 65536, must be 0 to 65535" },
	{ "queue = { num = -1; };\n" R, 1, "'num' is -1" },
	{ "queue = { count = 0; };\n" R, 1, "'count' is 0, must be 1 to 64" },
	{ "queue = { count = 65; };\n" R, 1, "'count' is 65" },
	{ "queue = {\n"
	  "  num = 65535;\n"
	  "  count = 2;\n"
	  "};\n" R, 3, "go past 65535" },
	{ "queue = { maxlen = 0; };\n" R, 1, "'maxlen' is 0" },
	{ "queue = { maxlen = 16777217; };\n" R, 1, "'maxlen' is 16777217, must be 1 to 16777216" },
	{ "queue = { maxlen = 5000000000; };\n" R, 1, "does not fit in 32 bits" },
	{ R "mark = 0x100000000;\n", 2, "does not fit in 32 bits" },
	{ "mark = 0;\n" R, 1, "'mark' must be 1 to 0xffffffff" },
	{ "mark = -1;\n" R, 1, "'mark' must be 1 to 0xffffffff" },
	{ "mark = 4294967296L;\n" R, 1, "'mark' must be 1 to 0xffffffff" },
	{ "mode = \"router\";\n" R, 1, "'mode' must be one of" },
	{ "cookies = \"sometimes\";\n" R, 1,
	  "'cookies' must be one of \"off\", \"auto\", \"always\"" },
	{ "\nfastpath = \"on\";\n" R, 2, "'fastpath' must be one of \"auto\", \"off\"" },
	{ "fastpath = true;\n" R, 1, "'fastpath' must be one of" },
	{ "reply_path = \"arp\";\n" R, 1, "'reply_path' must be one of \"link\", \"route\"" },
	{ "control_socket = \"run/sp.sock\";\n" R, 1, "'control_socket' must be an absolute" },
	/* 5 + 75 + 28 = 108 bytes: no room for the NUL in sun_path */
	{ "control_socket = \"/run/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\";\n" R, 1, "shorter than 108 bytes" },
	{ "secret_file = \"\";\n" R, 1, "'secret_file' must be an absolute" },
	{ "metrics = { };\n" R, 1, "'metrics' needs 'listen'" },
	{ "metrics = { listen = \"localhost:9464\"; };\n" R, 1, "'listen' must be \"IPV4:PORT\"" },
	{ "metrics = { listen = \"127.0.0.1\"; };\n" R, 1, "'listen' must be" },
	{ "metrics = { listen = \"127.0.0.1:0\"; };\n" R, 1, "'listen' must be" },
	{ "metrics = { listen = \"127.0.0.1:65536\"; };\n" R, 1, "'listen' must be" },
	{ "metrics = { listen = \"127.0.0.1:94x\"; };\n" R, 1, "'listen' must be" },
	{ "metrics = { listen = \"::1:9464\"; };\n" R, 1, "'listen' must be" },
	{ "\nmetrics = { listen = \"[::1]:9464\"; port = 1; };\n" R, 2,
	  "unknown setting 'port' in 'metrics'" },
	{ "syncache = { buckets = 8; };\n" R, 1, "'buckets' is 8, must be 16 to 16777216" },
	{ "syncache = { buckets = 33554432; };\n" R, 1, "'buckets' is 33554432" },
	{ "syncache = { buckets = 100; };\n" R, 1, "'buckets' must be a power of two" },
	{ "syncache = { bucket_limit = 0; };\n" R, 1, "'bucket_limit' is 0" },
	{ "syncache = { bucket_limit = 1025; };\n" R, 1, "'bucket_limit' is 1025" },
	{ "syncache = {\n"
	  "  bucket_limit = 64;\n"
	  "  max_entries = 32;\n"
	  "};\n" R, 3, "'max_entries' (32) is below 'bucket_limit' (64)" },
	{ "syncache = { max_entries = 67108865; };\n" R, 1, "'max_entries' is 67108865" },
	{ "syncache = { synack_retries = 11; };\n" R, 1, "'synack_retries' is 11" },
	{ "flows = { max = 15; };\n" R, 1, "'max' is 15, must be 16 to 67108864" },
	{ "flows = { hold_packets = 65; };\n" R, 1, "'hold_packets' is 65" },
	{ "flows = { hold_bytes = 1073741825; };\n" R, 1, "'hold_bytes' is 1073741825" },
	{ "timeouts = { synack_rto = 0.05; };\n" R, 1, "'synack_rto' must be 0.1 to 60 seconds" },
	{ "timeouts = { backend_syn_rto = 61; };\n" R, 1, "'backend_syn_rto' must be 0.1 to 60" },
	{ "timeouts = { backend_syn_retries = 11; };\n" R, 1, "'backend_syn_retries' is 11" },
	{ "timeouts = { established_idle = 0; };\n" R, 1,
	  "'established_idle' must be 1 to 864000 seconds" },
	{ "timeouts = { established_idle = 864001; };\n" R, 1, "'established_idle' must be" },
	{ "timeouts = { fin_wait = 0.5; };\n" R, 1, "'fin_wait' must be 1 to 86400" },
	{ "timeouts = { time_wait = 86401; };\n" R, 1, "'time_wait' must be 1 to 86400" },
	{ "timeouts = { rst_grace = 3601; };\n" R, 1, "'rst_grace' must be 1 to 3600" },
	{ "logging = { level = \"verbose\"; };\n" R, 1,
	  "'level' must be one of \"error\", \"warning\", \"notice\", \"info\", \"debug\"" },
	{ "logging = { target = \"file\"; };\n" R, 1, "'target' must be one of" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; action = \"forward\"; } );\n", 1,
	  "'action' must be one of \"proxy\", \"reset\", \"accept\", \"drop\"" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; mss = 535; } );\n", 1,
	  "'mss' is 535, must be 536 to 65535" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; mss = 65536; } );\n", 1,
	  "'mss' is 65536" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; wscale = 15; } );\n", 1,
	  "'wscale' is 15, must be 0 to 14" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; wscale = -1; } );\n", 1,
	  "'wscale' is -1" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; syn_rate_per_source = 1000001; } );\n",
	  1, "'syn_rate_per_source' is 1000001" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "            syn_burst_per_source = 5; } );\n", 2, "needs 'syn_rate_per_source'" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; max_flows_per_source = -1; } );\n",
	  1, "'max_flows_per_source' is -1" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "            flows_source_prefix = [ 32 ]; } );\n", 2, "[ IPv4 length, IPv6 length ]" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; flows_source_prefix = 32; } );\n",
	  1, "[ IPv4 length, IPv6 length ]" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; flows_source_prefix = [ 33, 64 ]; } );\n",
	  1, "is 33, must be 1 to 32" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; flows_source_prefix = [ 32, 0 ]; } );\n",
	  1, "is 0, must be 1 to 128" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; action = \"reset\";\n"
	  "            reset_pass_time = 0; } );\n", 2, "'reset_pass_time' must be 1 to 86400" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "            reset_pass_time = 5; } );\n", 2, "needs action \"reset\"" },
	/* addresses and prefixes */
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.0/33\"; } );\n", 1, "bad address or prefix" },
	{ "rules = ( { name = \"a\";\n"
	  "  dst = \"192.0.2.1/24\"; } );\n", 2, "\"192.0.2.1/24\" (malformed, or host bits set)" },
	{ "rules = ( { name = \"a\"; dst = \"2001:db8::1/64\"; } );\n", 1, "host bits set" },
	{ "rules = ( { name = \"a\"; dst = \"server\"; } );\n", 1, "bad address or prefix" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "  allow = [ \"10.0.0.0/8\",\n"
	  "            \"10.0.0.0/8x\" ]; } );\n", 3, "'allow': bad address or prefix" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\";\n"
	  "  deny = [ \"198.51.100.7/24\" ]; } );\n", 2, "'deny': bad address or prefix" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; allow = [ ]; } );\n", 1,
	  "'allow' must hold 1 to 4096 prefixes" },
	/* ports */
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ 0 ]; } );\n", 1,
	  "'ports' is 0, must be 1 to 65535" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ 65536 ]; } );\n", 1,
	  "'ports' is 65536" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ 80, 443, 80 ]; } );\n", 1,
	  "port 80 listed twice" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [ ]; } );\n", 1,
	  "'ports' must hold 1 to 64 ports" },
	{ "rules = ( { name = \"a\"; dst = \"192.0.2.1\"; ports = [\n"
	  "  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16,\n"
	  " 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,\n"
	  " 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,\n"
	  " 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65 ]; } );\n",
	  1, "'ports' must hold 1 to 64 ports" },
	/* names */
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.1\"; },\n"
	  "  { dst = \"192.0.2.2\";\n"
	  "    name = \"a\"; }\n"
	  ");\n", 4, "duplicate rule name 'a' (first at line 2)" },
	{ "rules = ( { name = \"\"; dst = \"192.0.2.1\"; } );\n", 1, "1 to 31 characters" },
	{ "rules = ( { name = \"abcdefghijklmnopqrstuvwxyz012345\"; dst = \"192.0.2.1\"; } );\n",
	  1, "1 to 31 characters" },
	{ "rules = ( { name = \"a b\"; dst = \"192.0.2.1\"; } );\n", 1, "may hold only letters" },
	{ "rules = ( { name = \"a/b\"; dst = \"192.0.2.1\"; } );\n", 1, "may hold only letters" },
	{ "rules = (\n"
	  "  { dst = \"192.0.2.1\"; }\n"
	  ");\n", 2, "rule without a 'name'" },
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.1\"; },\n"
	  "  { name = \"b\"; ports = [ 80 ]; }\n"
	  ");\n", 3, "rule 'b' has no 'dst'" },
	/* the rule list */
	{ "rules = ();\n", 1, "'rules' is empty" },
	{ "mode = \"local\";\n", 0, "no 'rules' list" },
	{ "", 0, "no 'rules' list" },
	{ "@include \"/dev/null\"\n" R, 1, "@include is not supported" },
	/* overlapping rules */
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.1\"; },\n"
	  "  { name = \"b\"; dst = \"192.0.2.1\"; }\n"
	  ");\n", 3, "rule 'b' overlaps rule 'a' (line 2)" },
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.0/24\"; ports = [ 80, 443 ]; },\n"
	  "  { name = \"c\"; dst = \"198.51.100.0/24\"; },\n"
	  "  { name = \"b\"; dst = \"192.0.2.200\"; ports = [ 22, 443 ]; }\n"
	  ");\n", 4, "rule 'b' overlaps rule 'a' (line 2)" },
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.7\"; ports = [ 25 ]; },\n"
	  "\n"
	  "  { name = \"b\"; dst = \"192.0.2.0/29\"; }\n"
	  ");\n", 4, "rule 'b' overlaps rule 'a' (line 2)" },
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"2001:db8::/32\"; ports = [ 443 ]; },\n"
	  "  { name = \"b\"; dst = \"2001:db8:1:2::/64\"; ports = [ 443 ]; }\n"
	  ");\n", 3, "rule 'b' overlaps rule 'a' (line 2)" },
	{ "rules = (\n"
	  "  { name = \"a\"; dst = \"192.0.2.1\"; },\n"
	  "  { name = \"b\"; dst = \"::/0\"; ports = [ 443 ]; }\n"
	  ");\n", 3, "rule 'b' overlaps rule 'a' (line 2)" },
};

static void run_bad(const struct bad *b, size_t i, struct conf *c)
{
	char err[512] = "", prefix[600];

	if (load_text(b->text, c, err, sizeof(err)) != -1)
		fail_msg("case %zu loaded: %s", i, b->text);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", tmp_path, b->line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, b->msg))
		fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err, prefix, b->msg);
	/* Nothing is left owned. */
	assert_int_equal(c->policy.nrules, 0);
}

static void test_bad(void **state)
{
	struct conf *c = new_conf();

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad(&bad_cases[i], i, c);
	free(c);
}

/* n rules with distinct /32 destinations, one per line after "rules = (". */
static char *many_rules(unsigned n)
{
	size_t size = 64 + (size_t)n * 64;
	char *t = malloc(size);
	size_t len;

	assert_non_null(t);
	len = (size_t)snprintf(t, size, "rules = (\n");
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(t + len, size - len,
					"{ name = \"r%u\"; dst = \"10.0.%u.%u\"; }%s\n",
					i, i / 256, i % 256, i + 1 < n ? "," : "");
	snprintf(t + len, size - len, ");\n");
	return t;
}

static void test_rule_count(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "", want[600];
	char *t;

	t = many_rules(POLICY_MAX_RULES);
	if (load_text(t, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->policy.nrules, POLICY_MAX_RULES);
	assert_string_equal(c->policy.rules[POLICY_MAX_RULES - 1].name, "r249");
	conf_free(c);
	free(t);

	/* Rule 251 sits on line 252. */
	t = many_rules(POLICY_MAX_RULES + 1);
	assert_int_equal(load_text(t, c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:252: more than 250 rules", tmp_path);
	assert_string_equal(err, want);
	assert_int_equal(c->policy.nrules, 0);
	free(t);
	free(c);
}

/* Errors after some rules built their address sets free them all (the
 * sanitizer's leak check makes this test fail otherwise). */
static void test_error_frees(void **state)
{
	static const char *const texts[] = {
		"rules = (\n"
		"  { name = \"a\"; dst = \"192.0.2.1\"; allow = [ \"10.0.0.0/8\" ];\n"
		"    deny = [ \"10.1.0.0/16\" ]; },\n"
		"  { name = \"b\"; dst = \"192.0.2.2\"; allow = [ \"10.0.0.0/8\" ];\n"
		"    deny = [ \"x\" ]; }\n"
		");\n",
		"rules = (\n"
		"  { name = \"a\"; dst = \"192.0.2.1\"; allow = [ \"10.0.0.0/8\" ]; },\n"
		"  { name = \"b\"; dst = \"192.0.2.1\"; allow = [ \"10.0.0.0/8\" ]; }\n"
		");\n",
		("rules = ( { name = \"a\"; dst = \"192.0.2.1\"; allow = [ \"10.0.0.0/8\" ];\n"
		 "            action = \"drop\"; reset_pass_time = 3; } );\n"),
	};
	struct conf *c = new_conf();
	char err[512];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(load_text(texts[i], c, err, sizeof(err)), -1);
		assert_int_equal(c->policy.nrules, 0);
		assert_defaults(c);
	}
	free(c);
}

static void test_io_errors(void **state)
{
	struct conf *c = new_conf();
	char err[512] = "";
	char small[12];

	assert_int_equal(conf_load("/nonexistent/synproxyd.conf", c, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/synproxyd.conf:0: cannot open: "
			    "No such file or directory");
	assert_int_equal(c->policy.nrules, 0);

	/* A directory opens but cannot be read. */
	assert_int_equal(conf_load("/", c, err, sizeof(err)), -1);
	assert_string_equal(err, "/:0: cannot read: Is a directory");

	/* A short buffer gets a truncated, terminated message; none at all is fine. */
	assert_int_equal(conf_load("/nonexistent/x", c, small, sizeof(small)), -1);
	assert_string_equal(small, "/nonexisten");
	assert_int_equal(conf_load("/nonexistent/x", c, NULL, 0), -1);

	/* A NUL byte would end libconfig's text early. */
	{
		const char *dir = getenv("TMPDIR");
		static const char text[] = "mode = \"local\";\n\0rules = ();\n";
		int fd;

		snprintf(tmp_path, sizeof(tmp_path), "%s/test_conf.XXXXXX",
			 dir && *dir ? dir : "/tmp");
		fd = mkstemp(tmp_path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
		close(fd);
		assert_int_equal(conf_load(tmp_path, c, err, sizeof(err)), -1);
		unlink(tmp_path);
		assert_non_null(strstr(err, ":0: contains a NUL byte"));
	}
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_reset_default),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_example_local),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_interface_lists),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_rule_count),
		cmocka_unit_test(test_error_frees),
		cmocka_unit_test(test_io_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
