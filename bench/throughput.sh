#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of one TCP stream (iperf3 -t T) client -> server through the
# gateway: plain forwarding (no daemon, no rules), the kernel's SYNPROXY
# target (bench/lib.sh's rules for port 5201, conntrack flushed after),
# synproxyd with the kernel fast path, synproxyd with every packet in
# userspace; the fast path is also given as a ratio to the kernel target
# (issue 12's target: >= 0.97).  iperf3's control connection is the first
# to the port after a start, so it is the one that meets wscale "auto"
# before the server's window scale is learned (rescaled, kept in
# userspace) and its data stream is not.  The first connection is
# therefore measured on its own too, with a bulk sender (Python: T seconds
# of writes to a sink on port 8080) as the first and then the second
# connection to that port after a start, and the same sender without the
# daemon.  Prints each figure and its ratio to plain forwarding, all
# measured in this run.
. "$(dirname "$0")/lib.sh"
T=${T:-5}
R=${R:-3}    # rounds; each figure is the median of R runs, interleaved

bench_net iperf3 conntrack
bg_ns "$SRV" timeout 300 iperf3 -s -B 203.0.113.2 -p 5201
wait_listen "$SRV" 5201
# The sink for the bulk sender: reads and drops whatever each connection sends.
bg_ns "$SRV" timeout 300 "$PY" -c '
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.2", 8080))
s.listen(16)
def sink(c):
    b = bytearray(1 << 20)
    while c.recv_into(b):
        pass
    c.close()
while True:
    threading.Thread(target=sink, args=(s.accept()[0],), daemon=True).start()
'
wait_listen "$SRV" 8080

# Bits per second one connection to port 8080 carried in T seconds.
run_bulk() {
	in_ns "$CLI" timeout $((T + 20)) "$PY" -c '
import socket, sys, time
c = socket.create_connection(("203.0.113.2", 8080), timeout=5)
buf = bytes(1 << 20)
n = 0
t0 = time.monotonic()
end = t0 + float(sys.argv[1])
while time.monotonic() < end:
    n += c.send(buf)
c.shutdown(socket.SHUT_WR)
c.recv(1)
print(int(n * 8 / (time.monotonic() - t0)))
' "$T" || die "bulk sender failed"
}

# Bits per second received by the server in a T-second run.
run_iperf() {
	ip netns exec "$CLI" timeout $((T + 20)) iperf3 -c 203.0.113.2 -p 5201 -t "$T" -J \
		>"$TMP/iperf.json" 2>&1 || { cat "$TMP/iperf.json" >&2; die "iperf3 failed"; }
	"$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
		"$TMP/iperf.json"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
override fastpath "\"off\" for the userspace row: every packet through the daemon"
P="" B0="" B1="" B2="" F="" S="" K=""
bench_conf auto
cp "$CONF" "$TMP/auto.conf"
bench_conf off
cp "$CONF" "$TMP/off.conf"
r=0
while [ $r -lt "$R" ]; do
	r=$((r + 1))
	P="$P $(run_iperf)"
	B0="$B0 $(run_bulk)"
	kernel_synproxy_on 5201
	K="$K $(run_iperf)"
	kernel_synproxy_off
	ip netns exec "$GW" conntrack -F >/dev/null 2>&1
	for mode in auto off; do
		cp "$TMP/$mode.conf" "$CONF"
		daemon_start
		if [ $mode = auto ]; then
			# The first connection to port 8080: window scale not
			# learned yet; then the second one.
			B1="$B1 $(run_bulk)"
			first_rescaled=$(ctl_counter offload_refused_rescaled)
			first_ok=$(ctl_counter offload_ok)
			B2="$B2 $(run_bulk)"
			second_ok=$(( $(ctl_counter offload_ok) - first_ok ))
			ok0=$(ctl_counter offload_ok)
			q0=$(ctl_counter queue_received)
			F="$F $(run_iperf)"
			fast_ok=$(( $(ctl_counter offload_ok) - ok0 ))
			fast_q=$(( $(ctl_counter queue_received) - q0 ))
		else
			S="$S $(run_iperf)"
			slow_q=$(ctl_counter queue_received)
		fi
		daemon_stop
	done
done
plain=$(median $P)
fast=$(median $F)
slow=$(median $S)
kern=$(median $K)
bplain=$(median $B0)
first=$(median $B1)
second=$(median $B2)

gbps() { awk -v b="$1" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }'; }
echo "throughput (one stream, $T s, median of $R), $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  runs (bit/s): iperf3 plain$P; kernel SYNPROXY$K; fastpath$F; userspace$S;"
echo "                bulk plain$B0; first connection$B1; second$B2"
echo "  iperf3, plain forwarding:     $(gbps "$plain")"
echo "  iperf3, synproxyd fastpath:   $(gbps "$fast")  ratio $(ratio "$fast" "$plain")  (last run: offloaded $fast_ok, queued packets $fast_q)"
echo "  iperf3, kernel SYNPROXY:      $(gbps "$kern")  ratio $(ratio "$kern" "$plain")"
# Each round's fastpath / kernel ratio too: the two are measured seconds
# apart, the medians possibly not in the same round.
rounds=$(echo "$F;$K" | awk -F';' '{ n = split($1, f, " "); split($2, k, " ")
	for (i = 1; i <= n; i++) printf " %.3f", f[i] / k[i] }')
echo "  iperf3, fastpath / kernel SYNPROXY target: $(ratio "$fast" "$kern") (rounds:$rounds; issue 12: >= 0.97)"
echo "  iperf3, synproxyd userspace:  $(gbps "$slow")  ratio $(ratio "$slow" "$plain")  (last run: queued packets $slow_q)"
echo "  bulk, plain forwarding:       $(gbps "$bplain")"
echo "  bulk, first connection:       $(gbps "$first")  ratio $(ratio "$first" "$bplain")  (last run: rescaled $first_rescaled, offloaded $first_ok)"
echo "  bulk, second connection:      $(gbps "$second")  ratio $(ratio "$second" "$bplain")  (last run: offloaded $second_ok)"
lab_finish
