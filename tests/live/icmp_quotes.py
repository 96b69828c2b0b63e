#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks the ICMP errors a host received against what it sent.

Usage: icmp_quotes.py PCAP ADDR...

PCAP is a capture of the host's interface (tcpdump -s 128 is enough: the
quoted IP and TCP headers fit), ADDR its addresses.  Every ICMP or ICMPv6
error sent to one of them that quotes TCP must quote a segment the host
sent itself: the same addresses and ports, a sequence number within a
segment it sent, and the same acknowledgement number when the quote holds
it.  "Within": a capture on the sending host sees its segments before the
segmentation offload cuts them (veth, TSO/GSO), so the router quotes
pieces of a captured packet, at its sequence number plus multiples of the
MSS.  A proxy that left a
quote in the other leg's sequence space fails this.  Prints one line per
family and exits 0 when every error matched (and there was at least one),
1 otherwise.
"""
import struct
import sys

from scapy.utils import RawPcapReader


def ip_payload(pkt):
    """(src, dst, proto, payload, payload length on the wire) of an
    Ethernet frame's IP packet (the capture may hold less)."""
    etype = struct.unpack(">H", pkt[12:14])[0]
    ip = pkt[14:]
    if etype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        return ip[12:16], ip[16:20], ip[9], ip[ihl:], tot - ihl
    if etype == 0x86DD and len(ip) >= 40:
        return ip[8:24], ip[24:40], ip[6], ip[40:], struct.unpack(">H", ip[4:6])[0]
    return None


def tcp_key(src, dst, tcp, with_ack):
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    ack = struct.unpack(">I", tcp[8:12])[0] if with_ack and len(tcp) >= 12 else None
    return (src, dst, sport, dport, seq, ack)


def data_len(tcp, wire_len):
    """The segment's payload length (0 when its header is cut)."""
    if len(tcp) < 13:
        return 0
    return max(0, wire_len - (tcp[12] >> 4) * 4)


def was_sent(sent, k):
    """Whether quote k lies in a segment of sent: same addresses, ports
    and acknowledgement (when quoted), seq within the segment."""
    src, dst, sport, dport, seq, ack = k
    for s_seq, s_len in sent.get((src, dst, sport, dport, ack), ()):
        if (seq - s_seq) % (1 << 32) < max(s_len, 1):
            return True
    return False


def main():
    path, mine = sys.argv[1], sys.argv[2:]
    import ipaddress
    addrs = {ipaddress.ip_address(a).packed for a in mine}
    sent, errors = {}, []
    for data, _ in RawPcapReader(path):
        data = bytes(data)
        ip = ip_payload(data)
        if ip is None:
            continue
        src, dst, proto, pay, wire = ip
        if proto == 6 and src in addrs and len(pay) >= 12:
            n = data_len(pay, wire)
            for with_ack in (True, False):
                k = tcp_key(src, dst, pay, with_ack)
                sent.setdefault(k[:4] + k[5:], []).append((k[4], n))
        elif proto in (1, 58) and dst in addrs and len(pay) >= 8:
            typ = pay[0]
            if (proto == 1 and typ not in (3, 11, 12)) or (proto == 58 and typ not in (1, 2, 3, 4)):
                continue
            q = pay[8:]
            if proto == 1 and len(q) >= 20 and q[9] == 6:
                qihl = (q[0] & 15) * 4
                errors.append((4, typ, tcp_key(q[12:16], q[16:20], q[qihl:], True)))
            elif proto == 58 and len(q) >= 40 and q[6] == 6:
                errors.append((6, typ, tcp_key(q[8:24], q[24:40], q[40:], True)))
    bad = 0
    for fam in (4, 6):
        mine_errs = [e for e in errors if e[0] == fam]
        matched = sum(1 for _, _, k in mine_errs if was_sent(sent, k))
        bad += len(mine_errs) - matched
        print("IPv%d: %d ICMP error(s) quoting TCP, %d quoting a segment this host sent"
              % (fam, len(mine_errs), matched))
    for fam, typ, k in errors:
        if not was_sent(sent, k):
            print("  not ours: IPv%d type %d quoting port %d > %d seq %d ack %s"
                  % (fam, typ, k[2], k[3], k[4], k[5]))
    sys.exit(0 if errors and bad == 0 else 1)


if __name__ == "__main__":
    main()
