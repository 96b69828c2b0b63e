#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of port reuse and short connections (issue 12, items 2-4):
# client, gateway running synproxyd with the fast path on, echo and redis
# on the backend, each in its own network namespace.
#  1. back-to-back connections from one client port, the client closing
#     first and reusing its port from time-wait (tcp_tw_reuse): each is
#     proxied (a new flow), none is reset, and none was offloaded (a
#     connection of a few segments costs no conntrack entry);
#  2. the same port after a client that vanished (no FIN, no RST reached
#     anyone: its packets dropped, its socket aborted): the new connection
#     completes and is proxied, the old flow ended by the client's RST to
#     the proxy's challenge ACK (RFC 5961), the backend's old socket by the
#     RST the proxy sends for its stale ACK;
#  3. the same with an offloaded flow (item 3): the vanished client's
#     marked ESTABLISHED conntrack entry would carry the new handshake's
#     ACK past the proxy; the new connection completes, is proxied and
#     echoes;
#  3b. the same across a daemon restart: the new process reads the old
#     flow's marked entry at start, and the new connection removes it;
#  3c. a restored offloaded flow whose conntrack entry ended while no
#     daemon ran is ended at start;
#  3d. the same as 3 after a crash (SIGKILL, no state file): the SYN makes
#     the daemon take the flow in from its marked entry;
#  3e. a connection adopted at start (opened before the daemon's rules):
#     its entry taken in at the SYN as in 3d;
#  4. an offloaded flow that closes is listed as time-wait at once
#     (conntrack events, item 4), and its port is reused for a new
#     connection without a reset;
#  5. redis-benchmark -k 0 (a new connection per request, tw_reuse on,
#     ports 10000-65000) directly and through the daemon, in this run:
#     every request answered, 0 flows reset; both rates printed.  (A
#     backend that left LAST-ACK before a late ACK of its FIN resets the
#     client's second ACK: that flow had closed and counts as closed; the
#     RSTs through the gateway are printed.)
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init conntrack redis-server redis-benchmark

lab_gateway
start_echo "$SRV" 200 80
start_redis "$SRV" 200
in_ns "$CLI" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000" ||
	fail "client sysctls"
write_conf
daemon_start

. "${top_srcdir:-.}/tests/live/reuse_lib.sh"

stat_of() {
	ctl_counter "$1"
}

# Port 80's options are learned from three SYN-ACKs that agree (the
# flows before are rescaled and never offloaded).
for p in 30001 30002 30003; do
	client $p 1 close >/dev/null || fail "warm-up connection from port $p"
done

# 1. Back-to-back from one port, the client closing first.
log "== 1. back-to-back connections from port 31000, client closes first (tw_reuse)"
cnt_snap a
for n in 1 2 3 4; do
	t=$(client 31000 3 close) || fail "connection $n from port 31000 failed"
	echo "connection $n from port 31000: connected in $t s"
	# tcp_tw_reuse takes a time-wait port once its timestamp is a second old.
	sleep 1.1
done
cnt_snap b
check_eq "1: four new flows" "$(cnt_delta a b flows_created)" 4
check_ge "1: the old flows ended by the new SYNs (flows_reused)" "$(cnt_delta a b flows_reused)" 3
check_eq "1: no flow reset" "$(cnt_delta a b flows_reset)" 0
check_eq "1: no challenge ACK for a SYN" "$(cnt_delta a b syn_on_flow)" 0
check_eq "1: short connections not offloaded" "$(cnt_delta a b offload_ok)" 0
check_eq "1: no conntrack removal asked for a tuple never offloaded (offload_stale_skipped)" \
	"$(cnt_delta a b offload_stale_skipped)" 4
check_eq "1: nothing removed" "$(cnt_delta a b offload_stale_removed)" 0

# 2. A client that vanishes, then comes back on the same port.
log "== 2. a vanished client's port reused (userspace flow)"
cnt_snap a
vanish 32000 3
t=$(client 32000 3 close) || { check_eq "2: the new connection from port 32000" failed ok; t=99; }
echo "new connection from port 32000 after a vanished one: connected in $t s"
cnt_snap b
check_eq "2: a new flow" "$(cnt_delta a b flows_created)" 2
# Once, or more if a loaded machine delayed the challenge past the
# client's own SYN retransmission.
check_ge "2: the old flow's SYN challenged" "$(cnt_delta a b syn_on_flow)" 1
check_eq "2: and ended by the client's RST to it" "$(cnt_delta a b flows_reset)" 1
check "2: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'

# 3. The same with an offloaded flow: its marked ESTABLISHED entry.
log "== 3. a vanished client's port reused (offloaded flow, issue 12 item 3)"
cnt_snap a
vanish 33000 40 offloaded
in_ns "$GW" conntrack -L -p tcp --sport 33000 -m 0x5350 2>/dev/null | tee "$TMP/ct3"
grep -q ESTABLISHED "$TMP/ct3" || fail "3: the vanished client's marked entry is not ESTABLISHED"
t=$(client 33000 3 close) || { check_eq "3: the new connection from port 33000" failed ok; t=99; }
echo "new connection from port 33000 after an offloaded vanished one: connected in $t s"
cnt_snap b
check_eq "3: a new flow (the handshake reached the proxy)" "$(cnt_delta a b flows_created)" 2
check_ge "3: the offloaded flow withdrawn by the SYN" "$(cnt_delta a b offload_withdrawn)" 1
check_ge "3: the backend's old socket reset for its stale ACK" \
	"$(cnt_delta a b backend_stale_reset)" 1
check "3: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'

# 3b. The same across a restart: the state file carries the offloaded
# flow, and the new process reads its marked entry at start (ctseen.h).
log "== 3b. a vanished offloaded client's port reused after a daemon restart"
vanish 33500 40 offloaded
in_ns "$GW" conntrack -L -p tcp --sport 33500 -m 0x5350 2>/dev/null | tee "$TMP/ct3b"
grep -q ESTABLISHED "$TMP/ct3b" || fail "3b: the vanished client's marked entry is not ESTABLISHED"
daemon_stop
daemon_start
check "3b: the new process read the entry at start" \
	grep -q "conntrack entries of ours from before this start" "$TMP/daemon.log"
cnt_snap a
t=$(client 33500 3 close) || { check_eq "3b: the new connection from port 33500" failed ok; t=99; }
echo "new connection from port 33500 after a restart: connected in $t s"
cnt_snap b
check_eq "3b: a new flow (the handshake reached the proxy)" "$(cnt_delta a b flows_created)" 1
check_ge "3b: the earlier process's entry removed (offload_stale_removed)" \
	"$(cnt_delta a b offload_stale_removed)" 1
check_ge "3b: the backend's old socket reset for its stale ACK" \
	"$(cnt_delta a b backend_stale_reset)" 1
check "3b: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'
in_ns "$GW" conntrack -L -p tcp --sport 33500 -m 0x5350 2>/dev/null | tee "$TMP/ct3b2"
check "3b: no marked entry left of the vanished connection" sh -c "! grep -q ESTABLISHED '$TMP/ct3b2'"

# 3c. A restored offloaded flow whose entry ended while no daemon ran
# (conntrack's timeout, a flush): the new process ends it before it reads
# a packet, instead of holding it for days.
log "== 3c. a restored offloaded flow whose conntrack entry is gone"
vanish_start 33600 40
wait_listed ":33600 .*path=kernel" 5 || { ctl flows; fail "the flow from port 33600 was not offloaded"; }
daemon_stop
in_ns "$GW" conntrack -D -p tcp --sport 33600 >/dev/null 2>&1 || fail "3c: no entry to delete"
daemon_start
check "3c: the restored flow is not listed" sh -c "! '$SYNPROXYCTL' -s '$SOCK' flows | grep -q ':33600 '"
check_ge "3c: it ended as released by the kernel (offload_released)" \
	"$(ctl_counter offload_released)" 1
check "3c: the check is logged" grep -q "restored flows on the kernel fast path checked" \
	"$TMP/daemon.log"
vanish_end 33600

# 3d. The same after a crash: no state file tells the new process of the
# flow, only its marked entry (read at start, ctseen.h).  The SYN makes
# the worker read the entry and take the flow in (flows_from_conntrack),
# then it is withdrawn and challenged as in 3.  Before, the handshake ACK
# met the entry and went to the backend's old socket: the connection hung.
log "== 3d. a vanished offloaded client's port reused after a crash (SIGKILL)"
vanish 33700 40 offloaded
daemon_crash
in_ns "$GW" conntrack -L -p tcp --sport 33700 -m 0x5350 2>/dev/null | tee "$TMP/ct3d"
grep -q ESTABLISHED "$TMP/ct3d" || fail "3d: the vanished client's marked entry is not ESTABLISHED"
daemon_start
cnt_snap a
t=$(client 33700 3 close) || { check_eq "3d: the new connection from port 33700" failed ok; t=99; }
echo "new connection from port 33700 after a crash: connected in $t s"
cnt_snap b
check_eq "3d: the entry taken in for the SYN (flows_from_conntrack)" \
	"$(cnt_delta a b flows_from_conntrack)" 1
check_ge "3d: and withdrawn by it" "$(cnt_delta a b offload_withdrawn)" 1
check_eq "3d: a new flow (the handshake reached the proxy)" "$(cnt_delta a b flows_created)" 1
check_ge "3d: the backend's old socket reset for its stale ACK" \
	"$(cnt_delta a b backend_stale_reset)" 1
check "3d: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'
in_ns "$GW" conntrack -L -p tcp --sport 33700 -m 0x5350 2>/dev/null | tee "$TMP/ct3d2"
check "3d: no marked entry left of the vanished connection" sh -c "! grep -q ESTABLISHED '$TMP/ct3d2'"
# Without a state file the learned options went with the crash: three
# agreeing SYN-ACKs again before phase 4's flow, which must be offloaded.
for p in 30004 30005 30006; do
	client $p 1 close >/dev/null || fail "warm-up connection from port $p"
done

# 3e. An adopted connection (opened straight to the backend while no
# rules were in place; the daemon marks its entry at start) whose client
# vanishes: its entry is taken in at the SYN as in 3d.  Its port was
# reusable before too (conntrack tracked that entry's windows from the
# handshake, so the new handshake's ACK was INVALID to it and reached the
# queue); what changes is that the SYN is judged as on any connection the
# daemon keeps, a challenge ACK instead of a SYN-ACK.  The accept rule
# keeps conntrack tracking while the daemon's rules are gone.
log "== 3e. a vanished adopted client's port reused"
daemon_stop
in_ns "$GW" iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT ||
	fail "3e: conntrack accept rule"
vanish_start 33800 3
daemon_start
in_ns "$GW" iptables -D FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
check_eq "3e: the connection from before the rules adopted" "$(ctl_counter flows_adopted)" 1
vanish_end 33800
cnt_snap a
t=$(client 33800 3 close) || { check_eq "3e: the new connection from port 33800" failed ok; t=99; }
echo "new connection from port 33800 after an adopted vanished one: connected in $t s"
cnt_snap b
check_eq "3e: the entry taken in for the SYN (flows_from_conntrack)" \
	"$(cnt_delta a b flows_from_conntrack)" 1
check_eq "3e: a new flow (the handshake reached the proxy)" "$(cnt_delta a b flows_created)" 1
check "3e: connected within 5 s" awk -v t="$t" 'BEGIN { exit !(t < 5) }'

# 4. An offloaded flow that closes: listed as time-wait, port reused.
log "== 4. an offloaded flow closes (conntrack events, issue 12 item 4)"
cnt_snap a
client 34000 40 close >/dev/null || check_eq "4: the connection from port 34000" failed ok
if ! wait_listed "time-wait .*:34000 .*path=kernel" 2; then
	ctl flows
	check_eq "4: the closed offloaded flow listed as time-wait within 2 s" "not listed" listed
else
	echo "ok: 4: the closed offloaded flow is listed as time-wait"
fi
ctl flows | grep ":34000 " || true
cnt_snap b
check_eq "4: offloaded" "$(cnt_delta a b offload_ok)" 1
check_eq "4: its close seen (offload_closed)" "$(cnt_delta a b offload_closed)" 1
check_ge "4: conntrack events read" "$(cnt_delta a b offload_events)" 1
sleep 1.1
client 34000 3 close >/dev/null || check_eq "4: reusing port 34000" failed ok
cnt_snap c
check_eq "4: the port reused for a new flow" "$(cnt_delta b c flows_created)" 1
check_eq "4: without a challenge" "$(cnt_delta b c syn_on_flow)" 0
check_eq "4: without a reset" "$(cnt_delta b c flows_reset)" 0
echo "counters: offload_events $(stat_of offload_events)" \
	"offload_events_lost $(stat_of offload_events_lost)"
check_eq "no conntrack event lost" "$(stat_of offload_events_lost)" 0

# 5. redis-benchmark -k 0: direct, then through the daemon.
N=${REUSE_REQUESTS:-20000}
bench() {	# LABEL
	in_ns "$CLI" timeout 120 redis-benchmark -h "$BACKEND4" -p 6379 -c 20 -n "$N" -k 0 \
		-t ping_inline --csv >"$TMP/bench.$1" 2>"$TMP/bench.$1.err"
	rc=$?
	rps=$(awk -F'"' '/PING_INLINE/ { print $4 }' "$TMP/bench.$1")
	echo "redis-benchmark -c 20 -n $N -k 0 -t ping_inline, $1: ${rps:-none} requests/s" \
		"(exit $rc)"
	check_eq "5: redis-benchmark $1 completed" "$rc" 0
	check_eq "5: no client error $1" "$(grep -ci error "$TMP/bench.$1.err" "$TMP/bench.$1" |
		awk -F: '{ n += $NF } END { print n + 0 }')" 0
	eval "RPS_$1=\${rps:-0}"
}
log "== 5. redis-benchmark -k 0, tw_reuse on"
# Every RST either way through the gateway, printed: which flow an RST
# ended, and when (a slow daemon, ASan, makes backends resend FINs).
cap_start rst5c "$GW" g0 'tcp[13] & 4 != 0'
cap_start rst5s "$GW" g1 'tcp[13] & 4 != 0'
cnt_snap a
bench proxied
cnt_snap b
cap_stop rst5c
cap_stop rst5s
echo "RSTs at the gateway during phase 5: $(cap_count rst5c) from/to the client side," \
	"$(cap_count rst5s) from/to the backend side"
tcpdump -r "$TMP/rst5c.pcap" -n -tt 2>/dev/null | head -20
tcpdump -r "$TMP/rst5s.pcap" -n -tt 2>/dev/null | head -20
created=$(cnt_delta a b flows_created)
echo "counters: flows_created $created flows_reused $(cnt_delta a b flows_reused)" \
	"syn_on_flow $(cnt_delta a b syn_on_flow) flows_reset $(cnt_delta a b flows_reset)" \
	"flows_closed $(cnt_delta a b flows_closed)" \
	"offload_ok $(cnt_delta a b offload_ok) offload_withdrawn $(cnt_delta a b offload_withdrawn)"
check_eq "5: 0 flows reset" "$(cnt_delta a b flows_reset)" 0
check_eq "5: no SYN challenged" "$(cnt_delta a b syn_on_flow)" 0
# Every request made its connection through the proxy.
check_ge "5: a flow per request" "$created" "$N"
daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
# Direct: the same lab with no rules (the daemon removed them).
in_ns "$GW" iptables-save | grep -q SYNPROXYD && fail "rules left after the daemon stopped"
bench direct
echo "redis-benchmark -k 0: synproxyd $RPS_proxied, direct $RPS_direct requests/s:" \
	"$(awk -v a="$RPS_proxied" -v b="$RPS_direct" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')"
lab_finish
