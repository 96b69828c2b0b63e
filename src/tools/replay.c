/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay: drives the engine from a pcap, with the pcap's
 * timestamps as the clock, and writes what the proxy would have let
 * through or sent (a LINKTYPE_RAW pcap) and a log of every decision.
 *
 * A capture records client and server talking directly, but the proxy
 * answers the client's SYN with its own ISN and TSval.  With mapping on
 * (the default) the tool therefore plays the part of both end hosts as
 * the proxy would see them:
 *   - the server's SYN-ACK (or its RST refusing the SYN) is held back
 *     until the engine has sent the backend its SYN (a real backend cannot
 *     answer earlier), then fed at the later of that moment and its own
 *     capture time; it moves the clock only then;
 *   - the client's later packets acknowledge the server's ISN B and echo
 *     its TSval Tb; they are rewritten to acknowledge the proxy's ISN P
 *     and echo its TSval Tp before they are fed, as the client would have
 *     done had it talked to the proxy.  A capture with no server SYN-ACK
 *     (the backend refused or never answered) still shows the client's
 *     ACK: its ack - 1 and TSecr stand for B and Tb.
 * Packets the engine emits are not fed back: the daemon sends them
 * through a marked raw socket that bypasses the queue.
 *
 * The secret defaults to 32 zero bytes so that two runs give the same
 * bytes (ISNs and cookies derive from it). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "addr.h"
#include "bytes.h"
#include "conf.h"
#include "counters.h"
#include "engine.h"
#include "packet.h"
#include "tcpopt.h"
#include "translate.h"

#define BUF_MAX 65600
#define LOG_PAYLOAD_MAX 40
#define CONN_BUCKETS 4096

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8

/* Link types seen in files for raw IP, whatever the platform's DLT_RAW. */
#define LT_RAW_101 101
#define LT_RAW_12 12
#define LT_RAW_14 14
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_SLL 113
#define LT_SLL2 276

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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: synproxy-replay -c CONFIG [--secret HEX64] [--no-map] [--drain SECONDS]\n"
		"                       [--explain] [-o OUT.pcap] [-l LOG] IN.pcap\n"
		"  -c, --config FILE   synproxyd.conf(5) file (rules and engine settings)\n"
		"      --secret HEX64  master secret (default: 32 zero bytes, for repeatable runs)\n"
		"      --no-map        feed the capture as is (no ISN/TS mapping, no deferral)\n"
		"      --drain SECONDS run the timers this long after the last packet\n"
		"      --explain       add a plain-words reading of handshake and teardown steps\n"
		"  -o, --output FILE   write what leaves the proxy (LINKTYPE_RAW pcap)\n"
		"  -l, --log FILE      log file ('-' or default: standard output)\n"
		"  -h, --help          this text\n");
}

static int parse_secret(const char *hex, uint8_t out[ENGINE_SECRET_LEN])
{
	if (strlen(hex) != 2 * ENGINE_SECRET_LEN)
		return -1;
	for (size_t i = 0; i < ENGINE_SECRET_LEN; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char ch = hex[2 * i + (size_t)k];
			unsigned d;
			if (ch >= '0' && ch <= '9')
				d = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				d = (unsigned)(ch - 'a' + 10);
			else if (ch >= 'A' && ch <= 'F')
				d = (unsigned)(ch - 'A' + 10);
			else
				return -1;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static double rel_time(const struct replay *r, uint64_t us)
{
	return (double)(int64_t)(us - r->first_us) / 1e6;
}

/* ---- lenient decoding for the log ---- */

static void fmt_endpoint(char *buf, size_t size, const struct addr *a, bool v6)
{
	char tmp[ADDR_STRLEN];
	addr_format(a, tmp, sizeof(tmp));
	snprintf(buf, size, v6 ? "[%s]" : "%s", tmp);
}

static void view_packet(struct view *v, const uint8_t *d, uint32_t len)
{
	uint32_t l4off, iplen;

	memset(v, 0, sizeof(*v));
	if (len < 1) {
		v->bad = "empty";
		return;
	}
	v->family = d[0] >> 4;
	if (v->family == 4) {
		if (len < 20) {
			v->bad = "truncated IPv4 header";
			return;
		}
		l4off = (uint32_t)(d[0] & 15) * 4;
		iplen = get_be16(d + 2);
		v->proto = d[9];
		addr_from_v4(&v->key.caddr, d + 12);
		addr_from_v4(&v->key.saddr, d + 16);
		if (l4off < 20 || l4off > len) {
			v->bad = "bad IPv4 header length";
			return;
		}
		if (iplen < l4off || iplen > len)
			iplen = len;
	} else if (v->family == 6) {
		uint8_t nh;
		if (len < 40) {
			v->bad = "truncated IPv6 header";
			return;
		}
		iplen = 40u + get_be16(d + 4);
		if (iplen > len)
			iplen = len;
		addr_from_v6(&v->key.caddr, d + 8);
		addr_from_v6(&v->key.saddr, d + 24);
		nh = d[6];
		l4off = 40;
		while (nh == 0 || nh == 43 || nh == 60) {
			if (l4off + 8 > iplen) {
				v->bad = "truncated extension header";
				return;
			}
			nh = d[l4off];
			l4off += 8u + 8u * d[l4off + 1];
		}
		v->proto = nh;
	} else {
		v->bad = "not IPv4 or IPv6";
		return;
	}
	fmt_endpoint(v->src, sizeof(v->src), &v->key.caddr, v->family == 6);
	fmt_endpoint(v->dst, sizeof(v->dst), &v->key.saddr, v->family == 6);
	if (v->proto != IPPROTO_TCP_) {
		v->bad = "not TCP";
		return;
	}
	if (l4off + 20 > iplen) {
		v->bad = "truncated TCP header";
		return;
	}
	v->sport = get_be16(d + l4off);
	v->dport = get_be16(d + l4off + 2);
	v->key.cport = v->sport;
	v->key.sport = v->dport;
	v->seq = get_be32(d + l4off + 4);
	v->ack = get_be32(d + l4off + 8);
	v->flags = d[l4off + 13];
	v->win = get_be16(d + l4off + 14);
	v->ok = true;
	uint32_t doff = (uint32_t)(d[l4off + 12] >> 4) * 4;
	if (doff < 20 || l4off + doff > iplen) {
		v->bad = "bad data offset";
		doff = 20;
	}
	v->opt = d + l4off + 20;
	v->optlen = doff - 20;
	v->payload = d + l4off + doff;
	v->paylen = iplen - l4off - doff;
}

static void fmt_flags(char *buf, uint8_t f)
{
	static const struct {
		uint8_t bit;
		char ch;
	} order[] = {
		{ TCPH_FIN, 'F' }, { TCPH_SYN, 'S' }, { TCPH_RST, 'R' }, { TCPH_PSH, 'P' },
		{ TCPH_ACK, '.' }, { TCPH_URG, 'U' }, { TCPH_ECE, 'E' }, { TCPH_CWR, 'W' },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (f & order[i].bit)
			buf[n++] = order[i].ch;
	if (n == 0) {
		strcpy(buf, "none");
		return;
	}
	buf[n] = 0;
}

/* Appends printf output to a fixed buffer, truncating silently. */
__attribute__((format(printf, 3, 4)))
static void cat(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;
	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

static void fmt_options(char *buf, size_t size, const uint8_t *o, uint32_t n)
{
	uint32_t i = 0;
	bool first = true;

	if (n == 0)
		return;
	cat(buf, size, " <");
	while (i < n) {
		uint8_t kind = o[i];
		uint32_t olen;
		if (!first)
			cat(buf, size, ",");
		first = false;
		if (kind == TCPOPT_EOL) {
			cat(buf, size, "eol");
			break;
		}
		if (kind == TCPOPT_NOP) {
			cat(buf, size, "nop");
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
			cat(buf, size, "[bad opt %u]", kind);
			break;
		}
		olen = o[i + 1];
		if (kind == TCPOPT_MSS && olen == 4) {
			cat(buf, size, "mss %u", get_be16(o + i + 2));
		} else if (kind == TCPOPT_WSCALE && olen == 3) {
			cat(buf, size, "wscale %u", o[i + 2]);
		} else if (kind == TCPOPT_SACKOK && olen == 2) {
			cat(buf, size, "sackOK");
		} else if (kind == TCPOPT_TS && olen == 10) {
			cat(buf, size, "TS %" PRIu32 ":%" PRIu32, get_be32(o + i + 2),
			    get_be32(o + i + 6));
		} else if (kind == TCPOPT_SACK && (olen - 2) % 8 == 0) {
			cat(buf, size, "sack %u", (olen - 2) / 8);
			for (uint32_t b = i + 2; b < i + olen; b += 8)
				cat(buf, size, " {%" PRIu32 ":%" PRIu32 "}", get_be32(o + b),
				    get_be32(o + b + 4));
		} else {
			cat(buf, size, "opt-%u:%u", kind, olen);
		}
		i += olen;
	}
	cat(buf, size, ">");
}

/* One packet in tcpdump's spirit: endpoints, flags, numbers, options. */
static void fmt_packet(char *buf, size_t size, const uint8_t *d, uint32_t len)
{
	struct view v;
	char fl[12];

	buf[0] = 0;
	view_packet(&v, d, len);
	if (!v.ok) {
		if (v.src[0])
			cat(buf, size, "%s > %s proto %u len=%" PRIu32 " [%s]", v.src, v.dst,
			    v.proto, len, v.bad);
		else
			cat(buf, size, "%" PRIu32 " bytes [%s]", len, v.bad);
		return;
	}
	fmt_flags(fl, v.flags);
	cat(buf, size, "%s:%u > %s:%u [%s] seq=%" PRIu32 " ack=%" PRIu32 " win=%u len=%" PRIu32,
	    v.src, v.sport, v.dst, v.dport, fl, v.seq, v.ack, v.win, v.paylen);
	fmt_options(buf, size, v.opt, v.optlen);
	if (v.bad)
		cat(buf, size, " [%s]", v.bad);
}

/* Finds the TS option's values; false when absent or malformed. */
static bool find_ts(const struct view *v, uint32_t *tsval, uint32_t *tsecr)
{
	struct tcpopt o;
	uint8_t hdr[60];

	if (!v->ok || v->optlen > 40)
		return false;
	memset(hdr, 0, 20);
	memcpy(hdr + 20, v->opt, v->optlen);
	if (tcpopt_parse(hdr, 20 + v->optlen, &o) != 0 || !(o.have & TO_TS))
		return false;
	*tsval = o.tsval;
	*tsecr = o.tsecr;
	return true;
}

/* ---- connections of the capture ---- */

static uint32_t key_hash(const struct conn_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *parts[2] = { k->caddr.a, k->saddr.a };
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	h = (h ^ k->cport) * 16777619u;
	h = (h ^ k->sport) * 16777619u;
	return h % CONN_BUCKETS;
}

static void key_reverse(struct conn_key *r, const struct conn_key *k)
{
	r->caddr = k->saddr;
	r->saddr = k->caddr;
	r->cport = k->sport;
	r->sport = k->cport;
}

static struct conn *conn_find(struct replay *r, const struct conn_key *k)
{
	for (uint32_t i = r->buckets[key_hash(k)]; i; i = r->conns[i].next)
		if (conn_key_eq(&r->conns[i].key, k))
			return &r->conns[i];
	return NULL;
}

static struct conn *conn_add(struct replay *r, const struct conn_key *k)
{
	struct conn *c;
	uint32_t h = key_hash(k);

	if (r->nconns + 1 >= r->capconns) {
		uint32_t cap = r->capconns ? r->capconns * 2 : 64;
		struct conn *n = realloc(r->conns, cap * sizeof(*n));
		if (!n) {
			fprintf(stderr, "synproxy-replay: out of memory\n");
			exit(1);
		}
		r->conns = n;
		r->capconns = cap;
		if (r->nconns == 0)
			r->nconns = 1;
	}
	c = &r->conns[r->nconns];
	memset(c, 0, sizeof(*c));
	c->key = *k;
	c->def_due_us = UINT64_MAX;
	c->next = r->buckets[h];
	r->buckets[h] = r->nconns++;
	return c;
}

/* The connection of a decoded packet and who sent it. */
static struct conn *conn_of(struct replay *r, const struct view *v, bool *from_client)
{
	struct conn_key rk;
	struct conn *c;

	if (!v->ok)
		return NULL;
	c = conn_find(r, &v->key);
	if (c) {
		*from_client = true;
		return c;
	}
	key_reverse(&rk, &v->key);
	c = conn_find(r, &rk);
	*from_client = false;
	return c;
}

/* ---- --explain ---- */

static void fmt_optlist(char *buf, size_t size, const struct view *v)
{
	struct tcpopt o;
	uint8_t hdr[60];
	bool any = false;

	buf[0] = 0;
	memset(hdr, 0, 20);
	memcpy(hdr + 20, v->opt, v->optlen > 40 ? 40 : v->optlen);
	if (v->optlen > 40 || tcpopt_parse(hdr, 20 + v->optlen, &o) != 0) {
		cat(buf, size, ", malformed options");
		return;
	}
	if (o.have & TO_MSS) {
		cat(buf, size, ", mss %u", o.mss);
		any = true;
	}
	if (o.have & TO_SACKOK) {
		cat(buf, size, ", SACK");
		any = true;
	}
	if (o.have & TO_TS) {
		cat(buf, size, ", TS");
		any = true;
	}
	if (o.have & TO_WSCALE) {
		cat(buf, size, ", wscale %u", o.wscale);
		any = true;
	}
	if (!any)
		cat(buf, size, ", no options");
	if ((v->flags & (TCPH_ECE | TCPH_CWR)) == (TCPH_ECE | TCPH_CWR))
		cat(buf, size, ", ECN");
}

static void fmt_payload(char *buf, size_t size, const uint8_t *p, uint32_t n)
{
	uint32_t show = n > LOG_PAYLOAD_MAX ? LOG_PAYLOAD_MAX : n;

	cat(buf, size, "\"");
	for (uint32_t i = 0; i < show; i++) {
		uint8_t ch = p[i];
		if (ch == '\r')
			cat(buf, size, "\\r");
		else if (ch == '\n')
			cat(buf, size, "\\n");
		else if (ch == '\t')
			cat(buf, size, "\\t");
		else if (ch == '"' || ch == '\\')
			cat(buf, size, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			cat(buf, size, "%c", ch);
		else
			cat(buf, size, "\\x%02x", ch);
	}
	cat(buf, size, "\"%s", show < n ? "..." : "");
}

/* "seq(c)+5" when the base is known, the plain number otherwise. */
static void fmt_rel(char *buf, size_t size, const char *name, bool have, uint32_t base,
		    uint32_t v)
{
	if (have)
		cat(buf, size, "%s%+" PRId32, name, (int32_t)(v - base));
	else
		cat(buf, size, "%" PRIu32, v);
}

/* Writes the explanation lines of one packet; mapped tells whether a
 * client packet's acknowledgements are in the proxy's sequence space. */
static void explain(struct replay *r, enum role role, const uint8_t *d, uint32_t len,
		    bool mapped)
{
	struct view v;
	struct conn *c;
	bool fc;
	char line[512], opts[160];

	if (!r->explain)
		return;
	view_packet(&v, d, len);
	if (!v.ok)
		return;
	c = conn_of(r, &v, &fc);
	if (!c)
		return;
	line[0] = 0;
	uint8_t f = v.flags;
	bool has_ack = f & TCPH_ACK;
	/* the acknowledgement space of this packet */
	bool ack_in_p = role == ROLE_PROXY_C || (role == ROLE_CLIENT && (mapped || !c->have_b));

	if ((f & (TCPH_SYN | TCPH_ACK | TCPH_RST)) == TCPH_SYN) {
		fmt_optlist(opts, sizeof(opts), &v);
		if (role == ROLE_CLIENT) {
			bool again = c->nsyn > 1;
			cat(line, sizeof(line), "SYN%s: client offers seq(c)=%" PRIu32 "%s",
			    again ? " again" : "", v.seq, opts);
		} else if (role == ROLE_PROXY_S) {
			const char *again = c->nbsyn > 1 ? " (retransmission)" : "";
			if (c->have_c && v.seq == c->isn_c)
				cat(line, sizeof(line), "SYN to the backend with the client's ISN "
				    "seq(c) and options (%s)%s", opts + 2, again);
			else
				cat(line, sizeof(line), "SYN to the backend: seq=%" PRIu32 "%s%s",
				    v.seq, opts, again);
		}
	} else if ((f & (TCPH_SYN | TCPH_ACK | TCPH_RST)) == (TCPH_SYN | TCPH_ACK)) {
		fmt_optlist(opts, sizeof(opts), &v);
		if (role == ROLE_PROXY_C) {
			cat(line, sizeof(line), "SYN-ACK from the proxy%s: seq(p)=%" PRIu32 ", ack=",
			    c->nsynack > 1 ? " (retransmission)" : "", v.seq);
			fmt_rel(line, sizeof(line), "seq(c)", c->have_c, c->isn_c, v.ack);
			cat(line, sizeof(line), "%s", opts);
		} else if (role == ROLE_SERVER) {
			cat(line, sizeof(line), "SYN-ACK from the backend: seq(b)=%" PRIu32 ", ack=",
			    v.seq);
			fmt_rel(line, sizeof(line), "seq(c)", c->have_c, c->isn_c, v.ack);
			cat(line, sizeof(line), "%s", opts);
		}
	} else if (f & TCPH_RST) {
		static const char *const who[] = {
			"", "the client", "the server", "the proxy to the client",
			"the proxy to the backend",
		};
		cat(line, sizeof(line), "RST from %s", who[role]);
		if (f & TCPH_SYN)
			cat(line, sizeof(line), " with SYN set (illegal)");
	} else if (f & TCPH_FIN) {
		uint32_t fseq = v.seq + v.paylen;
		if (role == ROLE_CLIENT) {
			cat(line, sizeof(line), "FIN from the client at ");
			fmt_rel(line, sizeof(line), "seq(c)", c->have_c, c->isn_c, fseq);
		} else if (role == ROLE_SERVER) {
			cat(line, sizeof(line), "FIN from the server at ");
			fmt_rel(line, sizeof(line), "seq(b)", c->have_b, c->isn_b, fseq);
		}
		if (line[0] && has_ack) {
			if (role == ROLE_CLIENT && c->sfin &&
			    v.ack - (ack_in_p ? c->isn_p : c->isn_b) == c->sfin_end - c->isn_b)
				cat(line, sizeof(line), ", acknowledging the server's FIN");
			if (role == ROLE_SERVER && c->cfin && v.ack == c->cfin_end)
				cat(line, sizeof(line), ", acknowledging the client's FIN");
		}
	} else if (has_ack) {
		if (role == ROLE_CLIENT && c->have_p && !c->hs_proved) {
			if (v.ack == c->isn_p + 1) {
				cat(line, sizeof(line), "ACK proves the handshake: ack=seq(p)+1");
				c->hs_proved = true;
			} else {
				cat(line, sizeof(line), "ACK does not prove the handshake: ack=");
				fmt_rel(line, sizeof(line), "seq(p)", true, c->isn_p, v.ack);
				cat(line, sizeof(line), ", not seq(p)+1");
			}
		} else if (role == ROLE_PROXY_S && c->have_b && !c->backend_acked) {
			c->backend_acked = true;
			cat(line, sizeof(line), "ACK to the backend; from now on server->client "
			    "seq += seq(p)-seq(b) = %" PRIu32, c->isn_p - c->isn_b);
		} else if (role == ROLE_CLIENT && c->sfin && v.paylen == 0 &&
			   v.ack - (ack_in_p ? c->isn_p : c->isn_b) == c->sfin_end - c->isn_b) {
			cat(line, sizeof(line), "ACK of the server's FIN");
		} else if (role == ROLE_SERVER && c->cfin && v.paylen == 0 &&
			   v.ack == c->cfin_end) {
			cat(line, sizeof(line), "ACK of the client's FIN");
		}
	}
	if (line[0])
		fprintf(r->log, "  %s\n", line);
	if (v.paylen > 0 && (role == ROLE_CLIENT || role == ROLE_SERVER)) {
		line[0] = 0;
		cat(line, sizeof(line), "data from the %s: %" PRIu32 " bytes at ",
		    role == ROLE_CLIENT ? "client" : "server", v.paylen);
		if (role == ROLE_CLIENT)
			fmt_rel(line, sizeof(line), "seq(c)", c->have_c, c->isn_c, v.seq);
		else
			fmt_rel(line, sizeof(line), "seq(b)", c->have_b, c->isn_b, v.seq);
		cat(line, sizeof(line), " ");
		fmt_payload(line, sizeof(line), v.payload, v.paylen);
		fprintf(r->log, "  %s\n", line);
	}
}

/* ---- output ---- */

static void record(struct replay *r, const uint8_t *d, uint32_t len)
{
	struct pcap_pkthdr h;

	if (!r->dump)
		return;
	h.ts.tv_sec = (time_t)(r->now_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(r->now_us % 1000000);
	h.caplen = len;
	h.len = len;
	pcap_dump((u_char *)r->dump, &h, d);
}

static const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPT:
		return "accept";
	case VERDICT_DROP:
		return "drop";
	case VERDICT_HOLD:
		return "hold";
	}
	return "?";
}

static const char *dir_tag(enum dir d)
{
	return d == DIR_CLIENT ? "c>s" : d == DIR_SERVER ? "s>c" : "---";
}

/* Notes what the engine sent for the mapping: the proxy's ISN and TSval
 * and whether the backend got its SYN. */
static void note_emit(struct replay *r, const struct engine_emit *em)
{
	struct view v;
	struct conn *c;
	bool fc;
	uint32_t tsval, tsecr;

	view_packet(&v, em->data, em->len);
	c = conn_of(r, &v, &fc);
	if (!c)
		return;
	uint8_t f = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST);
	if (em->to == DIR_CLIENT && !fc && f == (TCPH_SYN | TCPH_ACK)) {
		c->isn_p = v.seq;
		c->have_p = true;
		c->have_ts_p = find_ts(&v, &tsval, &tsecr);
		c->ts_p = c->have_ts_p ? tsval : 0;
		c->nsynack++;
	} else if (em->to == DIR_SERVER && fc && f == TCPH_SYN) {
		c->backend_syn = true;
		c->nbsyn++;
		if (c->def_data && c->def_due_us == UINT64_MAX)
			c->def_due_us = r->now_us > c->def_pcap_us ? r->now_us : c->def_pcap_us;
	}
}

static void log_emits_releases(struct replay *r)
{
	struct engine_out *o = &r->out;
	char pk[1024];

	for (uint32_t i = 0; i < o->nemit && i < ENGINE_MAX_EMIT; i++) {
		const struct engine_emit *em = &o->emit[i];
		note_emit(r, em);
		fmt_packet(pk, sizeof(pk), em->data, em->len);
		fprintf(r->log, "%.6f    out %s %s\n", rel_time(r, r->now_us),
			em->to == DIR_CLIENT ? ">c" : em->to == DIR_SERVER ? ">s" : ">?", pk);
		explain(r, em->to == DIR_CLIENT ? ROLE_PROXY_C : ROLE_PROXY_S, em->data, em->len,
			false);
		record(r, em->data, em->len);
	}
	for (uint32_t i = 0; i < o->nrelease && i < ENGINE_MAX_RELEASE; i++) {
		const struct engine_release *rl = &o->release[i];
		struct view v;
		bool fc = true;
		view_packet(&v, rl->data, rl->len);
		struct conn *c = conn_of(r, &v, &fc);
		fmt_packet(pk, sizeof(pk), rl->data, rl->len);
		fprintf(r->log, "%.6f    rel #%" PRIu32 " %s %s -> %s\n", rel_time(r, r->now_us),
			rl->id, !c || fc ? ">s" : ">c", pk, verdict_name(rl->verdict));
		explain(r, !c || fc ? ROLE_CLIENT : ROLE_SERVER, rl->data, rl->len, false);
		if (rl->verdict == VERDICT_ACCEPT)
			record(r, rl->data, rl->len);
	}
}

/* ---- feeding ---- */

/* Rewrites a client packet into the proxy's sequence and TS space. */
static bool map_client(struct replay *r, struct conn *c, uint8_t *d, uint32_t len)
{
	struct pkt p;
	struct xlate x;

	if (!c->have_p || !c->have_b)
		return false;
	if (packet_parse(&p, d, len) != PKT_OK || (p.flags & TCPH_SYN) || !(p.flags & TCPH_ACK))
		return false;
	memset(&x, 0, sizeof(x));
	x.ack_add = c->isn_p - c->isn_b;
	x.sack_add = x.ack_add;
	if (c->have_ts_p && c->have_ts_b)
		x.tsecr_add = c->ts_p - c->ts_b;
	translate_apply(&p, &x);
	return true;
}

/* Hands one packet to the engine and logs all it produced. */
static void feed(struct replay *r, uint32_t id, uint8_t *d, uint32_t len, enum role role,
		 bool mapped, const char *note)
{
	struct engine_meta m = { .id = id, .csum_unverified = false };
	struct engine_out *o = &r->out;
	char pk[1024], fwd[1024];

	fmt_packet(pk, sizeof(pk), d, len);
	if (r->explain)
		memcpy(r->pre, d, len);
	memset(o, 0, sizeof(*o));
	engine_input(r->e, d, len, &m, r->now_us / 1000, o);
	fprintf(r->log, "%.6f #%" PRIu32 " in  %s %s%s%s -> %s (%s)\n", rel_time(r, r->now_us),
		id, dir_tag(o->dir), pk, mapped ? " [mapped]" : "", note,
		verdict_name(o->verdict), counter_name(o->reason));
	explain(r, role, r->pre, len, mapped);
	if (o->verdict == VERDICT_ACCEPT) {
		if (o->modified) {
			fmt_packet(fwd, sizeof(fwd), d, len);
			fprintf(r->log, "%.6f    fwd %s %s\n", rel_time(r, r->now_us),
				o->dir == DIR_SERVER ? ">c" : ">s", fwd);
		}
		record(r, d, len);
	}
	log_emits_releases(r);
}

static void tick_at(struct replay *r, uint64_t ms)
{
	bool more;

	if (ms * 1000 > r->now_us)
		r->now_us = ms * 1000;
	do {
		memset(&r->out, 0, sizeof(r->out));
		more = engine_tick(r->e, ms, &r->out);
		if (r->out.nemit || r->out.nrelease)
			fprintf(r->log, "%.6f timer\n", rel_time(r, r->now_us));
		log_emits_releases(r);
	} while (more);
	r->last_tick_ms = ms;
	r->ticked = true;
}

static void feed_deferred(struct replay *r, struct conn *c)
{
	char note[64];
	uint8_t *d = c->def_data;

	if (c->def_due_us > r->now_us)
		r->now_us = c->def_due_us;
	c->def_data = NULL;
	r->ndeferred--;
	snprintf(note, sizeof(note), " (deferred since %.6f)", rel_time(r, c->def_reach_us));
	feed(r, c->def_id, d, c->def_len, ROLE_SERVER, false, note);
	free(d);
}

/* The earliest scheduled deferred packet, or NULL. */
static struct conn *next_deferred(struct replay *r)
{
	struct conn *best = NULL;

	if (r->ndeferred == 0)
		return NULL;
	for (uint32_t i = 1; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];
		if (c->def_data && c->def_due_us != UINT64_MAX &&
		    (!best || c->def_due_us < best->def_due_us))
			best = c;
	}
	return best;
}

/* Runs every timer and deferred packet due at or before until_us, in time
 * order.  A deadline the engine reports at or before a millisecond already
 * ticked is taken one millisecond later, so the loop always advances. */
static void advance(struct replay *r, uint64_t until_us)
{
	for (;;) {
		uint64_t d = engine_next_deadline(r->e);
		struct conn *c = next_deferred(r);
		if (d != UINT64_MAX) {
			if (r->ticked && d <= r->last_tick_ms)
				d = r->last_tick_ms + 1;
			if (d * 1000 < r->now_us)
				d = r->now_us / 1000;
		}
		uint64_t dus = d == UINT64_MAX ? UINT64_MAX : d * 1000;
		if (c && c->def_due_us < dus) {
			if (c->def_due_us > until_us)
				break;
			feed_deferred(r, c);
			continue;
		}
		if (dus > until_us)
			break;
		tick_at(r, d);
	}
}

/* Decides what to do with one IP packet of the capture. */
static void handle_packet(struct replay *r, uint32_t id, uint64_t ts_us, uint8_t *d, uint32_t len)
{
	struct view v;
	struct conn *c = NULL;
	bool fc = true, mapped = false;
	enum role role = ROLE_UNKNOWN;

	view_packet(&v, d, len);
	if (v.ok) {
		c = conn_of(r, &v, &fc);
		uint8_t f = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST | TCPH_FIN);
		if (f == TCPH_SYN) {
			if (!c) {
				c = conn_add(r, &v.key);
				fc = true;
			}
			if (fc && (!c->have_c || c->isn_c != v.seq)) {
				/* a new incarnation of the tuple starts afresh */
				free(c->def_data);
				if (c->def_data)
					r->ndeferred--;
				uint32_t next = c->next;
				struct conn_key k = c->key;
				memset(c, 0, sizeof(*c));
				c->key = k;
				c->next = next;
				c->def_due_us = UINT64_MAX;
				c->isn_c = v.seq;
				c->have_c = true;
			}
			if (fc)
				c->nsyn++;
		}
		if (c) {
			role = fc ? ROLE_CLIENT : ROLE_SERVER;
			if (!fc && f == (TCPH_SYN | TCPH_ACK)) {
				uint32_t tsecr;
				c->isn_b = v.seq;
				c->have_b = true;
				c->have_ts_b = find_ts(&v, &c->ts_b, &tsecr);
			}
			if (!fc && (v.flags & TCPH_FIN) && !c->sfin) {
				c->sfin = true;
				c->sfin_end = v.seq + v.paylen + 1;
			}
			if (fc && (v.flags & TCPH_FIN) && !c->cfin) {
				c->cfin = true;
				c->cfin_end = v.seq + v.paylen + 1;
			}
		}
	}
	uint8_t sar = v.flags & (TCPH_SYN | TCPH_ACK | TCPH_RST);
	bool answer = sar == (TCPH_SYN | TCPH_ACK) || (sar & TCPH_RST && !(sar & TCPH_SYN));
	if (r->map && c && !fc && answer && !c->backend_syn && !c->def_data &&
	    (sar & TCPH_SYN || !c->have_b)) {
		/* not fed now, so it does not move the clock either */
		char pk[1024];
		c->def_data = malloc(len ? len : 1);
		if (!c->def_data) {
			fprintf(stderr, "synproxy-replay: out of memory\n");
			exit(1);
		}
		memcpy(c->def_data, d, len);
		c->def_len = len;
		c->def_id = id;
		c->def_pcap_us = ts_us < r->now_us ? r->now_us : ts_us;
		c->def_reach_us = r->now_us;
		c->def_due_us = UINT64_MAX;
		r->ndeferred++;
		fmt_packet(pk, sizeof(pk), d, len);
		fprintf(r->log, "%.6f #%" PRIu32 " in  s>c %s -> deferred until the backend SYN",
			rel_time(r, r->now_us), id, pk);
		if (c->def_pcap_us != r->now_us)
			fprintf(r->log, " (stamped %.6f)", rel_time(r, c->def_pcap_us));
		fprintf(r->log, "\n");
		return;
	}
	advance(r, ts_us);
	if (ts_us > r->now_us)
		r->now_us = ts_us;
	if (r->map && c && fc && !c->have_b && (v.flags & (TCPH_SYN | TCPH_ACK)) == TCPH_ACK) {
		/* no server SYN-ACK in the capture: the client's first ACK tells
		 * which server ISN and TSval the capture assumed */
		uint32_t tsval;
		c->isn_b = v.ack - 1;
		c->have_b = true;
		c->have_ts_b = find_ts(&v, &tsval, &c->ts_b);
	}
	if (r->map && c && fc)
		mapped = map_client(r, c, d, len);
	feed(r, id, d, len, role, mapped, "");
}

/* DLT_RAW's value differs between platforms, so files carry any of these. */
static bool link_is_raw(int lt)
{
	return lt == DLT_RAW || lt == LT_RAW_101 || lt == LT_RAW_12 || lt == LT_RAW_14 ||
	       lt == LT_IPV4 || lt == LT_IPV6;
}

static bool link_supported(int lt)
{
	return link_is_raw(lt) || lt == DLT_EN10MB || lt == LT_SLL || lt == LT_SLL2;
}

/* Strips the link-layer header: returns the IP packet's offset, or -1
 * for a frame that carries no IP (*etype then says what it carries). */
static int link_strip(int lt, const uint8_t *d, uint32_t caplen, uint16_t *etype)
{
	uint32_t off;

	if (link_is_raw(lt))
		return 0;
	switch (lt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return -1;
		*etype = get_be16(d + 12);
		off = 14;
		while (*etype == ETH_P_8021Q || *etype == ETH_P_8021AD) {
			if (caplen < off + 4)
				return -1;
			*etype = get_be16(d + off + 2);
			off += 4;
		}
		break;
	case LT_SLL:
		if (caplen < 16)
			return -1;
		*etype = get_be16(d + 14);
		off = 16;
		break;
	case LT_SLL2:
		if (caplen < 20)
			return -1;
		*etype = get_be16(d);
		off = 20;
		break;
	default:
		return -1;
	}
	if (*etype != ETH_P_IPV4 && *etype != ETH_P_IPV6)
		return -1;
	return (int)off;
}


/* Drops Ethernet padding: the IP header's own length wins when shorter. */
static uint32_t ip_length(const uint8_t *d, uint32_t len)
{
	uint32_t l;

	if (len >= 20 && d[0] >> 4 == 4) {
		l = get_be16(d + 2);
		if (l >= 20 && l < len)
			return l;
	} else if (len >= 40 && d[0] >> 4 == 6) {
		l = 40u + get_be16(d + 4);
		if (l < len)
			return l;
	}
	return len;
}

static void print_end(struct replay *r)
{
	const uint64_t *cnt;
	char pk[1024];
	bool more;

	do {
		memset(&r->out, 0, sizeof(r->out));
		more = engine_flush(r->e, &r->out);
		if (r->out.nemit || r->out.nrelease)
			fprintf(r->log, "%.6f flush\n", rel_time(r, r->now_us));
		log_emits_releases(r);
	} while (more);
	for (uint32_t i = 1; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];
		if (!c->def_data)
			continue;
		fmt_packet(pk, sizeof(pk), c->def_data, c->def_len);
		fprintf(r->log, "%.6f #%" PRIu32 " in  s>c %s -> never delivered: "
			"the backend got no SYN\n", rel_time(r, r->now_us), c->def_id, pk);
		free(c->def_data);
		c->def_data = NULL;
	}
	cnt = engine_counters(r->e);
	for (int i = 0; i < CNT_MAX; i++)
		if (cnt[i])
			fprintf(r->log, "%s = %" PRIu64 "\n", counter_name((enum counter)i), cnt[i]);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "secret", required_argument, NULL, 'S' },
		{ "no-map", no_argument, NULL, 'M' },
		{ "drain", required_argument, NULL, 'D' },
		{ "explain", no_argument, NULL, 'E' },
		{ "output", required_argument, NULL, 'o' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct replay rp;
	struct replay *r = &rp;
	const char *cfg = NULL, *outpath = NULL, *logpath = NULL;
	uint8_t secret[ENGINE_SECRET_LEN] = { 0 };
	double drain = 0;
	char err[PCAP_ERRBUF_SIZE + 256];
	pcap_t *in;
	int opt, lt, rc = 1;
	bool conf_ok = false;

	r->map = true;
	while ((opt = getopt_long(argc, argv, "c:o:l:h", lopts, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'c':
			cfg = optarg;
			break;
		case 'S':
			if (parse_secret(optarg, secret) != 0) {
				fprintf(stderr, "synproxy-replay: --secret wants 64 hex digits\n");
				return 1;
			}
			break;
		case 'M':
			r->map = false;
			break;
		case 'D':
			errno = 0;
			drain = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(drain >= 0 && drain <= 1e7)) {
				fprintf(stderr, "synproxy-replay: bad --drain '%s'\n", optarg);
				return 1;
			}
			break;
		case 'E':
			r->explain = true;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!cfg || optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	if (conf_load(cfg, &r->conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "synproxy-replay: %s\n", err);
		return 1;
	}
	conf_ok = true;
	in = pcap_open_offline_with_tstamp_precision(argv[optind], PCAP_TSTAMP_PRECISION_MICRO,
						      err);
	if (!in) {
		fprintf(stderr, "synproxy-replay: %s\n", err);
		goto out_conf;
	}
	lt = pcap_datalink(in);
	if (!link_supported(lt)) {
		const char *name = pcap_datalink_val_to_name(lt);
		fprintf(stderr, "synproxy-replay: %s: link type %d (%s) not supported; "
			"use raw IP, Ethernet, Linux cooked v1 or v2\n", argv[optind], lt,
			name ? name : "unknown");
		goto out_pcap;
	}
	if (!logpath || strcmp(logpath, "-") == 0) {
		r->log = stdout;
	} else {
		r->log = fopen(logpath, "w");
		if (!r->log) {
			fprintf(stderr, "synproxy-replay: %s: %s\n", logpath, strerror(errno));
			goto out_pcap;
		}
	}
	if (outpath) {
		r->dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535,
							       PCAP_TSTAMP_PRECISION_MICRO);
		r->dump = r->dead ? pcap_dump_open(r->dead, outpath) : NULL;
		if (!r->dump) {
			fprintf(stderr, "synproxy-replay: %s: %s\n", outpath,
				r->dead ? pcap_geterr(r->dead) : "cannot open");
			goto out_log;
		}
	}

	struct pcap_pkthdr *h;
	const u_char *data;
	uint32_t id = 0;
	int got;
	uint64_t last_us = 0;
	while ((got = pcap_next_ex(in, &h, &data)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		uint16_t etype = 0;
		int off;
		id++;
		if (!r->e) {
			r->first_us = ts;
			r->now_us = ts;
			r->e = engine_new(&r->conf.engine, &r->conf.policy, secret, ts / 1000);
			if (!r->e) {
				fprintf(stderr, "synproxy-replay: the engine refused the "
					"configuration of %s\n", cfg);
				goto out_dump;
			}
		}
		if (ts > last_us)
			last_us = ts;
		off = link_strip(lt, data, h->caplen, &etype);
		if (off < 0) {
			fprintf(r->log, "%.6f #%" PRIu32 " skipped: not IP (ethertype 0x%04x, "
				"%" PRIu32 " bytes)\n", rel_time(r, ts < r->now_us ? r->now_us : ts),
				id, etype, h->caplen);
			continue;
		}
		uint32_t len = h->caplen - (uint32_t)off;
		if (len > BUF_MAX)
			len = BUF_MAX;
		memcpy(r->buf, data + off, len);
		if (off > 0)
			len = ip_length(r->buf, len);
		handle_packet(r, id, ts, r->buf, len);
	}
	if (got == -1) {
		fprintf(stderr, "synproxy-replay: %s: %s\n", argv[optind], pcap_geterr(in));
		goto out_engine;
	}
	if (r->e) {
		uint64_t end = last_us + (uint64_t)(drain * 1e6 + 0.5);
		for (uint32_t i = 1; i < r->nconns; i++)
			if (r->conns[i].def_data && r->conns[i].def_due_us != UINT64_MAX &&
			    r->conns[i].def_due_us > end)
				end = r->conns[i].def_due_us;
		advance(r, end);
		if (end > r->now_us)
			r->now_us = end;
		print_end(r);
	}
	rc = 0;
out_engine:
	if (r->e)
		engine_free(r->e);
	for (uint32_t i = 1; i < r->nconns; i++)
		free(r->conns[i].def_data);
	free(r->conns);
out_dump:
	if (r->dump)
		pcap_dump_close(r->dump);
	if (r->dead)
		pcap_close(r->dead);
out_log:
	if (r->log && r->log != stdout)
		fclose(r->log);
	else if (r->log)
		fflush(stdout);
out_pcap:
	pcap_close(in);
out_conf:
	if (conf_ok)
		conf_free(&r->conf);
	return rc;
}
