#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The XDP stage against real Linux clients and full-speed floods, in a
# gateway lab (client and flooder -- gateway with synproxyd -- backend with
# an echo server).  The stage is attached to the gateway's client-facing
# links g0 and g2; the far ends carry a pass-only XDP program so that the
# stage's XDP_TX frames are delivered (a veth needs NAPI there; a NIC
# would not).
#   1. answer "always": IPv4 and IPv6 clients, with and without TCP
#      timestamps, connect through the stage's cookies; no SYN reaches the
#      queue (syn_received stays 0); the backend SYN carries the client's
#      window scale exactly with timestamps and table-rounded without, and
#      SACK in both; a reload that fixes the rule's MSS changes what the
#      stage announces (its maps follow reloads); a vanished client of an
#      offloaded flow comes back on its port after a crash: the stage
#      passes its SYN on the marked conntrack entry, the connection is made
#   2. shipped answer ("overload"): a spoofed SYN flood at trafgen's full
#      speed is answered by the stage (xdp_syn_answered), not one flood
#      SYN reaches the backend (counted there by an iptables rule, whose
#      positive control is the real client's SYN during the flood), a real
#      client connects during it; a spoofed ACK flood is dropped by the
#      stage, not one ACK reaches the backend or much of it the queue, and
#      synproxyctl stats answers within a second meanwhile; a long-lived
#      connection on the kernel fast path survives both, its packets
#      passed by the stage's conntrack lookup once the engine forgot it;
#      stopping the daemon detaches the stage
#   3. no xdp section (the shipped default): the same SYN and ACK floods
#      overflow the queue, which fails closed: not one reaches the backend
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/hostile_lib.sh"
. "$top_srcdir/tests/live/xdp_lib.sh"
. "$top_srcdir/tests/live/reuse_lib.sh"

N=${XDP_FLOOD_N:-300000}
lab_init trafgen ethtool curl
lab_gateway
lab_flood_ns
start_echo "$SRV" 300
xdp_peer "$CLI" c0
xdp_peer "$FLD" f0

# echo_once ADDR [TIMEOUT]: one connection to ADDR:6379 through the proxy,
# a line echoed; prints "echo" or what went wrong.
echo_once() {
	in_ns "$CLI" timeout 30 "$PY" -c '
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], 6379), timeout=float(sys.argv[2]))
    c.settimeout(float(sys.argv[2]))
    c.sendall(b"hello\n")
    print("echo" if c.recv(100) == b"hello\n" else "bad")
except Exception as e:
    print(type(e).__name__)
' "$1" "${2:-5}"
}

# syn_opts CAP: the options of the first SYN in capture CAP, as
# "ws=N sack=0|1 ts=0|1" (ws=none without window scale).
syn_opts() {
	tcpdump -r "$TMP/$1.pcap" -n -v 2>/dev/null | awk '
		/Flags \[S\]/ && !done {
			ws = "none"; sack = 0; ts = 0
			if (match($0, /wscale [0-9]+/)) ws = substr($0, RSTART + 7, RLENGTH - 7)
			if ($0 ~ /sackOK/) sack = 1
			if ($0 ~ /TS val/) ts = 1
			print "ws=" ws " sack=" sack " ts=" ts; done = 1 }'
}

# The window scale a cookie without timestamps carries for ws: the largest
# table entry (none, 0, 2, 4, 6, 7, 8, 9; cookie.c) not above it.
ws_rounded() {
	for t in 9 8 7 6 4 2 0; do
		[ "$1" -ge "$t" ] && { echo "$t"; return; }
	done
}

override xdp "the XDP stage is what this test checks; the example leaves it off (it cannot know the interfaces)"
override rules.mss "phase 1 fixes the MSS by a reload, to see the stage's maps follow it"
override metrics "the rules' SYN counts (rule_syn_received) are read on the metrics page"
XDP_CONF='xdp = { interfaces = [ "g0", "g2" ]; answer = "always"; };
metrics = { listen = "127.0.0.1:9464"; };'
# rule_syns RULE: synproxyd_rule_syn_received_total{rule=RULE} (0 when absent).
rule_syns() {
	in_ns "$GW" curl -sS --max-time 5 http://127.0.0.1:9464/metrics |
		awk -v r="synproxyd_rule_syn_received_total{rule=\"$1\"}" '$1 == r { printf "%d\n", $2; f = 1 }
			END { if (!f) print 0 }'
}
write_conf "$XDP_CONF"
daemon_start
check "stage attached to g0" xdp_attached "$GW" g0
check "stage attached to g2" xdp_attached "$GW" g2
check "attach mode logged" grep -q 'xdp: attached to g0 (native mode)' "$TMP/daemon.log"

# ---- 1. real clients through the stage's cookies -------------------------
log "== real clients, answer always"
for case in v4-ts v6-ts v4-nots; do
	addr=$BACKEND4
	[ "$case" = v6-ts ] && addr=$BACKEND6
	[ "$case" = v4-nots ] && in_ns "$CLI" sysctl -qw net.ipv4.tcp_timestamps=0
	cnt_snap A
	cap_start cli "$CLI" c0 "$SYN_FILTER"
	cap_start back "$SRV" s0 "$SYN_FILTER"
	r=$(echo_once "$addr")
	cap_stop cli
	cap_stop back
	cnt_snap B
	check_eq "$case: connection through the stage" "$r" echo
	check_ge "$case: SYN answered by the stage" "$(cnt_delta A B xdp_syn_answered)" 1
	check_eq "$case: no SYN reached the queue" "$(cnt_delta A B syn_received)" 0
	check_eq "$case: cookie validated by the engine" "$(cnt_delta A B cookie_valid)" 1
	check_eq "$case: backend connection made" "$(cnt_delta A B backend_established)" 1
	cli=$(syn_opts cli)
	back=$(syn_opts back)
	echo "$case: client SYN $cli; backend SYN $back"
	cws=$(echo "$cli" | sed 's/.*ws=\([0-9a-z]*\).*/\1/')
	bws=$(echo "$back" | sed 's/.*ws=\([0-9a-z]*\).*/\1/')
	if [ "$case" = v4-nots ]; then
		check_eq "$case: window scale rounded to the cookie table" "$bws" "$(ws_rounded "$cws")"
		check_eq "$case: no timestamps on the backend SYN" "$(echo "$back" | sed 's/.*ts=//')" 0
	else
		check_eq "$case: window scale exact (timestamps carry it)" "$bws" "$cws"
		check_eq "$case: timestamps on the backend SYN" "$(echo "$back" | sed 's/.*ts=//')" 1
	fi
	check_eq "$case: SACK kept" "$(echo "$back" | sed 's/.*sack=\([01]\).*/\1/')" 1
done
in_ns "$CLI" sysctl -qw net.ipv4.tcp_timestamps=1

log "== a reload changes what the stage announces"
cap_start synack "$CLI" c0 'tcp[13] & 0x12 == 0x12'
echo_once "$BACKEND4" >/dev/null
cap_stop synack
mss0=$(tcpdump -r "$TMP/synack.pcap" -n -v 2>/dev/null | sed -n 's/.*mss \([0-9]*\).*/\1/p' | head -n 1)
rs0=$(rule_syns v4)
check_ge "rule_syn_received{rule=v4}: the SYNs the stage answered (none reached the queue)" \
	"$rs0" 3
sed -i 's/action = "proxy"; },/action = "proxy"; mss = 1400; },/' "$CONF"
check_eq "reload" "$(ctl reload)" ok
cap_start synack2 "$CLI" c0 'tcp[13] & 0x12 == 0x12'
cnt_snap A
r=$(echo_once "$BACKEND4")
cap_stop synack2
cnt_snap B
mss1=$(tcpdump -r "$TMP/synack2.pcap" -n -v 2>/dev/null | sed -n 's/.*mss \([0-9]*\).*/\1/p' | head -n 1)
echo "SYN-ACK MSS before the reload $mss0 (learned from the backend), after $mss1"
check_eq "connection after the reload" "$r" echo
check_ge "answered by the stage after the reload" "$(cnt_delta A B xdp_syn_answered)" 1
check_eq "the stage announces the reloaded MSS" "$mss1" 1400
check_ge "rule_syn_received{rule=v4} went on across the reload" "$(rule_syns v4)" $((rs0 + 1))
check "the MSS changed" test "$mss0" != 1400

# A client of an offloaded flow vanishes, the daemon crashes (no state
# file) and the client comes back on the same port (reuse.sh 3d, here with
# the stage answering): the new process finds the marked conntrack entry
# no engine holds (ct_orphans) and has the stage look SYNs up; the stage
# passes the SYN to the queue on that entry, and the engine takes the
# flow in from it and challenges the SYN.  A cookie SYN-ACK from the stage
# instead let the handshake's ACK meet the old entry and reach the
# backend's old socket: the connection hung.  Once the entry is gone the
# stage stops looking SYNs up (the lookup costs it 8%; bench/README.md).
log "== a vanished offloaded client's port reused after a crash, answer always"
check_eq "no orphaned entry before the crash (ct_orphans)" "$(ctl_counter ct_orphans)" 0
check "SYNs not looked up before the crash" \
	sh -c "! grep -q 'xdp: SYNs are looked up in conntrack' '$TMP/daemon.log'"
ECHO_PORT=6379
vanish 35000 40 offloaded
daemon_crash
daemon_start
check_eq "the vanished flow's entry found orphaned at start (ct_orphans)" \
	"$(ctl_counter ct_orphans)" 1
check "SYNs looked up while it lives (logged)" \
	grep -q 'xdp: SYNs are looked up in conntrack' "$TMP/daemon.log"
cnt_snap A
t=$(client 35000 3 close) || { check_eq "crash: the new connection from port 35000" failed ok; t=99; }
echo "new connection from port 35000 after a crash: connected in $t s"
cnt_snap B
check_ge "crash: the SYN passed on the marked entry (xdp_syn_conntrack)" \
	"$(cnt_delta A B xdp_syn_conntrack)" 1
check_eq "crash: the entry taken in for the SYN (flows_from_conntrack)" \
	"$(cnt_delta A B flows_from_conntrack)" 1
check_eq "crash: a new flow" "$(cnt_delta A B flows_created)" 1
check "crash: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'
check_eq "crash: the orphaned entry gone with the new connection (ct_orphans)" \
	"$(ctl_counter ct_orphans)" 0
wait_log "xdp: no entry of ours left that no engine holds; SYNs are not looked up" 3 ||
	check_eq "crash: the stage stopped looking SYNs up within 3 s" no yes
daemon_stop

# ---- 2. floods with the shipped answer ("overload") -----------------------
log "== floods, answer overload (the default)"
write_conf 'xdp = { interfaces = [ "g0", "g2" ]; };
metrics = { listen = "127.0.0.1:9464"; };'
daemon_start
count_rule_add "$SRV" flood -s 198.18.0.0/15
count_rule_add "$SRV" floodsyn -s 198.18.0.0/15 --syn
count_rule_add "$SRV" realsyn -s "$CLIENT4" --syn

# check_forgeries WHEN: a random ACK forges a cookie with probability
# 2^-24 (cookie.c), so an ACK flood of N = 300,000 makes one with
# probability 1.8%; each forgery is a backend connection, its SYN and the
# ACK that completes it (hostile.sh allows the same).  Every flood packet
# at the backend must belong to one, and more than 2 (a Poisson tail
# below 1e-6 here) fails.
check_forgeries() {
	cf=$(count_rule "$SRV" floodsyn)
	echo "$1: forged cookies (backend SYNs from flood sources): $cf"
	check_le "$1: forged cookies (2^-24 per flood ACK)" "$cf" 2
	check_eq "$1: flood packets at the backend: forged handshakes only (SYN and ACK each)" \
		"$(count_rule "$SRV" flood)" $((2 * cf))
}
# First connections teach the daemon the backend's window scale (three
# SYN-ACKs must agree on it), so that the long-lived one needs no
# rescaling and goes to the fast path (the first connections to a new
# backend stay in userspace).
for k in 1 2 3; do
	check_eq "first connection $k" "$(echo_once "$BACKEND4")" echo
done
start_longlived "$BACKEND4" 200
DMAC=$(mac_bytes "$GW" g2)
SMAC=$(mac_bytes "$FLD" f0)

flood_cfg "$TMP/syn.cfg" syn "$DMAC" "$SMAC" "$BACKEND4" 6379
cnt_snap A
rs0=$(rule_syns v4)
fl_rx0=$(ifstat_rx "$FLD" f0)
flood "$FLD" f0 "$TMP/syn.cfg" "$N" &
FPID=$!
sleep 0.3
r=$(echo_once "$BACKEND4" 10)
wait "$FPID"
sleep 1
cnt_snap B
answered=$(cnt_delta A B xdp_syn_answered)
synacks=$(( $(ifstat_rx "$FLD" f0) - fl_rx0 ))
echo "SYN flood: $N sent; stage answered $answered, passed $(cnt_delta A B xdp_syn_passed)" \
	"to the queue; $synacks SYN-ACKs reached the flooder"
check_eq "real client connects during the SYN flood" "$r" echo
check_ge "the stage answered at least 90% of the flood" "$answered" $((N * 9 / 10))
check_ge "its SYN-ACKs were delivered" "$synacks" $((N * 9 / 10))
check_eq "no flood SYN reached the backend" "$(count_rule "$SRV" flood)" 0
check_ge "positive control: the real client's SYN counted at the backend" \
	"$(count_rule "$SRV" realsyn)" 1
# The rule's SYN count takes in the SYNs the stage answered: the queue saw
# only its share (before, the metric and the flood notice knew those only).
rs1=$(rule_syns v4)
echo "rule v4: $((rs1 - rs0)) SYNs counted during the flood (the queue's: $(cnt_delta A B syn_received))"
check_ge "rule_syn_received{rule=v4} counts the SYNs the stage answered" \
	"$((rs1 - rs0))" "$answered"
check "the flood notice names rule v4 and the stage" \
	grep -Eq 'SYN flood: [0-9]+ SYNs/s, rule v4 \([0-9]+ SYNs to it\); .*the XDP stage answers' \
	"$TMP/daemon.log"

flood_cfg "$TMP/ack.cfg" ack "$DMAC" "$SMAC" "$BACKEND4" 6379
cnt_snap A
flood "$FLD" f0 "$TMP/ack.cfg" "$N" &
FPID=$!
sleep 0.3
t0=$(date +%s%N)
ctl stats >/dev/null
t1=$(date +%s%N)
wait "$FPID"
sleep 0.5
cnt_snap B
dropped=$(cnt_delta A B xdp_ack_dropped)
queued=$(cnt_delta A B queue_received)
echo "ACK flood: $N sent; stage dropped $dropped; the queue saw $queued packets;" \
	"stats answered in $(( (t1 - t0) / 1000000 )) ms"
check_ge "the stage dropped at least 99% of the ACK flood" "$dropped" $((N * 99 / 100))
check_le "the queue saw at most 1% of it" "$queued" $((N / 100))
check_forgeries "ACK flood through the stage"
check_le "stats answered within 1 s during the flood" $(( (t1 - t0) / 1000000 )) 1000

# The long-lived connection went to the kernel fast path.  The engine
# keeps it while its conntrack entry lives (conntrack events), so the
# stage's flow map has it; a daemon that does not know it (the next
# process after a SIGKILL: the state file does not carry offloaded flows)
# has a stage that passes its packets on its conntrack entry.
check "long-lived connection on the kernel fast path" \
	sh -c "'$SYNPROXYCTL' -s '$SOCK' flows | grep ':$LL_PORT ' | grep -q path=kernel"
daemon_crash
daemon_start
check "the new daemon does not know the offloaded connection" \
	sh -c "! '$SYNPROXYCTL' -s '$SOCK' flows | grep -q ':$LL_PORT '"
cnt_snap A
sleep 2
cnt_snap B
check_ge "its packets passed by the conntrack lookup" "$(cnt_delta A B xdp_ack_conntrack)" 5
stop_longlived
check_eq "long-lived connection survived both floods, every reply correct" "$LL_RC" 0
daemon_stop
check "stage detached at exit (g0)" sh -c "! ip -n $GW -d link show g0 | grep -q prog/xdp"
check "stage detached at exit (g2)" sh -c "! ip -n $GW -d link show g2 | grep -q prog/xdp"

# ---- 3. no xdp section: the queue fails closed ----------------------------
log "== the same floods without the stage (shipped default)"
write_conf ""
daemon_start
ip netns exec "$SRV" iptables -Z INPUT
cnt_snap A
flood "$FLD" f0 "$TMP/syn.cfg" "$N" &
FPID=$!
sleep 0.3
r=$(echo_once "$BACKEND4" 10)
wait "$FPID"
flood "$FLD" f0 "$TMP/ack.cfg" "$N"
sleep 1
cnt_snap B
kdrops=$(ip netns exec "$GW" awk '{ n += $6 + $7 } END { print n + 0 }' \
	/proc/net/netfilter/nfnetlink_queue)
echo "without the stage: engine syn_received +$(cnt_delta A B syn_received)," \
	"kernel queue drops $kdrops, backend saw $(count_rule "$SRV" flood) flood packets"
check_eq "real client connects during the flood without the stage" "$r" echo
check_forgeries "floods without the stage"
check_ge "positive control: the real client's SYN counted at the backend" \
	"$(count_rule "$SRV" realsyn)" 1
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
