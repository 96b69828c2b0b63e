#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Faults around a gateway-mode synproxyd (bypass on, so that the SIGKILL
# phase shows that even then no SYN passes; everything else as shipped):
#   backend down      no listener on port 80: the client is reset at once
#                     (backend_refused)
#   backend silent    the backend drops SYNs to 5201: the client is reset
#                     after the backend SYN retries (backend_timeout); timed
#   reload under load a changed rule set while a SYN flood runs: the
#                     long-lived connection survives, new ones work
#   broken reload     a syntax error: reload refused with FILE:LINE, the old
#                     configuration keeps serving
#   SIGSTOP 2 s       with a flood filling the queue: the queue fails
#                     closed, so not one flood SYN reaches the backend (a
#                     real client's SYN in the same capture proves it
#                     sees SYNs); the daemon serves again after SIGCONT
#                     and the spliced connection survives the stall
#   SIGKILL           rules in place, no daemon, bypass on: a new
#                     connection still fails (its SYN is never bypassed)
#                     and the backend sees no SYN; a restarted daemon
#                     proxies again
set -u
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/hostile_lib.sh"

lab_init
lab_gateway
lab_flood_ns
start_echo "$SRV" 300
FMAC=$(ns_mac "$GW" g2)
# The userspace path: these faults are about the daemon (reload, stop,
# kill, queue overflow), so spliced connections stay in the queue
# (tests/live/fastpath.sh covers the fast path).
EXTRA="timeouts = { backend_syn_rto = 0.5; }; fastpath = \"off\";"
override fastpath "\"off\": the spliced connection must cross the queue to show that a reload, a stopped daemon and an overflowing queue leave it intact (fastpath.sh covers offloaded flows across a SIGKILL)"
override queue.bypass "true (default false): the SIGKILL phase checks that even then no SYN passes without a daemon"
# bypass on (default off): the SIGKILL phase checks that it never applies
# to SYNs.  The default queue length (65536): the SIGSTOP phase overflows
# it on purpose.
hostile_conf true "" "$EXTRA"
daemon_start

# connect_time PORT [TIMEOUT]: connects to the backend's PORT through the
# proxy (giving up after TIMEOUT s, 30 by default), sends a line, prints
# "<result> <seconds>" where result is echo, reset, closed, timeout or
# refused.
connect_time() {
	in_ns "$CLI" timeout 40 "$PY" -c '
import socket, sys, time
t0 = time.monotonic()
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    c.settimeout(30)
    c.sendall(b"hello\n")
    d = c.recv(100)
    r = "echo" if d == b"hello\n" else ("closed" if not d else "bad")
except ConnectionResetError:
    r = "reset"
except ConnectionRefusedError:
    r = "refused"
except socket.timeout:
    r = "timeout"
print("%s %.2f" % (r, time.monotonic() - t0))
' "$BACKEND4" "$1" "${2:-30}"
}

# ---- backend down ----------------------------------------------------------
log "== backend down (no listener on port 80)"
cnt_snap A
set -- $(connect_time 80)
echo "backend down: $1 after $2 s"
cnt_snap B
check "client reset (or refused) when the backend has no listener" \
	test "$1" = reset -o "$1" = refused
check "reset within 2 s" awk -v t="$2" 'BEGIN { exit !(t < 2) }'
echo "backend down: backend_syn_sent +$(cnt_delta A B backend_syn_sent)" \
	"flows_created +$(cnt_delta A B flows_created) syncache_hit +$(cnt_delta A B syncache_hit)" \
	"cookie_valid +$(cnt_delta A B cookie_valid) rst_sent +$(cnt_delta A B rst_sent)"
# Every backend SYN of this connect was refused.  Usually one; a client
# segment racing the reset can validate its cookie again and open a second
# backend attempt, which is refused too (both are real refusals).
check_ge "backend_refused" "$(cnt_delta A B backend_refused)" 1
check_eq "backend_refused = backend_syn_sent" "$(cnt_delta A B backend_refused)" \
	"$(cnt_delta A B backend_syn_sent)"

# ---- backend silent -------------------------------------------------------
log "== backend silent (SYNs to 5201 dropped on the backend)"
in_ns "$SRV" iptables -A INPUT -p tcp --dport 5201 --syn -j DROP || fail "iptables drop"
cnt_snap A
set -- $(connect_time 5201)
echo "backend silent: $1 after $2 s (backend_syn_rto 0.5 s, 3 retries)"
cnt_snap B
check_eq "client reset when the backend never answers" "$1" reset
# 0.5 + 1 + 2 + 4 s with doubling; allow for either backoff policy.
check "reset after the retries (1..20 s)" awk -v t="$2" 'BEGIN { exit !(t >= 1 && t < 20) }'
check_eq "backend_timeout" "$(cnt_delta A B backend_timeout)" 1
check_eq "backend_syn_retrans" "$(cnt_delta A B backend_syn_retrans)" 3

# ---- reload under load with a changed rule set ----------------------------
start_longlived "$BACKEND4" 250
log "== reload with a changed rule set during a SYN flood"
hostile "$FLD" f0 "$FMAC" syn-many --dst "$BACKEND4" --count 400000 --seconds 1 \
	>"$TMP/flood1.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS="$LAB_PIDS $FLOOD_PID"
sleep 1
cp "$CONF" "$TMP/good.conf"
# The new rule set: port 80 is now dropped, 6379 and 5201 still proxied.
sed -i 's/ports = \[ 6379, 80, 5201 \]/ports = [ 6379, 5201 ]/' "$CONF"
sed -i 's/^rules = (/rules = (\n\t{ name = "nohttp"; dst = "203.0.113.2"; ports = [ 80 ]; action = "drop"; },/' "$CONF"
"$SYNPROXYD" -c "$CONF" -t || fail "changed config rejected"
r=$(ctl reload 2>&1)
check_eq "reload under load" "$r" ok
wait "$FLOOD_PID"
cat "$TMP/flood1.out"
sleep 1
check_daemon_alive "reload under load"
check "long-lived connection survives the reload" ll_alive
check "new rule set installed (port 80 dropped)" \
	sh -c "ip netns exec $GW iptables-save | grep -E -- '--dports? 80 ' | grep -q DROP"
set -- $(connect_time 6379)
check_eq "new connection after the reload" "$1" echo

# ---- broken config on reload ----------------------------------------------
log "== reload with a broken configuration"
cp "$CONF" "$TMP/changed.conf"
cat >>"$CONF" <<'BROKEN'
broken = { level = ; };
BROKEN
bad_line=$(wc -l <"$CONF")
r=$(ctl reload 2>&1)
echo "reload answer: $r"
check "broken reload refused" sh -c "! echo '$r' | grep -qx ok"
sleep 0.5
check "log names FILE:LINE ($CONF:$bad_line)" grep -q "$CONF:$bad_line" "$TMP/daemon.log"
grep "$CONF:" "$TMP/daemon.log" | tail -n 2
check_daemon_alive "broken reload"
check "long-lived connection survives the broken reload" ll_alive
set -- $(connect_time 6379)
check_eq "old configuration still serves" "$1" echo
cp "$TMP/changed.conf" "$CONF"

stop_longlived
check_eq "long-lived connection survived both reloads, every reply correct" "$LL_RC" 0

# ---- SIGSTOP with a full queue ---------------------------------------------
# The queue fails closed: the overflow is dropped (and counted by the
# kernel), never accepted, so not one flood SYN reaches the backend and no
# spliced segment passes untranslated; TCP retransmits what was dropped.
start_longlived "$BACKEND4" 120
sleep 1
log "== SIGSTOP 2 s during a SYN flood (the queue overflows and fails closed)"
cap_start back "$SRV" "$SRV_IF" "$SYN_FILTER"
cnt_snap A
hostile "$FLD" f0 "$FMAC" syn-many --dst "$BACKEND4" --count 400000 --seconds 4 \
	--ready-file "$TMP/flood2.ready" >"$TMP/flood2.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS="$LAB_PIDS $FLOOD_PID"
# hostile.py builds its frames first (seconds); stop the daemon once the
# flood is under way, so the queue really overflows while it is stopped.
i=0
while [ ! -e "$TMP/flood2.ready" ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "hostile.py did not start sending within 60 s"
	sleep 0.1
done
sleep 0.3
kdrop0=$(ip netns exec "$GW" awk '{ n += $6 + $7 } END { print n + 0 }' \
	/proc/net/netfilter/nfnetlink_queue)
kill -STOP "$DPID"
sleep 2
kill -CONT "$DPID"
wait "$FLOOD_PID"
cat "$TMP/flood2.out"
sleep 1
# The positive control: a real connection after the stall, whose backend
# SYN (sent by the daemon) the same capture must see.
set -- $(connect_time 6379)
check_eq "new connection after SIGCONT" "$1" echo
sleep 0.5
cap_stop back
check_daemon_alive "SIGSTOP/SIGCONT"
kdrop1=$(ip netns exec "$GW" awk '{ n += $6 + $7 } END { print n + 0 }' \
	/proc/net/netfilter/nfnetlink_queue)
leaked=$(cap_count back "src net 198.18.0.0/15")
real=$(cap_count back "src host $CLIENT4")
echo "SIGSTOP: kernel queue drops +$((kdrop1 - kdrop0)); backend capture: $leaked flood SYNs," \
	"$real SYN(s) from the real client"
check_ge "the queue overflowed while the daemon was stopped (kernel drops)" \
	"$((kdrop1 - kdrop0))" 1
check_ge "capture works: the real client's proxied SYN seen at the backend" "$real" 1
check_eq "no flood SYN reached the backend while the queue overflowed" "$leaked" 0
check "overflow logged" grep -q "queue overflow: the kernel dropped" "$TMP/daemon.log"
n0=$(ll_count)
sleep 6
n1=$(ll_count)
echo "long-lived exchanges: $n0 -> $n1 in 6 s after SIGCONT"
check_ge "spliced connection exchanges again after the stall" "$((n1 - n0))" 1
stop_longlived
check_eq "spliced connection survived the stall, every reply correct" "$LL_RC" 0

# ---- SIGKILL with bypass ---------------------------------------------------
log "== SIGKILL (rules in place, bypass on)"
daemon_crash
check "queue rules still in place after SIGKILL" sh -c "ip netns exec $GW iptables-save | grep -q NFQUEUE"
check "SYN line without --queue-bypass" \
	sh -c "ip netns exec $GW iptables-save | grep -- '--tcp-flags SYN SYN' | grep NFQUEUE | grep -vq queue-bypass"
cap_start back2 "$SRV" "$SRV_IF" "$SYN_FILTER"
set -- $(connect_time 6379 5)
sleep 0.5
cap_stop back2
echo "connect while no daemon runs: $1 after $2 s; SYNs at the backend: $(cap_count back2)"
# The client retransmits its SYN at 1 and 3 s before connect_time gives up
# at 5 s; not one of them may reach the backend.
check_eq "no connection while no daemon runs (SYNs never bypass)" "$1" timeout
check_eq "no SYN reached the backend while no daemon ran" "$(cap_count back2)" 0
log "restarting the daemon"
daemon_start
cnt_snap A
cap_start back3 "$SRV" "$SRV_IF" "$SYN_FILTER"
set -- $(connect_time 6379)
sleep 0.5
cap_stop back3
cnt_snap B
check_eq "restarted daemon serves" "$1" echo
check_eq "restarted daemon proxied it (backend_established)" \
	"$(cnt_delta A B backend_established)" 1
check_eq "capture works: the proxied SYN seen at the backend" "$(cap_count back3)" 1
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
