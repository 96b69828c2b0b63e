#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Floods against the XDP stage, the queue alone and the kernel's SYNPROXY
# target, in one run on the live tests' gateway lab (tests/live/lib.sh):
# spoofed SYNs and ACKs from 198.18.0.0/15 come from the flood namespace
# over f0 -> g2, real clients from the client namespace over c0 -> g0,
# the backend runs redis-server (6379) and bench/conn.c's server (8080).
#
#   SYN flood     N spoofed SYNs (MSS, SACK, timestamps, window scale) at
#                 trafgen's full speed on one CPU, ROUNDS times per row,
#                 rows interleaved: the kernel's SYNPROXY target, synproxyd
#                 with the XDP stage as configured with only its
#                 interfaces (answer "overload"), synproxyd with the stage
#                 answering always, synproxyd without the stage (the
#                 shipped default).  Every row counts the same things:
#                 SYN-ACKs on the wire (received by the flooder's f0),
#                 their rate from the first SYN to the last answer, the
#                 share of SYNs answered, and spoofed SYNs that reached the
#                 backend (an iptables rule there).  Medians of the rounds,
#                 and the ratio of each row's rate to the kernel's.
#   two queues    the same with two trafgen processes on the flood link's
#                 two queues, for the kernel target and the stage (sent is
#                 counted on the link: a process that fails to flush its
#                 ring in a namespace sends less, and the share shows it).
#   ACK flood     N random spoofed ACKs at full speed with the stage:
#                 ACKs at the backend, redis-cli ping every 0.2 s (all must
#                 be PONG), synproxyctl stats' answer time during it.
#   connections   1000 real connections (8 in parallel) during a full-speed
#                 SYN flood, with the stage and with the kernel target:
#                 completed, p50/p99 connect time.
#   AB=BINARY     only the stage's SYN rate, this build against BINARY
#                 (see below).
# Root; every flood is bounded in count and time; everything is removed
# at exit.  Figures go to bench/README.md.
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$BENCH_DIR/..}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/xdp_lib.sh"
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
PORTS="6379, 8080"

lab_init trafgen redis-server redis-cli
lab_gateway
# The flood link, with two queues each way (as a NIC's) so that two
# generator processes spread the work; XDP on a veth runs in the sender's
# system call, on the sender's CPU.
FLD="$P-fld"
ns_add "$FLD"
ip link add f0 netns "$FLD" numtxqueues 2 numrxqueues 2 type veth peer name g2 netns "$GW" \
	numtxqueues 2 numrxqueues 2 || fail "veth flood"
ip -n "$FLD" addr add 198.51.100.2/24 dev f0
ip -n "$GW" addr add 198.51.100.1/24 dev g2
ip -n "$FLD" link set f0 up
ip -n "$GW" link set g2 up
ip -n "$FLD" route add default via 198.51.100.1
ip -n "$GW" route add 198.18.0.0/15 via 198.51.100.2
# One transmit queue per CPU (XPS), so that each trafgen process feeds the
# receive queue of its own CPU.
ip netns exec "$FLD" sh -c 'echo 1 >/sys/class/net/f0/queues/tx-0/xps_cpus &&
	echo 2 >/sys/class/net/f0/queues/tx-1/xps_cpus' || fail "XPS on f0"
xdp_peer "$CLI" c0
xdp_peer "$FLD" f0
start_redis "$SRV" 900
gcc -O2 -o "$TMP/conn" "$BENCH_DIR/conn.c" || fail "building conn"
in_ns "$CLI" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
bg_ns "$SRV" timeout 900 "$TMP/conn" server 203.0.113.2 8080
count_rule_add "$SRV" spoofed -s 198.18.0.0/15
DMAC=$(mac_bytes "$GW" g2)
SMAC=$(mac_bytes "$FLD" f0)
flood_cfg "$TMP/syn.cfg" syn "$DMAC" "$SMAC" "$BACKEND4" 8080
flood_cfg "$TMP/ack.cfg" ack "$DMAC" "$SMAC" "$BACKEND4" 6379

rx() { ifstat_rx "$FLD" f0; }
tx() { ip netns exec "$FLD" cat /sys/class/net/f0/statistics/tx_packets; }
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

kernel_on() {
	ip netns exec "$GW" iptables-restore --noflush <<'RULES' || fail "kernel SYNPROXY rules"
*raw
-A PREROUTING -i g0 -p tcp -m tcp --syn -j CT --notrack
-A PREROUTING -i g2 -p tcp -m tcp --syn -j CT --notrack
COMMIT
*filter
-A FORWARD -i g0 -p tcp -m tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -i g2 -p tcp -m tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -i g0 -p tcp -m conntrack --ctstate INVALID -j DROP
-A FORWARD -i g2 -p tcp -m conntrack --ctstate INVALID -j DROP
COMMIT
RULES
}
kernel_off() {
	ip netns exec "$GW" iptables -t raw -F PREROUTING
	ip netns exec "$GW" iptables -F FORWARD
	ip netns exec "$GW" conntrack -F >/dev/null 2>&1
}
sp_on() {	# the xdp group (empty: none)
	write_conf "$1"
	daemon_start
}
sp_off() {
	daemon_stop
}

# syn_round CPUS: one SYN flood of N; prints "sent wire seconds spoofed
# unique".  The window is the flood's: from trafgen's start to 0.1 s after
# it ends (answers the kernel had queued still count, the SYN cache's
# retransmissions a second and more later mostly do not).  wire: SYN-ACKs
# the flooder received in the window; unique: SYNs answered at least once,
# from the counters (synproxyd: xdp_syn_answered + syncache_added +
# cookie_sent; the kernel target answers each once, so its wire count).
syn_round() {
	ip netns exec "$SRV" iptables -Z INPUT
	u0=$(uniq_answers)
	rx0=$(rx) tx0=$(tx)
	t0=$(now)
	ip netns exec "$FLD" timeout 120 trafgen -i "$TMP/syn.cfg" -o f0 -n "$N" --cpus "$1" -q \
		>"$TMP/trafgen.log" 2>&1
	sleep 0.1
	t1=$(now)
	wire=$((  $(rx) - rx0 ))
	sleep 1
	u1=$(uniq_answers)
	[ -n "$u0" ] || u0=0 u1=$wire
	echo "$(($(tx) - tx0)) $wire $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')" \
		"$(count_rule "$SRV" spoofed) $((u1 - u0))"
}

# SYNs synproxyd answered once (empty when no daemon runs).
uniq_answers() {
	[ -n "$DPID" ] || return 0
	ctl stats | awk '$1 ~ /^(xdp_syn_answered|syncache_added|cookie_sent)$/ { n += $2 }
		END { print n + 0 }'
}

# row CPUS NAME: one SYN flood, its figures appended to $TMP/NAME.
row() {
	name=$2
	set -- $(syn_round "$1")
	echo "$1 $2 $3 $4 $5" >>"$TMP/$name"
	echo "  $name: sent $1, SYN-ACKs $2 in $3 s ($(awk -v n="$2" -v t="$3" \
		'BEGIN { printf "%.0f", n / t }')/s), answered $5, spoofed SYNs at the backend $4" >&2
}

override xdp "the XDP stage is what this bench measures (the example leaves it off)"
XDP_OVERLOAD='xdp = { interfaces = [ "g0", "g2" ]; };'
XDP_ALWAYS='xdp = { interfaces = [ "g0", "g2" ]; answer = "always"; };'

# AB=<another synproxyd binary> (its stage is built into it): only the
# stage answering always, ROUNDS times (default 3) for each binary,
# alternating, then the median of the per-round rate ratios (this tree's
# build / AB).  For a change to the stage's per-SYN work.
if [ -n "${AB:-}" ]; then
	[ -x "$AB" ] || fail "AB=$AB is not an executable"
	this=$SYNPROXYD
	r=0
	: >"$TMP/ab"
	while [ $r -lt "$ROUNDS" ]; do
		SYNPROXYD=$AB
		sp_on "$XDP_ALWAYS"; row 1 ab_always; sp_off
		SYNPROXYD=$this
		sp_on "$XDP_ALWAYS"; row 1 xdp_always; sp_off
		a_r=$(tail -n 1 "$TMP/ab_always" | awk '{ printf "%.0f", $2 / $3 }')
		b_r=$(tail -n 1 "$TMP/xdp_always" | awk '{ printf "%.0f", $2 / $3 }')
		echo "  round $((r + 1)): AB $a_r/s, this build $b_r/s, ratio $(ratio "$b_r" "$a_r")"
		echo "$(ratio "$b_r" "$a_r")" >>"$TMP/ab"
		r=$((r + 1))
	done
	echo "XDP stage A/B (answer always): $N spoofed SYNs, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
	echo "  this build / AB, median of $ROUNDS rounds: $(median <"$TMP/ab")"
	lab_finish
fi

r=0
while [ $r -lt "$ROUNDS" ]; do
	echo "round $((r + 1))" >&2
	kernel_on; row 1 kernel; kernel_off
	sp_on "$XDP_OVERLOAD"; row 1 xdp; sp_off
	sp_on "$XDP_ALWAYS"; row 1 xdp_always; sp_off
	sp_on ""; row 1 queue; sp_off
	kernel_on; row 2 kernel2; kernel_off
	sp_on "$XDP_OVERLOAD"; row 2 xdp2; sp_off
	r=$((r + 1))
done

# Medians of a row's rate, share answered and spoofed SYNs at the backend.
summary() {
	rate=$(awk '{ printf "%.0f\n", $2 / $3 }' "$TMP/$1" | median)
	share=$(awk '{ printf "%.4f\n", $5 / $1 }' "$TMP/$1" | median)
	leak=$(awk '{ print $4 }' "$TMP/$1" | sort -n | tail -n 1)
	echo "$rate $share $leak"
}

# ---- ACK flood with the stage ---------------------------------------------
sp_on "$XDP_OVERLOAD"
ip netns exec "$SRV" iptables -Z INPUT
ip netns exec "$CLI" timeout 100 sh -c '
	while [ ! -e '"$TMP"'/acks.done ]; do
		timeout 3 redis-cli -h 203.0.113.2 ping 2>&1 | head -n 1
		sleep 0.2
	done' >"$TMP/pings" &
PINGS=$!
sleep 0.5
t0=$(now)
ip netns exec "$FLD" timeout 120 trafgen -i "$TMP/ack.cfg" -o f0 -n "$N" --cpus 1 -q >/dev/null 2>&1 &
APID=$!
sleep 0.3
s0=$(now)
ctl stats >"$TMP/ack.stats"
s1=$(now)
wait "$APID"
ack_secs=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
touch "$TMP/acks.done"
wait "$PINGS"
ack_backend=$(count_rule "$SRV" spoofed)
cnt_stats=$(ctl stats)
ack_dropped=$(echo "$cnt_stats" | awk '$1 == "xdp_ack_dropped" { print $2 }')
pings=$(wc -l <"$TMP/pings")
pongs=$(grep -c '^PONG$' "$TMP/pings")
stats_ms=$(awk -v a="$s1" -v b="$s0" 'BEGIN { printf "%.0f", (a - b) * 1000 }')
sp_off

# ---- 1000 connections during a full-speed SYN flood -----------------------
conns() {
	ip netns exec "$FLD" timeout 120 trafgen -i "$TMP/syn.cfg" -o f0 -n 100000000 --cpus 1 -q \
		>/dev/null 2>&1 &
	fp=$!
	sleep 0.5
	ip netns exec "$CLI" timeout 110 "$TMP/conn" client 203.0.113.2 8080 1000 8
	kill "$fp" 2>/dev/null
	wait "$fp" 2>/dev/null
}
sp_on "$XDP_OVERLOAD"
conn_xdp=$(conns)
sp_off
kernel_on
conn_kernel=$(conns)
kernel_off

set -- $(summary kernel)
k_rate=$1 k_share=$2 k_leak=$3
echo "XDP stage floods: $N spoofed SYNs per round, $ROUNDS rounds (medians), trafgen on one CPU, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
printf '  %-34s %10s %8s %8s %10s\n' row "SYN-ACK/s" answered "x kernel" "at backend"
for row in kernel xdp xdp_always queue; do
	set -- $(summary "$row")
	case $row in
	kernel) name="kernel SYNPROXY target" ;;
	xdp) name="synproxyd + XDP (answer overload)" ;;
	xdp_always) name="synproxyd + XDP (answer always)" ;;
	queue) name="synproxyd, no xdp (shipped default)" ;;
	esac
	printf '  %-34s %10s %7.1f%% %8s %10s\n' "$name" "$1" "$(awk -v s="$2" 'BEGIN { print s * 100 }')" \
		"$(ratio "$1" "$k_rate")" "$3"
done
set -- $(summary kernel2)
k2=$1
printf '  two queues, two trafgen processes:\n'
printf '  %-34s %10s %7.1f%% %8s %10s\n' "kernel SYNPROXY target" "$1" "$(awk -v s="$2" 'BEGIN { print s * 100 }')" 1.00 "$3"
set -- $(summary xdp2)
printf '  %-34s %10s %7.1f%% %8s %10s\n' "synproxyd + XDP (answer overload)" "$1" "$(awk -v s="$2" 'BEGIN { print s * 100 }')" "$(ratio "$1" "$k2")" "$3"
echo "  ACK flood, $N random spoofed ACKs in $ack_secs s with the stage: $ack_dropped dropped by it," \
	"$ack_backend at the backend; redis-cli ping $pongs PONG of $pings; stats answered in $stats_ms ms"
echo "  1000 connections during a full-speed SYN flood:"
echo "    synproxyd + XDP:       $conn_xdp"
echo "    kernel SYNPROXY:       $conn_kernel"
lab_finish
