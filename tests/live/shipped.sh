#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The suite's user-visible checks with etc/synproxyd.conf.example as it
# ships: nothing but addresses changed, so no default is overridden (the
# diff is printed, and a line that differs in anything but an address or
# the control socket's path fails the test).
#
# Addresses.  The example's server, 203.0.113.2, is the lab's backend.  Its
# redis rule allows only the application servers, 198.51.100.0/24 and
# 2001:db8:100::/48; here they become the lab's client networks,
# 192.0.2.0/24 and 2001:db8:1::/48 (198.51.100.0/24 is the flood
# namespace's link in this lab).  The allow list is not weakened: a client
# outside it (the flood namespace, 198.51.100.2) is refused by the redis
# rule and served by the web rule, and the web rule's denied address,
# 192.0.2.66, is tried from the client namespace and refused.  The control
# socket moves into the test's directory.
#
# Logging.  The example logs at "notice" to syslog.  So does the daemon
# here: it runs in a mount namespace of its own whose /dev/log is a
# listener's socket (devlog.sh, unix_listener.py) that writes the lines to
# the test's log; the test checks what arrives there.
#
# Checks, against redis (6379) and nginx (80), gateway mode, two queues:
#   apps       redis PING, a 10 MB download checked by sha256
#   policy     the allow list and the deny list, as above
#   2 workers  20 connections from 20 client addresses: each one's packets,
#              both directions, reach one queue (per-queue counts in
#              /proc/net/netfilter/nfnetlink_queue), and both queues work
#   fastpath   the download after the first connection to port 80 (which
#              teaches the backend's window scale) is offloaded
#   flood      100,000 spoofed SYNs at the web port with the default
#              tables: real clients served meanwhile, not one flood SYN at
#              the backend (the real clients' SYNs in the same capture),
#              RSS within the engines' tables
#   hostile    an offloaded long-lived connection (an echo server on 6379)
#              meets blind RSTs and data on its tuple, an ACK flood, a SYN
#              flood and malformed packets, and never breaks
#   reload     synproxyctl reload while it runs: it goes on, new
#              connections work, the reload is logged
set -u
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/hostile_lib.sh"
lab_init redis-server redis-cli nginx curl unshare
lab_gateway
lab_flood_ns
start_redis "$SRV"
start_nginx "$SRV"
echo hello >"$TMP/www/small.txt"

# ---- the configuration: the example, its addresses swapped -----------------
SOCK="$TMP/ctl/control.sock"
CONF="$TMP/synproxyd.conf"
sed -e 's|"198\.51\.100\.0/24"|"192.0.2.0/24"|' \
    -e 's|"2001:db8:100::/48"|"2001:db8:1::/48"|' \
    -e "s|^# control_socket = \"/run/synproxyd/control.sock\";|control_socket = \"$SOCK\";|" \
    -e "s|^# state_file = \"/run/synproxyd/state\";|state_file = \"$TMP/state\";|" \
    "$EXAMPLE_CONF" >"$CONF"
echo "--- the example as run here (diff against $EXAMPLE_CONF):"
diff "$EXAMPLE_CONF" "$CONF"
check_eq "lines changed in the example (allow list, control socket, state file)" \
	"$(diff "$EXAMPLE_CONF" "$CONF" | grep -c '^>')" 3
# Every changed line is its original but for addresses and the socket path.
check "only addresses changed" "$PY" -c '
import re, sys
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
mask = re.compile(r"\"(/[^\"]*|[0-9a-f:.]+(/[0-9]+)?)\"")
def norm(l):
    return mask.sub("ADDR", re.sub(r"^# (control_socket|state_file)", r"\1", l))
sys.exit(len(a) != len(b) or any(norm(x) != norm(y) for x, y in zip(a, b)))
' "$EXAMPLE_CONF" "$CONF"
# The reference for conf_overrides is this file: what it sets is what the
# example sets, so nothing here is an override.
EXAMPLE_CONF=$CONF

# ---- the daemon, logging to syslog ----------------------------------------------
mkdir "$TMP/dev"
start_listener "$TMP/log.sock" "$TMP/daemon.log"
DAEMON_WRAP="sh $LIVE_DIR/devlog.sh $TMP/log.sock $TMP/dev"
daemon_start
DAEMON_WRAP=
sleep 0.3
grep "started:" "$TMP/daemon.log"
# daemon.notice is <29>; level "notice" lets nothing of level info (<30>).
check "syslog: the start line, daemon.notice, tagged synproxyd[pid]" \
	grep -q "^[0-9.]* <29>.* synproxyd\[$DPID\]: started: gateway mode, 2 rules, queues 0-1," \
	"$TMP/daemon.log"
check_eq "syslog: nothing below notice" "$(grep -c '^[0-9.]* <3[0-9]>' "$TMP/daemon.log")" 0
cap_start back "$SRV" s0 "$SYN_FILTER"

# ---- apps -------------------------------------------------------------------------
log "== apps"
check_eq "redis-cli ping" "$(redis_ping "$BACKEND4")" PONG
# The web rule's options are "auto": three SYN-ACKs must agree on the
# backend's before clients are offered them, and until then the window is
# rescaled and the flow stays in userspace.
for k in 1 2 3; do
	in_ns "$CLI" curl -sS --max-time 10 -o "$TMP/small.got" "http://$BACKEND4/small.txt" ||
		fail "small download $k"
	check "small download $k (port 80) intact" cmp -s "$TMP/small.got" "$TMP/www/small.txt"
done
q0=$(ctl_counter queue_received)
in_ns "$CLI" curl -sS --max-time 30 -o "$TMP/got.bin" "http://$BACKEND4/big.bin" ||
	fail "10 MB download"
check_eq "sha256 of the 10 MB download" "$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)" "$BIG_SHA"

# ---- fastpath -------------------------------------------------------------------
log "== fastpath"
q=$(( $(ctl_counter queue_received) - q0 ))
echo "the 10 MB download: $q packets queued (about 7000 segments); offload_ok" \
	"$(ctl_counter offload_ok), offload_refused_rescaled $(ctl_counter offload_refused_rescaled)"
check_ge "flows offloaded (offload_ok)" "$(ctl_counter offload_ok)" 1
check_le "the download's segments kept off the queue" "$q" 2000

# ---- policy: the allow and deny lists --------------------------------------------
log "== policy"
# try NS SRC PORT: a connection from SRC (empty: the namespace's address)
# to the backend's PORT; prints "ok" or why not.
try() {
	in_ns "$1" timeout 10 "$PY" -c '
import socket, sys
try:
    c = socket.socket()
    if sys.argv[2]:
        c.bind((sys.argv[2], 0))
    c.settimeout(3)
    c.connect((sys.argv[1], int(sys.argv[3])))
    if sys.argv[3] == "6379":
        # redis answers +PONG, the echo server that replaces it PING
        c.sendall(b"PING\r\n")
        print("ok" if c.recv(64) in (b"+PONG\r\n", b"PING\r\n") else "bad answer")
    else:
        c.sendall(b"GET /small.txt HTTP/1.0\r\n\r\n")
        got = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            got += d
        print("ok" if got.endswith(b"\r\n\r\nhello\n") else "bad answer")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
' "$BACKEND4" "$2" "$3"
}
ip -n "$CLI" addr add 192.0.2.66/24 dev c0
den0=$(ctl_counter denied)
check_eq "redis from outside the allow list (198.51.100.2) refused" "$(try "$FLD" "" 6379)" timeout
check_eq "web from 198.51.100.2 served" "$(try "$FLD" "" 80)" ok
check_eq "web from the denied 192.0.2.66 refused" "$(try "$CLI" 192.0.2.66 80)" timeout
check_eq "redis from 192.0.2.66 (allowed there) served" "$(try "$CLI" 192.0.2.66 6379)" ok
check_ge "denied counts the refused SYNs" "$(( $(ctl_counter denied) - den0 ))" 2

# ---- two workers: both directions of a flow reach the same queue ---------------
log "== two queues"
qseq() {	# QUEUE: packets the kernel queued to it (id_sequence)
	in_ns "$GW" awk -v q="$1" '$1 == q { print $8 }' /proc/net/netfilter/nfnetlink_queue
}
# The queue is picked by a hash of the addresses: 20 client addresses.
used0=0 used1=0 mixed=0 okc=0
for k in $(seq 20 39); do
	ip -n "$CLI" addr add "192.0.2.$k/24" dev c0
	a0=$(qseq 0) a1=$(qseq 1)
	r=$(try "$CLI" "192.0.2.$k" 6379)
	[ "$r" = ok ] && okc=$((okc + 1))
	sleep 0.2
	d0=$(( $(qseq 0) - a0 )) d1=$(( $(qseq 1) - a1 ))
	echo "  192.0.2.$k: $r; packets queued: queue 0 +$d0, queue 1 +$d1"
	if [ "$d0" -gt 0 ] && [ "$d1" -gt 0 ]; then
		mixed=$((mixed + 1))
	elif [ "$d0" -ge 3 ]; then
		used0=$((used0 + 1))
	elif [ "$d1" -ge 3 ]; then
		used1=$((used1 + 1))
	fi
done
check_eq "20 connections from 20 addresses" "$okc" 20
check_eq "connections whose packets reached both queues" "$mixed" 0
check_eq "connections whose handshake (3+ packets) reached one queue" "$((used0 + used1))" 20
check_ge "connections on queue 0" "$used0" 1
check_ge "connections on queue 1" "$used1" 1

# ---- flood, default tables --------------------------------------------------------
log "== flood: 100000 spoofed SYNs at port 80 over ~10 s"
real0=$(cap_count back "src host $CLIENT4")
syn0=$(ctl_counter syn_received)
PROC_KB=8192
daemon_sanitized && PROC_KB=24576
BOUND_KB=$(( $(ctl_counter memory_bytes) / 1024 + PROC_KB ))
bg_ns "$FLD" timeout 60 "$PY" "$LIVE_DIR/scapy_client.py" flood "$BACKEND4" 80 100000 10
FLOOD_PID=$LASTPID
sleep 3
served=0
for k in 1 2 3; do
	[ "$(redis_ping "$BACKEND4")" = PONG ] && served=$((served + 1))
	[ "$(try "$CLI" "" 80)" = ok ] && served=$((served + 1))
	sleep 0.5
done
check_eq "real clients served during the flood (3 redis, 3 web)" "$served" 6
RSS_MID=$(daemon_rss_kb)
wait_gone "$FLOOD_PID" 60 "the flooder"
wait "$FLOOD_PID"
sleep 1
ctl_show syn_received synack_sent syncache_added syncache_full syncache_shed cookie_sent \
	syn_rate_limited queue_kernel_dropped memory_bytes
syns=$(( $(ctl_counter syn_received) - syn0 ))
check_ge "flood SYNs counted by the daemon (>= 95%)" "$syns" 95000
echo "daemon VmRSS during the flood: $RSS_MID kB (bound $BOUND_KB kB: the tables + $PROC_KB)"
check_le "VmRSS during the flood within the engines' tables" "$RSS_MID" "$BOUND_KB"
cap_stop back
# The capture ran from the start: the real clients' SYNs during the flood
# (6) come on top of those before it.
check_flood_syns back $((real0 + 6))
check_eq "backend SYNs == backend_syn_sent + backend_syn_retrans" "$(cap_count back)" \
	"$(( $(ctl_counter backend_syn_sent) + $(ctl_counter backend_syn_retrans) ))"

# ---- hostile traffic against an offloaded connection -----------------------------
log "== hostile: an offloaded long-lived connection (echo server on 6379)"
kill -TERM "$REDIS_PID"
wait_gone "$REDIS_PID" 5 "redis"
start_echo "$SRV" 200
cap_start back2 "$SRV" s0 "$SYN_FILTER"
start_longlived "$BACKEND4" 150
i=0
until ctl flows | grep -q ":$LL_PORT .*path=kernel"; do
	i=$((i + 1))
	[ $i -gt 50 ] && { ctl flows; fail "the long-lived connection was not offloaded"; }
	sleep 0.1
done
echo "long-lived connection 192.0.2.10:$LL_PORT: $(ctl flows | grep ":$LL_PORT ")"
FMAC=$(ns_mac "$GW" g2)
CMAC=$(ns_mac "$GW" g0)
cnt_snap A
hostile "$CLI" c0 "$CMAC" blind-rst --src "$CLIENT4" --sport "$LL_PORT" --dst "$BACKEND4" \
	--count 20000
check "alive after blind RSTs on its tuple" ll_alive
hostile "$CLI" c0 "$CMAC" blind-data --src "$CLIENT4" --sport "$LL_PORT" --dst "$BACKEND4" \
	--count 5000
check "alive after blind data on its tuple" ll_alive
hostile "$FLD" f0 "$FMAC" ack-flood --src 198.18.1.1 --dst "$BACKEND4" --dport 80 \
	--count 200000 --seconds 20
check "alive after an ACK flood" ll_alive
hostile "$FLD" f0 "$FMAC" syn-many --dst "$BACKEND4" --dport 80 --count 100000
check "alive after a SYN flood" ll_alive
hostile "$CLI" c0 "$CMAC" malformed --src "$CLIENT4" --dst "$BACKEND4" --count 5
check "alive after malformed packets" ll_alive
sleep 1
cnt_snap B
check_daemon_alive hostile
echo "hostile: cookie_valid +$(cnt_delta A B cookie_valid) cookie_invalid" \
	"+$(cnt_delta A B cookie_invalid) ack_no_state +$(cnt_delta A B ack_no_state)" \
	"rst_out_of_window +$(cnt_delta A B rst_out_of_window) flows_reset" \
	"+$(cnt_delta A B flows_reset) offload_withdrawn +$(cnt_delta A B offload_withdrawn)"
FORGED=$(cnt_delta A B cookie_valid)
check_le "flood ACKs accepted as cookies (forgeries, 2^-24 each)" "$FORGED" 2

# ---- reload -----------------------------------------------------------------------
log "== reload"
check_eq "synproxyctl reload" "$(daemon_reload)" ok
sleep 1
check "syslog: the reload, daemon.notice" grep -q "<29>.*: reloaded $CONF: 2 rules" \
	"$TMP/daemon.log"
check "alive after the reload" ll_alive
check_eq "a new connection after the reload" "$(try "$CLI" "" 6379)" ok
stop_longlived
check_eq "the offloaded connection: every reply correct, never broken" "$LL_RC" 0
check_ge "its exchanges" "$(ll_count)" 25
cap_stop back2
# The long-lived connection and the one after the reload; a forged cookie
# (2^-24 a flood ACK) would be a backend SYN from 198.18.1.1.
check_flood_syns back2 2 "$FORGED"
# Nothing here touched the firewall: the rules watchdog (every 2 s) must
# have found the rules as the example makes them every time.
check_eq "the rules as installed all along (rules_reinstalled)" "$(ctl_counter rules_reinstalled)" 0
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
check_eq "rules removed at stop" "$(in_ns "$GW" iptables-save | grep -c SYNPROXYD)" 0
check "syslog: the stop" grep -q "<29>.*synproxyd\[[0-9]*\]: stopped" "$TMP/daemon.log"
lab_finish
