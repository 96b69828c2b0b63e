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
#  4. asymmetric routing (the gateway's route to the backend via g1 only,
#     the replies over g3): without server_interfaces every reply is
#     dropped as from the wrong side and no connection completes; with
#     server_interfaces = g1, g3 (a reload) every connection echoes, a
#     forged SYN-ACK from the clients' side is still dropped, and after
#     g3 is deleted and created again (a new index) connections still echo.
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
forge_synack() {	# DPORT: a SYN-ACK "from the backend" sent by the client to the gateway
	in_ns "$CLI" timeout 20 "$PY" -c '
import sys
from scapy.all import Ether, IP, TCP, sendp
sendp(Ether(dst=sys.argv[1]) / IP(src=sys.argv[2], dst=sys.argv[3]) /
      TCP(sport=int(sys.argv[4]), dport=int(sys.argv[5]), flags="SA", seq=1, ack=1),
      iface="c0", verbose=False)
' "$GMAC" "$BACKEND4" "$CLIENT4" $PORT "$1" || fail "forged SYN-ACK not sent"
	sleep 0.3
}
forge_synack 40999
cnt_snap c
check_eq "a SYN-ACK forged from the clients' side: server_wrong_side" \
	"$(cnt_delta b c server_wrong_side)" 1

# 4. Asymmetric routing: the gateway's route to the backend uses g1 only,
# the backend answers over g3.  A route check cannot tell those replies
# from forged ones; server_interfaces names the links facing the servers.
echo_count() {	# ADDR N: N connections, each echoing a line within 3 s; prints how many did
	in_ns "$CLI" timeout 60 "$PY" -c '
import socket, sys
ok = 0
for i in range(int(sys.argv[3])):
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
        c.sendall(b"ping %d\n" % i)
        if c.recv(100) == b"ping %d\n" % i:
            ok += 1
        c.close()
    except OSError:
        pass
print(ok)
' "$1" $PORT "$2" 2>&1 | tail -n 1
}
in_ns "$GW" ip route del "$BACKEND4/32"
in_ns "$GW" ip -6 route del "$BACKEND6/128"
in_ns "$SRV" ip route replace 192.0.2.0/24 via 198.51.100.129 dev s3
in_ns "$SRV" ip -6 route replace 2001:db8:1::/64 via 2001:db8:5::1 dev s3
echo "the gateway's routes: $(in_ns "$GW" ip route get "$BACKEND4" | head -n 1);" \
	"$(in_ns "$GW" ip -6 route get "$BACKEND6" | head -n 1)"
check "the gateway's route to the backend leaves by g1 only (IPv4)" sh -c \
	"ip netns exec '$GW' ip route get fibmatch '$BACKEND4' | grep -q 'dev g1' &&
	 ! ip netns exec '$GW' ip route get fibmatch '$BACKEND4' | grep -q 'dev g3'"
# 4a. Without server_interfaces (the default): the replies are dropped as
# coming from the wrong side, counted, and no connection completes (once
# the daemon's route cache, 5 s, has let go of the multipath route).
sleep 5.5
cnt_snap d
check_eq "asymmetric, default: IPv4 connections that echoed" "$(echo_count "$BACKEND4" 2)" 0
check_eq "asymmetric, default: IPv6 connections that echoed" "$(echo_count "$BACKEND6" 2)" 0
cnt_snap e
check_ge "asymmetric, default: the backend's replies counted as from the wrong side" \
	"$(cnt_delta d e server_wrong_side)" 4
# Their backend handshakes end when the SYN's retransmissions run out
# (1 + 2 + 4 + 8 s): the clients are reset, the data held for them dropped.
i=0
while cnt_snap t && [ "$(cnt_delta d t backend_timeout)" -lt 4 ] && [ $i -lt 60 ]; do
	i=$((i + 1))
	sleep 0.5
done
check_ge "asymmetric, default: those backend handshakes timed out" \
	"$(cnt_delta d t backend_timeout)" 4
check_eq "asymmetric, default: no data left held for them" "$(ctl_counter held_packets)" 0
# 4b. server_interfaces = g1, g3, applied by a reload: every connection
# echoes, and a SYN-ACK forged from the clients' side (g0) is still dropped.
override server_interfaces "the interfaces facing the backend, for phase 4's asymmetric routing (unset, the default, is phases 1-3 and 4a)"
write_conf 'server_interfaces = [ "g1", "g3" ];'
check_eq "reload with server_interfaces" "$(daemon_reload)" ok
cnt_snap e	# after it: the backend still retransmits SYN-ACKs of 4a until then
check_eq "asymmetric, server_interfaces: IPv4 connections echoed" "$(echo_count "$BACKEND4" 8)" 8
check_eq "asymmetric, server_interfaces: IPv6 connections echoed" "$(echo_count "$BACKEND6" 8)" 8
cnt_snap f
check_eq "asymmetric, server_interfaces: nothing taken for forged" \
	"$(cnt_delta e f server_wrong_side)" 0
forge_synack 40998
cnt_snap g
check_eq "server_interfaces: a SYN-ACK forged from the clients' side is dropped" \
	"$(cnt_delta f g server_wrong_side)" 1
# 4c. The link facing the backend deleted and created again (a new
# interface index under the same name): found again without a reload.
ip -n "$GW" link del g3
ip link add g3 netns "$GW" type veth peer name s3 netns "$SRV" || fail "veth second link again"
ip -n "$GW" addr add 198.51.100.129/25 dev g3
ip -n "$SRV" addr add 198.51.100.130/25 dev s3
ip -n "$GW" link set g3 up
ip -n "$SRV" link set s3 up
in_ns "$GW" sysctl -qw net.ipv4.conf.g3.rp_filter=0
in_ns "$SRV" ip route replace 192.0.2.0/24 via 198.51.100.129 dev s3
sleep 1.1
check_eq "server_interfaces: IPv4 connections echo over the recreated link" \
	"$(echo_count "$BACKEND4" 4)" 4

daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
