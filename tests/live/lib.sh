# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the live tests (POSIX sh, sourced, root only).
#
# A test sources this file, calls lab_init (which exits 77 when the test
# cannot run here: run-live.sh counts that as a failure), builds a layout
# with lab_gateway or lab_local, starts servers and the daemon, and asserts
# with the check_* helpers.  Whatever it started (every background process,
# every namespace) is removed by a trap on ANY exit.  Every wait is bounded
# in count and time.  Only documentation addresses are used: 192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24 (RFC 5737), 2001:db8::/32 (RFC 3849) and
# 198.18.0.0/15 (RFC 2544) for flood sources.  The benchmarks (bench/) build
# the same lab with these helpers.
#
# Every setting a test's daemon runs with that differs from what a user
# runs (etc/synproxyd.conf.example) is declared with override KEY REASON;
# daemon_start refuses a configuration with an undeclared one (see
# conf_overrides) and run-live.sh prints them all at the end.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
SYNPROXYD=${SYNPROXYD:-$top_builddir/src/daemon/synproxyd}
SYNPROXYCTL=${SYNPROXYCTL:-$top_builddir/src/tools/synproxyctl}
LIVE_DIR=${LIVE_DIR:-$top_srcdir/tests/live}

CLIENT4=192.0.2.10
CLIENT6=2001:db8:1::10
BACKEND4=203.0.113.2
BACKEND6=2001:db8:2::2
PORTS="6379, 80, 5201"

LAB_PIDS=
LAB_NS=
LAB_FAILED=0
DPID=
TMP=
TEST_NAME=$(basename "$0" .sh)
# Words put before the daemon's command line in daemon_start (an env, a
# wrapper that execs it): its pid stays the daemon's.
DAEMON_WRAP=

log() {
	echo "[$(date +%H:%M:%S)] $*"
}

# Prints the reason, the daemon's log tail, and exits 1 (the trap cleans up).
fail() {
	echo "FAIL: $*"
	if [ -n "$TMP" ] && [ -s "$TMP/daemon.log" ]; then
		echo "--- daemon log (last 30 lines)"
		tail -n 30 "$TMP/daemon.log"
	fi
	exit 1
}

# The test cannot run here (no root, a tool missing): exit 77, which
# run-live.sh reports as a failure.
cannot_run() {
	echo "cannot run: $*"
	exit 77
}

# Soft check: records the failure, prints it, lets the test go on so that
# one run reports every broken assertion.  lab_finish turns it into exit 1.
check() {
	desc=$1
	shift
	if "$@"; then
		echo "ok: $desc"
	else
		echo "NOT OK: $desc (command: $*)"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
}

check_eq() {	# DESC GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($2)"
	else
		echo "NOT OK: $1: got '$2', want '$3'"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
}

check_ge() {	# DESC GOT MIN
	if [ "${2:-0}" -ge "$3" ] 2>/dev/null; then
		echo "ok: $1 ($2 >= $3)"
	else
		echo "NOT OK: $1: got '$2', want >= $3"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
}

check_le() {	# DESC GOT MAX
	if [ "${2:-x}" -le "$3" ] 2>/dev/null; then
		echo "ok: $1 ($2 <= $3)"
	else
		echo "NOT OK: $1: got '$2', want <= $3"
		LAB_FAILED=$((LAB_FAILED + 1))
	fi
}

lab_finish() {
	if [ -s "$TMP/overrides" ]; then
		echo "settings overridden in this test (setting = value: why):"
		sort -u "$TMP/overrides" | awk -F'\t' '{ print "  " $2 ": " $3 }'
	fi
	if [ "$LAB_FAILED" -ne 0 ]; then
		fail "$LAB_FAILED check(s) failed"
	fi
	echo "PASS"
	exit 0
}

# ---- overrides of what users run -------------------------------------------

# The settings etc/synproxyd.conf.example changes from the built-in
# defaults, with the built-in value (tests/unit/test_conf.c's test_example
# holds this list to the file).  A test that leaves one at the built-in
# default runs something else than the example: that is an override too.
EXAMPLE_CHANGES='queue.count=1 timeouts.backend_syn_rto=1.0 logging.level="info" logging.target="stderr"'
EXAMPLE_CONF=${EXAMPLE_CONF:-$top_srcdir/etc/synproxyd.conf.example}
LAB_DECLARED=

# override KEY REASON: the test runs KEY (a setting's path, "queue.count",
# "rules.mss", or a group, "syncache", covering its settings) other than
# the example has it, for REASON.
override() {
	LAB_DECLARED="$LAB_DECLARED
$1	$2"
}

# Every test but shipped.sh (which runs the example itself) keeps these.
override queue.count "one queue, one worker (the built-in default; the example has 2): the counters a test checks and the per-engine caps are one engine's; shipped.sh runs two"
override logging "the built-in info to stderr (the example: notice to syslog): the daemon's lines land in the test's log, which a failure prints; shipped.sh logs to syslog"
override timeouts.backend_syn_rto "the built-in 1 s unless the test says otherwise (the example: 0.5 s, which shipped.sh runs)"

# conf_overrides FILE: every setting FILE makes differ from the example
# (a value the example does not give that key, or one of EXAMPLE_CHANGES
# left at its built-in default) must be declared; each goes with its
# reason to $TMP/overrides and, under run-live.sh, to $LIVE_OVERRIDES.
# What describes the lab is no override: mode, control_socket, state_file,
# queue.num
# and each rule's name, dst, ports and action.
conf_overrides() {
	"$PY" "$LIVE_DIR/conf_keys.py" "$1" >"$TMP/conf.keys" || fail "cannot read $1"
	"$PY" "$LIVE_DIR/conf_keys.py" "$EXAMPLE_CONF" >"$TMP/example.keys" ||
		fail "cannot read $EXAMPLE_CONF"
	printf '%s\n' "$LAB_DECLARED" | awk 'NF' >"$TMP/declared"
	awk -F'\t' -v test="$TEST_NAME" -v changes="$EXAMPLE_CHANGES" '
		function why(k,   p, i) {
			for (p = k; ; p = substr(p, 1, i - 1)) {
				if (p in reason)
					return reason[p]
				if (!(i = match(p, /\.[^.]*$/)))
					return ""
			}
		}
		function note(k, v,   r) {
			r = why(k)
			if (r == "") {
				print "undeclared override: " k " = " v > "/dev/stderr"
				bad = 1
			} else {
				print test "\t" k " = " v "\t" r
			}
		}
		FILENAME ~ /declared$/ { reason[$1] = $2; next }
		FILENAME ~ /example.keys$/ { ex[$1 "\t" $2] = 1; has_ex[$1] = 1; next }
		$1 ~ /^(mode|control_socket|state_file|queue\.num|rules\.(name|dst|ports|action))$/ { next }
		{ set[$1] = 1 }
		!(($1 "\t" $2) in ex) { note($1, $2) }
		END {
			n = split(changes, c, " ")
			for (i = 1; i <= n; i++) {
				split(c[i], kv, "=")
				if (kv[1] != "" && !(kv[1] in set))
					note(kv[1], kv[2] " (built-in default)")
			}
			exit bad
		}' "$TMP/declared" "$TMP/example.keys" "$TMP/conf.keys" >"$TMP/conf.overrides" ||
		fail "$1 sets something no override declares (see above; override KEY REASON)"
	[ -s "$TMP/conf.overrides" ] ||
		printf '%s\t(no setting)\tevery setting as the example has it\n' "$TEST_NAME" \
		>"$TMP/conf.overrides"
	cat "$TMP/conf.overrides" >>"$TMP/overrides"
	[ -z "${LIVE_OVERRIDES:-}" ] || cat "$TMP/conf.overrides" >>"$LIVE_OVERRIDES"
}

lab_cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null
		i=0
		while kill -0 "$DPID" 2>/dev/null && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$DPID" 2>/dev/null
	fi
	for p in $LAB_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $LAB_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	# Anything still running in our namespaces (a server that forked).
	for ns in $LAB_NS; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in $LAB_NS; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$TMP" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$TMP"
	exit "$rc"
}

# Picks a python3 that has scapy (the pyenv shim on PATH may not).
find_python() {
	for py in /usr/bin/python3 python3; do
		if "$py" -c 'import scapy.all' >/dev/null 2>&1; then
			PY=$py
			return 0
		fi
	done
	return 1
}

# lab_init [TOOL...]: root, netns, the named tools; a unique prefix and TMP.
# Whatever is missing makes the test exit 77, which run-live.sh counts as
# a failure (a test is left out only when LIVE_SKIP names it).
lab_init() {
	[ "$(id -u)" = 0 ] || cannot_run "needs root"
	for t in ip iptables ip6tables tcpdump "$@"; do
		command -v "$t" >/dev/null 2>&1 || cannot_run "$t not installed (scripts/install-deps)"
	done
	[ -x "$SYNPROXYD" ] || cannot_run "$SYNPROXYD not built"
	find_python || cannot_run "python3 with scapy not found"
	rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	P="spd$$$rnd"
	TMP=$(mktemp -d /tmp/spd-live.XXXXXX) || exit 1
	chmod 755 "$TMP"
	trap lab_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	ip netns add "$P-probe" 2>/dev/null || cannot_run "network namespaces unsupported"
	ip netns del "$P-probe"
}

ns_add() {
	ip netns add "$1" || fail "netns add $1"
	LAB_NS="$LAB_NS $1"
	ip -n "$1" link set lo up
	# Addresses usable at once: no duplicate address detection.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 || fail "sysctl dad $1"
}

# NS CMD...: runs CMD in NS in the background, remembers its pid in LASTPID.
bg_ns() {
	ns=$1
	shift
	ip netns exec "$ns" "$@" &
	LASTPID=$!
	LAB_PIDS="$LAB_PIDS $LASTPID"
}

in_ns() {
	ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# Waits (bounded) until "ss" in NS lists a TCP listener on PORT.
wait_listen() {	# NS PORT
	i=0
	until ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q LISTEN; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "nothing listens on port $2 in $1"
		sleep 0.1
	done
}

# wait_log PATTERN SECONDS: waits until the daemon's log has a line
# matching PATTERN (grep), at most SECONDS; false when it never came.
wait_log() {
	i=0
	until grep -q -- "$1" "$TMP/daemon.log"; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}

# wait_gone PID SECONDS WHAT: waits for PID to exit (it was started with a
# bound of its own); fails after SECONDS.
wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && fail "$3 did not finish within $2 s"
		sleep 0.1
	done
}

# wait_file FILE SECONDS WHAT [LOG]: waits until FILE exists and is not
# empty (a background helper's answer); after SECONDS fails with WHAT and
# the helper's LOG.
wait_file() {
	i=0
	until [ -s "$1" ]; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && fail "$3${4:+: $(cat "$4")}"
		sleep 0.1
	done
}

# start_listener SOCKET OUT [ARGS]: unix_listener.py (in the gateway
# namespace, bounded) writes what arrives on SOCKET to OUT; waits until it
# listens.
start_listener() {
	sl_sock=$1 sl_out=$2
	shift 2
	bg_ns "$DAEMON_NS" timeout 300 "$PY" "$LIVE_DIR/unix_listener.py" "$sl_sock" "$sl_out" \
		--seconds 290 "$@"
	i=0
	until [ -S "$sl_sock" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "the listener on $sl_sock did not start"
		sleep 0.1
	done
}

# The echo server on the backend (port PORT, 6379 by default), bounded to
# LIFE seconds.
start_echo() {	# NS [LIFE] [PORT]
	bg_ns "$1" timeout "${2:-300}" "$PY" -c '
import socket, sys, threading
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(256)
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
' "${3:-6379}"
	ECHO_PID=$LASTPID
	wait_listen "$1" "${3:-6379}"
}

# Gateway layout: client -- gateway (daemon) -- backend.
#   CLI  c0 192.0.2.10/24 2001:db8:1::10/64
#   GW   g0 192.0.2.1/24 2001:db8:1::1/64, g1 203.0.113.1/24 2001:db8:2::1/64
#   SRV  s0 203.0.113.2/24 2001:db8:2::2/64
# Sets CLI GW SRV, DAEMON_NS (where the daemon runs), SRV_IF (the interface
# the backend receives on), CLI_IF.
lab_gateway() {
	CLI="$P-cli" GW="$P-gw" SRV="$P-srv"
	ns_add "$CLI"
	ns_add "$GW"
	ns_add "$SRV"
	ip link add c0 netns "$CLI" type veth peer name g0 netns "$GW" || fail "veth client"
	ip link add g1 netns "$GW" type veth peer name s0 netns "$SRV" || fail "veth backend"
	ip -n "$CLI" addr add 192.0.2.10/24 dev c0
	ip -n "$CLI" addr add 2001:db8:1::10/64 dev c0 nodad
	ip -n "$GW" addr add 192.0.2.1/24 dev g0
	ip -n "$GW" addr add 2001:db8:1::1/64 dev g0 nodad
	ip -n "$GW" addr add 203.0.113.1/24 dev g1
	ip -n "$GW" addr add 2001:db8:2::1/64 dev g1 nodad
	ip -n "$SRV" addr add 203.0.113.2/24 dev s0
	ip -n "$SRV" addr add 2001:db8:2::2/64 dev s0 nodad
	ip -n "$CLI" link set c0 up
	ip -n "$GW" link set g0 up
	ip -n "$GW" link set g1 up
	ip -n "$SRV" link set s0 up
	ip -n "$CLI" route add default via 192.0.2.1
	ip -n "$CLI" -6 route add default via 2001:db8:1::1
	ip -n "$SRV" route add default via 203.0.113.1
	ip -n "$SRV" -6 route add default via 2001:db8:2::1
	in_ns "$GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		fail "forwarding"
	lab_conntrack_strict "$GW"
	DAEMON_NS=$GW SRV_IF=s0 CLI_IF=c0 MODE=gateway
	lab_wait_reach
}

# Local layout: the daemon runs on the backend itself.
#   CLI  c0 192.0.2.10/24 2001:db8:1::10/64, default via the backend
#   SRV  s0 192.0.2.1/24 2001:db8:1::1/64 203.0.113.2/24 2001:db8:2::2/64
# The daemon's SYN to the local server travels over lo, so SRV_IF=lo.
lab_local() {
	CLI="$P-cli" SRV="$P-srv" GW=
	ns_add "$CLI"
	ns_add "$SRV"
	ip link add c0 netns "$CLI" type veth peer name s0 netns "$SRV" || fail "veth"
	ip -n "$CLI" addr add 192.0.2.10/24 dev c0
	ip -n "$CLI" addr add 2001:db8:1::10/64 dev c0 nodad
	ip -n "$SRV" addr add 192.0.2.1/24 dev s0
	ip -n "$SRV" addr add 2001:db8:1::1/64 dev s0 nodad
	ip -n "$SRV" addr add 203.0.113.2/24 dev s0
	ip -n "$SRV" addr add 2001:db8:2::2/64 dev s0 nodad
	ip -n "$CLI" link set c0 up
	ip -n "$SRV" link set s0 up
	ip -n "$CLI" route add default via 192.0.2.1
	ip -n "$CLI" -6 route add default via 2001:db8:1::1
	lab_conntrack_strict "$SRV"
	DAEMON_NS=$SRV SRV_IF=lo CLI_IF=c0 MODE=local
	lab_wait_reach
}

# The setting synproxyd(8) asks for with the kernel fast path, in the
# daemon's namespace: with loose pickup, packets racing an offload make
# clashing entries.  The sysctl exists once nf_conntrack is loaded (built
# in here; a module elsewhere); a lab that cannot have it fails.
lab_conntrack_strict() {	# NS
	if command -v modprobe >/dev/null 2>&1; then
		modprobe nf_conntrack 2>/dev/null
	fi
	in_ns "$1" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 ||
		fail "cannot set net.netfilter.nf_conntrack_tcp_loose=0 in $1 (nf_conntrack missing?)"
	v=$(in_ns "$1" sysctl -n net.netfilter.nf_conntrack_tcp_loose)
	[ "$v" = 0 ] || fail "net.netfilter.nf_conntrack_tcp_loose is '$v' in $1, want 0"
}

# Flood namespace FLD, linked to the gateway over 198.51.100.0/24; the
# gateway routes 198.18.0.0/15 to it, so the proxy's SYN-ACKs to spoofed
# sources need one neighbour entry and die there (FLD does not forward).
lab_flood_ns() {
	FLD="$P-fld"
	ns_add "$FLD"
	ip link add f0 netns "$FLD" type veth peer name g2 netns "$GW" || fail "veth flood"
	ip -n "$FLD" addr add 198.51.100.2/24 dev f0
	ip -n "$GW" addr add 198.51.100.1/24 dev g2
	ip -n "$FLD" link set f0 up
	ip -n "$GW" link set g2 up
	ip -n "$FLD" route add default via 198.51.100.1
	ip -n "$GW" route add 198.18.0.0/15 via 198.51.100.2
}

ns_mac() {	# NS IF
	ip -n "$1" -br link show "$2" | awk '{ print $3 }'
}

# The routes must be in place at once (addresses are nodad); a missing one
# is a set-up bug.
lab_wait_reach() {
	in_ns "$CLI" ip route get "$BACKEND4" >/dev/null || fail "no route to $BACKEND4"
	in_ns "$CLI" ip -6 route get "$BACKEND6" >/dev/null || fail "no route to $BACKEND6"
}

# Writes $TMP/synproxyd.conf: mode, control socket, two proxy rules (the
# backend's IPv4 and IPv6 address, $PORTS) and the extra text in $1 (for
# syncache/flows/timeouts groups; each setting there needs its override).
write_conf() {	# [EXTRA] [FILE]
	SOCK="$TMP/ctl/control.sock"
	CONF=${2:-$TMP/synproxyd.conf}
	cat >"$CONF" <<CONF
mode = "$MODE";
control_socket = "$SOCK";
state_file = "$TMP/state";
${1:-}
rules = (
	{ name = "v4"; dst = "$BACKEND4"; ports = [ $PORTS ]; action = "proxy"; },
	{ name = "v6"; dst = "$BACKEND6"; ports = [ $PORTS ]; action = "proxy"; }
);
CONF
}

# Starts the daemon in DAEMON_NS with $CONF and -r; waits (bounded) for its
# control socket and rules.  Sets DPID.
daemon_start() {
	"$SYNPROXYD" -c "$CONF" -t || fail "config $CONF rejected"
	conf_overrides "$CONF"
	# shellcheck disable=SC2086 # DAEMON_WRAP is words
	ip netns exec "$DAEMON_NS" $DAEMON_WRAP "$SYNPROXYD" -c "$CONF" -r >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	i=0
	while [ ! -S "$SOCK" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "daemon did not create $SOCK within 10 s"
		kill -0 "$DPID" 2>/dev/null || { DPID=; fail "daemon exited early"; }
		sleep 0.1
	done
	i=0
	until "$SYNPROXYCTL" -s "$SOCK" stats >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "control socket does not answer"
		sleep 0.1
	done
	in_ns "$DAEMON_NS" iptables-save | grep -q SYNPROXYD || fail "rules not installed"
	log "synproxyd running (pid $DPID, mode $MODE)"
}

# The daemon's kernel queues hold no packet: every packet queued got its
# verdict (one that the daemon held was released or dropped, never left
# behind).  Waits (bounded) for packets still in flight.
check_queue_empty() {
	i=0
	while :; do
		q=$(in_ns "$DAEMON_NS" awk '{ n += $3 } END { print n + 0 }' \
			/proc/net/netfilter/nfnetlink_queue)
		[ "$q" = 0 ] && break
		i=$((i + 1))
		[ $i -gt 30 ] && break
		sleep 0.1
	done
	check_eq "kernel queues empty (/proc/net/netfilter/nfnetlink_queue)" "$q" 0
}

# SIGTERM, bounded wait; sets DAEMON_RC.
daemon_stop() {
	[ -n "$DPID" ] || return 0
	# Every test ends with the flow accounting of the daemon it stops, and
	# with its queues empty.
	if kill -0 "$DPID" 2>/dev/null; then
		check_flow_accounting
		check_queue_empty
	fi
	kill -TERM "$DPID"
	i=0
	while kill -0 "$DPID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "daemon did not stop within 10 s of SIGTERM"
		sleep 0.1
	done
	wait "$DPID"
	DAEMON_RC=$?
	DPID=
}

# daemon_crash: SIGKILL, as a crash: no state file is written (the one
# the start read is gone), the rules stay, the dead control socket is
# removed so that the next daemon_start waits for the new one.
daemon_crash() {
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	rm -f "$SOCK"
	check "no state file after SIGKILL" test ! -e "$TMP/state"
}

# True when the daemon is built with AddressSanitizer (--enable-sanitizers):
# its runtime and shadow memory add several MB to any RSS figure.
daemon_sanitized() {
	ldd "$SYNPROXYD" 2>/dev/null | grep -q libasan
}

daemon_rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$DPID/status"
}

ctl() {
	"$SYNPROXYCTL" -s "$SOCK" "$@"
}

# Reloads the daemon with the $CONF a test rewrote (its overrides checked
# and recorded as daemon_start does); prints the answer.
daemon_reload() {
	conf_overrides "$CONF"
	ctl reload
}

# ctl_counter NAME: the counter's value (empty when the daemon does not answer).
ctl_counter() {
	"$SYNPROXYCTL" -s "$SOCK" stats 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

# Counter snapshot: cnt_snap NAME stores every counter as NAME_<counter>.
cnt_snap() {
	st=$("$SYNPROXYCTL" -s "$SOCK" stats 2>/dev/null) || fail "control socket does not answer"
	eval "$(echo "$st" | awk -v p="$1" 'NF >= 2 && $1 ~ /^[a-z_0-9]+$/ && $2 ~ /^[0-9]+$/ { print p "_" $1 "=" $2 }')"
}

# cnt_delta A B NAME: B_NAME - A_NAME.
cnt_delta() {
	eval "echo \$((\${$2_$3:-0} - \${$1_$3:-0}))"
}

# Prints the named counters on one line.
ctl_show() {
	st=$("$SYNPROXYCTL" -s "$SOCK" stats 2>/dev/null)
	line=
	for n in "$@"; do
		line="$line $n=$(echo "$st" | awk -v n="$n" '$1 == n { print $2 }')"
	done
	echo "counters:$line"
}

# ---- servers in the backend namespace -------------------------------------

start_redis() {	# NS [LIFE]
	bg_ns "$1" timeout "${2:-300}" redis-server --port 6379 --bind 0.0.0.0 :: --protected-mode no \
		--save '' --appendonly no --daemonize no --dir "$TMP" --logfile "$TMP/redis.log"
	REDIS_PID=$LASTPID
	wait_listen "$1" 6379
}

# nginx serving $TMP/www/big.bin (10 MB of random bytes) on port 80.
start_nginx() {	# NS
	mkdir -p "$TMP/www" "$TMP/nginx"
	head -c 10485760 /dev/urandom >"$TMP/www/big.bin"
	BIG_SHA=$(sha256sum "$TMP/www/big.bin" | cut -d' ' -f1)
	cat >"$TMP/nginx/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx;
	proxy_temp_path $TMP/nginx;
	fastcgi_temp_path $TMP/nginx;
	uwsgi_temp_path $TMP/nginx;
	scgi_temp_path $TMP/nginx;
	server {
		listen 80;
		listen [::]:80;
		root $TMP/www;
	}
}
NGINX
	bg_ns "$1" timeout 300 nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx"
	wait_listen "$1" 80
}

# iperf3 server, restarted for each run (-1: one test, then exit).
start_iperf() {	# NS
	bg_ns "$1" timeout 60 iperf3 -s -1 -p 5201 >>"$TMP/iperf3-server.log" 2>&1
	wait_listen "$1" 5201
}

# ---- captures -------------------------------------------------------------

# cap_start NAME NS IF [FILTER]: tcpdump -w $TMP/NAME.pcap; waits until it
# listens.  Only headers are kept (-s 128).
# Every flow the engine created has ended for exactly one counted reason
# or is still in the table: flows_created (+ flows_restored, the state
# file's, + flows_from_conntrack, entries taken in) = flows_active + flows_reset +
# backend_refused + flows_closed + backend_unreachable + backend_timeout +
# offload_released + flows_expired (engine.c counts each end once).  A leak
# or a double free of flow slots breaks the equation.
check_flow_accounting() {
	timeout 10 "$SYNPROXYCTL" -s "$SOCK" stats >"$TMP/acct.stats" ||
		{ check_eq "stats for the flow accounting" fail ok; return; }
	acct=$(awk '{ v[$1] = $2 } END {
		ended = v["flows_reset"] + v["backend_refused"] + v["flows_closed"] + \
			v["backend_unreachable"] + v["backend_timeout"] + v["offload_released"] + \
			v["flows_expired"]
		printf "%d %d %d", v["flows_created"] + v["flows_restored"] + \
			v["flows_from_conntrack"], ended, \
			v["flows_active"] }' "$TMP/acct.stats")
	set -- $acct
	check_eq "flow accounting: created (and restored) $1 = ended $2 + active $3" "$1" \
		$(($2 + $3))
}

# cap_start NAME NS IF [FILTER]: tcpdump on IF in NS into $TMP/NAME.pcap.
# --immediate-mode: libpcap's TPACKET_V3 ring otherwise hands packets over
# in blocks (up to a 1 s timeout), and those still in the ring when
# cap_stop interrupts tcpdump are lost: "received by filter" but not
# captured (seen in scenarios.sh with a SYN 0.5 s before the stop).
cap_start() {
	name=$1 ns=$2 ifc=$3
	shift 3
	ip netns exec "$ns" tcpdump -i "$ifc" -s 128 -U --immediate-mode -n -w "$TMP/$name.pcap" \
		"$@" \
		>"$TMP/$name.tcpdump.log" 2>&1 &
	eval "CAP_$name=$!"
	LAB_PIDS="$LAB_PIDS $!"
	i=0
	until grep -q "listening on" "$TMP/$name.tcpdump.log"; do
		i=$((i + 1))
		[ $i -gt 50 ] && fail "tcpdump $name did not start"
		sleep 0.1
	done
}

# cap_stop NAME: SIGINT, bounded wait, so the file is complete.
cap_stop() {
	eval "pid=\$CAP_$1"
	sleep 0.3
	kill -INT "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 50 ] && { kill -KILL "$pid"; break; }
		sleep 0.1
	done
}

# check_flood_syns NAME MIN_REAL [FLOOD]: capture NAME (SYNs at the
# backend) holds at least MIN_REAL SYNs from the real client, the positive
# control that it saw the SYNs of its time, and FLOOD (0 by default) from
# the flood sources in 198.18.0.0/15.
check_flood_syns() {
	cf_real=$(cap_count "$1" "src host $CLIENT4")
	cf_flood=$(cap_count "$1" "src net 198.18.0.0/15")
	echo "backend capture $1: $(cap_count "$1") SYN(s), $cf_real from the real client," \
		"$cf_flood from 198.18.0.0/15"
	check_ge "capture $1 works: the real client's SYNs at the backend" "$cf_real" "$2"
	check_eq "capture $1: SYNs from flood sources at the backend" "$cf_flood" "${3:-0}"
}

# SYN (without ACK) filter for IPv4 and IPv6 (no extension headers).
SYN_FILTER='(ip and tcp[13] & 0x12 == 0x02) or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02)'

# cap_count NAME [FILTER]: packets in the capture that match FILTER.
cap_count() {
	f=$1
	shift
	tcpdump -r "$TMP/$f.pcap" -n "$@" 2>/dev/null | wc -l
}

# ---- clients ---------------------------------------------------------------

redis_ping() {	# ADDR
	in_ns "$CLI" timeout 10 redis-cli -h "$1" -p 6379 ping 2>&1
}

# One half-open attempt: a SYN from the client namespace that is never
# completed (scapy; the kernel RSTs the SYN-ACK, which is fine: no ACK).
send_lone_syn() {	# ADDR SPORT
	in_ns "$CLI" timeout 20 "$PY" "$LIVE_DIR/scapy_client.py" lone-syn "$1" 6379 "$2"
}

# ---- the application suite (apps_gateway.sh, apps_local.sh) ---------------

# iperf3 for 5 s against ADDR ([-R]); prints the receiver's Mbit/s.
iperf_run() {	# ADDR [-R]
	start_iperf "$SRV"
	out=$(in_ns "$CLI" timeout 30 iperf3 -c "$1" -p 5201 -t 5 -f m $2 2>&1)
	echo "$out" | awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' |
		tail -n 1
}

run_apps_suite() {
	start_redis "$SRV"
	start_nginx "$SRV"
	write_conf "timeouts = { backend_syn_rto = 0.5; };"
	daemon_start
	cap_start back "$SRV" "$SRV_IF" "$SYN_FILTER"
	cap_start cli "$CLI" "$CLI_IF" "$SYN_FILTER"
	for addr in "$BACKEND4" "$BACKEND6"; do
		log "== $MODE, backend $addr"
		check_eq "redis-cli -h $addr ping" "$(redis_ping "$addr")" PONG
		case $addr in *:*) url="http://[$addr]/big.bin" ;; *) url="http://$addr/big.bin" ;; esac
		got=$(in_ns "$CLI" timeout 60 curl -gsS --max-time 50 -o "$TMP/got.bin" \
			-w '%{time_total} %{speed_download}' "$url")
		echo "curl 10 MB from $url: $(echo "$got" |
			awk '{ printf "%.3f s, %.0f Mbit/s", $1, $2 * 8 / 1e6 }')"
		got=$(sha256sum "$TMP/got.bin" | cut -d' ' -f1)
		check_eq "sha256 of the 10 MB file via $addr" "$got" "$BIG_SHA"
		for dir in "" -R; do
			mbit=$(iperf_run "$addr" "$dir")
			echo "iperf3 $addr ${dir:-(client->server)}: ${mbit:-none} Mbit/s"
			check "iperf3 $addr $dir non-zero throughput" \
				awk -v m="${mbit:-0}" 'BEGIN { exit !(m > 0) }'
		done
		# A client SYN whose handshake is never completed.
		sport=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000 ))
		check "lone SYN to $addr answered by the proxy" send_lone_syn "$addr" "$sport"
		eval "LONE_$(echo "$addr" | tr -c '0-9a-z\n' _)=$sport"
		LONE_PORTS="${LONE_PORTS:-} $sport"
	done
	sleep 1
	cap_stop back
	cap_stop cli
	ctl_show syn_received synack_sent syncache_hit cookie_valid backend_syn_sent \
		backend_syn_retrans backend_established flows_created packets_translated
	back_syns=$(cap_count back)
	sent=$(ctl_counter backend_syn_sent)
	retr=$(ctl_counter backend_syn_retrans)
	flows=$(ctl_counter flows_created)
	echo "SYNs seen by the backend: $back_syns"
	check_eq "backend SYNs == backend_syn_sent + backend_syn_retrans" \
		"$back_syns" "$((sent + retr))"
	check_eq "backend_syn_sent == flows_created" "$sent" "$flows"
	# 2 x (redis 1 + curl 1 + iperf3 2 x (control + data)) = 12 connections
	check_ge "flows_created counts every completed handshake" "$flows" 12
	for sp in $LONE_PORTS; do
		n=$(cap_count back "tcp port $sp")
		check_eq "lone SYN (sport $sp) never reached the backend" "$n" 0
		n=$(cap_count cli "tcp src port $sp")
		check_ge "lone SYN (sport $sp) left the client" "$n" 1
	done
	# Every SYN the backend got: its source port must have completed a
	# handshake, i.e. appear in the client capture (same tuple).
	cap_tuples back | sort -u >"$TMP/back.tuples"
	cap_tuples cli | sort -u >"$TMP/cli.tuples"
	extra=$(comm -23 "$TMP/back.tuples" "$TMP/cli.tuples" | wc -l)
	check_eq "every backend SYN matches a client SYN tuple" "$extra" 0
	daemon_stop
	check_eq "daemon exit status" "$DAEMON_RC" 0
	lab_finish
}

# Prints "src sport dst dport" for every SYN in capture NAME.
cap_tuples() {
	tcpdump -r "$TMP/$1.pcap" -n 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == ">") { s = $(i - 1); d = $(i + 1); sub(":$", "", d); print s, d } }'
}
