/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: everything synproxyd decides about a packet, with no I/O.
 *
 * The caller hands it one IP packet at a time with the current time and
 * gets back a verdict for that packet (possibly rewritten in place), the
 * packets the proxy must send (SYN-ACKs, backend SYNs and ACKs, RSTs) and
 * the verdicts of packets held earlier.  engine_tick runs the timers.
 * The daemon, synproxy-replay, the fuzzers and the tests all drive it the
 * same way. */
#ifndef SP_ENGINE_H
#define SP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cookie.h"
#include "counters.h"
#include "flow.h"
#include "learned.h"
#include "packet.h"
#include "policy.h"
#include "syncache.h"

enum cookie_mode {
	COOKIES_OFF,     /* SYN cache only; a full cache evicts its oldest */
	COOKIES_AUTO,    /* SYN cache; cookies when it cannot take an entry */
	COOKIES_ALWAYS,  /* no SYN cache at all */
};

/* A validated configuration (the daemon's config loader fills it). */
struct engine_config {
	struct syncache_limits syncache;
	enum cookie_mode cookies;
	uint32_t max_flows;             /* flow table size */
	uint32_t hold_packets_per_flow; /* client packets held before the backend answers */
	uint32_t hold_bytes_total;      /* total bytes held */
	uint32_t backend_syn_rto_ms;    /* first backend SYN retransmission (1000) */
	uint8_t backend_syn_retries;    /* retransmissions before giving up */
	uint32_t established_idle_ms;   /* idle flow expiry */
	uint32_t fin_wait_ms;           /* after the first FIN */
	uint32_t time_wait_ms;          /* after both FINs are acknowledged */
	uint32_t rst_grace_ms;          /* an offloaded flow's life in userspace, unless
					 * kernel_reports_end */
	uint16_t offload_after_segs;    /* segments a flow passes in userspace before
					 * it is offered to the fast path (0: at once) */
	bool kernel_reports_end;        /* the caller reports what the kernel sees of
					 * offloaded flows (engine_kernel_event): they
					 * are kept until their entry is gone */
	uint16_t synack_window;         /* window in our SYN-ACKs */
	uint32_t srclimit_slots;
	uint32_t learned_slots;
	uint32_t passlist_slots;
	bool cookie_crosscheck;         /* verify the cookie too on SYN cache hits */
};

/* Fills c with the defaults documented in synproxyd.conf(5). */
void engine_config_defaults(struct engine_config *c);

enum verdict {
	VERDICT_ACCEPT,  /* let the packet go on (rewritten if out->modified) */
	VERDICT_DROP,
	VERDICT_HOLD,    /* the engine kept a copy; its verdict comes later in a release */
};

/* Which side a packet came from, as the engine classified it. */
enum dir {
	DIR_NONE,        /* not for a protected service */
	DIR_CLIENT,      /* client to server */
	DIR_SERVER,      /* server to client */
};

/* One row of a flow listing, and what an offload needs. */
struct flow_info {
	struct conn_key key;
	enum flow_state state;
	uint64_t age_ms;
	uint32_t seq_delta;       /* our ISN - backend ISN: added to server seq */
	uint32_t ts_delta;        /* added to server TSval */
	uint32_t irs;             /* client ISN */
	uint32_t iss;             /* our ISN (the client's view of the server) */
	uint32_t bis;             /* backend ISN */
	uint32_t our_tsval;       /* TSval of our SYN-ACK */
	uint8_t client_wscale;    /* 0xff: none */
	uint8_t our_wscale;
	uint8_t backend_wscale;
	bool sack;                /* SACK negotiated with the client */
	bool ts;                  /* timestamps on both legs */
	bool rescaled;            /* the window field is rescaled (no kernel offload) */
	bool offloaded;           /* handed to the kernel (engine_offloaded) */
	uint32_t ct_id;           /* its conntrack entry's id, when offloaded */
};

/* Where an input packet came from, as the caller knows it; the engine
 * reads it only for packets from a protected server's address and port. */
enum engine_side {
	SIDE_ANY,        /* the caller does not know (synproxy-replay, tests) */
	SIDE_BACKEND,    /* the side the protected servers are on */
	SIDE_WRONG,      /* not that side: a server's address forged elsewhere */
	SIDE_UNCHECKED,  /* the caller checks, but could not for this packet */
};

/* What the kernel saw of an offloaded flow (its conntrack entry). */
enum engine_kstate {
	ENGINE_K_ESTABLISHED,
	ENGINE_K_CLOSING,        /* a FIN in one direction */
	ENGINE_K_TIME_WAIT,      /* both FINs */
	ENGINE_K_RESET,          /* an RST (conntrack's CLOSE) */
	ENGINE_K_GONE,           /* the entry was destroyed */
};

/* What the kernel's fast path applies to a flow it translates (the
 * sequence adjustment and timestamp offset of its conntrack entry), and
 * what the entry says of the connection. */
struct engine_kernel_flow {
	uint32_t seq_delta;      /* added to the server's seq (our ISN - backend ISN) */
	uint32_t ts_delta;       /* added to the server's TSval */
	uint32_t ct_id;          /* the entry's conntrack id */
	bool ts;                 /* timestamps translated (ts_delta applies) */
	bool sack;               /* both sides permitted SACK */
	uint8_t client_wscale;   /* 0xff: no window scaling */
	uint8_t backend_wscale;
	enum engine_kstate state;
};

/* What the caller knows about an input packet. */
struct engine_meta {
	uint32_t id;             /* caller's handle (NFQUEUE packet id, pcap index) */
	/* The daemon's judgement (worker.c, side_of): in gateway mode, did
	 * the packet come in on the interface the route to its source uses;
	 * in local mode, did it come from the local stack.  A packet from a
	 * protected server that comes from elsewhere is dropped, and only one
	 * known to come from the backends' side (or SIDE_ANY) may teach the
	 * engine a backend's options. */
	enum engine_side side;
	/* True skips the checksum check on packets that would create state.
	 * Only the engine fuzzer (tests/fuzz/fuzz_engine.c) sets it, to reach
	 * the code behind that check with random bytes: the daemon (worker.c)
	 * and synproxy-replay always pass false (NFQUEUE's NOTVERIFIED flag
	 * means "not checked yet", so the engine must check). */
	bool csum_unverified;
	/* For an ICMP error about a flow the engine does not hold, and for
	 * a client SYN on the tuple of one: asks whether the kernel
	 * translates that flow (an offloaded flow the engine has forgotten,
	 * one of a process that left no state file, an adopted connection)
	 * and, when it does, fills kf and returns true.  For the SYN the
	 * engine then takes the entry in as an offloaded flow (splice.c,
	 * splice_from_kernel) and answers as on any.  NULL: no kernel fast
	 * path. */
	bool (*kernel_flow)(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf);
	void *kernel_ctx;
	/* Another engine (the worker of the next queue) may hold flows this
	 * one does not: an ICMP error about a flow that neither this engine
	 * nor the kernel translates goes on to it (out->pass_on) instead of
	 * being judged here. */
	bool pass_on;
};

#define ENGINE_MAX_EMIT 32
#define ENGINE_MAX_RELEASE 64
#define ENGINE_MAX_FLOWEV 32

/* A packet the proxy makes: send it out of the raw socket. */
struct engine_emit {
	uint8_t to;                     /* DIR_CLIENT: toward the client; DIR_SERVER: toward the backend */
	uint8_t len;
	uint8_t data[PACKET_BUILD_MAX];
};

/* The late verdict of a held packet.  data/len (already translated) are
 * valid until the next engine call. */
struct engine_release {
	uint32_t id;
	enum verdict verdict;           /* ACCEPT or DROP */
	const uint8_t *data;
	uint32_t len;
};

/* A tuple that gained or lost its flow, for a caller that mirrors the
 * flow table outside the engine (the XDP stage's map of known flows). */
struct engine_flowev {
	struct conn_key key;
	bool up;                        /* true: a flow was made; false: it ended */
};

/* Everything one engine call produces.  The caller sends the emits before
 * it gives the releases their verdicts (a backend ACK precedes held data). */
struct engine_out {
	enum verdict verdict;           /* for the input packet (unused by tick) */
	enum counter reason;            /* the counter that explains the verdict */
	enum dir dir;                   /* the input's direction */
	bool modified;                  /* the input packet was rewritten in place */
	bool pass_on;                   /* the input (ACCEPT, untouched) goes to the next
					 * engine's queue (engine_meta.pass_on) */
	/* The input, rewritten, must leave as a packet of the caller's own
	 * (marked, so untracked by conntrack) and its verdict is DROP: an ICMP
	 * error toward the backend about a flow conntrack's sequence
	 * adjustment covers, whose payload conntrack would rewrite as if it
	 * were a TCP header (icmp.c). */
	bool reinject;
	uint32_t nemit;
	struct engine_emit emit[ENGINE_MAX_EMIT];
	uint32_t nrelease;
	struct engine_release release[ENGINE_MAX_RELEASE];
	bool offer;                     /* a flow just became established: offer_flow */
	struct flow_info offer_flow;
	/* Whatever the kernel's fast path holds for forget_key is stale: a
	 * flow was just made for that tuple (an entry left by an earlier
	 * connection would translate it with the wrong offsets), or a FIN or
	 * RST of an offloaded flow reached the engine, so conntrack did not
	 * see it and its entry would outlive the connection.  The flow stays
	 * (or is back) in userspace. */
	bool forget;
	struct conn_key forget_key;
	/* Flows made and ended by this call, in order. */
	uint32_t nflowev;
	struct engine_flowev flowev[ENGINE_MAX_FLOWEV];
	/* A backend's SYN-ACK changed the options learned for it. */
	bool learned;
	struct addr learned_addr;
	uint16_t learned_port;
	struct learned_opts learned_opts;
};

struct engine;

#define ENGINE_SECRET_LEN 32

/* Creates an engine with configuration c, rules pol (borrowed: it must
 * outlive the engine or be replaced first) and a 32-byte master secret
 * from which every key is derived.  NULL on bad configuration or no
 * memory; all tables are allocated here and never grow. */
struct engine *engine_new(const struct engine_config *c, const struct policy *pol,
			  const uint8_t secret[ENGINE_SECRET_LEN], uint64_t now_ms);

/* Frees the engine.  Held packets are forgotten: drain them first with
 * engine_flush. */
void engine_free(struct engine *e);

/* Tells the engine the wall-clock time (ms since the epoch) that goes with
 * now_ms.  Only the SYN-cookie time counter uses it, so that several
 * proxies sharing a secret file agree on the counter; without a call the
 * counter runs on now_ms itself. */
void engine_set_wallclock(struct engine *e, uint64_t wall_ms, uint64_t now_ms);

/* Changes the secret SYN cookies (and, with cookies off, ISNs) are made
 * with: a rotation.  prev (NULL: none) is accepted too, so that cookies
 * issued under it, by this proxy or another, still validate
 * (cookie_previous_secret counts them).  The tables keep the keys
 * engine_new derived from its secret. */
void engine_set_cookie_secrets(struct engine *e, const uint8_t cur[ENGINE_SECRET_LEN],
			       const uint8_t *prev);

/* Swaps the rule set (for a reload).  Existing flows and half-open
 * entries keep the options they negotiated. */
void engine_set_policy(struct engine *e, const struct policy *pol);

/* Decides on one packet of len bytes at data (rewritten in place when
 * out->modified is set).  Expects now_ms to be monotonic. */
void engine_input(struct engine *e, uint8_t *data, uint32_t len,
		  const struct engine_meta *m, uint64_t now_ms, struct engine_out *out);

/* Runs every timer due at now_ms: SYN-ACK and backend SYN
 * retransmissions, backend failures, flow expiry.  Returns true when out
 * filled up before all due work was done (call again). */
bool engine_tick(struct engine *e, uint64_t now_ms, struct engine_out *out);

/* When engine_tick next has work (a lower bound; UINT64_MAX when none). */
uint64_t engine_next_deadline(const struct engine *e);

/* Releases every held packet with a drop verdict (before shutdown).
 * Returns true when out filled up (call again). */
bool engine_flush(struct engine *e, struct engine_out *out);

/* The counters, indexed by enum counter. */
const uint64_t *engine_counters(const struct engine *e);

/* Gauges for stats listings. */
struct engine_gauges {
	uint32_t syncache_entries;
	uint32_t flows_active;
	uint32_t held_packets;
	uint32_t held_bytes;
	size_t memory_bytes;            /* every table the engine allocated */
};

/* Fills g. */
void engine_gauges(const struct engine *e, struct engine_gauges *g);

/* Records that the kernel now translates the flow k (its conntrack entry
 * with sequence adjustment exists, with the kernel's id ct_id), so its
 * packets stop coming here.  The flow stays to translate packets already
 * queued: for rst_grace_ms, then it is forgotten, or with
 * kernel_reports_end until engine_kernel_event says its entry is gone.
 * False when there is no such established flow. */
bool engine_offloaded(struct engine *e, const struct conn_key *k, uint32_t ct_id,
		      uint64_t now_ms);


/* Tells the engine what the kernel saw of the conntrack entry ct_id of
 * the offloaded flow k: a close moves the flow to closing or time-wait,
 * so that listings, counters and a new SYN on its tuple see it; an RST
 * or the entry's end ends it (out->flowev).  Ignored for any other flow
 * (not offloaded, or offloaded with another entry). */
void engine_kernel_event(struct engine *e, const struct conn_key *k, uint32_t ct_id,
			 enum engine_kstate ks, uint64_t now_ms, struct engine_out *out);

/* Calls fn for every half-open entry and flow. */
void engine_walk(const struct engine *e, uint64_t now_ms,
		 void (*fn)(const struct flow_info *fi, void *ctx), void *ctx);

/* The offset of the engine's TCP timestamp clock from now_ms for the
 * master secret (every engine made from it has the same): our TSval at
 * now_ms is (uint32_t)now_ms + this. */
uint32_t engine_ts_base(const uint8_t secret[ENGINE_SECRET_LEN]);

/* Restart without loss (snapshot.c): an engine's flows and learned
 * options as records of at most ENGINE_SNAPSHOT_MAX bytes, which another
 * process's engine takes back.  Flows on the kernel fast path come back
 * as such (with their conntrack id); held data is not kept. */
#define ENGINE_SNAPSHOT_MAX 256

/* Calls fn with every record; returns the number of flows. */
size_t engine_snapshot(const struct engine *e, uint64_t now_ms,
		       void (*fn)(const uint8_t *rec, size_t len, void *ctx), void *ctx);

enum engine_restore_result {
	ENGINE_RESTORE_FLOW,        /* a flow is back (in out->flowev) */
	ENGINE_RESTORE_LEARNED,     /* learned options are back */
	ENGINE_RESTORE_DUPLICATE,   /* the flow is there already */
	ENGINE_RESTORE_FULL,        /* no room in the flow table */
	ENGINE_RESTORE_BAD,         /* not a record this engine reads */
};

/* Takes one record of engine_snapshot back at now_ms.  The flow's
 * deadline and age carry over; a flow in its backend handshake sends its
 * backend SYN again at once.  out reports what came back as engine_input
 * would have: a flow in out->flowev, learned options in out->learned;
 * nothing else in out is used. */
enum engine_restore_result engine_restore(struct engine *e, const uint8_t *rec, size_t len,
					  uint64_t now_ms, struct engine_out *out);

#endif
