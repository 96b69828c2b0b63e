#!/bin/sh
# Throughput of one TCP stream (iperf3 -t 5) client -> server through the
# gateway: plain forwarding (no daemon, no rules), synproxyd with the
# kernel fast path, synproxyd with every packet in userspace.  Prints each
# figure and its ratio to plain forwarding, all measured in this run.
. "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || die "iperf3 missing (scripts/install-deps)"
T=${T:-5}

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

plain=$(run_iperf)

bench_conf auto
bench_daemon_start
# A first short run lets wscale "auto" learn the server's shift, so the
# measured connection is not rescaled (a rescaled one stays in userspace).
ip netns exec "$CLI" iperf3 -c 203.0.113.2 -p 5201 -t 1 >/dev/null 2>&1
fast=$(run_iperf)
fast_ok=$(stat_of offload_ok)
fast_q=$(stat_of queue_received)
bench_daemon_stop

bench_conf off
bench_daemon_start
ip netns exec "$CLI" iperf3 -c 203.0.113.2 -p 5201 -t 1 >/dev/null 2>&1
slow=$(run_iperf)
slow_q=$(stat_of queue_received)
bench_daemon_stop

gbps() { awk -v b="$1" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }'; }
echo "throughput (iperf3 -t $T, one stream), $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  plain forwarding:     $(gbps "$plain")"
echo "  synproxyd fastpath:   $(gbps "$fast")  ratio $(ratio "$fast" "$plain")  (offload_ok $fast_ok, queued packets $fast_q)"
echo "  synproxyd userspace:  $(gbps "$slow")  ratio $(ratio "$slow" "$plain")  (queued packets $slow_q)"
