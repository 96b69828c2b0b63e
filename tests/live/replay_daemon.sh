#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Crafted clients through the REAL daemon (gateway mode), the real Linux
# stack with redis-server as the backend.  scapy in the client namespace
# sends (a) a Linux-like SYN (MSS, SACK, TS, wscale 7), (b) a Windows-like
# one (MSS, NOP, wscale 8, SACK, no TS), (c) MSS only, (d) no options, in
# IPv4 and (f) IPv6; checks that the SYN-ACK carries the options the config
# fixes (MSS 1400, wscale 6) and only those the client offered, completes the
# handshake and gets +PONG to a redis PING with consistent seq/ack/TS
# (scapy_client.py).  The backend-side capture must show the backend's SYN
# with the client's own ISN and options.  (e) an ACK with a wrong ack number
# and a forged ACK: no SYN at the backend, ack_invalid and cookie_invalid grow.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server

lab_gateway
start_redis "$SRV"
# The client kernel knows nothing of scapy's connections: keep it from
# resetting the proxy's SYN-ACKs.
in_ns "$CLI" iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
in_ns "$CLI" ip6tables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
SOCK="$TMP/ctl/control.sock"
CONF="$TMP/synproxyd.conf"
override rules "fixed options (MSS 1400, wscale 6, SACK, timestamps): this test checks that a SYN-ACK carries the options a rule fixes and only those the client offered; rules without options (\"auto\") run in apps, flood, replay_pcaps and shipped"
cat >"$CONF" <<CONF
mode = "gateway";
control_socket = "$SOCK";
state_file = "$TMP/state";
rules = (
	{ name = "v4"; dst = "$BACKEND4"; ports = [ 6379 ]; mss = 1400; wscale = 6;
	  sack = true; timestamps = true; },
	{ name = "v6"; dst = "$BACKEND6"; ports = [ 6379 ]; mss = 1400; wscale = 6;
	  sack = true; timestamps = true; }
);
CONF
daemon_start
cap_start back "$SRV" s0 "$SYN_FILTER"

# The options each case's SYN carries, normalised by norm_opts: the order
# of the options, the padding NOPs and the TS value (the proxy sends the
# TSval of the client's latest segment) are free; an absent MSS means 536
# (RFC 9293 3.7.1), so "mss 536" is the same thing.
want_opts() {
	case $1 in
	linux) echo "mss=1460 sack=1 ts=1 ws=7" ;;
	windows) echo "mss=1460 sack=1 ts=0 ws=8" ;;
	mss) echo "mss=1400 sack=0 ts=0 ws=none" ;;
	none) echo "mss=536 sack=0 ts=0 ws=none" ;;
	esac
}
norm_opts() {	# tcpdump's option text on stdin
	awk -F, '{
		mss = 536; sack = 0; ts = 0; ws = "none"
		for (i = 1; i <= NF; i++) {
			split($i, w, " ")
			if (w[1] == "mss") mss = w[2]
			else if (w[1] == "sackOK") sack = 1
			else if (w[1] == "TS") ts = (w[5] == 0) ? 1 : "ecr-not-0"
			else if (w[1] == "wscale") ws = w[2]
		}
		printf "mss=%s sack=%s ts=%s ws=%s\n", mss, sack, ts, ws
	}'
}

sport=41000
for addr in "$BACKEND4" "$BACKEND6"; do
	for c in linux windows mss none; do
		sport=$((sport + 1))
		out=$(in_ns "$CLI" env EXPECT_MSS=1400 EXPECT_WSCALE=6 timeout 30 "$PY" \
			"$LIVE_DIR/scapy_client.py" handshake "$c" "$addr" 6379 "$sport" 2>&1)
		echo "$addr $c: $out"
		case $out in
		*pong_ok=1*) echo "ok: $c handshake and PING/PONG via $addr" ;;
		*) echo "NOT OK: $c handshake via $addr"; LAB_FAILED=$((LAB_FAILED + 1)) ;;
		esac
		isn=$(echo "$out" | sed -n 's/.*isn=\([0-9]*\).*/\1/p')
		eval "ISN_$sport=\$isn CASE_$sport=$c"
	done
done
sport=41100
bad0=$(ctl_counter ack_invalid)
cook0=$(ctl_counter cookie_invalid)
for addr in "$BACKEND4" "$BACKEND6"; do
	sport=$((sport + 10))
	check "bad ACKs sent to $addr" in_ns "$CLI" timeout 20 "$PY" \
		"$LIVE_DIR/scapy_client.py" bad-ack "$addr" 6379 "$sport"
done
sleep 1
cap_stop back
ctl_show syn_received synack_sent syncache_hit ack_invalid cookie_invalid backend_syn_sent \
	flows_created

# The backend's SYNs: one per completed handshake, with the client's ISN
# and options.
for sp in $(seq 41001 41008); do
	eval "isn=\$ISN_$sp c=\$CASE_$sp"
	line=$(tcpdump -r "$TMP/back.pcap" -n "tcp src port $sp" 2>/dev/null)
	n=$(echo "$line" | grep -c 'Flags \[S\]')
	check_eq "backend SYNs for sport $sp ($c)" "$n" 1
	seq=$(echo "$line" | sed -n 's/.*Flags \[S\], seq \([0-9]*\),.*/\1/p' | head -n 1)
	check_eq "backend SYN (sport $sp) carries the client ISN" "$seq" "${isn:-none}"
	raw=$(echo "$line" | grep 'Flags \[S\]' | head -n 1 |
		sed -n 's/.*options \[\(.*\)\], length.*/\1/p')
	opts=$(echo "$raw" | norm_opts)
	check_eq "backend SYN (sport $sp) carries the client's options" "$opts" "$(want_opts "$c")"
done
for sp in 41110 41111 41120 41121; do
	check_eq "no backend SYN for the bad ACK (sport $sp)" \
		"$(cap_count back "tcp src port $sp")" 0
done
check_ge "ack_invalid grew" "$(ctl_counter ack_invalid)" $((bad0 + 2))
check_ge "cookie_invalid grew" "$(ctl_counter cookie_invalid)" $((cook0 + 2))
check_eq "backend SYNs == backend_syn_sent" "$(cap_count back)" "$(ctl_counter backend_syn_sent)"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
