# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for hostile.sh, faults.sh, soak.sh and fastpath.sh (sourced after lib.sh).
#
# A long-lived client that must never lose a reply, the daemon
# configuration these tests need (queue flags, rule options), and hostile.py
# wrappers.  The echo server they talk to is start_echo in lib.sh.

HOSTILE_PY=$LIVE_DIR/hostile.py

# The long-lived client: one TCP connection to ADDR:6379, a numbered random
# message every INTERVAL seconds (0.2; the first 20 back to back, so that
# the flow reaches the fast path at once), every reply checked byte for byte;
# SIZE pads each message to that many bytes.  Writes its local port to
# $TMP/ll.port and a line per 25 exchanges to $TMP/ll.log; runs until
# $TMP/ll.stop exists (or MAXSECS).  Exit 0 only if every reply was right
# and the connection never broke; the last line then says how many
# exchanges and bytes each way.
start_longlived() {	# ADDR [MAXSECS] [INTERVAL] [SIZE]
	rm -f "$TMP/ll.stop" "$TMP/ll.port"
	bg_ns "$CLI" timeout "${2:-200}" "$PY" -u -c '
import os, socket, sys, time
addr, tmp, interval, size = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
c = socket.create_connection((addr, 6379), timeout=5)
c.settimeout(5)
open(tmp + "/ll.port.tmp", "w").write("%d\n" % c.getsockname()[1])
os.rename(tmp + "/ll.port.tmp", tmp + "/ll.port")
n = total = 0
worst = 0.0
while not os.path.exists(tmp + "/ll.stop"):
    msg = ("msg %d %s\n" % (n, os.urandom(12).hex())).encode()
    msg = msg[:-1] + b"x" * max(0, size - len(msg)) + b"\n"
    t0 = time.monotonic()
    try:
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = c.recv(4096)
            if not d:
                sys.exit("LL: connection closed after %d exchanges" % n)
            got += d
    except OSError as e:
        sys.exit("LL: %s after %d exchanges" % (e, n))
    rtt = time.monotonic() - t0
    worst = max(worst, rtt)
    if got != msg:
        sys.exit("LL: reply %d wrong: %r != %r" % (n, got, msg))
    n += 1
    total += len(msg)
    if n % 25 == 0:
        print("LL exchanges %d worst_rtt %.3f" % (n, worst), flush=True)
    # The first 20 back to back: past the 32 segments after which the
    # daemon hands a flow to the kernel fast path, as the tests expect.
    if n > 20:
        time.sleep(interval)
c.close()
print("LL OK exchanges %d worst_rtt %.3f bytes %d" % (n, worst, total))
' "$1" "$TMP" "${3:-0.2}" "${4:-0}" >"$TMP/ll.log" 2>&1
	LL_PID=$LASTPID
	wait_file "$TMP/ll.port" 10 "long-lived client did not connect" "$TMP/ll.log"
	LL_PORT=$(cat "$TMP/ll.port")
}

# Exchanges done so far by the long-lived client (0 before the first 25).
ll_count() {
	awk '/^LL/ { for (i = 1; i < NF; i++) if ($i == "exchanges") n = $(i + 1) }
		END { print n + 0 }' "$TMP/ll.log"
}

# True while the long-lived client runs (it exits only on failure or stop).
ll_alive() {
	kill -0 "$LL_PID" 2>/dev/null
}

# Stops the long-lived client; sets LL_RC and prints its log.
stop_longlived() {
	touch "$TMP/ll.stop"
	i=0
	while kill -0 "$LL_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && { kill -KILL "$LL_PID"; break; }
		sleep 0.1
	done
	wait "$LL_PID"
	LL_RC=$?
	tail -n 3 "$TMP/ll.log"
}

# Writes $CONF like lib.sh's write_conf, with queue.bypass ("default"
# leaves the shipped default) and extra options for the rules (each
# setting needs its override).
#   hostile_conf BYPASS "RULE_OPTS" ["EXTRA"] [FILE]
hostile_conf() {
	SOCK="$TMP/ctl/control.sock"
	CONF=${4:-$TMP/synproxyd.conf}
	hc_queue=
	[ "$1" = default ] || hc_queue="queue = { bypass = $1; };"
	cat >"$CONF" <<CONF
mode = "$MODE";
$hc_queue
control_socket = "$SOCK";
state_file = "$TMP/state";
${3:-}
rules = (
	{ name = "v4"; dst = "$BACKEND4"; ports = [ $PORTS ]; action = "proxy"; ${2:-} },
	{ name = "v6"; dst = "$BACKEND6"; ports = [ $PORTS ]; action = "proxy"; ${2:-} }
);
CONF
}

# MAC address of interface IF in namespace NS.
# hostile NS IF GWMAC MODE ARGS...: runs hostile.py, prints its output, sets
# HOSTILE_SENT (packets sent) and HOSTILE_PPS.
hostile() {
	hns=$1 hif=$2 hmac=$3
	shift 3
	out=$(ip netns exec "$hns" timeout 120 "$PY" "$HOSTILE_PY" "$@" --iface "$hif" \
		--gwmac "$hmac" 2>&1 | grep -v '^WARNING')
	echo "$out" | sed 's/^/  hostile.py: /'
	HOSTILE_SENT=$(echo "$out" | awk '$1 == "sent" { print $3 }' | tail -n 1)
	HOSTILE_PPS=$(echo "$out" | awk '$1 == "sent" { gsub(/[(]/, "", $8); print $8 }' | tail -n 1)
	HOSTILE_SECS=$(echo "$out" | awk '$1 == "sent" { print $6 }' | tail -n 1)
	[ -n "$HOSTILE_SENT" ] || fail "hostile.py $* did not run"
}

# Asserts the daemon process lives and its control socket answers.
check_daemon_alive() {	# WHEN
	if kill -0 "$DPID" 2>/dev/null && "$SYNPROXYCTL" -s "$SOCK" stats >/dev/null 2>&1; then
		echo "ok: daemon alive after $1"
	else
		echo "NOT OK: daemon dead or control socket silent after $1"
		LAB_FAILED=$((LAB_FAILED + 1))
		fail "daemon gone after $1"
	fi
}
