/* IPPROTO_RAW implies a caller-built header for both families on Linux.
 * The destination passed to sendto only steers routing; the kernel sends
 * the header as written (IPv4 fills in the id and checksum when zero). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rawsock.h"

static int open_one(int family, uint32_t mark)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
	int one = 1;
	int saved;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		goto fail;
	if (family == AF_INET && setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int rawsock_open(struct rawsock *rs, uint32_t mark)
{
	int saved;

	memset(rs, 0, sizeof(*rs));
	rs->rs_fd6 = -1;
	rs->rs_fd4 = open_one(AF_INET, mark);
	if (rs->rs_fd4 < 0)
		return -1;
	rs->rs_fd6 = open_one(AF_INET6, mark);
	if (rs->rs_fd6 < 0) {
		saved = errno;
		close(rs->rs_fd4);
		rs->rs_fd4 = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

int rawsock_send(struct rawsock *rs, const uint8_t *data, size_t len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	ssize_t n;

	if (len >= 20 && (data[0] >> 4) == 4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, data + 16, 4);
		n = sendto(rs->rs_fd4, data, len, 0, (const struct sockaddr *)&sin, sizeof(sin));
	} else if (len >= 40 && (data[0] >> 4) == 6) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, data + 24, 16);
		n = sendto(rs->rs_fd6, data, len, 0, (const struct sockaddr *)&sin6, sizeof(sin6));
	} else {
		errno = EINVAL;
		n = -1;
	}
	if (n < 0) {
		rs->rs_errors++;
		return -1;
	}
	rs->rs_sent++;
	return 0;
}

void rawsock_close(struct rawsock *rs)
{
	if (rs->rs_fd4 >= 0)
		close(rs->rs_fd4);
	if (rs->rs_fd6 >= 0)
		close(rs->rs_fd6);
	rs->rs_fd4 = rs->rs_fd6 = -1;
}
