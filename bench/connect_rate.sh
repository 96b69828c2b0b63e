#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Connection rate: N short connections (connect, 4-byte request, 3-byte
# answer, close) over PAR client processes to a server on port 8080,
# through the gateway with: plain forwarding, synproxyd (fastpath auto),
# the kernel's SYNPROXY target.  Then again for synproxyd and the kernel
# SYNPROXY while FLOOD_PPS spoofed SYNs per second hit the same port
# (N_FLOOD connections): the share of real connections that complete must
# stay 100%.  Every run is bounded (120 s); a run cut short prints nothing.
. "$(dirname "$0")/lib.sh"
command -v trafgen >/dev/null || die "trafgen missing (netsniff-ng; scripts/install-deps)"
N=${N:-5000}
PAR=${PAR:-8}
FLOOD_PPS=${FLOOD_PPS:-10000}
N_FLOOD=${N_FLOOD:-1000}

bench_net
syn_cfg
gcc -O2 -o "$TMP/conn" "$BENCH_DIR/conn.c" || die "building conn"
ip netns exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
bg ip netns exec "$SRV" timeout 600 "$TMP/conn" server 203.0.113.2 8080
sleep 0.3

# Prints the client's "ok .. fail .. seconds .. rate .." line.
run() {
	ip netns exec "$CLI" timeout 120 "$TMP/conn" client 203.0.113.2 8080 "${1:-$N}" "$PAR"
}
# run under a flood of FLOOD_PPS spoofed SYNs lasting as long as the run.
run_flooded() {
	ip netns exec "$CLI" timeout 120 trafgen -i "$TMP/syn.cfg" -o c0 -b "${FLOOD_PPS}pps" \
		-q >/dev/null 2>&1 &
	fpid=$!
	sleep 1
	run "$N_FLOOD"
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
}
field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

plain=$(run)
echo "plain: $plain" >&2
bench_conf auto
bench_daemon_start
sp=$(run)
echo "synproxyd: $sp" >&2
sp_flood=$(run_flooded)
echo "synproxyd flooded: $sp_flood" >&2
bench_daemon_stop
ip netns exec "$GW" conntrack -F 2>/dev/null
kernel_synproxy_on
k=$(run)
echo "kernel: $k" >&2
k_flood=$(run_flooded)
kernel_synproxy_off

echo "connect rate: $N connections, $PAR in parallel, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  plain forwarding:  $plain"
echo "  synproxyd:         $sp  ratio to plain $(ratio "$(field "$sp" rate)" "$(field "$plain" rate)")"
echo "  kernel SYNPROXY:   $k  ratio to plain $(ratio "$(field "$k" rate)" "$(field "$plain" rate)")"
echo "  synproxyd/kernel:  $(ratio "$(field "$sp" rate)" "$(field "$k" rate)")"
echo "  $N_FLOOD connections under a flood of $FLOOD_PPS spoofed SYN/s:"
echo "    synproxyd:       $sp_flood  completed $(ratio "$(field "$sp_flood" ok)" "$N_FLOOD")"
echo "    kernel SYNPROXY: $k_flood  completed $(ratio "$(field "$k_flood" ok)" "$N_FLOOD")"
