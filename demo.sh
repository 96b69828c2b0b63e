#!/bin/sh
# README command one: installs what is needed, builds, and shows synproxyd
# at work.  This version replays the redis-cli PING capture from the
# project's seed article through the engine, step by step.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
./scripts/build
case_dir=tests/replay/cases/redis_ping
echo
echo "== A redis-cli PING, replayed through the synproxyd engine =="
echo "   client 192.0.2.10 -> protected server 203.0.113.2:6379"
echo "   (in: packets from the capture; out: packets the proxy makes;"
echo "    fwd: packets it lets through, rewritten)"
echo
./src/tools/synproxy-replay -c "$case_dir/synproxyd.conf" --explain \
	-o /tmp/synproxyd-demo.pcap "$case_dir/input.pcap"
echo
echo "Output capture: /tmp/synproxyd-demo.pcap (tcpdump -nr /tmp/synproxyd-demo.pcap)"
