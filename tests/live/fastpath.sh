#!/bin/sh
# Live test of the kernel fast path (root): a client, a gateway running
# synproxyd and a backend, each in its own network namespace.
#  1. fastpath "auto": a 10 MB download through the proxy arrives intact,
#     conntrack in the gateway holds our entry (ctmark, sequence
#     adjustment), offload_ok counts it and the flow listing says
#     path=kernel;
#  2. a long-lived echo connection survives SIGKILL of the daemon and a
#     restart in its middle: every line comes back intact;
#  3. fastpath "off": the flow stays on the userspace path.
# Exits 77 (skip) only when not root, namespaces are unavailable or a tool
# is missing.
set -u

top_builddir=${top_builddir:-.}
SYNPROXYD=${SYNPROXYD:-$top_builddir/src/daemon/synproxyd}
SYNPROXYCTL=${SYNPROXYCTL:-$top_builddir/src/tools/synproxyctl}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root"
	exit 77
fi
for tool in ip iptables-save conntrack curl python3 sha256sum; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found (scripts/install-deps installs it)"
		exit 77
	fi
done
P="spfp$$"
CLI="$P-cli"
GW="$P-gw"
SRV="$P-srv"
TMP=$(mktemp -d /tmp/spd-fastpath.XXXXXX) || exit 1
DPID=
HPID=
EPID=

stop_daemon() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	DPID=
}
cleanup() {
	stop_daemon
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null
	[ -n "$EPID" ] && kill "$EPID" 2>/dev/null
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
	for f in "$TMP"/daemon*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		cat "$f"
	done
	exit 1
}
ip netns add "$GW" || fail "netns $GW"
ip netns add "$SRV" || fail "netns $SRV"
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
# The setting synproxyd(8) recommends with the fast path.
modprobe nf_conntrack 2>/dev/null
ip netns exec "$GW" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || fail "tcp_loose"

# The backend: a web server with a 10 MB file, and a line echo server.
mkdir "$TMP/www"
head -c 10485760 /dev/urandom >"$TMP/www/big.bin"
echo hello >"$TMP/www/small.txt"
want=$(sha256sum <"$TMP/www/big.bin" | cut -d' ' -f1)
(cd "$TMP/www" && exec ip netns exec "$SRV" timeout 120 python3 -m http.server \
	--bind 203.0.113.2 8080 >"$TMP/http.log" 2>&1) &
HPID=$!
ip netns exec "$SRV" timeout 120 python3 -c '
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
EPID=$!
i=0
until ip netns exec "$SRV" ss -ltnH 'sport = :6379 or sport = :8080' | grep -c LISTEN |
	grep -qx 2; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "backend servers did not start"
	sleep 0.1
done

SOCK="$TMP/ctl/control.sock"
write_conf() {
	cat >"$TMP/synproxyd.conf" <<CONF
mode = "gateway";
fastpath = "$1";
control_socket = "$SOCK";
logging = { level = "info"; target = "stderr"; };
rules = (
	{ name = "web"; dst = "203.0.113.2"; ports = [ 8080, 6379 ]; action = "proxy"; }
);
CONF
	"$SYNPROXYD" -c "$TMP/synproxyd.conf" -t || fail "config check ($1)"
}
NSTART=0
start_daemon() {
	NSTART=$((NSTART + 1))
	rm -f "$SOCK"
	ip netns exec "$GW" "$SYNPROXYD" -c "$TMP/synproxyd.conf" --manage-rules \
		>"$TMP/daemon$NSTART.log" 2>&1 &
	DPID=$!
	i=0
	while [ ! -S "$SOCK" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "daemon did not create its control socket"
		kill -0 "$DPID" 2>/dev/null || fail "daemon exited early"
		sleep 0.1
	done
}
stat_of() {
	"$SYNPROXYCTL" -s "$SOCK" stats | awk -v n="$1" '$1 == n { print $2 }'
}

# 1. The download, offloaded.
write_conf auto
start_daemon
grep -q "fastpath on" "$TMP/daemon1.log" || fail "the daemon did not enable the fast path"
# The first connection meets wscale "auto" before it has learned the
# backend's shift: its window is rescaled, so it must stay in userspace.
ip netns exec "$CLI" curl -sS --max-time 10 --retry 3 --retry-connrefused \
	-o "$TMP/small.txt" http://203.0.113.2:8080/small.txt || fail "small download"
cmp -s "$TMP/small.txt" "$TMP/www/small.txt" || fail "small download corrupted"
i=0
while [ "$(stat_of offload_refused_rescaled)" -lt 1 ]; do
	i=$((i + 1))
	[ $i -gt 20 ] && fail "offload_refused_rescaled did not count the first flow"
	sleep 0.1
done
ip netns exec "$CLI" curl -sS --max-time 30 --retry 3 --retry-connrefused \
	-o "$TMP/got.bin" http://203.0.113.2:8080/big.bin || fail "download"
got=$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "download corrupted ($got, want $want)"
echo "download: 10 MB intact"
"$SYNPROXYCTL" -s "$SOCK" flows >"$TMP/flows1" || fail "flows"
cat "$TMP/flows1"
grep -q ":8080 .*path=kernel" "$TMP/flows1" || fail "the download is not listed as path=kernel"
ip netns exec "$GW" conntrack -L -p tcp --dport 8080 -o extended 2>/dev/null >"$TMP/ct1"
cat "$TMP/ct1"
grep -q "mark=21328" "$TMP/ct1" || fail "no conntrack entry with our ctmark (0x5350)"
# conntrack(8) prints no sequence adjustment: ctdump.py reads it from
# ctnetlink.  The reply direction's offset must be the flow's dseq (our
# ISN - backend ISN), the status must have SEQ_ADJUST (0x40), and the
# timestamp offset must be -dts (mod 2^32).
srcdir=${top_srcdir:-$(dirname "$0")/../..}
cport=$(awk '/path=kernel/ && /:8080 / { split($2, a, ":"); print a[2] }' "$TMP/flows1")
dseq=$(awk '/path=kernel/ && /:8080 / { sub("dseq=", "", $5); print $5 }' "$TMP/flows1")
dts=$(awk '/path=kernel/ && /:8080 / { sub("dts=", "", $6); print $6 }' "$TMP/flows1")
ip netns exec "$GW" python3 "$srcdir/tests/live/ctdump.py" >"$TMP/ctdump" || fail "ctdump"
line=$(awk -v p="$cport" '$1 == p && $2 == 8080' "$TMP/ctdump")
echo "ctnetlink: sport dport mark status seqadj tsoff: $line"
set -- $line
[ "${3:-}" = 0x5350 ] || fail "entry mark ${3:-none}, want 0x5350"
[ $(( ${4:-0} & 0x40 )) -ne 0 ] || fail "entry status ${4:-none} lacks SEQ_ADJUST"
[ "${5:-}" = "$dseq" ] || fail "entry seqadj ${5:-none}, want dseq $dseq"
[ "${6:-}" = $(( (4294967296 - dts) % 4294967296 )) ] || fail "entry tsoff ${6:-none}, want -$dts"
i=0
while [ "$(stat_of offload_ok)" -lt 1 ]; do
	i=$((i + 1))
	[ $i -gt 20 ] && fail "offload_ok did not count the download"
	sleep 0.1
done
echo "offload_ok $(stat_of offload_ok) offload_failed $(stat_of offload_failed)"
[ "$(stat_of offload_failed)" -eq 0 ] || fail "offload_failed is not 0"
received=$(stat_of queue_received)
echo "queue_received $received (a 10 MB download is ~7000 segments)"
[ "$received" -lt 2000 ] || fail "the download's packets kept reaching the queue"

# 2. A long-lived connection across SIGKILL and a restart.
cat >"$TMP/echo.py" <<'PY'
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
open(sys.argv[1], "w").close()
for n in range(30):
    msg = ("line %d %s\n" % (n, "x" * (n * 37 % 1400))).encode()
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = c.recv(65536)
        if not d:
            sys.exit("closed at line %d" % n)
        got += d
    if got != msg:
        sys.exit("line %d came back as %r" % (n, got[:40]))
    time.sleep(0.2)
c.close()
print("echo: 30 lines intact")
PY
# Port 6379's backend shift is learned separately: a first short exchange.
ip netns exec "$CLI" timeout 10 python3 -c '
import socket
c = socket.create_connection(("203.0.113.2", 6379), timeout=5)
c.sendall(b"hi\n")
assert c.recv(16) == b"hi\n"
' || fail "echo warm-up"
ip netns exec "$CLI" timeout 30 python3 "$TMP/echo.py" "$TMP/connected" &
CPID=$!
i=0
while [ ! -f "$TMP/connected" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "echo client did not connect"
	sleep 0.1
done
sleep 1
"$SYNPROXYCTL" -s "$SOCK" flows >"$TMP/flows2"
cat "$TMP/flows2"
grep -q ":6379 .*established.*path=kernel\|established .*:6379 .*path=kernel" "$TMP/flows2" ||
	fail "the echo flow is not on the kernel path"
kill -KILL "$DPID"
wait "$DPID" 2>/dev/null
DPID=
echo "daemon killed"
sleep 1
start_daemon
echo "daemon restarted"
wait "$CPID" || fail "the echo connection did not survive the restart"
stop_daemon

# 3. fastpath off: the flow stays in userspace.
write_conf off
start_daemon
grep -q "fastpath off" "$TMP/daemon3.log" || fail "fastpath off not reported"
if ip netns exec "$GW" iptables-save | grep -q "SYNPROXYD-TS\|connmark"; then
	fail "fast path rules installed with fastpath off"
fi
rm -f "$TMP/connected"
ip netns exec "$CLI" timeout 30 python3 "$TMP/echo.py" "$TMP/connected" &
CPID=$!
i=0
while [ ! -f "$TMP/connected" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "echo client did not connect (fastpath off)"
	sleep 0.1
done
sleep 1
"$SYNPROXYCTL" -s "$SOCK" flows >"$TMP/flows3"
cat "$TMP/flows3"
grep -q ":6379 .*path=userspace" "$TMP/flows3" || fail "flow not on the userspace path"
wait "$CPID" || fail "echo with fastpath off"
[ "$(stat_of offload_refused_off)" -ge 1 ] || fail "offload_refused_off did not count"
[ "$(stat_of offload_ok)" -eq 0 ] || fail "offload_ok counted with fastpath off"
stop_daemon
echo "PASS"
exit 0
