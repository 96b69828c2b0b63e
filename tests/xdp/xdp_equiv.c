/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xdp_equiv: the XDP stage answers exactly as the engine does.
 *
 * Loads the daemon's own XDP program through the daemon's loader
 * (src/daemon/xdp.c) with the rules of a configuration file, and builds an
 * engine from the same file and secret.  Then, for COUNT random frames, it
 * runs the program once with BPF_PROG_TEST_RUN and gives the engine the
 * same packet at the same millisecond, and checks:
 *   - the engine answers a SYN with a SYN-ACK  <=>  the program returns
 *     XDP_TX, and then the frame is that SYN-ACK bit for bit (after the
 *     Ethernet header, whose addresses must be swapped, and a VLAN tag,
 *     which must be kept);
 *   - the program drops  =>  the engine drops too (denied, rate limited,
 *     bad checksum, impossible flags, bad options, a forged cookie);
 *   - the program passes a segment of a proxied service only when the
 *     engine has the connection or the ACK carries a valid cookie.
 * Frames: IPv4 and IPv6, with and without a VLAN tag, IPv4 options and an
 * IPv6 hop-by-hop header, every mix of MSS, window scale (0 to 255),
 * SACK-permitted and timestamps in random order with NOPs, unknown and
 * malformed options, ECN setup, payload, wrong and offload-partial
 * checksums; addresses and ports inside and outside every rule of the
 * file (tests/xdp/equiv.conf: nested prefixes, port lists and a portless
 * rule, every option mode, learned options, allow and deny
 * lists, a per-source rate, accept/drop/reset rules).  The handshake ACKs
 * of answered SYNs (with and without timestamps) must pass and open the
 * engine's flow; their next segment must pass through the flow map the
 * engine's events keep; tampered ACKs must be dropped by both.
 *
 * Usage: xdp_equiv CONF COUNT SEED (root, in a network namespace of its
 * own: the stage attaches to that namespace's lo).  Prints one line of
 * totals per category and exits 0 when every frame agreed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "bytes.h"
#include "conf.h"
#include "csum.h"
#include "engine.h"
#include "log.h"
#include "xdp.h"

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t pick(uint32_t n)
{
	return rnd() % n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- building frames ----------------------------------------------- */

struct frame {
	uint8_t b[1600];
	uint32_t len;
	uint32_t l3;          /* offset of the IP header */
	uint32_t l4;          /* offset of the TCP header */
	bool v6;
};

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

enum csum_kind { CS_GOOD, CS_BAD, CS_PARTIAL };

/* What a frame carries (addresses as 16-byte mapped for IPv4). */
struct spec {
	struct addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	bool vlan, ipopt, hbh;
	uint8_t opts[40];
	uint32_t optlen;      /* multiple of 4 */
	uint32_t paylen;
	enum csum_kind cs;
	uint8_t tos;
};

static uint32_t tcp_sum(const struct frame *f)
{
	uint32_t tcplen = f->len - f->l4, sum;
	uint8_t ph[8];

	if (!f->v6) {
		sum = csum_add(0, f->b + f->l3 + 12, 8);
		ph[0] = 0;
		ph[1] = 6;
		put_be16(ph + 2, (uint16_t)tcplen);
		sum = csum_add(sum, ph, 4);
	} else {
		sum = csum_add(0, f->b + f->l3 + 8, 32);
		put_be32(ph, tcplen);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = 6;
		sum = csum_add(sum, ph, 8);
	}
	return sum;
}

static void build(struct frame *f, const struct spec *s)
{
	uint8_t *p = f->b;
	uint32_t iphl, tcplen = 20 + s->optlen + s->paylen, ext = 0;
	uint8_t *ip, *tcp;

	memset(f, 0, sizeof(*f));
	f->v6 = !addr_is_v4(&s->src);
	memcpy(p, mac_b, 6);
	memcpy(p + 6, mac_a, 6);
	p += 12;
	if (s->vlan) {
		put_be16(p, 0x8100);
		put_be16(p + 2, 42);
		p += 4;
	}
	put_be16(p, f->v6 ? 0x86dd : 0x0800);
	p += 2;
	f->l3 = (uint32_t)(p - f->b);
	ip = p;
	if (!f->v6) {
		iphl = s->ipopt ? 24 : 20;
		ip[0] = (uint8_t)(0x40 | (iphl / 4));
		ip[1] = s->tos;
		put_be16(ip + 2, (uint16_t)(iphl + tcplen));
		put_be16(ip + 4, (uint16_t)rnd());
		put_be16(ip + 6, 0x4000);
		ip[8] = 63;
		ip[9] = 6;
		memcpy(ip + 12, s->src.a + 12, 4);
		memcpy(ip + 16, s->dst.a + 12, 4);
		if (s->ipopt)
			memset(ip + 20, 1, 4);     /* four NOP options */
		put_be16(ip + 10, csum_fold(csum_add(0, ip, iphl)));
	} else {
		iphl = 40;
		ext = s->hbh ? 8 : 0;
		put_be32(ip, (6u << 28) | ((uint32_t)s->tos << 20) | (rnd() & 0xfffff));
		put_be16(ip + 4, (uint16_t)(ext + tcplen));
		ip[6] = s->hbh ? 0 : 6;
		ip[7] = 63;
		memcpy(ip + 8, s->src.a, 16);
		memcpy(ip + 24, s->dst.a, 16);
		if (s->hbh) {
			ip[40] = 6;          /* next header TCP, length 0 (8 bytes) */
			ip[41] = 0;
			ip[42] = 1;          /* PadN of 4 */
			ip[43] = 4;
		}
	}
	tcp = ip + iphl + ext;
	f->l4 = (uint32_t)(tcp - f->b);
	put_be16(tcp, s->sport);
	put_be16(tcp + 2, s->dport);
	put_be32(tcp + 4, s->seq);
	put_be32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(((20 + s->optlen) / 4) << 4);
	tcp[13] = s->flags;
	put_be16(tcp + 14, (uint16_t)(rnd() | 1));
	memcpy(tcp + 20, s->opts, s->optlen);
	for (uint32_t i = 0; i < s->paylen; i++)
		tcp[20 + s->optlen + i] = (uint8_t)rnd();
	f->len = f->l4 + tcplen;
	switch (s->cs) {
	case CS_GOOD:
		put_be16(tcp + 16, csum_fold(csum_add(tcp_sum(f), tcp, tcplen)));
		break;
	case CS_BAD: {
		/* One bit wrong, but never the value a partial checksum would
		 * have: that one is right for a frame from this host, and the
		 * stage (which cannot see the skb's flag) takes it for one
		 * (seed 2050574038 drew it once in 200,000 frames). */
		uint16_t good = csum_fold(csum_add(tcp_sum(f), tcp, tcplen)), bad;
		uint16_t partial = (uint16_t)~csum_fold(tcp_sum(f));

		do
			bad = (uint16_t)(good ^ (1u << pick(16)));
		while (bad == partial);
		put_be16(tcp + 16, bad);
		break;
	}
	case CS_PARTIAL:
		/* Checksum offload: the pseudo-header's folded sum alone. */
		put_be16(tcp + 16, (uint16_t)~csum_fold(tcp_sum(f)));
		break;
	}
}

/* The TCP checksum completed, as worker.c does for a partial one. */
static void complete_csum(struct frame *f)
{
	uint8_t *tcp = f->b + f->l4;

	put_be16(tcp + 16, 0);
	put_be16(tcp + 16, csum_fold(csum_add(tcp_sum(f), tcp, f->len - f->l4)));
}

/* Random SYN options in random order; sometimes unknown, sometimes broken. */
static void random_options(struct spec *s, bool *broken)
{
	uint8_t o[40];
	uint32_t n = 0;
	int order[4] = { 0, 1, 2, 3 };

	*broken = false;
	for (int i = 3; i > 0; i--) {
		int j = (int)pick((uint32_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < 4; k++) {
		if (pick(4) == 0)
			continue;             /* option absent */
		if (pick(5) == 0 && n < 39)
			o[n++] = 1;           /* a NOP before it */
		switch (order[k]) {
		case 0: {
			static const uint16_t common[] = { 536, 1220, 1360, 1400, 1440, 1452, 1460,
							   8960, 9000, 1200, 100, 0, 65535 };
			uint16_t mss = pick(3) ? common[pick(13)] : (uint16_t)rnd();

			o[n++] = 2;
			o[n++] = 4;
			put_be16(o + n, mss);
			n += 2;
			break;
		}
		case 1:
			o[n++] = 3;
			o[n++] = 3;
			o[n++] = pick(8) ? (uint8_t)pick(15) : (uint8_t)rnd();
			break;
		case 2:
			o[n++] = 4;
			o[n++] = 2;
			break;
		case 3:
			o[n++] = 8;
			o[n++] = 10;
			put_be32(o + n, rnd());
			put_be32(o + n + 4, pick(4) ? 0 : rnd());
			n += 8;
			break;
		}
	}
	if (pick(20) == 0 && n <= 36) {       /* an option we do not know */
		o[n++] = 30;
		o[n++] = 4;
		o[n++] = (uint8_t)rnd();
		o[n++] = (uint8_t)rnd();
	}
	if (pick(100) == 0 && n <= 38) {      /* a length byte below 2 */
		o[n++] = 5;
		o[n++] = (uint8_t)pick(2);
		*broken = true;
	}
	while (n % 4)
		o[n++] = pick(2) ? 1 : 0;     /* NOPs or an end of list */
	memcpy(s->opts, o, n);
	s->optlen = n;
}

static void v4(struct addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	const uint8_t x[4] = { b0, b1, b2, b3 };

	addr_from_v4(a, x);
}

static void v6(struct addr *a, uint16_t w0, uint16_t w1, uint16_t w2, uint16_t last)
{
	uint8_t x[16] = { 0 };

	put_be16(x, w0);
	put_be16(x + 2, w1);
	put_be16(x + 4, w2);
	put_be16(x + 14, last);
	addr_from_v6(a, x);
}

/* Sources and destinations around the rules of equiv.conf. */
static void random_ends(struct spec *s)
{
	bool six = pick(10) < 3;
	static const uint16_t ports[] = { 80, 443, 22, 8080, 9999, 6379, 2222, 5000 };

	if (!six) {
		switch (pick(4)) {
		case 0: v4(&s->src, 192, 0, 2, (uint8_t)rnd()); break;
		case 1: v4(&s->src, 198, 18, (uint8_t)rnd(), (uint8_t)rnd()); break;
		case 2: v4(&s->src, 198, 19, (uint8_t)rnd(), (uint8_t)rnd()); break;
		default: v4(&s->src, 192, 0, 2, (uint8_t)(66 + pick(2))); break;
		}
		switch (pick(6)) {
		case 0: v4(&s->dst, 203, 0, 113, (uint8_t)rnd()); break;
		case 1: v4(&s->dst, 198, 51, 100, (uint8_t)rnd()); break;
		case 2: v4(&s->dst, 198, 51, 101, (uint8_t)rnd()); break;
		case 3: v4(&s->dst, 198, 51, 100, 7); break;
		case 4: v4(&s->dst, 203, 0, 113, (uint8_t)(128 + pick(16))); break;
		default: v4(&s->dst, 192, 0, 2, (uint8_t)(200 + pick(10))); break;
		}
	} else {
		switch (pick(3)) {
		case 0: v6(&s->src, 0x2001, 0xdb8, 0x66, (uint16_t)rnd()); break;
		case 1: v6(&s->src, 0x2001, 0xdb8, 1, (uint16_t)rnd()); break;
		default: v6(&s->src, 0x2001, 0xdb8, (uint16_t)rnd(), (uint16_t)rnd()); break;
		}
		switch (pick(3)) {
		case 0: v6(&s->dst, 0x2001, 0xdb8, 2, (uint16_t)pick(16)); break;
		case 1: v6(&s->dst, 0x2001, 0xdb8, 2, (uint16_t)rnd()); break;
		default: v6(&s->dst, 0x2001, 0xdb8, 3, (uint16_t)rnd()); break;
		}
	}
	s->sport = (uint16_t)(1024 + pick(64000));
	s->dport = pick(8) ? ports[pick(8)] : (uint16_t)rnd();
}

/* ---- the two sides --------------------------------------------------- */

struct result {
	int xdp;                 /* XDP_* */
	int xcounter;            /* the stage's counter that moved (-1: none) */
	uint8_t out[1600];
	uint32_t outlen;
	struct engine_out eo;
};

static int prog_fd;
static struct engine *eng;
static struct xdp_stage *stage;
static uint64_t map_errors;

/* Runs f through the program and the engine at the same millisecond.
 * engine_copy (NULL: f itself) is what the engine gets. */
static int run_both(const struct frame *f, const struct frame *engine_copy, struct result *r)
{
	static const char *const xnames[XC_MAX] = {
#define XN(name, help) #name,
		XDP_COUNTERS(XN)
#undef XN
	};
	uint64_t c0[XC_MAX] = { 0 }, c1[XC_MAX] = { 0 };
	struct frame e;

	(void)xnames;
	xdp_stage_counters(stage, c0);
	for (int tries = 0; tries < 100; tries++) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = f->b, .data_size_in = f->len,
			    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);
		uint64_t a, b;

		/* Start early in a millisecond, so that the run ends in it. */
		while ((a = mono_ns()) % 1000000 > 500000)
			;
		if (bpf_prog_test_run_opts(prog_fd, &t) < 0) {
			fprintf(stderr, "xdp_equiv: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
			exit(2);
		}
		b = mono_ns();
		if (a / 1000000 != b / 1000000)
			continue;     /* crossed a millisecond: run again */
		r->xdp = (int)t.retval;
		r->outlen = t.data_size_out;
		xdp_stage_counters(stage, c1);
		r->xcounter = -1;
		for (int i = 0; i < XC_MAX; i++)
			if (c1[i] != c0[i])
				r->xcounter = i;
		e = engine_copy ? *engine_copy : *f;
		{
			struct engine_meta m = { .id = 1 };

			engine_input(eng, e.b + e.l3, e.len - e.l3, &m, a / 1000000, &r->eo);
		}
		xdp_stage_apply(stage, &r->eo, &map_errors);
		return 0;
	}
	fprintf(stderr, "xdp_equiv: could not run within one millisecond 100 times\n");
	exit(2);
}

/* ---- checking -------------------------------------------------------- */

enum cat {
	C_ANSWERED, C_DROP_DENIED, C_DROP_RATE, C_DROP_CSUM, C_DROP_FLAGS, C_DROP_OPTS,
	C_PASS_OTHER_RULE, C_PASS_NO_RULE, C_PASS_ON_FLOW, C_ACK_COOKIE, C_ACK_FLOW,
	C_ACK_FORGED, C_ACK_PREV, C_ACK_PREV_GONE, C_MAX
};

static const char *const cat_name[C_MAX] = {
	"answered (identical SYN-ACK)", "dropped: deny/allow list", "dropped: per-source rate",
	"dropped: bad checksum", "dropped: impossible flags", "dropped: bad options",
	"passed: rule not proxying", "passed: no rule", "passed: SYN on a known flow",
	"handshake ACK passed (valid cookie)", "next segment passed (flow map)",
	"forged ACK dropped",
	"old secret's ACK passed during the overlap",
	"old secret's ACK dropped after it",
};

static uint64_t cats[C_MAX], bad, v6_answered, ts_answered, vlan_answered, opt_answered;

static void mismatch(const char *what, const struct frame *f, const struct result *r)
{
	bad++;
	if (bad > 10)
		return;
	static const char *const xnames[XC_MAX] = {
#define XN(name, help) #name,
		XDP_COUNTERS(XN)
#undef XN
	};

	fprintf(stderr, "MISMATCH: %s: xdp %d (%s), engine verdict %d reason %s, %u emits\n"
		"  frame:", what, r->xdp, r->xcounter >= 0 ? xnames[r->xcounter] : "-",
		r->eo.verdict, counter_name(r->eo.reason), r->eo.nemit);
	for (uint32_t i = 0; i < f->len && i < 120; i++)
		fprintf(stderr, " %02x", f->b[i]);
	fputc('\n', stderr);
	if (r->xdp == XDP_TX) {
		fprintf(stderr, "  xdp out:");
		for (uint32_t i = 0; i < r->outlen; i++)
			fprintf(stderr, " %02x", r->out[i]);
		fputc('\n', stderr);
	}
	if (r->eo.nemit) {
		fprintf(stderr, "  engine :");
		for (uint32_t i = 0; i < r->eo.emit[0].len; i++)
			fprintf(stderr, " %02x", r->eo.emit[0].data[i]);
		fputc('\n', stderr);
	}
}

/* The frame the program should have sent for the engine's SYN-ACK. */
static bool same_synack(const struct frame *f, const struct result *r)
{
	const struct engine_emit *em = &r->eo.emit[0];

	if (r->outlen != f->l3 + em->len)
		return false;
	if (memcmp(r->out, f->b + 6, 6) != 0 || memcmp(r->out + 6, f->b, 6) != 0)
		return false;
	if (memcmp(r->out + 12, f->b + 12, f->l3 - 12) != 0)
		return false;     /* VLAN tag and EtherType kept */
	return memcmp(r->out + f->l3, em->data, em->len) == 0;
}

static enum cat drop_cat(enum counter c)
{
	switch (c) {
	case CNT_denied: return C_DROP_DENIED;
	case CNT_syn_rate_limited: return C_DROP_RATE;
	case CNT_bad_checksum: return C_DROP_CSUM;
	case CNT_bad_flags: return C_DROP_FLAGS;
	case CNT_parse_bad_options: return C_DROP_OPTS;
	default: return C_MAX;
	}
}

static const struct policy *pol;

/* The action of the first rule for the frame's destination, or -1. */
static int action_of(const struct spec *s)
{
	int i = policy_match(pol, &s->dst, s->dport);

	return i < 0 ? -1 : (int)pol->rules[i].action;
}

/* True when the engine answered with a SYN-ACK. */
static bool engine_answered(const struct result *r)
{
	const uint8_t *d = r->eo.emit[0].data;

	return r->eo.nemit == 1 && r->eo.verdict == VERDICT_DROP &&
	       r->eo.reason == CNT_syn_received && (d[(d[0] >> 4) == 4 ? 33 : 53] & 0x12) == 0x12;
}

/* Checks one SYN (or SYN-like frame, spec s); true when the program
 * answered it (then exactly as the engine). */
static bool check_syn(const struct spec *s, const struct frame *f, const struct result *r)
{
	int action = action_of(s);

	if (r->xdp == XDP_TX) {
		if (action != RULE_PROXY || !engine_answered(r) || !same_synack(f, r)) {
			mismatch("the program answered, not as the engine", f, r);
			return false;
		}
		cats[C_ANSWERED]++;
		return true;
	}
	if (action == RULE_PROXY && engine_answered(r)) {
		mismatch("the engine answered, the program did not", f, r);
		return false;
	}
	if (r->xdp == XDP_DROP) {
		enum cat c = drop_cat(r->eo.reason);

		if (action != RULE_PROXY || r->eo.verdict != VERDICT_DROP || c == C_MAX)
			mismatch("the program dropped what the engine did not (for that reason)", f, r);
		else
			cats[c]++;
		return false;
	}
	/* Passed to the queue: only what the engine does not answer with a
	 * cookie under a proxying rule. */
	if (action == RULE_PROXY && r->eo.reason != CNT_syn_on_flow) {
		mismatch("the program passed a proxied SYN", f, r);
		return false;
	}
	cats[action == RULE_PROXY ? C_PASS_ON_FLOW : action < 0 ? C_PASS_NO_RULE :
	     C_PASS_OTHER_RULE]++;
	return false;
}

/* True when the SYN-ACK in r carries a timestamp option. */
static bool has_ts(const struct result *r)
{
	const uint8_t *ip = r->eo.emit[0].data;
	const uint8_t *tcp = ip + ((ip[0] >> 4) == 4 ? 20 : 40);
	uint32_t doff = (uint32_t)(tcp[12] >> 4) * 4, off = 20;

	while (off < doff) {
		if (tcp[off] == 1) {
			off++;
			continue;
		}
		if (tcp[off] == 8)
			return true;
		off += tcp[off + 1];
	}
	return false;
}

/* The client's handshake ACK to the SYN-ACK in r (for SYN spec s). */
static void ack_spec(struct spec *a, const struct spec *s, const struct result *r, bool data)
{
	const uint8_t *ip = r->eo.emit[0].data;
	const uint8_t *tcp = ip + ((ip[0] >> 4) == 4 ? 20 : 40);
	uint32_t doff = (uint32_t)(tcp[12] >> 4) * 4, off = 20;

	*a = *s;
	a->flags = 0x10 | (data ? 0x08 : 0);
	a->seq = s->seq + 1;
	a->ack = get_be32(tcp + 4) + 1;
	a->optlen = 0;
	a->paylen = data ? 1 + pick(100) : 0;
	a->cs = CS_GOOD;
	a->ipopt = a->hbh = false;
	/* Timestamps when the SYN-ACK has them: echo its TSval. */
	while (off < doff) {
		if (tcp[off] == 1) {
			off++;
			continue;
		}
		if (tcp[off] == 8) {
			a->opts[0] = 1;
			a->opts[1] = 1;
			a->opts[2] = 8;
			a->opts[3] = 10;
			put_be32(a->opts + 4, rnd());
			memcpy(a->opts + 8, tcp + off + 2, 4);
			a->optlen = 12;
			break;
		}
		off += tcp[off + 1];
	}
}

static void check_handshake(const struct spec *s, const struct result *syn)
{
	struct spec a;
	struct frame f;
	struct result r;

	/* The handshake ACK: both accept it; the engine makes the flow. */
	ack_spec(&a, s, syn, pick(3) == 0);
	build(&f, &a);
	run_both(&f, NULL, &r);
	if (r.xdp != XDP_PASS ||
	    (r.eo.reason != CNT_cookie_valid && r.eo.reason != CNT_packets_held)) {
		mismatch("handshake ACK", &f, &r);
		return;
	}
	cats[C_ACK_COOKIE]++;
	/* Its next segment passes on the flow the engine's event put in the
	 * flow map (a FIN half the time). */
	a.seq += a.paylen;
	a.paylen = 1 + pick(50);
	a.flags = 0x18 | (pick(2) ? 0x01 : 0);
	build(&f, &a);
	run_both(&f, NULL, &r);
	if (r.xdp != XDP_PASS) {
		mismatch("segment after the handshake", &f, &r);
		return;
	}
	cats[C_ACK_FLOW]++;
}

/* An ACK with one bit of the cookie or the client's ISN flipped, on a
 * tuple the engine does not know: both must refuse it. */
static void check_forged(const struct spec *s, const struct result *syn)
{
	struct spec a;
	struct frame f;
	struct result r;

	ack_spec(&a, s, syn, false);
	a.sport = (uint16_t)(a.sport ^ 0x8000);  /* another tuple, same cookie */
	if (pick(2))
		a.ack ^= 1u << (8 + pick(24));
	else
		a.seq ^= 1u << pick(32);
	build(&f, &a);
	run_both(&f, NULL, &r);
	if (r.xdp != XDP_DROP || r.eo.verdict != VERDICT_DROP) {
		mismatch("forged ACK", &f, &r);
		return;
	}
	cats[C_ACK_FORGED]++;
}

/* A rotation in the middle of the run: SYN-ACKs answered under the first
 * secret are kept, the secret changes in both (the first one kept as the
 * previous), half their ACKs come then (both must accept them, the engine
 * counting cookie_previous_secret), the previous secret is dropped in
 * both, and the other half come (both must refuse them). */
#define ROTATION_KEEP 32
static struct spec old_s[ROTATION_KEEP];
static struct result old_r[ROTATION_KEEP];
static unsigned nold;

static void check_old_ack(const struct spec *s, const struct result *syn, bool overlap)
{
	struct spec a;
	struct frame f;
	struct result r;
	uint64_t prev0 = engine_counters(eng)[CNT_cookie_previous_secret];

	ack_spec(&a, s, syn, false);
	build(&f, &a);
	run_both(&f, NULL, &r);
	if (overlap) {
		if (r.xdp != XDP_PASS || r.eo.reason != CNT_cookie_valid ||
		    engine_counters(eng)[CNT_cookie_previous_secret] != prev0 + 1) {
			mismatch("old secret's ACK during the overlap", &f, &r);
			return;
		}
		cats[C_ACK_PREV]++;
	} else {
		if (r.xdp != XDP_DROP || r.eo.verdict != VERDICT_DROP ||
		    r.eo.reason != CNT_cookie_invalid_mac) {
			mismatch("old secret's ACK after the overlap", &f, &r);
			return;
		}
		cats[C_ACK_PREV_GONE]++;
	}
}

static void rotate(const uint8_t old[ENGINE_SECRET_LEN])
{
	uint8_t next[ENGINE_SECRET_LEN];

	for (int i = 0; i < ENGINE_SECRET_LEN; i++)
		next[i] = (uint8_t)rnd();
	xdp_stage_set_secrets(stage, next, old);
	engine_set_cookie_secrets(eng, next, old);
	for (unsigned i = 0; i < nold; i += 2)
		check_old_ack(&old_s[i], &old_r[i], true);
	xdp_stage_set_secrets(stage, next, NULL);
	engine_set_cookie_secrets(eng, next, NULL);
	for (unsigned i = 1; i < nold; i += 2)
		check_old_ack(&old_s[i], &old_r[i], false);
}

/* One exchange for teach_backend, from client port sport; the engine must
 * report the options learned with the last one only. */
static void teach_once(const struct addr *backend, uint16_t port, uint16_t sport, bool last)
{
	struct spec s = { .flags = 0x02, .cs = CS_GOOD, .seq = rnd() };
	struct frame f;
	struct result r;
	uint8_t *tcp, *ip;

	v6(&s.src, 0x2001, 0xdb8, 1, 7);
	s.dst = *backend;
	s.sport = sport;
	s.dport = port;
	s.opts[0] = 2; s.opts[1] = 4; put_be16(s.opts + 2, 1460);
	s.opts[4] = 1; s.opts[5] = 3; s.opts[6] = 3; s.opts[7] = 7;
	s.opts[8] = 1; s.opts[9] = 1; s.opts[10] = 4; s.opts[11] = 2;
	s.opts[12] = 1; s.opts[13] = 1; s.opts[14] = 8; s.opts[15] = 10;
	put_be32(s.opts + 16, rnd());
	put_be32(s.opts + 20, 0);
	s.optlen = 24;
	build(&f, &s);
	run_both(&f, NULL, &r);
	if (r.eo.nemit != 1) {
		fprintf(stderr, "xdp_equiv: teaching %u: no SYN-ACK\n", port);
		exit(2);
	}
	ack_spec(&s, &s, &r, false);
	build(&f, &s);
	run_both(&f, NULL, &r);
	if (r.eo.nemit < 1) {
		fprintf(stderr, "xdp_equiv: teaching %u: no backend SYN\n", port);
		exit(2);
	}
	/* The backend's SYN-ACK: MSS 1400, window scale 6, SACK, no TS. */
	ip = r.eo.emit[0].data;
	memset(&f, 0, sizeof(f));
	f.v6 = true;
	f.l3 = 14;
	memcpy(f.b, mac_a, 6);
	memcpy(f.b + 6, mac_b, 6);
	put_be16(f.b + 12, 0x86dd);
	memcpy(f.b + 14, ip, 40);
	memcpy(f.b + 14 + 8, ip + 24, 16);        /* swap the addresses */
	memcpy(f.b + 14 + 24, ip + 8, 16);
	put_be16(f.b + 14 + 4, 32);
	f.l4 = 54;
	tcp = f.b + 54;
	put_be16(tcp, port);
	put_be16(tcp + 2, sport);
	put_be32(tcp + 4, rnd());
	put_be32(tcp + 8, get_be32(ip + 44) + 1);
	tcp[12] = 0x80;
	tcp[13] = 0x12;
	put_be16(tcp + 14, 65535);
	tcp[20] = 2; tcp[21] = 4; put_be16(tcp + 22, 1400);
	tcp[24] = 4; tcp[25] = 2; tcp[26] = 1; tcp[27] = 1;
	tcp[28] = 1; tcp[29] = 3; tcp[30] = 3; tcp[31] = 6;
	f.len = 54 + 32;
	put_be16(tcp + 16, csum_fold(csum_add(tcp_sum(&f), tcp, 32)));
	{
		struct engine_meta m = { .id = 2 };
		struct engine_out o;

		engine_input(eng, f.b + 14, f.len - 14, &m, mono_ns() / 1000000, &o);
		if (o.learned != last) {
			fprintf(stderr, "xdp_equiv: teaching %u: %s learned (%s)\n", port,
				o.learned ? "too early" : "nothing", counter_name(o.reason));
			exit(2);
		}
		xdp_stage_apply(stage, &o, &map_errors);
	}
}

/* The learned options of one backend, taught to the engine by real
 * exchanges (SYN, ACK, the backend's SYN-ACK; as many as the engine needs
 * to agree on them, from clients offering every option) and mirrored into
 * the stage by the engine's event, as a worker does. */
static void teach_backend(const struct addr *backend, uint16_t port)
{
	for (int k = 0; k < LEARNED_AGREE; k++)
		teach_once(backend, port, (uint16_t)(40000 + k), k == LEARNED_AGREE - 1);
}

/* syn_rate_per_source: one /24 sends SYNs back to back; both must take
 * the same burst and then refuse the same ones. */
static void check_rate(void)
{
	for (int i = 0; i < 12; i++) {
		struct spec s = { .flags = 0x02, .cs = CS_GOOD, .seq = rnd() };
		struct frame f;
		struct result r;

		v4(&s.src, 192, 0, 2, (uint8_t)(10 + i));
		v4(&s.dst, 198, 51, 100, 9);
		s.sport = (uint16_t)(2000 + i);
		s.dport = 8080;
		build(&f, &s);
		run_both(&f, NULL, &r);
		check_syn(&s, &f, &r);
	}
}

int main(int argc, char **argv)
{
	struct conf *c = calloc(1, sizeof(*c));
	uint8_t secret[ENGINE_SECRET_LEN];
	unsigned long count;
	char err[512];
	uint64_t now, wall, started = mono_ns();

	if (argc != 4) {
		fprintf(stderr, "usage: xdp_equiv CONF COUNT SEED\n");
		return 2;
	}
	count = strtoul(argv[2], NULL, 10);
	rng = strtoull(argv[3], NULL, 10) * 2654435761u + 88172645463325252ull;
	if (!c || conf_load(argv[1], c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (int i = 0; i < ENGINE_SECRET_LEN; i++)
		secret[i] = (uint8_t)rnd();
	now = mono_ns() / 1000000;
	wall = wall_ms();
	stage = xdp_stage_open(c, secret, false, 1, now, wall);
	if (!stage) {
		fprintf(stderr, "xdp_equiv: the stage did not load (see above)\n");
		return 2;
	}
	prog_fd = xdp_stage_prog_fd(stage);
	pol = &c->policy;
	eng = engine_new(&c->engine, &c->policy, secret, now);
	if (!eng) {
		fprintf(stderr, "xdp_equiv: engine_new failed\n");
		return 2;
	}
	/* One wall-clock offset for both, as the daemon writes it. */
	engine_set_wallclock(eng, wall, now);
	{
		struct addr b;

		v6(&b, 0x2001, 0xdb8, 2, 5);
		teach_backend(&b, 80);
	}
	check_rate();
	for (unsigned long n = 0; n < count; n++) {
		struct spec s = { .seq = rnd() };
		struct frame f, ecopy;
		struct result r;
		bool broken, answered;

		/* Keep the stage's key slots current through long runs, with
		 * one wall-clock offset for both sides as the daemon has. */
		if (n % 4096 == 0) {
			now = mono_ns() / 1000000;
			wall = wall_ms();
			xdp_stage_tick(stage, now, wall, 0);
			engine_set_wallclock(eng, wall, now);
		}
		if (n == count / 2)
			rotate(secret);
		random_ends(&s);
		random_options(&s, &broken);
		s.flags = 0x02;
		switch (pick(50)) {
		case 0: s.flags = 0x03; break;                 /* SYN+FIN */
		case 1: s.flags = 0x06; break;                 /* SYN+RST */
		case 2: case 3: case 4: case 5: s.flags = 0xc2; break;  /* ECN setup */
		case 6: s.flags = 0x42; break;                 /* ECE alone */
		default: break;
		}
		s.tos = pick(8) ? 0 : (uint8_t)rnd();
		s.vlan = pick(10) == 0;
		s.ipopt = !addr_is_v4(&s.src) ? false : pick(20) == 0;
		s.hbh = addr_is_v4(&s.src) ? false : pick(20) == 0;
		s.paylen = pick(20) == 0 ? 1 + pick(200) : 0;
		s.cs = pick(30) == 0 ? CS_BAD : pick(30) == 0 ? CS_PARTIAL : CS_GOOD;
		build(&f, &s);
		ecopy = f;
		if (s.cs == CS_PARTIAL)
			complete_csum(&ecopy);
		run_both(&f, &ecopy, &r);
		answered = check_syn(&s, &f, &r);
		if (answered) {
			if (!addr_is_v4(&s.src))
				v6_answered++;
			if (s.vlan)
				vlan_answered++;
			if (s.ipopt || s.hbh)
				opt_answered++;
			if (has_ts(&r))
				ts_answered++;
			if (n < count / 2 && nold < ROTATION_KEEP && pick(8) == 0 &&
			    action_of(&s) == RULE_PROXY) {
				old_s[nold] = s;
				old_r[nold++] = r;
			} else if (pick(4) == 0)
				check_handshake(&s, &r);
			else if (pick(8) == 0)
				check_forged(&s, &r);
			if (pick(50) == 0) {
				/* The same SYN again, now that its flow may exist
				 * (a whole checksum: the engine gets this frame). */
				if (s.cs == CS_PARTIAL)
					s.cs = CS_GOOD;
				build(&f, &s);
				run_both(&f, NULL, &r);
				check_syn(&s, &f, &r);
			}
		}
	}
	for (int i = 0; i < C_MAX; i++)
		printf("%-40s %" PRIu64 "\n", cat_name[i], cats[i]);
	printf("answered: %" PRIu64 " IPv6, %" PRIu64 " with a VLAN tag, %" PRIu64
	       " with IP options or a hop-by-hop header, %" PRIu64 " with timestamps\n",
	       v6_answered, vlan_answered, opt_answered, ts_answered);
	printf("map update errors %" PRIu64 ", mismatches %" PRIu64 ", %.1f s\n", map_errors, bad,
	       (double)(mono_ns() - started) / 1e9);
	xdp_stage_close(stage);
	engine_free(eng);
	conf_free(c);
	free(c);
	return bad || map_errors ? 1 : 0;
}
