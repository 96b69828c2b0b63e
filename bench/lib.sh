# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the bench scripts (sourced): a client, a gateway and a server
# namespace as in tests/live (192.0.2.10 -> gw 192.0.2.1 | 203.0.113.1 ->
# 203.0.113.2), the daemon's start and stop, and cleanup on exit.  Every
# script builds its own namespaces (unique prefix) and removes them.
set -u

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
SYNPROXYD=${SYNPROXYD:-$TOP/src/daemon/synproxyd}
SYNPROXYCTL=${SYNPROXYCTL:-$TOP/src/tools/synproxyctl}

if [ "$(id -u)" != 0 ]; then
	echo "$(basename "$0"): needs root" >&2
	exit 77
fi
if [ ! -x "$SYNPROXYD" ]; then
	echo "$(basename "$0"): build first (./scripts/build: -O2)" >&2
	exit 1
fi
P="spb$$"
CLI="$P-cli"
GW="$P-gw"
SRV="$P-srv"
TMP=$(mktemp -d /tmp/spd-bench.XXXXXX) || exit 1
SOCK="$TMP/ctl/control.sock"
BG_PIDS=""
DPID=""

bench_cleanup() {
	bench_daemon_stop
	for p in $BG_PIDS; do
		kill "$p" 2>/dev/null
	done
	for ns in "$CLI" "$GW" "$SRV"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

die() {
	echo "$(basename "$0"): $*" >&2
	for f in "$TMP"/daemon*.log; do
		[ -f "$f" ] && tail -20 "$f" >&2
	done
	exit 1
}

# Runs a command in the background and remembers it for cleanup.
bg() {
	"$@" &
	BG_PIDS="$BG_PIDS $!"
}

bench_net() {
	ip netns add "$CLI" && ip netns add "$GW" && ip netns add "$SRV" || die "netns"
	ip link add c0 netns "$CLI" type veth peer name g0 netns "$GW" || die "veth"
	ip link add g1 netns "$GW" type veth peer name s0 netns "$SRV" || die "veth"
	ip -n "$CLI" addr add 192.0.2.10/24 dev c0
	ip -n "$GW" addr add 192.0.2.1/24 dev g0
	ip -n "$GW" addr add 203.0.113.1/24 dev g1
	ip -n "$SRV" addr add 203.0.113.2/24 dev s0
	for ns in "$CLI" "$GW" "$SRV"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$CLI" link set c0 up
	ip -n "$GW" link set g0 up
	ip -n "$GW" link set g1 up
	ip -n "$SRV" link set s0 up
	ip -n "$CLI" route add default via 192.0.2.1
	ip -n "$SRV" route add default via 203.0.113.1
	ip netns exec "$GW" sysctl -qw net.ipv4.ip_forward=1
	# As synproxyd(8) recommends with the fast path (and the kernel's
	# SYNPROXY documentation for its target).
	ip netns exec "$GW" modprobe nf_conntrack 2>/dev/null
	ip netns exec "$GW" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ||
		die "nf_conntrack_tcp_loose"
	# Spoofed sources (198.18.0.0/15) are answered toward the client side.
	ip -n "$GW" route add 198.18.0.0/15 via 192.0.2.10
}

# bench_conf FASTPATH [EXTRA]: a gateway config proxying ports 5201 and
# 8080 of the server; the queue neither fails open nor bypasses, so what is
# measured is what the daemon itself handles.
bench_conf() {
	cat >"$TMP/synproxyd.conf" <<CONF
mode = "gateway";
fastpath = "$1";
queue = { fail_open = false; bypass = false; };
control_socket = "$SOCK";
logging = { level = "notice"; target = "stderr"; };
${2:-}
rules = (
	{ name = "bench"; dst = "203.0.113.2"; ports = [ 5201, 8080 ]; action = "proxy"; }
);
CONF
	"$SYNPROXYD" -c "$TMP/synproxyd.conf" -t || die "config"
}

NSTART=0
bench_daemon_start() {
	NSTART=$((NSTART + 1))
	rm -f "$SOCK"
	ip netns exec "$GW" "$SYNPROXYD" -c "$TMP/synproxyd.conf" --manage-rules \
		>"$TMP/daemon$NSTART.log" 2>&1 &
	DPID=$!
	i=0
	while [ ! -S "$SOCK" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && die "daemon did not start"
		kill -0 "$DPID" 2>/dev/null || die "daemon exited"
		sleep 0.1
	done
}

bench_daemon_stop() {
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	DPID=""
}

stat_of() {
	"$SYNPROXYCTL" -s "$SOCK" stats | awk -v n="$1" '$1 == n { print $2 }'
}

# The kernel's own SYNPROXY target in the gateway, per the kernel's
# documentation: SYNs untracked, INVALID/UNTRACKED handled by SYNPROXY,
# remaining INVALID dropped, loose pickup off.
kernel_synproxy_on() {
	ip netns exec "$GW" iptables-restore --noflush <<'RULES' || die "kernel SYNPROXY rules"
*raw
-A PREROUTING -i g0 -p tcp -m tcp --syn -j CT --notrack
COMMIT
*filter
-A FORWARD -i g0 -p tcp -m tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
-A FORWARD -i g0 -p tcp -m conntrack --ctstate INVALID -j DROP
COMMIT
RULES
}

kernel_synproxy_off() {
	ip netns exec "$GW" iptables -t raw -F PREROUTING
	ip netns exec "$GW" iptables -F FORWARD
}

# Packets counter of an interface in a namespace.
ifstat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'
}

# Writes $TMP/syn.cfg, a trafgen packet: a SYN from a random source in
# 198.18.0.0/15 (random port, ISN and TSval) to 203.0.113.2:8080 with MSS
# 1460, SACK, timestamps and window scale 7, sent from the client side.
syn_cfg() {
	gwmac=$(ip netns exec "$GW" cat /sys/class/net/g0/address)
	climac=$(ip netns exec "$CLI" cat /sys/class/net/c0/address)
	cat >"$TMP/syn.cfg" <<CFG
{
  $(echo "$gwmac" | sed 's/^/0x/; s/:/, 0x/g'), $(echo "$climac" | sed 's/^/0x/; s/:/, 0x/g'), 0x08, 0x00,
  0x45, 0x00, const16(60), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  198, dinc(18, 19), drnd(2), 203, 0, 113, 2,
  drnd(2), const16(8080), drnd(4), const32(0), 0xa0, 0x02, const16(64240),
  csumtcp(14, 34), const16(0),
  0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, drnd(4), const32(0),
  0x01, 0x03, 0x03, 0x07,
}
CFG
}
