#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generates the fuzzers' seed corpora and replay_packets.h.

From tests/replay/cases/*/input.pcap (raw IP, linktype 101):
  replay_packets.h      a table of distinct packets (up to 10 per case)
                        that fuzz_engine's script mode mutates;
  corpus/engine/        one raw-mode input per case (its packets and
                        their time gaps) and script-mode handshakes built
                        from each case's first SYN;
  corpus/packet/        each table packet behind an xlate header.
From etc/synproxyd.conf.example and every case's synproxyd.conf:
  corpus/conf/          the files as they are.
Deterministic: running it twice gives the same files.  Run it from
anywhere; it writes next to itself.
"""
import glob
import hashlib
import os
import shutil
import struct

from scapy.utils import RawPcapReader

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CASES = sorted(glob.glob(os.path.join(TOP, "tests/replay/cases/*")))
PER_CASE = 10
TABLE_MAX = 256
MAX_LEN = 4096


def read_case(case):
    out = []
    for data, meta in RawPcapReader(os.path.join(case, "input.pcap")):
        ms = meta.sec * 1000 + meta.usec // 1000
        out.append((bytes(data), ms))
    return out


def time_byte(delta_ms):
    """Inverse of fuzz_engine.c's time_step, rounding down."""
    delta_ms = max(delta_ms, 0)
    if delta_ms < 2000:
        return min(delta_ms // 10, 199)
    return min(200 + delta_ms // 2000, 255)


def is_syn(pkt):
    if pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 15) * 4
        return pkt[9] == 6 and len(pkt) >= ihl + 14 and pkt[ihl + 13] & 0x12 == 0x02
    return len(pkt) >= 54 and pkt[6] == 6 and pkt[53] & 0x12 == 0x02


def write_dir(name, files):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for label, data in files:
        h = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(d, "%s-%s" % (label, h)), "wb") as f:
            f.write(data)


def handshake_script(syn_idx, mode, early_data):
    """fuzz_engine script: a full proxied connection from corpus SYN syn_idx.
    Each record: opcode, operands, time byte (see fuzz_engine.c)."""
    TO_CLIENT, TO_SERVER = 0x00, 0x80
    s = bytes([mode])

    def reply(sel, flags, optbits, plen, t=0, dseq=0):
        return bytes([2, sel, flags, optbits, dseq, 0, 0x20, plen, t])

    def cont(sel, flags, optbits, plen, t=0):
        return bytes([4, sel, flags, optbits, 0, 0, 0x20, plen, t])

    s += bytes([0, syn_idx, 0, 0])                      # client SYN
    if early_data:
        s += reply(TO_CLIENT, 0x18, 0x08, 5)            # handshake ACK with data
        s += cont(TO_SERVER, 0x18, 0x08, 6)             # more data, held
    else:
        s += reply(TO_CLIENT, 0x10, 0x08, 0)            # handshake ACK
    s += reply(TO_SERVER, 0x12, 0x8f, 0, dseq=0x10)     # backend SYN-ACK
    s += cont(TO_SERVER, 0x18, 0x18, 7)                 # client data, SACK
    s += reply(TO_SERVER, 0x18, 0x08, 3)                # server answers
    s += bytes([0x85, TO_CLIENT, 0, 4, 200, 0])          # ICMP about it to the server
    s += bytes([0x85, TO_SERVER, 1, 0, 28, 0])          # and about the client's to it
    s += reply(TO_CLIENT, 0x11, 0x08, 0, t=50)          # client FIN
    s += bytes([5, 0])                                  # offload
    s += reply(TO_SERVER, 0x11, 0x08, 0)                # server FIN
    s += reply(TO_CLIENT, 0x10, 0x08, 0, t=230)         # last ACK, then time
    return s


def main():
    table = []
    seen = set()
    engine, packet, conf = [], [], []
    first_syn = {}
    for case in CASES:
        name = os.path.basename(case)
        pkts = read_case(case)
        raw = bytes([0x02])                             # raw mode, cookies auto
        for i, (data, ms) in enumerate(pkts):
            nxt = pkts[i + 1][1] if i + 1 < len(pkts) else ms
            rec = struct.pack(">H", len(data)) + data + bytes([time_byte(nxt - ms)])
            if len(raw) + len(rec) > MAX_LEN:
                break
            raw += rec
        engine.append((name, raw))
        for data, _ in pkts[:PER_CASE]:
            if data in seen or len(table) >= TABLE_MAX:
                continue
            seen.add(data)
            if name not in first_syn and is_syn(data):
                first_syn[name] = len(table)
            table.append((name, data))
        cf = os.path.join(case, "synproxyd.conf")
        if os.path.exists(cf):
            conf.append((name, open(cf, "rb").read()))
    conf.append(("example", open(os.path.join(TOP, "etc/synproxyd.conf.example"), "rb").read()))

    # cookies: off (0x00), auto (0x02), always (0x04); script bit 0x01.
    for name, idx in sorted(first_syn.items()):
        if name in ("redis_ping", "ipv6_ping", "sack_blocks", "seq_wrap", "windows_like"):
            # 0x20: a kernel fast path that knows the offered flow;
            # 0x40: a next queue for ICMP errors of unknown flows.
            for mode in (0x01, 0x03, 0x05, 0x0b, 0x63):
                engine.append(("script-%s-%02x" % (name, mode),
                               handshake_script(idx, mode, False)))
            engine.append(("script-early-%s" % name, handshake_script(idx, 0x03, True)))

    xlates = [bytes(22),
              struct.pack(">5I2B", 0x80000000, 0x7fffffff, 1, 0xffffffff, 12345, 7, 2),
              struct.pack(">5I2B", 0x1000, 0xfffff000, 0x1000, 0x10, 0xfffffff0, 0, 14)]
    for i, (name, data) in enumerate(table):
        packet.append(("%s" % name, xlates[i % len(xlates)] + data))

    write_dir("engine", engine)
    write_dir("packet", packet)
    write_dir("conf", conf)

    with open(os.path.join(HERE, "replay_packets.h"), "w") as f:
        f.write("/* SPDX-License-Identifier: GPL-2.0-or-later */\n")
        f.write("/* Generated by tests/fuzz/make_corpus.py from tests/replay/cases:\n"
                " * distinct input packets for fuzz_engine's script mode. */\n")
        f.write("#ifndef SP_REPLAY_PACKETS_H\n#define SP_REPLAY_PACKETS_H\n\n")
        f.write("#include <stdint.h>\n\n")
        f.write("struct replay_pkt {\n\tuint32_t len;\n\tconst uint8_t *data;\n};\n\n")
        for i, (name, data) in enumerate(table):
            f.write("/* %s */\nstatic const uint8_t replay_pkt_%d[] = {\n" % (name, i))
            for j in range(0, len(data), 12):
                f.write("\t" + " ".join("0x%02x," % b for b in data[j:j + 12]) + "\n")
            f.write("};\n")
        f.write("\nstatic const struct replay_pkt replay_pkts[] = {\n")
        for i, (_, data) in enumerate(table):
            f.write("\t{ %d, replay_pkt_%d },\n" % (len(data), i))
        f.write("};\n\n#define REPLAY_NPKTS (sizeof(replay_pkts) / sizeof(replay_pkts[0]))\n")
        f.write("\n#endif\n")
    print("make_corpus: %d table packets, %d engine, %d packet, %d conf seeds"
          % (len(table), len(engine), len(packet), len(conf)))


if __name__ == "__main__":
    main()
