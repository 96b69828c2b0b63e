#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Configuration errors, reload and stop, against the real daemon:
#  - synproxyd -c BAD -t exits non-zero with 'FILE:LINE: message' for a
#    syntax error, an unknown key, a bad CIDR, port 0 and overlapping rules;
#  - SIGHUP with a rule added keeps an open redis connection working and the
#    counters, and installs the new rule;
#  - SIGHUP with a broken file logs FILE:LINE and keeps the old config (the
#    open connection and new connections still work, rules unchanged);
#  - synproxyctl reload answers "error:" and exits 1 for a broken file and
#    for rules iptables-restore refuses (a wrapper in the daemon's PATH
#    refuses on demand), both leaving the running rules in place; a file
#    that changes a restart-only setting (queue.maxlen) is applied but for
#    that setting, answered "restart needed: queue" with exit 3;
#  - SIGTERM exits 0 and leaves iptables-save and ip6tables-save in the
#    daemon's namespace exactly as they were before it started.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli

# ---- broken files: expected line and a word of the message ---------------
bad() {	# NAME LINE WORD (file on stdin)
	f="$TMP/bad-$1.conf"
	cat >"$f"
	err=$("$SYNPROXYD" -c "$f" -t 2>&1)
	rc=$?
	echo "synproxyd -t $1: exit $rc: $err"
	check "-t $1 exits non-zero" test "$rc" -ne 0
	check "-t $1 reports $f:$2: ...$3..." \
		sh -c 'printf "%s\n" "$1" | grep -q "^$2:$3: .*$4"' _ "$err" "$f" "$2" "$3"
}
bad syntax 3 'syntax' <<'B'
mode = "gateway";
rules = (
	{ name = "a"; dst = = "203.0.113.2"; ports = [ 6379 ]; }
);
B
bad unknown 2 'maxln' <<'B'
mode = "gateway";
queue = { num = 0; maxln = 10; };
rules = ( { name = "a"; dst = "203.0.113.2"; ports = [ 6379 ]; } );
B
bad cidr 3 'dst' <<'B'
mode = "gateway";
rules = (
	{ name = "a"; dst = "203.0.113.2/33"; ports = [ 6379 ]; }
);
B
bad port0 3 'ports' <<'B'
mode = "gateway";
rules = (
	{ name = "a"; dst = "203.0.113.2"; ports = [ 0 ]; }
);
B
bad overlap 4 'overlaps' <<'B'
mode = "gateway";
rules = (
	{ name = "a"; dst = "203.0.113.0/24"; ports = [ 6379, 80 ]; },
	{ name = "b"; dst = "203.0.113.2"; ports = [ 80 ]; }
);
B

# ---- the running daemon ---------------------------------------------------
lab_gateway
start_redis "$SRV"
# A host firewall with a rule of its own in each table the daemon uses.
for t in iptables ip6tables; do
	in_ns "$GW" $t -t raw -A OUTPUT -p udp --dport 9 -j ACCEPT || fail "$t raw"
	in_ns "$GW" $t -t filter -A FORWARD -p udp --dport 9 -j ACCEPT || fail "$t filter"
	in_ns "$GW" $t -t filter -A INPUT -p udp --dport 9 -j ACCEPT || fail "$t filter"
done
in_ns "$GW" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/ipt4.before"
in_ns "$GW" ip6tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/ipt6.before"
# The daemon finds iptables-restore through this wrapper, which fails
# while $TMP/refuse exists (as it does when the kernel or the xtables lock
# refuses a transaction).
mkdir -p "$TMP/bin"
for tool in iptables-restore ip6tables-restore; do
	real=$(command -v $tool) || fail "$tool not found"
	printf '#!/bin/sh
if [ -e "%s/refuse" ]; then echo "%s: refused by the test" >&2; exit 1; fi
exec %s "$@"
' \
		"$TMP" "$tool" "$real" >"$TMP/bin/$tool"
	chmod +x "$TMP/bin/$tool"
done
PORTS=6379
write_conf
PATH="$TMP/bin:$PATH" daemon_start
check "rules for port 6379 installed" sh -c "ip netns exec $GW iptables-save | grep -q 'dports 6379'"

# A long-lived redis client: one TCP connection, a PING per line on the FIFO.
mkfifo "$TMP/cmd"
# Opened read-write first, so that neither open blocks.
exec 3<>"$TMP/cmd"
# (Started directly, not with bg_ns: an asynchronous command's stdin is
# /dev/null unless it is redirected on that very command.)
ip netns exec "$CLI" timeout 120 "$PY" -u -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 6379), timeout=5)
print("connected", flush=True)
for line in sys.stdin:
    c.sendall(b"*1\r\n$4\r\nping\r\n")
    r = c.recv(64)
    print(r.decode().strip() or "EOF", flush=True)
' "$BACKEND4" <"$TMP/cmd" >"$TMP/long.out" 2>&1 &
LAB_PIDS="$LAB_PIDS $!"
# long_ping N: sends one PING on the open connection; waits for answer N.
long_ping() {
	echo ping >&3
	i=0
	until [ "$(grep -c . "$TMP/long.out")" -ge "$1" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && break
		sleep 0.1
	done
	sed -n "${1}p" "$TMP/long.out"
}
check_eq "long-lived connection: first PING" "$(long_ping 2)" +PONG
flows0=$(ctl_counter flows_created)
syn0=$(ctl_counter syn_received)
ctl_show syn_received flows_created flows_active

# Reload with one more rule (port 80 as well).
PORTS="6379, 80"
write_conf
kill -HUP "$DPID"
i=0
until in_ns "$GW" iptables-save | grep -q 'dports 6379,80\|dports 80'; do
	i=$((i + 1))
	[ $i -gt 50 ] && break
	sleep 0.1
done
check "after SIGHUP the new rule (port 80) is installed" \
	sh -c "ip netns exec $GW iptables-save | grep -q 'dports 6379,80\|dports 80'"
check "daemon still running after SIGHUP" kill -0 "$DPID"
check_eq "long-lived connection after the reload" "$(long_ping 3)" +PONG
check_ge "flows_created kept over the reload" "$(ctl_counter flows_created)" "$flows0"
check_ge "syn_received kept over the reload" "$(ctl_counter syn_received)" "$syn0"
check_eq "a new connection after the reload" "$(redis_ping "$BACKEND4")" PONG
check_eq "a new IPv6 connection after the reload" "$(redis_ping "$BACKEND6")" PONG

# Reload with a broken file: logged with FILE:LINE, the old config stays.
cp "$CONF" "$TMP/good.conf"
printf 'mode = "gateway";\nrules = (\n\t{ name = "x"; dst = "203.0.113.2"; ports = [ 0 ]; }\n);\n' >"$CONF"
in_ns "$GW" iptables-save | grep SYNPROXYD | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/rules.good"
kill -HUP "$DPID"
wait_log "$CONF:3:" 5
echo "daemon log: $(grep "$CONF:" "$TMP/daemon.log" | tail -n 1)"
check "the failed reload is logged as FILE:LINE: message" grep -q "$CONF:3: " "$TMP/daemon.log"
check "daemon still running after the bad reload" kill -0 "$DPID"
in_ns "$GW" iptables-save | grep SYNPROXYD | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/rules.after"
check "rules unchanged by the bad reload" cmp -s "$TMP/rules.good" "$TMP/rules.after"
check_eq "long-lived connection after the bad reload" "$(long_ping 4)" +PONG
check_eq "a new connection after the bad reload" "$(redis_ping "$BACKEND4")" PONG
ctl_show syn_received flows_created flows_active backend_established

# synproxyctl reload's answer and exit status, for systemctl reload.
ctl_reload() {	# prints "RC ANSWER"
	a=$(ctl reload 2>&1)
	echo "$? $a"
}
r=$(ctl_reload)
echo "synproxyctl reload, broken file: $r"
check "broken file: exit 1, error: FILE:LINE" sh -c 'case "$1" in "1 error: $2:3: "*) ;; *) exit 1;; esac' _ "$r" "$CONF"
in_ns "$GW" iptables-save | grep SYNPROXYD | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/rules.after"
check "rules unchanged by the broken file" cmp -s "$TMP/rules.good" "$TMP/rules.after"

# A valid file (port 5201 added) whose rules iptables-restore refuses.
PORTS="6379, 80, 5201"
write_conf
touch "$TMP/refuse"
r=$(ctl_reload)
echo "synproxyctl reload, rules refused: $r"
check "refused rules: exit 1, error:" sh -c 'case "$1" in "1 error: "*) ;; *) exit 1;; esac' _ "$r"
check "refused rules: the wrapper was run" grep -q "refused by the test" "$TMP/daemon.log"
in_ns "$GW" iptables-save | grep SYNPROXYD | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/rules.after"
check "refused rules: rules unchanged" cmp -s "$TMP/rules.good" "$TMP/rules.after"
check_eq "refused rules: a new connection" "$(redis_ping "$BACKEND4")" PONG
check_eq "refused rules: the long-lived connection" "$(long_ping 5)" +PONG
rm -f "$TMP/refuse"

# The same file with the queue length changed: all but that is applied.
override queue.maxlen "changed by the reload check, which expects 'restart needed: queue'"
write_conf 'queue = { maxlen = 4096; };'
conf_overrides "$CONF"
r=$(ctl_reload)
echo "synproxyctl reload, queue changed: $r"
check "queue changed: exit 3, restart needed: queue" \
	sh -c 'case "$1" in "3 restart needed: queue changed"*) ;; *) exit 1;; esac' _ "$r"
check "queue changed: the new rule (port 5201) is installed" \
	sh -c "ip netns exec $GW iptables-save | grep -q 'dports 6379,80,5201'"
check_eq "queue changed: a new connection" "$(redis_ping "$BACKEND4")" PONG
check_eq "queue changed: the long-lived connection" "$(long_ping 6)" +PONG
write_conf
check_eq "the file as it runs again: ok" "$(ctl_reload)" "0 ok"

exec 3>&-
daemon_stop
check_eq "exit status after SIGTERM" "$DAEMON_RC" 0
in_ns "$GW" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/ipt4.after"
in_ns "$GW" ip6tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$TMP/ipt6.after"
check "iptables-save identical to before the daemon" cmp "$TMP/ipt4.before" "$TMP/ipt4.after"
check "ip6tables-save identical to before the daemon" cmp "$TMP/ipt6.before" "$TMP/ipt6.after"
lab_finish
