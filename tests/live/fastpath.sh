#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of the kernel fast path (root): a client, a gateway running
# synproxyd and a backend, each in its own network namespace.
#  1. fastpath "auto": a 10 MB download from nginx through the proxy
#     arrives intact, conntrack in the gateway holds our entry (ctmark,
#     sequence adjustment, timestamp offset), offload_ok counts it and the
#     flow listing says path=kernel;
#  1b. a flow whose RST conntrack did not see (the daemon saw the client's
#     side, as it does for packets queued before the entry existed) is
#     taken back into userspace and its entry removed; a new connection on
#     the same ports is proxied;
#  2. a long-lived echo connection survives SIGKILL of the daemon and a
#     restart in its middle: every line comes back intact;
#  3. fastpath "off": the flow stays on the userspace path.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
. "${top_srcdir:-.}/tests/live/hostile_lib.sh"
lab_init conntrack curl nginx sha256sum

# lab_gateway sets nf_conntrack_tcp_loose=0, as synproxyd(8) recommends.
lab_gateway
start_nginx "$SRV"
echo hello >"$TMP/www/small.txt"
start_echo "$SRV" 120
URL=http://$BACKEND4

stat_of() {
	ctl_counter "$1"
}
# The log lines of the daemon's latest start.
last_start_log() {
	awk '/notice: started:/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' \
		"$TMP/daemon.log"
}
# 1. The download, offloaded.
write_conf 'fastpath = "auto";'
daemon_start
last_start_log | grep -q "fastpath on" || fail "the daemon did not enable the fast path"
# The first connections meet wscale "auto" before it has learned the
# backend's shift (three SYN-ACKs must agree on it): their windows are
# rescaled, so they must stay in userspace.  A connection is offered to the
# fast path once it has passed 32 segments, so the first is a download
# long enough to be offered (and refused).
in_ns "$CLI" curl -sS --max-time 30 --retry 3 --retry-connrefused \
	-o "$TMP/got.bin" "$URL/big.bin" || fail "first download"
[ "$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)" = "$BIG_SHA" ] ||
	fail "first download (rescaled, in userspace) corrupted"
for k in 2 3; do
	in_ns "$CLI" curl -sS --max-time 10 --retry 3 --retry-connrefused \
		-o "$TMP/small.txt" "$URL/small.txt" || fail "small download $k"
	cmp -s "$TMP/small.txt" "$TMP/www/small.txt" || fail "small download $k corrupted"
done
i=0
while [ "$(stat_of offload_refused_rescaled)" -lt 1 ]; do
	i=$((i + 1))
	[ $i -gt 20 ] && fail "offload_refused_rescaled did not count the first flow"
	sleep 0.1
done
in_ns "$CLI" curl -sS --max-time 30 --retry 3 --retry-connrefused \
	-o "$TMP/got.bin" "$URL/big.bin" || fail "download"
got=$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)
[ "$got" = "$BIG_SHA" ] || fail "download corrupted ($got, want $BIG_SHA)"
echo "download: 10 MB intact"
ctl flows >"$TMP/flows1" || fail "flows"
cat "$TMP/flows1"
grep -q ":80 .*path=kernel" "$TMP/flows1" || fail "the download is not listed as path=kernel"
in_ns "$GW" conntrack -L -p tcp --dport 80 -o extended 2>/dev/null >"$TMP/ct1"
cat "$TMP/ct1"
grep -q "mark=21328" "$TMP/ct1" || fail "no conntrack entry with our ctmark (0x5350)"
# conntrack(8) prints no sequence adjustment: ctdump.py reads it from
# ctnetlink.  The reply direction's offset must be the flow's dseq (our
# ISN - backend ISN), the status must have SEQ_ADJUST (0x40), and the
# timestamp offset must be -dts (mod 2^32).
cport=$(awk '/path=kernel/ && /:80 / { split($2, a, ":"); print a[2] }' "$TMP/flows1")
dseq=$(awk '/path=kernel/ && /:80 / { sub("dseq=", "", $5); print $5 }' "$TMP/flows1")
dts=$(awk '/path=kernel/ && /:80 / { sub("dts=", "", $6); print $6 }' "$TMP/flows1")
in_ns "$GW" "$PY" "$LIVE_DIR/ctdump.py" >"$TMP/ctdump" || fail "ctdump"
line=$(awk -v p="$cport" '$1 == p && $2 == 80' "$TMP/ctdump")
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

# 1b. A close conntrack does not see.  The client's packets are kept from
# conntrack (raw-table notrack) as packets queued before the flow's entry
# existed would be, so they all reach the daemon, and so does its RST at
# the end, which the daemon judges against them (only an exact RST may
# change the flow's path): it must take the flow back (offload_withdrawn)
# and remove the entry, which would otherwise stay ESTABLISHED and carry a
# later connection on the same ports straight to the backend with this
# one's offsets.  A new connection from the same port then goes through
# the proxy.
P=47123
# Port 6379's backend shift is learned separately: short exchanges, as
# many as the engine needs to agree on it.
in_ns "$CLI" timeout 10 "$PY" -c '
import socket, sys
for i in range(3):
    c = socket.create_connection((sys.argv[1], 6379), timeout=5)
    c.sendall(b"hi\n")
    assert c.recv(16) == b"hi\n"
    c.close()
' "$BACKEND4" || fail "echo warm-up"
in_ns "$GW" iptables -t raw -I PREROUTING -p tcp --sport $P -j CT --notrack ||
	fail "notrack rule"
# port_client MSG [hold]: from port $P, one echo of MSG through the proxy;
# with hold, 20 echoes (past the fast path's 32 segments), then it writes
# $TMP/ready, waits for $TMP/close and ends the connection with an RST
# (SO_LINGER 0), leaving no TIME_WAIT behind.
port_client() {
	in_ns "$CLI" timeout 30 "$PY" -c '
import os, socket, struct, sys, time
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(("0.0.0.0", int(sys.argv[2])))
c.settimeout(5)
c.connect((sys.argv[1], 6379))
msg = sys.argv[3].encode() + b"\n"
for i in range(20 if len(sys.argv) > 5 else 1):
    c.sendall(msg)
    assert c.recv(16) == msg
if len(sys.argv) > 5:
    open(sys.argv[4] + "/ready", "w").close()
    for i in range(200):
        if os.path.exists(sys.argv[4] + "/close"):
            break
        time.sleep(0.05)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
' "$BACKEND4" $P "$1" "$TMP" ${2:-}
}
rm -f "$TMP/ready" "$TMP/close"
port_client one hold &
RSTPID=$!
LAB_PIDS="$LAB_PIDS $RSTPID"
i=0
until [ -f "$TMP/ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the client on port $P did not connect"
	sleep 0.1
done
i=0
until ctl flows | grep -q ":$P .*path=kernel"; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "the flow from port $P was not offloaded"
	sleep 0.1
done
withdrawn0=$(stat_of offload_withdrawn)
touch "$TMP/close"
wait "$RSTPID" || fail "the client on port $P failed"
i=0
while [ "$(stat_of offload_withdrawn)" -le "$withdrawn0" ]; do
	i=$((i + 1))
	[ $i -gt 50 ] && fail "offload_withdrawn did not count the RST conntrack missed"
	sleep 0.1
done
in_ns "$GW" iptables -t raw -D PREROUTING -p tcp --sport $P -j CT --notrack
if in_ns "$GW" conntrack -L -p tcp --sport $P 2>/dev/null | grep -q ESTABLISHED; then
	in_ns "$GW" conntrack -L -p tcp --sport $P
	fail "an ESTABLISHED entry outlived the connection from port $P"
fi
est0=$(stat_of backend_established)
port_client two || fail "a new connection from port $P failed"
check_ge "the new connection from port $P went through the proxy" \
	"$(stat_of backend_established)" $((est0 + 1))

# 2. A long-lived connection across SIGKILL and a restart.
start_longlived "$BACKEND4" 60
sleep 1
ctl flows >"$TMP/flows2"
cat "$TMP/flows2"
grep -q ":6379 .*established.*path=kernel\|established .*:6379 .*path=kernel" "$TMP/flows2" ||
	fail "the echo flow is not on the kernel path"
daemon_crash
echo "daemon killed"
sleep 1
daemon_start
echo "daemon restarted"
sleep 2
check "the echo client still runs after the restart" ll_alive
stop_longlived
check_eq "the echo connection survived the restart, every reply intact" "$LL_RC" 0
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0

# 3. fastpath off: the flow stays in userspace.
override fastpath "\"off\" in the last phase: the setting itself is what it checks"
write_conf 'fastpath = "off";'
daemon_start
last_start_log | grep -q "fastpath off" || fail "fastpath off not reported"
if in_ns "$GW" iptables-save | grep -q "SYNPROXYD-TS\|connmark"; then
	fail "fast path rules installed with fastpath off"
fi
start_longlived "$BACKEND4" 60
sleep 1
ctl flows >"$TMP/flows3"
cat "$TMP/flows3"
grep -q ":6379 .*path=userspace" "$TMP/flows3" || fail "flow not on the userspace path"
stop_longlived
check_eq "echo with fastpath off, every reply intact" "$LL_RC" 0
[ "$(stat_of offload_refused_off)" -ge 1 ] || fail "offload_refused_off did not count"
[ "$(stat_of offload_ok)" -eq 0 ] || fail "offload_ok counted with fastpath off"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
