#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package under a real systemd, as an administrator runs it.
#
#   tests/package/systemd.sh DEB
#
# A Debian system with systemd (mmdebstrap: the host's release and apt
# sources, minbase, the package DEB installed with its dependencies) boots
# in a container (systemd-nspawn) whose network is the lab gateway's
# namespace: the client and the backend (redis on 6379, an echo server on
# 80 and 5201) are namespaces outside it, as they would be other hosts.
# The configuration is the packaged /etc/synproxyd/synproxyd.conf with the
# lab's client networks in its allow list (tests/live/shipped.sh does the
# same to the example); everything else is the package's: the unit, the
# control socket, the state file, syslog to journald.
#
#   install    the unit is neither enabled nor started by the package
#   start      systemctl enable --now: rules in place, redis and web work
#   reload     a broken file: systemctl reload fails, the daemon and its
#              rules go on unchanged; a new port: applied and protected; a
#              restart-only setting: systemctl reload fails and says so
#   restart    under load (8 redis and 4 echo connections, a reply checked
#              every 0.1 s) and a spoofed SYN flood: two systemctl restart
#              and a package upgrade (dpkg -i, whose postinst restarts the
#              service): every connection survives, not one flood SYN at
#              the backend (the real clients' SYNs counted there as the
#              positive control), the rules never leave
#   crash      SIGKILL: the rules stay until systemd restarts the daemon
#   flush      iptables -F and nft flush ruleset: the rules are back
#              within 5 s (the daemon runs with -r)
#   adopt      a connection opened while the service was stopped is
#              adopted at the next start and keeps working
#   stop       systemctl stop: iptables-save as before the first start
set -u
DEB=${1:-}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/live/lib.sh"
. "$top_srcdir/tests/live/xdp_lib.sh"
[ -n "$DEB" ] && [ -f "$DEB" ] || { echo "usage: $0 PATH/synproxyd_VERSION_ARCH.deb"; exit 2; }
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
# lab_init wants a daemon binary: the package's.
SYNPROXYD=$(mktemp -d /tmp/spd-debx.XXXXXX)/root
dpkg-deb -x "$DEB" "$SYNPROXYD" || { echo "dpkg-deb -x $DEB failed"; exit 1; }
DEBX=$SYNPROXYD
SYNPROXYD=$DEBX/usr/sbin/synproxyd
lab_init mmdebstrap systemd-nspawn nsenter trafgen redis-server redis-cli

ROOT=
NSPAWN=
INIT=
# The container goes before the namespaces (lab_cleanup), the rootfs after.
cleanup() {
	rc=$?
	if [ "$rc" != 0 ] && [ -n "$INIT" ]; then
		echo "--- the unit's journal (last 40 lines)"
		nsenter -t "$INIT" -a journalctl -u synproxyd --no-pager -o short-monotonic | tail -n 40
	fi
	if [ -n "$NSPAWN" ]; then
		kill -TERM "$NSPAWN" 2>/dev/null
		i=0
		while kill -0 "$NSPAWN" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$NSPAWN" 2>/dev/null
	fi
	[ -n "$ROOT" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$ROOT"
	rm -rf "$(dirname "$DEBX")"
	(exit "$rc")
	lab_cleanup
}
trap cleanup EXIT

lab_gateway
lab_flood_ns
start_redis "$SRV" 600
start_echo "$SRV" 600 80
start_echo "$SRV" 600 5201

# ---- the system -------------------------------------------------------------------
log "== a Debian system with the package (mmdebstrap)"
ROOT=$(mktemp -d /var/tmp/spd-root.XXXXXX)
. /etc/os-release
suite=${VERSION_CODENAME:?}
sources=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	[ -s "$f" ] && grep -q '^[^#]' "$f" && { sources=$f; break; }
done
t0=$(date +%s)
# shellcheck disable=SC2086 # $sources is one word or none
mmdebstrap --variant=minbase --include=systemd,systemd-sysv,iproute2,procps,man-db \
	--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
	--include="$DEB" "$suite" "$ROOT" $sources </dev/null >"$TMP/mmdebstrap.log" 2>&1 ||
	fail "mmdebstrap: $(tail -n 5 "$TMP/mmdebstrap.log")"
echo "mmdebstrap: $(($(date +%s) - t0)) s, $(du -sm "$ROOT" | cut -f1) MB"
cp "$DEB" "$ROOT/var/tmp/"

# The packaged configuration, its allow list made the lab's client networks.
PKGCONF=$ROOT/etc/synproxyd/synproxyd.conf
cp "$PKGCONF" "$TMP/packaged.conf"
check "the packaged configuration is the example" \
	cmp -s "$TMP/packaged.conf" "$top_srcdir/etc/synproxyd.conf.example"
# The metrics endpoint is off by default; its lines are uncommented as
# shipped, to check that it serves under the unit's sandbox.
sed -i -e 's|"198\.51\.100\.0/24"|"192.0.2.0/24"|' -e 's|"2001:db8:100::/48"|"2001:db8:1::/48"|' \
	-e 's|^# metrics = {|metrics = {|' -e 's|^#\tlisten = "127.0.0.1:9464";|\tlisten = "127.0.0.1:9464";|' \
	-e '/^\tlisten = "127.0.0.1:9464";/{n;s|^# };|};|}' "$PKGCONF"
diff "$TMP/packaged.conf" "$PKGCONF"
check_eq "lines changed in the packaged configuration (the allow list, metrics)" \
	"$(diff "$TMP/packaged.conf" "$PKGCONF" | grep -c '^>')" 4
cp "$PKGCONF" "$TMP/lab.conf"

# ---- boot -----------------------------------------------------------------------------
log "== boot (systemd-nspawn in the gateway's namespace)"
systemd-nspawn --quiet --register=no --keep-unit --console=passive \
	--capability=CAP_NET_ADMIN,CAP_NET_RAW \
	--network-namespace-path="/run/netns/$GW" -D "$ROOT" -b >"$TMP/nspawn.log" 2>&1 &
NSPAWN=$!
i=0
# The container's init: nspawn's child once it runs systemd (nspawn forks
# helpers first).
until INIT=$(pgrep -P "$NSPAWN" -x systemd 2>/dev/null | head -n 1) && [ -n "$INIT" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the container did not start: $(tail -n 5 "$TMP/nspawn.log")"
	sleep 0.1
done
# ct CMD...: CMD inside the container.
ct() {
	nsenter -t "$INIT" -a "$@"
}
# systemctl answers once the container's systemd has set up its socket.
i=0
until st=$(ct timeout 90 systemctl is-system-running --wait 2>&1) ||
	case "$st" in *bus*) false ;; *) true ;; esac; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
echo "system: $st"
case "$st" in
running | degraded) ;;
*) fail "the container did not boot: $st" ;;
esac
[ "$st" = degraded ] && ct systemctl --failed --no-legend
# synproxyctl inside the container, at the package's default socket, for
# lib.sh's counter helpers.
SOCK=/run/synproxyd/control.sock
printf '#!/bin/sh\nexec nsenter -t %s -a /usr/bin/synproxyctl "$@"\n' "$INIT" >"$TMP/ctl.sh"
chmod +x "$TMP/ctl.sh"
SYNPROXYCTL=$TMP/ctl.sh
# journal: the unit's journal lines since the boot.
journal() {
	ct journalctl -u synproxyd --no-pager -o cat 2>/dev/null
}
mainpid() {
	ct systemctl show -p MainPID --value synproxyd
}
rules_in() {
	in_ns "$GW" iptables-save | grep -q -- '-j NFQUEUE'
}
ipt_state() {	# FILE: both families' rules, counters stripped
	{
		in_ns "$GW" iptables-save
		in_ns "$GW" ip6tables-save
	} | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' >"$1"
}

# The host's own firewall: a rule in each table the daemon uses, saved as
# the administrator's rules file.
for t in iptables ip6tables; do
	in_ns "$GW" $t -t raw -A OUTPUT -p udp --dport 9 -j ACCEPT || fail "$t raw"
	in_ns "$GW" $t -A FORWARD -p udp --dport 9 -j ACCEPT || fail "$t filter"
	in_ns "$GW" $t -A INPUT -p udp --dport 9 -j ACCEPT || fail "$t filter"
	# A stateful firewall, as most hosts have (conntrack follows every
	# connection, which adoption relies on).
	in_ns "$GW" $t -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT ||
		fail "$t conntrack"
done
in_ns "$GW" iptables-save >"$TMP/admin4.rules"
in_ns "$GW" ip6tables-save >"$TMP/admin6.rules"

log "== install"
ct systemd-analyze verify synproxyd.service >"$TMP/verify.log" 2>&1
check_eq "systemd-analyze verify (the installed unit)" "$?:$(cat "$TMP/verify.log")" "0:"
exposure=$(ct systemd-analyze security synproxyd.service 2>/dev/null |
	awk '/Overall exposure level/ { print $(NF - 2) }')
echo "systemd-analyze security: exposure $exposure"
check "systemd-analyze security: exposure at most 2.5" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.5) }' 
check_eq "the unit is not enabled by the package" "$(ct systemctl is-enabled synproxyd)" disabled
check_eq "the unit is not started by the package" "$(ct systemctl is-active synproxyd)" inactive
ipt_state "$TMP/ipt.before"

log "== start"
ct systemctl enable --now synproxyd >"$TMP/enable.log" 2>&1
check_eq "systemctl enable --now" "$?" 0
check_eq "active" "$(ct systemctl is-active synproxyd)" active
check "rules in place" rules_in
check_eq "redis through the proxy" "$(redis_ping "$BACKEND4")" PONG
echo_once() {	# PORT: one line echoed through a new connection
	in_ns "$CLI" timeout 10 "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" "$1" echo 1 0.2 >/dev/null &&
		echo ok
}
check_eq "the web port (an echo server on 80) through the proxy" "$(echo_once 80)" ok
check_ge "the daemon answered the SYNs" "$(ctl_counter syn_received)" 2
check "journal: the start line" sh -c "nsenter -t $INIT -a journalctl -u synproxyd -o cat | grep -q 'started: gateway mode, 2 rules'"
# The metrics endpoint, from the gateway's namespace (the container's),
# through the Prometheus client's own parser.
metrics=$(in_ns "$GW" "$PY" -c '
from urllib.request import urlopen
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(
    urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())}
def val(name):
    return sum(s.value for s in fams[name].samples if s.name.startswith(name))
print(len(fams), int(val("synproxyd_syn_received")),
      int(val("synproxyd_config_last_reload_successful")),
      "synproxyd_build_info" in fams)
' 2>&1)
echo "metrics: $metrics (families, syn_received, last reload ok, build info)"
set -- $metrics
check_ge "metrics: families parsed" "${1:-0}" 50
check_ge "metrics: syn_received matches the traffic" "${2:-0}" 2
check_eq "metrics: the last (re)load succeeded, build info present" "${3:-}:${4:-}" "1:True"

# ---- reload ----------------------------------------------------------------------------
log "== reload"
ipt_state "$TMP/ipt.good"
printf 'mode = "gateway";\nrules = (\n\t{ name = "x"; dst = "203.0.113.2"; ports = [ 0 ]; }\n);\n' >"$PKGCONF"
ct systemctl reload synproxyd >"$TMP/reload.log" 2>&1
check "a broken file: systemctl reload fails" test "$?" -ne 0
check_eq "a broken file: still active" "$(ct systemctl is-active synproxyd)" active
ipt_state "$TMP/ipt.after"
check "a broken file: rules unchanged" cmp -s "$TMP/ipt.good" "$TMP/ipt.after"
check "a broken file: the journal has FILE:LINE" \
	sh -c "nsenter -t $INIT -a journalctl -u synproxyd -o cat | grep -q '/etc/synproxyd/synproxyd.conf:3: '"
check_eq "a broken file: redis still works" "$(redis_ping "$BACKEND4")" PONG

sed 's/ports = \[ 80 \];/ports = [ 80, 5201 ];/' "$TMP/lab.conf" >"$PKGCONF"
s0=$(ctl_counter syn_received)
ct systemctl reload synproxyd
check_eq "a new port: systemctl reload succeeds" "$?" 0
check "a new port: its rule is installed" \
	sh -c "ip netns exec $GW iptables-save | grep -q 'dports 80,5201'"
check_eq "a new port: a connection to 5201" "$(echo_once 5201)" ok
check_ge "a new port: the daemon answered its SYN" "$(($(ctl_counter syn_received) - s0))" 1
cp "$PKGCONF" "$TMP/lab.conf"

sed 's/count = 2;/count = 3;/' "$TMP/lab.conf" >"$PKGCONF"
ct systemctl reload synproxyd >"$TMP/reload.log" 2>&1
check "a restart-only setting: systemctl reload fails" test "$?" -ne 0
check "a restart-only setting: the journal says so" \
	sh -c "nsenter -t $INIT -a journalctl -u synproxyd -o cat | grep -q 'reload: queue need a restart'"
check_eq "a restart-only setting: still active" "$(ct systemctl is-active synproxyd)" active
cp "$TMP/lab.conf" "$PKGCONF"
ct systemctl reload synproxyd
check_eq "the file as it runs: systemctl reload succeeds" "$?" 0

# ---- restart and upgrade under load and a flood ---------------------------------------
log "== restart and upgrade under load and a flood"
count_rule_add "$SRV" flood -s 198.18.0.0/15
cap_start flood "$SRV" s0 src net 198.18.0.0/15
count_rule_add "$SRV" realsyn -s "$CLIENT4" --syn
bg_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 6379 redis 8 30 0.1 "$TMP/redis.ready" \
	>"$TMP/redis.out" 2>&1
REDIS_POOL=$LASTPID
bg_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 80 echo 4 30 0.1 "$TMP/echo.ready" \
	>"$TMP/echo.out" 2>&1
ECHO_POOL=$LASTPID
i=0
until [ -e "$TMP/redis.ready" ] && [ -e "$TMP/echo.ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the pools did not connect"
	sleep 0.1
done
sleep 1
"$SYNPROXYCTL" flows | awk '{ print $NF }' | sort | uniq -c
flood_cfg "$TMP/syn.cfg" syn "$(mac_bytes "$GW" g2)" "$(mac_bytes "$FLD" f0)" "$BACKEND4" 6379
# 20,000 SYNs/s until the crash is over (at most 60 s).
bg_ns "$FLD" timeout 60 trafgen -i "$TMP/syn.cfg" -o f0 -n 1200000 -b 20000pps --cpus 1 -q
FLOOD=$LASTPID
rules_gone=0
watch_rules() {	# counts samples without our rules while the restarts run
	while [ ! -e "$TMP/watch.stop" ]; do
		rules_in || echo gone >>"$TMP/watch.gone"
		sleep 0.05
	done
}
watch_rules &
WATCH=$!
LAB_PIDS="$LAB_PIDS $WATCH"
for round in 1 2 3; do
	sleep 2
	p0=$(mainpid)
	user=$("$SYNPROXYCTL" flows | grep -c 'path=userspace')
	if [ $round = 3 ]; then
		what="upgrade (dpkg -i, the postinst restarts the service)"
		ct dpkg -i "/var/tmp/$(basename "$DEB")" >"$TMP/dpkg.log" 2>&1
		rc=$?
	else
		what="systemctl restart"
		ct systemctl restart synproxyd
		rc=$?
	fi
	log "-- $round: $what"
	check_eq "$what: exit status" "$rc" 0
	p1=$(mainpid)
	check "$what: a new daemon ($p0 -> $p1)" test "$p1" != "$p0" -a "$p1" != 0
	check_ge "$what: the $user userspace connections restored" "$(ctl_counter flows_restored)" "$user"
done
touch "$TMP/watch.stop"
wait "$WATCH"
rules_gone=$(cat "$TMP/watch.gone" 2>/dev/null | wc -l)
check_eq "samples (every 50 ms) without the rules during the restarts" "$rules_gone" 0
journal | grep "restored" | tail -n 3
wait "$REDIS_POOL"
redis_rc=$?
wait "$ECHO_POOL"
echo_rc=$?
tail -n 1 "$TMP/redis.out"
tail -n 1 "$TMP/echo.out"
check_eq "every redis connection survived the restarts and the upgrade" "$redis_rc" 0
check_eq "every echo connection survived the restarts and the upgrade" "$echo_rc" 0

# ---- crash -----------------------------------------------------------------------------
log "== crash (SIGKILL)"
p0=$(mainpid)
ct systemctl kill --kill-who=main -s KILL synproxyd
sleep 0.2
check "rules stay after the crash" rules_in
i=0
while p1=$(mainpid); [ "$p1" = "$p0" ] || [ "$p1" = 0 ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
check "systemd restarted the daemon ($p0 -> $p1)" test "$p1" != "$p0" -a "$p1" != 0
i=0
until [ "$(ct systemctl is-active synproxyd)" = active ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && break
	sleep 0.1
done
check_eq "active after the crash" "$(ct systemctl is-active synproxyd)" active
i=0
until r=$(redis_ping "$BACKEND4") && [ "$r" = PONG ]; do
	i=$((i + 1))
	[ $i -gt 20 ] && break
	sleep 0.2
done
check_eq "a new connection after the crash" "$r" PONG
kill "$FLOOD" 2>/dev/null
wait "$FLOOD" 2>/dev/null
cap_stop flood
check_eq "no flood packet reached the backend (restarts, upgrade, crash)" "$(count_rule "$SRV" flood)" 0
tcpdump -r "$TMP/flood.pcap" -n -c 20 2>/dev/null
check_ge "positive control: real clients' SYNs counted at the backend" \
	"$(count_rule "$SRV" realsyn)" 9

check_eq "nothing touched the rules yet (rules_reinstalled)" "$(ctl_counter rules_reinstalled)" 0

# ---- a flushed firewall ------------------------------------------------------------------
log "== flushed firewall"
back_within() {	# prints the seconds until the rules are back, or "never"
	t0=$(date +%s%N)
	i=0
	until rules_in; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo never; return; }
		sleep 0.05
	done
	awk -v a="$(date +%s%N)" -v b="$t0" 'BEGIN { printf "%.1f\n", (a - b) / 1e9 }'
}
flushed() {	# DESC: checks the rules come back
	t=$(back_within)
	echo "$1: rules back in $t s"
	check "$1: back within 5 s" test "$t" != never
}
in_ns "$GW" iptables-restore "$TMP/admin4.rules"
in_ns "$GW" ip6tables-restore "$TMP/admin6.rules"
flushed "the administrator's iptables-restore of the host's rules"
in_ns "$GW" iptables -F
flushed "iptables -F"
in_ns "$GW" nft flush ruleset
flushed "nft flush ruleset"
in_ns "$GW" iptables-restore "$TMP/admin4.rules"
in_ns "$GW" ip6tables-restore "$TMP/admin6.rules"
flushed "the host's rules restored after the flush"
check_eq "redis after the flushes" "$(redis_ping "$BACKEND4")" PONG

# ---- stop, adopt ------------------------------------------------------------------------
log "== stop and adoption"
ct systemctl stop synproxyd
check_eq "systemctl stop" "$?" 0
ipt_state "$TMP/ipt.stopped"
check "stopped: the firewall is as before the first start" cmp -s "$TMP/ipt.before" "$TMP/ipt.stopped"
bg_ns "$CLI" "$PY" "$LIVE_DIR/pool.py" "$BACKEND4" 6379 redis 2 8 0.1 "$TMP/adopt.ready" \
	>"$TMP/adopt.out" 2>&1
ADOPT_POOL=$LASTPID
i=0
until [ -e "$TMP/adopt.ready" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "the connections opened while stopped did not connect"
	sleep 0.1
done
ct systemctl start synproxyd
check_eq "systemctl start" "$?" 0
wait "$ADOPT_POOL"
adopt_rc=$?
tail -n 1 "$TMP/adopt.out"
check_eq "connections opened while stopped survive the start" "$adopt_rc" 0
check "they were adopted (the journal, from --install-rules)" \
	sh -c "nsenter -t $INIT -a journalctl -u synproxyd -o cat | grep -q 'adopted 2 connections'"

ct systemctl stop synproxyd
ipt_state "$TMP/ipt.stopped"
check "the last stop: the firewall is as before the first start" \
	cmp -s "$TMP/ipt.before" "$TMP/ipt.stopped"
check_eq "the last stop: inactive (not failed)" "$(ct systemctl is-active synproxyd)" inactive
journal >"$TMP/daemon.log"
lab_finish
