#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of the daemon's logging (root): with JOURNAL_STREAM naming its
# stderr, as systemd sets it when stderr is the journal, every line the
# daemon writes starts with a <N> syslog priority (sd-daemon(3)) and no
# name: errors <3>, notices <5>, info <6>; a command-line action
# (--install-rules) does the same, and without the match lines stay
# "synproxyd: LEVEL: ...".  A bounded spoofed SYN flood (IPv4, from the
# flood namespace) with a SYN cache small enough to overflow gets one
# notice when it starts (its rate, rule v4, cookies taking over) and one
# when it ends (its SYNs, about all of the flood), and none in between.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli
FLOOD_N=${FLOOD_N:-30000}
FLOOD_SECS=${FLOOD_SECS:-3}

lab_gateway
lab_flood_ns
start_redis "$SRV" 120
override syncache "64 entries: the flood overflows into cookies at once, so the notice says they took over (shipped.sh floods the default tables)"
write_conf 'cookies = "auto";
syncache = { buckets = 16; bucket_limit = 4; max_entries = 64; };'

# stream_of FILE: "DEVICE:INODE" of FILE, as systemd writes JOURNAL_STREAM.
stream_of() {
	stat -L -c '%d:%i' "$1"
}

# A command-line action logs through the same code: with PATH empty of
# iptables, --install-rules reports an error, prefixed <3> when its stderr
# is the stream JOURNAL_STREAM names, with the name otherwise.
: >"$TMP/cli.err"
env PATH=/nonexistent JOURNAL_STREAM="$(stream_of "$TMP/cli.err")" \
	"$SYNPROXYD" -c "$CONF" --install-rules 2>>"$TMP/cli.err"
check_eq "--install-rules without iptables: exit status" "$?" 1
cat "$TMP/cli.err"
check "--install-rules error with <3>" grep -q '^<3>iptables-restore not found in PATH' "$TMP/cli.err"
: >"$TMP/cli2.err"
env PATH=/nonexistent JOURNAL_STREAM="$(stream_of "$TMP/cli.err")" \
	"$SYNPROXYD" -c "$CONF" --install-rules 2>>"$TMP/cli2.err"
check "--install-rules error named when stderr is not the stream" \
	grep -q '^synproxyd: error: iptables-restore not found in PATH' "$TMP/cli2.err"

: >"$TMP/daemon.log"
DAEMON_WRAP="env JOURNAL_STREAM=$(stream_of "$TMP/daemon.log")"
daemon_start
check_eq "redis PONG through the proxy" "$(redis_ping "$BACKEND4")" PONG

log "flooding $FLOOD_N spoofed SYNs over ~$FLOOD_SECS s"
bg_ns "$FLD" timeout $((FLOOD_SECS * 5 + 15)) "$PY" "$LIVE_DIR/scapy_client.py" flood \
	"$BACKEND4" 6379 "$FLOOD_N" "$FLOOD_SECS"
FLOOD_PID=$LASTPID
wait_gone "$FLOOD_PID" $((FLOOD_SECS * 5 + 15)) "the flooder"
wait "$FLOOD_PID"
check_eq "flooder exit status" "$?" 0
t_end=$(date +%s)
# The end notice comes 5 s (flood.h, FLOOD_QUIET_MS) after the last SYN the
# cache could not take.
wait_log '^<5>SYN flood ended' 15
echo "end notice $(($(date +%s) - t_end)) s after the flooder finished"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0

echo "--- the daemon's log"
cat "$TMP/daemon.log"
echo "---"
check "every line has a <N> priority and no name" \
	sh -c "! grep -v '^<[0-7]>' '$TMP/daemon.log' && ! grep -q 'synproxyd: ' '$TMP/daemon.log'"
check "the start-up notice is <5>" grep -q '^<5>started: gateway mode' "$TMP/daemon.log"
check "info lines are <6> (rules installed, worker ready)" \
	grep -q '^<6>rules: IPv4 rules installed' "$TMP/daemon.log"
check "the stop notice is <5>" grep -q '^<5>stopped' "$TMP/daemon.log"
check_eq "one flood start notice" "$(grep -c '^<5>SYN flood:' "$TMP/daemon.log")" 1
check_eq "one flood end notice" "$(grep -c '^<5>SYN flood ended' "$TMP/daemon.log")" 1
check_eq "no report while it went on (under a minute)" \
	"$(grep -c '^<5>SYN flood goes on' "$TMP/daemon.log")" 0
check "the start notice has the rate, rule v4 and cookies taking over" \
	grep -Eq '^<5>SYN flood: [0-9]+ SYNs/s, rule v4 \([0-9]+ SYNs to it\); the SYN cache is full, cookies answer' \
	"$TMP/daemon.log"
ended=$(sed -n 's/^<5>SYN flood ended: \([0-9]*\) SYNs over .*rule v4.*cookies answer.*/\1/p' \
	"$TMP/daemon.log")
check_ge "the end notice counts the flood's SYNs (95%)" "${ended:-0}" $((FLOOD_N * 95 / 100))
check_le "... and no more than were sent (and a real client's)" "${ended:-0}" $((FLOOD_N + 10))
lab_finish
