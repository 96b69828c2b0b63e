/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay: drives the engine from a pcap, with the pcap's
 * timestamps as the clock, and writes what the proxy would have let
 * through or sent (a LINKTYPE_RAW pcap) and a log of every decision.
 * This file reads the options and the capture; replay.h says where the
 * rest is (the mapping of the capture's connections: replay_map.c).
 *
 * The secret defaults to 32 zero bytes so that two runs give the same
 * bytes (ISNs and cookies derive from it). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "conf.h"
#include "engine.h"
#include "replay.h"

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
			len = link_ip_length(r->buf, len);
		map_packet(r, id, ts, r->buf, len);
	}
	if (got == -1) {
		fprintf(stderr, "synproxy-replay: %s: %s\n", argv[optind], pcap_geterr(in));
		goto out_engine;
	}
	if (r->e)
		map_finish(r, last_us + (uint64_t)(drain * 1e6 + 0.5));
	rc = 0;
out_engine:
	if (r->e)
		engine_free(r->e);
	map_free(r);
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
