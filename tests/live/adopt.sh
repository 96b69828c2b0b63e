#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Connections that predate the daemon: the gateway's own firewall tracks
# connections (an ESTABLISHED,RELATED accept, as most hosts have), two
# echo connections are opened straight to the backend, then synproxyd
# starts with its rules.  With the fast path (the default) it adopts them
# (flows_adopted; their conntrack entries carry its mark) and both keep
# every reply right; a new connection is proxied as usual.  The control:
# with fastpath "off" there is nothing to adopt them with, and the same
# connections die (the engine takes their segments for forged cookies),
# which shows the first run could fail.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/live/lib.sh"

lab_init conntrack
lab_gateway
start_echo "$SRV" 200
in_ns "$GW" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
SOCK="$TMP/ctl/control.sock"

# pool_before FILE: two echo connections for 6 s, opened before the daemon.
pool_before() {
	bg_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 6379 echo 2 6 0.1 "$TMP/$1.ready" \
		>"$TMP/$1.out" 2>&1
	POOL=$LASTPID
	i=0
	until [ -e "$TMP/$1.ready" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "the pool did not connect: $(cat "$TMP/$1.out")"
		sleep 0.1
	done
	sleep 0.5
}

log "== fast path on (the default): adopted"
pool_before adopt
write_conf ""
daemon_start
check_eq "their conntrack entries carry the daemon's mark" \
	"$(in_ns "$GW" conntrack -L -p tcp --dport 6379 --mark 0x5350 2>/dev/null | grep -c ESTABLISHED)" 2
wait "$POOL"
rc=$?
tail -n 1 "$TMP/adopt.out"
check_eq "connections from before the daemon adopted" "$(ctl_counter flows_adopted)" 2
check_eq "and they kept every reply right" "$rc" 0
check "adoption logged" grep -q "adopted 2 connections established before synproxyd" "$TMP/daemon.log"
cnt_before=$(ctl_counter backend_established)
check_eq "a new connection is proxied" "$(in_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 6379 echo 1 0.3 | tail -n 1 | cut -d' ' -f2)" "ok:"
check_eq "by the daemon" "$(ctl_counter backend_established)" $((cnt_before + 1))
daemon_stop

log "== fastpath off: nothing to adopt them with (the control)"
in_ns "$GW" conntrack -F 2>/dev/null
pool_before noadopt
override fastpath "the control: without the fast path a connection from before the daemon cannot be adopted, so the adopted run's check could fail"
write_conf 'fastpath = "off";'
daemon_start
wait "$POOL"
rc=$?
tail -n 1 "$TMP/noadopt.out"
check_eq "nothing adopted without the fast path" "$(ctl_counter flows_adopted)" 0
check "the same connections fail without adoption" test "$rc" != 0
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
