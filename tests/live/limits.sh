#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Limits: every table is bounded by the configuration, whatever the load.
#
# Gateway mode, a backend that never answers spoofed clients (its INPUT
# drops 198.18.0.0/15), and tests/live/handshaker in the flood namespace:
#  1. LIMITS_SYNS spoofed SYNs (default 300,000; the issue's full figure is
#     LIMITS_SYNS=10000000) at LIMITS_SYN_RATE per second: the SYN cache
#     fills, then cookies answer;
#  2. LIMITS_HANDSHAKES spoofed clients (default 100,000; LIMITS_HANDSHAKES=
#     1000000 for the full figure) that complete the handshake with the
#     proxy, so each makes it open a backend handshake the backend never
#     answers: the flow table fills (flows_full), entries time out after the
#     backend-SYN retries (backend_timeout) and make room for the next ones.
# VmRSS is sampled every second.  Asserts: RSS stays within the engine's
# tables (the memory_bytes gauge, fixed at start by the configuration) plus
# a fixed allowance for the process (8 MiB, 24 MiB under ASan), and grows by
# less than the tables; syncache_entries <= max_entries and flows_active <=
# flows.max at every sample; the counters account for the load; after the
# backend-SYN timeout every half-finished handshake is gone (flows_active 0)
# and a real client gets PONG.  Figures are printed for bench/README.md.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli
HANDSHAKER=${HANDSHAKER:-$top_builddir/tests/live/handshaker}
[ -x "$HANDSHAKER" ] || fail "$HANDSHAKER not built (make check builds it)"
SYNS=${LIMITS_SYNS:-300000}
SYN_RATE=${LIMITS_SYN_RATE:-30000}
HANDSHAKES=${LIMITS_HANDSHAKES:-100000}
HS_RATE=${LIMITS_HS_RATE:-10000}
SC_BUCKETS=4096 SC_LIMIT=8 SC_MAX=16384 FLOWS=8192

lab_gateway
lab_flood_ns
# Redis must outlive both phases (each bounded by the handshaker's timeout).
start_redis "$SRV" $((2 * SYNS / SYN_RATE + 2 * HANDSHAKES / HS_RATE + 180))
in_ns "$SRV" iptables -A INPUT -s 198.18.0.0/15 -j DROP
# Backend SYN at 0, 0.5 s, then reset at 1.5 s: a flow slot lives 1.5 s, so
# 10,000 handshakes a second need more than the 8192 slots (flows_full).
override syncache "16384 entries in 4096 rows of 8: a table the load fills many times over within the run"
override flows "8192 flows: 10,000 handshakes a second must find the table full (flows_full)"
override timeouts.backend_syn_retries "1 retry (with the example's 0.5 s rto: a slot lives 1.5 s), so that the flow table fills and drains within the run"
write_conf "cookies = \"auto\";
syncache = { buckets = $SC_BUCKETS; bucket_limit = $SC_LIMIT; max_entries = $SC_MAX; };
flows = { max = $FLOWS; };
timeouts = { backend_syn_rto = 0.5; backend_syn_retries = 1; };"
daemon_start
check_eq "redis PONG before the load" "$(redis_ping "$BACKEND4")" PONG
GWMAC=$(ns_mac "$GW" g2)
[ -n "$GWMAC" ] || fail "no MAC for the gateway's flood link"

MEM=$(ctl_counter memory_bytes)
PROC_KB=8192
daemon_sanitized && PROC_KB=24576
BOUND_KB=$((PROC_KB + MEM / 1024))
RSS0=$(daemon_rss_kb)
echo "engine tables (memory_bytes): $MEM bytes; VmRSS at start $RSS0 kB; bound $BOUND_KB kB"

# sample_while PID: VmRSS, syncache_entries and flows_active every second
# while PID runs (bounded by its own timeout); keeps the maxima.
MAX_RSS=$RSS0 MAX_SC=0 MAX_FLOWS=0
sample_while() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 1200 ]; do
		rss=$(daemon_rss_kb)
		sc=$(ctl_counter syncache_entries)
		fl=$(ctl_counter flows_active)
		[ "${rss:-0}" -gt "$MAX_RSS" ] && MAX_RSS=$rss
		[ "${sc:-0}" -gt "$MAX_SC" ] && MAX_SC=$sc
		[ "${fl:-0}" -gt "$MAX_FLOWS" ] && MAX_FLOWS=$fl
		[ $((i % 5)) -eq 0 ] && echo "  t=${i}s VmRSS $rss kB syncache_entries $sc flows_active $fl"
		sleep 1
		i=$((i + 1))
	done
}

run_handshaker() {	# OUT COUNT RATE [--ack]
	out=$1 n=$2 rate=$3
	shift 3
	secs=$((2 * n / rate + 30))
	bg_ns "$FLD" timeout $((secs + 10)) "$HANDSHAKER" --iface f0 --gwmac "$GWMAC" \
		--dst "$BACKEND4" --dport 6379 --count "$n" --rate "$rate" --seconds "$secs" "$@" \
		>"$out" 2>&1
	hpid=$LASTPID
	sample_while "$hpid"
	wait "$hpid"
	check_eq "handshaker exit status ($(cat "$out"))" "$?" 0
}

log "phase 1: $SYNS spoofed SYNs at $SYN_RATE/s"
syn0=$(ctl_counter syn_received)
kdrop0=$(( $(ctl_counter queue_kernel_dropped) + $(ctl_counter queue_user_dropped) ))
run_handshaker "$TMP/syn.out" "$SYNS" "$SYN_RATE"
syns=$(( $(ctl_counter syn_received) - syn0 ))
kdrop=$(( $(ctl_counter queue_kernel_dropped) + $(ctl_counter queue_user_dropped) - kdrop0 ))
RSS1=$(daemon_rss_kb)
echo "SYNs processed by the daemon: $syns of $SYNS sent, $kdrop dropped by the kernel" \
	"at the full queue; VmRSS $RSS1 kB (max $MAX_RSS)"
ctl_show syncache_added syncache_full syncache_evicted cookie_sent synack_retrans \
	queue_kernel_dropped queue_user_dropped
check_ge "the daemon processed >= a third of the SYNs" "$syns" $((SYNS / 3))
# No silent loss: what the daemon did not see, the queue counters report
# (the rest, if any, was lost before the queue: the veth backlog).
check_ge "SYNs processed + counted as dropped at the queue >= 95% of those sent" \
	$((syns + kdrop)) $((SYNS * 95 / 100))
check_ge "the SYN cache filled and cookies answered" "$(ctl_counter cookie_sent)" 1

log "phase 2: $HANDSHAKES spoofed clients complete the handshake, the backend stays silent"
bsyn0=$(ctl_counter backend_syn_sent)
full0=$(ctl_counter flows_full)
flows0=$(ctl_counter flows_active)
run_handshaker "$TMP/hs.out" "$HANDSHAKES" "$HS_RATE" --ack
RSS2=$(daemon_rss_kb)
acks=$(sed -n 's/.*ack_sent=\([0-9]*\).*/\1/p' "$TMP/hs.out")
bsyn=$(( $(ctl_counter backend_syn_sent) - bsyn0 ))
echo "handshakes completed (ACKs sent): $acks; backend handshakes opened: $bsyn;" \
	"VmRSS $RSS2 kB (max $MAX_RSS)"
ctl_show backend_syn_sent backend_syn_retrans backend_timeout flows_full flows_created \
	cookie_valid syncache_hit ack_invalid
# A completed handshake opens a backend handshake or finds the flow table
# full (counted); the rest of the ACKs are lost in the full queue or
# answer SYN-ACK retransmissions.
full=$(( $(ctl_counter flows_full) - full0 ))
echo "ACKs: $acks sent; backend handshakes $bsyn, flows_full $full"
check_ge "backend handshakes opened >= a quarter of the clients" "$bsyn" $((HANDSHAKES / 4))
# A slot lives 1.5 s: above flows.max / 1.5 handshakes a second the table
# must fill (the default rates); a slower run may fit in it.
if [ $((HS_RATE * 3 / 2)) -gt "$FLOWS" ]; then
	check_ge "the flow table filled (flows_full)" "$full" 1
fi
check_ge "half-finished backend handshakes timed out" "$(ctl_counter backend_timeout)" \
	$((bsyn / 2))

# Each slot lives 1.5 s; allow 10 s for the last ones and the tick.  What
# may remain is the real client's flow from before the load (time_wait).
i=0
while [ "$(ctl_counter flows_active)" -gt "$flows0" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check_le "flows_active after the backend-SYN timeouts (before the load: $flows0)" \
	"$(ctl_counter flows_active)" "$flows0"
check_eq "redis PONG after the load" "$(redis_ping "$BACKEND4")" PONG

echo "maxima: VmRSS $MAX_RSS kB (bound $BOUND_KB), syncache_entries $MAX_SC (max $SC_MAX)," \
	"flows_active $MAX_FLOWS (max $FLOWS)"
check_le "syncache_entries never above max_entries" "$MAX_SC" "$SC_MAX"
check_le "flows_active never above flows.max" "$MAX_FLOWS" "$FLOWS"
check_le "VmRSS never above the bound from the tables" "$MAX_RSS" "$BOUND_KB"
check_le "VmRSS growth within the tables (kB)" $((MAX_RSS - RSS0)) $((MEM / 1024 + 1024))
echo "figure: $syns SYNs + $bsyn half-finished backend handshakes:" \
	"VmRSS $RSS0 -> $MAX_RSS kB max, engine tables $((MEM / 1024)) kB"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
