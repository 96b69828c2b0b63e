/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The packet-filter rules as text for iptables-restore --noflush: what
 * to install for a configuration, and what removes it.  Pure text, no
 * system call (test_rules.c reads it); rules_apply.c runs the tools.
 *
 * Layout.  Everything lives in synproxyd's own chains, each entered by one
 * jump inserted at position 1 of a built-in chain:
 *
 *   raw    OUTPUT  -> SYNPROXYD-RAW   the daemon's own packets (its mark) are
 *                                     not tracked: they must not create
 *                                     conntrack entries
 *   filter FORWARD -> SYNPROXYD       gateway mode, both directions
 *   filter INPUT   -> SYNPROXYD-IN    local mode, client -> server
 *   filter OUTPUT  -> SYNPROXYD-OUT   local mode, server -> client
 *
 * Per rule of the family: "proxy" and "reset" queue both directions of the
 * protected service (-d DST --dports to the server, -s DST --sports back)
 * to NFQUEUE, skipping packets that carry the daemon's mark; "drop" drops
 * the client -> server direction in the kernel, as the daemon would; and
 * "accept" needs nothing, the packets return to the built-in chain and the
 * host's own firewall decides.  --queue-balance hashes both directions of a
 * flow to the same queue, so one worker sees the whole connection.
 *
 * Failing closed.  The queues never fail open (nfq.c), and a packet with
 * SYN set toward a protected server never carries --queue-bypass: with
 * queue.bypass the client direction is two lines, SYNs first without it.
 * So whatever the load, and whether or not a daemon listens, a SYN reaches
 * the server only as the daemon's own, sent after a completed handshake.
 *
 * Kernel fast path (fastpath != off, and only for a family with queued
 * rules).  Once the daemon has handed a flow to conntrack, the kernel
 * translates it and its packets must stop reaching the queue:
 *
 *   -A SYNPROXYD -p tcp -m tcp --tcp-flags SYN NONE -m connmark --mark MARK
 *      -m conntrack --ctstate ESTABLISHED -j ACCEPT
 *                                     first in each chain holding queue rules
 *   :SYNPROXYD-TS, -p tcp -j SYNPROXY a chain nothing jumps to
 *
 * Why the connection mark: conntrack also calls ESTABLISHED the entries it
 * makes by itself (it picks up a connection from a mid-stream ACK, and it
 * sees both directions of every proxied flow, offloaded or not).  Those
 * entries carry no sequence adjustment; accepting their packets would let
 * them through untranslated.  fastpath.c puts MARK (the same value as the
 * packet mark, so one setting names everything synproxyd owns) on the
 * entries it creates, and only those skip the queue.  INVALID packets are
 * never accepted here: they carry no entry, so no translation either.
 *
 * Why not SYNs: conntrack lets a SYN on an entry it holds as ESTABLISHED
 * through as ESTABLISHED (it ignores it, then resynchronises on the
 * answering SYN-ACK).  An entry that outlived its connection would thus
 * hand a new connection on the same tuple straight to the backend, past
 * the proxy, with the old connection's offsets.  SYNs and SYN-ACKs always
 * reach the daemon, which removes such an entry when it makes the new flow
 * (engine_out.forget).
 * The conntrack and connmark matches also keep conntrack active in the
 * namespace, which the fast path needs.
 *
 * ICMP errors (every family with queued rules): destination unreachable,
 * time exceeded and parameter problem (ICMPv6: and packet too big) go to
 * the first queue, whatever their addresses, after the rules' lines:
 *
 *   -A SYNPROXYD -p icmp -m icmp --icmp-type 3 -m mark ! --mark MARK
 *      -j NFQUEUE --queue-num N --queue-bypass
 *
 * A router quotes a proxied segment as it left the proxy, in the wrong
 * sequence space for the host the error goes to, and conntrack's seqadj
 * does not rewrite quotes, so the daemon translates them (core/icmp.c);
 * path MTU discovery depends on it.  An error toward a client carries the
 * client's address, which no rule names, so the lines name none; other
 * ICMP (echo and the like) is not queued.  The first queue, because the
 * kernel's --queue-balance hash of an error (a router's address, protocol
 * ICMP) says nothing of its flow's queue: a worker that does not hold the
 * flow hands the error to the next queue (worker.c).  --queue-bypass,
 * because an error about anything else must not depend on the daemon
 * running: without one, errors pass as they would without these lines.
 * With the fast path, the daemon's own ICMP packets are not tracked either
 * (a second raw rule): it sends an error toward the backend about an
 * offloaded flow anew, since conntrack would apply the flow's sequence
 * adjustment to the queued one as if it were TCP (core/icmp.c); the mark
 * keeps it from being queued again in local mode, where it loops back.
 *
 * Why the dormant SYNPROXY rule: the kernel rewrites timestamps for the
 * synproxy extension of an entry only from hooks that the SYNPROXY target
 * registers when a rule using it is loaded; the rule itself never sees a
 * packet.  Removing the rules therefore stops timestamp translation of
 * offloaded flows, and a restart reinstalls them (rules_install). */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "rules.h"
#include "rules_int.h"

/* The kernel's xt_multiport takes at most 15 ports per rule. */
#define MULTIPORT_MAX 15

/* Writes p's addresses of family f as "addr/len" into buf, or "" for the
 * whole family (iptables-save omits such a match); false when p holds
 * none.  IPv4 lives in ::ffff:0:0/96, so a prefix of 96 bits or
 * fewer that covers it (::/0) holds every IPv4 address, and only a prefix
 * inside it holds no IPv6 address. */
static bool prefix_text(const struct prefix *p, enum rules_family f, char *buf, size_t size)
{
	static const uint8_t v4any[16] = { [10] = 0xff, [11] = 0xff };
	struct addr any;
	char a[INET6_ADDRSTRLEN];
	unsigned len = p->len;

	memcpy(any.a, v4any, sizeof(any.a));
	if (f == RULES_IPV4) {
		if (len <= 96) {
			if (!prefix_contains(p, &any))
				return false;
			buf[0] = '\0';
			return true;
		}
		if (!addr_is_v4(&p->addr))
			return false;
		inet_ntop(AF_INET, p->addr.a + 12, a, sizeof(a));
		snprintf(buf, size, "%s/%u", a, len - 96);
		return true;
	}
	if (len >= 96 && addr_is_v4(&p->addr))
		return false;
	inet_ntop(AF_INET6, p->addr.a, a, sizeof(a));
	if (len == 0)
		buf[0] = '\0';
	else
		snprintf(buf, size, "%s/%u", a, len);
	return true;
}

bool rules_have(const struct conf *c, enum rules_family f, unsigned mask)
{
	char buf[INET6_ADDRSTRLEN + 8];
	uint32_t i;

	for (i = 0; i < c->policy.nrules; i++) {
		const struct rule *r = &c->policy.rules[i];

		if ((mask & (1u << r->action)) && prefix_text(&r->dst, f, buf, sizeof(buf)))
			return true;
	}
	return false;
}

static const char *action_name(enum rule_action a)
{
	switch (a) {
	case RULE_PROXY:
		return "proxy";
	case RULE_RESET:
		return "reset";
	case RULE_ACCEPT:
		return "accept";
	case RULE_DROP:
		return "drop";
	}
	return "?";
}

/* Writes the NFQUEUE target with its options; bypass adds --queue-bypass. */
static void print_queue(const struct conf *c, bool bypass, FILE *out)
{
	if (c->queue.count > 1)
		fprintf(out, " -j NFQUEUE --queue-balance %u:%u", (unsigned)c->queue.num,
			(unsigned)c->queue.num + c->queue.count - 1);
	else
		fprintf(out, " -j NFQUEUE --queue-num %u", (unsigned)c->queue.num);
	if (bypass)
		fputs(" --queue-bypass", out);
	fputc('\n', out);
}

/* Writes the lines of one direction of rule r: "to" the server (-d, dports)
 * or from it (-s, sports), ports split by MULTIPORT_MAX; syn_only adds a
 * match for packets with SYN set, and bypass --queue-bypass.  The options
 * are in the order iptables-save prints them, so both texts compare. */
static void print_lines(const struct conf *c, const struct rule *r, const char *dst,
			const char *chain, bool to_server, bool syn_only, bool bypass, FILE *out)
{
	unsigned first = 0, i;

	do {
		fprintf(out, "-A %s", chain);
		if (dst[0] != '\0')
			fprintf(out, " %s %s", to_server ? "-d" : "-s", dst);
		fputs(" -p tcp", out);
		if (syn_only)
			fputs(" -m tcp --tcp-flags SYN SYN", out);
		if (r->nports > 0) {
			unsigned end = first + MULTIPORT_MAX;

			if (end > r->nports)
				end = r->nports;
			fprintf(out, " -m multiport %s ", to_server ? "--dports" : "--sports");
			for (i = first; i < end; i++)
				fprintf(out, "%s%u", i > first ? "," : "", (unsigned)r->ports[i]);
			first = end;
		}
		if (r->action == RULE_DROP) {
			fputs(" -j DROP\n", out);
		} else {
			fprintf(out, " -m mark ! --mark 0x%" PRIx32, c->mark);
			print_queue(c, bypass, out);
		}
	} while (first < r->nports);
}

/* Writes one direction of rule r.  A packet with SYN set toward a
 * protected server never bypasses the queue: with queue.bypass the client
 * direction gets a line of its own for SYNs, without --queue-bypass,
 * ahead of the line that bypasses, so that a SYN reaches the server only
 * as the daemon's own, whether or not a daemon listens. */
static void print_direction(const struct conf *c, const struct rule *r, const char *dst,
			    const char *chain, bool to_server, FILE *out)
{
	bool bypass = c->queue.bypass && r->action != RULE_DROP;

	if (bypass && to_server)
		print_lines(c, r, dst, chain, to_server, true, false, out);
	print_lines(c, r, dst, chain, to_server, false, bypass, out);
}

/* True when c uses the kernel fast path for family f. */
static bool fast_path(const struct conf *c, enum rules_family f)
{
	return c->fastpath != CONF_FASTPATH_OFF && rules_have(c, f, QUEUED);
}

/* Writes the lines queueing the ICMP errors of family f to the first
 * queue, in chain ch (see the design comment). */
static void print_icmp(const struct conf *c, enum rules_family f, int ch, FILE *out)
{
	static const unsigned types4[] = { 3, 11, 12 }, types6[] = { 1, 2, 3, 4 };
	const unsigned *t = f == RULES_IPV4 ? types4 : types6;
	size_t n = f == RULES_IPV4 ? sizeof(types4) / sizeof(*t) : sizeof(types6) / sizeof(*t);

	fputs("# ICMP errors: their quotes translated (path MTU discovery)\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "-A %s %s %u -m mark ! --mark 0x%" PRIx32
			" -j NFQUEUE --queue-num %u --queue-bypass\n", CHAINS[ch].name,
			f == RULES_IPV4 ? "-p icmp -m icmp --icmp-type" :
					  "-p ipv6-icmp -m icmp6 --icmpv6-type",
			t[i], c->mark, (unsigned)c->queue.num);
}

/* Writes the accept rule for offloaded flows at the head of chain ch. */
static void print_offloaded(const struct conf *c, int ch, FILE *out)
{
	fprintf(out, "-A %s -p tcp -m tcp --tcp-flags SYN NONE -m connmark --mark 0x%" PRIx32
		" -m conntrack --ctstate ESTABLISHED -j ACCEPT\n", CHAINS[ch].name, c->mark);
}

static void print_chain_head(FILE *out, int ch)
{
	fprintf(out, ":%s - [0:0]\n", CHAINS[ch].name);
}

static void print_jump(FILE *out, int ch)
{
	fprintf(out, "-I %s 1 -j %s\n", CHAINS[ch].builtin, CHAINS[ch].name);
}

static int finish(FILE *out)
{
	if (fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}

int rules_print(const struct conf *c, enum rules_family f, FILE *out)
{
	bool gateway = c->mode == CONF_MODE_GATEWAY;
	int to_ch = gateway ? CH_FORWARD : CH_IN, from_ch = gateway ? CH_FORWARD : CH_OUT;
	char dst[INET6_ADDRSTRLEN + 8];
	uint32_t i;

	assert(f == RULES_IPV4 || f == RULES_IPV6);
	fprintf(out, "# synproxyd: %s rules, %s mode, for %s --noflush\n", FAMILY_NAME[f],
		gateway ? "gateway" : "local", TOOL_RESTORE[f]);

	fputs("*raw\n", out);
	print_chain_head(out, CH_RAW);
	print_jump(out, CH_RAW);
	if (rules_have(c, f, QUEUED))
		fprintf(out, "-A %s -p tcp -m mark --mark 0x%" PRIx32 " -j CT --notrack\n",
			CHAINS[CH_RAW].name, c->mark);
	if (fast_path(c, f))
		fprintf(out, "-A %s -p %s -m mark --mark 0x%" PRIx32 " -j CT --notrack\n",
			CHAINS[CH_RAW].name, f == RULES_IPV4 ? "icmp" : "ipv6-icmp", c->mark);
	fputs("COMMIT\n", out);

	fputs("*filter\n", out);
	print_chain_head(out, to_ch);
	if (from_ch != to_ch)
		print_chain_head(out, from_ch);
	if (fast_path(c, f))
		print_chain_head(out, CH_TS);
	print_jump(out, to_ch);
	if (from_ch != to_ch)
		print_jump(out, from_ch);
	if (fast_path(c, f)) {
		fputs("# kernel fast path: offloaded flows skip the queue\n", out);
		print_offloaded(c, to_ch, out);
		if (from_ch != to_ch)
			print_offloaded(c, from_ch, out);
		fprintf(out, "-A %s -p tcp -j SYNPROXY --sack-perm --timestamp --wscale 7 "
			"--mss 1460\n", CHAINS[CH_TS].name);
	}
	for (i = 0; i < c->policy.nrules; i++) {
		const struct rule *r = &c->policy.rules[i];

		if (!prefix_text(&r->dst, f, dst, sizeof(dst)))
			continue;
		fprintf(out, "# rule %s: %s%s\n", r->name, action_name(r->action),
			r->action == RULE_ACCEPT ? ", nothing to queue" : "");
		if (r->action == RULE_ACCEPT)
			continue;
		print_direction(c, r, dst, CHAINS[to_ch].name, true, out);
		if (r->action != RULE_DROP)
			print_direction(c, r, dst, CHAINS[from_ch].name, false, out);
	}
	if (rules_have(c, f, QUEUED))
		print_icmp(c, f, to_ch, out);
	fputs("COMMIT\n", out);
	return finish(out);
}

int rules_print_remove(const struct conf *c, enum rules_family f, FILE *out)
{
	bool gateway = c->mode == CONF_MODE_GATEWAY;

	assert(f == RULES_IPV4 || f == RULES_IPV6);
	fputs("*raw\n", out);
	fprintf(out, "-D %s -j %s\n", CHAINS[CH_RAW].builtin, CHAINS[CH_RAW].name);
	print_drop_chain(out, CH_RAW);
	fputs("COMMIT\n*filter\n", out);
	if (gateway) {
		fprintf(out, "-D %s -j %s\n", CHAINS[CH_FORWARD].builtin, CHAINS[CH_FORWARD].name);
		print_drop_chain(out, CH_FORWARD);
	} else {
		fprintf(out, "-D %s -j %s\n", CHAINS[CH_IN].builtin, CHAINS[CH_IN].name);
		fprintf(out, "-D %s -j %s\n", CHAINS[CH_OUT].builtin, CHAINS[CH_OUT].name);
		print_drop_chain(out, CH_IN);
		print_drop_chain(out, CH_OUT);
	}
	if (fast_path(c, f))
		print_drop_chain(out, CH_TS);
	fputs("COMMIT\n", out);
	return finish(out);
}
