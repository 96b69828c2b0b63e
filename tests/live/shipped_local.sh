#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# etc/synproxyd-local.conf.example as it ships, on the server itself (lab
# local layout: the server namespace has the example's addresses), only
# its redis allow list (the application servers' 198.51.100.0/24 becomes
# the lab's client network 192.0.2.0/24), control socket and state file
# changed; it logs to syslog through devlog.sh as shipped.sh does.
#   apps       redis PING (IPv4), a 10 MB download by HTTP over IPv4 and
#              IPv6, each checked by sha256
#   MSS        the SYN-ACKs the client gets announce at most what its link
#              carries (1460 for IPv4, 1440 for IPv6 on a 1500-byte link),
#              before the server's options are learned (the first
#              connection) and after
#   proxied    the server (capture on lo) sees a SYN for every completed
#              handshake and none for a lone SYN the client never completes
#   policy     redis from outside the allow list is refused
set -u
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/live/lib.sh"
lab_init redis-server redis-cli nginx curl unshare
lab_local
start_redis "$SRV"
start_nginx "$SRV"
LOCAL_EXAMPLE=$top_srcdir/etc/synproxyd-local.conf.example

SOCK="$TMP/ctl/control.sock"
CONF="$TMP/synproxyd.conf"
sed -e 's|"198\.51\.100\.0/24"|"192.0.2.0/24"|' \
    -e "s|^# control_socket = \"/run/synproxyd/control.sock\";|control_socket = \"$SOCK\";|" \
    -e "s|^# state_file = \"/run/synproxyd/state\";|state_file = \"$TMP/state\";|" \
    "$LOCAL_EXAMPLE" >"$CONF"
echo "--- the local example as run here (diff against $LOCAL_EXAMPLE):"
diff "$LOCAL_EXAMPLE" "$CONF"
check_eq "lines changed in the local example (allow list, control socket, state file)" \
	"$(diff "$LOCAL_EXAMPLE" "$CONF" | grep -c '^>')" 3
# What it sets is what users run: the reference for conf_overrides.
EXAMPLE_CONF=$CONF

mkdir "$TMP/dev"
start_listener "$TMP/log.sock" "$TMP/daemon.log"
DAEMON_WRAP="sh $LIVE_DIR/devlog.sh $TMP/log.sock $TMP/dev"
daemon_start
DAEMON_WRAP=
sleep 0.3
check "syslog: the start line" grep -q "started: local mode, 3 rules, queues 0-1," "$TMP/daemon.log"
cap_start back "$SRV" lo "$SYN_FILTER"
cap_start cli "$CLI" c0 "tcp[13] & 0x12 == 0x12 or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x12)"

log "== apps"
check_eq "redis-cli ping" "$(redis_ping "$BACKEND4")" PONG
for addr in "$BACKEND4" "$BACKEND6"; do
	case $addr in *:*) url="http://[$addr]/big.bin" ;; *) url="http://$addr/big.bin" ;; esac
	# Twice: the second connection's SYN-ACK comes after the server's
	# options were learned.
	for k in 1 2; do
		rm -f "$TMP/got.bin"
		in_ns "$CLI" timeout 60 curl -gsS --max-time 50 -o "$TMP/got.bin" "$url"
		check_eq "sha256 of the 10 MB file via $addr ($k)" \
			"$(sha256sum <"$TMP/got.bin" | cut -d' ' -f1)" "$BIG_SHA"
	done
done
sport=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000 ))
check "a lone SYN is answered by the proxy" send_lone_syn "$BACKEND4" "$sport"

log "== policy"
ip -n "$CLI" addr add 192.0.2.77/24 dev c0
ip -n "$SRV" route add 198.51.100.0/24 dev s0 2>/dev/null
ip -n "$CLI" addr add 198.51.100.9/24 dev c0
r=$(in_ns "$CLI" timeout 5 "$PY" -c '
import socket, sys
c = socket.socket()
c.bind(("198.51.100.9", 0))
c.settimeout(3)
try:
    c.connect((sys.argv[1], 6379))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(type(e).__name__)
' "$BACKEND4")
check_eq "redis from outside the allow list (198.51.100.9) refused" "$r" timeout

sleep 1
cap_stop back
cap_stop cli
log "== the SYN-ACKs' MSS"
tcpdump -r "$TMP/cli.pcap" -n 2>/dev/null | grep -o 'mss [0-9]*' | sort | uniq -c
mss4=$(tcpdump -r "$TMP/cli.pcap" -n ip 2>/dev/null | grep -o 'mss [0-9]*' | awk '{ print $2 }' | sort -n | tail -n 1)
mss6=$(tcpdump -r "$TMP/cli.pcap" -n ip6 2>/dev/null | grep -o 'mss [0-9]*' | awk '{ print $2 }' | sort -n | tail -n 1)
check_le "largest MSS announced to the IPv4 client" "$mss4" 1460
check_le "largest MSS announced to the IPv6 client" "$mss6" 1440

log "== proxied"
back_syns=$(cap_count back)
sent=$(ctl_counter backend_syn_sent)
retr=$(ctl_counter backend_syn_retrans)
echo "SYNs on lo: $back_syns; backend_syn_sent $sent, backend_syn_retrans $retr"
check_eq "every SYN the server saw is one the daemon sent" "$back_syns" "$((sent + retr))"
check_ge "the daemon opened a connection per completed handshake (1 redis + 4 HTTP)" "$sent" 5
check_eq "the lone SYN never reached the server" "$(cap_count back "tcp port $sport")" 0
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
check "syslog: the stop" grep -q "synproxyd\[[0-9]*\]: stopped" "$TMP/daemon.log"
lab_finish
