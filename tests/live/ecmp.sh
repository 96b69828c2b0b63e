#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Equal-cost paths to the backend (root): the gateway reaches it over two
# links, g1 and g3, by a multipath route, and the backend answers over the
# one link that the gateway's route lookup for its address does not pick.
# A genuine reply must still count as coming from the backends' side: the
# daemon checks a server's packet against every next hop of the route
# (route.c, RTM_F_FIB_MATCH), not against the one path a lookup returns.
#  1. the precondition: the plain route lookup names the other link, so a
#     check against it alone would drop every reply (it did: the
#     connections below hung with server_wrong_side counting);
#  2. IPv4 and IPv6 connections through the daemon echo, the options are
#     learned from the backend's SYN-ACKs, server_wrong_side stays 0;
#  3. the negative control: a SYN-ACK forged from the clients' side is
#     still dropped as from the wrong side.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init

PORT=7000
lab_gateway
ip link add g3 netns "$GW" type veth peer name s3 netns "$SRV" || fail "veth second link"
ip -n "$GW" addr add 198.51.100.129/25 dev g3
ip -n "$GW" addr add 2001:db8:5::1/64 dev g3 nodad
ip -n "$SRV" addr add 198.51.100.130/25 dev s3
ip -n "$SRV" addr add 2001:db8:5::2/64 dev s3 nodad
ip -n "$GW" link set g3 up
ip -n "$SRV" link set s3 up
ip -n "$GW" route add "$BACKEND4/32" nexthop via "$BACKEND4" dev g1 \
	nexthop via 198.51.100.130 dev g3 || fail "multipath route"
ip -n "$GW" -6 route add "$BACKEND6/128" nexthop via "$BACKEND6" dev g1 \
	nexthop via 2001:db8:5::2 dev g3 || fail "multipath route (IPv6)"
# No reverse-path filter of the kernel's in the way: the daemon's check is
# the one under test.
in_ns "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.g3.rp_filter=0 \
	net.ipv4.conf.g1.rp_filter=0 || fail "rp_filter"

# 1. The backend answers over the link the gateway's lookup does not name.
dev_of() {	# FAMILY ADDR: the interface of the gateway's route lookup
	in_ns "$GW" ip "$1" route get "$2" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1
}
other() { [ "$1" = g1 ] && echo g3 || echo g1; }
d4=$(dev_of -4 "$BACKEND4") d6=$(dev_of -6 "$BACKEND6")
echo "the gateway's route lookup: $BACKEND4 via $d4, $BACKEND6 via $d6"
check "the IPv4 lookup names one of the two links" sh -c "[ '$d4' = g1 ] || [ '$d4' = g3 ]"
check "the IPv6 lookup names one of the two links" sh -c "[ '$d6' = g1 ] || [ '$d6' = g3 ]"
in_ns "$SRV" ip route del default
in_ns "$SRV" ip -6 route del default
if [ "$(other "$d4")" = g3 ]; then
	in_ns "$SRV" ip route add 192.0.2.0/24 via 198.51.100.129 dev s3
else
	in_ns "$SRV" ip route add 192.0.2.0/24 via 203.0.113.1 dev s0
fi
if [ "$(other "$d6")" = g3 ]; then
	in_ns "$SRV" ip -6 route add 2001:db8:1::/64 via 2001:db8:5::1 dev s3
else
	in_ns "$SRV" ip -6 route add 2001:db8:1::/64 via 2001:db8:2::1 dev s0
fi
echo "the backend answers over $(other "$d4") (IPv4) and $(other "$d6") (IPv6)"
check "the gateway knows both paths (IPv4)" sh -c \
	"ip netns exec '$GW' ip route get fibmatch '$BACKEND4' | grep -q 'dev g1' &&
	 ip netns exec '$GW' ip route get fibmatch '$BACKEND4' | grep -q 'dev g3'"

start_echo "$SRV" 120 $PORT
PORTS=$PORT
write_conf
daemon_start
cap_start back "$GW" "$(other "$d4")" "tcp and src port $PORT"

# 2. Connections through the daemon, both families.
echo_ok() {	# ADDR N: N connections, each echoing a line
	in_ns "$CLI" timeout 40 "$PY" -c '
import socket, sys
ok = 0
for i in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    c.sendall(b"ping %d\n" % i)
    if c.recv(100) == b"ping %d\n" % i:
        ok += 1
    c.close()
print(ok)
' "$1" $PORT "$2" 2>&1 | tail -n 1
}
cnt_snap a
check_eq "IPv4 connections echoed over the other path" "$(echo_ok "$BACKEND4" 8)" 8
check_eq "IPv6 connections echoed over the other path" "$(echo_ok "$BACKEND6" 8)" 8
cnt_snap b
cap_stop back
check_ge "the backend's replies came in over $(other "$d4") (capture)" \
	"$(cap_count back "tcp and src port $PORT")" 8
check_eq "no genuine reply taken for a forged one (server_wrong_side)" \
	"$(cnt_delta a b server_wrong_side)" 0
check_eq "backend handshakes" "$(cnt_delta a b backend_established)" 16
check_ge "options learned from the backend's SYN-ACKs" "$(ctl_counter options_learned)" 2

# 3. A SYN-ACK forged from the clients' side is still the wrong side.
GMAC=$(ns_mac "$GW" g0)
in_ns "$CLI" timeout 20 "$PY" -c '
import sys
from scapy.all import Ether, IP, TCP, sendp
sendp(Ether(dst=sys.argv[1]) / IP(src=sys.argv[2], dst=sys.argv[3]) /
      TCP(sport=int(sys.argv[4]), dport=40999, flags="SA", seq=1, ack=1),
      iface="c0", verbose=False)
' "$GMAC" "$BACKEND4" "$CLIENT4" $PORT || fail "forged SYN-ACK not sent"
sleep 0.3
cnt_snap c
check_eq "a SYN-ACK forged from the clients' side: server_wrong_side" \
	"$(cnt_delta b c server_wrong_side)" 1

daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
