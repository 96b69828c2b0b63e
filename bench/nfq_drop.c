/* The baseline for bench/syn_flood.sh: the least a userspace NFQUEUE
 * consumer can do.  Binds queue QUEUE (argument, default 0), reads up to
 * 16 datagrams per recvmmsg and drops everything it read with one
 * NFQNL_MSG_VERDICT_BATCH (as synproxyd's loop does for a run of drops),
 * until SIGTERM or SIGINT; then prints "packets N" on stdout.
 * Build: gcc -O2 -o nfq_drop nfq_drop.c -lmnl -lnetfilter_queue */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

static volatile sig_atomic_t stop;
static uint64_t packets;

static void on_signal(int sig)
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
		nfq_nlmsg_verdict_put(nlh, maxid, NF_DROP);
		mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	}
	printf("packets %llu\n", (unsigned long long)packets);
	mnl_socket_close(nl);
	return 0;
}
