#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Soak: SOAK_SECONDS (default 75) of mixed load on a gateway-mode synproxyd
# -- a loop of short real connections (connect, echo, close) from the client
# and bursts of a SYN flood from 198.18.0.0/15 -- sampling the daemon's
# VmRSS every 5 s.  Asserts: RSS does not grow after the warm-up (first
# 20 s) by more than SOAK_TOL_KB (default 2048), RSS stays under a bound
# computed from the configured table sizes, >= 95% of the real connections
# succeed, and the daemon stops cleanly.  The samples are printed.
set -u
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/hostile_lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-75}
SOAK_TOL_KB=${SOAK_TOL_KB:-2048}
WARMUP=20
# Table sizes; the RSS bound is derived from them.
SC_MAX=8192 SC_BUCKETS=2048 FLOWS=8192 HOLD=1048576

lab_init
lab_gateway
lab_flood_ns
start_echo "$SRV" $((SOAK_SECONDS + 120))
FMAC=$(ns_mac "$GW" g2)
override syncache "8192 entries in 2048 rows: the RSS bound is computed from the tables, small enough that a leak shows within the run"
override flows "8192 flows, a 1 MiB hold pool: the same bound"
hostile_conf default "" "syncache = { buckets = $SC_BUCKETS; bucket_limit = 8; max_entries = $SC_MAX; };
flows = { max = $FLOWS; hold_bytes = $HOLD; };"
daemon_start
# Generous per-entry costs (a SYN cache entry and a flow are well under
# 256 and 1024 bytes; the flow table also has a hash slot per entry), the
# hold pool, and 32 MB for the binary, libraries, the thread stacks and
# the netlink buffers.
BOUND_KB=$(( (SC_MAX * 256 + SC_BUCKETS * 64 + FLOWS * 1024 + HOLD) / 1024 + 32768 ))
echo "RSS bound from the tables: $BOUND_KB kB"

# Real connections for the whole run; prints "real ok N fail M" at the end.
bg_ns "$CLI" timeout $((SOAK_SECONDS + 30)) "$PY" -c '
import socket, sys, time
end = time.monotonic() + float(sys.argv[2])
ok = bad = 0
while time.monotonic() < end:
    try:
        c = socket.create_connection((sys.argv[1], 6379), timeout=5)
        c.settimeout(5)
        m = b"soak %d\n" % ok
        c.sendall(m)
        got = b""
        while len(got) < len(m):
            d = c.recv(100)
            if not d:
                break
            got += d
        c.close()
        if got == m:
            ok += 1
        else:
            bad += 1
    except OSError:
        bad += 1
    time.sleep(0.05)
print("real ok %d fail %d" % (ok, bad))
' "$BACKEND4" "$SOAK_SECONDS" >"$TMP/real.out" 2>&1
REAL_PID=$LASTPID

# Flood bursts: 50000 SYNs from random sources, then a pause.
(
	end=$(( $(date +%s) + SOAK_SECONDS ))
	n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		ip netns exec "$FLD" timeout 30 "$PY" "$HOSTILE_PY" syn-many --iface f0 \
			--gwmac "$FMAC" --dst "$BACKEND4" --count 50000 --seconds 3 2>&1 |
			awk '$1 == "sent" { print }'
		n=$((n + 1))
		sleep 1
	done
) >"$TMP/flood.out" 2>&1 &
FLOOD_PID=$!
LAB_PIDS="$LAB_PIDS $FLOOD_PID"

samples=
t=0
warm=
max_after=0
while [ $t -le "$SOAK_SECONDS" ]; do
	kill -0 "$DPID" 2>/dev/null || fail "daemon died at t=${t}s"
	rss=$(daemon_rss_kb)
	samples="$samples $t:$rss"
	echo "t=${t}s VmRSS ${rss} kB"
	if [ $t -ge $WARMUP ]; then
		[ -z "$warm" ] && warm=$rss
		[ "$rss" -gt "$max_after" ] && max_after=$rss
	fi
	[ $t -ge "$SOAK_SECONDS" ] && break
	sleep 5
	t=$((t + 5))
done
wait "$REAL_PID"
wait "$FLOOD_PID"
echo "RSS samples (s:kB):$samples"
echo "flood bursts: $(wc -l <"$TMP/flood.out"), $(awk '{ s += $3 } END { print s }' "$TMP/flood.out") SYNs"
cat "$TMP/real.out"
ctl_show syn_received synack_sent cookie_sent syncache_evicted syncache_full flows_created \
	flows_closed flows_expired flows_offloaded offload_released flows_active backend_established
check_daemon_alive soak
check_le "RSS growth after warm-up (kB; at ${WARMUP}s: $warm)" $((max_after - warm)) "$SOAK_TOL_KB"
check_le "RSS under the bound from the tables (kB)" "$max_after" "$BOUND_KB"
ok=$(awk '{ print $3 }' "$TMP/real.out")
bad=$(awk '{ print $5 }' "$TMP/real.out")
check_ge "real connections made" "${ok:-0}" 50
check_le "real connections failed (<= 5%)" "${bad:-999}" $(( (${ok:-0} + ${bad:-0}) / 20 ))
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
