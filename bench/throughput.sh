#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of one TCP stream (iperf3 -t T) through the gateway, client
# -> server ("fwd") and server -> client (iperf3 -R, "rev"): plain
# forwarding (no daemon, no rules), the kernel's SYNPROXY target (its
# documented rules, bench/lib.sh), synproxyd with the kernel fast path
# (the daemon running with -r, as users run it), and synproxyd with every
# packet in userspace.  Both proxies pay for conntrack and sequence
# adjustment; the line that matters for the fast path is its ratio to the
# kernel target, computed per round (the two are measured next to each
# other, their order alternating from round to round) and given as the
# median with its spread.  AB=<other synproxyd> adds that build's fast
# path to every round (its own rules, installed by itself), so that two
# layouts are compared in one run.  FAST=1 measures only the iperf3 rows
# of plain forwarding, the kernel target and the fast path(s).
#
# Each daemon starts afresh (no state file), and two short iperf3 runs
# teach it port 5201's options (three SYN-ACKs in a row agree) before
# the measured ones, so that these are offloaded from their start: the
# first connections to a port after a start meet wscale "auto" before the
# server's window scale is learned (rescaled, kept in userspace).  That
# first connection is measured on its own too, with a bulk sender
# (Python: T seconds of writes to a sink on port 8080) as the first
# connection to that port after a start and as the fourth (two short
# connections between them: three SYN-ACKs have then agreed, and the
# fourth is offloaded), and the same sender without the daemon.  Prints each figure and its ratio to plain
# forwarding, all measured in this run.
. "$(dirname "$0")/lib.sh"
T=${T:-5}
R=${R:-5}    # rounds; each figure is the median of R runs, interleaved
AB=${AB:-}
FAST=${FAST:-}
[ -z "$AB" ] || [ -x "$AB" ] || die "AB=$AB is not an executable"

bench_net iperf3
bg_ns "$SRV" timeout $((R * 240 + 120)) iperf3 -s -B 203.0.113.2 -p 5201 --logfile "$TMP/iperf3-server.log"
wait_listen "$SRV" 5201
# The sink for the bulk sender: reads and drops whatever each connection sends.
bg_ns "$SRV" timeout $((R * 240 + 120)) "$PY" -c '
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

# Bits per second received in a T-second run (-R: the server sends).
run_iperf() {	# [-R]
	ip netns exec "$CLI" timeout $((T + 20)) iperf3 -c 203.0.113.2 -p 5201 -t "$T" -J "$@" \
		>"$TMP/iperf.json" 2>&1 || { cat "$TMP/iperf.json" >&2; die "iperf3 failed"; }
	"$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
		"$TMP/iperf.json"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Median of per-round ratios A_i / B_i, with the smallest and largest.
ratios() {	# "A1 A2 ..." "B1 B2 ..."
	"$PY" -c '
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
r = sorted(x / y for x, y in zip(a, b))
print("%.3f (%.3f to %.3f)" % (r[(len(r) - 1) // 2], r[0], r[-1]))' "$1" "$2"
}

# The fast path of the synproxyd binary $SYNPROXYD: iperf3 both ways,
# appended to the named variables; the bulk rows too unless FAST.
fast_rows() {	# FWDVAR REVVAR
	cp "$TMP/auto.conf" "$CONF"
	rm -f "$TMP/state"  # a fresh start each time: nothing learned yet
	daemon_start
	if [ -z "$FAST" ] && [ "$SYNPROXYD" = "$OWN" ]; then
		# The first connection to port 8080: window scale not
		# learned yet; then, after two short ones, the fourth.
		B1="$B1 $(run_bulk)"
		first_rescaled=$(ctl_counter offload_refused_rescaled)
		first_ok=$(ctl_counter offload_ok)
		for i in 1 2; do
			in_ns "$CLI" timeout 10 "$PY" -c '
import socket
c = socket.create_connection(("203.0.113.2", 8080), timeout=5)
c.send(b"x")
c.shutdown(socket.SHUT_WR)
c.recv(1)
' || die "short connection to the sink failed"
		done
		B2="$B2 $(run_bulk)"
		second_ok=$(( $(ctl_counter offload_ok) - first_ok ))
	fi
	# Three SYN-ACKs in a row teach the daemon port 5201's options; the
	# measured connections are then offloaded from their start.
	for i in 1 2; do
		in_ns "$CLI" timeout 10 iperf3 -c 203.0.113.2 -p 5201 -n 1K >/dev/null ||
			die "iperf3 warm-up failed"
	done
	ok0=$(ctl_counter offload_ok)
	q0=$(ctl_counter queue_received)
	eval "$1=\"\$$1 $(run_iperf)\""
	eval "$2=\"\$$2 $(run_iperf -R)\""
	if [ "$SYNPROXYD" = "$OWN" ]; then
		fast_ok=$(( $(ctl_counter offload_ok) - ok0 ))
		fast_q=$(( $(ctl_counter queue_received) - q0 ))
	fi
	daemon_stop
}

kernel_rows() {
	kernel_synproxy_on 5201
	K="$K $(run_iperf)"
	KR="$KR $(run_iperf -R)"
	kernel_synproxy_off
}

override fastpath "\"off\" for the userspace row: every packet through the daemon"
P="" PR="" K="" KR="" F="" FR="" A="" AR="" B0="" B1="" B2="" S=""
OWN=$SYNPROXYD
bench_conf auto
cp "$CONF" "$TMP/auto.conf"
bench_conf off
cp "$CONF" "$TMP/off.conf"
r=0
while [ $r -lt "$R" ]; do
	r=$((r + 1))
	P="$P $(run_iperf)"
	PR="$PR $(run_iperf -R)"
	[ -n "$FAST" ] || B0="$B0 $(run_bulk)"
	# The kernel target and the fast path side by side, in turn first.
	[ $((r % 2)) = 1 ] && kernel_rows
	fast_rows F FR
	if [ -n "$AB" ]; then
		SYNPROXYD=$AB
		fast_rows A AR
		SYNPROXYD=$OWN
	fi
	[ $((r % 2)) = 0 ] && kernel_rows
	if [ -z "$FAST" ]; then
		cp "$TMP/off.conf" "$CONF"
		daemon_start
		S="$S $(run_iperf)"
		slow_q=$(ctl_counter queue_received)
		daemon_stop
	fi
	echo "round $r done" >&2
done

gbps() { awk -v b="$1" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }'; }
echo "throughput (one stream, $T s, median of $R interleaved rounds), $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  runs (bit/s): iperf3 plain$P; reverse$PR"
echo "                kernel SYNPROXY$K; reverse$KR"
echo "                fastpath$F; reverse$FR"
[ -z "$AB" ] || echo "                fastpath AB$A; reverse$AR"
[ -n "$FAST" ] || echo "                userspace$S"
[ -n "$FAST" ] || echo "                bulk plain$B0; first connection$B1; fourth$B2"
echo "  iperf3, plain forwarding:     $(gbps "$(median $P)"), reverse $(gbps "$(median $PR)")"
echo "  iperf3, kernel SYNPROXY:      $(gbps "$(median $K)"), reverse $(gbps "$(median $KR)")  ratio to plain $(ratios "$K" "$P"), reverse $(ratios "$KR" "$PR")"
echo "  iperf3, synproxyd fastpath:   $(gbps "$(median $F)"), reverse $(gbps "$(median $FR)")  ratio to plain $(ratios "$F" "$P"), reverse $(ratios "$FR" "$PR")  (last run: offloaded $fast_ok, queued packets $fast_q)"
[ -z "$AB" ] || echo "  iperf3, fastpath of AB:       $(gbps "$(median $A)"), reverse $(gbps "$(median $AR)")  ratio to plain $(ratios "$A" "$P"), reverse $(ratios "$AR" "$PR")"
echo "  fastpath / kernel SYNPROXY:   $(ratios "$F" "$K"), reverse $(ratios "$FR" "$KR")  (median of per-round ratios, min to max)"
[ -z "$AB" ] || echo "  AB / kernel SYNPROXY:         $(ratios "$A" "$K"), reverse $(ratios "$AR" "$KR")"
[ -z "$AB" ] || echo "  fastpath / AB:                $(ratios "$F" "$A"), reverse $(ratios "$FR" "$AR")"
if [ -z "$FAST" ]; then
	echo "  iperf3, synproxyd userspace:  $(gbps "$(median $S)")  ratio to plain $(ratios "$S" "$P")  (last run: queued packets $slow_q)"
	echo "  bulk, plain forwarding:       $(gbps "$(median $B0)")"
	echo "  bulk, first connection:       $(gbps "$(median $B1)")  ratio $(ratios "$B1" "$B0")  (last run: rescaled $first_rescaled, offloaded $first_ok)"
	echo "  bulk, fourth connection:      $(gbps "$(median $B2)")  ratio $(ratios "$B2" "$B0")  (last run: offloaded $second_ok)"
fi
lab_finish
