#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Two-sided lock-step replay of direct client<->server captures through the
proxy (live tests; one instance in the client namespace, one in the backend's).

  pcap_replay.py conf CASEFILE                 the live rules for the cases
  pcap_replay.py handshakes CASEFILE           how many handshakes the cases complete
  pcap_replay.py client|server CASEFILE IFACE  replay one side

CASEFILE has one case a line: NAME PCAP PORT CONF.  PORT is the server port
the case is moved to (each case gets its own, so each has its own rule and
no tuple is shared between cases); CONF is the case's offline config, of
which only the rule options (mss, wscale, sack, timestamps, ecn) are used.

Both sides walk the capture in file order.  A packet of our side is sent
after the recorded gap from the previous packet (gaps are capped at
MAX_GAP: nothing in the chosen cases depends on a timer); for a packet of
the other side we wait (bounded) for what the proxy must deliver instead and
compare it field by field:
  - the client gets the proxy's own SYN-ACK (ack = ISN + 1, the options the
    rule and the client's SYN allow), then the server's packets with
    seq + D (D = P - B: proxy ISN minus server ISN), TSval + Dts (proxy
    SYN-ACK TSval minus the server's), the window rescaled when the two legs
    scale differently, everything else unchanged, valid TCP checksum;
  - the client maps what it sends as a real client of the proxy would:
    ack + D, SACK edges + D, TSecr + Dts (tests/replay/README.md);
  - the backend gets the proxy's SYN (the client's ISN and options), the
    proxy's handshake ACK (ack = B + 1), then every client packet exactly as
    captured; an ACK with a wrong number, or anything from a client that
    never completes its handshake, must never arrive.
Packets arrive per connection in order; anything else that arrives (other
than a repeated SYN or SYN-ACK and the proxy's one window update) is a
failure, also after the last packet (a short drain at the end).
Prints one "ok: ..." or "NOT OK: ..." line per assertion and "ready" once
listening; exits 1 if any assertion failed.
"""
import os
import re
import sys
import threading
import time

from scapy.all import IP, IPv6, TCP, Raw, AsyncSniffer, conf, rdpcap  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
from check_translation import Seg  # noqa: E402  (a raw decoder with checksum check)

conf.verb = 0

MOD = 1 << 32
FIN, SYN, RST, ACK, ECE, CWR = 0x01, 0x02, 0x04, 0x10, 0x40, 0x80
MAX_GAP = 0.25           # seconds; longer recorded gaps (keepalive's 2 h) shrink to this
WAIT = 5.0               # seconds to wait for each packet the proxy must deliver
DRAIN = 0.5              # seconds to watch for stray packets at the end
DEADLINE = 75.0          # the whole run, both sides
MAX_WS = 14

LAB = {
    "client4": os.environ.get("CLIENT4", "192.0.2.10"),
    "client6": os.environ.get("CLIENT6", "2001:db8:1::10"),
    "backend4": os.environ.get("BACKEND4", "203.0.113.2"),
    "backend6": os.environ.get("BACKEND6", "2001:db8:2::2"),
}

failed = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def not_ok(msg):
    global failed
    failed += 1
    print("NOT OK: " + msg, flush=True)


# ---- the rule ---------------------------------------------------------------

def parse_rule(path):
    """The rule options of an offline case config (several rules must agree:
    the recorded corpus has one for IPv4 and one for IPv6).  Any other
    setting (syncache, cookies, ...) is daemon-wide, which the live run
    cannot give one case: refuse it."""
    text = open(path).read()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    rules = re.findall(r"\{([^}]*)\}", body)
    rest = re.sub(r"rules\s*=\s*\(.*\)\s*;", "", body, flags=re.S).strip()
    if not rules or rest:
        raise SystemExit("%s: rules and nothing else are supported live" % path)
    found = []
    for text in rules:
        rule = {"mss": "auto", "wscale": "auto", "sack": "auto", "timestamps": "auto",
                "ecn": "false"}
        for key, val in re.findall(r"(\w+)\s*=\s*([^;]+);", text):
            if key in rule:
                rule[key] = val.strip().strip('"')
        found.append(rule)
    if any(r != found[0] for r in found):
        raise SystemExit("%s: the rules' options differ" % path)
    return found[0]


def rule_text(name, dst, port, rule):
    opts = []
    for key in ("mss", "wscale", "sack", "timestamps"):
        v = rule[key]
        opts.append('%s = %s;' % (key, '"%s"' % v if v in ("auto", "off") else v))
    opts.append("ecn = %s;" % rule["ecn"])
    return '{ name = "%s"; dst = "%s"; ports = [ %d ]; %s }' % (name, dst, port, " ".join(opts))


def negotiate(rule, syn_opts, ecn_setup, learned, v6=False):
    """What the proxy answers a client SYN with, from synproxyd.conf(5):
    mss: the rule's, or with "auto" the server's last one, until known
    1460 over IPv4 and 1440 over IPv6;
    wscale: only to a client that offered one, "auto" follows the server
    (7 until known); sack/timestamps: to a client that offered them, "auto"
    as the server does (yes until known); ECN only with ecn = true, and
    with timestamps (cookies are on: they carry ECN in those bits alone)."""
    n = {}
    if rule["mss"] == "auto":
        n["mss"] = learned["mss"] if learned else 1440 if v6 else 1460
    elif rule["mss"] == "off":
        n["mss"] = None
    else:
        n["mss"] = int(rule["mss"])
    n["ws"] = None
    if "WScale" in syn_opts and rule["wscale"] not in ("off", "false"):
        if rule["wscale"] == "auto":
            n["ws"] = learned["ws"] if learned else 7
        else:
            n["ws"] = int(rule["wscale"])
        if n["ws"] is not None:
            n["ws"] = min(n["ws"], MAX_WS)
    for key, opt in (("sack", "SAckOK"), ("timestamps", "Timestamp")):
        mode = rule[key]
        n[key] = opt in syn_opts and mode != "false" and (
            mode == "true" or not learned or learned[key])
    n["ecn"] = ecn_setup and rule["ecn"] == "true" and n["timestamps"]
    return n


class Learner:
    """The options the engine learns from a backend's SYN-ACKs (splice.c
    learn, learned.c learned_vote): only sane ones (MSS at least 536, or
    1220 for IPv6; window scale at most 14); an "auto" option the proxy's
    SYN did not offer keeps the agreed value, and with none agreed the
    SYN-ACK does not count; a new set is used once AGREE SYN-ACKs in a row
    announced it, and one repeating the set in use resets the count."""
    AGREE = 3

    def __init__(self, v6):
        self.cur, self.cand, self.votes = None, None, 0
        self.min_mss = 1220 if v6 else 536

    def vote(self, rule, nego, so):
        lo = {"mss": so.get("MSS", self.min_mss), "ws": so.get("WScale"),
              "sack": "SAckOK" in so, "timestamps": "Timestamp" in so}
        if lo["mss"] < self.min_mss or (lo["ws"] is not None and lo["ws"] > MAX_WS):
            return
        missing = [k for k, key, offered in (("ws", "wscale", nego["ws"] is not None),
                                             ("sack", "sack", nego["sack"]),
                                             ("timestamps", "timestamps", nego["timestamps"]))
                   if rule[key] == "auto" and not offered]
        if missing:
            if self.cur is None:
                return
            for k in missing:
                lo[k] = self.cur[k]
        if self.cur == lo:
            self.votes = 0
            return
        if self.votes and self.cand == lo:
            self.votes += 1
        else:
            self.cand, self.votes = lo, 1
        if self.votes >= self.AGREE:
            self.cur, self.votes = lo, 0


# ---- the capture ------------------------------------------------------------

def opts(t):
    return {k: v for k, v in t.options}


def ip_of(p):
    if IP in p:
        return p[IP]
    if IPv6 in p:
        return p[IPv6]
    return None


def payload(p):
    return bytes(p[Raw].load) if Raw in p else b""


class Conn:
    def __init__(self, cport, sport):
        self.cport, self.sport = cport, sport
        self.syn = self.synack = None
        self.hs = None          # the client packet that completes the handshake
        self.nego = None
        self.P = self.Tp = None
        self.aborted = False
        self.first = True       # nothing after the SYN-ACK has reached the client yet
        self.wu_copy = None     # a server packet the window update looked exactly like
        self.got = {"c2s": b"", "s2c": b""}
        self.npk = {"c2s": 0, "s2c": 0}

    def synack_tsval(self):
        return opts(self.synack[TCP]).get("Timestamp", (0, 0))[0]


class Case:
    def __init__(self, name, pcap, port, conf_path):
        self.name, self.port = name, port
        self.rule = parse_rule(conf_path)
        self.items = []
        self.conns = {}
        pkts = [ip_of(p) for p in rdpcap(pcap)]
        pkts = [p for p in pkts if p is not None and TCP in p]
        first = next(p for p in pkts if p[TCP].flags & (SYN | ACK) == SYN)
        self.caddr, self.saddr = first.src, first.dst
        self.v6 = IPv6 in first
        learner = Learner(self.v6)
        for p in pkts:
            t = p[TCP]
            if p.src == self.caddr and p.dst == self.saddr:
                side, key = "client", (t.sport, t.dport)
            elif p.src == self.saddr and p.dst == self.caddr:
                side, key = "server", (t.dport, t.sport)
            else:
                continue
            c = self.conns.setdefault(key, Conn(*key))
            if side == "client" and t.flags & (SYN | ACK) == SYN and c.syn is None:
                c.syn = p
                o = opts(t)
                c.nego = negotiate(self.rule, o, t.flags & (ECE | CWR) == ECE | CWR,
                                   learner.cur, self.v6)
            elif side == "server" and t.flags & (SYN | ACK) == SYN | ACK and c.synack is None:
                c.synack = p
            elif side == "client" and c.synack is not None and c.hs is None and \
                    t.flags & ACK and not t.flags & (SYN | RST) and \
                    t.ack == (c.synack[TCP].seq + 1) % MOD:
                c.hs = p
                if c.nego is not None:
                    learner.vote(self.rule, c.nego, opts(c.synack[TCP]))
            self.items.append((float(p.time), side, c, p))

    def completes(self, c):
        return c.syn is not None and c.hs is not None

    def after_hs(self, c, p):
        """Whether client packet p comes at or after c's handshake ACK."""
        seen = False
        for _, _, _, q in self.items:
            seen = seen or q is c.hs
            if q is p:
                return seen
        return False

    def tsvals_until_hs(self, c):
        vals = set()
        for _, s, cc, q in self.items:
            if cc is c and s == "client" and "Timestamp" in opts(q[TCP]):
                vals.add(opts(q[TCP])["Timestamp"][0])
            if q is c.hs:
                break
        return vals

    def handshakes(self):
        return sum(1 for c in self.conns.values() if self.completes(c))


def read_cases(path):
    cases = []
    for line in open(path):
        f = line.split()
        if f and not f[0].startswith("#"):
            cases.append(Case(f[0], f[1], int(f[2]), f[3]))
    return cases


def cmd_conf(path):
    rules = []
    for i, c in enumerate(read_cases(path)):
        dst = LAB["backend6"] if c.v6 else LAB["backend4"]
        rules.append(rule_text("r%d_%s" % (i, c.name), dst, c.port, c.rule))
    print("rules = (\n\t" + ",\n\t".join(rules) + "\n);")


# ---- packets on the wire ------------------------------------------------------

def lab_addrs(case):
    if case.v6:
        return LAB["client6"], LAB["backend6"]
    return LAB["client4"], LAB["backend4"]


def rewrite(case, p, side):
    """A capture packet with the lab's addresses and the case's port,
    checksums and lengths left to scapy."""
    q = p.copy()
    cli, srv = lab_addrs(case)
    if side == "client":
        q.src, q.dst = cli, srv
        q[TCP].dport = case.port
    else:
        q.src, q.dst = srv, cli
        q[TCP].sport = case.port
    if IP in q:
        del q[IP].chksum
        del q[IP].len
    else:
        del q[IPv6].plen
    del q[TCP].chksum
    return q


def rebuilt(q):
    return q.__class__(bytes(q))


def scale(win, frm, to):
    """The window as the proxy rescales it between legs (a non-zero window
    never becomes zero)."""
    if frm == to:
        return win
    w = min(65535, (win << frm) >> to)
    return 1 if w == 0 and win else w


def shifts(c):
    """The window shifts in force: the client leg's (the scale the proxy
    announced, 0 without one), the backend leg's (the server's, when the
    backend SYN carried a scale and the server answered with one), the
    client's own, and the server's announced one (None without)."""
    s_ws = opts(c.synack[TCP]).get("WScale") if c.nego["ws"] is not None else None
    c_ws = min(opts(c.syn[TCP])["WScale"], MAX_WS) if c.nego["ws"] is not None else 0
    return c.nego["ws"] or 0, (min(s_ws, MAX_WS) if s_ws is not None else 0), c_ws, s_ws


def map_client(case, c, p):
    """The client's view of a capture packet it sends: ack, SACK, TSecr moved
    into the proxy's sequence and TS space."""
    q = rewrite(case, p, "client")
    t = q[TCP]
    if c.P is None or not t.flags & ACK or t.flags & SYN:
        return q
    d = (c.P - c.synack[TCP].seq) % MOD
    t.ack = (t.ack + d) % MOD
    o = []
    for k, v in t.options:
        if k == "SAck":
            v = tuple((e + d) % MOD for e in v)
        elif k == "Timestamp" and c.Tp is not None:
            v = (v[0], (v[1] + c.Tp - c.synack_tsval()) % MOD)
        o.append((k, v))
    t.options = o
    return q


def expect_s2c(case, c, p):
    """What the client must get for server packet p."""
    q = rewrite(case, p, "server")
    t = q[TCP]
    t.seq = (t.seq + c.P - c.synack[TCP].seq) % MOD
    o = []
    for k, v in t.options:
        if k == "Timestamp" and c.Tp is not None:
            v = ((v[0] + c.Tp - c.synack_tsval()) % MOD, v[1])
        o.append((k, v))
    t.options = o
    cli_shift, srv_shift, _, _ = shifts(c)
    t.window = scale(t.window, srv_shift, cli_shift)
    return rebuilt(q)


def expect_c2s(case, c, p):
    """What the backend must get for client packet p: the packet itself,
    the window rescaled only when the backend did not take the client's
    window scale."""
    q = rewrite(case, p, "client")
    _, _, c_ws, s_ws = shifts(c)
    if c.nego["ws"] is not None and s_ws is None:
        q[TCP].window = scale(q[TCP].window, c_ws, 0)
    return rebuilt(q)


def describe(t, pay):
    return "flags=%s seq=%u ack=%u win=%u len=%d opts=%s" % (
        t.flags, t.seq, t.ack, t.window, len(pay), t.options)


def tos(p):
    return p[IP].tos if IP in p else p[IPv6].tc


def diff(exp, got):
    """Fields that differ between the expected and the received packet."""
    e, g = exp[TCP], got[TCP]
    d = []
    for f in ("flags", "seq", "ack", "window", "urgptr", "options"):
        if getattr(e, f) != getattr(g, f):
            d.append("%s %s, want %s" % (f, getattr(g, f), getattr(e, f)))
    if payload(exp) != payload(got):
        d.append("payload %r, want %r" % (payload(got)[:32], payload(exp)[:32]))
    if tos(exp) != tos(got):
        d.append("tos %#x, want %#x" % (tos(got), tos(exp)))
    if not Seg(bytes(ip_of(got))).csum_ok():
        d.append("bad TCP checksum")
    return d


def own_packet(got, d):
    """The checks every packet the proxy builds itself must pass."""
    if payload(got):
        d.append("a payload")
    if not Seg(bytes(got)).csum_ok():
        d.append("bad TCP checksum")
    return d


def report(case, c, d, bad, good):
    if d:
        not_ok("%s %u: %s: %s" % (case.name, c.cport, bad, "; ".join(d)))
    else:
        ok("%s %u: %s" % (case.name, c.cport, good))


def tally(case, c, way, seq, got, d):
    """Counts a packet that arrived as expected, or reports how it differs."""
    if d:
        not_ok("%s %u: %s packet seq=%u reached the %s as %s: %s" % (
            case.name, c.cport, "client" if way == "c2s" else "server", seq,
            "backend" if way == "c2s" else "client", describe(got[TCP], payload(got)),
            "; ".join(d)))
    else:
        c.npk[way] += 1
        c.got[way] += payload(got)


# ---- the two sides ------------------------------------------------------------

class Inbox:
    """Packets for us, per connection (client port, case port), in arrival order."""

    def __init__(self, iface, mine, ports):
        self.q = {}
        self.cv = threading.Condition()
        self.ports = ports

        def keep(p):
            ip = ip_of(p)
            if ip is None or TCP not in ip or ip.dst not in mine:
                return False
            t = ip[TCP]
            return t.sport in ports or t.dport in ports

        def add(p):
            t = p[TCP]
            key = (t.dport, t.sport) if t.sport in self.ports else (t.sport, t.dport)
            with self.cv:
                self.q.setdefault(key, []).append(p)
                self.cv.notify_all()

        self.sniffer = AsyncSniffer(iface=iface, lfilter=keep, store=False, prn=add)
        self.sniffer.start()
        time.sleep(0.5)

    def pop(self, key, until):
        with self.cv:
            while not self.q.get(key):
                left = until - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.q[key].pop(0)

    def stop(self):
        self.sniffer.stop()


class Side:
    def __init__(self, role, cases, iface):
        self.role, self.cases = role, cases
        self.start = time.time()
        mine = {LAB["client4"], LAB["client6"]} if role == "client" else \
            {LAB["backend4"], LAB["backend6"]}
        ports = {c.port for c in cases}
        self.inbox = Inbox(iface, mine, ports)
        self.sock = conf.L3socket()

    def key(self, case, c):
        """Inbox keys: the case port stands for the server's port."""
        return (c.cport, case.port)

    def left(self):
        return min(time.time() + WAIT, self.start + DEADLINE)

    def send(self, q):
        self.sock.send(q)

    def receive(self, case, c, what, skip):
        """The next packet of c that skip() does not excuse, or None (and a
        failure) after WAIT."""
        while True:
            got = self.inbox.pop(self.key(case, c), self.left())
            if got is None:
                not_ok("%s %u: %s never arrived at the %s within %.0f s" % (
                    case.name, c.cport, what, self.role, WAIT))
                c.aborted = True
                return None
            if not skip(got):
                return ip_of(got)

    def run(self):
        for case in self.cases:
            self.run_case(case)
        self.drain()
        self.sock.close()
        self.inbox.stop()

    def run_case(self, case):
        prev = None
        for when, side, c, p in case.items:
            if c.aborted:
                continue
            gap = 0 if prev is None else min(MAX_GAP, max(0.0, when - prev))
            prev = when
            if side == self.role:
                if gap:
                    time.sleep(gap)
                self.mine(case, c, p)
            else:
                self.theirs(case, c, p)
        self.summary(case)

    def drain(self):
        time.sleep(DRAIN)
        for case in self.cases:
            for c in case.conns.values():
                if c.aborted:
                    continue
                stray = []
                while True:
                    got = self.inbox.pop(self.key(case, c), 0)
                    if got is None:
                        break
                    if not self.excused(c, got):
                        stray.append(describe(got[TCP], payload(got)))
                if stray:
                    not_ok("%s %u: the %s got %d packet(s) the capture does not explain: %s" % (
                        case.name, c.cport, self.role, len(stray), "; ".join(stray)))
                elif self.role == "server" and not case.completes(c):
                    ok("%s %u: nothing of a client that never completed its handshake "
                       "reached the backend" % (case.name, c.cport))


class Client(Side):
    def mine(self, case, c, p):
        self.send(map_client(case, c, p))

    def excused(self, c, got):
        t = got[TCP]
        # A repeated SYN-ACK (a retransmission of the one we answered).
        if t.flags & (SYN | ACK) == SYN | ACK and c.P is not None and t.seq == c.P:
            return True
        # The one copy of a packet the window update was identical to.
        if c.wu_copy is not None and not diff(c.wu_copy, ip_of(got)):
            c.wu_copy = None
            return True
        return False

    def theirs(self, case, c, p):
        t = p[TCP]
        if not case.completes(c) and not (t.flags & SYN):
            return          # the proxy never opened the backend leg
        if t.flags & (SYN | ACK) == SYN | ACK:
            self.synack(case, c)
            return
        if c.P is None:
            not_ok("%s %u: server packet before any SYN-ACK" % (case.name, c.cport))
            c.aborted = True
            return
        exp = expect_s2c(case, c, p)
        got = self.receive(case, c, "server packet seq=%u" % t.seq, lambda g: self.excused(c, g))
        if got is None:
            return
        d = diff(exp, got)
        if c.first and self.window_update(c, got):
            # The proxy's own ACK telling the client the backend's window
            # (sent unless client data was held).  When it is byte for byte
            # this server packet, the packet itself is still to come.
            if d:
                got = self.receive(case, c, "server packet seq=%u" % t.seq,
                                   lambda g: self.excused(c, g))
                if got is None:
                    return
                d = diff(exp, got)
            else:
                c.wu_copy = exp
        c.first = False
        tally(case, c, "s2c", t.seq, got, d)

    def window_update(self, c, got):
        t = got[TCP]
        return t.flags == "A" and not payload(got) and t.seq == (c.P + 1) % MOD

    def synack(self, case, c):
        t0 = c.syn[TCP]
        so = opts(t0)
        got = self.receive(case, c, "the proxy's SYN-ACK", lambda g: False)
        if got is None:
            return
        g = got[TCP]
        go = opts(g)
        n = c.nego
        d = []
        if g.flags & (SYN | ACK | RST | FIN) != SYN | ACK:
            d.append("flags %s" % g.flags)
        if g.ack != (t0.seq + 1) % MOD:
            d.append("ack %u, want client ISN + 1 = %u" % (g.ack, (t0.seq + 1) % MOD))
        if bool(g.flags & ECE) != n["ecn"]:
            d.append("ECE %s, want %s" % (bool(g.flags & ECE), n["ecn"]))
        if go.get("MSS") != n["mss"]:
            d.append("MSS %s, want %s" % (go.get("MSS"), n["mss"]))
        if go.get("WScale") != n["ws"]:
            d.append("wscale %s, want %s" % (go.get("WScale"), n["ws"]))
        if ("SAckOK" in go) != n["sack"]:
            d.append("SACK-permitted %s, want %s" % ("SAckOK" in go, n["sack"]))
        if ("Timestamp" in go) != n["timestamps"]:
            d.append("timestamps %s, want %s" % ("Timestamp" in go, n["timestamps"]))
        elif n["timestamps"] and go["Timestamp"][1] != so["Timestamp"][0]:
            d.append("TSecr %u, want the SYN's TSval %u" % (go["Timestamp"][1],
                                                            so["Timestamp"][0]))
        want = "mss=%s ws=%s sack=%s ts=%s ecn=%s" % (n["mss"], n["ws"], int(n["sack"]),
                                                     int(n["timestamps"]), int(n["ecn"]))
        report(case, c, own_packet(got, d),
               "SYN-ACK (rule %s, client offered %s)" % (case.rule, sorted(so)),
               "the proxy's SYN-ACK acks the client ISN and carries %s (client offered %s)" % (
                   want, ",".join(sorted(so)) or "-"))
        c.P = g.seq
        c.Tp = go["Timestamp"][0] if "Timestamp" in go else None

    def summary(self, case):
        for c in case.conns.values():
            if c.aborted or not case.completes(c) or c.P is None:
                continue
            sent = b"".join(payload(p) for _, s, cc, p in case.items
                            if cc is c and s == "server" and not p[TCP].flags & SYN)
            n = sum(1 for _, s, cc, p in case.items
                    if cc is c and s == "server" and not p[TCP].flags & SYN)
            if c.npk["s2c"] == n and c.got["s2c"] == sent:
                ok("%s %u: all %d server packets reached the client translated (seq %+d, "
                   "TSval %+d), %d payload bytes in order" % (
                       case.name, c.cport, n, signed(c.P - c.synack[TCP].seq),
                       signed((c.Tp or 0) - c.synack_tsval()) if c.Tp is not None else 0,
                       len(sent)))
            else:
                not_ok("%s %u: %d of %d server packets arrived, %d of %d payload bytes" % (
                    case.name, c.cport, c.npk["s2c"], n, len(c.got["s2c"]), len(sent)))


def signed(x):
    x %= MOD
    return x - MOD if x >= 1 << 31 else x


class Server(Side):
    def mine(self, case, c, p):
        if not case.completes(c):
            return          # answers to a SYN the backend never got
        self.send(rewrite(case, p, "server"))

    def excused(self, c, got):
        t = got[TCP]
        # The proxy's backend SYN again (its retransmission timer).
        return t.flags & (SYN | ACK) == SYN and c.syn is not None and t.seq == c.syn[TCP].seq

    def theirs(self, case, c, p):
        t = p[TCP]
        if not case.completes(c):
            return
        if p is c.syn:
            self.backend_syn(case, c)
            return
        if t.flags & SYN:
            return          # a repeated client SYN: the proxy answers it itself
        if not case.after_hs(c, p):
            return          # before the handshake ACK: the proxy keeps it (bad_ack)
        if p is c.hs:
            self.handshake_ack(case, c)
            if not payload(p) and not t.flags & (FIN | RST):
                return
        exp = expect_c2s(case, c, p)
        got = self.receive(case, c, "client packet seq=%u" % t.seq,
                           lambda g: self.excused(c, g))
        if got is None:
            return
        tally(case, c, "c2s", t.seq, got, diff(exp, got))

    def backend_syn(self, case, c):
        t0 = c.syn[TCP]
        so = opts(t0)
        n = c.nego
        got = self.receive(case, c, "the proxy's backend SYN", lambda g: False)
        if got is None:
            return
        g = got[TCP]
        go = opts(g)
        d = []
        if g.flags & (SYN | ACK | RST | FIN) != SYN:
            d.append("flags %s" % g.flags)
        if g.seq != t0.seq:
            d.append("seq %u, want the client ISN %u" % (g.seq, t0.seq))
        if bool(g.flags & ECE) != n["ecn"] or bool(g.flags & CWR) != n["ecn"]:
            d.append("ECE|CWR %s, want %s" % (g.flags, n["ecn"]))
        # RFC 9293 3.7.1: no MSS option means 536.
        if go.get("MSS") != so.get("MSS", 536):
            d.append("MSS %s, want the client's %s" % (go.get("MSS"), so.get("MSS", 536)))
        want_ws = min(so["WScale"], MAX_WS) if n["ws"] is not None else None
        if go.get("WScale") != want_ws:
            d.append("wscale %s, want %s" % (go.get("WScale"), want_ws))
        if ("SAckOK" in go) != n["sack"]:
            d.append("SACK-permitted %s, want %s" % ("SAckOK" in go, n["sack"]))
        if ("Timestamp" in go) != n["timestamps"]:
            d.append("timestamps %s, want %s" % ("Timestamp" in go, n["timestamps"]))
        elif n["timestamps"]:
            # The proxy stamps it with the client's latest TSval.
            tsvals = case.tsvals_until_hs(c)
            if go["Timestamp"][0] not in tsvals or go["Timestamp"][1] != 0:
                d.append("TS %s, want TSval one of the client's %s and TSecr 0" % (
                    go["Timestamp"], sorted(tsvals)))
        report(case, c, own_packet(got, d), "backend SYN",
               "the backend SYN carries the client ISN %u and its options %s" % (
                   g.seq, ",".join(sorted(go))))

    def handshake_ack(self, case, c):
        got = self.receive(case, c, "the proxy's handshake ACK", lambda g: self.excused(c, g))
        if got is None:
            return
        g = got[TCP]
        go = opts(g)
        B = c.synack[TCP].seq
        d = []
        if g.flags != "A":
            d.append("flags %s" % g.flags)
        if g.seq != (c.syn[TCP].seq + 1) % MOD or g.ack != (B + 1) % MOD:
            d.append("seq/ack %u/%u, want %u/%u" % (g.seq, g.ack, (c.syn[TCP].seq + 1) % MOD,
                                                   (B + 1) % MOD))
        sts = "Timestamp" in opts(c.synack[TCP])
        if ("Timestamp" in go) != (c.nego["timestamps"] and sts):
            d.append("timestamps %s" % ("Timestamp" in go))
        elif "Timestamp" in go and go["Timestamp"][1] != c.synack_tsval():
            d.append("TSecr %u, want the server's TSval %u" % (go["Timestamp"][1],
                                                               c.synack_tsval()))
        report(case, c, own_packet(got, d), "handshake ACK at the backend",
               "the proxy completes the backend handshake (ack = server ISN + 1)")

    def summary(self, case):
        for c in case.conns.values():
            if c.aborted or not case.completes(c):
                continue
            want = [p for _, s, cc, p in case.items if cc is c and s == "client" and
                    case.after_hs(c, p) and (p is not c.hs or payload(p) or
                                             p[TCP].flags & (FIN | RST))]
            data = b"".join(payload(p) for p in want)
            if c.npk["c2s"] == len(want) and c.got["c2s"] == data:
                ok("%s %u: all %d client packets after the handshake reached the backend "
                   "unchanged, %d payload bytes in order" % (case.name, c.cport, len(want),
                                                            len(data)))
            else:
                not_ok("%s %u: %d of %d client packets arrived, %d of %d payload bytes" % (
                    case.name, c.cport, c.npk["c2s"], len(want), len(c.got["c2s"]), len(data)))
            dropped = [p for _, s, cc, p in case.items if cc is c and s == "client" and
                       not p[TCP].flags & SYN and not case.after_hs(c, p)]
            if dropped:
                ok("%s %u: the %d client packet(s) before the right handshake ACK (ack %s) "
                   "never reached the backend" % (
                       case.name, c.cport, len(dropped),
                       ",".join("B%+d" % signed(p[TCP].ack - c.synack[TCP].seq)
                                for p in dropped)))


def main(argv):
    if len(argv) == 3 and argv[1] == "conf":
        cmd_conf(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "handshakes":
        print(sum(c.handshakes() for c in read_cases(argv[2])))
        return 0
    if len(argv) != 4 or argv[1] not in ("client", "server"):
        sys.exit(__doc__)
    cases = read_cases(argv[2])
    side = (Client if argv[1] == "client" else Server)(argv[1], cases, argv[3])
    print("ready", flush=True)
    side.run()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
