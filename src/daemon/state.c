/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file (see state.h).
 *
 * Layout, integers big-endian:
 *   "synproxyd state\n"          16 bytes of magic
 *   version                      4  (STATE_VERSION)
 *   boot id                      16 (/proc/sys/kernel/random/boot_id)
 *   saved at, wall clock ms      8
 *   queue num, queue count       2 + 2
 *   secret                       32
 *   records                      4, then per record:
 *     worker index 2, length 2, the engine's snapshot record
 *   SipHash-2-4 of all the above 8 (a fixed key: this finds damage; the
 *                                   file is root's alone, in /run)
 * A file is refused, with the reason logged, when it is damaged (size,
 * magic, check sum, a record running past the end), of another version,
 * from another boot (conntrack, the queues and every connection died with
 * it), for another queue layout (a flow must go back to the worker whose
 * queue the kernel's hash sends it to, and that follows the layout), or
 * older than STATE_MAX_AGE_S (clients have given up retransmitting by
 * then).  A record the engine does not read is counted, not fatal.
 * The file lives in the runtime directory, which systemd keeps across a
 * restart (RuntimeDirectoryPreserve=restart) and removes at a stop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "log.h"
#include "siphash.h"
#include "state.h"

#define STATE_VERSION 1
#define STATE_MAX_AGE_S 900
#define STATE_MAX_BYTES ((size_t)1 << 30)
#define STATE_HEAD (16 + 4 + 16 + 8 + 2 + 2 + ENGINE_SECRET_LEN + 4)

static const char magic[16] = "synproxyd state\n";
static const uint8_t sum_key[SIPHASH_KEY_LEN] = "synproxyd state";

struct state {
	uint8_t *buf;
	size_t len;
	uint8_t secret[ENGINE_SECRET_LEN];
	uint64_t saved_ms;
	uint32_t nrec;
};

/* The boot id as 16 bytes; false when it cannot be read. */
static bool boot_id(uint8_t id[16])
{
	char text[64];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	int n = 0;

	if (!f)
		return false;
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	for (const char *p = text; *p && n < 32; p++) {
		int v;

		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		if (n % 2 == 0)
			id[n / 2] = (uint8_t)(v << 4);
		else
			id[n / 2] |= (uint8_t)v;
		n++;
	}
	return n == 32;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A growing buffer; a failed growth sets err and later writes do nothing. */
struct out {
	uint8_t *b;
	size_t len, cap;
	bool err;
	uint32_t nrec;
	unsigned worker;
};

static void out_put(struct out *o, const void *p, size_t n)
{
	if (o->err)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 65536;
		uint8_t *nb;

		while (cap < o->len + n)
			cap *= 2;
		if (cap > STATE_MAX_BYTES || !(nb = realloc(o->b, cap))) {
			o->err = true;
			return;
		}
		o->b = nb;
		o->cap = cap;
	}
	memcpy(o->b + o->len, p, n);
	o->len += n;
}

static void put_record(const uint8_t *rec, size_t len, void *ctx)
{
	struct out *o = ctx;
	uint8_t h[4];

	put_be16(h, (uint16_t)o->worker);
	put_be16(h + 2, (uint16_t)len);
	out_put(o, h, sizeof(h));
	out_put(o, rec, len);
	o->nrec++;
}

int state_save(const char *path, const struct conf *c, const uint8_t secret[ENGINE_SECRET_LEN],
	       state_fill_fn *fill, void *ctx, size_t *flows)
{
	struct out o = { .b = NULL };
	uint8_t head[STATE_HEAD], sum[8], id[16] = { 0 };
	char tmp[CONF_PATH_MAX + 8];
	size_t off = 0;
	int fd = -1, rc = -1;

	*flows = 0;
	if (!boot_id(id))
		log_warnx("state: cannot read the boot id; the file will be refused");
	memcpy(head, magic, 16);
	put_be32(head + 16, STATE_VERSION);
	memcpy(head + 20, id, 16);
	put_be32(head + 36, (uint32_t)(wall_ms() >> 32));
	put_be32(head + 40, (uint32_t)wall_ms());
	put_be16(head + 44, c->queue.num);
	put_be16(head + 46, c->queue.count);
	memcpy(head + 48, secret, ENGINE_SECRET_LEN);
	out_put(&o, head, sizeof(head));
	for (unsigned i = 0; i < c->queue.count; i++) {
		o.worker = i;
		*flows += fill(i, put_record, &o, ctx);
	}
	if (!o.err)
		put_be32(o.b + STATE_HEAD - 4, o.nrec);
	if (!o.err) {
		uint64_t h = siphash24(sum_key, o.b, o.len);

		put_be32(sum, (uint32_t)(h >> 32));
		put_be32(sum + 4, (uint32_t)h);
		out_put(&o, sum, sizeof(sum));
	}
	if (o.err) {
		log_errx("state: out of memory writing %s", path);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_err("state: %s", tmp);
		goto out;
	}
	while (off < o.len) {
		ssize_t n = write(fd, o.b + off, o.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_errx("state: writing %s: %s", tmp, strerror(n < 0 ? errno : ENOSPC));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		log_err("state: writing %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		log_err("state: %s", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		(void)unlink(tmp);
	explicit_bzero(o.b, o.len < STATE_HEAD ? o.len : STATE_HEAD);
	free(o.b);
	return rc;
}

__attribute__((format(printf, 4, 5)))
static struct state *refuse(struct state *s, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	state_free(s);
	return NULL;
}

struct state *state_load(const char *path, const struct conf *c, char *why, size_t whylen)
{
	struct state *s;
	struct stat st;
	uint8_t id[16];
	uint64_t h;
	size_t off;
	int fd;

	why[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	(void)unlink(path);
	s = calloc(1, sizeof(*s));
	if (!s || fstat(fd, &st) < 0 || st.st_size < (off_t)(STATE_HEAD + 8) ||
	    (size_t)st.st_size > STATE_MAX_BYTES || !(s->buf = malloc((size_t)st.st_size))) {
		close(fd);
		return refuse(s, why, whylen, "damaged (size) or out of memory");
	}
	s->len = (size_t)st.st_size;
	for (off = 0; off < s->len;) {
		ssize_t n = read(fd, s->buf + off, s->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (off != s->len)
		return refuse(s, why, whylen, "damaged (short read)");
	if (memcmp(s->buf, magic, 16) != 0)
		return refuse(s, why, whylen, "not a state file");
	if (get_be32(s->buf + 16) != STATE_VERSION)
		return refuse(s, why, whylen, "format version %u, this synproxyd reads %u",
			      get_be32(s->buf + 16), STATE_VERSION);
	h = siphash24(sum_key, s->buf, s->len - 8);
	if (get_be32(s->buf + s->len - 8) != (uint32_t)(h >> 32) ||
	    get_be32(s->buf + s->len - 4) != (uint32_t)h)
		return refuse(s, why, whylen, "damaged (check sum)");
	if (!boot_id(id) || memcmp(id, s->buf + 20, 16) != 0)
		return refuse(s, why, whylen, "saved before the last boot");
	if (get_be16(s->buf + 44) != c->queue.num || get_be16(s->buf + 46) != c->queue.count)
		return refuse(s, why, whylen, "saved for queues %u-%u, these are %u-%u",
			      get_be16(s->buf + 44),
			      get_be16(s->buf + 44) + get_be16(s->buf + 46) - 1, c->queue.num,
			      c->queue.num + c->queue.count - 1);
	s->saved_ms = ((uint64_t)get_be32(s->buf + 36) << 32) | get_be32(s->buf + 40);
	if (state_age_s(s) > STATE_MAX_AGE_S)
		return refuse(s, why, whylen, "saved %llu s ago (over %u s: its connections are gone)",
			      (unsigned long long)state_age_s(s), STATE_MAX_AGE_S);
	memcpy(s->secret, s->buf + 48, ENGINE_SECRET_LEN);
	s->nrec = get_be32(s->buf + STATE_HEAD - 4);
	/* Every record inside the file, each for a worker that exists. */
	off = STATE_HEAD;
	for (uint32_t i = 0; i < s->nrec; i++) {
		if (off + 4 > s->len - 8 || get_be16(s->buf + off) >= c->queue.count ||
		    off + 4 + get_be16(s->buf + off + 2) > s->len - 8)
			return refuse(s, why, whylen, "damaged (record %u)", i);
		off += 4 + get_be16(s->buf + off + 2);
	}
	if (off != s->len - 8)
		return refuse(s, why, whylen, "damaged (trailing bytes)");
	return s;
}

const uint8_t *state_secret(const struct state *s)
{
	return s->secret;
}

uint64_t state_age_s(const struct state *s)
{
	uint64_t now = wall_ms();

	return now > s->saved_ms ? (now - s->saved_ms) / 1000 : 0;
}

void state_records(const struct state *s,
		   void (*fn)(unsigned worker, const uint8_t *rec, size_t len, void *ctx),
		   void *ctx)
{
	size_t off = STATE_HEAD;

	for (uint32_t i = 0; i < s->nrec; i++) {
		unsigned len = get_be16(s->buf + off + 2);

		fn(get_be16(s->buf + off), s->buf + off + 4, len, ctx);
		off += 4 + len;
	}
}

void state_free(struct state *s)
{
	if (!s)
		return;
	if (s->buf)
		explicit_bzero(s->buf, s->len < STATE_HEAD ? s->len : STATE_HEAD);
	explicit_bzero(s->secret, sizeof(s->secret));
	free(s->buf);
	free(s);
}
