#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A client with timestamps, a backend without (net.ipv4.tcp_timestamps=0
# in its namespace), through synproxyd in gateway mode:
#  1. rules as shipped (timestamps "auto"): the first connections are
#     offered timestamps until the backend's options are learned (three
#     SYN-ACKs in a row must agree); the backend drops them, ts_missing
#     counts those three flows, and the next connections' SYN-ACKs offer
#     none (ts_missing stays 3);
#  2. timestamps = true: every SYN-ACK offers them and every flow counts in
#     ts_missing.
# Every connection echoes 64 KB intact both ways; the SYN-ACKs are read
# from a capture at the client.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init
lab_gateway
in_ns "$SRV" sysctl -qw net.ipv4.tcp_timestamps=0 || fail "tcp_timestamps in $SRV"
check_eq "client timestamps on" "$(in_ns "$CLI" sysctl -n net.ipv4.tcp_timestamps)" 1
start_echo "$SRV" 120
PORTS=6379

# conns N: N connections one after another, 64 KB echoed each; prints how
# many were intact.
conns() {
	in_ns "$CLI" timeout 60 "$PY" -c '
import os, socket, sys
ok = 0
for i in range(int(sys.argv[2])):
    c = socket.create_connection((sys.argv[1], 6379), timeout=5)
    c.settimeout(5)
    msg = os.urandom(65536)
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = c.recv(65536)
        if not d:
            break
        got += d
    c.close()
    ok += got == msg
print(ok)
' "$BACKEND4" "$1"
}
# synacks_ts CAPTURE: "with without" timestamps among the SYN-ACKs to the
# client, in order of arrival.
synacks_ts() {
	tcpdump -r "$TMP/$1.pcap" -n 'tcp[13] == 0x12' 2>/dev/null |
		awk '{ if ($0 ~ /TS val/) printf "ts "; else printf "nots " } END { print "" }'
}

log "== timestamps \"auto\" (as shipped)"
write_conf
daemon_start
cap_start sa1 "$CLI" c0 'tcp[13] == 0x12'
check_eq "connections intact" "$(conns 5)" 5
cap_stop sa1
ctl_show ts_missing options_learned backend_established
check_eq "SYN-ACKs: timestamps until three SYN-ACKs agreed on the backend's options" \
	"$(synacks_ts sa1)" "ts ts ts nots nots "
check_eq "ts_missing: the first three flows only" "$(ctl_counter ts_missing)" 3
check_eq "options_learned: once" "$(ctl_counter options_learned)" 1
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0

log "== timestamps = true"
override rules.timestamps "true: every flow is offered timestamps the backend drops, so each counts in ts_missing"
write_conf
sed -i 's/action = "proxy"; }/action = "proxy"; timestamps = true; }/' "$CONF"
[ "$(grep -c 'timestamps = true' "$CONF")" = 2 ] || fail "cannot set timestamps = true"
daemon_start
cap_start sa2 "$CLI" c0 'tcp[13] == 0x12'
check_eq "connections intact" "$(conns 3)" 3
cap_stop sa2
ctl_show ts_missing options_learned backend_established
check_eq "SYN-ACKs: timestamps every time" "$(synacks_ts sa2)" "ts ts ts "
check_eq "ts_missing: every flow" "$(ctl_counter ts_missing)" 3
check_eq "backend_established" "$(ctl_counter backend_established)" 3
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
