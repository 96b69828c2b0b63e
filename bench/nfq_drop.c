/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The baselines for bench/syn_flood.sh: the least a userspace NFQUEUE
 * consumer can do.  Binds queue QUEUE (first argument, default 0), reads
 * up to 16 datagrams per recvmmsg and drops everything it read with one
 * NFQNL_MSG_VERDICT_BATCH (as synproxyd's loop does for a run of drops),
 * until SIGTERM or SIGINT; then prints "packets N" on stdout.
 *
 * With a second argument "accept" it accepts everything instead (one
 * NF_ACCEPT verdict batch per read): every packet of a connection then
 * crosses the queue and nothing else happens, the ceiling of a proxy
 * that handles a short connection's packets in userspace
 * (bench/realclients.sh's "nfqaccept").
 *
 * With another second argument it also answers every IPv4 TCP packet it read
 * with a fixed 60-byte SYN-ACK (addresses and ports swapped, the option
 * bytes synproxyd sends: MSS, SACK permitted, timestamps, window scale),
 * one sendmmsg per batch, so the figure is the floor of any SYN proxy
 * built on NFQUEUE, without a SYN cache, cookies or checks:
 *   raw     through an IPPROTO_RAW socket (routing, OUTPUT and
 *           POSTROUTING hooks, neighbour, qdisc), as synproxyd does;
 *   packet  through an AF_PACKET socket with PACKET_QDISC_BYPASS on the
 *           interface the SYN came in on, to the MAC it came from.
 * Build, from the top directory (the checksum is the core's):
 *   gcc -O2 -Isrc/core -o nfq_drop bench/nfq_drop.c src/core/csum.c \
 *       -lmnl -lnetfilter_queue */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "bytes.h"
#include "csum.h"

static volatile sig_atomic_t stop;
static uint64_t packets;

static void on_signal(int sig __attribute__((unused)))
{
	stop = 1;
}

static struct nlmsghdr *put_hdr(char *buf, int type, uint32_t q)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(q);
	return nlh;
}

#define RXBATCH 16
#define RXBUF 4096
#define ETH_LEN 14
#define REPLY_LEN 60

enum mode { DROP, ACCEPT, RAW, PACKET };

static enum mode mode;
static int out_fd = -1;
static struct reply {
	unsigned char frame[ETH_LEN + REPLY_LEN];
	struct sockaddr_in to;
	struct sockaddr_ll ll;
} reply[RXBATCH];
static struct iovec out_iov[RXBATCH];
static struct mmsghdr out_msg[RXBATCH];
static unsigned n_reply;
static uint64_t reply_errors;

/* Fills reply[n_reply] from the IPv4 TCP packet p (len bytes) that came
 * from MAC src on interface ifindex. */
static void add_reply(const unsigned char *p, size_t len, const unsigned char *src, int ifindex)
{
	static const unsigned char opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
						0, 0, 0, 0, 1, 3, 3, 7 };
	struct reply *r = &reply[n_reply];
	unsigned char *ip = r->frame + ETH_LEN, *tcp = ip + 20;
	size_t ihl;

	if (len < 20 || (p[0] >> 4) != 4 || p[9] != IPPROTO_TCP)
		return;
	ihl = (size_t)(p[0] & 15) * 4;
	if (len < ihl + 20)
		return;
	memset(ip, 0, REPLY_LEN);
	ip[0] = 0x45;
	ip[3] = REPLY_LEN;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, p + 16, 4);
	memcpy(ip + 16, p + 12, 4);
	put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	memcpy(tcp, p + ihl + 2, 2);
	memcpy(tcp + 2, p + ihl, 2);
	tcp[4] = 0x5a; /* any ISN */
	put_be32(tcp + 8, get_be32(p + ihl + 4) + 1); /* ack = their seq + 1 */
	tcp[12] = 10 << 4;
	tcp[13] = 0x12;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	memcpy(tcp + 20, opts, sizeof(opts));
	put_be16(tcp + 16, csum_fold(csum_add(csum_add(IPPROTO_TCP + 40, ip + 12, 8), tcp, 40)));
	r->to.sin_family = AF_INET;
	memcpy(&r->to.sin_addr, ip + 16, 4);
	r->ll.sll_family = AF_PACKET;
	r->ll.sll_ifindex = ifindex;
	r->ll.sll_halen = 6;
	memcpy(r->ll.sll_addr, src, 6);
	memcpy(r->frame, src, 6);
	r->frame[12] = 0x08;
	n_reply++;
}

/* Own MAC of each interface the packet mode answers on, by index. */
static unsigned char own_mac[64][6];

static int open_out(void)
{
	int one = 1;

	if (mode == RAW) {
		out_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		return out_fd < 0 ? -1 : 0;
	}
	out_fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (out_fd < 0)
		return -1;
	setsockopt(out_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	for (int i = 1; i < 64; i++) {
		struct ifreq ifr = { 0 };

		if (!if_indextoname((unsigned)i, ifr.ifr_name))
			continue;
		if (ioctl(out_fd, SIOCGIFHWADDR, &ifr) == 0)
			memcpy(own_mac[i], ifr.ifr_hwaddr.sa_data, 6);
	}
	return 0;
}

static void send_replies(void)
{
	unsigned i = 0;

	for (unsigned k = 0; k < n_reply; k++) {
		struct reply *r = &reply[k];

		if (mode == PACKET) {
			if (r->ll.sll_ifindex > 0 && r->ll.sll_ifindex < 64)
				memcpy(r->frame + 6, own_mac[r->ll.sll_ifindex], 6);
			out_iov[k].iov_base = r->frame;
			out_iov[k].iov_len = ETH_LEN + REPLY_LEN;
			out_msg[k].msg_hdr.msg_name = &r->ll;
			out_msg[k].msg_hdr.msg_namelen = sizeof(r->ll);
		} else {
			out_iov[k].iov_base = r->frame + ETH_LEN;
			out_iov[k].iov_len = REPLY_LEN;
			out_msg[k].msg_hdr.msg_name = &r->to;
			out_msg[k].msg_hdr.msg_namelen = sizeof(r->to);
		}
		out_msg[k].msg_hdr.msg_iov = &out_iov[k];
		out_msg[k].msg_hdr.msg_iovlen = 1;
	}
	while (i < n_reply) {
		int r = sendmmsg(out_fd, out_msg + i, n_reply - i, 0);

		if (r <= 0) {
			reply_errors++;
			i++;
		} else {
			i += (unsigned)r;
		}
	}
	n_reply = 0;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	uint32_t *maxid = data;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	/* Ids grow with every packet queued; the last one read is the largest. */
	*maxid = ntohl(ph->packet_id);
	packets++;
	if (mode != DROP && mode != ACCEPT && attr[NFQA_PAYLOAD]) {
		static const unsigned char none[6];
		const unsigned char *mac = none;
		int ifindex = 0;

		if (attr[NFQA_HWADDR])
			mac = ((struct nfqnl_msg_packet_hw *)mnl_attr_get_payload(attr[NFQA_HWADDR]))
				      ->hw_addr;
		if (attr[NFQA_IFINDEX_INDEV])
			ifindex = (int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
		add_reply(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
			  mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), mac, ifindex);
	}
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	static char rx[RXBATCH][RXBUF];
	struct iovec iov[RXBATCH];
	struct mmsghdr msg[RXBATCH];
	char out[256];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct sigaction sa = { .sa_handler = on_signal };
	struct nlmsghdr *nlh;
	uint32_t q = argc > 1 ? (uint32_t)atoi(argv[1]) : 0;
	int one = 1, rcv = 8 << 20, i;

	if (argc > 2)
		mode = strcmp(argv[2], "accept") == 0 ? ACCEPT :
		       strcmp(argv[2], "packet") == 0 ? PACKET : RAW;
	if (mode != DROP && mode != ACCEPT && open_out() < 0) {
		perror("nfq_drop: output socket");
		return 1;
	}
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_drop: netlink");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	nlh = put_hdr(out, NFQNL_MSG_CONFIG, q);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("nfq_drop: bind");
		return 1;
	}
	nlh = put_hdr(out, NFQNL_MSG_CONFIG, q);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 128);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(65536));
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	for (i = 0; i < RXBATCH; i++) {
		iov[i].iov_base = rx[i];
		iov[i].iov_len = RXBUF;
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n = recvmmsg(mnl_socket_get_fd(nl), msg, RXBATCH, MSG_WAITFORONE, NULL);
		uint32_t maxid = 0;
		uint64_t before = packets;

		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("nfq_drop: recv");
			break;
		}
		for (i = 0; i < n; i++)
			mnl_cb_run(rx[i], msg[i].msg_len, 0, mnl_socket_get_portid(nl), on_packet,
				   &maxid);
		if (packets == before)
			continue;
		nlh = put_hdr(out, NFQNL_MSG_VERDICT_BATCH, q);
		nfq_nlmsg_verdict_put(nlh, maxid, mode == ACCEPT ? NF_ACCEPT : NF_DROP);
		mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
		if (n_reply)
			send_replies();
	}
	printf("packets %llu\n", (unsigned long long)packets);
	if (reply_errors)
		fprintf(stderr, "nfq_drop: %llu failed sends\n", (unsigned long long)reply_errors);
	mnl_socket_close(nl);
	return 0;
}
