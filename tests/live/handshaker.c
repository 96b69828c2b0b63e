/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handshaker: many spoofed clients that complete the handshake with the
 * proxy and then say nothing, for the limits test (tests/live/limits.sh).
 *
 * It runs in the flood namespace, whose link the gateway routes
 * 198.18.0.0/15 to, so the proxy's SYN-ACKs to the spoofed sources come
 * back to it.  It sends COUNT SYNs (random source in 198.18.0.0/15, random
 * port and ISN, MSS 1460) at RATE per second on an AF_PACKET socket to the
 * gateway's MAC, and with --ack answers every SYN-ACK it sees with the
 * handshake's ACK (seq = ISN + 1, ack = the SYN-ACK's seq + 1), which makes
 * the proxy open a backend handshake for that client.  Without --ack it is
 * a plain SYN flood.  It stops after COUNT SYNs plus one second of answers,
 * or after SECONDS, whichever is first, and prints
 * "syn_sent=N synack_seen=N ack_sent=N seconds=S".
 *
 * Test tool, not part of the daemon: IPv4 only, no options on the ACK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "csum.h"

#define FRAME_LEN (14 + 20 + 24)	/* Ethernet, IPv4, TCP with MSS */
#define ACK_LEN (14 + 20 + 20)

struct opts {
	const char *iface;
	uint8_t gwmac[6];
	uint32_t dst;		/* network order */
	uint16_t dport;
	unsigned long count;
	unsigned long rate;
	double seconds;
	int ack;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd32(void)
{
	/* xorshift64*: fast, and the sources need no secrecy */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fills an Ethernet + IPv4 + TCP frame; addresses in network order. */
static size_t build(uint8_t *f, const uint8_t *smac, const struct opts *o, uint32_t src,
		    uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	size_t tcplen = flags & 0x02 ? 24 : 20;
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t sum;

	memcpy(f, o->gwmac, 6);
	memcpy(f + 6, smac, 6);
	put_be16(f + 12, ETHERTYPE_IP);
	memset(ip, 0, 20 + tcplen);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + tcplen));
	put_be16(ip + 4, (uint16_t)rnd32());
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &o->dst, 4);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put_be16(tcp, sport);
	put_be16(tcp + 2, o->dport);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, ack);
	tcp[12] = (uint8_t)(tcplen / 4) << 4;
	tcp[13] = flags;
	put_be16(tcp + 14, 29200);
	if (flags & 0x02) {
		tcp[20] = 2;
		tcp[21] = 4;
		put_be16(tcp + 22, 1460);
	}
	sum = csum_add(0, ip + 12, 8) + IPPROTO_TCP + (uint32_t)tcplen;
	put_be16(tcp + 16, csum_fold(csum_add(sum, tcp, tcplen)));
	return 14 + 20 + tcplen;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: handshaker --iface IF --gwmac MAC --dst ADDR --dport PORT "
		"--count N --rate PPS --seconds S [--ack]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--ack")) {
			o->ack = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--iface"))
			o->iface = v;
		else if (!strcmp(a, "--gwmac") && parse_mac(v, o->gwmac) == 0)
			;
		else if (!strcmp(a, "--dst") && inet_pton(AF_INET, v, &o->dst) == 1)
			;
		else if (!strcmp(a, "--dport"))
			o->dport = (uint16_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--count"))
			o->count = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--rate"))
			o->rate = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seconds"))
			o->seconds = strtod(v, NULL);
		else
			usage();
	}
	if (!o->iface || !o->dst || !o->dport || !o->count || !o->rate || o->seconds <= 0)
		usage();
}

/* Answers the SYN-ACKs waiting on the socket; returns how many it saw. */
static unsigned long answer(int fd, const struct sockaddr_ll *to, const uint8_t *smac,
			    const struct opts *o, unsigned long *acks)
{
	uint8_t buf[2048], f[ACK_LEN];
	unsigned long seen = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		const uint8_t *ip = buf + 14, *tcp;
		uint32_t src;

		if (n < 0)
			break;
		if (n < 14 + 20 + 20 || buf[12] != 0x08 || buf[13] != 0x00)
			continue;
		if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP || memcmp(ip + 12, &o->dst, 4))
			continue;
		tcp = ip + (ip[0] & 0x0f) * 4;
		if (tcp + 20 > buf + n || (tcp[13] & 0x17) != 0x12)
			continue;
		if (((uint16_t)tcp[0] << 8 | tcp[1]) != o->dport)
			continue;
		seen++;
		if (!o->ack)
			continue;
		memcpy(&src, ip + 16, 4);
		build(f, smac, o, src, (uint16_t)(tcp[2] << 8 | tcp[3]), get_be32(tcp + 8),
		      get_be32(tcp + 4) + 1, 0x10);
		if (sendto(fd, f, ACK_LEN, 0, (const struct sockaddr *)to, sizeof(*to)) == ACK_LEN)
			(*acks)++;
	}
	return seen;
}

int main(int argc, char **argv)
{
	unsigned long sent = 0, seen = 0, acks = 0;
	struct sockaddr_ll to;
	struct ifreq ifr;
	uint8_t smac[6], f[FRAME_LEN];
	struct opts o;
	double t0, t, done_at = 0;
	int fd, rcvbuf = 32 << 20;

	parse(argc, argv, &o);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		perror("SO_RCVBUFFORCE (continuing)");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o.iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror(o.iface);
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_protocol = htons(ETH_P_IP);
	to.sll_ifindex = (int)if_nametoindex(o.iface);
	to.sll_halen = 6;
	memcpy(to.sll_addr, o.gwmac, 6);
	if (bind(fd, (const struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("bind");
		return 1;
	}
	rng ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

	t0 = now_s();
	for (;;) {
		t = now_s() - t0;
		if (t >= o.seconds || (done_at > 0 && t >= done_at))
			break;
		/* Paced: send what the rate allows up to now, at most 64 at once. */
		for (int burst = 0; burst < 64 && sent < o.count &&
		     sent < (unsigned long)(t * o.rate) + 1; burst++) {
			uint32_t src = htonl(0xc6120000u | (rnd32() & 0x1ffff));
			size_t len = build(f, smac, &o, src, (uint16_t)(1024 + rnd32() % 64000),
					   rnd32(), 0, 0x02);

			if (sendto(fd, f, len, 0, (const struct sockaddr *)&to, sizeof(to)) ==
			    (ssize_t)len)
				sent++;
			else if (errno != ENOBUFS && errno != EAGAIN)
				perror("sendto");
		}
		if (sent >= o.count && done_at == 0)
			done_at = t + 1.0;
		seen += answer(fd, &to, smac, &o, &acks);
		if (sent >= (unsigned long)(t * o.rate) + 1 || sent >= o.count) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, 1);
		}
	}
	printf("syn_sent=%lu synack_seen=%lu ack_sent=%lu seconds=%.1f\n", sent, seen, acks,
	       now_s() - t0);
	close(fd);
	return sent == o.count ? 0 : 1;
}
