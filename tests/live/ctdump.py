#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Lists the IPv4 TCP conntrack entries of the current namespace straight from
ctnetlink, with what conntrack(8) does not print: one line per entry,
"sport dport mark status seqadj_reply synproxy_tsoff" ("-" when absent).
Used by tests/live/fastpath.sh to check the entries synproxyd makes."""
import socket
import struct

NETLINK_NETFILTER = 12
CT_GET, NLM_F_REQUEST, NLM_F_DUMP = (1 << 8) | 1, 1, 0x300
CTA_TUPLE_ORIG, CTA_STATUS, CTA_MARK = 1, 3, 8
CTA_SEQ_ADJ_REPLY, CTA_SYNPROXY = 16, 24


def attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4:
            break
        out[atype & 0x3FFF] = buf[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    req = struct.pack("=LHHLL", 20, CT_GET, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    s.send(req + struct.pack("=BBH", socket.AF_INET, 0, 0))
    while True:
        data = s.recv(1 << 16)
        off = 0
        while off < len(data):
            mlen, mtype = struct.unpack_from("=LH", data, off)
            if mtype in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                return
            a = attrs(data[off + 20:off + mlen])
            proto = attrs(attrs(a[CTA_TUPLE_ORIG])[2])
            if proto.get(1) == b"\x06":
                sport = struct.unpack(">H", proto[2])[0]
                dport = struct.unpack(">H", proto[3])[0]
                mark = struct.unpack(">L", a[CTA_MARK])[0] if CTA_MARK in a else 0
                status = struct.unpack(">L", a[CTA_STATUS])[0]
                seq = "-"
                if CTA_SEQ_ADJ_REPLY in a:
                    sa = attrs(a[CTA_SEQ_ADJ_REPLY])
                    seq = str(struct.unpack(">L", sa[3])[0]) if 3 in sa else "-"
                tsoff = "-"
                if CTA_SYNPROXY in a:
                    sp = attrs(a[CTA_SYNPROXY])
                    tsoff = str(struct.unpack(">L", sp[3])[0]) if 3 in sp else "-"
                print(sport, dport, hex(mark), hex(status), seq, tsoff)
            off += (mlen + 3) & ~3


main()
