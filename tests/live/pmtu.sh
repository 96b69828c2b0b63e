#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Path MTU discovery through the proxy, both ways (root; issue 12 item 1).
# Five namespaces:
#   client -- router (1280 toward the client) -- gateway (synproxyd)
#          -- router 2 (1280 toward the backend) -- backend (nginx, echo)
# The first router's path toward the client has MTU 1280, the second's
# toward the backend too; every link is 1500, so both ends announce MSS
# 1460.  The 1280 is a route MTU on the router, not the MTU of its veth:
# a veth drops, silently, what exceeds its receiver's MTU, so a 1280 veth
# would also swallow the client's own large segments on their way to
# router 2 (and a link MTU on both ends would give the client MSS 1240,
# and no large segment to discover anything with).  The backend's full-sized
# segments draw "fragmentation needed" (IPv4) / "packet too big" (IPv6)
# from the first router, which quotes them as they left the proxy, in the
# client's sequence space; the client's draw them from the second, which
# quotes them in the backend's.  The daemon runs with two queues, as the
# example configuration has it.
#  0. Without the daemon (no rules): the 10 MB file and a 1 MB echo
#     arrive, the routers sent errors, both ends learned MTU 1280: the
#     path really needs PMTU discovery, and the kernels alone do it.
#  1. fastpath "auto": the 10 MB file and the echo over IPv4 and IPv6
#     arrive intact; the daemon translated errors toward the backend and
#     toward the client; every error either end received quotes a segment
#     it sent itself, acknowledgement included (icmp_quotes.py on captures
#     of both ends); flows whose errors land on the other worker's queue
#     are passed on (icmp_passed_on), tried from more client addresses
#     until one is; once the backend knows MTU 1280 toward the client, its
#     SYN-ACKs to it announce the path's MSS and the daemon keeps offering
#     the full one (one client's path is not every client's MSS).
#  2. Offloaded flows the engine does not know (HTTP keep-alive: 20 small
#     answers, the flow handed to the kernel after its 32 segments, the
#     daemon restarted without its state file, as after a crash, then the
#     10 MB file on the same connection): the offsets come from conntrack
#     (icmp_conntrack), the file arrives.
#  3. The negative control: with a rule ahead of the daemon's that lets
#     ICMP through untranslated, the downloads stall (far less than the
#     file in 8 s), the backend learns no MTU and counts the errors out of
#     window, and the daemon translates nothing.
#  4. fastpath "off": phase 1's transfers and checks on the userspace path.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init curl nginx sha256sum

ECHO_PORT=6379

# client c0 -- r0 router r1 -- g0 gateway g1 -- b0 router2 b1 -- s0 backend
lab_pmtu() {
	CLI="$P-cli" RTR="$P-rtr" GW="$P-gw" RTR2="$P-rt2" SRV="$P-srv"
	for ns in "$CLI" "$RTR" "$GW" "$RTR2" "$SRV"; do
		ns_add "$ns"
	done
	ip link add c0 netns "$CLI" type veth peer name r0 netns "$RTR" || fail "veth client"
	ip link add r1 netns "$RTR" type veth peer name g0 netns "$GW" || fail "veth router"
	ip link add g1 netns "$GW" type veth peer name b0 netns "$RTR2" || fail "veth router 2"
	ip link add b1 netns "$RTR2" type veth peer name s0 netns "$SRV" || fail "veth backend"
	ip -n "$CLI" addr add $CLIENT4/24 dev c0
	ip -n "$CLI" addr add $CLIENT6/64 dev c0 nodad
	ip -n "$RTR" addr add 192.0.2.1/24 dev r0
	ip -n "$RTR" addr add 2001:db8:1::1/64 dev r0 nodad
	ip -n "$RTR" addr add 198.51.100.1/25 dev r1
	ip -n "$RTR" addr add 2001:db8:3::1/64 dev r1 nodad
	ip -n "$GW" addr add 198.51.100.2/25 dev g0
	ip -n "$GW" addr add 2001:db8:3::2/64 dev g0 nodad
	ip -n "$GW" addr add 198.51.100.129/25 dev g1
	ip -n "$GW" addr add 2001:db8:4::1/64 dev g1 nodad
	ip -n "$RTR2" addr add 198.51.100.130/25 dev b0
	ip -n "$RTR2" addr add 2001:db8:4::2/64 dev b0 nodad
	ip -n "$RTR2" addr add 203.0.113.1/24 dev b1
	ip -n "$RTR2" addr add 2001:db8:2::1/64 dev b1 nodad
	ip -n "$SRV" addr add $BACKEND4/24 dev s0
	ip -n "$SRV" addr add $BACKEND6/64 dev s0 nodad
	for l in "$CLI c0" "$RTR r0" "$RTR r1" "$GW g0" "$GW g1" "$RTR2 b0" "$RTR2 b1" \
		 "$SRV s0"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$CLI" route add default via 192.0.2.1
	ip -n "$CLI" -6 route add default via 2001:db8:1::1
	ip -n "$RTR" route add default via 198.51.100.2
	ip -n "$RTR" -6 route add default via 2001:db8:3::2
	ip -n "$RTR" route add 192.0.2.0/25 dev r0 mtu lock 1280 || fail "route mtu"
	ip -n "$RTR" -6 route add 2001:db8:1::/80 dev r0 mtu 1280 || fail "route mtu (IPv6)"
	ip -n "$GW" route add 192.0.2.0/24 via 198.51.100.1
	ip -n "$GW" -6 route add 2001:db8:1::/64 via 2001:db8:3::1
	ip -n "$GW" route add 203.0.113.0/24 via 198.51.100.130
	ip -n "$GW" -6 route add 2001:db8:2::/64 via 2001:db8:4::2
	ip -n "$RTR2" route add default via 198.51.100.129
	ip -n "$RTR2" -6 route add default via 2001:db8:4::1
	ip -n "$RTR2" route add $BACKEND4/32 dev b1 mtu lock 1280 || fail "route mtu"
	ip -n "$RTR2" -6 route add $BACKEND6/128 dev b1 mtu 1280 || fail "route mtu (IPv6)"
	ip -n "$SRV" route add default via 203.0.113.1
	ip -n "$SRV" -6 route add default via 2001:db8:2::1
	# The routers must send every error: no rate limit, path MTU
	# discovery on.  ("Fragmentation needed" and "packet too big" are
	# not rate-limited by Linux anyway.)
	for ns in "$RTR" "$GW" "$RTR2"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
			fail "forwarding in $ns"
	done
	for ns in "$RTR" "$RTR2"; do
		in_ns "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 \
			net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.ip_no_pmtu_disc=0 ||
			fail "icmp sysctls in $ns"
	done
	lab_conntrack_strict "$GW"
	DAEMON_NS=$GW SRV_IF=s0 CLI_IF=c0 MODE=gateway
	lab_wait_reach
	# Four more client addresses per family: the kernel spreads flows over
	# the queues by address.
	for i in 11 12 13 14; do
		ip -n "$CLI" addr add 192.0.2.$i/24 dev c0
		ip -n "$CLI" addr add 2001:db8:1::$i/64 dev c0 nodad
	done
}

lab_pmtu
start_nginx "$SRV"
start_echo "$SRV" 300 $ECHO_PORT
head -c 400 /dev/urandom >"$TMP/www/tiny.bin"
head -c 300000 /dev/urandom >"$TMP/www/mid.bin"
MID_SHA=$(sha256sum "$TMP/www/mid.bin" | cut -d' ' -f1)
TINY_SHA=$(sha256sum "$TMP/www/tiny.bin" | cut -d' ' -f1)

url() {	# ADDR FILE
	case $1 in *:*) echo "http://[$1]/$2" ;; *) echo "http://$1/$2" ;; esac
}

# The client's own address of ADDR's family (the client has several).
client_of() {
	case $1 in *:*) echo "$CLIENT6" ;; *) echo "$CLIENT4" ;; esac
}

# nstat_get NS NAME: the kernel's count NAME in NS, as nstat names it
# (TcpExtOutOfWindowIcmps, IcmpOutDestUnreachs, Icmp6OutPktTooBigs).
nstat_get() {
	in_ns "$1" cat /proc/net/netstat /proc/net/snmp /proc/net/snmp6 | awk -v want="$2" '
		NF == 2 && $1 == want { print $2; exit }
		/^[A-Za-z]+: [A-Za-z]/ { n = split($0, h); p = $1; sub(":", "", p); next }
		/^[A-Za-z]+: [-0-9]/ { for (i = 2; i <= NF; i++) if (p h[i] == want) { print $i; exit } }'
}

# Errors router NS sent: IPv4 destination unreachable (fragmentation
# needed among them), ICMPv6 packet too big.
router_errors() {	# NS
	echo $(( $(nstat_get "$1" IcmpOutDestUnreachs) + $(nstat_get "$1" Icmp6OutPktTooBigs) ))
}

# Both ends forget what they learned of the path, before every transfer
# that must discover it again (the routers' errors are what is tested).
flush_pmtu() {
	for ns in "$SRV" "$CLI"; do
		in_ns "$ns" ip route flush cache
		in_ns "$ns" ip -6 route flush cache
	done
}

# route_of NS DEST: NS's route to DEST, with what it learned of the path
# (an exception in IPv6's route cache).
route_of() {
	case $2 in
	*:*) in_ns "$1" ip -6 route show cache | grep "^$2 " | tr '\n' ' ' ;;
	*) in_ns "$1" ip route get "$2" | tr '\n' ' ' ;;
	esac
}

# fetch ADDR FILE WANT_SHA MAXTIME [SRC]: downloads FILE from ADDR (from
# the client address SRC, its main one by default), prints "bytes
# seconds", and is true when the sha256 matches.
fetch() {
	rm -f "$TMP/got.bin"
	got=$(in_ns "$CLI" timeout $(($4 + 5)) curl -gsS --max-time "$4" \
		--interface "${5:-$(client_of "$1")}" \
		-o "$TMP/got.bin" -w '%{size_download} %{time_total}' "$(url "$1" "$2")" 2>"$TMP/curl.err")
	echo "${got:-0 -}"
	[ -f "$TMP/got.bin" ] && [ "$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)" = "$3" ]
}

# echo_bytes ADDR N: N random bytes to the echo server at ADDR and back
# (sent while the answer is read); true when they come back intact.
echo_bytes() {
	in_ns "$CLI" timeout 40 "$PY" -c '
import os, socket, sys, threading
addr, src, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = os.urandom(n)
c = socket.create_connection((addr, int(sys.argv[4])), timeout=30, source_address=(src, 0))
t = threading.Thread(target=c.sendall, args=(data,))
t.start()
got = bytearray()
while len(got) < n:
    b = c.recv(65536)
    if not b:
        break
    got += b
t.join()
c.close()
sys.exit(0 if bytes(got) == data else 1)
' "$1" "$(client_of "$1")" "$2" $ECHO_PORT
}

# big ADDR LABEL: the 10 MB file from ADDR, checked and reported: the
# first router sent errors, the backend took one (it learned the path's
# MTU).  An error may still find its segment acknowledged already (the
# sender resent everything in smaller segments after the first error):
# the backend's TcpExtOutOfWindowIcmps is reported, not judged.
big() {
	flush_pmtu
	r0=$(router_errors "$RTR")
	oow0=$(nstat_get "$SRV" TcpExtOutOfWindowIcmps)
	res=$(fetch "$1" big.bin "$BIG_SHA" 50)
	ok=$?
	rt=$(route_of "$SRV" "$(client_of "$1")")
	echo "$2: curl 10 MB from $1: $res (bytes, s); the router sent" \
		"$(( $(router_errors "$RTR") - r0 )) error(s), the backend found" \
		"$(( $(nstat_get "$SRV" TcpExtOutOfWindowIcmps) - oow0 )) out of window;" \
		"its route to the client: $rt"
	check_eq "$2: sha256 of the 10 MB file from $1" "$ok" 0
	check_ge "$2: the router sent errors about the download from $1" \
		$(( $(router_errors "$RTR") - r0 )) 1
	check "$2: the backend learned MTU 1280 toward the client ($1)" \
		sh -c "echo '$rt' | grep -q 'mtu 1280'"
}

# echo_test ADDR LABEL: 1 MB each way through the echo server: the second
# router's errors reach the client, which learns the MTU toward the backend.
echo_test() {
	flush_pmtu
	r0=$(router_errors "$RTR2")
	echo_bytes "$1" 1048576
	ok=$?
	rt=$(route_of "$CLI" "$1")
	echo "$2: 1 MB echoed by $1; router 2 sent $(( $(router_errors "$RTR2") - r0 ))" \
		"error(s); the client's route to the backend: $rt"
	check_eq "$2: 1 MB each way through the echo server at $1" "$ok" 0
	check_ge "$2: router 2 sent errors about the client's segments ($1)" \
		$(( $(router_errors "$RTR2") - r0 )) 1
	check "$2: the client learned MTU 1280 toward the backend ($1)" \
		sh -c "echo '$rt' | grep -q 'mtu 1280'"
}

# quotes LABEL: every error either end received in the captures of the
# phase quotes a segment that end sent (icmp_quotes.py).
quotes() {
	cap_stop qsrv
	cap_stop qcli
	out=$("$PY" "$LIVE_DIR/icmp_quotes.py" "$TMP/qsrv.pcap" $BACKEND4 $BACKEND6)
	rc=$?
	echo "$1: backend: $out"
	check_eq "$1: every error the backend got quotes its own segment" "$rc" 0
	out=$("$PY" "$LIVE_DIR/icmp_quotes.py" "$TMP/qcli.pcap" $CLIENT4 $CLIENT6)
	rc=$?
	echo "$1: client: $out"
	check_eq "$1: every error the client got quotes its own segment" "$rc" 0
}

QFILTER='tcp or icmp or icmp6'

# 0. Without the daemon.
big "$BACKEND4" "no daemon"
big "$BACKEND6" "no daemon"
echo_test "$BACKEND4" "no daemon"
echo_test "$BACKEND6" "no daemon"

# 1. fastpath "auto", two queues.
write_conf 'queue = { count = 2; };
timeouts = { backend_syn_rto = 0.5; };'
daemon_start
in_ns "$GW" iptables-save | grep -- "-p icmp" || fail "no ICMP rule installed"
in_ns "$GW" ip6tables-save | grep -- "-p ipv6-icmp" || fail "no ICMPv6 rule installed"
# A port's options change once three SYN-ACKs after the first agree; until
# then the windows are rescaled and the flows stay in userspace (each
# queue's engine learns for itself: the main client addresses land on
# one).  Small answers (400 bytes and nginx's headers: far below 1280)
# need no path MTU discovery, so the backend keeps announcing MSS 1460.
flush_pmtu
for a in "$BACKEND4" "$BACKEND6"; do
	for k in 1 2 3 4; do
		fetch "$a" tiny.bin "$TINY_SHA" 10 >/dev/null || fail "warm-up $k from $a"
		echo_bytes "$a" 100 || fail "echo warm-up $k to $a"
	done
done
cap_start qsrv "$SRV" s0 "$QFILTER"
cap_start qcli "$CLI" c0 "$QFILTER"
cnt_snap a
big "$BACKEND4" "auto"
big "$BACKEND6" "auto"
echo_test "$BACKEND4" "auto"
echo_test "$BACKEND6" "auto"
cnt_snap b
quotes "auto"
ctl_show icmp_to_backend icmp_to_client icmp_frag_needed icmp_passed_on icmp_conntrack \
	icmp_unknown_flow icmp_out_of_window icmp_bad_quote icmp_own_handshake flows_offloaded
check_ge "auto: errors translated toward the backend" "$(cnt_delta a b icmp_to_backend)" 2
check_ge "auto: errors translated toward the client" "$(cnt_delta a b icmp_to_client)" 2
check_ge "auto: of them fragmentation needed / packet too big" \
	"$(cnt_delta a b icmp_frag_needed)" 4
check_ge "auto: the transfers were offloaded" "$(cnt_delta a b flows_offloaded)" 4
# Flows whose segments reach the second queue: their errors are passed on.
i=0
for src in 192.0.2.11 2001:db8:1::11 192.0.2.12 2001:db8:1::12 192.0.2.13 2001:db8:1::13 \
	   192.0.2.14 2001:db8:1::14; do
	[ "$(ctl_counter icmp_passed_on)" -ge 1 ] && break
	case $src in *:*) a=$BACKEND6 ;; *) a=$BACKEND4 ;; esac
	res=$(fetch "$a" mid.bin "$MID_SHA" 20 "$src")
	check_eq "auto: 300 kB from $a to $src ($res)" $? 0
	i=$((i + 1))
done
check_ge "auto: errors passed on to the next queue (after $i more client addresses)" \
	"$(ctl_counter icmp_passed_on)" 1

# One client's path MTU is not every client's MSS.  A backend announces
# the MSS of its route toward the SYN's source, path MTU included: once it
# learned MTU 1280 toward the client (300 kB fetched, no flush), its
# SYN-ACKs to that client say 1240 (IPv6: 1220).  Five connections in a
# row from that client: the daemon keeps offering the 1460 (1440) the
# backend announces over a full path; a smaller MSS is learned only from
# SYN-ACKs to clients of three networks (learned.c).  Before that rule,
# the fourth and fifth were offered 1240, and so was every other client.
synack_mss() {	# CAPTURE: the MSS of each SYN-ACK in it, in order
	tcpdump -nn -r "$TMP/$1.pcap" 2>/dev/null | grep 'Flags \[S\.\]' |
		sed -n 's/.*mss \([0-9]*\).*/\1/p'
}
one_path_mss() {	# ADDR PATH_MSS FULL_MSS
	c=$(client_of "$1")
	res=$(fetch "$1" mid.bin "$MID_SHA" 20) || fail "300 kB from $1 ($res)"
	rt=$(route_of "$SRV" "$c")
	check "auto: the backend learned MTU 1280 toward $c" sh -c "echo '$rt' | grep -q 'mtu 1280'"
	cap_start mss_s "$SRV" s0 tcp port 80 and host "$c"
	cap_start mss_c "$CLI" c0 tcp port 80 and host "$1"
	for k in 1 2 3 4 5; do
		fetch "$1" tiny.bin "$TINY_SHA" 10 >/dev/null || fail "small fetch $k from $1"
	done
	cap_stop mss_s
	cap_stop mss_c
	echo "auto: MSS in the backend's SYN-ACKs to $c: $(synack_mss mss_s | tr '\n' ' ');" \
		"in the daemon's: $(synack_mss mss_c | tr '\n' ' ')"
	check_eq "auto: the backend's SYN-ACKs to $c announced its path's MSS $2 (5 of 5)" \
		"$(synack_mss mss_s | grep -c "^$2\$")" 5
	check_eq "auto: the daemon's SYN-ACKs to $c kept offering $3 (5 of 5)" \
		"$(synack_mss mss_c | grep -c "^$3\$")" 5
}
one_path_mss "$BACKEND4" 1240 1460
one_path_mss "$BACKEND6" 1220 1440

# 2. Flows the engine has handed to the kernel and does not know: those of
# the daemon before a restart that found no state file (a crash leaves
# none; one refused as damaged counts the same).
keepalive_client() {	# ADDR TAG
	in_ns "$CLI" timeout 60 "$PY" -c '
import os, socket, sys, time
addr, src, tmp, tag = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = socket.create_connection((addr, 80), timeout=20, source_address=(src, 0))
f = c.makefile("rb")
def get(path, out):
    c.sendall(b"GET /" + path + b" HTTP/1.1\r\nHost: lab\r\n\r\n")
    n = None
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    with open(out, "wb") as o:
        o.write(f.read(n))
for i in range(20):
    get(b"tiny.bin", tmp + "/ka-tiny." + tag)
with open(tmp + "/ka-port." + tag, "w") as o:
    o.write("%d\n" % c.getsockname()[1])
for i in range(400):
    if os.path.exists(tmp + "/ka-go"):
        break
    time.sleep(0.1)
get(b"big.bin", tmp + "/ka-big." + tag)
' "$1" "$(client_of "$1")" "$TMP" "$2"
}
rm -f "$TMP"/ka-*
flush_pmtu
keepalive_client "$BACKEND4" 4 &
KA4=$!
keepalive_client "$BACKEND6" 6 &
KA6=$!
LAB_PIDS="$LAB_PIDS $KA4 $KA6"
wait_file "$TMP/ka-port.4" 10 "the IPv4 keep-alive client did not connect: $(ctl flows)"
wait_file "$TMP/ka-port.6" 10 "the IPv6 keep-alive client did not connect: $(ctl flows)"
ka4=$(cat "$TMP/ka-port.4") ka6=$(cat "$TMP/ka-port.6")
i=0
until ctl flows >"$TMP/flows" && grep -q ":$ka4 .*path=kernel" "$TMP/flows" &&
	grep -q ":$ka6 .*path=kernel" "$TMP/flows"; do
	i=$((i + 1))
	[ $i -gt 50 ] && { cat "$TMP/flows"; fail "the keep-alive flows were not offloaded"; }
	sleep 0.1
done
grep -E ":($ka4|$ka6) " "$TMP/flows"
# Without the state file (which carries offloaded flows too), the restarted
# engine knows neither keep-alive flow.
daemon_stop
check_eq "auto: daemon exit status before the restart" "$DAEMON_RC" 0
rm -f "$TMP/state"
daemon_start
ctl flows | grep -E ":($ka4|$ka6) " &&
	fail "the restarted daemon knows the offloaded keep-alive flows"
flush_pmtu
cnt_snap c
r0=$(router_errors "$RTR")
touch "$TMP/ka-go"
wait "$KA4"
ka_rc4=$?
wait "$KA6"
ka_rc6=$?
cnt_snap d
echo "kernel path: the router sent $(( $(router_errors "$RTR") - r0 )) error(s);" \
	"icmp_conntrack +$(cnt_delta c d icmp_conntrack)," \
	"icmp_to_backend +$(cnt_delta c d icmp_to_backend)"
check_eq "kernel path: IPv4 keep-alive client" "$ka_rc4" 0
check_eq "kernel path: IPv6 keep-alive client" "$ka_rc6" 0
check_eq "kernel path: sha256 of the 10 MB file over IPv4" \
	"$(sha256sum <"$TMP/ka-big.4" | cut -d' ' -f1)" "$BIG_SHA"
check_eq "kernel path: sha256 of the 10 MB file over IPv6" \
	"$(sha256sum <"$TMP/ka-big.6" | cut -d' ' -f1)" "$BIG_SHA"
check_ge "kernel path: errors translated with conntrack's offsets" \
	"$(cnt_delta c d icmp_conntrack)" 2

# 3. The negative control: the same downloads, both families at once,
# with the errors let through ahead of the daemon's rules (its watchdog
# judges only its own chains).
in_ns "$GW" iptables -I FORWARD 1 -p icmp -j ACCEPT || fail "iptables accept rule"
in_ns "$GW" ip6tables -I FORWARD 1 -p ipv6-icmp -j ACCEPT || fail "ip6tables accept rule"
flush_pmtu
cnt_snap e
oow0=$(nstat_get "$SRV" TcpExtOutOfWindowIcmps)
r0=$(router_errors "$RTR")
for a in "$BACKEND4" "$BACKEND6"; do
	(
		res=$(fetch "$a" big.bin "$BIG_SHA" 8)
		echo "$? $res" >"$TMP/untranslated.$a"
	) &
	LAB_PIDS="$LAB_PIDS $!"
done
wait_file "$TMP/untranslated.$BACKEND4" 20 "the untranslated IPv4 download did not end"
wait_file "$TMP/untranslated.$BACKEND6" 20 "the untranslated IPv6 download did not end"
oow=$(( $(nstat_get "$SRV" TcpExtOutOfWindowIcmps) - oow0 ))
cnt_snap f
for a in "$BACKEND4" "$BACKEND6"; do
	rt=$(route_of "$SRV" "$(client_of "$a")")
	set -- $(cat "$TMP/untranslated.$a")
	echo "untranslated: curl from $a: ${2:-} ${3:-} (bytes, s); the backend's route to the" \
		"client: $rt"
	check "untranslated: the download from $a fails" [ "${1:-0}" -ne 0 ]
	check "untranslated: less than 1 MB from $a within 8 s" [ "${2:-0}" -lt 1048576 ]
	check "untranslated: the backend learned no MTU toward the client ($a)" \
		sh -c "! echo '$rt' | grep -q 'mtu 1280'"
done
in_ns "$GW" iptables -D FORWARD -p icmp -j ACCEPT || fail "iptables accept rule removal"
in_ns "$GW" ip6tables -D FORWARD -p ipv6-icmp -j ACCEPT || fail "ip6tables accept rule removal"
echo "untranslated: the router sent $(( $(router_errors "$RTR") - r0 )) error(s), the" \
	"backend found $oow out of window"
check_ge "untranslated: the backend ignored the errors as out of window" "$oow" 2
check_eq "untranslated: no error reached the daemon" "$(cnt_delta e f icmp_to_backend)" 0
# The stalled connections end (the client closed them) before the next phase.
sleep 1
daemon_stop
check_eq "auto: daemon exit status" "$DAEMON_RC" 0

# 4. fastpath "off".
override fastpath "\"off\" in the last phase: the userspace path translates the errors itself"
write_conf 'queue = { count = 2; };
timeouts = { backend_syn_rto = 0.5; };
fastpath = "off";'
daemon_start
cap_start qsrv "$SRV" s0 "$QFILTER"
cap_start qcli "$CLI" c0 "$QFILTER"
cnt_snap g
big "$BACKEND4" "off"
big "$BACKEND6" "off"
echo_test "$BACKEND4" "off"
echo_test "$BACKEND6" "off"
cnt_snap h
quotes "off"
ctl_show icmp_to_backend icmp_to_client icmp_frag_needed icmp_passed_on icmp_conntrack \
	icmp_unknown_flow icmp_out_of_window icmp_bad_quote flows_offloaded
check_ge "off: errors translated toward the backend" "$(cnt_delta g h icmp_to_backend)" 2
check_ge "off: errors translated toward the client" "$(cnt_delta g h icmp_to_client)" 2
check_eq "off: nothing offloaded" "$(cnt_delta g h flows_offloaded)" 0
check_eq "off: no offsets from conntrack" "$(cnt_delta g h icmp_conntrack)" 0
daemon_stop
check_eq "off: daemon exit status" "$DAEMON_RC" 0
lab_finish
