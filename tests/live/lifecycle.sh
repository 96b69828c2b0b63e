#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What synproxyd(8) promises about the daemon's life, checked on the real
# daemon (gateway mode, an echo server behind it):
#  1. readiness and the watchdog (systemd's notify protocol, a listener on
#     NOTIFY_SOCKET): READY=1 once, when the rules are installed and the
#     control socket answers (checked at the moment it arrives), with a
#     STATUS line; WATCHDOG=1 every WATCHDOG_USEC/2 while the event loop
#     runs and none while the daemon is stopped (SIGSTOP); RELOADING=1
#     with MONOTONIC_USEC, then READY=1, on a reload; STOPPING=1 at SIGTERM;
#  2. the privilege drop: the running daemon's threads keep exactly
#     CAP_NET_ADMIN and CAP_NET_RAW (CapEff, CapPrm), nothing inheritable;
#  3. secret_file across a restart: a client gets its SYN-ACK (a cookie)
#     from one daemon, the daemon restarts, and the ACK the client then
#     sends validates by cookie in the new daemon, whose SYN cache is
#     empty; without secret_file the state file carries the secret over
#     (the same ACK validates); with neither (state_file "") the new
#     daemon draws a random secret and the same ACK fails, so the checks
#     can fail;
#  4. a reload rewrites the chains without letting a segment pass them: a
#     stream through the daemon (every segment in userspace) while 20
#     reloads alternate two rule sets; in the capture at the client every
#     segment from the server carries the proxy's sequence numbers, and at
#     the backend every client ACK the backend's.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
. "${top_srcdir:-.}/tests/live/hostile_lib.sh"
lab_init
lab_gateway
start_echo "$SRV" 200

# ---- 1. readiness and watchdog; 2. capabilities -------------------------------
NOTIFY=$TMP/notify.sock
start_listener "$NOTIFY" "$TMP/notify.log" \
	--on-ready "echo \$(ip netns exec $GW iptables-save | grep -c ' -j SYNPROXYD') \
		\$(test -S $TMP/ctl/control.sock && echo socket)"
# WATCHDOG_USEC 400 ms: a keep-alive every 200 ms.
DAEMON_WRAP="env NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=400000"
write_conf
daemon_start
DAEMON_WRAP=
sleep 2
echo "notify messages after the start:"
sed 's/^/  /' "$TMP/notify.log" | grep -v WATCHDOG
check_eq "READY=1 once" "$(grep -c ' READY=1$' "$TMP/notify.log")" 1
check "STATUS reported" grep -q "STATUS=proxying with 2 rules on 1 queue(s)" "$TMP/notify.log"
# At READY=1 the jumps to the daemon's chains were there (one per table
# and family it uses here: FORWARD and raw OUTPUT) and its control socket.
set -- $(sed -n 's/^ready-check: //p' "$TMP/notify.log" | head -n 1)
check_eq "rules installed when READY=1 arrived (jumps in iptables-save)" "${1:-}" 2
check_eq "control socket present when READY=1 arrived" "${2:-}" socket

# The watchdog: keep-alives every 200 ms, none while the daemon is stopped.
wd_gaps() {	# FROM: keep-alives after time FROM, and the largest gap ending then
	awk -v from="$1" '$2 == "WATCHDOG=1" {
		if ($1 >= from) { n++; if (last != "" && $1 - last > max) max = $1 - last }
		last = $1 }
		END { printf "%d %.3f\n", n, max }' "$TMP/notify.log"
}
now() { "$PY" -c 'import time; print("%.3f" % time.monotonic())'; }
t0=$(now)
sleep 3
set -- $(wd_gaps "$t0")
echo "watchdog: $1 keep-alives in 3 s, largest gap $2 s"
check_ge "WATCHDOG=1 every 200 ms (3 s)" "$1" 10
check "no keep-alive gap above 0.6 s" awk -v g="$2" 'BEGIN { exit !(g <= 0.6) }'
t0=$(now)
kill -STOP "$DPID"
sleep 1.5
kill -CONT "$DPID"
sleep 1
set -- $(wd_gaps "$t0")
echo "watchdog across a 1.5 s SIGSTOP: largest gap $2 s"
check "no keep-alive while the daemon was stopped (gap >= 1.4 s)" \
	awk -v g="$2" 'BEGIN { exit !(g >= 1.4) }'

# 2. Capabilities of every thread of the running daemon: CAP_NET_ADMIN
# (12) and CAP_NET_RAW (13) only.
for task in /proc/"$DPID"/task/*; do
	eff=$(awk '$1 == "CapEff:" { print $2 }' "$task/status")
	prm=$(awk '$1 == "CapPrm:" { print $2 }' "$task/status")
	inh=$(awk '$1 == "CapInh:" { print $2 }' "$task/status")
	check_eq "thread ${task##*/} CapEff (CAP_NET_ADMIN, CAP_NET_RAW)" "$eff" 0000000000003000
	check_eq "thread ${task##*/} CapPrm" "$prm" 0000000000003000
	check_eq "thread ${task##*/} CapInh" "$inh" 0000000000000000
done
check_ge "threads checked (main and one worker)" "$(ls /proc/"$DPID"/task | wc -l)" 2

n0=$(wc -l <"$TMP/notify.log")
check_eq "reload" "$(ctl reload)" ok
sleep 0.3
tail -n +"$((n0 + 1))" "$TMP/notify.log" | grep -v WATCHDOG >"$TMP/notify.reload"
sed 's/^/  reload: /' "$TMP/notify.reload"
check "RELOADING=1 with MONOTONIC_USEC, then READY=1" awk '
	$2 ~ /^RELOADING=1\|MONOTONIC_USEC=[0-9]+$/ { r = NR }
	$2 == "READY=1" && r && NR > r { ok = 1 }
	END { exit !ok }' "$TMP/notify.reload"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
sleep 0.2
check "STOPPING=1 at SIGTERM" grep -q ' STOPPING=1$' "$TMP/notify.log"

# ---- 3. secret_file across a restart ----------------------------------------
# The client kernel knows nothing of scapy's connections: keep it quiet.
in_ns "$CLI" iptables -A OUTPUT -p tcp --sport 42000:42100 --tcp-flags RST RST -j DROP
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$TMP/secret"
echo >>"$TMP/secret"
chmod 600 "$TMP/secret"
override secret_file "a fixed secret (the example leaves it commented out: a random one per start): the restart check"

# held_ack SPORT RESTART: a SYN to the daemon, a restart of the daemon
# while the client holds its ACK back, then the ACK (with data).  Prints
# the client's result; RESTART writes the new daemon's config.
held_ack() {
	mkdir -p "$TMP/held.$1"
	bg_ns "$CLI" sh -c '"$@" >"$0" 2>&1; echo $? >"$0.rc"' "$TMP/held.$1/out" \
		timeout 90 "$PY" "$LIVE_DIR/scapy_client.py" held-ack "$BACKEND4" 6379 "$1" \
		"$TMP/held.$1"
	i=0
	until [ -f "$TMP/held.$1/synack" ]; do
		i=$((i + 1))
		[ $i -gt 200 ] && fail "held-ack client $1: no SYN-ACK ($(cat "$TMP/held.$1/out"))"
		sleep 0.1
	done
	daemon_stop
	check_eq "daemon exit status" "$DAEMON_RC" 0
	$2
	daemon_start
	cnt_a=$(ctl stats)
	touch "$TMP/held.$1/go"
	i=0
	until [ -s "$TMP/held.$1/out.rc" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "held-ack client $1 did not finish"
		sleep 0.1
	done
	sleep 0.3
}
grow() {	# NAME: the counter's growth since held_ack's snapshot
	echo $(( $(ctl_counter "$1") - $(echo "$cnt_a" | awk -v n="$1" '$1 == n { print $2 }') ))
}
with_secret() {
	write_conf "secret_file = \"$TMP/secret\";"
}
state_only() {
	write_conf
}
# The negative control: no secret file and no state file to carry the
# secret over (state_file describes the lab, so this is no override).
without_secret() {
	write_conf
	sed -i 's|^state_file = .*|state_file = "";|' "$CONF"
}

with_secret
daemon_start
held_ack 42001 with_secret
echo "with secret_file: $(cat "$TMP/held.42001/out")"
check_eq "secret_file: the ACK to the old daemon's SYN-ACK completes" \
	"$(cat "$TMP/held.42001/out.rc")" 0
check_eq "secret_file: validated by cookie in the new daemon" "$(grow cookie_valid)" 1
check_eq "secret_file: not by its (empty) SYN cache" "$(grow syncache_hit)" 0
check_eq "secret_file: the backend connection opened" "$(grow backend_established)" 1
# The negative control: a random secret per start, the same sequence.
held_ack 42003 state_only
echo "state file: $(cat "$TMP/held.42003/out")"
check_eq "state file: the ACK to the old daemon's SYN-ACK completes" \
	"$(cat "$TMP/held.42003/out.rc")" 0
check_eq "state file: validated by cookie in the new daemon" "$(grow cookie_valid)" 1
held_ack 42002 without_secret
echo "random secret: $(cat "$TMP/held.42002/out")"
check "random secret: the ACK does not complete" test "$(cat "$TMP/held.42002/out.rc")" != 0
check_ge "random secret: the cookie fails in the new daemon" "$(grow cookie_invalid)" 1
check_eq "random secret: no backend SYN" "$(grow backend_syn_sent)" 0
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0

# ---- 4. no segment passes while a reload rewrites the chains -------------------
override fastpath "\"off\" for the reload check: every segment of the stream crosses the queue, so one that slipped past the chains would arrive untranslated"
PORTS="6379, 80, 5201"
write_conf 'fastpath = "off";' "$TMP/a.conf"
PORTS="6379, 80"
write_conf 'fastpath = "off";' "$TMP/b.conf"
cp "$TMP/a.conf" "$TMP/synproxyd.conf"
CONF=$TMP/synproxyd.conf
daemon_start
cap_start rcli "$CLI" c0 "tcp port 6379"
cap_start rsrv "$SRV" s0 "tcp port 6379"
# 1400-byte messages both ways as fast as they echo (a pause of 1 ms
# between them), each echo checked, while the reloads run.
start_longlived "$BACKEND4" 60 0.001 1400
sleep 0.5
reloads=0
for k in $(seq 1 20); do
	[ $((k % 2)) = 1 ] && cp "$TMP/b.conf" "$CONF" || cp "$TMP/a.conf" "$CONF"
	r=$(daemon_reload)
	[ "$r" = ok ] && reloads=$((reloads + 1))
	sleep 0.2
done
stop_longlived
cap_stop rcli
cap_stop rsrv
check_eq "20 reloads during the stream" "$reloads" 20
check_eq "the stream: every echo intact" "$LL_RC" 0
bytes=$(awk '$2 == "OK" { print $8 }' "$TMP/ll.log")
# seq_check CAPTURE FROM FIELD ISN_FROM: with tcpdump's absolute numbers,
# every segment sent by FROM must carry FIELD (seq or ack) within
# [ISN, ISN + bytes + 2] of the ISN of ISN_FROM's SYN-ACK in the same
# capture; prints "segments bad".
seq_check() {
	tcpdump -r "$TMP/$1.pcap" -n -S 2>/dev/null | awk -v from="$2" -v field="$3" \
		-v isnfrom="$4" -v bytes="$bytes" '
		function num(s) { sub(/[:,].*/, "", s); return s + 0 }
		{ src = $3; sub(/\.[0-9]+$/, "", src) }
		src == isnfrom && $0 ~ /Flags \[S\.\]/ { for (i = 1; i < NF; i++) if ($i == "seq") isn = num($(i + 1)) }
		src == from && isn != "" && $0 !~ /Flags \[S/ {
			for (i = 1; i < NF; i++) if ($i == field) {
				d = (num($(i + 1)) - isn) % 4294967296
				if (d < 0) d += 4294967296
				n++
				if (d > bytes + 2) bad++
			}
		}
		END { printf "%d %d\n", n, bad }'
}
set -- $(seq_check rcli "$BACKEND4" seq "$BACKEND4")
echo "client side: $1 server segments with data, $2 outside the proxy's sequence space"
check_ge "server segments seen at the client" "$1" 100
check_eq "server segments at the client in the proxy's sequence space" "$2" 0
set -- $(seq_check rsrv "$CLIENT4" ack "$BACKEND4")
echo "backend side: $1 client ACKs, $2 outside the backend's sequence space"
check_ge "client ACKs seen at the backend" "$1" 100
check_eq "client ACKs at the backend in the backend's sequence space" "$2" 0
check_ge "the stream crossed the queue (queue_received)" "$(ctl_counter queue_received)" "$1"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
lab_finish
