/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the XDP stage (xdp_synproxy.bpf.c) and its loader in the daemon
 * (src/daemon/xdp.c) share: the layout of every map key and value, the
 * configuration block the daemon writes, and the stage's counters.  Both
 * sides compile this file (the BPF side with clang -target bpf), so it
 * holds only fixed-width types. */
#ifndef SP_XDP_ABI_H
#define SP_XDP_ABI_H

#include <stdint.h>

/* Rules per generation.  A reload fills the idle generation, then flips
 * xdp_cfg.gen, so a packet never sees half of one rule set and half of
 * another.  POLICY_MAX_RULES (250) fits. */
#define XDP_RULES 256
#define XDP_GENS 2

/* Cookie period keys: slot t mod 4 holds period t's key.  The daemon
 * writes the key of t + 1 ahead of time and only ever rewrites the slot of
 * a period two behind the current one, which no reader uses. */
#define XDP_KEY_SLOTS 4

/* Packets the stage passes while their handshake's flow is not yet in the
 * flow map (data right behind a cookie ACK) are recognised this long. */
#define XDP_RECENT_MS 3000

/* The configuration block (the program's .bss, mapped by the daemon). */
struct xdp_cfg {
	uint64_t pressure_until_ms; /* answer every SYN until this monotonic ms */
	int64_t wall_offset_ms;     /* wall clock - monotonic clock, in ms */
	uint32_t ts_base;           /* our TSval = (uint32_t)monotonic ms + ts_base */
	uint32_t queue_rate;        /* SYNs a second each CPU passes to the queue */
	uint32_t queue_burst;       /* bucket depth for queue_rate */
	uint32_t mark;              /* conntrack mark of the daemon's offloaded flows */
	uint16_t synack_window;
	uint8_t gen;                /* the live rule generation */
	uint8_t enabled;            /* 0: the stage passes everything */
	uint8_t always;             /* 1: answer every SYN (answer = "always") */
	uint8_t ct_lookup;          /* 1: look offloaded flows up in conntrack */
	uint8_t syn_ct_lookup;      /* 1: and SYNs too: an entry of ours may be an orphan */
	uint8_t pad[1];
};

struct xdp_keyslot {
	uint32_t t;                 /* the period whose key this is */
	uint32_t valid;             /* written last: the key is complete */
	uint8_t key[16];
};

/* A rule as the stage needs it (struct rule of policy.h, compacted). */
struct xdp_rule {
	uint8_t action;             /* enum rule_action: only RULE_PROXY is answered */
	uint8_t mss_mode;           /* enum opt_mode */
	uint8_t wscale_mode;
	uint8_t sack_mode;
	uint8_t ts_mode;
	uint8_t wscale;             /* OPT_ON value, fallback for OPT_AUTO */
	uint8_t ecn;
	uint8_t lists;              /* XDP_LIST_ALLOW | XDP_LIST_DENY: the rule has it */
	uint16_t mss;               /* OPT_ON value; for OPT_AUTO, AUTO_MSS4 */
	uint16_t mss6;              /* OPT_ON value; for OPT_AUTO, AUTO_MSS6 */
	uint32_t syn_rate;          /* syn_rate_per_source; 0: none */
	uint32_t syn_burst;         /* 0: equal to syn_rate */
};

#define XDP_LIST_ALLOW 1
#define XDP_LIST_DENY 2

/* Addresses are 16 bytes, IPv4 mapped (::ffff:a.b.c.d) as in the core, so
 * prefixes carry over with the same lengths.  LPM trie keys: prefixlen
 * counts bits of everything after it, and every lookup uses the full
 * length. */
struct xdp_dst_port_key {       /* rules with ports: gen, port, address */
	uint32_t prefixlen;         /* 8 + 16 + prefix length */
	uint8_t gen;
	uint8_t port[2];            /* big-endian */
	uint8_t addr[16];
	uint8_t pad;
};
#define XDP_DST_PORT_BITS (8 + 16 + 128)

struct xdp_dst_any_key {        /* rules without ports: gen, address */
	uint32_t prefixlen;         /* 8 + prefix length */
	uint8_t gen;
	uint8_t addr[16];
	uint8_t pad[3];
};
#define XDP_DST_ANY_BITS (8 + 128)

struct xdp_list_key {           /* allow and deny sets: gen, rule, list, address */
	uint32_t prefixlen;         /* 24 + prefix length */
	uint8_t gen;
	uint8_t rule;
	uint8_t list;               /* XDP_LIST_ALLOW or XDP_LIST_DENY */
	uint8_t addr[16];
	uint8_t pad;
};
#define XDP_LIST_BITS (24 + 128)

/* A connection, byte for byte struct conn_key of addr.h: client address,
 * server address, client port, server port (ports in host order). */
struct xdp_flow_key {
	uint8_t caddr[16];
	uint8_t saddr[16];
	uint16_t cport;
	uint16_t sport;
};

/* Options learned from a backend (struct learned_opts of policy.h). */
struct xdp_learned_key {
	uint8_t addr[16];
	uint16_t port;              /* host order */
	uint16_t pad;
};

struct xdp_learned {
	uint16_t mss;
	uint8_t wscale;             /* 0xff: the backend does not scale */
	uint8_t sack;
	uint8_t ts;
	uint8_t pad[3];
};

/* A token bucket in milli-tokens (srclimit.c's arithmetic). */
struct xdp_bucket {
	uint64_t refill_ms;
	uint64_t mtokens;
};

/* A CPU's share of the queue: a bucket of queue_rate SYNs a second, and
 * until when the CPU answers every SYN itself because the bucket ran dry
 * (XDP_FLOOD_HOLD_MS after it last did). */
struct xdp_qshare {
	struct xdp_bucket b;
	uint64_t flood_until_ms;
};
#define XDP_FLOOD_HOLD_MS 1000

/* The stage's counters, one per-CPU array slot each; names as synproxyd(8)
 * lists them. */
#define XDP_COUNTERS(X)                                                              \
	X(xdp_syn_answered, "SYNs answered with a cookie SYN-ACK by the XDP stage")  \
	X(xdp_syn_passed, "SYNs passed to the queue (within its share, no flood)")   \
	X(xdp_syn_on_flow, "SYNs for a connection the daemon keeps, passed to the queue") \
	X(xdp_syn_conntrack, "SYNs for a connection on the kernel fast path, passed to the queue") \
	X(xdp_syn_no_key, "SYNs passed to the queue: this period's cookie key was not in place") \
	X(xdp_syn_denied, "SYNs dropped: the rule's deny list has the source or its allow list lacks it") \
	X(xdp_syn_rate_limited, "SYNs dropped: over the rule's syn_rate_per_source")  \
	X(xdp_syn_bad_checksum, "SYNs dropped: bad TCP or IPv4 header checksum")      \
	X(xdp_ack_flow, "segments without SYN of a connection the daemon keeps, passed") \
	X(xdp_ack_conntrack, "segments without SYN of a connection on the kernel fast path, passed") \
	X(xdp_ack_cookie, "ACKs carrying a valid cookie, passed")                   \
	X(xdp_ack_recent, "segments right behind a cookie ACK, passed")              \
	X(xdp_ack_dropped, "segments without SYN of no known connection and no valid cookie, dropped") \
	X(xdp_malformed, "TCP segments to a protected service with impossible flags, data offset or options, dropped") \
	X(xdp_passed, "packets not for a service the stage answers, passed untouched")

enum xdp_counter {
#define XDP_X_ENUM(name, help) XC_##name,
	XDP_COUNTERS(XDP_X_ENUM)
#undef XDP_X_ENUM
	XC_MAX
};

#endif
