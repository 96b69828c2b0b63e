/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XDP stage: keeps SYN and ACK floods off the queue.
 *
 * Why it exists.  Every packet that crosses NFQUEUE costs a netlink round
 * trip; on the 2-CPU lab a drop-only queue consumer reaches 0.5-0.6x the
 * kernel's SYNPROXY target, so any proxy that answers a flood through the
 * queue protects less than the target it replaces (bench/README.md).  This
 * program runs in the driver, before the stack, on the interfaces the
 * configuration names (xdp.interfaces) and answers what a flood is made of
 * there.
 *
 * What it does with a TCP segment to a protected service (the first
 * "proxy" rule that matches its destination and port, as the engine's
 * policy_match finds it):
 *   SYN    for a connection the daemon keeps: passed (the engine answers
 *          it).  From a source a rule's allow/deny list refuses: dropped.
 *          Otherwise either passed to the queue, where the SYN cache gives
 *          it full options and retransmissions, or answered here: while
 *          the daemon reports pressure (queue drops or a full SYN cache,
 *          xdp_cfg.pressure_until_ms, see overload.c), beyond this CPU's
 *          share of the queue (a token bucket of queue_rate SYNs a second)
 *          and for a second after that share last ran dry, or always
 *          (answer = "always").  An answered SYN's checksum and
 *          the rule's per-source rate are checked, then the frame is
 *          rewritten in place into the engine's SYN-ACK and sent back with
 *          XDP_TX.
 *   other  passed when it belongs to a connection the daemon keeps (the
 *          flow map the workers keep in step with their flow tables), to
 *          one on the kernel fast path (a conntrack entry carrying the
 *          daemon's mark), or to a handshake completed by a cookie ACK in
 *          the last XDP_RECENT_MS; an ACK whose acknowledgement is a valid
 *          cookie is passed (and so remembered); everything else is
 *          dropped.
 * Anything else (other rules, other destinations, not TCP, fragments)
 * passes untouched: the queue rules and the engine decide.
 *
 * One definition of the cookie.  The ISN is the engine's cookie: the MAC,
 * the tables and the bit layout come from src/core/cookie_enc.h (SipHash
 * from siphash_impl.h), compiled here as they are in the core; the period
 * keys are the engine's (cookie_period_key), written by the daemon into
 * keys[] so that the master secret never enters the kernel; the period
 * counter is the engine's (wall-clock ms / 64000, from the monotonic clock
 * plus the offset the daemon writes).  The option negotiation and the
 * SYN-ACK layout mirror engine.c (negotiate, state_from_syn, send_synack)
 * and packet.c/tcpopt.c (packet_build, tcpopt_write); tests/xdp/
 * xdp_equiv.c runs this program with BPF_PROG_TEST_RUN on random SYNs and
 * ACKs and compares every bit of its answers with the engine's.
 *
 * Verifier notes.  Every packet access is preceded by a bounds check with
 * a constant length; offsets that depend on the packet (VLAN, IPv4
 * options, IPv6 extension headers, TCP options) are bounded first.  The
 * SYN-ACK is built in a stack buffer (checksums there) and copied into the
 * frame word by word.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bytes.h"
#include "cookie_enc.h"
#include "xdp_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* From the core's headers, which this program cannot include whole. */
#define RULE_PROXY 0          /* policy.h enum rule_action */
#define OPT_OFF 0             /* policy.h enum opt_mode */
#define OPT_ON 1
#define OPT_AUTO 2
#define WS_NONE 0xff
#define DEFAULT_MSS 536       /* engine.c: MSS assumed when none is sent */
#define MAX_WSCALE 14         /* tcpopt.h TCP_MAX_WSCALE */
#define SYNACK_TTL 64         /* packet.c IP_TTL */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10
#define TH_ECE 0x40
#define TH_CWR 0x80
#define SRC_MILLI 1000        /* srclimit.c: milli-tokens per token */

#define ETH_HLEN_ 14
#define VLAN_HLEN 4
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define IP6_MAX_EXTHDRS 8
#define MAX_L4OFF 1024        /* beyond this the stage does not look */
#define MAX_SEGMENT 1500      /* longest SYN whose checksum is checked here */
#define SYNACK_MAX (IP6_HLEN + TCP_HLEN + 20)

#include "xdp_maps.h"

/* ---- helpers -------------------------------------------------------- */

static __always_inline void count(enum xdp_counter c)
{
	uint32_t k = c;
	uint64_t *v = bpf_map_lookup_elem(&counters, &k);

	if (v)
		(*v)++;
}

static __always_inline int pass(enum xdp_counter c)
{
	count(c);
	return XDP_PASS;
}

static __always_inline int drop(enum xdp_counter c)
{
	count(c);
	return XDP_DROP;
}

/* Parsing: struct seg, struct opts, parse() and parse_opts(). */
#include "xdp_parse.h"

/* The rule matching dst:dport (policy_match), or -1.  The configuration
 * refuses rules that overlap, so at most one rule matches, from the trie
 * of rules with ports or from that of rules without; the smaller index
 * would be policy_match's first match even if two did. */
static __always_inline int64_t rule_of(const uint8_t dst[16], uint16_t dport, uint8_t gen)
{
	struct xdp_dst_port_key kp = { .prefixlen = XDP_DST_PORT_BITS, .gen = gen };
	struct xdp_dst_any_key ka = { .prefixlen = XDP_DST_ANY_BITS, .gen = gen };
	uint32_t *a, *b;

	kp.port[0] = (uint8_t)(dport >> 8);
	kp.port[1] = (uint8_t)dport;
	__builtin_memcpy(kp.addr, dst, 16);
	__builtin_memcpy(ka.addr, dst, 16);
	a = bpf_map_lookup_elem(&dst_port, &kp);
	b = bpf_map_lookup_elem(&dst_any, &ka);
	if (a && b)
		return *a < *b ? *a : *b;
	if (a)
		return *a;
	if (b)
		return *b;
	return -1;
}

static __always_inline bool in_list(uint8_t gen, uint8_t rule, uint8_t list, const uint8_t src[16])
{
	struct xdp_list_key k = { .prefixlen = XDP_LIST_BITS, .gen = gen, .rule = rule,
				  .list = list };

	__builtin_memcpy(k.addr, src, 16);
	return bpf_map_lookup_elem(&lists, &k) != NULL;
}

/* srclimit.c's refill and take, on one bucket.  True when a token was
 * taken. */
static __always_inline bool bucket_take(struct xdp_bucket *b, uint64_t rate, uint64_t cap,
					uint64_t now_ms)
{
	if (now_ms > b->refill_ms) {
		uint64_t elapsed = now_ms - b->refill_ms;
		uint64_t need = b->mtokens < cap ? cap - b->mtokens : 0;

		if (elapsed > need / rate)
			b->mtokens = cap;
		else
			b->mtokens += elapsed * rate;
		b->refill_ms = now_ms;
	}
	if (b->mtokens > cap)
		b->mtokens = cap;
	if (b->mtokens < SRC_MILLI)
		return false;
	b->mtokens -= SRC_MILLI;
	return true;
}

/* srclimit_syn: one token per SYN from the source's /24 or /64. */
static __always_inline bool source_allowed(const struct xdp_rule *r, const uint8_t src[16],
					   bool v4, uint64_t now_ms)
{
	struct xdp_learned_key k = { .port = 0 };
	struct xdp_bucket *b;
	uint64_t cap;

	if (!r->syn_rate)
		return true;
	cap = (uint64_t)(r->syn_burst ? r->syn_burst : r->syn_rate) * SRC_MILLI;
	__builtin_memcpy(k.addr, src, 16);
	if (v4)
		k.addr[15] = 0;
	else
		__builtin_memset(k.addr + 8, 0, 8);
	b = bpf_map_lookup_elem(&srcrate, &k);
	if (!b) {
		struct xdp_bucket nb = { .refill_ms = now_ms, .mtokens = cap - SRC_MILLI };

		bpf_map_update_elem(&srcrate, &k, &nb, BPF_ANY);
		return true;
	}
	return bucket_take(b, r->syn_rate, cap, now_ms);
}

/* Whether this CPU may pass a SYN to the queue: within its share, and
 * not within XDP_FLOOD_HOLD_MS of the share running dry.  Under a
 * sustained flood the share stays dry and the CPU answers every SYN, so
 * the queue gets only a flood's first burst; a CPU the flood does not
 * reach keeps passing its SYNs. */
static __always_inline bool queue_share(uint64_t now_ms)
{
	uint32_t zero = 0;
	struct xdp_qshare *q;
	uint64_t cap;

	if (!cfg.queue_rate)
		return false;
	q = bpf_map_lookup_elem(&qshare, &zero);
	if (!q)
		return false;
	cap = (uint64_t)(cfg.queue_burst ? cfg.queue_burst : cfg.queue_rate) * SRC_MILLI;
	if (!bucket_take(&q->b, cfg.queue_rate, cap, now_ms)) {
		q->flood_until_ms = now_ms + XDP_FLOOD_HOLD_MS;
		return false;
	}
	return now_ms >= q->flood_until_ms;
}

/* A cookie MAC's key and input (cookie_enc.h), in one block for mac_of. */
struct mac_req {
	uint8_t key[16];
	union cookie_msg msg;
};

/* cookie_mac24_of (cookie_enc.h) for m: a global function, so the
 * verifier checks SipHash once instead of on every path that reaches it. */
__attribute__((noinline)) uint32_t mac_of(struct mac_req *m)
{
	if (!m)
		return 0;
	return cookie_mac24_of(m->key, &m->msg);
}

/* The MAC of the cookie for segment s (client s->src) with the client's
 * ISN irs, at period t (key), low byte and TS bits tsb. */
static __always_inline uint32_t mac(const uint8_t *key, const struct seg *s, uint32_t irs,
				    uint32_t t, uint8_t low, uint8_t tsb)
{
	struct cookie_in in = {
		.caddr = s->src, .saddr = s->dst, .cport = s->sport, .sport = s->dport,
		.irs = irs, .t = t, .low = low, .tsb = tsb,
	};
	struct mac_req m;

	__builtin_memcpy(m.key, key, 16);
	cookie_mac_input(&m.msg, &in);
	return mac_of(&m);
}

/* The key of cookie period t, or NULL when the daemon has not put it in
 * place (then the engine, which derives its own, decides). */
static __always_inline const uint8_t *period_key(uint32_t t)
{
	struct xdp_keyslot *k = &keys[t & (XDP_KEY_SLOTS - 1)];

	if (!k->valid || k->t != t)
		return NULL;
	return k->key;
}

/* The previous secret's key of period t, or NULL when there is none. */
static __always_inline const uint8_t *prev_period_key(uint32_t t)
{
	struct xdp_keyslot *k = &prev_keys[t & (XDP_KEY_SLOTS - 1)];

	if (!k->valid || k->t != t)
		return NULL;
	return k->key;
}

static __always_inline uint32_t cookie_counter_now(uint64_t now_ms)
{
	return (uint32_t)((now_ms + (uint64_t)cfg.wall_offset_ms) / COOKIE_PERIOD_MS_ENC);
}

static __always_inline void flow_key(struct xdp_flow_key *k, const struct seg *s)
{
	__builtin_memcpy(k->caddr, s->src, 16);
	__builtin_memcpy(k->saddr, s->dst, 16);
	k->cport = s->sport;
	k->sport = s->dport;
}

/* One's complement sum of len bytes of the frame from off, len <=
 * MAX_SEGMENT; -1 when the frame is shorter.  A global function (checked
 * once by the verifier). */
__attribute__((noinline)) int64_t sum_frame(struct xdp_md *ctx, uint32_t off, uint32_t len)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	uint64_t sum = 0, o = off;
	uint32_t i;

	/* o is widened once and hidden from the optimiser, so that the
	 * register the verifier sees checked is the one that is used. */
	asm volatile("" : "+r"(o));
	if (o > MAX_L4OFF || len > MAX_SEGMENT)
		return -1;
	for (i = 0; i < MAX_SEGMENT / 4; i++) {
		uint8_t *p = data + o + i * 4;

		if (i * 4 + 4 > len)
			break;
		if ((void *)(p + 4) > end)
			return -1;
		sum += ((uint32_t)p[0] << 8 | p[1]) + ((uint32_t)p[2] << 8 | p[3]);
	}
	/* 0 to 3 bytes left (len <= MAX_SEGMENT, so the loop ran out of
	 * whole words, not of iterations). */
	if (i * 4 < len) {
		uint8_t *p = data + o + i * 4;
		uint32_t rest = len - i * 4;

		if ((void *)(p + 1) > end)
			return -1;
		sum += (uint32_t)p[0] << 8;
		if (rest > 1) {
			if ((void *)(p + 2) > end)
				return -1;
			sum += p[1];
		}
		if (rest > 2) {
			if ((void *)(p + 3) > end)
				return -1;
			sum += (uint32_t)p[2] << 8;
		}
	}
	return (int64_t)sum;
}

/* The pseudo-header sum for a segment of len bytes from src to dst. */
static __always_inline uint64_t sum_pseudo(const struct seg *s, uint32_t len, bool swap)
{
	const uint8_t *a = swap ? s->dst : s->src, *b = swap ? s->src : s->dst;
	uint64_t sum = IPPROTO_TCP + (uint64_t)len;
	int i, from = s->v4 ? 12 : 0;

	for (i = 0; i < 16; i += 2) {
		if (i < from)
			continue;
		sum += ((uint32_t)a[i] << 8 | a[i + 1]) + ((uint32_t)b[i] << 8 | b[i + 1]);
	}
	return sum;
}

/* The SYN's TCP checksum (and IPv4 header checksum) are right.  A frame
 * from a sender on this host through a virtual link (veth) may carry the
 * partial checksum of checksum offload, the pseudo-header's sum alone,
 * which the NIC would have completed: the daemon completes and accepts
 * those too (worker.c, csum_not_ready), and so does this. */
static __always_inline bool syn_csum_ok(struct xdp_md *ctx, const struct seg *s)
{
	int64_t sum = sum_frame(ctx, s->l4off, s->seglen);
	uint64_t ph = sum_pseudo(s, s->seglen, false);

	if (sum < 0)
		return false;
	if (csum_fold32((uint64_t)sum + ph) != 0xffff) {
		void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
		uint64_t l4 = s->l4off;
		uint8_t *tcp;

		asm volatile("" : "+r"(l4));  /* see sum_frame */
		if (l4 > MAX_L4OFF)
			return false;
		tcp = data + l4;
		if ((void *)(tcp + TCP_HLEN) > end ||
		    (((uint16_t)tcp[16] << 8) | tcp[17]) != csum_fold32(ph))
			return false;
	}
	if (s->v4) {
		sum = sum_frame(ctx, s->l3off, s->ip4_ihl);
		if (sum < 0 || csum_fold32((uint64_t)sum) != 0xffff)
			return false;
	}
	return true;
}

/* ---- SYN ------------------------------------------------------------ */

/* engine.c's struct nego. */
struct nego {
	uint16_t mss;             /* 0: no MSS option */
	uint8_t ws;               /* WS_NONE: none */
	uint8_t sack, ts, ecn;
};

/* negotiate(): what the engine answers a SYN offering o under rule r. */
static __always_inline void negotiate(const struct xdp_rule *r, const struct seg *s,
				      const struct opts *o, bool ecn_setup, struct nego *n)
{
	struct xdp_learned *lo = NULL;

	if (r->mss_mode == OPT_AUTO || r->wscale_mode == OPT_AUTO || r->sack_mode == OPT_AUTO ||
	    r->ts_mode == OPT_AUTO) {
		struct xdp_learned_key lk = { .port = s->dport };

		__builtin_memcpy(lk.addr, s->dst, 16);
		lo = bpf_map_lookup_elem(&learned, &lk);
	}
	n->mss = r->mss_mode == OPT_AUTO && lo ? lo->mss : s->v4 ? r->mss : r->mss6;
	if (r->mss_mode == OPT_OFF)
		n->mss = 0;
	n->ws = WS_NONE;
	if (o->have_ws && r->wscale_mode != OPT_OFF) {
		if (r->wscale_mode == OPT_AUTO && lo)
			n->ws = lo->wscale;
		else
			n->ws = r->wscale;
		if (n->ws != WS_NONE && n->ws > MAX_WSCALE)
			n->ws = MAX_WSCALE;
	}
	n->sack = o->have_sack && r->sack_mode != OPT_OFF &&
		  (r->sack_mode == OPT_ON || !lo || lo->sack);
	n->ts = o->have_ts && r->ts_mode != OPT_OFF && (r->ts_mode == OPT_ON || !lo || lo->ts);
	/* ECN only with timestamps: a cookie carries it in their bits alone
	 * (the engine's rule with cookies on, which the stage needs). */
	n->ecn = ecn_setup && r->ecn && n->ts;
}

/* Sum of the len bytes (even) from offset from of the SYN-ACK buffer.
 * Unrolled, so that every read has a constant offset. */
static __always_inline uint64_t sum_buf(const uint8_t *b, uint32_t from, uint32_t len)
{
	uint64_t sum = 0;

#pragma clang loop unroll(full)
	for (uint32_t i = 0; i < SYNACK_MAX; i += 2) {
		if (i >= from && i < from + len)
			sum += (uint32_t)b[i] << 8 | b[i + 1];
	}
	return sum;
}

/* Answers the SYN s (options o) under rule r with the engine's SYN-ACK:
 * state_from_syn, cookie_make and send_synack, packet_build and
 * tcpopt_write, rewritten into the frame.  XDP_TX, or XDP_PASS when the
 * frame cannot be resized or the period key is missing. */
static __attribute__((noinline)) int answer(struct xdp_md *ctx, const struct seg *s, const struct opts *o,
				  const struct xdp_rule *r, uint64_t now_ms)
{
	uint32_t zero = 0;
	struct synack_buf *out = bpf_map_lookup_elem(&scratch, &zero);
	uint8_t *b, *tcp, *opt;
	struct nego n;
	const uint8_t *key;
	uint32_t t, iss, tsval = 0, tsb = COOKIE_NO_TS, iphl, optlen = 0, total, flen, i;
	uint16_t smss = o->have_mss ? o->mss : DEFAULT_MSS;
	uint8_t sws = o->have_ws ? (o->wscale > MAX_WSCALE ? MAX_WSCALE : o->wscale) : 0;
	uint8_t cws, mac_ws, mi, wi = 0, low, macs[12];
	bool ss_ws, ecn_setup = (s->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR);
	void *data, *end;
	uint8_t *l3;
	int delta;

	if (!out)
		return XDP_PASS;
	b = out->b;
	negotiate(r, s, o, ecn_setup, &n);
	ss_ws = n.ws != WS_NONE;
	t = cookie_counter_now(now_ms);
	key = period_key(t);
	if (!key)
		return pass(XC_xdp_syn_no_key);

	/* cookie_make over cookie_opts_of(state_from_syn(...)). */
	cws = ss_ws ? sws : COOKIE_WS_ABSENT;
	mi = (uint8_t)cookie_mss_index(smss);
	if (cws != COOKIE_WS_ABSENT)
		wi = (uint8_t)cookie_ws_index(cws);
	low = cookie_low_byte(t, mi, wi, n.sack);
	mac_ws = cws;
	if (n.ts)
		tsb = cookie_ts_field(mac_ws, n.sack, n.ecn);
	iss = mac(key, s, s->seq, t, low, (uint8_t)tsb) | low;
	if (n.ts)
		tsval = (((uint32_t)now_ms + cfg.ts_base) & ~COOKIE_TS_MASK) | tsb;

	/* packet_build of the SYN-ACK. */
	__builtin_memset(b, 0, SYNACK_MAX);
	iphl = s->v4 ? IP4_HLEN : IP6_HLEN;
	tcp = b + (s->v4 ? IP4_HLEN : IP6_HLEN);
	opt = tcp + TCP_HLEN;
	if (n.mss) {
		opt[optlen] = 2;
		opt[optlen + 1] = 4;
		put_be16(opt + optlen + 2, n.mss);
		optlen += 4;
	}
	if (n.ts) {
		if (n.sack) {
			opt[optlen] = 4;
			opt[optlen + 1] = 2;
		} else {
			opt[optlen] = 1;
			opt[optlen + 1] = 1;
		}
		opt[optlen + 2] = 8;
		opt[optlen + 3] = 10;
		put_be32(opt + optlen + 4, tsval);
		put_be32(opt + optlen + 8, o->tsval);
		optlen += 12;
	} else if (n.sack) {
		opt[optlen] = 1;
		opt[optlen + 1] = 1;
		opt[optlen + 2] = 4;
		opt[optlen + 3] = 2;
		optlen += 4;
	}
	if (ss_ws) {
		opt[optlen] = 1;
		opt[optlen + 1] = 3;
		opt[optlen + 2] = 3;
		opt[optlen + 3] = n.ws;
		optlen += 4;
	}
	total = iphl + TCP_HLEN + optlen;
	if (s->v4) {
		b[0] = 0x45;
		put_be16(b + 2, (uint16_t)total);
		put_be16(b + 6, 0x4000);
		b[8] = SYNACK_TTL;
		b[9] = IPPROTO_TCP;
		__builtin_memcpy(b + 12, s->dst + 12, 4);
		__builtin_memcpy(b + 16, s->src + 12, 4);
		put_be16(b + 10, (uint16_t)~csum_fold32(sum_buf(b, 0, IP4_HLEN)));
	} else {
		b[0] = 0x60;
		put_be16(b + 4, (uint16_t)(total - IP6_HLEN));
		b[6] = IPPROTO_TCP;
		b[7] = SYNACK_TTL;
		__builtin_memcpy(b + 8, s->dst, 16);
		__builtin_memcpy(b + 24, s->src, 16);
	}
	put_be16(tcp, s->dport);
	put_be16(tcp + 2, s->sport);
	put_be32(tcp + 4, iss);
	put_be32(tcp + 8, s->seq + 1);
	tcp[12] = (uint8_t)(((TCP_HLEN + optlen) / 4) << 4);
	tcp[13] = TH_SYN | TH_ACK | (n.ecn ? TH_ECE : 0);
	put_be16(tcp + 14, cfg.synack_window);
	put_be16(tcp + 16, (uint16_t)~csum_fold32(sum_buf(b, iphl, TCP_HLEN + optlen) +
						sum_pseudo(s, TCP_HLEN + optlen, true)));

	/* Into the frame: MACs swapped, any VLAN tag kept, the rest new. */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN_ > end)
		return XDP_PASS;
	__builtin_memcpy(macs, data, 12);
	flen = bpf_xdp_get_buff_len(ctx);
	delta = (int)(s->l3off + total) - (int)flen;
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return pass(XC_xdp_syn_passed);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN_ > end)
		return XDP_DROP;
	__builtin_memcpy(data, macs + 6, 6);
	__builtin_memcpy(data + 6, macs, 6);
	/* l3 takes one of two constant offsets: the verifier then knows
	 * every write below exactly. */
	l3 = data + ETH_HLEN_;
	if (s->l3off != ETH_HLEN_)
		l3 += VLAN_HLEN;
#pragma clang loop unroll(full)
	for (i = 0; i < SYNACK_MAX / 4; i++) {
		uint8_t *p = l3 + i * 4;

		if (i * 4 >= total)
			break;
		if ((void *)(p + 4) > end)
			return XDP_DROP;
		__builtin_memcpy(p, b + i * 4, 4);
	}
	return XDP_TX;
}

/* True when conntrack holds s's connection with the daemon's mark: a flow
 * on the kernel fast path (fastpath.c marks the entries it creates). */
static __always_inline bool offloaded(struct xdp_md *ctx, const struct seg *s)
{
	struct bpf_ct_opts___sp opts = { .netns_id = -1, .l4proto = IPPROTO_TCP };
	struct bpf_sock_tuple tup;
	struct nf_conn *ct;
	uint32_t size;
	bool ours;

	__builtin_memset(&tup, 0, sizeof(tup));
	if (s->v4) {
		__builtin_memcpy(&tup.ipv4.saddr, s->src + 12, 4);
		__builtin_memcpy(&tup.ipv4.daddr, s->dst + 12, 4);
		tup.ipv4.sport = bpf_htons(s->sport);
		tup.ipv4.dport = bpf_htons(s->dport);
		size = sizeof(tup.ipv4);
	} else {
		__builtin_memcpy(tup.ipv6.saddr, s->src, 16);
		__builtin_memcpy(tup.ipv6.daddr, s->dst, 16);
		tup.ipv6.sport = bpf_htons(s->sport);
		tup.ipv6.dport = bpf_htons(s->dport);
		size = sizeof(tup.ipv6);
	}
	ct = bpf_xdp_ct_lookup(ctx, &tup, size, &opts, sizeof(opts));
	if (!ct)
		return false;
	ours = ct->mark == cfg.mark;
	bpf_ct_release(ct);
	return ours;
}

static __attribute__((noinline)) int on_syn(struct xdp_md *ctx, const struct seg *s,
				  const struct xdp_rule *r, uint32_t ridx, uint64_t now_ms)
{
	struct xdp_flow_key fk;
	struct opts o;
	uint8_t gen = cfg.gen;

	flow_key(&fk, s);
	if (bpf_map_lookup_elem(&flows, &fk))
		return pass(XC_xdp_syn_on_flow);
	if (((r->lists & XDP_LIST_DENY) && in_list(gen, (uint8_t)ridx, XDP_LIST_DENY, s->src)) ||
	    ((r->lists & XDP_LIST_ALLOW) && !in_list(gen, (uint8_t)ridx, XDP_LIST_ALLOW, s->src)))
		return drop(XC_xdp_syn_denied);
	if (!cfg.always && now_ms >= cfg.pressure_until_ms && queue_share(now_ms))
		return pass(XC_xdp_syn_passed);
	if (!syn_csum_ok(ctx, s))
		return drop(XC_xdp_syn_bad_checksum);
	/* Before the rate: the engine refuses a segment with broken options
	 * when it parses it, before it takes a token for it. */
	if (parse_opts(ctx, s->l4off, s->doff, &o) < 0)
		return drop(XC_xdp_malformed);
	if (!source_allowed(r, s->src, s->v4, now_ms))
		return drop(XC_xdp_syn_rate_limited);
	/* A flow on the kernel fast path that no engine holds (a daemon that
	 * crashed, its state file lost; an adopted connection): the engine
	 * takes it in from its conntrack entry and judges the SYN as on any
	 * flow it keeps.  A cookie SYN-ACK here would let the handshake's ACK
	 * meet the old entry and reach the backend's old socket.  The lookup
	 * costs the stage 8% of its SYN rate (bench/xdp_flood.sh AB=), so it
	 * runs only while the daemon knows of such entries (syn_ct_lookup,
	 * daemon_ct.c's orphans), and last: only a SYN about to be answered pays. */
	if (cfg.syn_ct_lookup && offloaded(ctx, s))
		return pass(XC_xdp_syn_conntrack);
	if (answer(ctx, s, &o, r, now_ms) != XDP_TX)
		return XDP_PASS;
	count(XC_xdp_syn_answered);
	return XDP_TX;
}

/* ---- everything but SYN --------------------------------------------- */

/* cookie_check_keys for an ACK: seq - 1 is the client's ISN, ack - 1 the
 * cookie; the parity bit names the period.  Expired cookies fail here. */
static __always_inline bool cookie_ok(struct xdp_md *ctx, const struct seg *s, uint64_t now_ms)
{
	uint32_t cookie = s->ack - 1, t = cookie_counter_now(now_ms);
	uint8_t low = (uint8_t)(cookie & COOKIE_LOW_MASK), tsb = COOKIE_NO_TS;
	const uint8_t *key;
	struct opts o;

	if (parse_opts(ctx, s->l4off, s->doff, &o) < 0)
		return false;
	if (o.have_ts)
		tsb = (uint8_t)(o.tsecr & COOKIE_TS_MASK);
	if (((low >> COOKIE_PARITY_SHIFT) & 1u) != (t & 1u))
		t--;
	key = period_key(t);
	if (key && mac(key, s, s->seq - 1, t, low, tsb) == (cookie & ~COOKIE_LOW_MASK))
		return true;
	/* During a rotation: made under the previous secret (the engine
	 * checks it too, and counts cookie_previous_secret). */
	key = prev_period_key(t);
	return key && mac(key, s, s->seq - 1, t, low, tsb) == (cookie & ~COOKIE_LOW_MASK);
}

static __attribute__((noinline)) int on_other(struct xdp_md *ctx, const struct seg *s, uint64_t now_ms)
{
	struct xdp_flow_key fk;
	uint64_t *until;

	flow_key(&fk, s);
	if (bpf_map_lookup_elem(&flows, &fk))
		return pass(XC_xdp_ack_flow);
	until = bpf_map_lookup_elem(&recent, &fk);
	if (until && now_ms < *until)
		return pass(XC_xdp_ack_recent);
	if (cfg.ct_lookup && offloaded(ctx, s))
		return pass(XC_xdp_ack_conntrack);
	if ((s->flags & TH_ACK) && cookie_ok(ctx, s, now_ms)) {
		uint64_t exp = now_ms + XDP_RECENT_MS;

		bpf_map_update_elem(&recent, &fk, &exp, BPF_ANY);
		return pass(XC_xdp_ack_cookie);
	}
	return drop(XC_xdp_ack_dropped);
}

SEC("xdp")
int synproxy_xdp(struct xdp_md *ctx)
{
	struct seg s;
	struct xdp_rule *r;
	uint64_t now_ms;
	uint32_t ridx;
	int64_t ri;
	uint8_t fl;

	if (!cfg.enabled)
		return XDP_PASS;
	__builtin_memset(&s, 0, sizeof(s));
	if (parse(ctx, &s) < 0)
		return pass(XC_xdp_passed);
	ri = rule_of(s.dst, s.dport, cfg.gen);
	if (ri < 0 || ri >= XDP_RULES)
		return pass(XC_xdp_passed);
	ridx = (uint32_t)ri + (uint32_t)(cfg.gen & 1) * XDP_RULES;
	r = bpf_map_lookup_elem(&rules, &ridx);
	if (!r || r->action != RULE_PROXY)
		return pass(XC_xdp_passed);
	fl = s.flags;
	/* client_input's flag check, and packet.c's data offset check. */
	if (((fl & TH_SYN) && (fl & (TH_FIN | TH_RST))) || !(fl & (TH_SYN | TH_ACK | TH_RST)) ||
	    s.doff < TCP_HLEN || s.doff > s.seglen)
		return drop(XC_xdp_malformed);
	now_ms = bpf_ktime_get_ns() / 1000000;
	if ((fl & TH_SYN) && !(fl & TH_ACK)) {
		int verdict = on_syn(ctx, &s, r, (uint32_t)ri, now_ms);
		uint64_t *n;

		/* One passed to the queue is counted there (worker.c). */
		if (verdict != XDP_PASS && (n = bpf_map_lookup_elem(&rule_syns, &ridx)))
			(*n)++;
		return verdict;
	}
	return on_other(ctx, &s, now_ms);
}
