#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Records replay captures from REAL Linux stacks (root): a client and a
# server namespace joined by one veth pair, no proxy, redis-server as the
# server and redis-cli as the client.  Each variant changes the client
# namespace's TCP sysctls (the server keeps the defaults) and records one
# connection on the client's interface to tests/replay/recorded/NAME.pcap
# (LINKTYPE_RAW, checksums filled in: veth leaves outgoing TCP checksums to
# an offload that never happens), with a one-line NAME.txt beside it and
# NAME.check, the arguments check_translation.py needs for it under
# recorded/synproxyd.conf (hand-written, not touched here).
#
#   sudo tests/replay/record.sh            # every variant
#   sudo tests/replay/record.sh NAME...    # only these
#
# Addresses are the live lab's (tests/live/lib.sh): client 192.0.2.10 and
# 2001:db8:1::10, server 203.0.113.2 and 2001:db8:2::2.  Namespaces, the
# server and tcpdump are removed on any exit.
set -u
out=${RECORD_DIR:-$(cd "$(dirname "$0")" && pwd)/recorded}

# NAME FAMILY CLIENT-SYSCTLS REDIS-ARGS DESCRIPTION (one line each, | separated)
VARIANTS='linux_v4|4||PING|default Linux client (MSS, SACK, TS, wscale): redis PING over IPv4
linux_v6|6||PING|default Linux client: redis PING over IPv6
linux_v4_set|4||SET k VALUE1200|default Linux client: a 1200-byte redis SET over IPv4
no_timestamps_v4|4|net.ipv4.tcp_timestamps=0|PING|tcp_timestamps=0 (MSS, SACK, wscale): PING, IPv4
no_sack_v4|4|net.ipv4.tcp_sack=0|PING|tcp_sack=0 (MSS, TS, wscale): PING over IPv4
no_wscale_v4|4|net.ipv4.tcp_window_scaling=0|PING|tcp_window_scaling=0 (MSS, SACK, TS): PING, IPv4
ecn_v4|4|net.ipv4.tcp_ecn=1|PING|tcp_ecn=1: ECN-setup SYN, ECT(0) data: PING over IPv4
no_timestamps_v6|6|net.ipv4.tcp_timestamps=0|PING|tcp_timestamps=0 (also IPv6): PING over IPv6'

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
. "$top_srcdir/tests/live/lib.sh"
lab_init redis-server redis-cli
# lib.sh's local layout is two namespaces on one veth pair; without a
# daemon it is a direct client <-> server link (the client routes via the
# server itself).
lab_local
start_redis "$SRV"

record() {	# NAME FAMILY SYSCTLS CMD DESC
	name=$1 fam=$2 sysctls=$3 cmd=$4 desc=$5
	saved=
	for kv in $sysctls; do
		saved="$saved ${kv%%=*}=$(in_ns "$CLI" sysctl -n "${kv%%=*}")"
	done
	# shellcheck disable=SC2086 # one word per setting
	[ -z "$sysctls" ] || in_ns "$CLI" sysctl -qw $sysctls || fail "sysctl $sysctls"
	if [ "$fam" = 6 ]; then addr=2001:db8:2::2; else addr=203.0.113.2; fi
	# Whole packets (-s 0 overrides cap_start's header-only -s 128; tcpdump
	# takes options after the filter's first word), each written at once.
	cap_start "$name" "$CLI" c0 -s 0 --immediate-mode tcp port 6379
	case $cmd in
	"SET k VALUE1200")
		value=$(head -c 900 /dev/urandom | base64 -w 0 | head -c 1200)
		got=$(in_ns "$CLI" timeout 10 redis-cli -h "$addr" -p 6379 set k "$value" </dev/null)
		want=OK ;;
	*)
		got=$(in_ns "$CLI" timeout 10 redis-cli -h "$addr" -p 6379 ping </dev/null)
		want=PONG ;;
	esac
	[ "$got" = "$want" ] || fail "$name: redis-cli said '$got', want $want"
	# The last ACK of the close goes out within cap_stop's 0.3 s.
	cap_stop "$name"
	"$PY" - "$TMP/$name.pcap" "$out/$name" <<'EOF' || fail "$name: conversion"
import struct
import sys
from scapy.all import IP, IPv6, TCP, rdpcap
pkts = []
for p in rdpcap(sys.argv[1]):
    ip = p[IP] if IP in p else p[IPv6] if IPv6 in p else None
    if ip is None or TCP not in ip:
        continue
    raw = bytes(ip)
    # Only the IP packet: an Ethernet frame's padding is not part of it.
    raw = raw[:ip.len] if IP in p else raw[:40 + ip.plen]
    q = ip.__class__(raw)
    del q[TCP].chksum
    if IP in q:
        del q[IP].chksum
    pkts.append((bytes(q), p.time))
if not pkts:
    sys.exit("no TCP packet captured")
# The checker's window scales: recorded/synproxyd.conf announces 7 to the
# client; the backend leg scales by what the server answered.
syn = next(IP(r) if r[0] >> 4 == 4 else IPv6(r) for r, _ in pkts)
synack = next((q for q in (IP(r) if r[0] >> 4 == 4 else IPv6(r) for r, _ in pkts)
               if q[TCP].flags & 0x12 == 0x12), None)
if synack is None:
    sys.exit("no SYN-ACK captured")
c_ws = dict(syn[TCP].options).get("WScale")
s_ws = dict(synack[TCP].options).get("WScale")
with open(sys.argv[2] + ".check", "w") as f:
    f.write("--wscale %d:7\n" % s_ws if c_ws is not None and s_ws is not None and s_ws != 7
            else "")
with open(sys.argv[2] + ".pcap", "wb") as w:
    # pcap header: magic (us), v2.4, zone, sigfigs, snaplen, LINKTYPE_RAW
    w.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    for raw, t in pkts:
        us = int(round(t * 1000000))
        w.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(raw), len(raw)) + raw)
EOF
	echo "$desc" >"$out/$name.txt"
	echo "$name: $desc ($(tcpdump -r "$out/$name.pcap" -n 2>/dev/null | wc -l) packets)"
	# shellcheck disable=SC2086 # one word per setting
	[ -z "$saved" ] || in_ns "$CLI" sysctl -qw $saved || fail "restoring $saved"
}

mkdir -p "$out" || fail "cannot create $out"
while IFS='|' read -r name fam sysctls cmd desc; do
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	record "$name" "$fam" "$sysctls" "$cmd" "$desc"
done <<VARIANTS_END
$VARIANTS
VARIANTS_END
