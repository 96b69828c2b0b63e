/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the configuration loader on arbitrary file contents.
 *
 * The input is written to one memfd (created once per process) and loaded
 * through /proc/self/fd/N, so no file is left behind.  Invariants: no
 * crash or leak (conf_free after a success; nothing to free after a
 * failure), a failure always says why, and a configuration that loads is
 * one the engine accepts (its tables scaled down to keep runs fast). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include "conf.h"
#include "engine.h"
#include "tcpopt.h"

static int conf_fd = -1;
static char conf_path[64];

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* What a validated rule set must look like, whatever the file said. */
static void check_policy(const struct policy *pol)
{
	FUZZ_CHECK(pol->nrules <= POLICY_MAX_RULES);
	for (uint32_t i = 0; i < pol->nrules; i++) {
		const struct rule *r = &pol->rules[i];

		FUZZ_CHECK(memchr(r->name, 0, RULE_NAME_MAX) != NULL);
		FUZZ_CHECK(r->dst.len <= 128);
		FUZZ_CHECK(!addr_is_v4(&r->dst.addr) || r->dst.len >= 96);
		FUZZ_CHECK(r->nports <= RULE_MAX_PORTS);
		FUZZ_CHECK(r->action >= RULE_PROXY && r->action <= RULE_DROP);
		FUZZ_CHECK(r->wscale <= TCP_MAX_WSCALE);
	}
}

/* A loaded configuration must start an engine.  Sizes are clamped (a
 * power of two stays one) so that one run allocates little. */
static void check_engine(const struct conf *c)
{
	static const uint8_t secret[ENGINE_SECRET_LEN];
	struct engine_config ec = c->engine;
	struct engine *e;

	ec.syncache.buckets = min_u32(ec.syncache.buckets, 256);
	ec.syncache.max_entries = min_u32(ec.syncache.max_entries, 1024);
	ec.max_flows = min_u32(ec.max_flows, 1024);
	ec.hold_bytes_total = min_u32(ec.hold_bytes_total, 1u << 16);
	ec.srclimit_slots = min_u32(ec.srclimit_slots, 256);
	ec.learned_slots = min_u32(ec.learned_slots, 256);
	ec.passlist_slots = min_u32(ec.passlist_slots, 256);
	e = engine_new(&ec, &c->policy, secret, 0);
	FUZZ_CHECK(e != NULL);
	engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[512];

	if (conf_fd < 0) {
		conf_fd = memfd_create("fuzz_conf", 0);
		FUZZ_CHECK(conf_fd >= 0);
		snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
	}
	FUZZ_CHECK(ftruncate(conf_fd, 0) == 0);
	FUZZ_CHECK(pwrite(conf_fd, data, size, 0) == (ssize_t)size);

	memset(err, 0x55, sizeof(err));
	if (conf_load(conf_path, &c, err, sizeof(err)) == 0) {
		check_policy(&c.policy);
		check_engine(&c);
		conf_free(&c);
	} else {
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
		FUZZ_CHECK(strncmp(err, conf_path, strlen(conf_path)) == 0);
		FUZZ_CHECK(c.policy.nrules == 0);
	}
	return 0;
}
