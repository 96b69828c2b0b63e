#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rotating the cookie secret (secret_file, docs/deployment.md) on the real
# daemon.  A client (scapy) gets its SYN-ACK, the secret file changes and
# the daemon reloads or restarts, then the client sends its handshake ACK
# with a line of data the echo server must return:
#   - a reload with a new first line: the replaced secret's cookie still
#     validates (cookie_previous_secret);
#   - a reload whose second line names another secret: a cookie of a
#     secret the file no longer names fails (cookie_invalid_mac), one of
#     the secret the second line names validates;
#   - a secret file group-readable: the reload fails, the secrets stay;
#   - a restart with a changed file: the last process's secret (carried
#     by the state file) still validates.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/live/lib.sh"

lab_init redis-server
lab_gateway
start_echo "$SRV" 200 5201
override secret_file "the secret under rotation (the example leaves it commented out: a random secret per start)"
override cookies "\"always\": every handshake is completed by its cookie, which is what the secret decides; with the SYN cache (\"auto\") the ACK to this daemon's own SYN-ACK finds its entry and never meets the secret"
PORTS=5201
write_conf "secret_file = \"$TMP/secret\"; cookies = \"always\";"
hex() {	# a random secret
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}
OLD=$(hex) NEW=$(hex) NEWER=$(hex) NEWEST=$(hex)
secret() {	# LINE...: writes the secret file
	(umask 077; printf '%s\n' "$@" >"$TMP/secret")
}
secret "$OLD"
daemon_start
# The client's kernel knows nothing of scapy's connections: its RSTs go.
in_ns "$CLI" iptables -A OUTPUT -p tcp --sport 41000:41099 --tcp-flags RST RST -j DROP

# held SPORT: a handshake up to its SYN-ACK, the ACK held until go SPORT.
held() {
	mkdir -p "$TMP/h$1"
	bg_ns "$CLI" sh -c '"$@" >"$0" 2>&1; echo $? >"$0.rc"' "$TMP/h$1/out" \
		timeout 90 "$PY" "$LIVE_DIR/scapy_client.py" held-ack "$BACKEND4" 5201 "$1" "$TMP/h$1"
	i=0
	until [ -f "$TMP/h$1/synack" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "held handshake $1: no SYN-ACK ($(cat "$TMP/h$1/out"))"
		sleep 0.1
	done
}
# go SPORT: sends the held ACK; prints the client's exit status.
go() {
	touch "$TMP/h$1/go"
	i=0
	until [ -s "$TMP/h$1/out.rc" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "held handshake $1 did not finish"
		sleep 0.1
	done
	cat "$TMP/h$1/out.rc"
}

log "== a reload with a new secret: the replaced one's cookie still validates"
held 41001
secret "$NEW"
check_eq "reload" "$(ctl reload)" ok
check "the change is logged" grep -q "cookie secret changed" "$TMP/daemon.log"
cnt_snap A
check_eq "the old secret's cookie completes its handshake" "$(go 41001)" 0
cnt_snap B
check_eq "validated with the previous secret" "$(cnt_delta A B cookie_previous_secret)" 1
check_eq "a cookie" "$(cnt_delta A B cookie_valid)" 1

log "== a second line: the secret it names is accepted, no other"
held 41002
held 41003
secret "$NEWER" "$OLD"
check_eq "reload" "$(ctl reload)" ok
cnt_snap A
check "NEW's cookie fails once the file names NEWER and OLD" test "$(go 41002)" != 0
cnt_snap B
check_eq "refused by its MAC" "$(cnt_delta A B cookie_invalid_mac)" 1
check_eq "nothing validated" "$(cnt_delta A B cookie_valid)" 0
secret "$NEWER" "$NEW"
check_eq "reload" "$(ctl reload)" ok
cnt_snap A
check_eq "NEW's cookie completes once the second line names it" "$(go 41003)" 0
cnt_snap B
check_eq "validated with the second secret" "$(cnt_delta A B cookie_previous_secret)" 1

log "== a secret file others may read: the reload fails, nothing changes"
held 41004
chmod 644 "$TMP/secret"
r=$(ctl reload)
rc=$?
echo "reload: $r"
check_eq "synproxyctl reload exits 1" "$rc" 1
check "answered error:" sh -c 'case "$1" in "error: secret file"*) ;; *) exit 1;; esac' _ "$r"
chmod 600 "$TMP/secret"
check_eq "the running secret (NEWER) still makes and checks cookies" "$(go 41004)" 0
r=$(in_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 5201 echo 1 0.3 | tail -n 1 | cut -d' ' -f2)
check_eq "a real client's connection" "$r" "ok:"

log "== a restart with a changed file: the last process's secret still validates"
held 41005
daemon_stop
check_eq "exit status" "$DAEMON_RC" 0
secret "$NEWEST"
daemon_start
check "the change across the restart is logged" \
	grep -q "cookie secret changed .* since the last process" "$TMP/daemon.log"
cnt_snap A
check_eq "NEWER's cookie completes after the restart" "$(go 41005)" 0
cnt_snap B
check_eq "validated with the previous secret" "$(cnt_delta A B cookie_previous_secret)" 1
daemon_stop
check_eq "exit status" "$DAEMON_RC" 0
lab_finish
