/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cookie secret (daemon.h): read from secret_file (one or two hex
 * lines: the current secret and a previous one still accepted) or drawn
 * at random, given to the workers and the XDP stage, and rotated at a
 * reload with an overlap (docs/decisions.md, "The cookie secret rotates
 * with an overlap"). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "cookie.h"
#include "daemon.h"
#include "log.h"


static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parses the 64 hex digits at p into out; -1 when they are not. */
static int parse_secret(const char *p, uint8_t out[ENGINE_SECRET_LEN])
{
	for (int i = 0; i < ENGINE_SECRET_LEN; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The shared secret file, which nobody but its owner may read (every
 * proxy sharing it can forge cookies for the others): a line of 64 hex
 * digits, the secret that makes cookies, and optionally a second one whose
 * cookies are accepted as well (the previous or the next secret while a
 * rotation goes through several proxies, docs/deployment.md). */
int daemon_secret_read(const char *path, uint8_t cur[ENGINE_SECRET_LEN],
		       uint8_t prev[ENGINE_SECRET_LEN], bool *have_prev)
{
	enum { HEX = ENGINE_SECRET_LEN * 2 };
	char buf[2 * (HEX + 1) + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		log_err("secret file %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077)) {
		log_errx("secret file %s: readable by group or others (chmod 600 it)", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		log_err("secret file %s", path);
		return -1;
	}
	len = (size_t)n;
	/* One or two lines of HEX digits, the last newline optional. */
	*have_prev = len > HEX + 1;
	if (!((len == HEX || (len == HEX + 1 && buf[HEX] == '\n')) ||
	      (buf[HEX] == '\n' &&
	       (len == 2 * HEX + 1 || (len == 2 * HEX + 2 && buf[2 * HEX + 1] == '\n'))))) {
		log_errx("secret file %s: expected a line of %d hex digits, and optionally a "
			 "second", path, HEX);
		return -1;
	}
	if (parse_secret(buf, cur) < 0 || (*have_prev && parse_secret(buf + HEX + 1, prev) < 0)) {
		log_errx("secret file %s: not hexadecimal", path);
		return -1;
	}
	return 0;
}

int daemon_secret_init(struct daemon *d)
{
	const struct conf *c = d->conf;
	size_t got = 0;

	if (c->secret_file[0]) {
		if (daemon_secret_read(c->secret_file, d->secret, d->secret_prev, &d->have_prev) < 0)
			return -1;
		d->prev_until_ms = 0;
		log_info("cookie secret read from %s%s", c->secret_file,
			 d->have_prev ? ", with a second one accepted as well" : "");
		return 0;
	}
	while (got < ENGINE_SECRET_LEN) {
		ssize_t n = getrandom(d->secret + got, ENGINE_SECRET_LEN - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("getrandom");
			return -1;
		}
		got += (size_t)n;
	}
	log_info("cookie secret drawn at random (cookies from before a restart fail)");
	return 0;
}

/* Hands the secrets to every engine and to the XDP stage. */
void daemon_secrets_push(struct daemon *d)
{
	const uint8_t *prev = d->have_prev ? d->secret_prev : NULL;

	for (unsigned i = 0; i < d->nworkers; i++)
		if (worker_set_secrets(d->workers[i], d->secret, prev) < 0)
			log_errx("worker %u did not take the new cookie secret", i);
	if (d->xdp)
		xdp_stage_set_secrets(d->xdp, d->secret, prev);
}

/* A reload with secret_file set: what the file says now (daemon_secret_read).  A
 * new first line makes cookies from now on; the secret it replaced stays
 * accepted for SECRET_OVERLAP_MS unless the file names a second one
 * itself.  cur and prev are wiped. */
void daemon_secrets_reload(struct daemon *d, const char *path, uint8_t cur[ENGINE_SECRET_LEN],
			   uint8_t prev[ENGINE_SECRET_LEN], bool have_prev)
{
	bool changed;
	uint64_t until = 0;

	if (!have_prev && memcmp(cur, d->secret, ENGINE_SECRET_LEN) != 0) {
		memcpy(prev, d->secret, ENGINE_SECRET_LEN);
		have_prev = true;
		until = mono_ms() + SECRET_OVERLAP_MS;
	} else if (!have_prev && d->have_prev && d->prev_until_ms) {
		/* The same secret, and a replaced one still in its overlap. */
		memcpy(prev, d->secret_prev, ENGINE_SECRET_LEN);
		have_prev = true;
		until = d->prev_until_ms;
	}
	changed = memcmp(cur, d->secret, ENGINE_SECRET_LEN) != 0 || have_prev != d->have_prev ||
		  (have_prev && memcmp(prev, d->secret_prev, ENGINE_SECRET_LEN) != 0);
	if (changed) {
		if (memcmp(cur, d->secret, ENGINE_SECRET_LEN) != 0)
			log_notice("cookie secret changed (%s); the previous one is accepted %s", path,
				   until ? "for 130 s more" : "while the file names it");
		else if (have_prev)
			log_notice("cookie secret: %s names a second secret, accepted as well", path);
		else
			log_notice("cookie secret: the previous one is no longer accepted (%s)", path);
		memcpy(d->secret, cur, ENGINE_SECRET_LEN);
		memcpy(d->secret_prev, prev, ENGINE_SECRET_LEN);
		d->have_prev = have_prev;
		d->prev_until_ms = until;
		daemon_secrets_push(d);
	}
	explicit_bzero(cur, ENGINE_SECRET_LEN);
	explicit_bzero(prev, ENGINE_SECRET_LEN);
}
