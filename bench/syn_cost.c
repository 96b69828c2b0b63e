/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's cost per spoofed SYN, for callgrind (instruction counts are
 * repeatable on a shared machine where wall-clock rates are not).  Feeds N
 * SYNs shaped like bench/syn_flood.sh's (random sources in 198.18.0.0/15,
 * MSS, SACK, timestamps, window scale 7, to 203.0.113.2:8080) at RATE per
 * second of engine time, BATCH per wakeup, and runs the timers as the
 * worker loop does: engine_next_deadline before and after each wakeup,
 * engine_tick while due.  Prints what the engine did.
 * Build (after ./scripts/build), from the top directory:
 *   gcc -O2 -g -Isrc/core -Isrc/daemon -o syn_cost bench/syn_cost.c \
 *       src/daemon/libspconf.a src/core/libspcore.a -lconfig -lm
 * Run: valgrind --tool=callgrind ./syn_cost CONF 300000 100000 16
 * (CONF: a synproxyd.conf with a proxy rule for 203.0.113.2 port 8080). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "conf.h"
#include "counters.h"
#include "engine.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static uint16_t fold(const uint8_t *d, int n, uint32_t sum)
{
	for (int i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A 60-byte SYN with valid checksums into p. */
static void make_syn(uint8_t *p)
{
	static const uint8_t tmpl[60] = {
		0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 0, 203, 0, 113, 2,
		0, 0, 0x1f, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
		2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7,
	};
	uint32_t r = rnd(), r2 = rnd(), r3 = rnd(), sum = 6 + 40;
	uint16_t c;

	memcpy(p, tmpl, sizeof(tmpl));
	p[13] = (uint8_t)(18 + (r & 1));
	p[14] = (uint8_t)(r >> 8);
	p[15] = (uint8_t)(r >> 16);
	p[20] = (uint8_t)r2;
	p[21] = (uint8_t)(r2 >> 8);
	memcpy(p + 24, &r3, 4);
	memcpy(p + 48, &r2, 4);
	c = fold(p, 20, 0);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	c = fold(p + 20, 40, sum);
	p[36] = (uint8_t)(c >> 8);
	p[37] = (uint8_t)c;
}

int main(int argc, char **argv)
{
	static const uint8_t secret[ENGINE_SECRET_LEN] = { 1 };
	struct engine_out *o = malloc(sizeof(*o));
	uint64_t now = 1000000, emits = 0, ticks = 0;
	struct engine *e;
	struct conf c;
	char err[256];
	uint8_t pkt[60];
	long n;
	double rate;
	int batch;

	if (argc != 5 || !o) {
		fprintf(stderr, "usage: syn_cost CONF N RATE BATCH\n");
		return 2;
	}
	if (conf_load(argv[1], &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	n = atol(argv[2]);
	rate = atof(argv[3]);
	batch = atoi(argv[4]);
	e = engine_new(&c.engine, &c.policy, secret, now);
	if (!e || n <= 0 || rate <= 0 || batch <= 0)
		return 1;
	for (long i = 0; i < n; i += batch) {
		now = 1000000 + (uint64_t)((double)i / rate * 1000.0);
		for (int j = 0; j < batch; j++) {
			struct engine_meta m = { .id = (uint32_t)(i + j) };

			make_syn(pkt);
			engine_input(e, pkt, sizeof(pkt), &m, now, o);
			emits += o->nemit;
		}
		if (now >= engine_next_deadline(e)) {
			bool more;

			do {
				more = engine_tick(e, now, o);
				emits += o->nemit;
				ticks++;
			} while (more);
		}
		(void)engine_next_deadline(e);
	}
	printf("syns %ld emits %llu ticks %llu", n, (unsigned long long)emits,
	       (unsigned long long)ticks);
	for (int k = 0; k < CNT_MAX; k++) {
		const char *name = counter_name((enum counter)k);

		if (engine_counters(e)[k] && (strstr(name, "syncache") || strstr(name, "synack") ||
					      strstr(name, "cookie")))
			printf(" %s %llu", name, (unsigned long long)engine_counters(e)[k]);
	}
	printf("\n");
	engine_free(e);
	conf_free(&c);
	free(o);
	return 0;
}
