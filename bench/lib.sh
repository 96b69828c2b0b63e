# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the bench scripts (sourced).  The lab is the live tests' own
# (tests/live/lib.sh): client, gateway and server namespaces with a unique
# prefix, the flood namespace (198.18.0.0/15 routed to it), the daemon's
# start and stop with its checks, and the removal of everything on any
# exit.  What only the benchmarks need follows: trafgen's spoofed SYN,
# interface counters, the kernel's SYNPROXY target, ratios.
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
top_srcdir=${top_srcdir:-$TOP}
top_builddir=${top_builddir:-$TOP}
. "$top_srcdir/tests/live/lib.sh"

die() {
	fail "$(basename "$0"): $*"
}

# bench_net [TOOL...]: lab_init (with the tools named), the gateway layout
# and the flood namespace.  Real clients connect from CLI (192.0.2.10);
# floods leave FLD on f0 and reach the gateway on g2, where its answers go
# back out.
bench_net() {
	lab_init "$@"
	lab_gateway
	lab_flood_ns
	# The backend's own answers to spoofed sources, and the spoofed SYNs
	# that reach it: counting rules (no target) in its namespace.
	in_ns "$SRV" iptables -A INPUT -s 198.18.0.0/15 -p tcp --syn || die "counting rule"
	in_ns "$SRV" iptables -A OUTPUT -d 198.18.0.0/15 || die "counting rule"
	# A permanent neighbour entry for the flood link, so that no ARP
	# packet of the gateway's lands among the SYN-ACKs counted on g2.
	ip -n "$GW" neigh replace 198.51.100.2 lladdr "$(ns_mac "$FLD" f0)" dev g2 nud permanent ||
		die "neighbour entry"
}

# bench_conf FASTPATH [EXTRA]: a gateway config proxying ports 5201 and
# 8080 of the server (write_conf; overrides must be declared).
bench_conf() {
	PORTS="5201, 8080"
	write_conf "fastpath = \"$1\";
${2:-}"
}

# Packets counter of an interface in a namespace.
ifstat() {	# NS IF COUNTER
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# Packets the counting rule of CHAIN in the server's namespace has seen:
# INPUT spoofed SYNs that reached the backend, OUTPUT the backend's own
# packets to spoofed sources.
srv_count() {	# CHAIN
	in_ns "$SRV" iptables -nvxL "$1" | awk '$0 ~ /198\.18\.0\.0\/15/ { n += $1 } END { print n + 0 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}

rate() {
	awk -v n="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }'
}

# The kernel's own SYNPROXY target in the gateway, per the kernel's
# documentation, for the benchmark's ports (8080 unless PORTs are named):
# SYNs untracked, INVALID/UNTRACKED handled by SYNPROXY, remaining INVALID
# dropped, loose pickup off (lab_gateway).
kernel_synproxy_on() {	# [PORT...]
	[ $# -gt 0 ] || set -- 8080
	{
		echo '*raw'
		for p in "$@"; do
			echo "-A PREROUTING -d 203.0.113.2 -p tcp -m tcp --dport $p --syn -j CT --notrack"
		done
		echo COMMIT
		echo '*filter'
		for p in "$@"; do
			echo "-A FORWARD -d 203.0.113.2 -p tcp -m tcp --dport $p -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460"
			echo "-A FORWARD -d 203.0.113.2 -p tcp -m tcp --dport $p -m conntrack --ctstate INVALID -j DROP"
		done
		echo COMMIT
	} | ip netns exec "$GW" iptables-restore --noflush || die "kernel SYNPROXY rules"
}

kernel_synproxy_off() {
	ip netns exec "$GW" iptables -t raw -F PREROUTING
	ip netns exec "$GW" iptables -F FORWARD
}

# Writes $TMP/syn.cfg, a trafgen packet: a SYN from a random source in
# 198.18.0.0/15 (random port, ISN and TSval) to 203.0.113.2:8080 with MSS
# 1460, SACK, timestamps and window scale 7, sent from the flood
# namespace (f0) to the gateway (g2).
syn_cfg() {
	gwmac=$(ip netns exec "$GW" cat /sys/class/net/g2/address)
	fldmac=$(ip netns exec "$FLD" cat /sys/class/net/f0/address)
	cat >"$TMP/syn.cfg" <<CFG
{
  $(echo "$gwmac" | sed 's/^/0x/; s/:/, 0x/g'), $(echo "$fldmac" | sed 's/^/0x/; s/:/, 0x/g'), 0x08, 0x00,
  0x45, 0x00, const16(60), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  198, dinc(18, 19), drnd(2), 203, 0, 113, 2,
  drnd(2), const16(8080), drnd(4), const32(0), 0xa0, 0x02, const16(64240),
  csumtcp(14, 34), const16(0),
  0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, drnd(4), const32(0),
  0x01, 0x03, 0x03, 0x07,
}
CFG
}
