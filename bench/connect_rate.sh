#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Connection rate: N short connections (connect, 4-byte request, 3-byte
# answer, close) over PAR client processes to a server on port 8080,
# through the gateway with: plain forwarding, synproxyd (fastpath auto),
# the kernel's SYNPROXY target.  Then again for synproxyd and the kernel
# SYNPROXY while trafgen sends spoofed SYNs at FLOOD_PPS per second from
# the flood namespace to the same port (N_FLOOD connections): the share of
# real connections that complete must stay 100%.  The flood's rate is
# reported as achieved: packets that left trafgen's interface and packets
# that reached the gateway, per second of the flood, beside the nominal
# FLOOD_PPS.  Every run is bounded (120 s); a run cut short prints nothing.
. "$(dirname "$0")/lib.sh"
N=${N:-5000}
PAR=${PAR:-8}
FLOOD_PPS=${FLOOD_PPS:-10000}
N_FLOOD=${N_FLOOD:-1000}

bench_net trafgen gcc conntrack
syn_cfg
gcc -O2 -o "$TMP/conn" "$BENCH_DIR/conn.c" || die "building conn"
ip netns exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
bg_ns "$SRV" timeout 600 "$TMP/conn" server 203.0.113.2 8080
wait_listen "$SRV" 8080

# Prints the client's "ok .. fail .. seconds .. rate .." line.
run() {
	ip netns exec "$CLI" timeout 120 "$TMP/conn" client 203.0.113.2 8080 "${1:-$N}" "$PAR"
}
# run under a flood of FLOOD_PPS spoofed SYNs lasting as long as the run;
# prints the client's line, then the flood's achieved rates.
run_flooded() {
	sent0=$(ifstat "$FLD" f0 tx_packets)
	got0=$(ifstat "$GW" g2 rx_packets)
	t0=$(date +%s.%N)
	ip netns exec "$FLD" timeout 120 trafgen -i "$TMP/syn.cfg" -o f0 -b "${FLOOD_PPS}pps" \
		-q >/dev/null 2>&1 &
	fpid=$!
	sleep 1
	run "$N_FLOOD"
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
	echo "flood $(( $(ifstat "$FLD" f0 tx_packets) - sent0 )) sent" \
		"$(( $(ifstat "$GW" g2 rx_packets) - got0 )) received $secs s"
}
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
# The flood line of run_flooded: "N/s sent, M/s reached the gateway".
flood_rates() {
	echo "$1" | awk '$1 == "flood" { printf "%.0f/s sent, %.0f/s reached the gateway", $2 / $6, $4 / $6 }'
}

plain=$(run)
echo "plain: $plain" >&2
bench_conf auto
daemon_start
sp=$(run)
echo "synproxyd: $sp" >&2
sp_flood=$(run_flooded)
echo "synproxyd flooded: $sp_flood" >&2
daemon_stop
ip netns exec "$GW" conntrack -F 2>/dev/null
kernel_synproxy_on
k=$(run)
echo "kernel: $k" >&2
k_flood=$(run_flooded)
kernel_synproxy_off

sp_fl=$(echo "$sp_flood" | head -n 1)
k_fl=$(echo "$k_flood" | head -n 1)
echo "connect rate: $N connections, $PAR in parallel, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  plain forwarding:  $plain"
echo "  synproxyd:         $sp  ratio to plain $(ratio "$(field "$sp" rate)" "$(field "$plain" rate)")"
echo "  kernel SYNPROXY:   $k  ratio to plain $(ratio "$(field "$k" rate)" "$(field "$plain" rate)")"
echo "  synproxyd/kernel:  $(ratio "$(field "$sp" rate)" "$(field "$k" rate)")"
echo "  $N_FLOOD connections under a spoofed SYN flood (trafgen -b ${FLOOD_PPS}pps):"
echo "    synproxyd:       $sp_fl  completed $(ratio "$(field "$sp_fl" ok)" "$N_FLOOD")"
echo "                     flood achieved: $(flood_rates "$(echo "$sp_flood" | tail -n 1)")"
echo "    kernel SYNPROXY: $k_fl  completed $(ratio "$(field "$k_fl" ok)" "$N_FLOOD")"
echo "                     flood achieved: $(flood_rates "$(echo "$k_flood" | tail -n 1)")"
lab_finish
