/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metrics endpoint over libmicrohttpd (see metrics.h).  The daemon
 * binds the socket itself, then hands it to the library, whose one
 * internal thread polls it and answers each request in turn; a client
 * that stalls is cut off after METRICS_TIMEOUT_S, and at most
 * METRICS_CONNECTIONS are served at once.  Only GET and HEAD of /metrics
 * are answered; everything else gets 404 or 405. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

#define METRICS_CONNECTIONS 8
#define METRICS_TIMEOUT_S 5
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	int fd;
	char listen[sizeof(((struct conf *)0)->metrics.listen)];
	struct MHD_Daemon *mhd;
	metrics_writer *fn;
	void *ctx;
};

struct metrics *metrics_open(const struct conf *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct metrics *m = calloc(1, sizeof(*m));
	int one = 1;

	if (!m) {
		log_errx("metrics: out of memory");
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	if (c->metrics.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(c->metrics.port);
		memcpy(&sin->sin_addr, c->metrics.addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(c->metrics.port);
		memcpy(&sin6->sin6_addr, c->metrics.addr, 16);
		len = sizeof(*sin6);
	}
	strcpy(m->listen, c->metrics.listen);
	m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(m->fd, (struct sockaddr *)&ss, len) < 0 || listen(m->fd, 16) < 0) {
		log_err("metrics: listening on %s", c->metrics.listen);
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return NULL;
	}
	return m;
}

/* libmicrohttpd's own messages (a client can trigger them: limited). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warnx_limited(mono_ms(), "metrics: %s", line);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, char *body,
			      size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	else if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status,
				   const char *text)
{
	char *body = strdup(text);

	return body ? answer(conn, status, body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics *m = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or HEAD only\n");
	if (strcmp(url, "/metrics") != 0)
		return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	out = open_memstream(&body, &len);
	if (!out)
		return MHD_NO;
	m->fn(out, m->ctx);
	if (fclose(out) != 0) {
		free(body);
		return MHD_NO;
	}
	return answer(conn, MHD_HTTP_OK, body, len);
}

int metrics_start(struct metrics *m, metrics_writer *fn, void *ctx)
{
	m->fn = fn;
	m->ctx = ctx;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				  NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, m->fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!m->mhd) {
		log_errx("metrics: libmicrohttpd did not start on %s", m->listen);
		return -1;
	}
	log_info("metrics: serving http://%s/metrics", m->listen);
	return 0;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);  /* closes the listening socket too */
	else
		close(m->fd);
	free(m);
}
