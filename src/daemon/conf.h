/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration file (libconfig syntax, see synproxyd.conf(5)) turned
 * into a plain validated struct: the engine's settings, the compiled rule
 * set and the daemon's own settings.  Nothing outside conf.c includes
 * <libconfig.h>. */
#ifndef SP_CONF_H
#define SP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "policy.h"

enum conf_mode {
	CONF_MODE_GATEWAY,   /* proxy on a router: FORWARD chain */
	CONF_MODE_LOCAL,     /* proxy on the backend host: INPUT and OUTPUT */
};

/* The kernel fast path for established flows (see synproxyd.conf(5)). */
enum conf_fastpath {
	CONF_FASTPATH_AUTO,  /* used when the kernel supports it */
	CONF_FASTPATH_OFF,   /* every packet of a flow stays in userspace */
};

/* Where answers to a received packet go (see synproxyd.conf(5)). */
enum conf_reply_path {
	CONF_REPLY_LINK,     /* back on its interface to its link-layer source */
	CONF_REPLY_ROUTE,    /* through the routing table, like every other packet */
};

/* How the XDP stage is attached (see synproxyd.conf(5), xdp.mode). */
enum conf_xdp_mode {
	CONF_XDP_AUTO,       /* native, else generic with a notice */
	CONF_XDP_NATIVE,
	CONF_XDP_GENERIC,
};

/* Which SYNs the XDP stage answers (xdp.answer). */
enum conf_xdp_answer {
	CONF_XDP_OVERLOAD,   /* those beyond the queue's share, all under overload */
	CONF_XDP_ALWAYS,     /* every one */
};

#define CONF_XDP_IFACES 8
#define CONF_SERVER_IFACES 8
#define CONF_IFNAME_MAX 16  /* IFNAMSIZ */

enum conf_log_target {
	CONF_LOG_STDERR,
	CONF_LOG_SYSLOG,
};

#define CONF_PATH_MAX 256

struct conf {
	uint32_t generation;             /* the daemon counts its reloads here; 0 from conf_load */
	enum conf_mode mode;
	struct {
		uint16_t num;            /* first NFQUEUE number */
		uint16_t count;          /* queues (one worker each) */
		bool fail_open;          /* asked for, and ignored: the queue never fails open */
		bool bypass;             /* accept non-SYN packets when no daemon listens */
		uint32_t maxlen;         /* kernel queue length */
	} queue;
	uint32_t mark;                   /* firewall mark on the daemon's own packets */
	enum conf_fastpath fastpath;     /* the daemon turns AUTO into OFF when unsupported */
	enum conf_reply_path reply_path;
	char control_socket[CONF_PATH_MAX];
	char secret_file[CONF_PATH_MAX]; /* empty: random secret at start */
	char state_file[CONF_PATH_MAX];  /* empty: no state carried over a restart */
	int log_level;                   /* syslog priority: LOG_ERR .. LOG_DEBUG */
	enum conf_log_target log_target;
	/* Gateway mode: the interfaces protected servers' packets may come in
	 * by (0: those a route to the server leaves by, route.c). */
	char server_ifaces[CONF_SERVER_IFACES][CONF_IFNAME_MAX];
	uint8_t nserver_ifaces;
	struct {
		char ifaces[CONF_XDP_IFACES][CONF_IFNAME_MAX];
		uint8_t nifaces;         /* 0: no XDP stage */
		enum conf_xdp_mode mode;
		enum conf_xdp_answer answer;
		uint32_t queue_syn_rate; /* SYNs a second the queue gets before XDP answers */
	} xdp;
	struct {
		bool enabled;            /* a metrics group with listen */
		char listen[64];         /* as written: "127.0.0.1:9464", "[::1]:9464" */
		uint8_t family;          /* 4 or 6 */
		uint8_t addr[16];        /* network order; IPv4 in the first 4 bytes */
		uint16_t port;
	} metrics;
	struct engine_config engine;
	struct policy policy;            /* rules, in file order */
};

/* Fills c with every default (no rules). */
void conf_defaults(struct conf *c);

/* Reads and validates path into c (which it initialises).  Returns 0, or
 * -1 with "FILE:LINE: message" in err; c then owns nothing. */
int conf_load(const char *path, struct conf *c, char *err, size_t errlen);

/* Releases what c owns (the rules' address sets). */
void conf_free(struct conf *c);

#endif
