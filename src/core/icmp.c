/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ICMP and ICMPv6 errors about spliced flows: path MTU discovery
 * (RFC 1191, RFC 8201) and the other errors a TCP sender listens to
 * (RFC 5927), through a proxy that gives each leg its own sequence space.
 *
 * Sequence spaces (splice.c): the backend's SYN carries the client's own
 * ISN, so the client's numbers are the same on both legs; only the
 * server's move, by delta = iss - bis (our ISN minus the backend's), and
 * its timestamps by tsoff.  A router quotes a segment as it left the
 * proxy, i.e. already translated for the leg it was on:
 *   - an error toward the backend (a router between the proxy and the
 *     client) quotes a server -> client segment with seq + delta and
 *     TSval + tsoff, its window rescaled; its ack and TSecr are the
 *     client's numbers, the same on both legs.  Linux ignores an error
 *     whose quoted seq is outside snd_una..snd_nxt (TcpExtOutOfWindowIcmps),
 *     so untranslated it is lost, and with it path MTU discovery: the
 *     backend keeps sending segments the path drops.  We undo fl_s2c:
 *     seq - delta, TSval - tsoff, the window scaled back.
 *   - an error toward the client (a router between the proxy and the
 *     backend) quotes a client -> server segment whose seq is the client's
 *     own (so its stack takes it even untranslated) but whose ack, SACK
 *     blocks and TSecr are in the backend's space (ack - delta).  We undo
 *     fl_c2s, so the quote is the segment the client sent.
 * The quoted TCP checksum, when quoted, is updated with the fields (a
 * quote that cuts the options keeps in it their part of the proxy's
 * change: no stack checks a quote's checksum, which seldom covers the
 * whole segment), and the outer checksum (ICMPv6's covers a
 * pseudo-header that does not change) by the difference of the
 * rewritten bytes (RFC 1624), so a wrong one stays wrong.  The quoted IP header is left as it is: the
 * proxy changes none of it but the ECN field of a client segment to a
 * backend that declined ECN, which no stack checks in a quote.
 *
 * Offloaded flows: conntrack's seqadj rewrites segments but not the
 * headers ICMP errors quote, so these come to the queue too.  While the
 * engine still holds the flow (while its conntrack entry lives; without
 * conntrack events, for rst_grace after the offload) its own
 * translation applies, without the window check below (what it tracks
 * stopped moving when the kernel took over); once it has forgotten the
 * flow, the caller asks conntrack (engine_meta.kernel_flow) for the
 * entry's offsets.  Worse, conntrack calls an error toward the backend
 * RELATED to the entry (it travels the entry's original direction), and
 * at the end of the hooks (nf_confirm) applies the entry's sequence
 * adjustment to it as to a TCP segment: to the ICMP header and the quoted
 * IP header, whenever the bit that would be ACK is set (measured on
 * 6.18: the quoted IPv6 source address changed, the backend found no
 * socket for it).  Such an error therefore leaves as a packet of the
 * daemon's own, marked and untracked (engine_out.reinject), and the
 * queued one is dropped.  An error toward the client is RELATED_REPLY,
 * which nf_confirm leaves alone, and passes with its verdict.
 *
 * Several queues: the kernel spreads packets over the queues by a hash of
 * their addresses, so an error (a router's address, protocol ICMP) does
 * not land where its flow's segments do.  The rules send every error to
 * the first queue; an engine that does not hold the flow, when the kernel
 * does not translate it either, hands it to the next queue
 * (engine_out.pass_on), and the last one judges it.
 *
 * What happens to each error (counters in parentheses):
 *   - about a flow's segment: translated for its receiver and passed on
 *     (icmp_to_backend or icmp_to_client, and one of icmp_frag_needed,
 *     icmp_unreachable, icmp_time_exceeded, icmp_param_problem; toward
 *     the backend about an offloaded flow, sent anew); with offsets from
 *     conntrack also icmp_conntrack;
 *   - quoting a segment the flow never had in flight (for a userspace
 *     flow: a seq outside what the receiver sent and the other side has
 *     not acknowledged, the test Linux applies): dropped
 *     (icmp_out_of_window).  The receiver would drop it too; one that
 *     does not check would let a blind sender reset or stall the flow;
 *   - about our own SYN-ACK, or about our SYN to a backend: dropped
 *     (icmp_own_handshake); the backend never sent the first, and the
 *     second is retransmitted, except that a destination unreachable
 *     other than "fragmentation needed" refuses the backend's leg as
 *     before: the client gets an RST (backend_unreachable);
 *   - about a proxied service's tuple with no flow here or in the
 *     kernel: passed untouched (icmp_unknown_flow).  Nobody's numbers
 *     are ours to change, and it may belong to a connection the proxy
 *     does not translate (one adopted at start, one that predates the
 *     daemon); its receiver judges it as it would without a proxy;
 *   - with a wrong checksum, a quote too short to name a segment (less
 *     than 8 bytes of TCP, a non-first fragment), of the other IP
 *     family, or sent elsewhere than to the quoted segment's source:
 *     dropped (icmp_bad_quote), nobody could use it;
 *   - about anything else (another protocol, a tuple no rule names):
 *     passed untouched (parse_not_tcp, no_rule).
 * Errors change no flow's state (but the backend SYN's above) and refresh
 * no timer, so a forged one can at most reach its receiver with the
 * numbers it would have had without the proxy. */
#include <assert.h>
#include <string.h>

#include "icmp.h"

#include "bytes.h"
#include "csum.h"
#include "engine_int.h"
#include "packet.h"
#include "seq.h"
#include "translate.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define ICMP_HLEN 8
#define TCP_QUOTE_MIN 8      /* ports and sequence number (RFC 792) */
#define TCP_HDR_MAX 60
#define IP4_MF 0x2000
#define IP4_OFFMASK 0x1fff

#define ICMP4_UNREACH 3
#define ICMP4_FRAG_NEEDED 4  /* its code */
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_PARAM_PROBLEM 12
#define ICMP6_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROBLEM 4

/* The kind of error type/code of a family; false for any other message. */
static bool kind_of(uint8_t family, uint8_t type, uint8_t code, enum icmp_kind *k)
{
	if (family == 4) {
		switch (type) {
		case ICMP4_UNREACH:
			*k = code == ICMP4_FRAG_NEEDED ? ICMP_KIND_FRAG : ICMP_KIND_UNREACH;
			return true;
		case ICMP4_TIME_EXCEEDED:
			*k = ICMP_KIND_TIME;
			return true;
		case ICMP4_PARAM_PROBLEM:
			*k = ICMP_KIND_PARAM;
			return true;
		}
		return false;
	}
	switch (type) {
	case ICMP6_UNREACH:
		*k = ICMP_KIND_UNREACH;
		return true;
	case ICMP6_PACKET_TOO_BIG:
		*k = ICMP_KIND_FRAG;
		return true;
	case ICMP6_TIME_EXCEEDED:
		*k = ICMP_KIND_TIME;
		return true;
	case ICMP6_PARAM_PROBLEM:
		*k = ICMP_KIND_PARAM;
		return true;
	}
	return false;
}

/* The outer header: sets the family, ie->end and ie->icmp_off of an
 * unfragmented ICMP or ICMPv6 packet; false for anything else. */
static bool outer(const uint8_t *d, uint32_t len, struct icmp_err *ie)
{
	if (len < 1)
		return false;
	if (d[0] >> 4 == 4) {
		uint32_t ihl, tot;

		if (len < IP4_HLEN)
			return false;
		ihl = (uint32_t)(d[0] & 0x0f) * 4;
		tot = get_be16(d + 2);
		if (ihl < IP4_HLEN || tot > len || tot < ihl || d[9] != IPPROTO_ICMP_ ||
		    (get_be16(d + 6) & (IP4_MF | IP4_OFFMASK)))
			return false;
		ie->family = 4;
		ie->end = tot;
		ie->icmp_off = ihl;
		addr_from_v4(&ie->src, d + 12);
		addr_from_v4(&ie->dst, d + 16);
		return true;
	}
	if (d[0] >> 4 == 6) {
		uint32_t plen, off;
		uint8_t nh;

		if (len < IP6_HLEN)
			return false;
		plen = get_be16(d + 4);
		if (plen == 0 || plen > len - IP6_HLEN)
			return false;
		ie->end = plen + IP6_HLEN;
		if (packet_ip6_walk(d, ie->end, &off, &nh) != PKT_OK || nh != IPPROTO_ICMPV6_)
			return false;
		ie->family = 6;
		ie->icmp_off = off;
		addr_from_v6(&ie->src, d + 8);
		addr_from_v6(&ie->dst, d + 24);
		return true;
	}
	return false;
}

/* The quoted packet, q[0..qlen): its TCP header's offset in q and the
 * bytes of it that belong to the quoted packet. */
static enum icmp_parse_result quoted(const uint8_t *q, uint32_t qlen, struct icmp_err *ie,
				     uint32_t *off, uint32_t *avail)
{
	uint32_t qend;

	if (ie->family == 4) {
		if (qlen < IP4_HLEN || q[0] >> 4 != 4)
			return ICMP_BAD;
		*off = (uint32_t)(q[0] & 0x0f) * 4;
		if (*off < IP4_HLEN || *off > qlen)
			return ICMP_BAD;
		if (q[9] != IPPROTO_TCP_)
			return ICMP_NOT_TCP;
		/* A non-first fragment quotes no TCP header. */
		if (get_be16(q + 6) & IP4_OFFMASK)
			return ICMP_BAD;
		qend = get_be16(q + 2);
		addr_from_v4(&ie->quote.caddr, q + 12);
		addr_from_v4(&ie->quote.saddr, q + 16);
	} else {
		uint8_t nh;

		if (qlen < IP6_HLEN || q[0] >> 4 != 6)
			return ICMP_BAD;
		if (packet_ip6_walk(q, qlen, off, &nh) != PKT_OK)
			return ICMP_BAD;
		if (nh != IPPROTO_TCP_)
			return ICMP_NOT_TCP;
		qend = IP6_HLEN + (uint32_t)get_be16(q + 4);
		addr_from_v6(&ie->quote.caddr, q + 8);
		addr_from_v6(&ie->quote.saddr, q + 24);
	}
	/* Bytes past the quoted packet's own length are not part of it. */
	if (qend > qlen)
		qend = qlen;
	if (qend < *off || qend - *off < TCP_QUOTE_MIN)
		return ICMP_BAD;
	*avail = qend - *off;
	return ICMP_OK;
}

enum icmp_parse_result icmp_parse(const uint8_t *data, uint32_t len, struct icmp_err *ie)
{
	const uint8_t *tcp;
	uint32_t off, avail, qoff;
	enum icmp_parse_result r;

	memset(ie, 0, sizeof(*ie));
	if (!outer(data, len, ie) || ie->end - ie->icmp_off < 1)
		return ICMP_NOT_ERROR;
	ie->type = data[ie->icmp_off];
	if (ie->end - ie->icmp_off < ICMP_HLEN) {
		/* Too short for its code: an error type is unreadable. */
		return kind_of(ie->family, ie->type, 0, &ie->kind) ? ICMP_BAD : ICMP_NOT_ERROR;
	}
	ie->code = data[ie->icmp_off + 1];
	if (!kind_of(ie->family, ie->type, ie->code, &ie->kind))
		return ICMP_NOT_ERROR;
	qoff = ie->icmp_off + ICMP_HLEN;
	r = quoted(data + qoff, ie->end - qoff, ie, &off, &avail);
	if (r != ICMP_OK)
		return r;
	ie->tcp_off = qoff + off;
	ie->tcp_len = avail;
	tcp = data + ie->tcp_off;
	if (avail > 12 && (tcp[12] >> 4) < 5)
		return ICMP_BAD;
	ie->quote.cport = get_be16(tcp);
	ie->quote.sport = get_be16(tcp + 2);
	ie->seq = get_be32(tcp + 4);
	ie->have_flags = avail > 13;
	ie->flags = ie->have_flags ? tcp[13] : 0;
	return ICMP_OK;
}

bool icmp_csum_ok(const uint8_t *data, const struct icmp_err *ie)
{
	uint32_t n = ie->end - ie->icmp_off, sum = 0;

	if (ie->family == 6) {
		uint8_t ph[8];

		sum = csum_add(0, data + 8, 32);
		put_be32(ph, n);
		ph[4] = ph[5] = ph[6] = 0;
		ph[7] = IPPROTO_ICMPV6_;
		sum = csum_add(sum, ph, sizeof(ph));
	}
	return csum_fold(csum_add(sum, data + ie->icmp_off, n)) == 0;
}

/* The one's complement sum of n bytes at d, folded (not complemented). */
static uint16_t sum16(const uint8_t *d, uint32_t n)
{
	return (uint16_t)~csum_fold(csum_add(0, d, n));
}

void icmp_translate(uint8_t *data, const struct icmp_err *ie, const struct xlate *x)
{
	uint8_t *tcp = data + ie->tcp_off, before[TCP_HDR_MAX];
	uint32_t n = ie->tcp_len < TCP_HDR_MAX ? ie->tcp_len : TCP_HDR_MAX;
	uint8_t *check = data + ie->icmp_off + 2;

	/* The quoted header starts an even number of bytes into the ICMP
	 * message (8 + an IP header of 4- or 8-byte units), so its bytes
	 * pair into the same 16-bit words as in the outer checksum. */
	assert((ie->tcp_off - ie->icmp_off) % 2 == 0 && ie->tcp_len >= TCP_QUOTE_MIN);
	memcpy(before, tcp, n);
	translate_quote(tcp, ie->tcp_len, x);
	put_be16(check, csum_update16(get_be16(check), sum16(before, n), sum16(tcp, n)));
}

/* ---- the engine's decisions ---- */

/* The counter of a translated error of kind k. */
static enum counter kind_counter(enum icmp_kind k)
{
	switch (k) {
	case ICMP_KIND_FRAG:
		return CNT_icmp_frag_needed;
	case ICMP_KIND_TIME:
		return CNT_icmp_time_exceeded;
	case ICMP_KIND_PARAM:
		return CNT_icmp_param_problem;
	case ICMP_KIND_UNREACH:
		break;
	}
	return CNT_icmp_unreachable;
}

/* The translation the kernel applies to a flow, as set_translation
 * (splice.c) would have made it: offloaded flows rescale no window. */
static void kernel_xlate(const struct engine_kernel_flow *kf, enum dir from, struct xlate *x)
{
	memset(x, 0, sizeof(*x));
	if (from == DIR_SERVER) {
		x->seq_add = kf->seq_delta;
		x->tsval_add = kf->ts_delta;
	} else {
		x->ack_add = 0u - kf->seq_delta;
		x->sack_add = 0u - kf->seq_delta;
		x->tsecr_add = 0u - kf->ts_delta;
	}
}

/* Rewrites the error's quote, a segment from side `from` that left the
 * proxy translated by x, back into the receiver's space, and passes it:
 * by its verdict, or, when the flow is on the kernel fast path and the
 * error goes to the backend, as the caller's own packet (see above). */
static void pass_translated(struct engine *e, uint8_t *data, const struct icmp_err *ie,
			    enum dir from, const struct xlate *x, bool kernel,
			    struct engine_out *out)
{
	struct xlate back;

	translate_invert(x, &back);
	icmp_translate(data, ie, &back);
	out->modified = true;
	count(e, kind_counter(ie->kind));
	out->reinject = kernel && from == DIR_SERVER;
	count_verdict(e, out, out->reinject ? VERDICT_DROP : VERDICT_ACCEPT,
		      from == DIR_SERVER ? CNT_icmp_to_backend : CNT_icmp_to_client);
}

/* Whether a quote from side `from` is one of our handshake segments: our
 * SYN-ACK to the client (seq = our ISN) or our SYN to the backend (seq =
 * the client's ISN); a quote with its flags says SYN outright (the
 * backend's SYN-ACK never passes the proxy, the client's SYN neither). */
static bool own_handshake(const struct flow *f, const struct icmp_err *ie, enum dir from)
{
	if (ie->have_flags && (ie->flags & TCPH_SYN))
		return true;
	return ie->seq == (from == DIR_SERVER ? f->fl_iss : f->fl_irs);
}

/* Whether the quoted segment is one the receiver may still have in
 * flight: its seq, in the receiver's own space, between what the other
 * side acknowledged and what the receiver sent (Linux's test in
 * tcp_v4_err and tcp_v6_err). */
static bool in_flight(const struct flow *f, const struct icmp_err *ie, enum dir from)
{
	if (from == DIR_SERVER)
		return seq_between(ie->seq - f->fl_s2c.seq_add, f->fl_c_ack, f->fl_s_nxt);
	return seq_between(ie->seq, f->fl_s_ack, f->fl_c_nxt);
}

/* An error about a tuple with no flow here. */
static void no_flow(struct engine *e, uint8_t *data, const struct icmp_err *ie,
		    const struct conn_key *k, enum dir from, const struct engine_meta *m,
		    struct engine_out *out)
{
	struct engine_kernel_flow kf;
	const struct syn_state *st;
	struct xlate x;

	/* A SYN-ACK of ours still in the SYN cache. */
	if (from == DIR_SERVER && e->sc && (st = syncache_lookup(e->sc, k)) &&
	    st->iss == ie->seq) {
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_own_handshake);
		return;
	}
	if (ie->have_flags && (ie->flags & TCPH_SYN)) {
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_own_handshake);
		return;
	}
	if (m && m->kernel_flow && m->kernel_flow(m->kernel_ctx, k, &kf)) {
		kernel_xlate(&kf, from, &x);
		count(e, CNT_icmp_conntrack);
		pass_translated(e, data, ie, from, &x, true, out);
		return;
	}
	if (m && m->pass_on) {
		out->pass_on = true;
		count_verdict(e, out, VERDICT_ACCEPT, CNT_icmp_passed_on);
		return;
	}
	count_verdict(e, out, VERDICT_ACCEPT, CNT_icmp_unknown_flow);
}

void icmp_input(struct engine *e, uint8_t *data, uint32_t len, const struct engine_meta *m,
		struct engine_out *out)
{
	struct icmp_err ie;
	struct conn_key k;
	enum dir from;
	struct flow *f;

	switch (icmp_parse(data, len, &ie)) {
	case ICMP_NOT_ERROR:
	case ICMP_NOT_TCP:
		count_verdict(e, out, VERDICT_ACCEPT, CNT_parse_not_tcp);
		return;
	case ICMP_BAD:
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_bad_quote);
		return;
	case ICMP_OK:
		break;
	}
	/* Which side sent the quoted segment: the error goes back to it. */
	if (policy_match(e->pol, &ie.quote.saddr, ie.quote.sport) >= 0) {
		from = DIR_CLIENT;
		k = ie.quote;
	} else if (policy_match_server(e->pol, &ie.quote.caddr, ie.quote.cport) >= 0) {
		from = DIR_SERVER;
		k.caddr = ie.quote.saddr;
		k.saddr = ie.quote.caddr;
		k.cport = ie.quote.sport;
		k.sport = ie.quote.cport;
	} else {
		count_verdict(e, out, VERDICT_ACCEPT, CNT_no_rule);
		return;
	}
	out->dir = from == DIR_CLIENT ? DIR_SERVER : DIR_CLIENT;
	if (!addr_eq(&ie.dst, &ie.quote.caddr) ||
	    (!(m && m->csum_unverified) && !icmp_csum_ok(data, &ie))) {
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_bad_quote);
		return;
	}
	f = flowtab_lookup(e->ft, &k);
	if (!f) {
		no_flow(e, data, &ie, &k, from, m, out);
		return;
	}
	if (f->fl_state == FLOW_BACKEND_SYN) {
		/* The server side is still the proxy itself. */
		if (from == DIR_CLIENT && ie.seq == f->fl_irs && ie.kind == ICMP_KIND_UNREACH) {
			splice_fail(e, out, f, CNT_backend_unreachable);
			set_verdict(out, VERDICT_DROP, CNT_backend_unreachable);
			return;
		}
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_own_handshake);
		return;
	}
	if (own_handshake(f, &ie, from)) {
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_own_handshake);
		return;
	}
	if (!(f->fl_flags & FL_OFFLOADED) && !in_flight(f, &ie, from)) {
		count_verdict(e, out, VERDICT_DROP, CNT_icmp_out_of_window);
		return;
	}
	pass_translated(e, data, &ie, from, from == DIR_SERVER ? &f->fl_s2c : &f->fl_c2s,
			f->fl_flags & FL_OFFLOADED, out);
}
