#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# SYN absorption: N spoofed SYNs (sources random in 198.18.0.0/15, with
# MSS, SACK, timestamps and window scale) sent as fast as trafgen can from
# the client namespace to the server's port 8080 through the gateway, for:
#   synproxyd            SYNs answered per second (first SYN-ACKs: SYN cache
#                        entries + cookies; retransmissions not counted)
#   kernel SYNPROXY      the same, with the kernel's own target
#   NFQUEUE drop-only    packets verdicted per second by bench/nfq_drop.c
#   drop+raw, drop+packet  the same loop also sending a SYN-ACK per SYN
# synproxyd and drop-only run with one queue and with two (queue.count 2,
# --queue-balance: one worker / one nfq_drop per queue).  The rate is
# counted from the first SYN until the answers stop (the last 0.5 s of
# silence excluded).  Two more loops measure the floor of any NFQUEUE SYN
# proxy: nfq_drop answering each SYN with a fixed SYN-ACK through a raw
# socket (as synproxyd does) and through AF_PACKET (bench/nfq_drop.c).
# All seven are measured in this run.
. "$(dirname "$0")/lib.sh"
command -v trafgen >/dev/null || die "trafgen missing (netsniff-ng; scripts/install-deps)"
N=${N:-300000}

bench_net
syn_cfg

# Waits until counter command "$@" stops moving for 0.5 s; prints
# "count elapsed_seconds" measured from $t0 to its last change.
settle() {
	last=-1
	tlast=$t0
	while :; do
		now=$("$@")
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
	echo "$last $(awk -v a="$tlast" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')"
}
synacks_out() {
	echo $(($(ifstat "$GW" g0 tx_packets) - base))
}
flood() {
	t0=$(date +%s.%N)
	ip netns exec "$CLI" trafgen -i "$TMP/syn.cfg" -o c0 -n "$N" -q >/dev/null 2>&1 ||
		die "trafgen failed"
}

answered() {
	"$SYNPROXYCTL" -s "$SOCK" stats |
		awk '$1 == "syncache_added" || $1 == "cookie_sent" { n += $2 } END { print n + 0 }'
}
# queue_dropped (queue full) + queue_user_dropped (socket full), as the
# kernel counts them in /proc/net/netfilter/nfnetlink_queue.
qdrops() {
	ip netns exec "$GW" awk '{ n += $6 + $7 } END { print n + 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}

# synproxyd with QUEUES workers (SYN cache of 32768 entries per worker,
# then cookies: the default); sets sp_n, sp_t, sp_drop and $TMP/stats.
synproxyd_run() {
	bench_conf auto
	sed -i "s/^queue = { /queue = { count = $1; /" "$TMP/synproxyd.conf"
	"$SYNPROXYD" -c "$TMP/synproxyd.conf" -t || die "config"
	bench_daemon_start
	# PERF=FILE: profile the daemon during the one-queue flood (perf record -g).
	if [ -n "${PERF:-}" ] && [ "$1" = 1 ]; then
		perf record -q -F 2999 -g -p "$DPID" -o "$PERF" -- sleep 4 >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	flood
	set -- $(settle answered) "$1"
	[ -n "${PERF:-}" ] && [ "$3" = 1 ] && wait "$PERFPID"
	sp_n=$1 sp_t=$2
	sp_drop=$(qdrops)
	"$SYNPROXYCTL" -s "$SOCK" stats >"$TMP/stats"
	bench_daemon_stop
}

rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }'; }

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
		a_r=$(rate "$sp_n" "$sp_t")
		SYNPROXYD=$this
		synproxyd_run 1
		b_r=$(rate "$sp_n" "$sp_t")
		echo "  round $((r + 1)): AB $a_r/s, this build $b_r/s, ratio $(ratio "$b_r" "$a_r")"
		echo "$(ratio "$b_r" "$a_r")" >>"$TMP/ab"
		r=$((r + 1))
	done
	echo "SYN flood A/B: $N spoofed SYNs, 1 queue, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
	echo "  this build / AB, median of ${ROUNDS:-5} rounds: $(sort -n "$TMP/ab" |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
	exit 0
fi

synproxyd_run 1
sp1_n=$sp_n sp1_t=$sp_t sp1_drop=$sp_drop
sp1_stats=$(awk '$1 ~ /^(syncache_added|syncache_shed|cookie_sent|synack_retrans|link_sent)$/' \
	"$TMP/stats" | tr '\n' ' ')
synproxyd_run 2
sp2_n=$sp_n sp2_t=$sp_t sp2_drop=$sp_drop

# The kernel's SYNPROXY target.
kernel_synproxy_on
base=$(ifstat "$GW" g0 tx_packets)
flood
set -- $(settle synacks_out)
k_n=$1 k_t=$2
kernel_synproxy_off

# Drop-only NFQUEUE consumers on the same queue rules as synproxyd: one
# process on queue 0, then one each on queues 0 and 1.
gcc -O2 -I"$TOP/src/core" -o "$TMP/nfq_drop" "$BENCH_DIR/nfq_drop.c" "$TOP/src/core/csum.c" \
	-lmnl -lnetfilter_queue ||
	die "building nfq_drop"
queued() {
	ip netns exec "$GW" awk '{ n += $8 } END { print n + 0 }' \
		/proc/net/netfilter/nfnetlink_queue
}
# drop_run QUEUES [raw|packet]: sets d_n, d_t, d_drop, d_tx (packets out
# of g0 towards the client).
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
		BG_PIDS="$BG_PIDS $!"
		q=$((q + 1))
	done
	sleep 0.3
	# PERF=FILE: also profile the drop+raw loop, into FILE.floor.
	if [ -n "${PERF:-}" ] && [ "${2:-}" = raw ]; then
		perf record -q -F 2999 -g -p "$pids" -o "$PERF.floor" -- sleep 3 >/dev/null 2>&1 &
		PERFPID=$!
		sleep 0.3
	fi
	tx0=$(ifstat "$GW" g0 tx_packets)
	flood
	set -- $(settle queued)
	d_t=$2
	d_tx=$(($(ifstat "$GW" g0 tx_packets) - tx0))
	[ -n "${PERF:-}" ] && [ "${2:-}" = raw ] && wait "$PERFPID"
	d_drop=$(qdrops)
	for p in $pids; do
		kill -TERM "$p"
		wait "$p"
	done
	d_n=$(cat "$TMP"/drop*.out | awk '{ n += $2 } END { print n + 0 }')
	rm -f "$TMP"/drop*.out
	ip netns exec "$GW" iptables -F FORWARD
}
drop_run 1
d1_n=$d_n d1_t=$d_t d1_drop=$d_drop
drop_run 2
d2_n=$d_n d2_t=$d_t d2_drop=$d_drop
drop_run 1 raw
r1_n=$d_n r1_t=$d_t r1_drop=$d_drop r1_tx=$d_tx
drop_run 1 packet
p1_n=$d_n p1_t=$d_t p1_drop=$d_drop p1_tx=$d_tx

sp1_r=$(rate "$sp1_n" "$sp1_t")
sp2_r=$(rate "$sp2_n" "$sp2_t")
k_r=$(rate "$k_n" "$k_t")
d1_r=$(rate "$d1_n" "$d1_t")
d2_r=$(rate "$d2_n" "$d2_t")
r1_r=$(rate "$r1_n" "$r1_t")
p1_r=$(rate "$p1_n" "$p1_t")
echo "SYN flood: $N spoofed SYNs, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  synproxyd 1 queue:   $sp1_n SYN-ACKs in ${sp1_t}s = $sp1_r/s, answered" \
	"$(ratio "$sp1_n" "$N") (queue drops ${sp1_drop:-?}; $sp1_stats)"
echo "  synproxyd 2 queues:  $sp2_n SYN-ACKs in ${sp2_t}s = $sp2_r/s, answered" \
	"$(ratio "$sp2_n" "$N") (queue drops ${sp2_drop:-?})"
echo "  kernel SYNPROXY:     $k_n SYN-ACKs in ${k_t}s = $k_r/s, answered $(ratio "$k_n" "$N")"
echo "  drop-only 1 queue:   $d1_n verdicts in ${d1_t}s = $d1_r/s, handled" \
	"$(ratio "$d1_n" "$N") (queue drops ${d1_drop:-?})"
echo "  drop-only 2 queues:  $d2_n verdicts in ${d2_t}s = $d2_r/s, handled" \
	"$(ratio "$d2_n" "$N") (queue drops ${d2_drop:-?})"
echo "  drop+raw SYN-ACK:    $r1_n verdicts in ${r1_t}s = $r1_r/s, handled" \
	"$(ratio "$r1_n" "$N") (queue drops ${r1_drop:-?}; $r1_tx sent)"
echo "  drop+packet SYN-ACK: $p1_n verdicts in ${p1_t}s = $p1_r/s, handled" \
	"$(ratio "$p1_n" "$N") (queue drops ${p1_drop:-?}; $p1_tx sent)"
echo "  ceilings: drop-only/kernel $(ratio "$d1_r" "$k_r")," \
	"drop+raw/drop-only $(ratio "$r1_r" "$d1_r"), drop+packet/drop-only $(ratio "$p1_r" "$d1_r")"
echo "  synproxyd/drop+raw $(ratio "$sp1_r" "$r1_r"), synproxyd/drop+packet $(ratio "$sp1_r" "$p1_r")"
echo "  ratios 1 queue:  synproxyd/kernel $(ratio "$sp1_r" "$k_r")," \
	"synproxyd/drop-only $(ratio "$sp1_r" "$d1_r")"
echo "  ratios 2 queues: synproxyd/kernel $(ratio "$sp2_r" "$k_r")," \
	"synproxyd/drop-only $(ratio "$sp2_r" "$d2_r")," \
	"synproxyd 2/1 queues $(ratio "$sp2_r" "$sp1_r")"
