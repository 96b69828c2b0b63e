/* SPDX-License-Identifier: GPL-2.0-or-later */
/* synproxy-replay's link layers: which capture link types it reads, and
 * the header (Ethernet with VLAN tags, Linux cooked v1 and v2) stripped
 * off each frame to reach the IP packet. */
#include <stdbool.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "bytes.h"
#include "replay.h"

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

/* DLT_RAW's value differs between platforms, so files carry any of these. */
static bool link_is_raw(int lt)
{
	return lt == DLT_RAW || lt == LT_RAW_101 || lt == LT_RAW_12 || lt == LT_RAW_14 ||
	       lt == LT_IPV4 || lt == LT_IPV6;
}

bool link_supported(int lt)
{
	return link_is_raw(lt) || lt == DLT_EN10MB || lt == LT_SLL || lt == LT_SLL2;
}

int link_strip(int lt, const uint8_t *d, uint32_t caplen, uint16_t *etype)
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

uint32_t link_ip_length(const uint8_t *d, uint32_t len)
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
