# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the XDP stage in the lab (sourced after lib.sh): the far
# ends of the links the stage answers on, full-speed floods from trafgen,
# and packet counters on the backend.
#
# A veth hands the frames an XDP program sends back (XDP_TX) to its other
# end only when that end runs NAPI; an XDP program there turns it on
# (tests/live/xdp_pass.bpf.o, which passes everything).  A physical NIC
# needs nothing of the kind.

XDP_PASS_OBJ=${XDP_PASS_OBJ:-$top_builddir/tests/live/xdp_pass.bpf.o}

# xdp_peer NS IF: the pass program on IF in NS (native mode).
xdp_peer() {
	[ -f "$XDP_PASS_OBJ" ] || fail "$XDP_PASS_OBJ not built (make check builds it)"
	ip -n "$1" link set dev "$2" xdpdrv obj "$XDP_PASS_OBJ" sec xdp ||
		fail "XDP pass program on $1/$2"
}

# True when the XDP stage is attached to IF in NS.
xdp_attached() {	# NS IF
	ip -n "$1" -d link show "$2" | grep -q 'prog/xdp.*synproxy_xdp'
}

# mac_bytes NS IF: the interface's MAC as trafgen bytes (0x02, 0x1a, ...).
mac_bytes() {
	ip netns exec "$1" cat "/sys/class/net/$2/address" | sed 's/^/0x/; s/:/, 0x/g'
}

# flood_cfg FILE KIND DSTMAC SRCMAC DST4 PORT: a trafgen packet from a
# random source in 198.18.0.0/15 (random port) to DST4:PORT.  KIND syn: a
# SYN with MSS 1460, SACK, timestamps (random TSval) and window scale 7;
# ack: an ACK with random sequence and acknowledgement numbers (cookie
# forgeries).  Checksums are computed by trafgen for each packet.
flood_cfg() {
	f=$1 kind=$2 dmac=$3 smac=$4 dst=$5 port=$6
	d4=$(echo "$dst" | tr . ,)
	if [ "$kind" = syn ]; then
		cat >"$f" <<CFG
{
  $dmac, $smac, 0x08, 0x00,
  0x45, 0x00, const16(60), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  198, dinc(18, 19), drnd(2), $d4,
  drnd(2), const16($port), drnd(4), const32(0), 0xa0, 0x02, const16(64240),
  csumtcp(14, 34), const16(0),
  0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, drnd(4), const32(0),
  0x01, 0x03, 0x03, 0x07,
}
CFG
	else
		cat >"$f" <<CFG
{
  $dmac, $smac, 0x08, 0x00,
  0x45, 0x00, const16(40), drnd(2), 0x40, 0x00, 64, 6, csumip(14, 33),
  198, dinc(18, 19), drnd(2), $d4,
  drnd(2), const16($port), drnd(4), drnd(4), 0x50, 0x10, const16(64240),
  csumtcp(14, 34), const16(0),
}
CFG
	fi
}

# flood NS IF CFG COUNT: trafgen at full speed on one CPU (several trafgen
# processes in a namespace lose packets: it cannot raise its socket send
# buffer there), bounded by COUNT packets and 120 s.  Sets FLOOD_SECS.
flood() {
	t0=$(date +%s.%N)
	ip netns exec "$1" timeout 120 trafgen -i "$3" -o "$2" -n "$4" --cpus 1 -q \
		>"$TMP/trafgen.log" 2>&1 || fail "trafgen: $(tail -n 3 "$TMP/trafgen.log")"
	FLOOD_SECS=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')
}

# count_rule_add NS NAME MATCH...: an iptables rule at the head of INPUT in
# NS that only counts the packets MATCH selects (comment NAME).
count_rule_add() {
	ns=$1 name=$2
	shift 2
	ip netns exec "$ns" iptables -I INPUT 1 -p tcp "$@" -m comment --comment "$name" ||
		fail "counting rule $name"
}

# count_rule NS NAME: packets the counting rule NAME saw.
count_rule() {
	ip netns exec "$1" iptables -L INPUT -v -n -x |
		awk -v n="/* $2 */" 'index($0, n) { print $1; found = 1 } END { if (!found) print -1 }'
}

# ifstat_rx NS IF: packets received on IF.
ifstat_rx() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"
}
