#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP scenarios through the REAL daemon (gateway mode, userspace path),
# scapy at one end and a real Linux stack at the other; the live versions
# of the offline replay cases (tests/replay/cases).  scenarios.py does the
# talking and checks each exchange packet by packet; this script runs the
# independent scenarios at once (one source port each) and checks the
# daemon's counters, `synproxyctl flows` and the backend's SYN capture.
#
# scapy client, Linux backend (scenarios.py record-server: echoes and
# records every byte each connection delivered, and how it ended):
#   syn-retransmit  a duplicate SYN gets the same SYN-ACK back (the same
#                   comparison as below: ISN, options; syn_duplicate); one
#                   backend SYN
#   synack-lost     the SYN-ACK is never acknowledged: retransmitted at
#                   +1, +3, +7 s (+-0.4 s; synack_rto 1 s, 3 retries), the
#                   TCP header byte for byte the same but for the checksum
#                   and the TSval's clock bits (it advances with the time,
#                   +-100 ms; its 6 cookie bits stay); the ACK to the last
#                   one still opens the connection
#   data-early      data in the handshake ACK and two more segments (and a
#                   retransmission) while the backend's first SYN is lost:
#                   held, then delivered to the application exactly once,
#                   in order (held_released, backend_syn_retrans)
#   fin-client      client FIN first: both FINs acked, the application saw
#                   EOF, the flow leaves `synproxyctl flows` (time_wait 1 s)
#   fin-server      backend FIN first, the client sends data in the half-
#                   closed connection (delivered), then its FIN
#   rst-client      an exact client RST mid-stream: the application sees a
#                   reset, the flow is gone at once
#   rst-server      the backend's RST (SO_LINGER 0) reaches the client at
#                   the translated sequence number, the flow is gone
#   keepalive       probes at snd.nxt-1 with 0 and 1 byte get a translated
#                   ACK (seq = rcv.nxt, ack = snd.nxt); the probe byte is
#                   never delivered; the flow stays established (IPv6)
#   zero-window     a 4000-byte window filled, then closed: the backend's
#                   zero-window probes (seq rcv.nxt-1) are translated, the
#                   answers accepted, the rest of 12000 bytes arrives intact
#   wrap-client     client ISN 2^32-700: 1500 bytes across 2^32 on both
#                   legs (the backend SYN carries the client's ISN)
# scapy backend, Linux client:
#   backend-wrap    backend ISN 2^32-800: 1500 bytes up, 2000 down across
#                   2^32 on the backend leg, FIN close, all bytes intact
#   simclose        the FINs cross (the backend's does not ack the client's):
#                   the client socket ends in TIME-WAIT, the flow is closed
#   backend-silent  backend SYNs dropped: sent at +0, +0.5, +1.5, +3.5 s,
#                   the client reset at +7.5 s (backend_timeout); faults.sh
#                   checks the reset itself, this the schedule
# Then, the daemon restarted with synack_rto 10 s (so that no entry falls
# due and is shed during the phase), the SYN cache (32 entries) filled by
# 400 spoofed SYNs from 198.18.0.0/15:
#   cookie          two clients (MSS 1450, wscale 5, SACK, with and without
#                   timestamps) complete through cookies (cookie_valid +2,
#                   no cache hit); the backend SYNs carry what the cookie
#                   encodes: MSS 1440 (table), wscale 5 (exact, in the TS
#                   bits) or 4 (table, no TS), SACK.
# Not repeated here: odd SYN option sets and wrong/forged ACKs
# (replay_daemon.sh), backend refusing (faults.sh).
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init
lab_gateway
lab_flood_ns
SCN=$LIVE_DIR/scenarios.py
# record-server ports: echo, FIN first on QUIT, RST on "RST", bulk sender,
# echo behind a lost first SYN.  scapy backends: 7101-7102; 7103 is silent.
P_ECHO=7001 P_QUIT=7002 P_RST=7003 P_BULK=7004 P_EARLY=7005
mkdir "$TMP/rec" "$TMP/out"
bg_ns "$SRV" timeout 200 "$PY" "$SCN" record-server "$TMP/rec" \
	$P_ECHO $P_QUIT $P_RST $P_BULK $P_EARLY
for p in $P_ECHO $P_QUIT $P_RST $P_BULK $P_EARLY; do
	wait_listen "$SRV" $p
done
# The kernels know nothing of scapy's connections: keep them from
# resetting (scapy clients use source ports 20000-20999).
in_ns "$CLI" iptables -A OUTPUT -p tcp --sport 20000:20999 --tcp-flags RST RST -j DROP
in_ns "$CLI" ip6tables -A OUTPUT -p tcp --sport 20000:20999 --tcp-flags RST RST -j DROP
in_ns "$SRV" iptables -A OUTPUT -p tcp --sport 7101:7102 --tcp-flags RST RST -j DROP
# data-early: the first backend SYN to P_EARLY is lost (one connection).
in_ns "$SRV" iptables -A INPUT -p tcp --dport $P_EARLY --syn \
	-m statistic --mode nth --every 2 --packet 0 -j DROP
# backend-silent: nothing ever answers on 7103.
in_ns "$SRV" iptables -A INPUT -p tcp --dport 7103 --syn -j DROP

SOCK="$TMP/ctl/control.sock"
CONF="$TMP/synproxyd.conf"
override rules "fixed announced options (not \"auto\"): SYN-ACK retransmissions are compared byte for byte and must not change with what is learned from the backends meanwhile"
override fastpath "\"off\": the scenarios check the daemon's own translation of every segment (closes, probes, wrapping); fastpath.sh and shipped.sh run offloaded flows"
override syncache "32 entries in 16 rows (3 retries, the default): phase 2 fills the cache with 400 SYNs; synack_rto 10 s in phase 2 so that no entry falls due and is shed"
override timeouts.backend_syn_rto "0.5 s: the backend SYN schedule checked (+0, +0.5, +1.5, +3.5 s)"
override timeouts.time_wait "1 s: each closed flow must leave the table within the run"
override timeouts.fin_wait "10 s: a half-closed flow (fin-server) must not outlive the run"
override timeouts.synack_rto "10 s in phase 2 only (see syncache)"
# Fixed announced options (not "auto"), so that SYN-ACK retransmissions
# cannot change with what is learned from the backends meanwhile.
for fam in v4 v6; do
	[ $fam = v4 ] && a=$BACKEND4 || a=$BACKEND6
	RULES="${RULES:+$RULES,
}	{ name = \"$fam\"; dst = \"$a\"; mss = 1400; wscale = 6; sack = true; timestamps = true;
	  ports = [ $P_ECHO, $P_QUIT, $P_RST, $P_BULK, $P_EARLY, 7101, 7102, 7103 ]; }"
done
cat >"$CONF" <<CONF
mode = "gateway";
control_socket = "$SOCK";
state_file = "$TMP/state";
cookies = "auto";
fastpath = "off";
syncache = { buckets = 16; bucket_limit = 8; max_entries = 32; };
timeouts = { backend_syn_rto = 0.5; fin_wait = 10; time_wait = 1; };
rules = (
$RULES
);
CONF
daemon_start
cap_start back "$SRV" s0 "$SYN_FILTER"
export CTL="$SYNPROXYCTL -s $SOCK" REC="$TMP/rec"

# run NAME NS ARGS...: scenarios.py ARGS in NS, in the background; the
# output goes to $TMP/out/NAME, the exit status to $TMP/out/NAME.rc.
run() {
	name=$1 ns=$2
	shift 2
	bg_ns "$ns" sh -c '"$@" >"$0" 2>&1; echo $? >"$0.rc"' "$TMP/out/$name" \
		timeout 90 "$PY" "$SCN" "$@"
	RUNS="${RUNS:-} $name"
}

# Waits (bounded) for every started scenario, then checks its status.
wait_runs() {	# SECONDS
	i=0
	for n in $RUNS; do
		until [ -s "$TMP/out/$n.rc" ]; do
			i=$((i + 1))
			[ $i -gt $(($1 * 10)) ] && break
			sleep 0.1
		done
	done
	for n in $RUNS; do
		sed "s/^/  $n: /" "$TMP/out/$n"
		check_eq "scenario $n" "$(cat "$TMP/out/$n.rc" 2>/dev/null)" 0
	done
	RUNS=
}

# wait_ready NAME: a scapy backend prints "ready" once it listens.
wait_ready() {
	i=0
	until grep -q ready "$TMP/out/$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "scapy backend $1 did not start"
		sleep 0.1
	done
}

cnt() {	# NAME: the counter's growth since the snapshot in $TMP/c0
	echo $(($(ctl_counter "$1") - $(awk -v n="$1" '$1 == n { print $2 }' "$TMP/c0")))
}

# field NAME KEY: the last value of KEY= in a scenario's output.
field() {
	tr ' ' '\n' <"$TMP/out/$1" | sed -n "s/^$2=//p" | tail -n 1
}

# times_within FILE "WANT..." TOL: the t= column of FILE (backend-syns
# output) matches WANT, one value a line, each within +-TOL seconds.
times_within() {
	awk -v want="$2" -v tol="$3" 'BEGIN { n = split(want, w, " ") }
		{ sub(/^t=/, "", $1); d = $1 - w[NR]; if (d < -tol || d > tol) bad = 1 }
		END { exit bad || NR != n }' "$1"
}

# ---- phase 1: every scenario at once ---------------------------------------
log "== phase 1: timing and close scenarios"
ctl stats >"$TMP/c0"
T0=$(date +%s)
run synack-lost "$CLI" synack-lost "$BACKEND4" $P_ECHO 20001
run backend-wrap "$SRV" backend-wrap 7101 $((4294967296 - 800))
run backend-simclose "$SRV" backend-simclose 7102
run syn-retransmit "$CLI" syn-retransmit "$BACKEND4" $P_ECHO 20002
run data-early "$CLI" data-early "$BACKEND4" $P_EARLY 20003
run fin-client "$CLI" fin-client "$BACKEND6" $P_ECHO 20004
run fin-server "$CLI" fin-server "$BACKEND4" $P_QUIT 20005
run rst-client "$CLI" rst-client "$BACKEND4" $P_ECHO 20006
run rst-server "$CLI" rst-server "$BACKEND4" $P_RST 20007
run keepalive "$CLI" keepalive "$BACKEND6" $P_ECHO 20008
run zero-window "$CLI" zero-window "$BACKEND4" $P_BULK 20009
run wrap-client "$CLI" wrap-client "$BACKEND4" $P_ECHO 20010
run backend-silent "$CLI" linux-client "$BACKEND4" 7103 silent
wait_ready backend-wrap
run linux-wrap "$CLI" linux-client "$BACKEND4" 7101 wrap
wait_ready backend-simclose
run linux-simclose "$CLI" linux-client "$BACKEND4" 7102 simclose
wait_runs 120
log "phase 1 took $(($(date +%s) - T0)) s"
sleep 1.5	# the last flows' time_wait (1 s)
ctl_show syn_received syn_duplicate synack_sent synack_retrans syncache_hit cookie_valid \
	backend_syn_sent backend_syn_retrans backend_timeout held_released flows_created \
	flows_closed flows_reset
check_eq "no flow or half-open entry left" "$(ctl flows | grep -c .)" 0
check_ge "syn_duplicate (syn-retransmit)" "$(cnt syn_duplicate)" 1
check_ge "synack_retrans (synack-lost: 3)" "$(cnt synack_retrans)" 3
check_ge "held_released (data-early: 3 segments and a copy)" "$(cnt held_released)" 4
check_eq "backend_timeout (backend-silent)" "$(cnt backend_timeout)" 1
# data-early 1, backend-silent 3
check_ge "backend_syn_retrans" "$(cnt backend_syn_retrans)" 4
# fin-client, fin-server, wrap-client, backend-wrap, simclose
check_eq "flows_closed (the five FIN scenarios)" "$(cnt flows_closed)" 5
# syn-retransmit, synack-lost, data-early, rst-client, rst-server,
# keepalive, zero-window
check_eq "flows_reset (the seven RST endings)" "$(cnt flows_reset)" 7
check_eq "flows_created (13 connections)" "$(cnt flows_created)" 13

cap_stop back
syns() {	# SPORT: the backend SYNs of one source port
	"$PY" "$SCN" backend-syns "$TMP/back.pcap" "$1"
}
check_eq "one backend SYN for the duplicate-SYN client" "$(syns 20002 | grep -c .)" 1
check_eq "one backend SYN for the lost-SYN-ACK client" "$(syns 20001 | grep -c .)" 1
syns 20003 >"$TMP/early.syns"
echo "data-early backend SYNs: $(tr '\n' ' ' <"$TMP/early.syns")"
check "data-early: two backend SYNs, the second at +0.5 s (+-0.4)" \
	times_within "$TMP/early.syns" "0 0.5" 0.4
check_eq "wrap-client: the backend SYN carries ISN 2^32-700" \
	"$(syns 20010 | sed -n 's/.* seq=\([0-9]*\).*/\1/p')" $((4294967296 - 700))
cport=$(field backend-silent cport)
syns "${cport:-0}" >"$TMP/silent.syns"
echo "backend-silent backend SYNs: $(tr '\n' ' ' <"$TMP/silent.syns")"
check "backend-silent: 4 SYNs at +0, +0.5, +1.5, +3.5 s (+-0.4)" \
	times_within "$TMP/silent.syns" "0 0.5 1.5 3.5" 0.4
check "backend-silent: client reset 7.5 s after connecting (-0.4, +0.8: connect() included)" \
	awk -v t="$(field backend-silent after)" 'BEGIN { exit !(t >= 7.1 && t <= 8.3) }'

# ---- phase 2: the SYN cache full, cookies take over ------------------------
log "== phase 2: SYN cache full"
# A full cache sheds its entries when they fall due (synack_rto; see
# docs/decisions.md), which frees slots a client's SYN could take.  Restart
# with a 10 s synack_rto so that nothing falls due while the phase runs and
# the cache stays full of the flood's entries.
daemon_stop
check_eq "daemon exit status (phase 1)" "$DAEMON_RC" 0
sed -i 's/^timeouts = { /timeouts = { synack_rto = 10.0; /' "$CONF"
grep -q "synack_rto = 10.0;" "$CONF" || fail "phase 2 config"
daemon_start
cap_start back2 "$SRV" s0 "$SYN_FILTER"
ctl stats >"$TMP/c0"
in_ns "$FLD" timeout 30 "$PY" "$LIVE_DIR/scapy_client.py" flood "$BACKEND4" $P_ECHO 400 1 ||
	fail "flood"
run cookie-ts "$CLI" cookie "$BACKEND4" $P_ECHO 20020 ts
run cookie-nots "$CLI" cookie "$BACKEND4" $P_ECHO 20021 nots
wait_runs 30
ctl_show syn_received syncache_added syncache_full cookie_sent cookie_valid syncache_hit \
	backend_syn_sent flows_created
check_eq "syncache_added: the cache took 32 entries" "$(cnt syncache_added)" 32
check_ge "syncache_full: the rest of the flood and both clients" "$(cnt syncache_full)" 370
check_eq "cookie_valid: both clients" "$(cnt cookie_valid)" 2
check_eq "syncache_hit: none while full" "$(cnt syncache_hit)" 0
cap_stop back2
# The two cookie clients' backend SYNs in the same capture prove it saw
# SYNs; not one came from the flood.
check_eq "capture works: the cookie clients' backend SYNs" \
	"$(cap_count back2 "src host $CLIENT4")" 2
check_eq "no flood SYN at the backend" \
	"$(cap_count back2 "src net 198.18.0.0/15")" 0
for c in "20020 mss=1440 ws=5 sack=1 ts=1" "20021 mss=1440 ws=4 sack=1 ts=0"; do
	sp=${c%% *}
	got=$("$PY" "$SCN" backend-syns "$TMP/back2.pcap" "$sp" | cut -d' ' -f3-)
	check_eq "cookie client $sp: backend SYN options from the cookie" "$got" "${c#* }"
done
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
