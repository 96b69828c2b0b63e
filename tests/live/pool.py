#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A pool of long-lived connections, every reply checked.

  pool.py ADDR PORT KIND CONNS SECONDS [INTERVAL] [READY_FILE]

KIND "redis" sends PING and wants +PONG; "echo" sends a numbered line
and wants it back.  Each of CONNS connections (opened at the start, never
reopened) exchanges every INTERVAL seconds (0.1) for SECONDS, one thread
each.  A wrong reply, a reset, a close, or a reply later than 10 s (TCP
retransmission bridges a gap of a few seconds; a lost connection never
answers) fails the pool.  READY_FILE is created once every connection is
open.  Prints one line per connection and a summary; exits 0 when every
connection did every exchange right.
"""
import os
import socket
import sys
import threading
import time

addr, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conns, seconds = int(sys.argv[4]), float(sys.argv[5])
interval = float(sys.argv[6]) if len(sys.argv) > 6 else 0.1
ready = sys.argv[7] if len(sys.argv) > 7 else None
results = [None] * conns


def run(i, s):
    n, worst, deadline = 0, 0.0, time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            msg = b"PING\r\n" if kind == "redis" else ("c%d m%d\n" % (i, n)).encode()
            want = b"+PONG\r\n" if kind == "redis" else msg
            t0 = time.monotonic()
            s.sendall(msg)
            got = b""
            while len(got) < len(want):
                d = s.recv(4096)
                if not d:
                    raise OSError("closed by the peer")
                got += d
            if got != want:
                raise OSError("wrong reply %r" % got)
            worst = max(worst, time.monotonic() - t0)
            n += 1
            time.sleep(interval)
        results[i] = (True, n, worst, "")
    except OSError as e:
        results[i] = (False, n, worst, str(e) or type(e).__name__)


socks = []
for i in range(conns):
    s = socket.create_connection((addr, port), timeout=10)
    s.settimeout(10)
    socks.append(s)
if ready:
    open(ready, "w").close()
threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(socks)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = all(r[0] for r in results)
for i, r in enumerate(results):
    print("conn %d: %s after %d exchanges, slowest reply %.2f s%s"
          % (i, "ok" if r[0] else "FAILED", r[1], r[2], "" if r[0] else ": " + r[3]))
print("pool %s: %d connections, %d exchanges, slowest reply %.2f s"
      % ("ok" if ok else "FAILED", conns, sum(r[1] for r in results),
         max(r[2] for r in results)))
sys.exit(0 if ok else 1)
