#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live smoke test (root): a client, a gateway running synproxyd and a
# backend echo server, each in its own network namespace.  A TCP connection
# from the client to the backend's port 6379 must be proxied
# (backend_established counts it) and answered byte for byte, over IPv4 and
# IPv6, with the answers sent back on their links (link_sent) and, after a
# reload to reply_path "route", through the raw sockets; stats --json,
# flows and reload answer on the control socket; SIGTERM exits 0 and leaves
# no SYNPROXYD chain behind.
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
write_conf 'reply_path = "route";'
check_eq "reload to reply_path route" "$(ctl reload)" ok
echo_once "$BACKEND4" || fail "no echo through the proxy with reply_path route"
check_eq "reply_path route: nothing more sent on the links" "$(ctl_counter link_sent)" "$link0"
check_ge "reply_path route: the answers went through the raw sockets" \
	"$(ctl_counter raw_sent)" $((raw0 + 2))
check "stats --json answers" ctl stats --json
check "flows answers" ctl flows
check_eq "reload answers" "$(ctl reload)" ok
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
if in_ns "$GW" iptables-save | grep -q SYNPROXYD; then
	check_eq "SYNPROXYD chains left after stop" yes no
fi
lab_finish
