/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay's insides, shared by its files:
 *   replay.c       options, the pcap loop and the end of the run;
 *   replay_map.c   the capture's connections and their mapping into the
 *                  proxy's sequence space, feeding the engine, the timers,
 *                  the log and the output pcap;
 *   replay_view.c  a lenient decoding of packets for the log, and the
 *                  plain-words reading of --explain;
 *   replay_link.c  link-layer headers stripped off the capture's frames. */
#ifndef SP_REPLAY_H
#define SP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "addr.h"
#include "conf.h"
#include "engine.h"

#define BUF_MAX 65600
#define CONN_BUCKETS 4096

/* Who sent a packet, for the log and --explain. */
enum role {
	ROLE_UNKNOWN,
	ROLE_CLIENT,      /* capture: client to server */
	ROLE_SERVER,      /* capture: server to client */
	ROLE_PROXY_C,     /* engine: toward the client */
	ROLE_PROXY_S,     /* engine: toward the backend */
};

/* A lenient decoding of a packet for printing; never trusted for more. */
struct view {
	bool ok;                 /* TCP header decoded */
	uint8_t family;
	char src[ADDR_STRLEN + 2];
	char dst[ADDR_STRLEN + 2];
	uint8_t proto;
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	uint8_t flags;
	uint32_t paylen;
	const uint8_t *payload;
	const uint8_t *opt;
	uint32_t optlen;
	struct conn_key key;     /* src as client */
	const char *bad;         /* why the decoding stopped */
};

/* What the tool remembers of one capture connection. */
struct conn {
	struct conn_key key;     /* c = the side that sent the first SYN */
	uint32_t next;           /* chain in the hash table, 0 = end */
	uint32_t isn_c, isn_p, isn_b;
	uint32_t ts_p, ts_b;
	bool have_c, have_p, have_b, have_ts_p, have_ts_b;
	bool backend_syn;        /* the engine sent the backend a SYN */
	bool hs_proved;
	bool backend_acked;
	bool cfin, sfin;
	uint32_t cfin_end, sfin_end;   /* FIN seq + 1 */
	uint32_t nsyn;           /* client SYNs seen */
	uint32_t nsynack;        /* proxy SYN-ACKs seen */
	uint32_t nbsyn;          /* backend SYNs seen */
	/* the capture's server SYN-ACK while it waits for the backend SYN */
	uint8_t *def_data;
	uint32_t def_len;
	uint32_t def_id;
	uint64_t def_pcap_us;    /* its capture time (never before the clock) */
	uint64_t def_reach_us;   /* the clock when the file reached it */
	uint64_t def_due_us;     /* UINT64_MAX until the backend SYN */
};

struct replay {
	struct engine *e;
	struct conf conf;
	bool map;
	bool explain;
	FILE *log;
	pcap_t *dead;
	pcap_dumper_t *dump;
	uint64_t first_us;
	uint64_t now_us;
	uint64_t last_tick_ms;
	bool ticked;
	struct conn *conns;       /* index 0 unused */
	uint32_t nconns, capconns;
	uint32_t buckets[CONN_BUCKETS];
	uint32_t ndeferred;       /* deferred packets not yet fed */
	struct engine_out out;
	uint8_t buf[BUF_MAX];
	uint8_t pre[BUF_MAX];     /* the input as fed, for --explain */
};

static inline double rel_time(const struct replay *r, uint64_t us)
{
	return (double)(int64_t)(us - r->first_us) / 1e6;
}

/* ---- replay_view.c ---- */

/* Decodes d leniently into v (v->ok: the TCP header was read; v->bad says
 * why decoding stopped). */
void view_packet(struct view *v, const uint8_t *d, uint32_t len);

/* One packet in tcpdump's spirit into buf: endpoints, flags, numbers,
 * options. */
void view_format(char *buf, size_t size, const uint8_t *d, uint32_t len);

/* The TS option's values of v; false when absent or malformed. */
bool view_ts(const struct view *v, uint32_t *tsval, uint32_t *tsecr);

/* With --explain, writes the plain-words lines of one packet sent by role;
 * mapped tells whether a client packet's acknowledgements are in the
 * proxy's sequence space.  May note the handshake's progress in its
 * connection. */
void explain_packet(struct replay *r, enum role role, const uint8_t *d, uint32_t len,
		    bool mapped);

/* ---- replay_map.c ---- */

/* The capture connection of a decoded packet, or NULL; *from_client says
 * who sent it. */
struct conn *conn_of(struct replay *r, const struct view *v, bool *from_client);

/* Feeds one IP packet of the capture, stamped ts_us (deferring a server's
 * answer until the backend SYN and mapping a client's acknowledgements),
 * after every timer and deferred packet due before it. */
void map_packet(struct replay *r, uint32_t id, uint64_t ts_us, uint8_t *d, uint32_t len);

/* Ends the run at end_us (later when a deferred packet is due later): the
 * remaining timers and deferred packets, held packets flushed, what was
 * never delivered, and the counters. */
void map_finish(struct replay *r, uint64_t end_us);

/* Frees the capture connections. */
void map_free(struct replay *r);

/* ---- replay_link.c ---- */

/* True for the link types the tool reads: raw IP, Ethernet, Linux cooked
 * v1 and v2. */
bool link_supported(int lt);

/* Strips the link-layer header: returns the IP packet's offset, or -1
 * for a frame that carries no IP (*etype then says what it carries). */
int link_strip(int lt, const uint8_t *d, uint32_t caplen, uint16_t *etype);

/* Drops Ethernet padding: the IP header's own length wins when shorter. */
uint32_t link_ip_length(const uint8_t *d, uint32_t len);

#endif
