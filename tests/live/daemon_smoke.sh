#!/bin/sh
# Live smoke test (root): a client, a gateway running synproxyd and a
# backend, each in its own network namespace.  A TCP connection from the
# client to the backend's port 6379 must be proxied (backend_established
# counts it) and answered, and SIGTERM must leave no SYNPROXYD chain behind.
# Exits 77 (skip) only when not root or network namespaces are unavailable.
set -u

top_builddir=${top_builddir:-.}
SYNPROXYD=${SYNPROXYD:-$top_builddir/src/daemon/synproxyd}
SYNPROXYCTL=${SYNPROXYCTL:-$top_builddir/src/tools/synproxyctl}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root"
	exit 77
fi
P="spd$$"
CLI="$P-cli"
GW="$P-gw"
SRV="$P-srv"
TMP=$(mktemp -d /tmp/spd-smoke.XXXXXX) || exit 1
DPID=
SPID=

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	for ns in "$CLI" "$GW" "$SRV"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$CLI" 2>/dev/null; then
	echo "SKIP: network namespaces unsupported"
	exit 77
fi
fail() {
	echo "FAIL: $*"
	if [ -f "$TMP/daemon.log" ]; then
		echo "--- daemon log"
		cat "$TMP/daemon.log"
	fi
	exit 1
}
ip netns add "$GW" || fail "netns $GW"
ip netns add "$SRV" || fail "netns $SRV"

# Interface names are per namespace, so short fixed names are safe.
ip link add c0 netns "$CLI" type veth peer name g0 netns "$GW" || fail "veth client"
ip link add g1 netns "$GW" type veth peer name s0 netns "$SRV" || fail "veth backend"
ip -n "$CLI" addr add 192.0.2.10/24 dev c0
ip -n "$GW" addr add 192.0.2.1/24 dev g0
ip -n "$GW" addr add 203.0.113.1/24 dev g1
ip -n "$SRV" addr add 203.0.113.2/24 dev s0
for ns in "$CLI" "$GW" "$SRV"; do
	ip -n "$ns" link set lo up
done
ip -n "$CLI" link set c0 up
ip -n "$GW" link set g0 up
ip -n "$GW" link set g1 up
ip -n "$SRV" link set s0 up
ip -n "$CLI" route add default via 192.0.2.1
ip -n "$SRV" route add default via 203.0.113.1
ip netns exec "$GW" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward"

# An echo server on the backend that lives at most 60 s.
ip netns exec "$SRV" timeout 60 python3 -c '
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 6379))
s.listen(16)
def serve(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' &
SPID=$!
# Through a proxy a closed port looks like a reset after connect: wait for
# the listener first.
i=0
until ip netns exec "$SRV" ss -ltnH 'sport = :6379' | grep -q LISTEN; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "echo server did not start"
	sleep 0.1
done

SOCK="$TMP/ctl/control.sock"
cat > "$TMP/synproxyd.conf" <<CONF
mode = "gateway";
queue = { num = 0; count = 1; fail_open = false; bypass = false; };
control_socket = "$SOCK";
logging = { level = "debug"; target = "stderr"; };
rules = (
	{ name = "echo"; dst = "203.0.113.2"; ports = [ 6379 ]; action = "proxy"; }
);
CONF
"$SYNPROXYD" -c "$TMP/synproxyd.conf" -t || fail "config check"

ip netns exec "$GW" "$SYNPROXYD" -c "$TMP/synproxyd.conf" --manage-rules \
	>"$TMP/daemon.log" 2>&1 &
DPID=$!
i=0
while [ ! -S "$SOCK" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "daemon did not create its control socket"
	kill -0 "$DPID" 2>/dev/null || fail "daemon exited early"
	sleep 0.1
done
ip netns exec "$GW" iptables-save | grep -q SYNPROXYD || fail "rules not installed"

# Talk through the proxy (connect retried a bounded number of times).
ip netns exec "$CLI" timeout 20 python3 -c '
import socket, sys, time
for attempt in range(20):
    try:
        c = socket.create_connection(("203.0.113.2", 6379), timeout=5)
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
' || fail "no echo through the proxy"

est=0
i=0
while [ "${est:-0}" -lt 1 ]; do
	i=$((i + 1))
	[ $i -gt 30 ] && break
	est=$("$SYNPROXYCTL" -s "$SOCK" stats | awk '$1 == "backend_established" { print $2 }')
	[ "${est:-0}" -ge 1 ] || sleep 0.1
done
echo "backend_established ${est:-none}"
[ "${est:-0}" -ge 1 ] || fail "backend_established did not count the connection"
"$SYNPROXYCTL" -s "$SOCK" stats --json >/dev/null || fail "stats --json"
"$SYNPROXYCTL" -s "$SOCK" flows || fail "flows"
"$SYNPROXYCTL" -s "$SOCK" reload | grep -qx ok || fail "reload"

kill -TERM "$DPID"
i=0
while kill -0 "$DPID" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "daemon did not stop on SIGTERM"
	sleep 0.1
done
wait "$DPID"
rc=$?
DPID=
[ $rc -eq 0 ] || fail "daemon exit status $rc"
if ip netns exec "$GW" iptables-save | grep -q SYNPROXYD; then
	fail "SYNPROXYD chains left after stop"
fi
echo "--- daemon log"
cat "$TMP/daemon.log"
echo "PASS"
exit 0
