#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of one TCP stream (iperf3 -t 5) client -> server through the
# gateway: plain forwarding (no daemon, no rules), synproxyd with the
# kernel fast path, synproxyd with every packet in userspace.  Prints each
# figure and its ratio to plain forwarding, all measured in this run.
. "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || die "iperf3 missing (scripts/install-deps)"
T=${T:-5}
R=${R:-3}    # rounds; each figure is the median of R runs, interleaved

bench_net
bg ip netns exec "$SRV" timeout 300 iperf3 -s -B 203.0.113.2 -p 5201 >/dev/null 2>&1
sleep 0.5

# Bits per second received by the server in a T-second run.
run_iperf() {
	ip netns exec "$CLI" timeout $((T + 20)) iperf3 -c 203.0.113.2 -p 5201 -t "$T" -J \
		>"$TMP/iperf.json" 2>&1 || { cat "$TMP/iperf.json" >&2; die "iperf3 failed"; }
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
		"$TMP/iperf.json"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
P="" F="" S=""
bench_conf auto
cp "$TMP/synproxyd.conf" "$TMP/auto.conf"
bench_conf off
cp "$TMP/synproxyd.conf" "$TMP/off.conf"
r=0
while [ $r -lt "$R" ]; do
	r=$((r + 1))
	P="$P $(run_iperf)"
	for mode in auto off; do
		cp "$TMP/$mode.conf" "$TMP/synproxyd.conf"
		bench_daemon_start
		# A first short run lets wscale "auto" learn the server's shift, so
		# the measured connection is not rescaled (that one would stay in
		# userspace).
		ip netns exec "$CLI" iperf3 -c 203.0.113.2 -p 5201 -t 1 >/dev/null 2>&1
		v=$(run_iperf)
		if [ $mode = auto ]; then
			F="$F $v"
			fast_ok=$(stat_of offload_ok)
			fast_q=$(stat_of queue_received)
		else
			S="$S $v"
			slow_q=$(stat_of queue_received)
		fi
		bench_daemon_stop
	done
done
plain=$(median $P)
fast=$(median $F)
slow=$(median $S)

gbps() { awk -v b="$1" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }'; }
echo "throughput (iperf3 -t $T, one stream, median of $R), $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  runs (bit/s): plain$P; fastpath$F; userspace$S"
echo "  plain forwarding:     $(gbps "$plain")"
echo "  synproxyd fastpath:   $(gbps "$fast")  ratio $(ratio "$fast" "$plain")  (last run: offload_ok $fast_ok, queued packets $fast_q)"
echo "  synproxyd userspace:  $(gbps "$slow")  ratio $(ratio "$slow" "$plain")  (last run: queued packets $slow_q)"
