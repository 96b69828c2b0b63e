#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The attacks of issue 13 against a gateway-mode synproxyd, while one real
# long-lived connection (a message every 200 ms, every echo checked) runs
# through it; on the code before the issue each phase fails.
#  1. Blind RSTs: two RSTs inside the window of an idle connection, 100 ms
#     apart, then blind data at random sequence numbers each followed by an
#     RST at its end; the connection then idles past rst_grace and must
#     still answer (rst_in_window, rst_out_of_window and seg_out_of_window
#     count them; flows_reset does not move).
#  2. The challenge-ACK side channel (the CVE-2016-5696 pattern): SYNs at a
#     guessed tuple while the attacker counts the challenge ACKs its own
#     connection gets for its own SYNs; the count must be the same whether
#     the guessed tuple is live or not.
#  3. A forged backend SYN-ACK (MSS 1, window scale 14) sent from the
#     client's side right after three real handshakes whose backend SYNs
#     the backend does not answer yet: each is dropped (server_wrong_side),
#     the connections complete with the backend's real SYN-ACKs, and the
#     next client is offered the backend's own MSS and window scale.
#  6. One source (an IPv6 /64 of its own) opens 300 connections and holds
#     them, with flows.max 256: it gets max_flows_per_source (flows.max /
#     16 = 16), the rest are reset, and another client still connects.
#  7. A control-socket client that sends a byte every 0.9 s: synproxyctl
#     stats keeps answering at once, and the slow client is cut off.
set -u
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/hostile_lib.sh"

FLOWS=256
PER_SOURCE=$((FLOWS / 16))
HOLD_N=300
ATTACKER6=2001:db8:3::20

lab_init
lab_gateway
# The daemon's own check of where a server's packets come from is what
# phase 3 tests: the kernel's strict reverse-path filter (IPv4 only) would
# drop the forged SYN-ACKs before the queue.
in_ns "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
	net.ipv4.conf.g0.rp_filter=0 || fail "rp_filter"
start_echo "$SRV" 300
override flows "$FLOWS flows: one source's 300 connections would fill it; the default max_flows_per_source (flows.max / 16 = $PER_SOURCE) must stop it"
override fastpath "\"off\": the attacks aim at the daemon's userspace flows; an offloaded flow's RSTs are judged by conntrack (shipped.sh sends hostile traffic at one)"
hostile_conf default "" "fastpath = \"off\"; flows = { max = $FLOWS; };"
daemon_start
CMAC=$(ns_mac "$GW" g0)	# client namespace -> gateway
cap_start syns "$CLI" c0 "tcp[13] == 0x02 and dst port 6379"

start_longlived "$BACKEND4" 280
log "long-lived connection 192.0.2.10:$LL_PORT -> $BACKEND4:6379"

# hold_conn NAME ADDR [SPORT] [SRC]: a connection to ADDR:6379 that stays
# idle until $TMP/NAME.go exists, then sends one line and checks its echo;
# writes "ok" or what went wrong to $TMP/NAME.out.  Sets HELD_PORT.
hold_conn() {
	rm -f "$TMP/$1.go" "$TMP/$1.port" "$TMP/$1.out"
	bg_ns "$CLI" timeout 250 "$PY" -c '
import os, socket, sys, time
name, addr, tmp, sport, src = sys.argv[1:6]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), int(sport)))
s.settimeout(5)
s.connect((addr, 6379))
# a held line may wait for the next backend SYN (they go up to 4 s apart)
s.settimeout(12)
open(tmp + "/" + name + ".port.tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(tmp + "/" + name + ".port.tmp", tmp + "/" + name + ".port")
while not os.path.exists(tmp + "/" + name + ".go"):
    time.sleep(0.05)
msg = ("ping %s\n" % name).encode()
try:
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(100)
        if not d:
            break
        got += d
    r = "ok" if got == msg else "bad echo %r" % got
except OSError as e:
    r = str(e)
open(tmp + "/" + name + ".out", "w").write(r + "\n")
' "$1" "$2" "$TMP" "${3:-0}" "${4:-}" >>"$TMP/held.log" 2>&1
	wait_file "$TMP/$1.port" 10 "connection $1 did not connect" "$TMP/held.log"
	HELD_PORT=$(cat "$TMP/$1.port")
}

# held_answer NAME: lets NAME send its line; prints its verdict.
held_answer() {
	touch "$TMP/$1.go"
	i=0
	until [ -s "$TMP/$1.out" ]; do
		i=$((i + 1))
		[ $i -gt 150 ] && { echo "no answer"; return; }
		sleep 0.1
	done
	cat "$TMP/$1.out"
}

# syn_isn PORT: the ISN of the client's SYN from PORT, from the capture.
syn_isn() {
	sleep 0.3
	tcpdump -r "$TMP/syns.pcap" -n -S "src port $1" 2>/dev/null |
		sed -n 's/.* seq \([0-9]*\),.*/\1/p' | tail -n 1
}

# ---- 1. blind RSTs and blind data at an idle connection -------------------
log "== 1. blind RSTs at an idle connection, then idle past rst_grace"
hold_conn idle "$BACKEND4"
IDLE_PORT=$HELD_PORT
ISN=$(syn_isn "$IDLE_PORT")
[ -n "$ISN" ] || fail "no SYN from port $IDLE_PORT in the capture"
IN_WIN=$(( (ISN + 1 + 1000) % 4294967296 ))
cnt_snap A
hostile "$CLI" c0 "$CMAC" rst-at --src "$CLIENT4" --sport "$IDLE_PORT" --dst "$BACKEND4" \
	--seq "$IN_WIN" --count 2 --interval 0.1
hostile "$CLI" c0 "$CMAC" data-rst --src "$CLIENT4" --sport "$IDLE_PORT" --dst "$BACKEND4" \
	--count 50
log "idle for rst_grace (10 s) and 3 s more"
sleep 13
r=$(held_answer idle)
cnt_snap B
echo "blind RSTs: rst_in_window +$(cnt_delta A B rst_in_window)" \
	"rst_out_of_window +$(cnt_delta A B rst_out_of_window)" \
	"seg_out_of_window +$(cnt_delta A B seg_out_of_window)" \
	"challenge_ack_limited +$(cnt_delta A B challenge_ack_limited)" \
	"flows_reset +$(cnt_delta A B flows_reset) flows_expired +$(cnt_delta A B flows_expired)"
check_eq "the idle connection answers after the blind RSTs and rst_grace" "$r" ok
check_ge "the two RSTs in the window reached the daemon (rst_in_window)" \
	"$(cnt_delta A B rst_in_window)" 2
check_ge "blind data left untracked (seg_out_of_window)" "$(cnt_delta A B seg_out_of_window)" 45
check_eq "every blind RST judged (in or out of the window)" \
	$(( $(cnt_delta A B rst_in_window) + $(cnt_delta A B rst_out_of_window) )) 52
check_eq "no flow reset by blind segments" "$(cnt_delta A B flows_reset)" 0
check_eq "no flow expired" "$(cnt_delta A B flows_expired)" 0
check "long-lived connection alive after the blind RSTs" ll_alive

# ---- 2. the challenge-ACK side channel ------------------------------------
log "== 2. challenge-ACK side channel: a guessed tuple live or not"
hold_conn own "$BACKEND4"
OWN_PORT=$HELD_PORT
DEAD_PORT=$((OWN_PORT + 1))
for case in live dead; do
	[ "$case" = live ] && victim=$LL_PORT || victim=$DEAD_PORT
	cap_start "chal_$case" "$CLI" c0 \
		"tcp and src host $BACKEND4 and src port 6379 and dst port $OWN_PORT and tcp[13] == 0x10"
	# 10,000 SYNs at the guessed tuple over 2 s, and the attacker's 40
	# SYNs on its own connection over the same 2 s.
	ip netns exec "$CLI" timeout 60 "$PY" "$HOSTILE_PY" syn-flow --iface c0 --gwmac "$CMAC" \
		--src "$CLIENT4" --sport "$victim" --dst "$BACKEND4" --count 10000 --pps 5000 \
		>"$TMP/flood_$case.out" 2>&1 &
	fpid=$!
	LAB_PIDS="$LAB_PIDS $fpid"
	hostile "$CLI" c0 "$CMAC" syn-flow --src "$CLIENT4" --sport "$OWN_PORT" \
		--dst "$BACKEND4" --count 40 --pps 20
	wait "$fpid"
	grep '^sent' "$TMP/flood_$case.out"
	sleep 1
	cap_stop "chal_$case"
	eval "OWN_$case=\$(cap_count chal_$case)"
done
echo "challenge ACKs on the attacker's own connection: guessed tuple live $OWN_live," \
	"not live $OWN_dead"
check_ge "own challenge ACKs counted (the capture works)" "$OWN_dead" 3
check_le "own challenge ACKs: one per 500 ms" "$OWN_dead" 6
d=$((OWN_live - OWN_dead))
[ $d -lt 0 ] && d=$((-d))
check_le "the count says nothing about the guessed tuple (|live - not live|)" "$d" 1
check_eq "the attacker's own connection still answers" "$(held_answer own)" ok
check "long-lived connection alive after the side-channel probe" ll_alive

# ---- 3. forged backend SYN-ACKs ----------------------------------------------
log "== 3. forged backend SYN-ACKs (MSS 1, window scale 14) from the client side"
# Each connection's backend SYN is dropped only until its forged SYN-ACK has
# been sent: the next retransmission (1, 3, 7 s after the first) then
# completes it however slowly this loop runs (under ASan one pass of the
# loop takes seconds; one rule for all three once let connection 1 run out
# of retransmissions before the rule went).
cnt_snap A
for k in 1 2 3; do
	in_ns "$SRV" iptables -I INPUT -p tcp -s "$CLIENT4" --dport 6379 --tcp-flags SYN,ACK SYN \
		--sport $((41000 + k)) -j DROP || fail "backend drop rule"
	hold_conn "atk$k" "$BACKEND4" $((41000 + k))
	isn=$(syn_isn $((41000 + k)))
	[ -n "$isn" ] || fail "no SYN from port $((41000 + k)) in the capture"
	hostile "$CLI" c0 "$CMAC" synack --src "$BACKEND4" --sport 6379 --dst "$CLIENT4" \
		--dport $((41000 + k)) --ack $(( (isn + 1) % 4294967296 )) --count 1
	sleep 0.3
	in_ns "$SRV" iptables -D INPUT -p tcp -s "$CLIENT4" --dport 6379 --tcp-flags SYN,ACK SYN \
		--sport $((41000 + k)) -j DROP
done
for k in 1 2 3; do
	check_eq "connection $k completes with the backend's own SYN-ACK" "$(held_answer "atk$k")" ok
done
cap_start synack "$CLI" c0 "tcp[13] == 0x12 and src port 6379"
check_eq "a new client connects" "$(in_ns "$CLI" timeout 15 "$PY" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 6379), timeout=5)
c.sendall(b"hello\n")
print("ok" if c.recv(100) == b"hello\n" else "bad echo")
' "$BACKEND4" 2>&1)" ok
cap_stop synack
cnt_snap B
opts=$(tcpdump -r "$TMP/synack.pcap" -n -v 2>/dev/null | grep -o 'mss [0-9]*\|wscale [0-9]*' |
	tr '\n' ' ')
echo "forged SYN-ACKs: server_wrong_side +$(cnt_delta A B server_wrong_side)," \
	"backend_bad_synack +$(cnt_delta A B backend_bad_synack); the new client's SYN-ACK: $opts"
check_eq "every forged SYN-ACK dropped as from the wrong side" \
	"$(cnt_delta A B server_wrong_side)" 3
check "the new client's SYN-ACK was captured" test -n "$opts"
check "the new client is not offered MSS 1" sh -c "! echo '$opts' | grep -qw 'mss 1'"
check "the new client is not offered window scale 14" sh -c "! echo '$opts' | grep -q 'wscale 14'"
check "long-lived connection alive after the forged SYN-ACKs" ll_alive

# ---- 6. one source holds idle connections ----------------------------------
log "== 6. one source opens $HOLD_N connections and holds them (flows.max $FLOWS)"
ip -n "$CLI" addr add "$ATTACKER6/64" dev c0 nodad || fail "attacker address"
ip -n "$GW" -6 route add 2001:db8:3::/64 via "$CLIENT6" dev g0 || fail "route to the attacker"
cnt_snap A
rm -f "$TMP/holder.out" "$TMP/holder.stop"
bg_ns "$CLI" timeout 200 "$PY" -c '
import os, select, socket, sys, time
src, dst, n, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
socks = []
ok = reset = silent = 0
for i in range(n):
    s = socket.socket(socket.AF_INET6)
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect((dst, 6379))
    except ConnectionResetError:
        reset += 1     # the reset came before connect() returned
        continue
    socks.append(s)
live = []
for s in socks:
    try:
        s.sendall(b"a\n")
        live.append(s)
    except OSError:
        reset += 1
end = time.monotonic() + 3
waiting = {s: b"" for s in live}
while waiting and time.monotonic() < end:
    r, _, _ = select.select(list(waiting), [], [], 0.2)
    for s in r:
        try:
            d = s.recv(10)
        except OSError:
            reset += 1
            del waiting[s]
            continue
        if not d:
            reset += 1
            del waiting[s]
            continue
        waiting[s] += d
        if waiting[s] == b"a\n":
            ok += 1
            del waiting[s]
silent = len(waiting)
open(tmp + "/holder.out", "w").write("%d %d %d\n" % (ok, reset, silent))
while not os.path.exists(tmp + "/holder.stop"):
    time.sleep(0.1)
' "$ATTACKER6" "$BACKEND6" "$HOLD_N" "$TMP" >"$TMP/holder.log" 2>&1
HOLDER=$LASTPID
i=0
until [ -s "$TMP/holder.out" ]; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$HOLDER" 2>/dev/null; then
		fail "the holder did not finish: $(cat "$TMP/holder.log")"
	fi
	sleep 0.1
done
set -- $(cat "$TMP/holder.out")
echo "one source's $HOLD_N connections: $1 answered, $2 reset, $3 silent"
r=$(in_ns "$CLI" timeout 15 "$PY" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 6379), timeout=5)
c.settimeout(5)
c.sendall(b"hello\n")
print("ok" if c.recv(100) == b"hello\n" else "bad echo")
' "$BACKEND4" 2>&1)
cnt_snap B
echo "flows_source_limited +$(cnt_delta A B flows_source_limited)," \
	"flows_full +$(cnt_delta A B flows_full), flows_active $(ctl_counter flows_active)"
check_eq "the source gets max_flows_per_source connections" "$1" "$PER_SOURCE"
check_eq "the rest are reset" "$2" $((HOLD_N - PER_SOURCE))
check_eq "none left hanging" "$3" 0
check_eq "flows_source_limited counts the resets" "$(cnt_delta A B flows_source_limited)" \
	$((HOLD_N - PER_SOURCE))
check_eq "another client connects while that source holds its connections" "$r" ok
check_eq "the table never filled (flows_full)" "$(cnt_delta A B flows_full)" 0
check "long-lived connection alive while one source holds connections" ll_alive
touch "$TMP/holder.stop"
wait_gone "$HOLDER" 10 "the holder"

# ---- 7. a control-socket client that dribbles its request ------------------
log "== 7. a control-socket client sending a byte every 0.9 s"
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
try:
    for i in range(8):
        s.send(b"s")
        time.sleep(0.9)
    print("slow client: never cut off")
except OSError:
    print("slow client: cut off after %.1f s" % (time.monotonic() - t0))
' "$SOCK" >"$TMP/slow.out" 2>&1 &
SLOW=$!
LAB_PIDS="$LAB_PIDS $SLOW"
worst=0 answered=0
for k in 1 2 3 4 5 6 7 8; do
	t0=$(date +%s%N)
	timeout 5 "$SYNPROXYCTL" -s "$SOCK" stats >/dev/null 2>&1 && answered=$((answered + 1))
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.5
done
wait_gone "$SLOW" 15 "the slow control client"
cat "$TMP/slow.out"
echo "synproxyctl stats during the slow client: $answered of 8 answered, slowest $worst ms"
check_eq "stats answered every time" "$answered" 8
check_le "stats answered at once (ms)" "$worst" 1000
check "the slow client was cut off" grep -q "cut off after" "$TMP/slow.out"
check_daemon_alive "the slow control client"

# ---- the end ------------------------------------------------------------------
sleep 1
stop_longlived
check_eq "long-lived connection: every reply correct, never broken" "$LL_RC" 0
check_ge "long-lived exchanges" "$(ll_count)" 50
cap_stop syns
ctl_show rst_in_window rst_out_of_window seg_out_of_window challenge_ack_limited syn_on_flow \
	server_wrong_side options_learned options_refused flows_source_limited flows_created
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
