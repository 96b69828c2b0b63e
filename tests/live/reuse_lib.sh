# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for connections whose client vanishes and comes back on the same
# port (sourced after lib.sh, in a gateway lab with an echo server on the
# backend): reuse.sh, and xdp.sh for the same through the XDP stage.

# client PORT LINES MODE: one connection from PORT to the echo server at
# $BACKEND4:$ECHO_PORT (80 unless set), LINES lines echoed, then MODE:
# "close" (FIN, the client first) or "vanish" (writes $TMP/ready, waits
# for $TMP/vanish, then aborts its socket: the RST is dropped by the rule
# the shell put in place).
# Prints the seconds the connect took.
client() {
	in_ns "$CLI" timeout 40 "$PY" -c '
import os, socket, struct, sys, time
port, lines, mode, tmp = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(("0.0.0.0", port))
c.settimeout(15)
t0 = time.monotonic()
c.connect((sys.argv[1], int(sys.argv[6])))
took = time.monotonic() - t0
for i in range(lines):
    msg = b"line %d from %d\n" % (i, port)
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = c.recv(len(msg) - len(got))
        assert d, "connection closed"
        got += d
    assert got == msg, got
if mode == "vanish":
    # The last echo acknowledged first (a delayed ACK, at most 200 ms):
    # unacknowledged, the server would resend it after the drop rule is
    # gone and the RST of the client kernel would end the old connection
    # before the new one comes, which is not what is tested.
    time.sleep(0.4)
    open(tmp + "/ready", "w").write("connected\n")
    for i in range(300):
        if os.path.exists(tmp + "/vanish"):
            break
        time.sleep(0.05)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
print("%.3f" % took)
' "$BACKEND4" "$1" "$2" "$3" "$TMP" "${ECHO_PORT:-80}"
}

# wait_listed PATTERN SECONDS: until `synproxyctl flows` has a line
# matching PATTERN; false after SECONDS.
wait_listed() {
	i=0
	until ctl flows | grep -q -- "$1"; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}

# vanish_start PORT LINES: a connection from PORT that echoes LINES lines
# and then waits, connected, for vanish_end (its pid in VPID).
vanish_start() {
	rm -f "$TMP/ready" "$TMP/vanish"
	client "$1" "$2" vanish >"$TMP/vanish.out" 2>&1 &
	VPID=$!
	LAB_PIDS="$LAB_PIDS $VPID"
	wait_file "$TMP/ready" 15 "the client on port $1 did not connect" "$TMP/vanish.out"
}

# vanish_end PORT: the client started by vanish_start aborts its socket
# and its RST is dropped in the client's namespace: neither the gateway
# nor the backend hears of the end.
vanish_end() {
	in_ns "$CLI" iptables -A OUTPUT -p tcp --sport "$1" -j DROP || fail "drop rule"
	touch "$TMP/vanish"
	wait "$VPID" || fail "the vanishing client on port $1 failed: $(cat "$TMP/vanish.out")"
	in_ns "$CLI" iptables -D OUTPUT -p tcp --sport "$1" -j DROP
}

# vanish PORT LINES [offloaded]: vanish_start, then (with a third
# argument) until the flow is on the kernel fast path, then vanish_end.
vanish() {
	vanish_start "$1" "$2"
	if [ -n "${3:-}" ]; then
		wait_listed ":$1 .*path=kernel" 5 || { ctl flows; fail "the flow from port $1 was not offloaded"; }
		echo "the flow from port $1 is offloaded"
	fi
	vanish_end "$1"
}
