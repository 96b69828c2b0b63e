#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Crafted TCP clients for the live tests (run inside the client namespace).

  lone-syn DST PORT SPORT          one SYN, print the SYN-ACK, never complete
  handshake CASE DST PORT SPORT    SYN with CASE's options, check the SYN-ACK,
                                   complete, send a redis PING, expect +PONG
  bad-ack DST PORT SPORT           SYN, then an ACK with a wrong ack number
  flood DST PORT COUNT SECONDS     spoofed SYNs from 198.18.0.0/15, paced
  held-ack DST PORT SPORT DIR      SYN; on the SYN-ACK writes DIR/synack,
                                   waits (60 s at most) for DIR/go, then
                                   completes the handshake with a line of
                                   data that the echo server must return

The handshake cases print one 'key=value' line the shell test can parse
(client ISN, options sent/received) and exit non-zero with a message on any
inconsistency.  The caller drops the client kernel's RSTs (iptables OUTPUT),
since that kernel knows nothing about these connections.
"""
import os
import random
import socket
import struct
import sys
import time

from scapy.all import IP, IPv6, TCP, AsyncSniffer, Raw, conf, send  # noqa: E402

conf.verb = 0

CASES = {
    # Linux: MSS, SACK-permitted, timestamps, NOP, window scale 7
    "linux": [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)),
              ("NOP", None), ("WScale", 7)],
    # Windows: MSS, NOP, window scale 8, NOP, NOP, SACK-permitted, no timestamps
    "windows": [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None),
                ("NOP", None), ("SAckOK", b"")],
    "mss": [("MSS", 1400)],
    "none": [],
}

REDIS_PING = b"*1\r\n$4\r\nping\r\n"


def die(msg):
    print("scapy_client: " + msg, file=sys.stderr)
    sys.exit(1)


def ip_layer(dst):
    return IPv6(dst=dst) if ":" in dst else IP(dst=dst)


def opts_of(pkt):
    return {k: v for k, v in pkt[TCP].options}


def sniffer(dst, port, sport):
    # Filtered in Python: a BPF filter compiled by scapy missed packets here.
    def flt(p):
        return TCP in p and p[TCP].sport == port and p[TCP].dport == sport
    if ":" in dst:
        iface = conf.route6.route(dst)[0]
    else:
        iface = conf.route.route(dst)[0]
    # AsyncSniffer.results is only filled at stop(): collect with prn.
    s = AsyncSniffer(iface=iface, lfilter=flt, store=False, prn=lambda p: s.got.append(p))
    s.got = []
    s.start()
    time.sleep(0.3)
    return s


def wait_for(s, pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        for p in list(s.got):
            if TCP in p and pred(p):
                return p
        time.sleep(0.02)
    return None


def syn_exchange(dst, port, sport, options, isn, retries=3):
    """Sends the SYN (bounded retries) and returns (sniffer, SYN-ACK)."""
    s = sniffer(dst, port, sport)
    syn = ip_layer(dst) / TCP(sport=sport, dport=port, flags="S", seq=isn,
                              window=64240, options=options)
    for _ in range(retries):
        send(syn)
        sa = wait_for(s, lambda p: p[TCP].flags == "SA", 2.0)
        if sa is not None:
            return s, sa
    s.stop()
    die("no SYN-ACK from %s:%d" % (dst, port))


def cmd_lone_syn(dst, port, sport):
    isn = random.getrandbits(32)
    s, sa = syn_exchange(dst, port, sport, CASES["linux"], isn)
    s.stop()
    if sa[TCP].ack != (isn + 1) % 2**32:
        die("SYN-ACK acks %d, want %d" % (sa[TCP].ack, isn + 1))
    print("synack_ok sport=%d" % sport)


def cmd_handshake(case, dst, port, sport):
    options = CASES[case]
    sent = dict(options)
    isn = random.getrandbits(32)
    s, sa = syn_exchange(dst, port, sport, options, isn)
    t = sa[TCP]
    got = opts_of(sa)
    if t.ack != (isn + 1) % 2**32:
        die("SYN-ACK ack %d, want ISN+1 %d" % (t.ack, isn + 1))
    # The proxy may only offer what the client offered (RFC 7323, 2018).
    if "MSS" not in got:
        die("SYN-ACK carries no MSS")
    if ("SAckOK" in got) and ("SAckOK" not in sent):
        die("SACK offered to a client that did not ask")
    if ("Timestamp" in got) != ("Timestamp" in sent):
        die("timestamps %s in SYN-ACK, %s in SYN" % ("Timestamp" in got, "Timestamp" in sent))
    if ("WScale" in got) and ("WScale" not in sent):
        die("window scale offered to a client that did not ask")
    want_mss = os.environ.get("EXPECT_MSS")
    if want_mss and got["MSS"] != int(want_mss):
        die("SYN-ACK MSS %d, config says %s" % (got["MSS"], want_mss))
    want_ws = os.environ.get("EXPECT_WSCALE")
    if want_ws and "WScale" in sent and got.get("WScale") != int(want_ws):
        die("SYN-ACK wscale %s, config says %s" % (got.get("WScale"), want_ws))
    if want_ws and ("SAckOK" in sent) != ("SAckOK" in got):
        die("sack = true: SYN-ACK must offer SACK exactly when the client did")
    if "Timestamp" in got and got["Timestamp"][1] != sent["Timestamp"][0]:
        die("SYN-ACK TSecr %d, want our TSval %d" % (got["Timestamp"][1], sent["Timestamp"][0]))
    srv_isn = t.seq
    my_seq = (isn + 1) % 2**32
    my_ack = (srv_isn + 1) % 2**32
    ts = 123457

    def tcp(flags, payload=None):
        o = []
        if "Timestamp" in got:
            o = [("NOP", None), ("NOP", None), ("Timestamp", (ts, srv_ts))]
        pkt = ip_layer(dst) / TCP(sport=sport, dport=port, flags=flags, seq=my_seq,
                                  ack=my_ack, window=502, options=o)
        return pkt / Raw(payload) if payload else pkt

    srv_ts = got["Timestamp"][0] if "Timestamp" in got else 0
    send(tcp("A"))
    send(tcp("PA", REDIS_PING))
    want_ack = (my_seq + len(REDIS_PING)) % 2**32
    reply = wait_for(s, lambda p: Raw in p and p[TCP].ack == want_ack, 5.0)
    if reply is None:
        s.stop()
        seen = ["%s seq=%d ack=%d len=%d" % (p[TCP].flags, p[TCP].seq, p[TCP].ack,
                                             len(p[TCP].payload)) for p in s.got]
        die("no reply to PING; seen: %s" % seen)
    r = reply[TCP]
    data = bytes(r.payload)
    if data != b"+PONG\r\n":
        die("reply %r" % data)
    if r.seq != my_ack:
        die("reply seq %d, want %d (server ISN+1 in our sequence space)" % (r.seq, my_ack))
    ropts = opts_of(reply)
    if "Timestamp" in got:
        if "Timestamp" not in ropts:
            die("data reply has no timestamp")
        if ropts["Timestamp"][1] != ts:
            die("reply TSecr %d, want our TSval %d" % (ropts["Timestamp"][1], ts))
        if (ropts["Timestamp"][0] - srv_ts) % 2**32 > 2**31:
            die("reply TSval %d went back from %d" % (ropts["Timestamp"][0], srv_ts))
    elif "Timestamp" in ropts:
        die("timestamps in a flow that did not negotiate them")
    # Acknowledge the reply, then reset our side (no lingering flow).
    my_ack = (my_ack + len(data)) % 2**32
    send(tcp("A"))
    my_seq = want_ack
    send(ip_layer(dst) / TCP(sport=sport, dport=port, flags="R", seq=my_seq))
    s.stop()
    print("case=%s isn=%d sport=%d synack_opts=%s pong_ok=1" % (
        case, isn, sport, ",".join(sorted(got))))


def cmd_bad_ack(dst, port, sport):
    isn = random.getrandbits(32)
    s, sa = syn_exchange(dst, port, sport, CASES["linux"], isn)
    s.stop()
    bad = (sa[TCP].seq + 1 + 1000) % 2**32
    send(ip_layer(dst) / TCP(sport=sport, dport=port, flags="A", seq=(isn + 1) % 2**32,
                             ack=bad, window=502))
    # And an ACK for a connection that never sent a SYN (a forged cookie).
    send(ip_layer(dst) / TCP(sport=sport + 1, dport=port, flags="A",
                             seq=random.getrandbits(32), ack=random.getrandbits(32),
                             window=502))
    print("bad_ack_sent sport=%d" % sport)


def cmd_held_ack(dst, port, sport, d):
    isn = random.getrandbits(32)
    s, sa = syn_exchange(dst, port, sport, CASES["linux"], isn)
    got = opts_of(sa)
    srv_isn = sa[TCP].seq
    open(os.path.join(d, "synack.tmp"), "w").write("%d\n" % srv_isn)
    os.rename(os.path.join(d, "synack.tmp"), os.path.join(d, "synack"))
    for _ in range(600):
        if os.path.exists(os.path.join(d, "go")):
            break
        time.sleep(0.1)
    else:
        s.stop()
        die("no go")
    msg = b"held-ack %d\n" % sport
    seq, ack = (isn + 1) % 2**32, (srv_isn + 1) % 2**32
    o = []
    if "Timestamp" in got:
        o = [("NOP", None), ("NOP", None), ("Timestamp", (123457, got["Timestamp"][0]))]
    send(ip_layer(dst) / TCP(sport=sport, dport=port, flags="PA", seq=seq, ack=ack,
                             window=502, options=o) / Raw(msg))
    reply = wait_for(s, lambda p: Raw in p and bytes(p[TCP].payload) == msg, 8.0)
    s.stop()
    send(ip_layer(dst) / TCP(sport=sport, dport=port, flags="R", seq=(seq + len(msg)) % 2**32))
    if reply is None:
        die("no echo of the data sent with the handshake ACK")
    if reply[TCP].seq != ack:
        die("echo seq %d, want %d (our ISN + 1)" % (reply[TCP].seq, ack))
    print("held_ack_ok sport=%d" % sport)


def csum_fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def cmd_flood(dst, port, count, seconds):
    """Raw IPv4 SYNs with sources spread over 198.18.0.0/15, paced so that
    COUNT packets take about SECONDS.  Prints the count sent and the rate."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    daddr = socket.inet_aton(dst)
    d_hi, d_lo = struct.unpack("!HH", daddr)
    base = 0xc6120000  # 198.18.0.0
    rng = random.Random(7)
    # TCP header: sport, dport, seq, ack, doff=5/flags SYN, window, csum, urg
    const = csum_fold(d_hi + d_lo + 6 + 20 + port + (5 << 12 | 0x02) + 64240)
    pkt = bytearray(40)
    struct.pack_into("!BBHHHBBH4s4s", pkt, 0, 0x45, 0, 40, 0, 0, 64, 6, 0, b"\0" * 4, daddr)
    struct.pack_into("!HHIIBBHHH", pkt, 20, 0, port, 0, 0, 5 << 4, 0x02, 64240, 0, 0)
    sent = 0
    start = time.time()
    batch = 200
    per_batch = seconds / max(1, count / batch)
    while sent < count:
        for _ in range(min(batch, count - sent)):
            low = rng.getrandbits(17)  # 198.18.0.0/15: 17 host bits
            src_lo = low & 0xffff
            src_hi = 0xc612 | (low >> 16)
            sport = 1024 + rng.getrandbits(15)
            seq = rng.getrandbits(32)
            s = const + src_hi + src_lo + sport + (seq >> 16) + (seq & 0xffff)
            ck = (~csum_fold(s)) & 0xffff
            struct.pack_into("!HH", pkt, 12, src_hi, src_lo)
            struct.pack_into("!HHI", pkt, 20, sport, port, seq)
            struct.pack_into("!H", pkt, 36, ck)
            try:
                sock.sendto(pkt, (dst, 0))
                sent += 1
            except OSError:
                time.sleep(0.001)
        ahead = start + (sent / batch) * per_batch - time.time()
        if ahead > 0:
            time.sleep(ahead)
        if time.time() - start > seconds * 3 + 10:
            break
    took = time.time() - start
    print("flood_sent=%d seconds=%.1f rate=%d" % (sent, took, sent / took if took else 0))


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd = argv[1]
    if cmd == "lone-syn":
        cmd_lone_syn(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "handshake":
        cmd_handshake(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif cmd == "bad-ack":
        cmd_bad_ack(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "flood":
        cmd_flood(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif cmd == "held-ack":
        cmd_held_ack(argv[2], int(argv[3]), int(argv[4]), argv[5])
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
