#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks, independently of the proxy's code, that a replay was transparent.

usage: check_translation.py INPUT.pcap OUTPUT.pcap [--wscale FROM:TO]

INPUT is a case's capture (client and server talking directly), OUTPUT what
synproxy-replay let through or sent.  For every connection:
  - each client->server packet the backend receives, other than the proxy's
    own SYN and handshake ACK, must equal a packet of the capture byte for
    byte (the tool's mapping and the proxy's translation cancel out), in
    capture order, and every client data/FIN/RST segment must arrive;
  - each server->client packet the client receives, other than the proxy's
    SYN-ACKs, must equal a server packet of the capture except seq + D
    (D = proxy ISN - server ISN), TSval + Dts (proxy TSval - server TSval in
    the SYN-ACKs), the window when --wscale says the scales differ, and the
    TCP checksum, which must be valid; every server data/FIN/RST segment
    must arrive.
Prints what it checked; exits 1 on any mismatch.
"""
import struct
import sys

try:
    from scapy.utils import RawPcapReader
except ImportError:
    sys.exit("check_translation.py needs scapy (Debian package python3-scapy)")

SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Seg:
    """An IPv4/IPv6 TCP packet decoded with plain struct (no extension headers)."""

    def __init__(self, raw):
        self.raw = bytes(raw)
        v = raw[0] >> 4
        if v == 4:
            ihl = (raw[0] & 15) * 4
            end = struct.unpack("!H", raw[2:4])[0]
            self.src, self.dst, self.l4 = raw[12:16], raw[16:20], ihl
            pseudo = raw[12:20] + struct.pack("!BBH", 0, 6, end - ihl)
        elif v == 6:
            end = 40 + struct.unpack("!H", raw[4:6])[0]
            self.src, self.dst, self.l4 = raw[8:24], raw[24:40], 40
            pseudo = raw[8:40] + struct.pack("!IxxxB", end - 40, 6)
        else:
            raise ValueError("not IP")
        t = self.l4
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", raw[t:t + 12])
        self.doff = (raw[t + 12] >> 4) * 4
        self.flags = raw[t + 13]
        self.win = struct.unpack("!H", raw[t + 14:t + 16])[0]
        self.paylen = end - t - self.doff
        self.end, self.pseudo = end, pseudo
        self.ts_off = None
        i = t + 20
        while i < t + self.doff:
            kind = raw[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            if kind == 8:
                self.ts_off = i
            i += raw[i + 1]
        self.tsval = struct.unpack("!I", raw[self.ts_off + 2:self.ts_off + 6])[0] \
            if self.ts_off else None

    def csum_ok(self):
        return csum16(self.pseudo + self.raw[self.l4:self.end]) == 0xFFFF

    def key(self):
        return (self.src, self.sport, self.dst, self.dport)


def with_fixed_csum(raw, seg):
    b = bytearray(raw)
    t = seg.l4
    b[t + 16:t + 18] = b"\0\0"
    c = 0xFFFF - csum16(seg.pseudo + bytes(b[t:seg.end]))
    b[t + 16:t + 18] = struct.pack("!H", c)
    return bytes(b)


def read(path):
    return [Seg(raw) for raw, _ in RawPcapReader(path)]


def main():
    args = sys.argv[1:]
    wscale = None
    if "--wscale" in args:
        i = args.index("--wscale")
        a, b = args[i + 1].split(":")
        wscale = (int(a), int(b))
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    inp, outp = read(args[0]), read(args[1])
    failures = []
    checked = 0

    clients = {}
    for s in inp:
        if s.flags & (SYN | ACK) == SYN:
            clients.setdefault(s.key(), s)
    for ckey, syn in clients.items():
        skey = (ckey[2], ckey[3], ckey[0], ckey[1])
        name = "%s -> %s" % (ckey[1], ckey[3])
        orig_c = [s for s in inp if s.key() == ckey and not s.flags & SYN]
        orig_s = [s for s in inp if s.key() == skey]
        out_c = [s for s in outp if s.key() == ckey and not s.flags & SYN]
        out_s = [s for s in outp if s.key() == skey]
        b_synack = next((s for s in orig_s if s.flags & (SYN | ACK) == SYN | ACK), None)
        # The client answers the last SYN-ACK it got (retransmissions carry
        # newer TSvals), so that one sets the timestamp offset.
        p_synack = next((s for s in reversed(out_s) if s.flags & (SYN | ACK) == SYN | ACK),
                        None)
        if b_synack is None or p_synack is None:
            failures.append("%s: no SYN-ACK from %s" %
                            (name, "the capture" if b_synack is None else "the proxy"))
            continue
        delta = (p_synack.seq - b_synack.seq) % (1 << 32)
        dts = 0
        if p_synack.tsval is not None and b_synack.tsval is not None:
            dts = (p_synack.tsval - b_synack.tsval) % (1 << 32)

        # client -> server: byte-for-byte, in capture order
        i = 0
        matched = set()
        for n, o in enumerate(out_c):
            j = i
            while j < len(orig_c) and orig_c[j].raw != o.raw:
                j += 1
            if j < len(orig_c):
                matched.add(j)
                i = j + 1
                checked += 1
            elif n == 0 and o.flags & (ACK | RST | FIN) == ACK and o.paylen == 0 and \
                    o.ack == (b_synack.seq + 1) % (1 << 32):
                continue            # the proxy's own ACK completing the backend handshake
            else:
                failures.append("%s: backend got a client packet not in the capture: "
                                "seq=%u ack=%u flags=0x%02x len=%u" %
                                (name, o.seq, o.ack, o.flags, o.paylen))
        for j, o in enumerate(orig_c):
            if j not in matched and (o.paylen or o.flags & (FIN | RST)):
                failures.append("%s: client segment seq=%u len=%u flags=0x%02x never reached "
                                "the backend unchanged" % (name, o.seq, o.paylen, o.flags))

        # server -> client: seq + D, TSval + Dts, window, valid checksum
        orig_sd = [s for s in orig_s if not s.flags & SYN]
        i = 0
        matched = set()
        first = True
        for o in out_s:
            if o.flags & SYN:
                continue
            if first and o.flags & (ACK | RST | FIN | SYN) == ACK and o.paylen == 0 and \
                    o.seq == (p_synack.seq + 1) % (1 << 32) and \
                    o.ack == (syn.seq + 1) % (1 << 32) and o.csum_ok():
                first = False
                continue            # the proxy's own window update after the splice
            first = False
            if not o.csum_ok():
                failures.append("%s: client got seq=%u with a bad TCP checksum" % (name, o.seq))
            found = False
            for j in range(i, len(orig_sd)):
                s = orig_sd[j]
                b = bytearray(s.raw)
                t = s.l4
                b[t + 4:t + 8] = struct.pack("!I", (s.seq + delta) % (1 << 32))
                if s.ts_off is not None:
                    b[s.ts_off + 2:s.ts_off + 6] = struct.pack("!I", (s.tsval + dts) % (1 << 32))
                if wscale is not None:
                    w = min(65535, (s.win << wscale[0]) >> wscale[1])
                    if w == 0 and s.win:
                        w = 1
                    b[t + 14:t + 16] = struct.pack("!H", w)
                if with_fixed_csum(b, s) == o.raw:
                    matched.add(j)
                    i = j + 1
                    found = True
                    checked += 1
                    break
            if not found:
                failures.append("%s: client got a server packet that is no translated "
                                "capture packet: seq=%u ack=%u flags=0x%02x len=%u" %
                                (name, o.seq, o.ack, o.flags, o.paylen))
        for j, s in enumerate(orig_sd):
            if j not in matched and (s.paylen or s.flags & (FIN | RST)):
                failures.append("%s: server segment seq=%u len=%u flags=0x%02x never reached "
                                "the client" % (name, s.seq, s.paylen, s.flags))
        print("%s: seq delta %u, TS delta %u, %d client and %d server packets in the output"
              % (name, delta, dts, len(out_c), len([o for o in out_s if not o.flags & SYN])))

    for f in failures:
        print("MISMATCH " + f)
    print("%d packets checked, %d mismatches" % (checked, len(failures)))
    return 1 if failures or not clients else 0


if __name__ == "__main__":
    sys.exit(main())
