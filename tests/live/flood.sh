#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A bounded spoofed SYN flood (IPv4, sources spread over 198.18.0.0/15) at
# the protected redis port through synproxyd in gateway mode, with a SYN
# cache small enough to overflow into SYN cookies.  Asserts: no flood SYN
# reaches the backend (capture on its interface); the daemon's RSS stays
# below a bound computed from the configured table sizes; a real redis-cli
# still gets PONG during the flood; the counters account for the flood.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli
FLOOD_N=${FLOOD_N:-200000}
FLOOD_SECS=${FLOOD_SECS:-15}

lab_gateway
lab_flood_ns
start_redis "$SRV"
# Small tables: 16 buckets x 4 = 64 half-open entries, then cookies.
BUCKETS=16 BUCKET_LIMIT=4 MAX_ENTRIES=64 FLOWS_MAX=1024 HOLD_BYTES=262144
override syncache "64 entries: the flood overflows into cookies at once, and the RSS bound below is computed from small tables, tight enough to catch a per-SYN leak (shipped.sh floods the default tables)"
override flows "1024 flows and a 256 KiB hold pool: the same bound"
write_conf "cookies = \"auto\";
syncache = { buckets = $BUCKETS; bucket_limit = $BUCKET_LIMIT; max_entries = $MAX_ENTRIES; };
flows = { max = $FLOWS_MAX; hold_bytes = $HOLD_BYTES; };"
daemon_start
check_eq "redis PONG before the flood" "$(redis_ping "$BACKEND4")" PONG

# The bound: the engine's tables as the config sizes them (64 bytes per SYN
# cache entry + 24 per bucket, at most 1 KiB per flow, the hold budget),
# plus 8 MiB for the process itself (libc, libconfig, thread stacks, the
# netlink receive buffers; it measures about 3 MiB here), 24 MiB when built
# with ASan (its runtime and shadow: about 10.5 MiB here).  A per-SYN leak of
# even 50 bytes would exceed it after 200,000 SYNs.  The growth during the
# flood is bounded by the tables alone, in either build.
TABLES=$((64 * MAX_ENTRIES + 24 * BUCKETS + 1024 * FLOWS_MAX + HOLD_BYTES))
PROC_KB=8192
daemon_sanitized && PROC_KB=24576
BOUND_KB=$((PROC_KB + TABLES / 1024))
RSS0=$(daemon_rss_kb)
echo "daemon VmRSS before the flood: $RSS0 kB (bound $BOUND_KB kB; engine memory_bytes $(ctl_counter memory_bytes))"

cap_start back "$SRV" s0 "$SYN_FILTER"
bsyn0=$(ctl_counter backend_syn_sent)
bretr0=$(ctl_counter backend_syn_retrans)
syn0=$(ctl_counter syn_received)
log "flooding $FLOOD_N spoofed SYNs over ~$FLOOD_SECS s"
bg_ns "$FLD" timeout $((FLOOD_SECS * 3 + 15)) "$PY" "$LIVE_DIR/scapy_client.py" flood \
	"$BACKEND4" 6379 "$FLOOD_N" "$FLOOD_SECS"
FLOOD_PID=$LASTPID

sleep 3
pong=
for try in 1 2 3; do
	pong=$(redis_ping "$BACKEND4")
	echo "during the flood, redis-cli ping try $try: ${pong:-no answer}"
	[ "$pong" = PONG ] && break
done
check_eq "redis PONG during the flood" "$pong" PONG
RSS_MID=$(daemon_rss_kb)
echo "daemon VmRSS during the flood: $RSS_MID kB"

wait_gone "$FLOOD_PID" $((FLOOD_SECS * 3 + 15)) "the flooder"
wait "$FLOOD_PID"
check_eq "flooder exit status" "$?" 0
sleep 1
cap_stop back
RSS1=$(daemon_rss_kb)
echo "daemon VmRSS after the flood: $RSS1 kB (bound $BOUND_KB kB)"
check_le "VmRSS during the flood below the bound" "$RSS_MID" "$BOUND_KB"
check_le "VmRSS after the flood below the bound" "$RSS1" "$BOUND_KB"
check_le "VmRSS growth during the flood within the tables (kB)" $((RSS1 - RSS0)) \
	$((TABLES / 1024 + 1024))

ctl_show syn_received synack_sent syncache_added syncache_full syncache_evicted cookie_sent \
	backend_syn_sent flows_created syncache_entries memory_bytes
syns=$(( $(ctl_counter syn_received) - syn0 ))
echo "flood SYNs counted by the daemon: $syns of $FLOOD_N sent"
check_ge "syn_received >= 95% of the flood" "$syns" $((FLOOD_N * 95 / 100))
check_le "syn_received <= flood + real clients" "$syns" $((FLOOD_N + 10))
check_ge "cookie_sent: the full cache fell back to cookies" "$(ctl_counter cookie_sent)" \
	$((FLOOD_N / 2))
check_ge "syncache_full counted" "$(ctl_counter syncache_full)" 1
check_le "syncache_entries within max_entries" "$(ctl_counter syncache_entries)" "$MAX_ENTRIES"
# The positive control: the same capture saw the SYN the daemon sent for
# the real client's PING during the flood, so a flood SYN that got
# through would have been seen too.
check_flood_syns back 1
check_eq "backend SYNs == backend_syn_sent + backend_syn_retrans (the real client only)" \
	"$(cap_count back)" "$(( $(ctl_counter backend_syn_sent) - bsyn0 + \
		$(ctl_counter backend_syn_retrans) - bretr0 ))"
check_eq "redis PONG after the flood" "$(redis_ping "$BACKEND4")" PONG
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
