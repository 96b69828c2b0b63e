#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# SYN absorption: N spoofed SYNs (sources random in 198.18.0.0/15, with
# MSS, SACK, timestamps and window scale) sent as fast as trafgen can from
# the flood namespace to the server's port 8080 through the gateway, for:
#   synproxyd            1 queue, and 2 (queue.count 2, --queue-balance)
#   kernel SYNPROXY      the kernel's own target
#   drop-only            bench/nfq_drop.c: reads the queue, drops every
#                        SYN, answers none (1 queue, and 2): the ceiling
#                        of any NFQUEUE consumer
#   drop+raw, drop+packet  the same loop answering each SYN with a fixed
#                        SYN-ACK through a raw socket or AF_PACKET: the
#                        floor of any NFQUEUE SYN proxy
# Every row counts the same things on the wire: SYN-ACKs = packets the
# gateway sent out of g2 (its interface toward the flood) minus the
# packets the backend itself sent to 198.18.0.0/15 (none, unless a flood
# SYN got through; a counting rule in the server's namespace), and the
# spoofed SYNs that reached the backend (a counting rule on its INPUT).
# The time runs from the first SYN until neither the wire nor the queue
# has moved for 0.5 s (that 0.5 s excluded); the rate is SYN-ACKs on the
# wire per second.  The NFQUEUE rows also show the packets queued
# (id_sequence) and what the kernel dropped at the full queue.
# All seven are measured in this run.
. "$(dirname "$0")/lib.sh"
N=${N:-300000}

bench_net trafgen gcc
syn_cfg
override queue.count "1 queue for the one-queue rows (the example's 2 run in the next row)"

# Packets the queues have seen (id_sequence) and dropped (queue full,
# socket full), from /proc/net/netfilter/nfnetlink_queue of the gateway.
queued() {
	ip netns exec "$GW" awk '{ n += $8 } END { print n + 0 }' /proc/net/netfilter/nfnetlink_queue
}
qdrops() {
	ip netns exec "$GW" awk '{ n += $6 + $7 } END { print n + 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}
# Anything moving: the gateway's output toward the flood and the queues.
progress() {
	echo $(( $(ifstat "$GW" g2 tx_packets) + $(queued) ))
}

# Waits until progress stops moving for 0.5 s; sets w_t, the seconds from
# $t0 to its last change.
settle() {
	last=-1
	tlast=$t0
	while :; do
		now=$(progress)
		tn=$(date +%s.%N)
		if [ "$now" = "$last" ]; then
			still=$(awk -v a="$tn" -v b="$tlast" 'BEGIN { print (a - b >= 0.5) }')
			[ "$still" = 1 ] && break
		else
			last=$now
			tlast=$tn
		fi
		sleep 0.05
	done
	w_t=$(awk -v a="$tlast" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
}

# measure: floods N SYNs and counts; sets w_t, w_synacks, w_leaked,
# w_queued, w_drops.
measure() {
	tx0=$(ifstat "$GW" g2 tx_packets)
	own0=$(srv_count OUTPUT)
	leak0=$(srv_count INPUT)
	q0=$(queued)
	d0=$(qdrops)
	t0=$(date +%s.%N)
	ip netns exec "$FLD" trafgen -i "$TMP/syn.cfg" -o f0 -n "$N" -q >/dev/null 2>&1 ||
		die "trafgen failed"
	settle
	w_synacks=$(( $(ifstat "$GW" g2 tx_packets) - tx0 - ($(srv_count OUTPUT) - own0) ))
	w_leaked=$(( $(srv_count INPUT) - leak0 ))
	w_queued=$(( $(queued) - q0 ))
	w_drops=$(( $(qdrops) - d0 ))
}

# row LABEL [extra]: one line in the same units for every row.
row() {
	printf '  %-20s %7d SYN-ACKs in %ss = %7s/s, answered %s; spoofed SYNs at the backend %d' \
		"$1:" "$w_synacks" "$w_t" "$(rate "$w_synacks" "$w_t")" "$(ratio "$w_synacks" "$N")" \
		"$w_leaked"
	[ -n "${2:-}" ] && printf '; %s' "$2"
	printf '\n'
}

# synproxyd with QUEUES workers (the default SYN cache per worker, then
# cookies); sets the w_* figures and $TMP/stats.
synproxyd_run() {
	bench_conf auto "queue = { count = $1; };"
	daemon_start
	# PERF=FILE: profile the daemon during the one-queue flood (perf record -g).
	if [ -n "${PERF:-}" ] && [ "$1" = 1 ]; then
		perf record -q -F 2999 -g -p "$DPID" -o "$PERF" -- sleep 4 >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	measure
	[ -n "${PERF:-}" ] && [ "$1" = 1 ] && wait "$PERFPID"
	ctl stats >"$TMP/stats"
	daemon_stop
}

# AB=<another synproxyd binary>: only the one-queue synproxyd figure,
# ROUNDS times (default 5) for each binary, alternating, then the median
# of the per-round ratios (this tree's build / AB).  For changes too small
# to see across separate runs on a noisy machine.
if [ -n "${AB:-}" ]; then
	[ -x "$AB" ] || die "AB=$AB is not an executable"
	this=$SYNPROXYD
	r=0
	: >"$TMP/ab"
	while [ $r -lt "${ROUNDS:-5}" ]; do
		SYNPROXYD=$AB
		synproxyd_run 1
		a_r=$(rate "$w_synacks" "$w_t")
		SYNPROXYD=$this
		synproxyd_run 1
		b_r=$(rate "$w_synacks" "$w_t")
		echo "  round $((r + 1)): AB $a_r/s, this build $b_r/s, ratio $(ratio "$b_r" "$a_r")"
		echo "$(ratio "$b_r" "$a_r")" >>"$TMP/ab"
		r=$((r + 1))
	done
	echo "SYN flood A/B: $N spoofed SYNs, 1 queue, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
	echo "  this build / AB, median of ${ROUNDS:-5} rounds: $(sort -n "$TMP/ab" |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
	lab_finish
fi

out=$TMP/rows
: >"$out"
synproxyd_run 1
sp1_r=$(rate "$w_synacks" "$w_t")
row "synproxyd 1 queue" "queued $w_queued, queue drops $w_drops; $(awk \
	'$1 ~ /^(syncache_added|syncache_shed|cookie_sent|synack_retrans|link_sent)$/ { printf "%s %s ", $1, $2 }' \
	"$TMP/stats")" >>"$out"
synproxyd_run 2
sp2_r=$(rate "$w_synacks" "$w_t")
row "synproxyd 2 queues" "queued $w_queued, queue drops $w_drops" >>"$out"

# The kernel's SYNPROXY target.
kernel_synproxy_on
measure
k_r=$(rate "$w_synacks" "$w_t")
row "kernel SYNPROXY" >>"$out"
kernel_synproxy_off

# NFQUEUE loops on the same queue rules as synproxyd: one process on queue
# 0, or one each on queues 0 and 1.
gcc -O2 -I"$TOP/src/core" -o "$TMP/nfq_drop" "$BENCH_DIR/nfq_drop.c" "$TOP/src/core/csum.c" \
	-lmnl -lnetfilter_queue ||
	die "building nfq_drop"
# drop_run QUEUES [raw|packet]: the w_* figures, and d_v (verdicts the
# loops report) and d_r (verdicts per second).
drop_run() {
	if [ "$1" = 1 ]; then
		target="--queue-num 0"
	else
		target="--queue-balance 0:$(($1 - 1))"
	fi
	ip netns exec "$GW" iptables -A FORWARD -d 203.0.113.2 -p tcp --dport 8080 \
		-j NFQUEUE $target
	pids=""
	q=0
	while [ $q -lt "$1" ]; do
		ip netns exec "$GW" "$TMP/nfq_drop" $q ${2:-} >"$TMP/drop$q.out" &
		pids="$pids $!"
		LAB_PIDS="$LAB_PIDS $!"
		q=$((q + 1))
	done
	sleep 0.3
	# PERF=FILE: also profile the drop+raw loop, into FILE.floor.
	if [ -n "${PERF:-}" ] && [ "${2:-}" = raw ]; then
		perf record -q -F 2999 -g -p "$pids" -o "$PERF.floor" -- sleep 3 >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	measure
	[ -n "${PERF:-}" ] && [ "${2:-}" = raw ] && wait "$PERFPID"
	for p in $pids; do
		kill -TERM "$p"
		wait "$p"
	done
	d_v=$(cat "$TMP"/drop*.out | awk '{ n += $2 } END { print n + 0 }')
	d_r=$(rate "$d_v" "$w_t")
	rm -f "$TMP"/drop*.out
	ip netns exec "$GW" iptables -F FORWARD
}
drop_run 1
d1_v=$d_r
row "drop-only 1 queue" "$d_v verdicts = $d_r/s, queued $w_queued, queue drops $w_drops" >>"$out"
drop_run 2
d2_v=$d_r
row "drop-only 2 queues" "$d_v verdicts = $d_r/s, queued $w_queued, queue drops $w_drops" >>"$out"
drop_run 1 raw
r1_r=$(rate "$w_synacks" "$w_t")
row "drop+raw SYN-ACK" "$d_v verdicts = $d_r/s, queued $w_queued, queue drops $w_drops" >>"$out"
drop_run 1 packet
p1_r=$(rate "$w_synacks" "$w_t")
row "drop+packet SYN-ACK" "$d_v verdicts = $d_r/s, queued $w_queued, queue drops $w_drops" >>"$out"

echo "SYN flood: $N spoofed SYNs, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  (SYN-ACKs: out of the gateway's g2 minus the backend's own packets; the drop-only"
echo "  loops answer none, their rate is the verdicts they report)"
cat "$out"
echo "  ceilings: drop-only verdicts/kernel SYN-ACKs $(ratio "$d1_v" "$k_r")," \
	"drop+raw/drop-only $(ratio "$r1_r" "$d1_v"), drop+packet/drop-only $(ratio "$p1_r" "$d1_v")"
echo "  synproxyd/drop+raw $(ratio "$sp1_r" "$r1_r"), synproxyd/drop+packet $(ratio "$sp1_r" "$p1_r")"
echo "  ratios 1 queue:  synproxyd/kernel $(ratio "$sp1_r" "$k_r")," \
	"synproxyd/drop-only $(ratio "$sp1_r" "$d1_v")"
echo "  ratios 2 queues: synproxyd/kernel $(ratio "$sp2_r" "$k_r")," \
	"synproxyd/drop-only $(ratio "$sp2_r" "$d2_v")," \
	"synproxyd 2/1 queues $(ratio "$sp2_r" "$sp1_r")"
lab_finish
