/* Raw sockets that send the packets the engine builds, whole IP header
 * included, carrying the daemon's firewall mark so that the queue rules
 * skip them. */
#ifndef SP_RAWSOCK_H
#define SP_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>

struct rawsock {
	int rs_fd4;
	int rs_fd6;
	uint64_t rs_sent;
	uint64_t rs_errors;      /* every failed send (ENOBUFS, EHOSTUNREACH, ...) */
};

/* Opens the IPv4 and IPv6 sockets with SO_MARK mark.  Returns 0, or -1
 * with errno (both closed then). */
int rawsock_open(struct rawsock *rs, uint32_t mark);

/* Sends the IP packet of len bytes at data to its destination address.
 * Returns 0, or -1 with errno after counting the failure. */
int rawsock_send(struct rawsock *rs, const uint8_t *data, size_t len);

/* Closes both sockets. */
void rawsock_close(struct rawsock *rs);

#endif
