#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Live TCP scenarios through the real synproxyd (tests/live/scenarios.sh).

Client side (scapy in the client namespace, a real Linux backend):
  syn-retransmit DST PORT SPORT   a duplicate SYN gets the same SYN-ACK back
  synack-lost DST PORT SPORT      SYN-ACKs at +1/+3/+7 s, identical, then completes
  data-early DST PORT SPORT       data in the third packet and before the backend answers
  fin-client DST PORT SPORT       client FIN first
  fin-server DST PORT SPORT       backend FIN first, client data after it, client FIN
  rst-client DST PORT SPORT       exact RST from the client mid-stream
  rst-server DST PORT SPORT       RST from the backend mid-stream
  keepalive DST PORT SPORT        probes at snd.nxt-1 with 0 and 1 byte
  zero-window DST PORT SPORT      the backend's zero-window probes answered
  wrap-client DST PORT SPORT      client ISN just below 2^32, data across it
  cookie DST PORT SPORT CASE      handshake while the SYN cache is full (CASE ts|nots)
Backend side (scapy in the backend namespace, a real Linux client):
  backend-wrap PORT ISN           backend ISN just below 2^32, data across it both ways
  backend-simclose PORT           FINs cross: the backend's FIN does not ack the client's
Real Linux stacks:
  record-server DIR PORT...       echo server recording every byte per connection
  linux-client DST PORT MODE      a socket client (wrap, simclose, silent)
Capture analysis:
  backend-syns PCAP SPORT         one line per SYN from SPORT: time, seq, options

Every scenario prints key=value lines and exits non-zero with a message on
any inconsistency.  The shell test drops the kernel's own RSTs for the ports
scapy speaks for.  CTL (synproxyctl -s SOCKET) lets scenarios look at
`synproxyctl flows`; REC is the record-server's directory.
"""
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

M32 = 2**32
CTL = os.environ.get("CTL", "")
REC = os.environ.get("REC", "")
OPEN = []               # client connections, reset if a scenario fails
LINUX_OPTS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (0, 0)), ("NOP", None),
              ("WScale", 7)]


def die(msg):
    print("scenarios: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def out(**kv):
    print(" ".join("%s=%s" % (k, v) for k, v in kv.items()), flush=True)


def scapy():
    import scapy.all as s
    s.conf.verb = 0
    return s


def pattern(n, k):
    """n deterministic bytes; k tells the streams apart."""
    return bytes((i * k + 13) % 251 for i in range(n))


# ---- synproxyctl flows -----------------------------------------------------

def flow_lines(cport):
    if not CTL:
        return []
    r = subprocess.run(CTL.split() + ["flows"], capture_output=True, text=True, timeout=10)
    return [ln for ln in r.stdout.splitlines()
            if len(ln.split()) > 2 and ln.split()[1].endswith(":%d" % cport)]


def flow_state(cport):
    ls = flow_lines(cport)
    return ls[0].split()[0] if ls else "gone"


def expect_flow_gone(cport, within):
    end = time.time() + within
    while time.time() < end:
        if not flow_lines(cport):
            return
        time.sleep(0.1)
    die("flow of port %d still listed after %.1f s: %s" % (cport, within, flow_lines(cport)))


def expect_flow_state(cport, state):
    got = flow_state(cport)
    if got != state:
        die("flow of port %d is %s, want %s" % (cport, got, state))


# ---- the record server's files ---------------------------------------------

def record_of(cport, within=15.0, ended=True):
    """Bytes the backend application received from cport, and how its
    connection ended (eof/reset), once it has ended."""
    base = os.path.join(REC, str(cport))
    end = time.time() + within
    while time.time() < end:
        if not ended or os.path.exists(base + ".end"):
            break
        time.sleep(0.05)
    else:
        die("backend connection from port %d did not end within %.1f s" % (cport, within))
    data = open(base + ".bin", "rb").read() if os.path.exists(base + ".bin") else b""
    how = open(base + ".end").read().strip() if os.path.exists(base + ".end") else "open"
    return data, how


def expect_record(cport, want, how):
    data, got_how = record_of(cport)
    if data != want:
        die("backend application got %r, want %r (exactly once, in order)" % (data, want))
    if got_how != how:
        die("backend connection ended by %s, want %s" % (got_how, how))


# ---- a scapy TCP endpoint --------------------------------------------------

class Tcb:
    """One end of a TCP connection spoken by scapy: sends with the current
    seq/ack (and timestamps when on), collects the peer's packets."""

    def __init__(self, s, src, dst, sport, dport, iface):
        self.s = s
        self.dst, self.sport, self.dport = dst, sport, dport
        self.sock = s.conf.L3socket()
        self.snd_nxt = self.rcv_nxt = 0
        self.ts = None          # our TSval when timestamps are on
        self.ts_recent = 0
        self.win = 64000
        self.got = []
        self.src = src

        # dst and dport may be None until a backend has seen the SYN.
        def flt(p):
            return (s.TCP in p and p[s.TCP].dport == self.sport and
                    self.dport in (None, p[s.TCP].sport) and
                    self.dst in (None, p[s.IPv6].src if s.IPv6 in p else p[s.IP].src))
        self.sn = s.AsyncSniffer(iface=iface, lfilter=flt, store=False,
                                 prn=lambda p: self.got.append(p))
        self.sn.start()
        time.sleep(0.3)

    def close(self):
        self.sn.stop()

    def ip(self):
        s = self.s
        return s.IPv6(dst=self.dst) if ":" in self.dst else s.IP(dst=self.dst)

    def pkt(self, flags, data=b"", seq=None, ack=None, win=None, opts=None):
        s = self.s
        if opts is None:
            opts = []
            if self.ts is not None:
                self.ts = (self.ts + 1) % M32
                opts = [("NOP", None), ("NOP", None), ("Timestamp", (self.ts, self.ts_recent))]
        t = s.TCP(sport=self.sport, dport=self.dport, flags=flags,
                  seq=self.snd_nxt if seq is None else seq,
                  ack=(self.rcv_nxt if ack is None else ack) if "A" in flags else 0,
                  window=self.win if win is None else win, options=opts)
        p = self.ip() / t
        return p / s.Raw(data) if data else p

    def send(self, flags, data=b"", **kw):
        self.sock.send(self.pkt(flags, data, **kw))
        if "seq" not in kw:
            self.snd_nxt = (self.snd_nxt + len(data) + ("S" in flags) + ("F" in flags)) % M32

    def note(self, p):
        o = dict(p[self.s.TCP].options)
        if "Timestamp" in o:
            self.ts_recent = o["Timestamp"][0]

    def wait(self, pred, timeout, what, since=0, fatal=True):
        end = time.time() + timeout
        while time.time() < end:
            for p in self.got[since:]:
                if pred(p[self.s.TCP]):
                    self.note(p)
                    return p
            time.sleep(0.01)
        if not fatal:
            return None
        die("%s: nothing within %.1f s; seen: %s" % (what, timeout, self.seen()))

    def seen(self):
        T = self.s.TCP
        return ["%s seq=%d ack=%d len=%d win=%d" % (p[T].flags, p[T].seq, p[T].ack,
                                                     len(p[T].payload), p[T].window)
                for p in self.got[-12:]]

    def contiguous(self):
        """The bytes received in sequence from rcv_nxt on (duplicates and
        overlaps resolved)."""
        T = self.s.TCP
        segs = {}
        for p in list(self.got):
            if len(p[T].payload):
                segs.setdefault(p[T].seq, bytes(p[T].payload))
        buf = b""
        pos = self.rcv_nxt
        while True:
            nxt = [(q, d) for q, d in segs.items() if (pos - q) % M32 < len(d)]
            if not nxt:
                return buf
            q, d = nxt[0]
            chunk = d[(pos - q) % M32:]
            buf += chunk
            pos = (pos + len(chunk)) % M32

    def drain(self, settle, timeout, what, win=None):
        """Whatever arrives in sequence until nothing more comes for SETTLE
        seconds; acknowledged with window WIN."""
        end = time.time() + timeout
        n, since = 0, time.time()
        while time.time() < end:
            m = len(self.contiguous())
            if m != n:
                n, since = m, time.time()
            elif n and time.time() - since > settle:
                return self.read(n, 1, what, win=win)
            time.sleep(0.02)
        die("%s: nothing settled within %.1f s; seen: %s" % (what, timeout, self.seen()))

    def read(self, n, timeout, what, ack=True, win=None):
        """Reassembles n bytes from rcv_nxt on (duplicates ignored), then
        acknowledges them.  Returns the bytes."""
        end = time.time() + timeout
        buf = b""
        while time.time() < end:
            buf = self.contiguous()
            if len(buf) >= n:
                break
            time.sleep(0.02)
        if len(buf) < n:
            die("%s: %d of %d bytes within %.1f s; seen: %s" % (what, len(buf), n, timeout,
                                                              self.seen()))
        buf = buf[:n]
        self.note(self.got[-1])
        self.rcv_nxt = (self.rcv_nxt + n) % M32
        if ack:
            self.send("A", win=win)
        return buf


def client_open(dst, port, sport, opts=None, isn=None, win=64000, ack=True):
    """Scapy client: SYN, SYN-ACK (checked) and, with ACK, the handshake
    ACK.  Returns the Tcb."""
    s = scapy()
    iface = (s.conf.route6.route(dst) if ":" in dst else s.conf.route.route(dst))[0]
    c = Tcb(s, None, dst, sport, port, iface)
    c.win = win
    isn = random.getrandbits(32) if isn is None else isn
    opts = LINUX_OPTS if opts is None else opts
    syn_opts = [(k, (1000, 0)) if k == "Timestamp" else (k, v) for k, v in opts]
    c.syn = c.pkt("S", seq=isn, opts=syn_opts)
    c.isn = isn
    c.snd_nxt = (isn + 1) % M32
    sa = None
    for _ in range(3):
        c.sock.send(c.syn)
        sa = c.wait(lambda t: t.flags == "SA", 1.5, "SYN-ACK", fatal=False)
        if sa is not None:
            break
    if sa is None:
        die("no SYN-ACK for sport %d" % sport)
    if sa[s.TCP].ack != (isn + 1) % M32:
        die("SYN-ACK ack %d, want %d" % (sa[s.TCP].ack, (isn + 1) % M32))
    c.sa = sa
    c.rcv_nxt = (sa[s.TCP].seq + 1) % M32
    if "Timestamp" in dict(sa[s.TCP].options):
        c.ts = 1000
    OPEN.append(c)
    if ack:
        c.send("A")
        wait_established(sport)
    return c


def wait_established(cport):
    """Waits until the proxy has the backend leg up, so that a scenario's
    data does not go through the hold path (data-early tests that)."""
    end = time.time() + 5
    while flow_state(cport) != "established":
        if time.time() > end:
            die("flow of port %d not established within 5 s: %s" % (cport, flow_lines(cport)))
        time.sleep(0.05)


def handshake_ack(c, data=b""):
    c.send("PA" if data else "A", data)


def echo(c, data, what):
    c.send("PA", data)
    got = c.read(len(data), 15, what)
    if got != data:
        die("%s: echo %r, want %r" % (what, got, data))


def synack_key(sa, s):
    """The SYN-ACK's TCP header as sent, byte for byte, with the two fields
    that must change between retransmissions zeroed: the checksum, and the
    TSval's clock bits (it follows the clock; its low 6 bits carry the
    cookie's options and are kept)."""
    raw = bytearray(bytes(sa[s.TCP]))
    raw[16:18] = b"\0\0"
    i, end = 20, (raw[12] >> 4) * 4
    while i < end and raw[i] != 0:
        if raw[i] == 1:
            i += 1
            continue
        if raw[i] == 8 and i + 10 <= end:
            raw[i + 2:i + 6] = struct.pack("!I", struct.unpack("!I", raw[i + 2:i + 6])[0] & 63)
        i += max(raw[i + 1], 2)
    return raw.hex()


def tsval(sa, s):
    return dict(sa[s.TCP].options).get("Timestamp", (None,))[0]


# ---- client scenarios ------------------------------------------------------

def sc_syn_retransmit(dst, port, sport):
    c = client_open(dst, port, sport, ack=False)
    s = c.s
    mark = len(c.got)
    time.sleep(0.3)
    c.sock.send(c.syn)
    sa2 = c.wait(lambda t: t.flags == "SA", 2, "SYN-ACK to the duplicate SYN", mark)
    if synack_key(sa2, s) != synack_key(c.sa, s):
        die("duplicate SYN answered differently: %s vs %s" % (synack_key(sa2, s),
                                                             synack_key(c.sa, s)))
    handshake_ack(c)
    echo(c, b"after a duplicate SYN\n", "echo")
    c.send("R")
    expect_flow_gone(sport, 3)
    expect_record(sport, b"after a duplicate SYN\n", "reset")
    out(scenario="syn-retransmit", sport=sport, isn1=c.sa[s.TCP].seq, isn2=sa2[s.TCP].seq,
        same_synack=1)


def sc_synack_lost(dst, port, sport):
    c = client_open(dst, port, sport, ack=False)
    s = c.s
    time.sleep(9.5 - 0.1)
    sas = [p for p in c.got if p[s.TCP].flags == "SA"]
    t0 = float(sas[0].time)
    rel = [float(p.time) - t0 for p in sas]
    out(scenario="synack-lost", sport=sport, synacks=len(sas),
        at=",".join("%.3f" % r for r in rel))
    if len(sas) != 4:
        die("%d SYN-ACKs within 9.4 s, want 4 (the first and 3 retransmissions)" % len(sas))
    for want, got in zip((0, 1, 3, 7), rel):
        if abs(got - want) > 0.4:
            die("SYN-ACK at +%.3f s, want +%d s +-0.4" % (got, want))
    ts0 = tsval(sas[0], s)
    for p, r in zip(sas, rel):
        if synack_key(p, s) != synack_key(sas[0], s):
            die("retransmitted SYN-ACK differs: %s vs %s" % (synack_key(p, s),
                                                            synack_key(sas[0], s)))
        # The TSval is a millisecond clock: it advanced with the time.
        dts = (tsval(p, s) - ts0) % M32
        if abs(dts - r * 1000) > 100:
            die("SYN-ACK TSval advanced %d ms in %.3f s" % (dts, r))
    # The ACK to the last copy still opens the connection.
    handshake_ack(c)
    echo(c, b"after three lost SYN-ACKs\n", "echo")
    c.send("R")
    expect_record(sport, b"after three lost SYN-ACKs\n", "reset")
    out(scenario="synack-lost", sport=sport, identical=1, completed=1)


def sc_data_early(dst, port, sport):
    """The backend's first SYN is dropped (shell: iptables nth), so the
    client's data waits in the proxy until the retransmitted SYN is
    answered."""
    c = client_open(dst, port, sport, ack=False)
    parts = [b"data in the third packet;", b"second segment;", b"third segment\n"]
    first_seq = c.snd_nxt
    t0 = time.time()
    handshake_ack(c, parts[0])
    for d in parts[1:]:
        c.send("PA", d)
    # The first segment once more, as a client whose RTO fired would.
    c.send("PA", parts[0], seq=first_seq)
    want = b"".join(parts)
    end = time.time() + 6
    while len(c.contiguous()) < len(want) and time.time() < end:
        time.sleep(0.02)
    if len(c.contiguous()) < len(want):
        # Our client does not retransmit: whatever the proxy released and
        # the backend dropped stays missing.
        die("echo of the held data incomplete after 6 s: the backend application got %r, "
            "want %r; seen: %s" % (record_of(sport, ended=False)[0], want, c.seen()))
    got = c.read(len(want), 1, "echo of the held data")
    took = time.time() - t0
    if got != want:
        die("echo %r, want %r" % (got, want))
    if took < 0.3:
        die("echo after %.3f s: the backend answered the first SYN (no hold)" % took)
    c.send("R")
    expect_record(sport, want, "reset")
    out(scenario="data-early", sport=sport, held_for="%.3f" % took, delivered_once=1)


def fin_end(c, fin):
    """Checks the peer's FIN comes right after the data read so far (it may
    carry data of its own) and acknowledges it."""
    t = fin[c.s.TCP]
    if (t.seq + len(t.payload)) % M32 != c.rcv_nxt:
        die("FIN at seq %d after %d bytes, want it at %d" % (t.seq, len(t.payload), c.rcv_nxt))
    c.rcv_nxt = (c.rcv_nxt + 1) % M32
    c.send("A")


def fin_handshake_end(c, what):
    # Our FIN must be acknowledged (ack = its seq + 1).
    return c.wait(lambda t: t.ack == c.snd_nxt and "A" in t.flags, 15, what)


def sc_fin_client(dst, port, sport):
    c = client_open(dst, port, sport)
    echo(c, b"client closes first\n", "echo")
    expect_flow_state(sport, "established")
    mark = len(c.got)
    c.send("FA")
    fin = c.wait(lambda t: "F" in t.flags, 15, "the backend's FIN", mark)
    fin_handshake_end(c, "ACK of our FIN")
    fin_end(c, fin)
    expect_record(sport, b"client closes first\n", "eof")
    expect_flow_gone(sport, 10)
    out(scenario="fin-client", sport=sport, closed=1)


def sc_fin_server(dst, port, sport):
    c = client_open(dst, port, sport)
    mark = len(c.got)
    echo(c, b"QUIT\n", "echo of QUIT")
    fin = c.wait(lambda t: "F" in t.flags, 15, "the backend's FIN", mark)
    fin_end(c, fin)
    # Half-closed: the client still sends, the backend still receives.
    mark = len(c.got)
    c.send("PA", b"after the backend's FIN\n")
    c.wait(lambda t: t.ack == c.snd_nxt, 15, "ACK of data after the backend's FIN", mark)
    mark = len(c.got)
    c.send("FA")
    fin_handshake_end(c, "ACK of our FIN")
    expect_record(sport, b"QUIT\nafter the backend's FIN\n", "eof")
    expect_flow_gone(sport, 10)
    out(scenario="fin-server", sport=sport, closed=1)


def sc_rst_client(dst, port, sport):
    c = client_open(dst, port, sport)
    echo(c, b"reset by the client\n", "echo")
    c.send("R")
    expect_record(sport, b"reset by the client\n", "reset")
    expect_flow_gone(sport, 3)
    out(scenario="rst-client", sport=sport, removed=1)


def sc_rst_server(dst, port, sport):
    c = client_open(dst, port, sport)
    s = c.s
    mark = len(c.got)
    c.send("PA", b"RST\n")
    rst = c.wait(lambda t: "R" in t.flags, 15, "the backend's RST", mark)
    if rst[s.TCP].seq != c.rcv_nxt:
        die("backend RST seq %d, want %d (translated)" % (rst[s.TCP].seq, c.rcv_nxt))
    expect_record(sport, b"RST\n", "reset")
    expect_flow_gone(sport, 3)
    out(scenario="rst-server", sport=sport, removed=1)


def sc_keepalive(dst, port, sport):
    c = client_open(dst, port, sport)
    s = c.s
    echo(c, b"before the probes\n", "echo")
    for n, probe in enumerate((b"", b"Z")):
        mark = len(c.got)
        c.send("A", probe, seq=(c.snd_nxt - 1) % M32)
        a = c.wait(lambda t: "A" in t.flags, 10, "answer to keepalive %d" % n, mark)
        t = a[s.TCP]
        if t.ack != c.snd_nxt or t.seq != c.rcv_nxt or len(t.payload):
            die("keepalive answer seq %d ack %d len %d, want seq %d ack %d len 0" % (
                t.seq, t.ack, len(t.payload), c.rcv_nxt, c.snd_nxt))
    expect_flow_state(sport, "established")
    echo(c, b"after the probes\n", "echo")
    c.send("R")
    expect_record(sport, b"before the probes\nafter the probes\n", "reset")
    out(scenario="keepalive", sport=sport, probes_answered=2, survived=1)


def sc_zero_window(dst, port, sport):
    """No window scale, a 4000-byte window: the backend fills it, we close
    the window and answer its zero-window probes, then open it again."""
    opts = [("MSS", 1000), ("SAckOK", b""), ("Timestamp", (0, 0))]
    c = client_open(dst, port, sport, opts=opts, win=4000)
    s = c.s
    total = 12000
    c.send("PA", b"SEND %d\n" % total)
    got = c.drain(0.8, 6, "the first window", win=0)
    if not 0 < len(got) <= 4000:
        die("%d bytes into a 4000-byte window" % len(got))
    mark = len(c.got)
    probes = []
    end = time.time() + 8
    while len(probes) < 2 and time.time() < end:
        for p in c.got[mark:]:
            t = p[s.TCP]
            if t.seq == (c.rcv_nxt - 1) % M32 and not len(t.payload):
                probes.append(p)
                c.send("A", win=0)
            elif 0 < (t.seq + len(t.payload) - c.rcv_nxt) % M32 < 2**31:
                # (Retransmissions of what we acknowledged late are fine.)
                die("data into a zero window: seq %d len %d, rcv.nxt %d" % (
                    t.seq, len(t.payload), c.rcv_nxt))
        mark = len(c.got)
        time.sleep(0.02)
    if len(probes) < 2:
        die("%d zero-window probes at seq rcv.nxt-1 within 8 s; seen: %s" % (len(probes),
                                                                            c.seen()))
    c.win = 8000
    c.send("A")
    while len(got) < total:
        got += c.read(min(4000, total - len(got)), 10, "data after the window opened")
    if got != pattern(total, 7):
        die("bulk data corrupted")
    expect_flow_state(sport, "established")
    c.send("R")
    expect_record(sport, b"SEND %d\n" % total, "reset")
    out(scenario="zero-window", sport=sport, probes_answered=len(probes), bytes=len(got),
        survived=1)


def sc_wrap_client(dst, port, sport):
    isn = M32 - 700
    c = client_open(dst, port, sport, isn=isn)
    data = os.urandom(1500)
    for i in range(3):
        c.send("PA", data[i * 500:(i + 1) * 500])
    got = c.read(1500, 15, "echo across 2^32")
    if got != data:
        die("echo across 2^32 corrupted")
    c.send("FA")
    fin = c.wait(lambda t: "F" in t.flags, 15, "the backend's FIN")
    fin_end(c, fin)
    expect_record(sport, data, "eof")
    expect_flow_gone(sport, 10)
    out(scenario="wrap-client", sport=sport, isn=isn, last_seq=c.snd_nxt, bytes=1500)


COOKIE_CASES = {
    # MSS 1450 is not in the cookie table (rounds down to 1440); window
    # scale 5 neither (4), but with timestamps its exact value rides in
    # the TSval bits.
    "ts": [("MSS", 1450), ("SAckOK", b""), ("Timestamp", (0, 0)), ("NOP", None),
           ("WScale", 5)],
    "nots": [("MSS", 1450), ("NOP", None), ("WScale", 5), ("NOP", None), ("NOP", None),
             ("SAckOK", b"")],
}


def sc_cookie(dst, port, sport, case):
    c = client_open(dst, port, sport, opts=COOKIE_CASES[case])
    echo(c, b"through a cookie\n", "echo")
    c.send("R")
    expect_record(sport, b"through a cookie\n", "reset")
    out(scenario="cookie", case=case, sport=sport, isn=c.isn, completed=1)


# ---- backend scenarios (scapy as the server) -------------------------------

def backend_accept(port, isn):
    """Waits for the proxy's SYN on PORT and answers it.  Returns the Tcb."""
    s = scapy()
    c = Tcb(s, None, None, port, None, "s0")
    print("ready", flush=True)
    syn = c.wait(lambda t: t.flags == "S", 30, "the proxy's SYN on port %d" % port)
    c.dst = syn[s.IPv6].src if s.IPv6 in syn else syn[s.IP].src
    c.dport = syn[s.TCP].sport
    c.rcv_nxt = (syn[s.TCP].seq + 1) % M32
    o = dict(syn[s.TCP].options)
    opts = [("MSS", 1460)]
    if "WScale" in o:
        opts.append(("WScale", 6))
    if "Timestamp" in o:
        opts += [("NOP", None), ("NOP", None), ("Timestamp", (5000, o["Timestamp"][0]))]
        c.ts = 5000
        c.ts_recent = o["Timestamp"][0]
    c.sock.send(c.pkt("SA", seq=isn, opts=opts))
    c.snd_nxt = (isn + 1) % M32
    c.wait(lambda t: t.flags == "A" and t.ack == c.snd_nxt, 15, "the proxy's ACK")
    return c, syn


def sc_backend_wrap(port, isn):
    c, syn = backend_accept(port, isn)
    got = c.read(1500, 10, "client data")
    if got != pattern(1500, 3):
        die("client data corrupted on the backend leg")
    data = pattern(2000, 5)
    for i in range(2):
        c.send("PA", data[i * 1000:(i + 1) * 1000])
    c.wait(lambda t: t.ack == c.snd_nxt, 15, "ACK of our 2000 bytes")
    fin = c.wait(lambda t: "F" in t.flags, 10, "the client's FIN")
    if fin[c.s.TCP].seq != c.rcv_nxt:
        die("client FIN seq %d, want %d" % (fin[c.s.TCP].seq, c.rcv_nxt))
    c.rcv_nxt = (c.rcv_nxt + 1) % M32
    c.send("FA")
    c.wait(lambda t: t.ack == c.snd_nxt, 15, "ACK of our FIN")
    out(scenario="backend-wrap", cport=c.dport, isn=isn, client_isn=syn[c.s.TCP].seq,
        last_seq=c.snd_nxt, bytes_in=1500, bytes_out=2000)


def sc_backend_simclose(port):
    c, syn = backend_accept(port, random.getrandbits(32))
    s = c.s
    got = c.read(6, 10, "hello")
    if got != b"hello\n":
        die("got %r" % got)
    c.send("PA", b"world\n")
    fin = c.wait(lambda t: "F" in t.flags, 10, "the client's FIN")
    # Our FIN "crossed" theirs: it acknowledges only what came before it.
    if fin[s.TCP].seq != c.rcv_nxt:
        die("client FIN seq %d, want %d" % (fin[s.TCP].seq, c.rcv_nxt))
    mark = len(c.got)
    c.send("FA")
    a = c.wait(lambda t: t.ack == c.snd_nxt, 15, "the client's ACK of our FIN", mark)
    if "F" in a[s.TCP].flags:
        die("client sent its FIN again instead of acking ours")
    c.rcv_nxt = (c.rcv_nxt + 1) % M32
    c.send("A")
    out(scenario="backend-simclose", cport=c.dport, closed=1)


# ---- real Linux stacks -----------------------------------------------------

def record_server(d, ports):
    """Echo server on PORTS recording what each connection received.
    Behaviour by the port's position in the list: 0 echo, 1 echo and FIN
    first on QUIT, 2 RST on "RST", 3 bulk sender on "SEND n", 4 echo."""
    def serve(c, kind):
        cport = c.getpeername()[1]
        f = open(os.path.join(d, "%d.bin" % cport), "wb", buffering=0)
        how = "eof"
        try:
            while True:
                x = c.recv(65536)
                if not x:
                    break
                f.write(x)
                if kind == 1 and b"QUIT\n" in x:
                    c.sendall(x)
                    c.shutdown(socket.SHUT_WR)
                    kind = -1
                elif kind == 2 and b"RST\n" in x:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    how = "reset"
                    break
                elif kind == 3 and x.startswith(b"SEND "):
                    c.sendall(pattern(int(x.split()[1]), 7))
                elif kind != -1:
                    c.sendall(x)
        except ConnectionResetError:
            how = "reset"
        f.close()
        c.close()
        with open(os.path.join(d, "%d.end.tmp" % cport), "w") as e:
            e.write(how + "\n")
        os.rename(os.path.join(d, "%d.end.tmp" % cport), os.path.join(d, "%d.end" % cport))

    def listen(port, kind):
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", port))
        s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c, kind), daemon=True).start()

    for kind, p in enumerate(ports):
        threading.Thread(target=listen, args=(p, kind), daemon=True).start()
    while True:
        time.sleep(3600)


def linux_client(dst, port, mode):
    t0 = time.monotonic()
    c = socket.create_connection((dst, port), timeout=20)
    c.settimeout(20)
    cport = c.getsockname()[1]
    if mode == "wrap":
        c.sendall(pattern(1500, 3))
        got = b""
        while len(got) < 2000:
            x = c.recv(65536)
            if not x:
                break
            got += x
        if got != pattern(2000, 5):
            die("client got %d bytes, not the backend's pattern" % len(got))
        c.shutdown(socket.SHUT_WR)
        if c.recv(100) != b"":
            die("data after the backend's FIN")
        c.close()
        out(mode=mode, cport=cport, bytes_in=2000, ok=1)
    elif mode == "simclose":
        c.sendall(b"hello\n")
        got = b""
        while len(got) < 6:
            x = c.recv(100)
            if not x:
                break
            got += x
        if got != b"world\n":
            die("client got %r" % got)
        c.shutdown(socket.SHUT_WR)
        if c.recv(100) != b"":
            die("no EOF after the FINs")
        # Both FINs acknowledged: the client socket sits in TIME-WAIT.
        state = "none"
        for _ in range(30):
            r = subprocess.run(["ss", "-tanH", "state", "time-wait", "sport = :%d" % cport],
                               capture_output=True, text=True, timeout=5)
            if r.stdout.strip():
                state = "time-wait"
                break
            time.sleep(0.1)
        c.close()
        if state != "time-wait":
            die("client socket not in TIME-WAIT after the simultaneous close")
        out(mode=mode, cport=cport, state=state)
    elif mode == "silent":
        try:
            c.sendall(b"x\n")
            x = c.recv(100)
            r = "closed" if not x else "data"
        except ConnectionResetError:
            r = "reset"
        except socket.timeout:
            r = "timeout"
        out(mode=mode, cport=cport, result=r, after="%.2f" % (time.monotonic() - t0))
        if r != "reset":
            die("silent backend: client saw %s, want reset" % r)


def backend_syns(pcap, sport):
    s = scapy()
    t0 = None
    for p in s.rdpcap(pcap):
        if s.TCP not in p or p[s.TCP].sport != sport or p[s.TCP].flags != "S":
            continue
        t0 = float(p.time) if t0 is None else t0
        o = dict(p[s.TCP].options)
        out(t="%.3f" % (float(p.time) - t0), seq=p[s.TCP].seq, mss=o.get("MSS", "none"),
            ws=o.get("WScale", "none"), sack=int("SAckOK" in o), ts=int("Timestamp" in o))


CLIENT = {
    "syn-retransmit": sc_syn_retransmit, "synack-lost": sc_synack_lost,
    "data-early": sc_data_early, "fin-client": sc_fin_client, "fin-server": sc_fin_server,
    "rst-client": sc_rst_client, "rst-server": sc_rst_server, "keepalive": sc_keepalive,
    "zero-window": sc_zero_window, "wrap-client": sc_wrap_client,
}


def client_run(fn, *args):
    """Runs a client scenario; a failed one resets its connection, so that
    one failure does not leave a flow behind for the other checks."""
    try:
        fn(*args)
    except SystemExit:
        for c in OPEN:
            c.send("R")
        raise


def main(a):
    if len(a) < 2:
        die(__doc__)
    cmd = a[1]
    if cmd in CLIENT and len(a) == 5:
        client_run(CLIENT[cmd], a[2], int(a[3]), int(a[4]))
    elif cmd == "cookie" and len(a) == 6:
        client_run(sc_cookie, a[2], int(a[3]), int(a[4]), a[5])
    elif cmd == "backend-wrap" and len(a) == 4:
        sc_backend_wrap(int(a[2]), int(a[3]))
    elif cmd == "backend-simclose" and len(a) == 3:
        sc_backend_simclose(int(a[2]))
    elif cmd == "record-server" and len(a) >= 4:
        record_server(a[2], [int(p) for p in a[3:]])
    elif cmd == "linux-client" and len(a) == 5:
        linux_client(a[2], int(a[3]), a[4])
    elif cmd == "backend-syns" and len(a) == 4:
        backend_syns(a[2], int(a[3]))
    else:
        die("bad command line: %s\n%s" % (" ".join(a[1:]), __doc__))


if __name__ == "__main__":
    main(sys.argv)
