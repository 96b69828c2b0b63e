#!/bin/sh
# SYN absorption: N spoofed SYNs (sources random in 198.18.0.0/15, with
# MSS, SACK, timestamps and window scale) sent as fast as trafgen can from
# the client namespace to the server's port 8080 through the gateway, for:
#   synproxyd            SYNs answered per second (first SYN-ACKs: SYN cache
#                        entries + cookies; retransmissions not counted)
#   kernel SYNPROXY      the same, with the kernel's own target
#   NFQUEUE drop-only    packets verdicted per second by bench/nfq_drop.c
# The rate is counted from the first SYN until the answers stop (the last
# 0.5 s of silence excluded).  All three are measured in this run.
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

# synproxyd (SYN cache of 32768 entries, then cookies: the default).
bench_conf auto
bench_daemon_start
# PERF=FILE: profile the daemon during the flood (perf record -g).
if [ -n "${PERF:-}" ]; then
	perf record -q -F 2999 -g -p "$DPID" -o "$PERF" -- sleep 4 >/dev/null 2>&1 &
	PERFPID=$!
	sleep 0.3
fi
flood
set -- $(settle answered)
[ -n "${PERF:-}" ] && wait "$PERFPID"
sp_n=$1 sp_t=$2
sp_drop=$(qdrops)
"$SYNPROXYCTL" -s "$SOCK" stats >"$TMP/stats"
bench_daemon_stop

# The kernel's SYNPROXY target.
kernel_synproxy_on
base=$(ifstat "$GW" g0 tx_packets)
flood
set -- $(settle synacks_out)
k_n=$1 k_t=$2
kernel_synproxy_off

# A drop-only NFQUEUE consumer on the same queue rules as synproxyd.
gcc -O2 -o "$TMP/nfq_drop" "$BENCH_DIR/nfq_drop.c" -lmnl -lnetfilter_queue ||
	die "building nfq_drop"
ip netns exec "$GW" iptables -A FORWARD -d 203.0.113.2 -p tcp --dport 8080 \
	-j NFQUEUE --queue-num 0
ip netns exec "$GW" "$TMP/nfq_drop" >"$TMP/drop.out" &
NPID=$!
BG_PIDS="$BG_PIDS $NPID"
sleep 0.3
queued() {
	ip netns exec "$GW" awk '{ print $8 }' /proc/net/netfilter/nfnetlink_queue
}
flood
set -- $(settle queued)
d_t=$2
d_drop=$(qdrops)
kill -TERM "$NPID"
wait "$NPID"
d_n=$(awk '{ print $2 }' "$TMP/drop.out")

rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }'; }
sp_r=$(rate "$sp_n" "$sp_t")
k_r=$(rate "$k_n" "$k_t")
d_r=$(rate "$d_n" "$d_t")
echo "SYN flood: $N spoofed SYNs, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  synproxyd:         $sp_n SYN-ACKs in ${sp_t}s = $sp_r/s, answered $(ratio "$sp_n" "$N")" \
	"(queue drops ${sp_drop:-?}; $(awk '$1 ~ /^(syncache_added|cookie_sent|queue_overruns)$/' "$TMP/stats" | tr '\n' ' '))"
echo "  kernel SYNPROXY:   $k_n SYN-ACKs in ${k_t}s = $k_r/s, answered $(ratio "$k_n" "$N")"
echo "  NFQUEUE drop-only: $d_n verdicts in ${d_t}s = $d_r/s, handled $(ratio "$d_n" "$N") (queue drops ${d_drop:-?})"
echo "  ratios: synproxyd/kernel $(ratio "$sp_r" "$k_r"), synproxyd/drop-only $(ratio "$sp_r" "$d_r")"
