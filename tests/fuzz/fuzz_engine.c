/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the engine on sequences of packets and clock steps.
 *
 * The first input byte picks the configuration (cookie mode, cross-check,
 * checksum-unverified metadata, a kernel fast path that knows the offered
 * flow, another queue to pass ICMP errors on to) and the record format:
 *   raw mode (bit 0 clear): records of a 2-byte big-endian length, that
 *     many packet bytes, and one time-step byte;
 *   script mode (bit 0 set): records of an opcode byte, its operands and
 *     one time-step byte.  The opcodes build packets from the replay
 *     corpus (replay_packets.h, mutated), or as answers to what the engine
 *     sent or let through, so that fuzzed handshakes get past the SYN
 *     cache and the backend handshake into the established paths, and
 *     ICMP errors quoting what was let through.
 * The tables are tiny so that every limit and eviction path is reachable.
 *
 * After every engine call the invariants below are checked; engine_flush
 * at the end must release every packet still held. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"

#include "bytes.h"
#include "engine.h"
#include "hold.h"
#include "icmp.h"
#include "packet.h"
#include "tcpopt.h"

#include "replay_packets.h"

#define PKT_MAX 4096
#define MAX_IDS 4096         /* ids handed out in one run (inputs are <= 4096 bytes) */
#define RING 16
#define TICK_LOOPS 10000     /* engine_tick saying "more" this often is a livelock */

enum id_state { ID_NONE, ID_HELD, ID_RELEASED };

/* A packet one side sent or received, kept to answer or continue it. */
struct seen {
	struct pkt p;            /* addresses, ports, seq, ack, flags, paylen */
	uint32_t tsval;
	bool ts;
	uint8_t to;              /* DIR_CLIENT: travelled toward the client */
};

struct ring {
	struct seen s[RING];
	uint32_t n;
};

struct run {
	struct engine *e;
	struct engine_config cfg;
	struct engine_meta meta;
	struct engine_out out;
	uint64_t now;
	uint32_t next_id;
	uint32_t held;
	uint8_t ids[MAX_IDS];
	bool held_csum_ok[MAX_IDS];
	struct ring sent;        /* inputs, as the sender wrote them */
	struct ring delivered;   /* what reached a side: emits, accepted inputs, releases */
	bool have_offer;
	struct conn_key offer;
	struct engine_kernel_flow offer_kf;  /* the offsets the kernel would apply */
	const uint8_t *in;
	size_t left;
};

static struct policy pol_a, pol_b;
static bool pols_built;

static const uint8_t secret[ENGINE_SECRET_LEN] = { 0x5e, 0xc2, 0xe7 };

static void rule_common(struct rule *r, const char *name, const char *dst, uint16_t port,
			enum rule_action a)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	FUZZ_CHECK(prefix_parse(dst, &r->dst) == 0);
	if (port) {
		r->ports[0] = port;
		r->nports = 1;
	}
	r->action = a;
	r->mss_mode = OPT_ON;
	r->mss = 1460;
	r->wscale_mode = OPT_ON;
	r->wscale = 7;
	r->sack_mode = OPT_ON;
	r->ts_mode = OPT_ON;
	r->ecn = true;
}

/* Policy A: every option on; B (swapped in by an opcode): options learned
 * or off, so the reload path meets flows negotiated under A. */
static void policies_build(void)
{
	struct prefix allow, deny;
	struct rule *r;

	rule_common(&pol_a.rules[0], "redis", "203.0.113.2/32", 6379, RULE_PROXY);
	FUZZ_CHECK(prefix_parse("198.51.100.0/24", &deny) == 0);
	pol_a.rules[0].deny = cidrset_new(&deny, 1);
	r = &pol_a.rules[1];
	rule_common(r, "redis6", "2001:db8:2::2/128", 6379, RULE_PROXY);
	r->max_half_open_per_source = 4;
	FUZZ_CHECK(prefix_parse("2001:db8:1::/48", &allow) == 0);
	r->allow = cidrset_new(&allow, 1);
	r->syn_rate_per_source = 20;
	r->syn_burst_per_source = 5;
	rule_common(&pol_a.rules[2], "web-reset", "203.0.113.2/32", 80, RULE_RESET);
	pol_a.rules[2].reset_pass_ms = 3000;
	rule_common(&pol_a.rules[3], "open", "203.0.113.2/32", 22, RULE_ACCEPT);
	rule_common(&pol_a.rules[4], "closed", "203.0.113.0/24", 0, RULE_DROP);
	pol_a.nrules = 5;

	/* B shares A's address sets: both live until the process ends. */
	pol_b = pol_a;
	r = &pol_b.rules[0];
	r->mss_mode = OPT_AUTO;
	r->wscale_mode = OPT_AUTO;
	r->sack_mode = OPT_AUTO;
	r->ts_mode = OPT_AUTO;
	r->ecn = false;
	r = &pol_b.rules[1];
	r->wscale_mode = OPT_OFF;
	r->ts_mode = OPT_OFF;
	r->sack_mode = OPT_OFF;
	r->mss_mode = OPT_OFF;
	pols_built = true;
}

static void config_build(struct engine_config *c, uint8_t mode)
{
	static const enum cookie_mode cookies[4] = {
		COOKIES_OFF, COOKIES_AUTO, COOKIES_ALWAYS, COOKIES_AUTO
	};

	engine_config_defaults(c);
	c->syncache.buckets = 16;
	c->syncache.bucket_limit = 2;
	c->syncache.max_entries = 24;
	c->syncache.retries = 2;
	c->cookies = cookies[(mode >> 1) & 3];
	c->cookie_crosscheck = mode & 0x08;
	c->max_flows = 8;
	c->hold_packets_per_flow = 4;
	c->hold_bytes_total = 6 * HOLD_SLOT_BYTES;
	c->backend_syn_retries = 2;
	c->established_idle_ms = 60000;
	c->fin_wait_ms = 8000;
	c->time_wait_ms = 4000;
	c->rst_grace_ms = 2000;
	c->offload_after_segs = mode & 0x10 ? 0 : 3;
	c->kernel_reports_end = mode & 0x20;
	c->srclimit_slots = 16;
	c->learned_slots = 4;
	c->passlist_slots = 4;
}

static bool take(struct run *r, void *dst, size_t n)
{
	if (r->left < n)
		return false;
	memcpy(dst, r->in, n);
	r->in += n;
	r->left -= n;
	return true;
}

static uint8_t take8(struct run *r)
{
	uint8_t b = 0;

	take(r, &b, 1);
	return b;
}

/* Small steps most of the time; large ones reach every timer. */
static uint64_t time_step(uint8_t b)
{
	if (b < 200)
		return (uint64_t)b * 10;
	return (uint64_t)(b - 200) * 2000;
}

static void ring_put(struct ring *g, const struct pkt *p, uint8_t to)
{
	struct seen *s = &g->s[g->n++ % RING];
	struct tcpopt o;

	s->p = *p;
	s->p.data = NULL;
	s->to = to;
	s->ts = tcpopt_parse(p->data + p->l4off, p->doff, &o) == 0 && (o.have & TO_TS);
	s->tsval = s->ts ? o.tsval : 0;
}

/* The skip-th most recent entry that travelled toward to; NULL if none. */
static const struct seen *ring_find(const struct ring *g, uint8_t to, unsigned skip)
{
	for (uint32_t i = 0; i < RING && i < g->n; i++) {
		const struct seen *s = &g->s[(g->n - 1 - i) % RING];

		if (s->to == to && skip-- == 0)
			return s;
	}
	return NULL;
}

static void check_gauges(struct run *r)
{
	struct engine_gauges g;

	engine_gauges(r->e, &g);
	FUZZ_CHECK(g.syncache_entries <= r->cfg.syncache.max_entries);
	FUZZ_CHECK(r->cfg.cookies != COOKIES_ALWAYS || g.syncache_entries == 0);
	FUZZ_CHECK(g.flows_active <= r->cfg.max_flows);
	FUZZ_CHECK(g.held_bytes <= r->cfg.hold_bytes_total);
	FUZZ_CHECK(g.held_packets == r->held);
	FUZZ_CHECK(g.held_packets <= r->cfg.hold_bytes_total / HOLD_SLOT_BYTES);
}

/* Checks one engine call's output and records what it delivered. */
static void check_out(struct run *r, bool from_tick)
{
	struct engine_out *o = &r->out;
	static uint8_t buf[PKT_MAX];
	struct pkt p;

	FUZZ_CHECK(o->nemit <= ENGINE_MAX_EMIT);
	FUZZ_CHECK(o->nrelease <= ENGINE_MAX_RELEASE);
	if (!from_tick)
		FUZZ_CHECK(o->verdict == VERDICT_ACCEPT || o->verdict == VERDICT_DROP ||
			   o->verdict == VERDICT_HOLD);
	FUZZ_CHECK(o->reason < CNT_MAX);
	for (uint32_t i = 0; i < o->nemit; i++) {
		const struct engine_emit *m = &o->emit[i];

		FUZZ_CHECK(m->to == DIR_CLIENT || m->to == DIR_SERVER);
		FUZZ_CHECK(m->len > 0 && m->len <= PACKET_BUILD_MAX);
		memcpy(buf, m->data, m->len);
		FUZZ_CHECK(packet_parse(&p, buf, m->len) == PKT_OK);
		FUZZ_CHECK(p.len == m->len);
		FUZZ_CHECK(packet_tcp_csum_ok(&p));
		ring_put(&r->delivered, &p, m->to);
	}
	for (uint32_t i = 0; i < o->nrelease; i++) {
		const struct engine_release *rl = &o->release[i];

		FUZZ_CHECK(rl->id < r->next_id && rl->id < MAX_IDS);
		FUZZ_CHECK(r->ids[rl->id] == ID_HELD);
		r->ids[rl->id] = ID_RELEASED;
		r->held--;
		FUZZ_CHECK(rl->verdict == VERDICT_ACCEPT || rl->verdict == VERDICT_DROP);
		if (rl->verdict != VERDICT_ACCEPT)
			continue;
		FUZZ_CHECK(rl->data != NULL && rl->len > 0 && rl->len <= PKT_MAX);
		memcpy(buf, rl->data, rl->len);
		FUZZ_CHECK(packet_parse(&p, buf, rl->len) == PKT_OK);
		/* Translation keeps a correct checksum correct. */
		if (r->held_csum_ok[rl->id])
			FUZZ_CHECK(packet_tcp_csum_ok(&p));
		ring_put(&r->delivered, &p, DIR_SERVER);
	}
	FUZZ_CHECK(!o->pass_on || (o->verdict == VERDICT_ACCEPT && !o->modified));
	FUZZ_CHECK(!o->reinject || (o->verdict == VERDICT_DROP && o->modified && !o->pass_on));
	if (o->offer) {
		r->have_offer = true;
		r->offer = o->offer_flow.key;
		r->offer_kf.seq_delta = o->offer_flow.seq_delta;
		r->offer_kf.ts_delta = o->offer_flow.ts_delta;
		FUZZ_CHECK(o->offer_flow.state == FLOW_ESTABLISHED);
	}
}

static void tick(struct run *r)
{
	int loops = 0;
	bool more;

	do {
		more = engine_tick(r->e, r->now, &r->out);
		check_out(r, true);
		check_gauges(r);
		FUZZ_CHECK(++loops < TICK_LOOPS);
	} while (more);
}

/* Hands one packet to the engine and checks everything it says. */
static void feed(struct run *r, const uint8_t *data, uint32_t len)
{
	static uint8_t buf[PKT_MAX], before[PKT_MAX];
	struct icmp_err ie;
	struct pkt p;
	bool parsed, csum_ok, icmp, icmp_csum;
	uint32_t id = r->next_id++;

	if (id >= MAX_IDS)
		return;
	memcpy(buf, data, len);
	memcpy(before, data, len);
	parsed = packet_parse(&p, buf, len) == PKT_OK;
	csum_ok = parsed && packet_tcp_csum_ok(&p);
	icmp = icmp_parse(buf, len, &ie) == ICMP_OK;
	icmp_csum = icmp && icmp_csum_ok(buf, &ie);
	r->meta.id = id;
	engine_input(r->e, buf, len, &r->meta, r->now, &r->out);
	/* Only an ICMP error's quote is rewritten outside TCP, and its
	 * checksum stays as right as it was. */
	if (!parsed && r->out.modified) {
		FUZZ_CHECK(icmp && (r->out.verdict == VERDICT_ACCEPT || r->out.reinject));
		FUZZ_CHECK(icmp_csum_ok(buf, &ie) == icmp_csum);
		FUZZ_CHECK(r->out.reason == CNT_icmp_to_backend ||
			   r->out.reason == CNT_icmp_to_client);
	}
	if (r->out.verdict == VERDICT_HOLD) {
		FUZZ_CHECK(parsed);
		r->ids[id] = ID_HELD;
		r->held_csum_ok[id] = csum_ok;
		r->held++;
	}
	check_out(r, false);
	if (!r->out.modified)
		FUZZ_CHECK(memcmp(buf, before, len) == 0);
	if (parsed) {
		struct pkt q;

		ring_put(&r->sent, &p, r->out.dir == DIR_SERVER ? DIR_CLIENT : DIR_SERVER);
		if (r->out.verdict == VERDICT_ACCEPT) {
			FUZZ_CHECK(packet_parse(&q, buf, len) == PKT_OK);
			if (csum_ok && !r->meta.csum_unverified)
				FUZZ_CHECK(packet_tcp_csum_ok(&q));
			ring_put(&r->delivered, &q,
				 r->out.dir == DIR_SERVER ? DIR_CLIENT : DIR_SERVER);
		}
	}
	check_gauges(r);
}

/* Builds a segment from s (src/dst swapped when reply) with fuzzed flags,
 * offsets, options and payload, then feeds it. */
static void build_and_feed(struct run *r, const struct seen *s, bool reply)
{
	static uint8_t buf[PKT_MAX];
	const struct pkt *o = &s->p;
	uint8_t flags = take8(r), optbits = take8(r), dseq = take8(r), dack = take8(r);
	uint8_t win = take8(r), plen = take8(r);
	uint32_t seglen = o->paylen + !!(o->flags & TCPH_SYN) + !!(o->flags & TCPH_FIN);
	struct tcpopt opt = { 0 };
	struct seg sg = { 0 };
	struct pkt p;
	size_t len;

	if (reply) {
		sg.src = o->dst;
		sg.dst = o->src;
		sg.sport = o->dport;
		sg.dport = o->sport;
		sg.seq = o->ack + (uint32_t)(int8_t)dseq;
		sg.ack = o->seq + seglen + (uint32_t)(int8_t)dack;
	} else {
		sg.src = o->src;
		sg.dst = o->dst;
		sg.sport = o->sport;
		sg.dport = o->dport;
		sg.seq = o->seq + seglen + (uint32_t)(int8_t)dseq;
		sg.ack = o->ack + (uint32_t)(int8_t)dack;
	}
	sg.flags = flags;
	sg.win = (uint16_t)(win << 8 | win);
	sg.tos = optbits & 0x80 ? 0x02 : 0;
	opt.have = optbits & (TO_MSS | TO_WSCALE | TO_SACKOK | TO_TS);
	opt.mss = 1200 + 16 * (optbits >> 5);
	opt.wscale = (optbits >> 4) & 0x0f;
	opt.tsval = (uint32_t)r->now * 7 + 1000;
	opt.tsecr = s->ts ? s->tsval : 0;
	sg.opt = opt.have ? &opt : NULL;
	len = packet_build(buf, sizeof(buf), &sg);
	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(packet_parse(&p, buf, (uint32_t)len) == PKT_OK);
	/* SACK blocks (packet_build writes none) fill the room left. */
	if ((optbits & 0x10) && p.doff <= 60 - 12) {
		unsigned room = (60 - p.doff - 4) / 8, n = room > 2 ? 2 : room;
		uint8_t *tcp = buf + p.l4off, *sk;
		size_t hdr = p.doff + 4 + 8 * n;

		memmove(tcp + hdr, tcp + p.doff, len - p.l4off - p.doff);
		sk = tcp + p.doff;
		sk[0] = TCPOPT_NOP;
		sk[1] = TCPOPT_NOP;
		sk[2] = TCPOPT_SACK;
		sk[3] = (uint8_t)(2 + 8 * n);
		for (unsigned i = 0; i < n; i++) {
			put_be32(sk + 4 + 8 * i, sg.ack + 100 + 1000 * i);
			put_be32(sk + 8 + 8 * i, sg.ack + 600 + 1000 * i);
		}
		tcp[12] = (uint8_t)((hdr / 4) << 4);
		len += hdr - p.doff;
	}
	/* Payload: ASCII so that a human reading a reproducer sees it. */
	memset(buf + len, 'a' + (plen & 7), plen);
	len += plen;
	if (buf[0] >> 4 == 4)
		put_be16(buf + 2, (uint16_t)len);
	else
		put_be16(buf + 4, (uint16_t)(len - 40));
	FUZZ_CHECK(packet_parse(&p, buf, (uint32_t)len) == PKT_OK);
	packet_tcp_csum_fix(&p);
	if (dack == 0x7f)
		buf[len - 1] ^= 1;  /* a wrong checksum now and then */
	feed(r, buf, (uint32_t)len);
}

/* An ICMP error (type, code and quote length fuzzed) from a router, to
 * the sender of a segment that was let through, quoting that segment
 * (its header, as packet_build makes it), then fed. */
static void icmp_feed(struct run *r)
{
	static const uint8_t types4[] = { 3, 11, 12, 8 }, types6[] = { 1, 2, 3, 4, 128 };
	static uint8_t buf[PKT_MAX];
	uint8_t sel = take8(r), type = take8(r), code = take8(r), qlen = take8(r);
	const struct seen *s = ring_find(&r->delivered, sel & 0x80 ? DIR_SERVER : DIR_CLIENT,
					 sel & 3);
	struct seg sg = { 0 };
	uint8_t q[PACKET_BUILD_MAX];
	size_t qn, hl, n, i;
	uint32_t sum;
	bool v4;

	if (!s)
		return;
	sg.src = s->p.src;
	sg.dst = s->p.dst;
	sg.sport = s->p.sport;
	sg.dport = s->p.dport;
	sg.seq = s->p.seq;
	sg.ack = s->p.ack;
	sg.win = s->p.win;
	sg.flags = s->p.flags;
	qn = packet_build(q, sizeof(q), &sg);
	FUZZ_CHECK(qn > 0);
	v4 = q[0] >> 4 == 4;
	hl = v4 ? 20 : 40;
	if (qlen < qn)
		qn = qlen;
	n = hl + 8 + qn;
	memset(buf, 0, hl + 8);
	if (v4) {
		buf[0] = 0x45;
		put_be16(buf + 2, (uint16_t)n);
		buf[8] = 64;
		buf[9] = IPPROTO_ICMP_;
		memcpy(buf + 12, "\xc6\x33\x64\xfe", 4);   /* 198.51.100.254 */
		memcpy(buf + 16, q + 12, 4);
		buf[hl] = types4[type % sizeof(types4)];
	} else {
		buf[0] = 0x60;
		put_be16(buf + 4, (uint16_t)(n - 40));
		buf[6] = IPPROTO_ICMPV6_;
		buf[7] = 64;
		memcpy(buf + 8, q + 24, 16);
		buf[23] ^= 0xfe;                               /* a router next to it */
		memcpy(buf + 24, q + 8, 16);
		buf[hl] = types6[type % sizeof(types6)];
	}
	buf[hl + 1] = code % 16;
	put_be32(buf + hl + 4, 1280);
	memcpy(buf + hl + 8, q, qn);
	/* Checksums by plain addition, as the fuzzer's own reference. */
	sum = v4 ? 0 : IPPROTO_ICMPV6_ + (uint32_t)(n - hl);
	if (!v4)
		for (i = 8; i < 40; i += 2)
			sum += get_be16(buf + i);
	for (i = hl; i < n; i += 2)
		sum += (uint32_t)buf[i] << 8 | (i + 1 < n ? buf[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put_be16(buf + hl + 2, (uint16_t)~sum);
	if (v4) {
		for (sum = 0, i = 0; i < 20; i += 2)
			sum += get_be16(buf + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put_be16(buf + 10, (uint16_t)~sum);
	}
	if (code & 0x80)
		buf[n - 1] ^= 1;  /* a wrong checksum now and then */
	feed(r, buf, (uint32_t)n);
}

/* The kernel fast path of a fuzzed run: it translates the flow offered
 * last, with its offsets. */
static bool fuzz_kernel(void *ctx, const struct conn_key *k, struct engine_kernel_flow *kf)
{
	const struct run *r = ctx;

	if (!r->have_offer || !conn_key_eq(k, &r->offer))
		return false;
	*kf = r->offer_kf;
	return true;
}

/* A replay corpus packet with up to 8 byte flips; bit 7 of the count byte
 * asks for the checksums to be made right again. */
static void corpus_feed(struct run *r)
{
	static uint8_t buf[PKT_MAX];
	uint8_t idx = take8(r), nmut = take8(r);
	uint32_t len;
	struct pkt p;

	if (REPLAY_NPKTS == 0)
		return;
	len = replay_pkts[idx % REPLAY_NPKTS].len;
	memcpy(buf, replay_pkts[idx % REPLAY_NPKTS].data, len);
	for (unsigned i = 0; i < (nmut & 7u); i++) {
		uint8_t off = take8(r), x = take8(r);

		buf[off % len] ^= x;
	}
	if ((nmut & 0x80) && packet_parse(&p, buf, len) == PKT_OK)
		packet_tcp_csum_fix(&p);
	feed(r, buf, len);
}

static void script_step(struct run *r)
{
	uint8_t op = take8(r), sel;
	const struct seen *s;

	switch (op % 8) {
	case 0:
	case 1:
		corpus_feed(r);
		break;
	case 2:     /* answer the latest packet that went toward a side */
	case 3:
		sel = take8(r);
		s = ring_find(&r->delivered, sel & 0x80 ? DIR_SERVER : DIR_CLIENT, sel & 3);
		if (s)
			build_and_feed(r, s, true);
		break;
	case 4:     /* the same sender again, after its last segment */
		sel = take8(r);
		s = ring_find(&r->sent, sel & 0x80 ? DIR_SERVER : DIR_CLIENT, sel & 3);
		if (s)
			build_and_feed(r, s, false);
		break;
	case 5:     /* an ICMP error about a flow, the offer taken, or what the
		     * kernel saw of it */
		if ((op & 0xe0) == 0xe0) {
			icmp_feed(r);
			break;
		}
		if (r->have_offer && !(op & 0x80))
			(void)engine_offloaded(r->e, &r->offer, op & 0x40, r->now);
		else if (r->have_offer)
			engine_kernel_event(r->e, &r->offer, op & 0x40,
					    (enum engine_kstate)((op >> 3) % 5), r->now, &r->out);
		if (r->have_offer && (op & 0x80))
			check_out(r, true);
		check_gauges(r);
		break;
	case 6:
		engine_set_policy(r->e, op & 0x80 ? &pol_b : &pol_a);
		break;
	case 7: {   /* a raw packet */
		static uint8_t buf[PKT_MAX];
		uint8_t l = take8(r);

		if (take(r, buf, l) && l > 0)
			feed(r, buf, l);
		break;
	}
	}
}

static void raw_step(struct run *r)
{
	static uint8_t buf[PKT_MAX];
	uint8_t lb[2];
	uint32_t len;

	if (!take(r, lb, 2))
		return;
	len = get_be16(lb);
	if (len > r->left)
		len = (uint32_t)r->left;
	take(r, buf, len);
	if (len > 0)
		feed(r, buf, len);
}

static void walk_fn(const struct flow_info *fi, void *ctx)
{
	FUZZ_CHECK(fi->state >= FLOW_HALF_OPEN && fi->state <= FLOW_TIME_WAIT);
	++*(uint32_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	uint32_t walked = 0, flushes = 0;
	struct engine_gauges g;
	uint8_t mode;
	bool more;

	if (size < 1)
		return 0;
	if (!pols_built)
		policies_build();
	memset(&r, 0, sizeof(r));
	mode = data[0];
	r.in = data + 1;
	r.left = size - 1;
	r.meta.csum_unverified = mode & 0x10;
	if (mode & 0x20) {
		r.meta.kernel_flow = fuzz_kernel;
		r.meta.kernel_ctx = &r;
	}
	r.meta.pass_on = mode & 0x40;
	r.now = 1000000;
	config_build(&r.cfg, mode);
	r.e = engine_new(&r.cfg, &pol_a, secret, r.now);
	FUZZ_CHECK(r.e != NULL);

	while (r.left > 0) {
		if (mode & 1)
			script_step(&r);
		else
			raw_step(&r);
		r.now += time_step(take8(&r));
		tick(&r);
	}
	engine_walk(r.e, r.now, walk_fn, &walked);
	engine_gauges(r.e, &g);
	FUZZ_CHECK(walked >= g.flows_active);
	do {
		more = engine_flush(r.e, &r.out);
		check_out(&r, true);
		FUZZ_CHECK(++flushes < TICK_LOOPS);
	} while (more);
	/* Every held packet got exactly one late verdict. */
	FUZZ_CHECK(r.held == 0);
	check_gauges(&r);
	engine_free(r.e);
	return 0;
}
