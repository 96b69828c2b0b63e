#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the replay cases: tests/replay/cases/<name>/{input.pcap,synproxyd.conf[,args][,check]}.

Every case is a capture of client and server talking directly (LINKTYPE_RAW,
microsecond timestamps), built from fixed ISNs, timestamps and times so that
the files are the same on every run.  Only documentation addresses are used
(RFC 5737, RFC 3849).  synproxy-replay maps the capture onto the proxy (see
README.md).  Run from anywhere: python3 tests/replay/gen_cases.py
"""
import os
import struct
import sys

try:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import IPv6, ICMPv6DestUnreach, ICMPv6PacketTooBig
    from scapy.packet import Raw
except ImportError:
    sys.exit("gen_cases.py needs scapy (Debian package python3-scapy)")

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")
T0 = 1700000000.0          # first packet of every case
SERVER4 = "203.0.113.2"
SERVER6 = "2001:db8:2::2"
CLIENT6 = "2001:db8:1::10"
M32 = 1 << 32

RULE = ('rules = ( { name = "redis"; dst = "203.0.113.2/32"; ports = [ 6379 ]; '
        'action = "proxy";%s } );\n')
RULE6 = ('rules = ( { name = "redis6"; dst = "2001:db8:2::2/128"; ports = [ 6379 ]; '
         'action = "proxy";%s } );\n')

PING = b"*1\r\n$4\r\nping\r\n"
PONG = b"+PONG\r\n"


class Capture:
    """Packets of one case, kept as (time, bytes) in file order."""

    def __init__(self):
        self.pkts = []

    def add(self, t, data):
        self.pkts.append((t, bytes(data)))

    def write(self, path):
        # pcap global header: magic, v2.4, thiszone, sigfigs, snaplen, LINKTYPE_RAW
        out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]
        for t, data in self.pkts:
            us = int(round(t * 1e6))
            out.append(struct.pack("<IIII", us // 1000000, us % 1000000, len(data), len(data)))
            out.append(data)
        with open(path, "wb") as f:
            f.write(b"".join(out))


class Conv:
    """One TCP conversation; tracks both sides' next sequence numbers and
    timestamp clocks so that each call adds one realistic segment."""

    def __init__(self, cap, client="192.0.2.10", cport=39070, server=SERVER4, sport=6379,
                 cisn=4133153791, sisn=4264776963, cts=2959270704, sts=1618220102,
                 ts=True, cwin=29200, swin=65160, v6=False, sack=True,
                 cwscale=7, swscale=7, mss=1460):
        self.cap, self.v6 = cap, v6
        self.client, self.cport, self.server, self.sport = client, cport, server, sport
        self.cisn, self.sisn = cisn % M32, sisn % M32
        self.cnxt, self.snxt = self.cisn, self.sisn
        self.cts0, self.sts0, self.ts = cts, sts, ts
        self.cwin, self.swin = cwin, swin
        self.sack, self.cwscale, self.swscale, self.mss = sack, cwscale, swscale, mss
        self.last_cts, self.last_sts = 0, 0

    def _ip(self, src, dst):
        if self.v6:
            return IPv6(src=src, dst=dst, hlim=64)
        return IP(src=src, dst=dst, ttl=64, flags="DF", id=0)

    def syn_opts(self, tsval, tsecr):
        o = []
        if self.mss is not None:
            o.append(("MSS", self.mss))
        if self.sack:
            o.append(("SAckOK", b""))
        if self.ts:
            o.append(("Timestamp", (tsval, tsecr)))
        if self.cwscale is not None:
            o += [("NOP", None), ("WScale", self.cwscale)]
        return o

    def seg(self, who, t, flags, data=b"", seq=None, ack=None, win=None, opts=None,
            extra_opts=None, tos=0):
        """Adds a segment from 'c' or 's' at T0 + t; returns its bytes."""
        client = who == "c"
        ms = int(round(t * 1000))
        tsval = (self.cts0 if client else self.sts0) + ms
        tsecr = self.last_sts if client else self.last_cts
        if client:
            self.last_cts = tsval
        else:
            self.last_sts = tsval
        if opts is None:
            if "S" in flags:
                opts = self.syn_opts(tsval, tsecr if "A" in flags else 0)
                if not client:
                    opts = self.server_syn_opts(tsval, tsecr)
            elif self.ts:
                opts = [("NOP", None), ("NOP", None), ("Timestamp", (tsval, tsecr))]
            else:
                opts = []
        if extra_opts:
            opts = opts + extra_opts
        if seq is None:
            seq = self.cnxt if client else self.snxt
        if ack is None:
            ack = (self.snxt if client else self.cnxt) if "A" in flags else 0
        if win is None:
            win = self.cwin if client else self.swin
        src, dst = (self.client, self.server) if client else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if client else (self.sport, self.cport)
        ip = self._ip(src, dst)
        if self.v6:
            ip.tc = tos
        else:
            ip.tos = tos
        pkt = ip / TCP(sport=sp, dport=dp, seq=seq % M32, ack=ack % M32, flags=flags,
                       window=win, options=opts)
        if data:
            pkt = pkt / Raw(load=data)
        raw = bytes(pkt)
        self.cap.add(T0 + t, raw)
        used = len(data) + (1 if "S" in flags else 0) + (1 if "F" in flags else 0)
        if client:
            self.cnxt = (seq + used) % M32 if (seq - self.cnxt) % M32 == 0 else self.cnxt
        else:
            self.snxt = (seq + used) % M32 if (seq - self.snxt) % M32 == 0 else self.snxt
        return raw

    def server_syn_opts(self, tsval, tsecr):
        o = []
        if self.mss is not None:
            o.append(("MSS", self.mss))
        if self.sack:
            o.append(("SAckOK", b""))
        if self.ts:
            o.append(("Timestamp", (tsval, tsecr)))
        if self.swscale is not None:
            o += [("NOP", None), ("WScale", self.swscale)]
        return o

    def c(self, t, flags, data=b"", **kw):
        return self.seg("c", t, flags, data, **kw)

    def s(self, t, flags, data=b"", **kw):
        return self.seg("s", t, flags, data, **kw)

    def handshake(self, t=0.0):
        self.c(t, "S")
        self.s(t + 0.000061, "SA")
        self.c(t + 0.000089, "A")

    def ping_pong(self, t):
        self.c(t, "PA", PING)
        self.s(t + 0.000041, "A")
        self.s(t + 0.000083, "PA", PONG)
        self.c(t + 0.000102, "A")

    def close_client_first(self, t):
        self.c(t, "FA")
        self.s(t + 0.000044, "A")
        self.s(t + 0.000131, "FA")
        self.c(t + 0.000150, "A")


def write_case(name, cap, conf, args=None, check=False, note=""):
    """args: extra synproxy-replay arguments; check: True or extra
    check_translation.py arguments to verify transparency."""
    d = os.path.join(CASES, name)
    os.makedirs(d, exist_ok=True)
    cap.write(os.path.join(d, "input.pcap"))
    with open(os.path.join(d, "synproxyd.conf"), "w") as f:
        f.write("# %s\n" % note if note else "")
        f.write(conf)
    for fname, want in (("args", args), ("check", check)):
        path = os.path.join(d, fname)
        if want:
            with open(path, "w") as f:
                f.write(want + "\n" if isinstance(want, str) else "")
        elif os.path.exists(path):
            os.remove(path)


def full(conv, t=0.0):
    conv.handshake(t)
    conv.ping_pong(t + 0.000203)
    conv.close_client_first(t + 0.000410)


def raw_ipv4_tcp(tcp_bytes, src="192.0.2.10", dst=SERVER4, total=None):
    """An IPv4 header in front of arbitrary TCP bytes (for malformed cases)."""
    ip = IP(src=src, dst=dst, ttl=64, flags="DF", id=0, proto=6,
            len=total if total is not None else 20 + len(tcp_bytes))
    return bytes(ip)[:20] + tcp_bytes


def icmp_error(cap, t, router, seg, kind, mtu=1280, v6=False):
    """Adds at T0 + t an ICMP error from router to the source of seg (the
    bytes of an IP packet), quoting as much of it as Linux does (576 bytes
    in all for IPv4, 1280 for IPv6); kind: "frag" (fragmentation needed or
    packet too big), "time" (time exceeded), "unreach" (host or address
    unreachable)."""
    if v6:
        src = IPv6(seg[:40]).src
        quote = seg[:1280 - 48]
        msg = {"frag": ICMPv6PacketTooBig(mtu=mtu), "unreach": ICMPv6DestUnreach(code=3)}[kind]
        pkt = IPv6(src=router, dst=src, hlim=64) / msg / Raw(load=quote)
    else:
        src = IP(seg[:20]).src
        quote = seg[:576 - 28]
        msg = {"frag": ICMP(type=3, code=4, nexthopmtu=mtu), "time": ICMP(type=11, code=0),
               "unreach": ICMP(type=3, code=1)}[kind]
        pkt = IP(src=router, dst=src, ttl=64, id=0) / msg / Raw(load=quote)
    cap.add(T0 + t, bytes(pkt))


def icmp_pmtu(cap, v6):
    """A connection whose path has a 1280-byte link on each side of the
    proxy: the client's large request draws "fragmentation needed" (IPv6:
    "packet too big") from a router behind the proxy, the server's large
    answer one from a router in front of it; each sender resends in
    smaller segments.  IPv4 adds a time exceeded about the server's SYN-ACK
    (the proxy's own), a late error about data already acknowledged, and
    one about a connection nobody has."""
    if v6:
        cv = Conv(cap, client=CLIENT6, server=SERVER6, v6=True, cwin=28800, swin=64800,
                  mss=1440)
        front, back = "2001:db8:1::fe", "2001:db8:2::fe"
        small = 1280 - 60 - 12
    else:
        cv = Conv(cap)
        front, back = "192.0.2.254", "203.0.113.254"
        small = 1280 - 40 - 12
    cv.handshake()
    synack = cap.pkts[1][1]
    req = bytes(range(256)) * 5 + b"\r\n" * 10               # 1300 bytes
    seq = cv.cnxt
    big = cv.c(0.001, "PA", req)
    icmp_error(cap, 0.0011, back, big, "frag", v6=v6)
    cv.c(0.0012, "A", req[:small], seq=seq)
    cv.c(0.0013, "PA", req[small:], seq=seq + small)
    cv.s(0.0014, "A")
    answer = bytes(reversed(range(256))) * 5 + b"+OK" * 40     # 1400 bytes
    seq = cv.snxt
    big = cv.s(0.002, "PA", answer)
    icmp_error(cap, 0.0021, front, big, "frag", v6=v6)
    cv.s(0.0022, "A", answer[:small], seq=seq)
    cv.s(0.0023, "PA", answer[small:], seq=seq + small)
    cv.c(0.0024, "A")
    if not v6:
        icmp_error(cap, 0.003, front, synack, "time")
        icmp_error(cap, 0.0031, front, big, "unreach")
        other = bytes(IP(src=SERVER4, dst="192.0.2.10", ttl=64, flags="DF", id=0) /
                      TCP(sport=6379, dport=39999, seq=1, ack=1, flags="A"))
        icmp_error(cap, 0.0032, front, other, "frag")
    cv.close_client_first(0.004)


def main():
    def conf(extra=""):
        return RULE % extra

    # the capture of the article
    cap = Capture()
    full(Conv(cap))
    write_case("redis_ping", cap, conf(), check=True,
               note="redis PING/PONG through the proxy, closed by the client")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S")
    cv.c(1.0, "S", seq=cv.cisn)
    cv.s(1.000061, "SA")
    cv.c(1.000089, "A")
    cv.ping_pong(1.000203)
    cv.close_client_first(1.000410)
    write_case("syn_retransmit", cap, conf(), check=True,
               note="the client retransmits its SYN after 1 s; same SYN-ACK answers")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S")
    cv.s(0.000061, "SA")
    write_case("synack_lost", cap, conf(), args="--drain 20",
               note="the client never ACKs: SYN-ACK retransmits at +1, +3, +7 s, then expiry")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S")
    cv.s(0.000061, "SA")
    cv.c(0.000089, "A", ack=cv.snxt + 1000)
    cv.c(0.200000, "A")
    cv.ping_pong(0.200203)
    cv.close_client_first(0.200410)
    write_case("bad_ack", cap, conf(),
               note="a handshake ACK with a wrong number is dropped; the right one then works")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S")
    cv.s(0.000061, "SA")
    cv.c(0.000089, "PA", PING)
    cv.s(0.000130, "A")
    cv.s(0.000172, "PA", PONG)
    cv.c(0.000191, "A")
    cv.close_client_first(0.000400)
    write_case("data_in_third_packet", cap, conf(), check=True,
               note="the handshake ACK carries the request")

    # The backend's SYN-ACK is stamped 50 ms after the client's request:
    # the file order lets the tool know B before the client's ACK, the
    # timestamp tells when the backend really answered.
    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S")
    cv.s(0.050000, "SA")
    cv.c(0.000089, "A")
    cv.c(0.000150, "PA", PING)
    cv.s(0.050041, "A")
    cv.s(0.050083, "PA", PONG)
    cv.c(0.050102, "A")
    cv.close_client_first(0.050300)
    write_case("early_data", cap, conf(), check=True,
               note="client data before the backend answers is held, then released")

    # The capture has no server SYN-ACK: the client's ACK assumes a server
    # ISN of 0x10000000 (the tool takes ack - 1 as B).
    cap = Capture()
    cv = Conv(cap, sisn=0x10000000)
    cv.c(0.0, "S")
    cv.s(0.000061, "RA", seq=0, ack=cv.cisn + 1, opts=[])
    cv.snxt = cv.sisn + 1
    cv.c(0.000089, "A")
    write_case("backend_refuses", cap, conf(),
               note="the backend answers the proxy's SYN with RST: the client is reset")

    cap = Capture()
    cv = Conv(cap, sisn=0x10000000)
    cv.c(0.0, "S")
    cv.snxt = cv.sisn + 1
    cv.c(0.000089, "A")
    cv.c(0.000150, "PA", PING)
    write_case("backend_silent", cap, conf(), args="--drain 20",
               note="the backend never answers: SYN retransmits, then the client is reset")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.ping_pong(0.000203)
    cv.s(0.000410, "FA")
    cv.c(0.000452, "A")
    cv.c(0.000540, "FA")
    cv.s(0.000561, "A")
    write_case("fin_server_first", cap, conf(), check=True, note="the server closes first")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.ping_pong(0.000203)
    cfin, sfin = cv.cnxt, cv.snxt
    cv.c(0.000410, "FA")
    cv.s(0.000411, "FA", ack=cfin)
    cv.c(0.000452, "A")
    cv.s(0.000453, "A")
    write_case("simultaneous_close", cap, conf(), check=True,
               note="both sides send FIN before seeing the other's")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.ping_pong(0.000203)
    cv.c(0.000410, "RA")
    write_case("rst_midstream", cap, conf(), check=True,
               note="the client resets an established connection")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.ping_pong(0.000203)
    nxt = cv.cnxt
    cv.c(7200.0, "A", seq=nxt - 1)                 # Linux keepalive: no data
    cv.s(7200.000040, "A")
    cv.c(7275.0, "A", b"\x00", seq=nxt - 1)        # BSD-style: one garbage byte
    cv.s(7275.000040, "A")
    cv.close_client_first(7300.0)
    write_case("keepalive", cap, conf(), check=True,
               note="keepalive probes at seq = snd.nxt - 1 with 0 and 1 byte")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.c(0.000203, "PA", PING)
    cv.s(0.000244, "A", win=0)
    cv.c(0.200000, "A", b"*", seq=cv.cnxt)         # probe: one new byte into a zero window
    cv.cnxt -= 1
    cv.s(0.200041, "A", win=0)
    cv.s(0.400000, "A", win=512)
    cv.c(0.400020, "PA", b"*1\r\n")
    cv.s(0.400061, "A")
    cv.close_client_first(0.400300)
    write_case("zero_window_probe", cap, conf(), check=True,
               note="the server closes its window; the client probes it")

    cap = Capture()
    cv = Conv(cap, cisn=M32 - 10, sisn=M32 - 5)
    cv.handshake()
    cv.c(0.000203, "PA", b"0123456789abcdef")      # crosses 2^32 on the client side
    cv.s(0.000244, "A")
    cv.s(0.000286, "PA", b"fedcba9876543210")      # crosses 2^32 on the server side
    cv.c(0.000305, "A")
    cv.close_client_first(0.000410)
    write_case("seq_wrap", cap, conf(), check=True,
               note="ISNs just below 2^32: data crosses the wrap both ways")

    cap = Capture()
    cv = Conv(cap)
    cv.handshake()
    cv.c(0.000203, "PA", PING)
    base = cv.snxt
    cv.s(0.000244, "A", b"A" * 100)                # seg 1 (lost on the way to the client)
    cv.s(0.000250, "PA", b"B" * 100)               # seg 2
    cv.s(0.000256, "PA", b"C" * 100)               # seg 3
    cv.snxt = base
    sack = lambda blocks: [("NOP", None), ("NOP", None), ("SAck", blocks)]
    cv.c(0.000290, "A", ack=base, extra_opts=sack((base + 100, base + 200)))
    cv.c(0.000296, "A", ack=base, extra_opts=sack((base + 100, base + 300)))
    cv.s(0.000500, "A", b"A" * 100)                # retransmission of seg 1
    cv.snxt = base + 300
    cv.c(0.000520, "A")
    cv.close_client_first(0.000700)
    write_case("sack_blocks", cap, conf(), check=True,
               note="the client SACKs out-of-order server data")

    cap = Capture()
    cv = Conv(cap, swscale=2)
    full(cv)
    write_case("wscale_differs", cap, conf(" wscale = 7;"), check="--wscale 2:7",
               note="backend window scale 2, the proxy announces 7")

    cap = Capture()
    full(Conv(cap, ts=False, sack=False, cwscale=None, swscale=None, mss=None, cwin=8192))
    write_case("no_options", cap, conf(), check=True, note="SYN without any option")

    cap = Capture()
    cv = Conv(cap, client="198.51.100.20", cport=50123, ts=False, cwin=64240, cwscale=8)
    win_opts = [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None),
                ("SAckOK", b"")]
    cv.c(0.0, "S", opts=win_opts)
    cv.s(0.000061, "SA")
    cv.c(0.000089, "A", win=1026)
    cv.cwin = 1026
    cv.ping_pong(0.000203)
    cv.close_client_first(0.000410)
    write_case("windows_like", cap, conf(), check=True,
               note="Windows option layout: MSS, NOP, wscale 8, NOP, NOP, SACK-perm, no TS")

    cap = Capture()
    full(Conv(cap, client="198.51.100.30", cport=1025, ts=False, sack=False, cwscale=None,
              swscale=None, mss=536, cwin=4096))
    write_case("old_stack_mss_only", cap, conf(), check=True, note="only an MSS option")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "SEC")
    cv.s(0.000061, "SAE")
    cv.c(0.000089, "A")
    cv.c(0.000203, "PA", PING, tos=0x02)            # ECT(0)
    cv.s(0.000244, "A", tos=0x02)
    cv.s(0.000286, "PA", PONG, tos=0x02)
    cv.c(0.000305, "A", tos=0x02)
    cv.close_client_first(0.000410)
    write_case("ecn_setup", cap, conf(" ecn = true;"), check=True,
               note="ECN-setup SYN (ECE|CWR) with ecn enabled")

    cap = Capture()
    cv = Conv(cap)
    cv.c(0.0, "S", PING)
    cv.cnxt = cv.cisn + 1                           # the server ignores SYN data
    cv.s(0.000061, "SA")
    cv.c(0.000089, "A")
    cv.ping_pong(0.000203)
    cv.close_client_first(0.000410)
    write_case("syn_with_payload", cap, conf(),
               note="a SYN carrying data: the data is not acknowledged and is resent")

    cap = Capture()
    full(Conv(cap))
    write_case("cookies_always", cap, 'cookies = "always";\n' + conf(), check=True,
               note="every SYN answered with a cookie")

    # 40 clients whose handshakes overlap, against a 16-entry cache
    cap = Capture()
    convs = [Conv(cap, client="192.0.2.%d" % (20 + i), cport=40000 + i,
                  cisn=(1000003 * (i + 1)) % M32, sisn=(2000029 * (i + 7)) % M32,
                  cts=100000 + i * 1000, sts=500000 + i * 1000) for i in range(40)]
    for i, cv in enumerate(convs):
        cv.c(i * 0.000010, "S")
    for i, cv in enumerate(convs):
        cv.s(0.000500 + i * 0.000010, "SA")
    for i, cv in enumerate(convs):
        cv.c(0.001000 + i * 0.000010, "A")
    for i, cv in enumerate(convs):
        cv.ping_pong(0.002000 + i * 0.000200)
    for i, cv in enumerate(convs):
        cv.close_client_first(0.020000 + i * 0.000200)
    write_case("cache_full", cap, 'syncache = { buckets = 16; bucket_limit = 1; '
               'max_entries = 16; };\n' + conf(),
               note="more concurrent handshakes than the SYN cache holds: all complete")

    cap = Capture()
    full(Conv(cap, client=CLIENT6, server=SERVER6, v6=True, cwin=28800, swin=64800,
              mss=1440))
    write_case("ipv6_ping", cap, RULE6 % "", check=True, note="redis PING/PONG over IPv6")

    cap = Capture()
    cv = Conv(cap, cport=39071)
    cv.c(0.0, "SF")
    cv = Conv(cap, cport=39072)
    cv.c(0.001, "SR")
    cv = Conv(cap, cport=39073)
    cv.c(0.002, "", seq=cv.cisn)
    write_case("illegal_flags", cap, conf(), note="SYN+FIN, SYN+RST and no flags: dropped")

    cap = Capture()
    good = bytes(TCP(sport=39080, dport=6379, seq=1, flags="S", window=29200,
                     options=[("MSS", 1460), ("SAckOK", b"")]))
    cap.add(T0, raw_ipv4_tcp(good[:12]))                          # truncated TCP header
    bad_doff = bytearray(good)
    bad_doff[12] = (15 << 4)                                       # 60 bytes claimed, 28 there
    cap.add(T0 + 0.001, raw_ipv4_tcp(bytes(bad_doff)))
    low_doff = bytearray(good)
    low_doff[12] = (4 << 4)                                        # below the minimum of 5
    cap.add(T0 + 0.002, raw_ipv4_tcp(bytes(low_doff)))
    overrun = bytearray(good)
    overrun[20:24] = bytes([2, 4, 5, 0xb4])
    overrun[24:28] = bytes([8, 10, 0, 0])                         # TS claims 10 bytes, 4 left
    cap.add(T0 + 0.003, raw_ipv4_tcp(bytes(overrun)))
    zero_len = bytearray(good)
    zero_len[24:28] = bytes([4, 0, 1, 1])                         # option length 0
    cap.add(T0 + 0.004, raw_ipv4_tcp(bytes(zero_len)))
    cap.add(T0 + 0.005, raw_ipv4_tcp(good, total=200))            # IP length past the end
    write_case("malformed", cap, conf(),
               note="truncated TCP header, bad data offsets, overrunning options, bad length")

    cap = Capture()
    icmp_pmtu(cap, False)
    write_case("icmp_pmtu", cap, conf(),
               note="ICMP errors: fragmentation needed both ways translated; about our "
               "SYN-ACK, acknowledged data or no connection: dropped or passed")

    cap = Capture()
    icmp_pmtu(cap, True)
    write_case("icmp6_pmtu", cap, RULE6 % "",
               note="ICMPv6 packet too big both ways, translated")

    names = sorted(os.listdir(CASES))
    print("wrote %d cases in %s" % (len(names), CASES))


if __name__ == "__main__":
    main()
