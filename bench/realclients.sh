#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real clients side by side (issue 12): the same four clients, in the same
# lab and the same run, through three gateways:
#
#   direct      the gateway only routes (no rule, no conntrack)
#   kernel      the kernel's SYNPROXY target on ports 6379 and 80
#               (bench/lib.sh's kernel_synproxy_on; conntrack flushed)
#   synproxyd   etc/synproxyd.conf.example with its addresses changed as
#               tests/live/shipped.sh changes them (the redis rule's allow
#               list becomes the client's network, the control socket and
#               state file move into the run's directory), logging to
#               syslog through devlog.sh as there.  One more change,
#               declared with override: the per-source SYN rate limits
#               (see below).
#   spoff       only when SETUPS names it: synproxyd as above with
#               fastpath "off" (every packet through the daemon)
#   nfqaccept   only when SETUPS names it: every packet of ports 6379
#               and 80, both directions, queued to two bench/nfq_drop.c
#               loops that accept it at once (--queue-balance 0:1, as the
#               example's two queues): what crossing NFQUEUE alone costs,
#               the ceiling of any proxy that handles a short connection
#               in userspace
#
# Clients, from the client namespace (net.ipv4.tcp_tw_reuse = 1,
# net.ipv4.ip_local_port_range = "10000 65000"), to the backend
# 203.0.113.2, C = 20 connections in parallel each:
#
#   rk0  redis-benchmark -n N0 -k 0 -t ping_inline: a new connection per
#        request; the client closes, its ports go to TIME_WAIT, and its
#        kernel takes them again a second later (tw_reuse) once its port
#        choice has gone round the range: after a few thousand
#        connections, hence N0 = 20000 as in the issue
#   rk1  redis-benchmark -n N1 -k 1 (keep-alive)
#   ab   ab, a new connection per request (HTTP/1.0; nginx closes), at
#        most NAB requests or TAB seconds (reuse starts after a few
#        thousand here too: with NAB = 10000, synproxyd's rate was twice
#        that with 20000)
#   wrk  wrk -t 2 for D seconds (keep-alive; nginx closes a connection
#        after its 1000th request, and wrk opens another)
#
# against redis-server and nginx (tests/live/lib.sh's, a 1 KiB page).
# ROUNDS rounds (default 3); a round takes the clients in turn, each
# through the three gateways back to back, and each client meets each
# gateway fresh (the kernel target's conntrack table flushed, synproxyd
# started for it with no state file), so that no client inherits the
# tuples another one left in the gateway; the client's TIME_WAIT sockets
# stay, as they would.  Figures are medians over the rounds, each ratio
# is to direct in the same round.  Printed per client and gateway:
# requests/s, the ratio to direct, the client's errors (redis-benchmark's
# exit status and error lines, ab's failed and non-2xx responses and
# exit, wrk's socket errors and non-2xx/3xx responses) and the runs cut
# short (redis-benchmark still running after T s, ab giving up after 5 s
# without progress on any connection; the rate is then what completed
# over the run's wall time); for synproxyd the counters that account
# for lost time (synproxyctl stats before and after each client); for the
# kernel target its own (/proc/net/stat/synproxy), its INVALID drops and
# conntrack's invalid count.
#
# Rate limits.  The example limits each client /24 to 200 SYNs/s (burst
# 400) on redis and 1000 SYNs/s on the web port: from the lab's one client
# address, a new connection per request would measure that limit (SYNs
# dropped, a one-second retransmission each), not the proxy.  The run sets
# both rates to 0 (no limit) and drops the redis burst, which needs a rate;
# everything else is as shipped (two queues, fastpath "auto", cookies
# "auto", the redis half-open limit of 64 per /24, which 20 clients never
# reach).
#
# Root; every client run is bounded by its own count and by timeout;
# servers live at most LIFE seconds; everything is removed at exit (about
# 4 minutes with the defaults).  Figures go to bench/README.md.
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
N0=${N0:-20000}     # redis-benchmark -k 0 requests per run
N1=${N1:-100000}    # redis-benchmark -k 1 requests per run
NAB=${NAB:-20000}   # ab requests per run (at most)
TAB=${TAB:-10}      # ab seconds per run (at most)
D=${D:-4}           # wrk seconds per run
T=${T:-20}          # bound of a redis-benchmark run (seconds): a run cut
                    # there reports its rate so far
C=20                # connections in parallel, every client
LIFE=$((ROUNDS * 150 + 60))
# The gateways, in the order each client meets them; "spoff" (synproxyd
# with fastpath "off", every packet in userspace) is there on request:
# SETUPS="direct kernel synproxyd spoff".  direct must be there: the
# ratios are to it.
SETUPS=${SETUPS:-direct kernel synproxyd}
CLIENTS="rk0 rk1 ab wrk"
SP_COUNTERS="flows_created backend_established syn_on_flow flows_reset rst_sent
offload_ok offload_withdrawn offload_released time_wait_recycled challenge_ack_limited
syn_rate_limited syn_duplicate queue_kernel_dropped"

lab_init redis-server redis-benchmark nginx ab wrk conntrack unshare
lab_gateway
case " $SETUPS " in
*" nfqaccept "*)
	gcc -O2 -I"$TOP/src/core" -o "$TMP/nfq_drop" "$BENCH_DIR/nfq_drop.c" \
		"$TOP/src/core/csum.c" -lmnl -lnetfilter_queue || die "building nfq_drop" ;;
esac
in_ns "$CLI" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000" ||
	die "client sysctls"
start_redis "$SRV" "$LIFE"
# lib.sh's nginx (its configuration and files), then the same with this
# run's lifetime instead of 300 s.
start_nginx "$SRV"
kill -TERM "$LASTPID"
wait_gone "$LASTPID" 10 "nginx"
bg_ns "$SRV" timeout "$LIFE" nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"
wait_listen "$SRV" 80
head -c 1024 /dev/zero | tr '\0' x >"$TMP/www/page.html"
URL=http://$BACKEND4/page.html

# ---- synproxyd's configuration: the example as shipped.sh runs it ----
SOCK="$TMP/ctl/control.sock"
sed -e 's|"198\.51\.100\.0/24"|"192.0.2.0/24"|' \
    -e 's|"2001:db8:100::/48"|"2001:db8:1::/48"|' \
    -e "s|^# control_socket = \"/run/synproxyd/control.sock\";|control_socket = \"$SOCK\";|" \
    -e "s|^# state_file = \"/run/synproxyd/state\";|state_file = \"$TMP/state\";|" \
    "$EXAMPLE_CONF" >"$TMP/example.conf"
[ "$(diff "$EXAMPLE_CONF" "$TMP/example.conf" | grep -c '^>')" = 3 ] ||
	die "the example's addresses did not change as expected"
# The reference for conf_overrides is the example with the lab's addresses;
# what differs from it below must be declared.
EXAMPLE_CONF=$TMP/example.conf
CONF="$TMP/synproxyd.conf"
sed -e 's|^\([[:space:]]*syn_rate_per_source =\) [0-9]*;|\1 0;|' \
    -e '/^[[:space:]]*syn_burst_per_source =/d' \
    "$EXAMPLE_CONF" >"$CONF"
# spoff's configuration: the same with fastpath "off".
sed 's|^fastpath = "auto";|fastpath = "off";|' "$CONF" >"$TMP/spoff.conf"
cp "$CONF" "$TMP/synproxyd.conf.as-run"
override fastpath "\"off\" only for the spoff row (SETUPS), every packet through the daemon"
override rules.syn_rate_per_source "no per-source SYN rate limit: the example's (200/s on redis, 1000/s on the web port, per /24) would measure the limit with the bench's one client address, not the proxy (its burst, which needs a rate, is left out)"
echo "--- synproxyd's configuration: $(basename "$EXAMPLE_CONF") from etc/synproxyd.conf.example; the run's changes:"
diff "$EXAMPLE_CONF" "$CONF"
mkdir "$TMP/dev"

# ---- gateways ----
setup_on() {
	case $1 in
	direct) ;;
	kernel)
		kernel_synproxy_on 6379 80
		;;
	synproxyd | spoff)
		if [ "$1" = spoff ]; then
			cp "$TMP/spoff.conf" "$CONF"
		else
			cp "$TMP/synproxyd.conf.as-run" "$CONF"
		fi
		rm -f "$TMP/state"
		# One syslog listener a round (each lives 280 s at most).
		if [ "${LOG_ROUND:-}" != "$r" ]; then
			start_listener "$TMP/log$r.sock" "$TMP/daemon.log" --seconds 280
			LOG_ROUND=$r
		fi
		DAEMON_WRAP="sh $LIVE_DIR/devlog.sh $TMP/log$r.sock $TMP/dev"
		daemon_start >&2
		DAEMON_WRAP=
		;;
	nfqaccept)
		for q in 0 1; do
			bg_ns "$GW" "$TMP/nfq_drop" $q accept
			eval "NFQ_PID$q=\$LASTPID"
		done
		sleep 0.3
		in_ns "$GW" iptables -A FORWARD -d "$BACKEND4" -p tcp -m multiport \
			--dports 6379,80 -j NFQUEUE --queue-balance 0:1 &&
		in_ns "$GW" iptables -A FORWARD -s "$BACKEND4" -p tcp -m multiport \
			--sports 6379,80 -j NFQUEUE --queue-balance 0:1 ||
			die "nfqaccept rules"
		;;
	esac
}
setup_off() {
	case $1 in
	kernel) kernel_synproxy_off ;;
	synproxyd | spoff) daemon_stop >&2 ;;
	nfqaccept)
		in_ns "$GW" iptables -F FORWARD
		kill -TERM "$NFQ_PID0" "$NFQ_PID1"
		wait_gone "$NFQ_PID0" 10 "nfq_drop 0"
		wait_gone "$NFQ_PID1" 10 "nfq_drop 1"
		;;
	esac
	in_ns "$GW" conntrack -F >/dev/null 2>&1
}

# The kernel target's own counters (/proc/net/stat/synproxy: one line per
# CPU, hexadecimal) summed, the packets its INVALID DROP rules took, and
# the packets conntrack found invalid (conntrack -S): "syn_received
# cookie_invalid cookie_valid cookie_retrans conn_reopened invalid_dropped
# ct_invalid".
kernel_counters() {
	in_ns "$GW" awk '
		function hex(s,   i, v) {
			for (i = 1; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(tolower(s), i, 1)) - 1
			return v
		}
		NR > 1 { for (i = 2; i <= NF; i++) n[i] += hex($i) }
		END { printf "%d %d %d %d %d", n[2], n[3], n[4], n[5], n[6] }' /proc/net/stat/synproxy
	in_ns "$GW" iptables -nvxL FORWARD | awk '$3 == "DROP" { n += $1 } END { printf " %d", n }'
	in_ns "$GW" conntrack -S | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^invalid=/) {
		sub(/^invalid=/, "", $i); n += $i } } END { print " " n + 0 }'
}

# ---- clients ----
# Each sets RPS (requests per second), ERR (the client's errors, a
# number), CUT (1 when the run was cut short before its count; RPS is
# then the requests completed over the run's wall time, any stall
# included) and NOTE (what the client said).

# redis-benchmark -q prints its progress ("rps=... (overall: R)") with
# carriage returns and, at the end, "PING_INLINE: R requests per second";
# a run cut by timeout keeps the last overall rate.
run_redis() {	# KEEPALIVE N
	in_ns "$CLI" timeout "$T" redis-benchmark -h "$BACKEND4" -p 6379 -c "$C" -n "$2" -k "$1" \
		-t ping_inline -q >"$TMP/rb.out" 2>"$TMP/rb.err"
	rc=$?
	tr '\r' '\n' <"$TMP/rb.out" >"$TMP/rb.lines"
	RPS=$(awk '/requests per second/ { sub(/.*: /, ""); v = $1 }
		match($0, /rps=[^ ]* \(overall: [0-9.]*\)/) {
			o = substr($0, RSTART, RLENGTH); sub(/.*overall: /, "", o); sub(/\)/, "", o)
		}
		END { printf "%.0f", (v != "") ? v : o + 0 }' "$TMP/rb.lines")
	# Its warning about keep-alive off comes with every -k 0 run.
	grep -v "^WARNING: Keepalive disabled" "$TMP/rb.err" >"$TMP/rb.errors"
	ERR=$(grep -c . "$TMP/rb.errors")
	NOTE=""
	CUT=0
	grep -q 'requests per second' "$TMP/rb.lines" || { NOTE="cut at $T s"; CUT=1; }
	[ "$rc" = 0 ] || [ "$rc" = 124 ] || { NOTE="${NOTE:+$NOTE, }exit $rc"; ERR=$((ERR + 1)); }
	[ "$ERR" = 0 ] || NOTE="${NOTE:+$NOTE, }$(head -n 1 "$TMP/rb.errors")"
}

run_rk0() { run_redis 0 "$N0"; }
run_rk1() { run_redis 1 "$N1"; }

# ab: -t before -n, or -t's implied 50000 requests replaces NAB; -r goes on
# after socket errors (and counts them) instead of exiting.  ab gives up
# when no connection moves for -s seconds, printing no figures: then the
# requests it completed ("Total of N requests completed", or its last
# "Completed N requests") over the run's wall time.
run_ab() {
	t0=$(date +%s.%N)
	in_ns "$CLI" timeout $((TAB + 30)) ab -r -s 5 -c "$C" -t "$TAB" -n "$NAB" "$URL" \
		>"$TMP/ab.out" 2>"$TMP/ab.err"
	rc=$?
	t1=$(date +%s.%N)
	RPS=$(awk '/^Requests per second:/ { printf "%.0f", $4 }' "$TMP/ab.out")
	fails=$(awk '/^Failed requests:/ { print $3 }' "$TMP/ab.out")
	non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$TMP/ab.out")
	n=$(awk '/^Complete requests:/ { print $3 }' "$TMP/ab.out")
	ERR=$(( ${fails:-0} + ${non2xx:-0} ))
	CUT=0
	if [ -z "$RPS" ]; then
		CUT=1
		n=$(awk '/^Completed [0-9]+ requests/ { n = $2 } /^Total of [0-9]+ requests completed/ {
			t = $3 } END { print (t != "") ? t : n + 0 }' "$TMP/ab.err")
		RPS=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	fi
	NOTE="$n requests"
	[ "$ERR" = 0 ] || NOTE="$NOTE, failed ${fails:-0}, non-2xx ${non2xx:-0}"
	[ "$rc" = 0 ] || { NOTE="$NOTE, exit $rc: $(grep -v '^Completed\|^Total of\|^Benchmarking\|^Finished' \
		"$TMP/ab.err" | head -n 1)"; ERR=$((ERR + 1)); }
}

run_wrk() {
	in_ns "$CLI" timeout $((D + 30)) wrk -t 2 -c "$C" -d "${D}s" --timeout 5s "$URL" \
		>"$TMP/wrk.out" 2>&1
	rc=$?
	RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$TMP/wrk.out")
	sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$TMP/wrk.out")
	non=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' "$TMP/wrk.out")
	ERR=$(( ${sock:-0} + ${non:-0} ))
	NOTE="$(awk '/requests in/ { print $1 }' "$TMP/wrk.out") requests"
	[ "$ERR" = 0 ] || NOTE="$NOTE, $(grep 'Socket errors:' "$TMP/wrk.out" | sed 's/^ *//')${non:+, non-2xx/3xx $non}"
	[ "$rc" = 0 ] || { NOTE="$NOTE, exit $rc"; ERR=$((ERR + 1)); }
	RPS=${RPS:-0}
	CUT=0
}

# ---- rounds ----
# Each client meets each gateway fresh: the kernel target with its
# conntrack table flushed, synproxyd just started (no state file), so that
# no client inherits the tuples another one left behind; the client's own
# TIME_WAIT sockets stay (its kernel reuses them, as it would).  A round
# takes the clients in turn, each through the three gateways back to back.
mkdir "$TMP/res"
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	log "round $r of $ROUNDS"
	for c in $CLIENTS; do
		for s in $SETUPS; do
			setup_on "$s"
			case $s in
			synproxyd | spoff) cnt_snap A ;;
			kernel) k0=$(kernel_counters) ;;
			esac
			"run_$c"
			extra=""
			case $s in
			synproxyd | spoff)
				cnt_snap B
				for n in $SP_COUNTERS; do
					extra="$extra $(cnt_delta A B "$n")"
				done
				;;
			kernel)
				extra=$(echo "$k0 $(kernel_counters)" |
					awk '{ for (i = 1; i <= 7; i++) printf " %d", $(i + 7) - $i }')
				;;
			esac
			setup_off "$s"
			# round, requests/s, errors, cut (0 or 1), counters
			echo "$r $RPS $ERR $CUT$extra" >>"$TMP/res/$c.$s"
			[ -z "$NOTE" ] || echo "$r $NOTE" >>"$TMP/res/$c.$s.notes"
			printf '  %-5s %-9s %8s req/s  errors %s%s\n' "$c" "$s" "$RPS" "$ERR" \
				"${NOTE:+ ($NOTE)}" >&2
		done
	done
done

# ---- figures ----
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -v k="$2" '{ print $k }' "$1"; }	# FILE COLUMN
# Per-round ratios to direct, same client, same round.
ratios() {	# CLIENT SETUP
	awk 'NR == FNR { d[$1] = $2; next } { if (d[$1] > 0) printf "%.3f\n", $2 / d[$1] }' \
		"$TMP/res/$1.direct" "$TMP/res/$1.$2"
}
# "median (min-max)" of a column, or the median alone when all agree.
spread() {	# FILE COLUMN
	m=$(col "$1" "$2" | median)
	col "$1" "$2" | sort -n | awk -v m="$m" 'NR == 1 { lo = $1 } { hi = $1 }
		END { if (lo == hi) print m; else printf "%s (%s-%s)\n", m, lo, hi }'
}
# Errors over the rounds, and the runs cut: "0", "12", "0, 3 cut".
errs() {	# FILE
	awk '{ e += $3; c += $4 } END { printf "%d", e; if (c) printf ", %d cut", c; print "" }' "$1"
}
label() {
	case $1 in
	rk0) echo "redis-benchmark -k 0 -n $N0" ;;
	rk1) echo "redis-benchmark -k 1 -n $N1" ;;
	ab) echo "ab -n $NAB (-t $TAB)" ;;
	wrk) echo "wrk -d $D" ;;
	esac
}

name() {
	case $1 in
	kernel) echo "kernel SYNPROXY" ;;
	spoff) echo "synproxyd fastpath off" ;;
	nfqaccept) echo "NFQUEUE accept-only" ;;
	*) echo "$1" ;;
	esac
}
# counters_table SETUP NAME...: per client, the counters (columns 5 on).
counters_table() {
	ct_s=$1
	shift
	echo "| counter | $(echo $CLIENTS | sed 's/ / | /g') |"
	echo "|---|$(for c in $CLIENTS; do printf -- '---|'; done)"
	i=5
	for n in "$@"; do
		line="| $n |"
		for c in $CLIENTS; do
			line="$line $(spread "$TMP/res/$c.$ct_s" $i) |"
		done
		echo "$line"
		i=$((i + 1))
	done
}

echo
echo "real clients, -c $C, $ROUNDS rounds (medians; ratios to direct in the same round)," \
	"$(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo
head="| client |"
rule="|---|"
for s in $SETUPS; do
	if [ "$s" = direct ]; then
		head="$head direct req/s |"
		rule="$rule---|"
	else
		head="$head $(name "$s") req/s | ratio |"
		rule="$rule---|---|"
	fi
done
echo "$head client errors: $(for s in $SETUPS; do printf '%s; ' "$s"; done | sed 's/; $//') |"
echo "$rule---|"
for c in $CLIENTS; do
	line="| $(label "$c") |"
	e=""
	for s in $SETUPS; do
		line="$line $(col "$TMP/res/$c.$s" 2 | median) |"
		[ "$s" = direct ] || line="$line $(ratios "$c" "$s" | median) |"
		e="$e${e:+; }$(errs "$TMP/res/$c.$s")"
	done
	echo "$line $e |"
done
echo
echo "per round, req/s (* cut short: see what the clients said):"
for c in $CLIENTS; do
	for s in $SETUPS; do
		printf '  %-5s %-9s %s\n' "$c" "$s" \
			"$(awk '{ printf "%s%s ", $2, ($4 ? "*" : "") }' "$TMP/res/$c.$s")"
	done
done
for s in $SETUPS; do
	case $s in
	synproxyd | spoff)
		echo
		echo "$(name "$s"), per client run, median (min-max) of the rounds:"
		echo
		# shellcheck disable=SC2086 # a list of names
		counters_table "$s" $SP_COUNTERS
		;;
	kernel)
		echo
		echo "kernel SYNPROXY target, per client run, median (min-max) of the rounds:"
		echo
		counters_table kernel syn_received cookie_invalid cookie_valid cookie_retrans \
			conn_reopened invalid_dropped ct_invalid
		;;
	esac
done
if ls "$TMP"/res/*.notes >/dev/null 2>&1; then
	echo
	echo "what the clients said (client.gateway round: ...):"
	for f in "$TMP"/res/*.notes; do
		sed "s|^|  $(basename "$f" .notes) |" "$f"
	done
fi
lab_finish
