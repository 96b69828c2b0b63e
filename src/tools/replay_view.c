/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay's reading of packets: a lenient decoding that never
 * trusts a packet for more than printing it (struct view), the one-line
 * form of the log, and --explain's plain words for handshake, data and
 * teardown steps, which need the capture connection's ISNs (replay_map.c
 * keeps them). */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "bytes.h"
#include "icmp.h"
#include "packet.h"
#include "replay.h"
#include "tcpopt.h"

#define LOG_PAYLOAD_MAX 40

/* ---- lenient decoding for the log ---- */

static void fmt_endpoint(char *buf, size_t size, const struct addr *a, bool v6)
{
	char tmp[ADDR_STRLEN];
	addr_format(a, tmp, sizeof(tmp));
	snprintf(buf, size, v6 ? "[%s]" : "%s", tmp);
}

void view_packet(struct view *v, const uint8_t *d, uint32_t len)
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

/* An ICMP error quoting TCP: its endpoints, type/code, the quoted tuple,
 * seq and flags, and how much of the TCP header is quoted; false for
 * anything else. */
static bool fmt_icmp(char *buf, size_t size, const struct view *v, const uint8_t *d,
		     uint32_t len)
{
	struct icmp_err ie;
	char qs[ADDR_STRLEN + 2], qd[ADDR_STRLEN + 2], fl[12];

	if (icmp_parse(d, len, &ie) != ICMP_OK)
		return false;
	fmt_endpoint(qs, sizeof(qs), &ie.quote.caddr, ie.family == 6);
	fmt_endpoint(qd, sizeof(qd), &ie.quote.saddr, ie.family == 6);
	cat(buf, size, "%s > %s icmp%s %u/%u about %s:%u > %s:%u", v->src, v->dst,
	    ie.family == 6 ? "6" : "", ie.type, ie.code, qs, ie.quote.cport, qd,
	    ie.quote.sport);
	if (ie.have_flags) {
		fmt_flags(fl, ie.flags);
		cat(buf, size, " [%s]", fl);
	}
	cat(buf, size, " seq=%" PRIu32, ie.seq);
	if (ie.tcp_len >= 12 && (!ie.have_flags || (ie.flags & TCPH_ACK)))
		cat(buf, size, " ack=%" PRIu32, get_be32(d + ie.tcp_off + 8));
	cat(buf, size, " (%" PRIu32 " bytes of TCP quoted)", ie.tcp_len);
	return true;
}

void view_format(char *buf, size_t size, const uint8_t *d, uint32_t len)
{
	struct view v;
	char fl[12];

	buf[0] = 0;
	view_packet(&v, d, len);
	if (!v.ok && fmt_icmp(buf, size, &v, d, len))
		return;
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

bool view_ts(const struct view *v, uint32_t *tsval, uint32_t *tsecr)
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

void explain_packet(struct replay *r, enum role role, const uint8_t *d, uint32_t len,
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
