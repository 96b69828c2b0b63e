/* The baseline for bench/syn_flood.sh: the least a userspace NFQUEUE
 * consumer can do.  Binds queue 0, reads packets in batches and drops each
 * with a verdict (batched the same way synproxyd's loop does), until
 * SIGTERM or SIGINT; then prints "packets N" on stdout.
 * Build: gcc -O2 -o nfq_drop nfq_drop.c -lmnl -lnetfilter_queue */
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

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	char *out = data;
	struct nlmsghdr *v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	/* Append the verdict to the batch being built in out. */
	v = put_hdr(out + *(size_t *)out + sizeof(size_t), NFQNL_MSG_VERDICT, 0);
	nfq_nlmsg_verdict_put(v, ntohl(ph->packet_id), NF_DROP);
	*(size_t *)out += v->nlmsg_len;
	packets++;
	return MNL_CB_OK;
}

int main(void)
{
	size_t bufsz = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
	char *buf = malloc(bufsz), *batch = malloc(sizeof(size_t) + 65536);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct sigaction sa = { .sa_handler = on_signal };
	struct nlmsghdr *nlh;
	int one = 1, rcv = 8 << 20;

	if (!buf || !batch || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_drop: netlink");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	nlh = put_hdr(buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("nfq_drop: bind");
		return 1;
	}
	nlh = put_hdr(buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 128);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(65536));
	mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
	while (!stop) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, bufsz);

		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("nfq_drop: recv");
			break;
		}
		*(size_t *)batch = 0;
		mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(nl), on_packet, batch);
		if (*(size_t *)batch)
			mnl_socket_sendto(nl, batch + sizeof(size_t), *(size_t *)batch);
	}
	printf("packets %llu\n", (unsigned long long)packets);
	mnl_socket_close(nl);
	return 0;
}
