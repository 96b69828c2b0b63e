#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Rules that stay: a daemon run with -r puts its rules back within 5 s of
# someone else removing or changing them, counts it (rules_reinstalled)
# and logs a warning; a client is proxied again afterwards (the backend
# sees the daemon's SYN, not the client's).  For the nf_tables iptables
# (Debian's default): iptables -F, the jump deleted, one of our rules
# replaced, nft flush ruleset (what Debian's nftables.service runs); for
# the legacy iptables: iptables-legacy -F.  The daemon finds its tools in
# PATH; each variant points the plain names at its own.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/live/lib.sh"

lab_init nft iptables-legacy
lab_gateway
start_echo "$SRV" 200

# connect_ok: a connection through the proxy; true when the echo came back
# and the daemon made the backend connection (backend_established + 1).
connect_ok() {
	before=$(ctl_counter backend_established)
	r=$(in_ns "$CLI" timeout 10 "$PY" -c '
import socket, sys
c = socket.create_connection((sys.argv[1], 6379), timeout=5)
c.sendall(b"x\n")
print("echo" if c.recv(10) == b"x\n" else "bad")
' "$BACKEND4" 2>&1)
	after=$(ctl_counter backend_established)
	[ "$r" = echo ] && [ "$after" = $((before + 1)) ]
}

# back_within SECONDS: true when the rules are in place again, as
# rules_reinstalled moving says, within SECONDS; sets BACK_MS.
back_within() {
	n0=$1
	t0=$(date +%s%N)
	i=0
	while [ "$(ctl_counter rules_reinstalled)" = "$n0" ]; do
		i=$((i + 1))
		[ $i -gt $(($2 * 20)) ] && return 1
		sleep 0.05
	done
	BACK_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	return 0
}

for variant in nft legacy; do
	log "== $variant iptables"
	bin="$TMP/bin-$variant"
	mkdir -p "$bin"
	for t in iptables ip6tables; do
		for s in "" -save -restore; do
			ln -sf "$(command -v "$t-$variant$s")" "$bin/$t$s"
		done
	done
	write_conf ""
	PATH="$bin:$PATH" daemon_start
	check "$variant: proxied at start" connect_ok
	case $variant in
	nft) attacks="flush deljump replace nftflush" ;;
	legacy) attacks="flush" ;;
	esac
	for a in $attacks; do
		n0=$(ctl_counter rules_reinstalled)
		case $a in
		flush) in_ns "$GW" "$bin/iptables" -F ;;
		deljump) in_ns "$GW" "$bin/iptables" -D FORWARD -j SYNPROXYD ;;
		replace) in_ns "$GW" "$bin/iptables" -R SYNPROXYD 1 -p tcp -j ACCEPT ;;
		nftflush) in_ns "$GW" nft flush ruleset ;;
		esac
		if back_within "$n0" 5; then
			echo "$variant $a: rules back after $BACK_MS ms"
			check "$variant $a: reinstalled within 5 s" true
		else
			check "$variant $a: reinstalled within 5 s" false
		fi
		sleep 0.3
		check "$variant $a: proxied again" connect_ok
	done
	check "$variant: the warning was logged" grep -q "rules: ours were removed or changed" \
		"$TMP/daemon.log"
	daemon_stop
	check_eq "$variant: daemon exit status" "$DAEMON_RC" 0
	check "$variant: rules removed at stop" \
		sh -c "! ip netns exec $GW $bin/iptables-save | grep -q SYNPROXYD"
done
lab_finish
