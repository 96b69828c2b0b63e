/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration loader: libconfig text in, a validated struct conf out.
 *
 * Every check the daemon needs before it touches the kernel happens here,
 * so a reload either swaps in a whole valid configuration or changes
 * nothing.  Errors name the file and the line of the offending setting, as
 * compilers do, so an editor can jump to it.
 *
 * libconfig 1.5 reads an integer literal without an L suffix into an int
 * and silently wraps anything wider, so the text is scanned for such
 * literals before libconfig sees it: a wrapped value could otherwise land
 * inside a valid range. */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_int.h"

__attribute__((format(printf, 3, 4)))
int cf_fail_at(struct ctx *x, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->errlen > 0)
		snprintf(x->err, x->errlen, "%s:%u: %s", x->path, line, msg);
	return -1;
}

unsigned cf_line_of(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* The name to quote for s: array and list elements borrow their parent's. */
const char *cf_label(const config_setting_t *s)
{
	while (s && !config_setting_name(s))
		s = config_setting_parent(s);
	return s && config_setting_name(s) ? config_setting_name(s) : "?";
}

/* ------------------------------------------------------------------ */
/* Reading the text */

static const char *skip_number(const char *p, bool *is_float, bool *is_hex)
{
	*is_float = false;
	*is_hex = false;
	if (*p == '-' || *p == '+')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		*is_hex = true;
		for (p += 2; isxdigit((unsigned char)*p); p++)
			;
		return p;
	}
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		*is_float = true;
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	if (*p == 'e' || *p == 'E') {
		*is_float = true;
		p++;
		if (*p == '-' || *p == '+')
			p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

/* True when the unsuffixed literal at p is one libconfig 1.5 keeps intact
 * (a hex literal is taken as a 32-bit pattern). */
static bool literal_fits(const char *p, bool is_hex)
{
	errno = 0;
	if (is_hex) {
		unsigned long long v = strtoull(p, NULL, 16);

		return errno != ERANGE && v <= UINT32_MAX;
	} else {
		long long v = strtoll(p, NULL, 10);

		return errno != ERANGE && v >= INT32_MIN && v <= INT32_MAX;
	}
}

/* Rejects integer literals libconfig 1.5 would wrap, and @include (an
 * included file would escape both this scan and the line numbers). */
static int scan_text(struct ctx *x, const char *text)
{
	unsigned line = 1;
	const char *p = text;

	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n') {
			line++;
			p++;
		} else if (c == '#' || (c == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (c == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
			if (*p)
				p += 2;
		} else if (c == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (*p == '\n')
					line++;
			}
			if (*p)
				p++;
		} else if (c == '@') {
			return cf_fail_at(x, line, "@include is not supported");
		} else if (isalpha(c) || c == '*') {
			while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '*')
				p++;
		} else if (isdigit(c) || ((c == '-' || c == '+' || c == '.') &&
					  isdigit((unsigned char)p[1]))) {
			const char *start = p;
			bool is_float, is_hex;

			p = skip_number(p, &is_float, &is_hex);
			if (*p == 'L') {
				while (*p == 'L')
					p++;
				continue;
			}
			if (is_float)
				continue;
			if (!literal_fits(start, is_hex))
				return cf_fail_at(x, line, "integer %.*s does not fit in 32 bits "
					          "(add an L suffix)", (int)(p - start), start);
		} else {
			p++;
		}
	}
	return 0;
}

/* Reads the whole file into a NUL-terminated buffer the caller frees. */
static char *read_text(struct ctx *x)
{
	FILE *f = fopen(x->path, "r");
	char *buf;
	size_t n;

	if (!f) {
		cf_fail_at(x, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		cf_fail_at(x, 0, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		cf_fail_at(x, 0, "cannot read: %s", strerror(errno));
		goto err;
	}
	if (n > CONF_FILE_MAX) {
		cf_fail_at(x, 0, "larger than %u bytes", CONF_FILE_MAX);
		goto err;
	}
	if (memchr(buf, '\0', n)) {
		cf_fail_at(x, 0, "contains a NUL byte");
		goto err;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
err:
	free(buf);
	fclose(f);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Typed values */

/* Fails on any member of group s whose name is not in names (NULL-ended). */
int cf_check_keys(struct ctx *x, const config_setting_t *s, const char *const *names,
		         const char *where)
{
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *k;

		for (k = names; *k; k++)
			if (strcmp(*k, name) == 0)
				break;
		if (!*k) {
			if (where)
				return cf_fail_at(x, cf_line_of(m), "unknown setting '%s' in %s",
					          name, where);
			return cf_fail_at(x, cf_line_of(m), "unknown setting '%s'", name);
		}
	}
	return 0;
}

static int want_group(struct ctx *x, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be a group { ... }", cf_label(s));
	return 0;
}

bool cf_is_int(const config_setting_t *s)
{
	int t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

int cf_get_int(struct ctx *x, const config_setting_t *s, int64_t min, int64_t max,
		      int64_t *out)
{
	int64_t v;

	if (!cf_is_int(s))
		return cf_fail_at(x, cf_line_of(s), "'%s' must be an integer", cf_label(s));
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return cf_fail_at(x, cf_line_of(s), "'%s' is %" PRId64 ", must be %" PRId64
			          " to %" PRId64, cf_label(s), v, min, max);
	*out = v;
	return 0;
}

/* The same, for an optional member name of group g (absent: *out kept). */
int cf_opt_u32(struct ctx *x, const config_setting_t *g, const char *name,
		      int64_t min, int64_t max, uint32_t *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	int64_t v;

	if (!s)
		return 0;
	if (cf_get_int(x, s, min, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A duration in seconds (integer or float) into milliseconds. */
int cf_opt_ms(struct ctx *x, const config_setting_t *g, const char *name,
		     uint32_t min_ms, uint32_t max_ms, uint32_t *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	double ms;

	if (!s)
		return 0;
	if (cf_is_int(s))
		ms = (double)config_setting_get_int64(s) * 1000.0;
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		ms = config_setting_get_float(s) * 1000.0;
	else
		return cf_fail_at(x, cf_line_of(s), "'%s' must be a number of seconds", name);
	ms = round(ms);
	if (!(ms >= min_ms && ms <= max_ms))
		return cf_fail_at(x, cf_line_of(s), "'%s' must be %g to %g seconds", name,
			          min_ms / 1000.0, max_ms / 1000.0);
	*out = (uint32_t)ms;
	return 0;
}

int cf_opt_bool(struct ctx *x, const config_setting_t *g, const char *name, bool *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be true or false", name);
	*out = config_setting_get_bool(s);
	return 0;
}

/* One of the words in names (NULL-ended); *out is its index. */
static int get_word(struct ctx *x, const config_setting_t *s, const char *const *names,
		    int *out)
{
	const char *v;
	char list[128] = "";

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = config_setting_get_string(s);
		for (int i = 0; names[i]; i++) {
			if (strcmp(v, names[i]) == 0) {
				*out = i;
				return 0;
			}
		}
	}
	for (int i = 0; names[i]; i++) {
		size_t len = strlen(list);

		snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? ", " : "", names[i]);
	}
	return cf_fail_at(x, cf_line_of(s), "'%s' must be one of %s", cf_label(s), list);
}

int cf_opt_word(struct ctx *x, const config_setting_t *g, const char *name,
		       const char *const *names, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	return s ? get_word(x, s, names, out) : 0;
}

/* An absolute path shorter than max bytes (with its NUL). */
static int opt_path(struct ctx *x, const config_setting_t *g, const char *name, size_t max,
		    char *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	const char *v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be a string", name);
	v = config_setting_get_string(s);
	if (v[0] != '/')
		return cf_fail_at(x, cf_line_of(s), "'%s' must be an absolute path", name);
	if (strlen(v) >= max)
		return cf_fail_at(x, cf_line_of(s), "'%s' must be shorter than %zu bytes", name, max);
	strcpy(out, v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Top-level groups */

static int load_queue(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = {
		"num", "count", "fail_open", "bypass", "maxlen", NULL
	};
	uint32_t num = c->queue.num, count = c->queue.count;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'queue'") < 0 ||
	    cf_opt_u32(x, g, "num", 0, 65535, &num) < 0 ||
	    cf_opt_u32(x, g, "count", 1, 64, &count) < 0 ||
	    cf_opt_bool(x, g, "fail_open", &c->queue.fail_open) < 0 ||
	    cf_opt_bool(x, g, "bypass", &c->queue.bypass) < 0 ||
	    cf_opt_u32(x, g, "maxlen", 1, 1 << 24, &c->queue.maxlen) < 0)
		return -1;
	if (num + count - 1 > 65535) {
		const config_setting_t *s = config_setting_get_member(g, "count");

		return cf_fail_at(x, cf_line_of(s ? s : g), "queues %" PRIu32 " to %" PRIu32
			          " go past 65535", num, num + count - 1);
	}
	c->queue.num = (uint16_t)num;
	c->queue.count = (uint16_t)count;
	return 0;
}

/* The mark is a 32-bit mask usually written in hex; libconfig 1.5 reads
 * 0x80000000 and above as a negative int, which is the same bit pattern. */
static int load_mark(struct ctx *x, const config_setting_t *s, struct conf *c)
{
	int64_t v;

	if (!cf_is_int(s))
		return cf_fail_at(x, cf_line_of(s), "'mark' must be an integer");
	v = config_setting_get_int64(s);
	if (config_setting_type(s) == CONFIG_TYPE_INT && v < 0 &&
	    config_setting_get_format(s) == CONFIG_FORMAT_HEX)
		v += (int64_t)1 << 32;
	if (v < 1 || v > UINT32_MAX)
		return cf_fail_at(x, cf_line_of(s), "'mark' must be 1 to 0xffffffff");
	c->mark = (uint32_t)v;
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int load_syncache(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = {
		"buckets", "bucket_limit", "max_entries", "synack_retries", NULL
	};
	struct syncache_limits *l = &c->engine.syncache;
	uint32_t retries = l->retries;
	const config_setting_t *s;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'syncache'") < 0 ||
	    cf_opt_u32(x, g, "buckets", 16, 1 << 24, &l->buckets) < 0)
		return -1;
	if (!is_pow2(l->buckets))
		return cf_fail_at(x, cf_line_of(config_setting_get_member(g, "buckets")),
			          "'buckets' must be a power of two");
	if (cf_opt_u32(x, g, "bucket_limit", 1, 1024, &l->bucket_limit) < 0 ||
	    cf_opt_u32(x, g, "max_entries", 1, 1 << 26, &l->max_entries) < 0 ||
	    cf_opt_u32(x, g, "synack_retries", 0, 10, &retries) < 0)
		return -1;
	if (l->max_entries < l->bucket_limit) {
		s = config_setting_get_member(g, "max_entries");
		return cf_fail_at(x, cf_line_of(s ? s : g), "'max_entries' (%" PRIu32
			          ") is below 'bucket_limit' (%" PRIu32 ")",
			          l->max_entries, l->bucket_limit);
	}
	l->retries = (uint8_t)retries;
	return 0;
}

static int load_flows(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = { "max", "hold_packets", "hold_bytes", NULL };
	struct engine_config *e = &c->engine;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'flows'") < 0 ||
	    cf_opt_u32(x, g, "max", 16, CONF_FLOWS_MAX, &e->max_flows) < 0 ||
	    cf_opt_u32(x, g, "hold_packets", 0, 64, &e->hold_packets_per_flow) < 0 ||
	    cf_opt_u32(x, g, "hold_bytes", 0, 1 << 30, &e->hold_bytes_total) < 0)
		return -1;
	return 0;
}

static int load_timeouts(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = {
		"synack_rto", "backend_syn_rto", "backend_syn_retries", "established_idle",
		"fin_wait", "time_wait", "rst_grace", NULL
	};
	struct engine_config *e = &c->engine;
	uint32_t retries = e->backend_syn_retries;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'timeouts'") < 0 ||
	    cf_opt_ms(x, g, "synack_rto", 100, 60000, &e->syncache.rto_ms) < 0 ||
	    cf_opt_ms(x, g, "backend_syn_rto", 100, 60000, &e->backend_syn_rto_ms) < 0 ||
	    cf_opt_u32(x, g, "backend_syn_retries", 0, 10, &retries) < 0 ||
	    cf_opt_ms(x, g, "established_idle", 1000, 864000000, &e->established_idle_ms) < 0 ||
	    cf_opt_ms(x, g, "fin_wait", 1000, 86400000, &e->fin_wait_ms) < 0 ||
	    cf_opt_ms(x, g, "time_wait", 1000, 86400000, &e->time_wait_ms) < 0 ||
	    cf_opt_ms(x, g, "rst_grace", 1000, 3600000, &e->rst_grace_ms) < 0)
		return -1;
	e->backend_syn_retries = (uint8_t)retries;
	return 0;
}

static int load_logging(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = { "level", "target", NULL };
	static const char *const levels[] = {
		"error", "warning", "notice", "info", "debug", NULL
	};
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	static const char *const targets[] = { "stderr", "syslog", NULL };
	int level = -1, target = -1;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'logging'") < 0 ||
	    cf_opt_word(x, g, "level", levels, &level) < 0 ||
	    cf_opt_word(x, g, "target", targets, &target) < 0)
		return -1;
	if (level >= 0)
		c->log_level = prio[level];
	if (target >= 0)
		c->log_target = target == 0 ? CONF_LOG_STDERR : CONF_LOG_SYSLOG;
	return 0;
}

/* The metrics endpoint: listen = "ADDRESS:PORT", an IPv4 address or an
 * IPv6 one in brackets (no names: nothing is resolved). */
static int load_metrics(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = { "listen", NULL };
	const config_setting_t *s;
	char host[INET6_ADDRSTRLEN + 2];
	const char *v, *colon;
	unsigned long port;
	char *end;
	size_t hlen;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'metrics'") < 0)
		return -1;
	s = config_setting_get_member(g, "listen");
	if (!s)
		return cf_fail_at(x, cf_line_of(g), "'metrics' needs 'listen' (\"ADDRESS:PORT\")");
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cf_fail_at(x, cf_line_of(s), "'listen' must be a string");
	v = config_setting_get_string(s);
	colon = strrchr(v, ':');
	if (strlen(v) >= sizeof(c->metrics.listen) || !colon || colon == v)
		goto bad;
	hlen = (size_t)(colon - v);
	if (v[0] == '[') {
		if (hlen < 3 || v[hlen - 1] != ']')
			goto bad;
		memcpy(host, v + 1, hlen - 2);
		host[hlen - 2] = '\0';
		c->metrics.family = 6;
		if (inet_pton(AF_INET6, host, c->metrics.addr) != 1)
			goto bad;
	} else {
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, v, hlen);
		host[hlen] = '\0';
		c->metrics.family = 4;
		if (inet_pton(AF_INET, host, c->metrics.addr) != 1)
			goto bad;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 || port > 65535)
		goto bad;
	c->metrics.port = (uint16_t)port;
	strcpy(c->metrics.listen, v);
	c->metrics.enabled = true;
	return 0;
bad:
	return cf_fail_at(x, cf_line_of(s), "'listen' must be \"IPV4:PORT\" or \"[IPV6]:PORT\", "
		          "not \"%s\"", v);
}

/* A list of at most max interface names (key in g) into names, *n of them. */
static int iface_list(struct ctx *x, const config_setting_t *g, const char *key, int max,
		      char names[][CONF_IFNAME_MAX], uint8_t *n)
{
	const config_setting_t *l = config_setting_get_member(g, key);

	if (!l)
		return 0;
	if (config_setting_type(l) != CONFIG_TYPE_ARRAY && config_setting_type(l) != CONFIG_TYPE_LIST)
		return cf_fail_at(x, cf_line_of(l), "'%s' must be a list of interface names", key);
	if (config_setting_length(l) > max)
		return cf_fail_at(x, cf_line_of(l), "'%s': at most %d", key, max);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cf_fail_at(x, cf_line_of(e), "'%s' must be a list of strings", key);
		name = config_setting_get_string(e);
		if (name[0] == '\0' || strlen(name) >= CONF_IFNAME_MAX || strchr(name, '/') ||
		    strchr(name, ' '))
			return cf_fail_at(x, cf_line_of(e), "'%s': \"%s\" is not an interface name",
				          key, name);
		for (int j = 0; j < i; j++)
			if (strcmp(names[j], name) == 0)
				return cf_fail_at(x, cf_line_of(e), "'%s': \"%s\" twice", key, name);
		strcpy(names[i], name);
		*n = (uint8_t)(i + 1);
	}
	return 0;
}

/* The XDP stage.  It issues SYN cookies, so it needs cookies on. */
static int load_xdp(struct ctx *x, const config_setting_t *g, struct conf *c)
{
	static const char *const keys[] = { "interfaces", "mode", "answer", "queue_syn_rate",
					    NULL };
	static const char *const modes[] = { "auto", "native", "generic", NULL };
	static const char *const answers[] = { "overload", "always", NULL };
	int mode = -1, answer = -1;

	if (want_group(x, g) < 0 || cf_check_keys(x, g, keys, "'xdp'") < 0 ||
	    cf_opt_word(x, g, "mode", modes, &mode) < 0 ||
	    cf_opt_word(x, g, "answer", answers, &answer) < 0 ||
	    cf_opt_u32(x, g, "queue_syn_rate", 0, 100000000, &c->xdp.queue_syn_rate) < 0)
		return -1;
	if (mode >= 0)
		c->xdp.mode = (enum conf_xdp_mode)mode;
	if (answer >= 0)
		c->xdp.answer = (enum conf_xdp_answer)answer;
	if (iface_list(x, g, "interfaces", CONF_XDP_IFACES, c->xdp.ifaces, &c->xdp.nifaces) < 0)
		return -1;
	if (c->xdp.nifaces && c->engine.cookies == COOKIES_OFF)
		return cf_fail_at(x, cf_line_of(g), "'xdp' answers SYNs with cookies: it needs cookies "
			          "\"auto\" or \"always\"");
	return 0;
}

/* ------------------------------------------------------------------ */

/* state_file: an absolute path, or "" for none. */
static int opt_state_file(struct ctx *x, const config_setting_t *root, struct conf *c)
{
	const config_setting_t *s = config_setting_get_member(root, "state_file");

	if (s && config_setting_type(s) == CONFIG_TYPE_STRING &&
	    config_setting_get_string(s)[0] == '\0') {
		c->state_file[0] = '\0';
		return 0;
	}
	return opt_path(x, root, "state_file", CONF_PATH_MAX - 8, c->state_file);
}

static int load_root(struct ctx *x, const config_setting_t *root, struct conf *c)
{
	static const char *const keys[] = {
		"mode", "queue", "mark", "control_socket", "secret_file", "state_file", "cookies",
		"syncache", "flows", "timeouts", "logging", "rules", "fastpath", "reply_path",
		"xdp", "cookie_crosscheck", "metrics", "server_interfaces", NULL
	};
	static const char *const fastpaths[] = { "auto", "off", NULL };
	static const char *const reply_paths[] = { "link", "route", NULL };
	static const char *const modes[] = { "gateway", "local", NULL };
	static const char *const cookies[] = { "off", "auto", "always", NULL };
	static const enum cookie_mode cookie_of[] = {
		COOKIES_OFF, COOKIES_AUTO, COOKIES_ALWAYS
	};
	const config_setting_t *s;
	int mode = -1, ck = -1, fp = -1, rp = -1;

	if (cf_check_keys(x, root, keys, NULL) < 0 ||
	    cf_opt_word(x, root, "mode", modes, &mode) < 0)
		return -1;
	if (mode >= 0)
		c->mode = mode == 0 ? CONF_MODE_GATEWAY : CONF_MODE_LOCAL;
	if ((s = config_setting_get_member(root, "queue")) && load_queue(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "mark")) && load_mark(x, s, c) < 0)
		return -1;
	if (opt_path(x, root, "control_socket", CONF_SUN_PATH_MAX, c->control_socket) < 0 ||
	    opt_path(x, root, "secret_file", CONF_PATH_MAX, c->secret_file) < 0 ||
	    opt_state_file(x, root, c) < 0 ||
	    cf_opt_word(x, root, "cookies", cookies, &ck) < 0 ||
	    cf_opt_word(x, root, "fastpath", fastpaths, &fp) < 0 ||
	    cf_opt_word(x, root, "reply_path", reply_paths, &rp) < 0 ||
	    cf_opt_bool(x, root, "cookie_crosscheck", &c->engine.cookie_crosscheck) < 0)
		return -1;
	if (ck >= 0)
		c->engine.cookies = cookie_of[ck];
	if (fp >= 0)
		c->fastpath = fp == 0 ? CONF_FASTPATH_AUTO : CONF_FASTPATH_OFF;
	if (rp >= 0)
		c->reply_path = rp == 0 ? CONF_REPLY_LINK : CONF_REPLY_ROUTE;
	if (iface_list(x, root, "server_interfaces", CONF_SERVER_IFACES, c->server_ifaces,
		       &c->nserver_ifaces) < 0)
		return -1;
	if (c->nserver_ifaces && c->mode == CONF_MODE_LOCAL)
		return cf_fail_at(x, cf_line_of(config_setting_get_member(root, "server_interfaces")),
			          "'server_interfaces' is for gateway mode (in local mode the "
			          "servers' packets come from the local stack)");
	if ((s = config_setting_get_member(root, "syncache")) && load_syncache(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "flows")) && load_flows(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "timeouts")) && load_timeouts(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "logging")) && load_logging(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "xdp")) && load_xdp(x, s, c) < 0)
		return -1;
	if ((s = config_setting_get_member(root, "metrics")) && load_metrics(x, s, c) < 0)
		return -1;
	s = config_setting_get_member(root, "rules");
	if (!s)
		return cf_fail_at(x, 0, "no 'rules' list");
	if (cf_load_rules(x, s, &c->policy) < 0)
		return -1;
	/* One source network may hold a sixteenth of the flow table by
	 * default: it takes sixteen to fill it (synproxyd.conf(5)). */
	for (uint32_t i = 0; i < c->policy.nrules; i++)
		if (c->policy.rules[i].max_flows_per_source == CONF_FLOWS_PER_SOURCE_DEFAULT)
			c->policy.rules[i].max_flows_per_source = c->engine.max_flows / 16;
	return 0;
}

void conf_defaults(struct conf *c)
{
	assert(c);
	memset(c, 0, sizeof(*c));
	c->mode = CONF_MODE_GATEWAY;
	c->queue.num = 0;
	c->queue.count = 1;
	c->queue.fail_open = false;
	c->queue.bypass = false;
	c->queue.maxlen = 65536;
	c->mark = 0x5350;
	c->fastpath = CONF_FASTPATH_AUTO;
	c->reply_path = CONF_REPLY_LINK;
	strcpy(c->control_socket, "/run/synproxyd/control.sock");
	c->secret_file[0] = '\0';
	strcpy(c->state_file, "/run/synproxyd/state");
	c->log_level = LOG_INFO;
	c->log_target = CONF_LOG_STDERR;
	c->xdp.nifaces = 0;
	c->xdp.mode = CONF_XDP_AUTO;
	c->xdp.answer = CONF_XDP_OVERLOAD;
	c->xdp.queue_syn_rate = 20000;
	engine_config_defaults(&c->engine);
	c->policy.nrules = 0;
}

/* Expects path, c and err to be valid (errlen may be 0). */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	struct ctx x = { .path = path, .err = err, .errlen = errlen };
	config_t cfg;
	char *text;
	int rc = -1;

	assert(path && c && (err || errlen == 0));
	conf_defaults(c);
	text = read_text(&x);
	if (!text)
		return -1;
	if (scan_text(&x, text) < 0) {
		free(text);
		return -1;
	}
	config_init(&cfg);
	if (!config_read_string(&cfg, text)) {
		cf_fail_at(&x, (unsigned)config_error_line(&cfg), "%s", config_error_text(&cfg));
		goto out;
	}
	rc = load_root(&x, config_root_setting(&cfg), c);
	if (rc < 0) {
		policy_clear(&c->policy);  /* the sets of a half-built policy */
		conf_defaults(c);
	}
out:
	config_destroy(&cfg);
	free(text);
	return rc;
}

void conf_free(struct conf *c)
{
	assert(c);
	policy_clear(&c->policy);
}
