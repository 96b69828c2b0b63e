#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# README command one: installs what is needed, builds, and shows synproxyd
# at work in a three-namespace lab (client -- gateway running synproxyd --
# backend running redis-server): a real PING through the proxy, a spoofed
# SYN flood that never reaches the backend, and a real client still served
# during the flood.  Needs root (network namespaces, iptables).  About 30 s.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
./scripts/build
if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: the live demo needs root (network namespaces); run it as root" >&2
	exit 1
fi
set +e
top_srcdir=. top_builddir=.
. tests/live/lib.sh
# lib.sh's log lines are for tests; the demo prints its own.
log() { :; }
say() { printf '%s\n' "$*"; }
head_() { printf '\n== %s\n' "$*"; }
stats() {	# the counters that tell the story, in one block
	st=$(ctl stats)
	for n in "$@"; do
		printf '   %-20s %s\n' "$n" "$(echo "$st" | awk -v n="$n" '$1 == n { print $2 }')"
	done
}
lab_init redis-server redis-cli

head_ "1. The lab: three network namespaces"
lab_gateway
lab_flood_ns
say "   client   192.0.2.10    2001:db8:1::10   ($CLI)"
say "   gateway  synproxyd, routing between them     ($GW)"
say "   backend  203.0.113.2   2001:db8:2::2    redis-server on :6379 ($SRV)"
say "   flooder  spoofed sources from 198.18.0.0/15, routed via the gateway ($FLD)"
start_redis "$SRV"
say "   redis-server listening in the backend namespace"

head_ "2. synproxyd on the gateway, protecting 203.0.113.2:6379"
PORTS=6379
override syncache "256 entries: the demo's flood spills into SYN cookies at once"
write_conf "cookies = \"auto\";
syncache = { buckets = 64; bucket_limit = 4; max_entries = 256; };"
say "   config: mode gateway, rule { dst 203.0.113.2 (and 2001:db8:2::2), ports [6379] },"
say "           a small SYN cache (256 entries) so that the flood spills into SYN cookies"
daemon_start
say "   started (pid $DPID) with -r: it installed its NFQUEUE rules:"
in_ns "$GW" iptables-save | grep -- '-A SYNPROXYD ' | sed 's/^/     /'

head_ "3. A real client through the proxy"
say "   redis-cli -h 203.0.113.2 ping    -> $(redis_ping "$BACKEND4")"
say "   redis-cli -h 2001:db8:2::2 ping  -> $(redis_ping "$BACKEND6")"
say "   counters after two real connections:"
stats syn_received synack_sent syncache_hit backend_syn_sent backend_established flows_created

head_ "4. A spoofed SYN flood: 60,000 SYNs in 5 s from random 198.18.0.0/15 sources"
cap_start back "$SRV" s0 "$SYN_FILTER"
rss0=$(daemon_rss_kb)
bg_ns "$FLD" timeout 40 "$PY" tests/live/scapy_client.py flood "$BACKEND4" 6379 60000 5 \
	>"$TMP/flood.out" 2>&1
FPID=$LASTPID
sleep 2
t0=$(date +%s%N)
pong=$(redis_ping "$BACKEND4")
t1=$(date +%s%N)
say "   during the flood: redis-cli ping -> $pong ($(( (t1 - t0) / 1000000 )) ms)"
i=0
while kill -0 "$FPID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
say "   flooder: $(cat "$TMP/flood.out")"
sleep 1
cap_stop back
say "   after the flood:  redis-cli ping -> $(redis_ping "$BACKEND4")"
say "   daemon memory (VmRSS): $rss0 kB before, $(daemon_rss_kb) kB after"

head_ "5. What the counters prove"
stats syn_received synack_sent syncache_added syncache_full cookie_sent cookie_valid \
	backend_syn_sent flows_created
flood_syns=$(cap_count back "src net 198.18.0.0/15")
real_syns=$(cap_count back "src host $CLIENT4")
say "   syn_received      every SYN reached the proxy: the flood plus the real clients"
say "   synack_sent       each one was answered by the proxy itself, not by the backend"
say "   syncache_full     the SYN cache filled up (256 entries) ..."
say "   cookie_sent       ... and the rest were answered with SYN cookies: no state kept"
say "   cookie_valid      the real client's handshake during the flood, validated by cookie"
say "   backend_syn_sent  SYNs the backend got: only for clients that completed the handshake"
say "   flows_created     = backend_syn_sent: one spliced connection per real client"
say "   tcpdump on the backend's interface during the flood saw $real_syns SYN(s) from the"
say "   real client (sent by the proxy) and $flood_syns from 198.18.0.0/15 (the flood)."
if [ "$flood_syns" = 0 ] && [ "$real_syns" -ge 1 ]; then
	say "   So the capture worked, and the flood never got through."
elif [ "$flood_syns" != 0 ]; then
	say "   $flood_syns flood SYN(s) reached the backend: that is a bug, please report it."
else
	say "   The capture saw no SYN at all, not even the real client's: it proves nothing."
fi

head_ "6. synproxyctl flows (half-open entries and spliced flows; first 8 lines)"
ctl flows | head -n 8 | sed 's/^/   /'

head_ "7. Stop"
daemon_stop
say "   SIGTERM: exit status $DAEMON_RC; SYNPROXYD rules left: $(in_ns "$GW" iptables-save |
	grep -c SYNPROXYD)"

head_ "8. Offline: the same PING replayed through the engine (synproxy-replay --explain)"
./src/tools/synproxy-replay -c tests/replay/cases/redis_ping/synproxyd.conf --explain \
	-o "$TMP/replay.pcap" tests/replay/cases/redis_ping/input.pcap | head -n 20 | sed 's/^/   /'
say
say "Done: the lab's namespaces and processes are removed on exit."
