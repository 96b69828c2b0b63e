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
# tables (the memory_bytes gauge: what engine_new allocated) plus a fixed
# allowance for the process (8 MiB, 24 MiB under ASan), and grows by less
# than the tables; syncache_entries <= max_entries and flows_active <=
# flows.max at every sample; in each phase every packet sent was judged by
# the daemon or counted as dropped by the kernel (queue, veth), exactly;
# every validated handshake ACK opened one backend handshake, each of which
# got one retransmission and, once drained, ended in backend_timeout
# (flows_active back to what it was); a real client gets PONG.  Figures
# are printed for bench/README.md.
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

# Where a packet the handshaker sent can end, counted: judged by the
# daemon (packets_received), dropped by the kernel at the full queue or
# socket (queue_kernel_dropped, queue_user_dropped), or dropped by the veth
# into the gateway (the flood link's tx_dropped).  Nothing else talks to
# the daemon during a phase (the backend never answers a spoofed client).
fate() {
	echo "$(ctl_counter packets_received) $(( $(ctl_counter queue_kernel_dropped) + \
		$(ctl_counter queue_user_dropped) )) $(in_ns "$FLD" cat /sys/class/net/f0/statistics/tx_dropped)"
}
# check_fate BEFORE SENT: every packet sent since BEFORE (a fate line) has
# one counted end; prints them.
check_fate() {
	set -- $1 $(fate) "$2"
	echo "fate of $7 packets sent: judged $(($4 - $1)), dropped at the queue $(($5 - $2))," \
		"dropped by the veth $(($6 - $3))"
	check_eq "every packet sent was judged or counted as dropped" \
		$(( $4 - $1 + $5 - $2 + $6 - $3 )) "$7"
}
handshaker_field() {	# FILE NAME: NAME=value in the handshaker's output
	sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"
}

log "phase 1: $SYNS spoofed SYNs at $SYN_RATE/s"
syn0=$(ctl_counter syn_received)
kdrop0=$(( $(ctl_counter queue_kernel_dropped) + $(ctl_counter queue_user_dropped) ))
fate0=$(fate)
run_handshaker "$TMP/syn.out" "$SYNS" "$SYN_RATE"
syns=$(( $(ctl_counter syn_received) - syn0 ))
kdrop=$(( $(ctl_counter queue_kernel_dropped) + $(ctl_counter queue_user_dropped) - kdrop0 ))
RSS1=$(daemon_rss_kb)
echo "SYNs processed by the daemon: $syns of $SYNS sent, $kdrop dropped by the kernel" \
	"at the full queue; VmRSS $RSS1 kB (max $MAX_RSS)"
ctl_show syncache_added syncache_full syncache_evicted cookie_sent synack_retrans \
	queue_kernel_dropped queue_user_dropped
# No silent loss: what the daemon did not see, the kernel counted.
check_fate "$fate0" "$(handshaker_field "$TMP/syn.out" syn_sent)"
check_eq "every SYN judged was a SYN received" "$syns" \
	"$(( $(echo $(fate) | cut -d' ' -f1) - $(echo $fate0 | cut -d' ' -f1) ))"
check_ge "the SYN cache filled and cookies answered" "$(ctl_counter cookie_sent)" 1

log "phase 2: $HANDSHAKES spoofed clients complete the handshake, the backend stays silent"
cnt_snap A
flows0=$(ctl_counter flows_active)
fate0=$(fate)
run_handshaker "$TMP/hs.out" "$HANDSHAKES" "$HS_RATE" --ack
RSS2=$(daemon_rss_kb)
acks=$(handshaker_field "$TMP/hs.out" ack_sent)
check_fate "$fate0" "$(( $(handshaker_field "$TMP/hs.out" syn_sent) + acks ))"
# Each slot lives 1.5 s; allow 10 s for the last ones and the tick.  What
# may remain is the real client's flow from before the load (time_wait).
i=0
while [ "$(ctl_counter flows_active)" -gt "$flows0" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
cnt_snap B
ctl_show backend_syn_sent backend_syn_retrans backend_timeout flows_full flows_created \
	cookie_valid syncache_hit cookie_retrans ack_invalid
bsyn=$(cnt_delta A B backend_syn_sent)
full=$(cnt_delta A B flows_full)
echo "handshakes completed (ACKs sent): $acks; backend handshakes opened: $bsyn;" \
	"ACKs that found the flow table full: $full; VmRSS $RSS2 kB (max $MAX_RSS)"
# A handshake ACK that validates opens a backend handshake, or finds the
# flow table full; every backend handshake opened, the backend being
# silent, ends in backend_timeout once drained.
check_eq "backend handshakes opened == ACKs validated (cookie_valid + syncache_hit)" "$bsyn" \
	"$(( $(cnt_delta A B cookie_valid) + $(cnt_delta A B syncache_hit) ))"
check_eq "flows_created == backend handshakes opened" "$(cnt_delta A B flows_created)" "$bsyn"
check_eq "backend_timeout == backend handshakes opened (after the drain)" \
	"$(cnt_delta A B backend_timeout)" "$bsyn"
check_eq "backend SYN retransmissions: one per handshake (backend_syn_retries 1)" \
	"$(cnt_delta A B backend_syn_retrans)" "$bsyn"
# A slot lives 1.5 s: above flows.max / 1.5 handshakes a second the table
# must fill (the default rates); a slower run may fit in it.
if [ $((HS_RATE * 3 / 2)) -gt "$FLOWS" ]; then
	check_ge "the flow table filled (flows_full)" "$full" 1
fi
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
