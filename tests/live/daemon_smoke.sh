#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live smoke test (root): a client, a gateway running synproxyd and a
# backend echo server, each in its own network namespace.  A TCP connection
# from the client to the backend's port 6379 must be proxied
# (backend_established counts it) and answered byte for byte, over IPv4 and
# IPv6, with the answers sent back on their links (link_sent) and, after a
# reload to reply_path "route", through the raw sockets; stats --json and
# --prometheus parse and carry the text listing's names and values; flows
# and reload answer on the control socket; SIGTERM exits 0 and leaves no
# SYNPROXYD chain behind.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init

lab_gateway
start_echo "$SRV" 60
write_conf
daemon_start

# echo_once ADDR: one connection through the proxy to ADDR port 6379,
# answered byte for byte (connect retried a bounded number of times).
echo_once() {
	in_ns "$CLI" timeout 20 "$PY" -c '
import socket, sys, time
for attempt in range(20):
    try:
        c = socket.create_connection((sys.argv[1], 6379), timeout=5)
        break
    except OSError as e:
        err = e
        time.sleep(0.5)
else:
    sys.exit("connect: %s" % err)
c.settimeout(5)
msg = b"PING synproxyd smoke\r\n"
c.sendall(msg)
got = b""
while len(got) < len(msg):
    d = c.recv(4096)
    if not d:
        break
    got += d
c.close()
if got != msg:
    sys.exit("reply %r" % got)
print("echo reply ok")
' "$1"
}

echo_once "$BACKEND4" || fail "no echo through the proxy"
i=0
while [ "$(ctl_counter backend_established)" -lt 1 ] && [ $i -lt 30 ]; do
	sleep 0.1
	i=$((i + 1))
done
check_ge "backend_established counts the connection" "$(ctl_counter backend_established)" 1
# reply_path "link" (the default): the SYN-ACK to the client and the ACK
# to the backend's SYN-ACK went back on the links their packets came from.
check_ge "link_sent after one IPv4 connection" "$(ctl_counter link_sent)" 2
echo_once "$BACKEND6" || fail "no IPv6 echo through the proxy"
check_ge "link_sent after one IPv6 connection too" "$(ctl_counter link_sent)" 4
# reply_path "route" after a reload: every answer through the routing table.
link0=$(ctl_counter link_sent)
raw0=$(ctl_counter raw_sent)
override reply_path "the reload to \"route\" checks the other way answers leave (\"link\", the default, runs first)"
write_conf 'reply_path = "route";'
check_eq "reload to reply_path route" "$(daemon_reload)" ok
echo_once "$BACKEND4" || fail "no echo through the proxy with reply_path route"
check_eq "reply_path route: nothing more sent on the links" "$(ctl_counter link_sent)" "$link0"
check_ge "reply_path route: the answers went through the raw sockets" \
	"$(ctl_counter raw_sent)" $((raw0 + 2))
# stats --json and --prometheus, read while nothing moves: the same
# names and values as the text listing, every value an integer.
# (A timer may end a flow between two reads: then read again, bounded.)
for try in 1 2 3 4 5; do
	ctl stats >"$TMP/stats.txt" || fail "stats"
	ctl stats --json >"$TMP/stats.json" || fail "stats --json"
	ctl stats --prometheus >"$TMP/stats.prom" || fail "stats --prometheus"
	ctl stats >"$TMP/stats2.txt" || fail "stats"
	cmp -s "$TMP/stats.txt" "$TMP/stats2.txt" && break
	sleep 0.2
done
check "the counters did not move while read (try $try)" cmp -s "$TMP/stats.txt" "$TMP/stats2.txt"
check "stats --json parses and agrees with stats" "$PY" -c '
import json, sys
text = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    text[k] = int(v)
obj = json.load(open(sys.argv[2]))
prom = {}
for line in open(sys.argv[3]):
    if not line.startswith("#"):
        k, v = line.split()
        k = k[len("synproxyd_"):]
        prom[k[:-len("_total")] if k.endswith("_total") else k] = int(v)
for name, got in (("json", obj), ("prometheus", prom)):
    if set(got) != set(text):
        sys.exit("%s names differ: %s" % (name, sorted(set(got) ^ set(text))))
    bad = [k for k in text if type(got[k]) is not int or got[k] != text[k]]
    if bad:
        sys.exit("%s values differ: %s" % (name, bad))
if text["backend_established"] < 3 or text["memory_bytes"] <= 0:
    sys.exit("backend_established %d, memory_bytes %d" % (text["backend_established"],
                                                          text["memory_bytes"]))
print("stats: %d names; json and prometheus agree" % len(text))
' "$TMP/stats.txt" "$TMP/stats.json" "$TMP/stats.prom"
check "flows answers" ctl flows
check_eq "reload answers" "$(daemon_reload)" ok
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
if in_ns "$GW" iptables-save | grep -q SYNPROXYD; then
	check_eq "SYNPROXYD chains left after stop" yes no
fi
lab_finish
