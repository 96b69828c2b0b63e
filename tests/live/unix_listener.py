#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A Unix datagram socket that writes down what the daemon sends it.

  unix_listener.py SOCKET OUT [--on-ready CMD] [--seconds N]

Binds SOCKET and appends one line per datagram to OUT: the arrival time
(CLOCK_MONOTONIC, seconds) and the datagram with its newlines shown as
'|'.  Serves as the daemon's NOTIFY_SOCKET (READY=1, WATCHDOG=1, ...) and
as a /dev/log for its syslog target.  With --on-ready, the first datagram
holding READY=1 runs CMD (sh -c) at once and appends "ready-check: " and
its first line of output, so that a test can see the state the daemon
was in when it said it was ready.  Exits after N seconds (default 300).
"""
import argparse
import os
import socket
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("out")
    ap.add_argument("--on-ready", default="")
    ap.add_argument("--seconds", type=float, default=300)
    a = ap.parse_args()
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.socket)
    os.chmod(a.socket, 0o666)
    end = time.monotonic() + a.seconds
    ready_seen = False
    with open(a.out, "a", buffering=1) as out:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                return
            msg = d.decode(errors="replace")
            out.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
            if a.on_ready and not ready_seen and "READY=1" in msg.split("\n"):
                ready_seen = True
                r = subprocess.run(["sh", "-c", a.on_ready], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=20)
                first = r.stdout.decode(errors="replace").splitlines()
                out.write("ready-check: %s\n" % (first[0] if first else ""))


if __name__ == "__main__":
    main()
