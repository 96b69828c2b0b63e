#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The XDP stage issues the engine's own cookies: tests/xdp/xdp_equiv runs
# the daemon's XDP program (loaded by the daemon's loader) with
# BPF_PROG_TEST_RUN on 200,000 random frames (IPv4 and IPv6, every option
# mix, with and without timestamps, VLAN tags, IP options, bad checksums,
# ECN, forged and real handshake ACKs) and compares each answer bit for
# bit with the engine's for the same frame at the same millisecond; any
# disagreement fails.  It runs in a namespace of its own, where the stage
# attaches to lo.  Two seeds: a fixed one (reproducible) and a fresh one.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/live/lib.sh"

EQUIV=$top_builddir/tests/xdp/xdp_equiv
lab_init
[ -x "$EQUIV" ] || fail "$EQUIV not built (configure found no XDP support?)"
NS="$P-equiv"
ns_add "$NS"
seed2=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
for seed in 1 "$seed2"; do
	log "xdp_equiv, seed $seed"
	in_ns "$NS" "$EQUIV" "$top_srcdir/tests/xdp/equiv.conf" 100000 "$seed" >"$TMP/equiv.out" 2>&1
	rc=$?
	cat "$TMP/equiv.out"
	check_eq "stage and engine agree on every frame (seed $seed)" "$rc" 0
	answered=$(awk '/^answered \(identical/ { print $NF }' "$TMP/equiv.out")
	acks=$(awk '/^handshake ACK passed/ { print $NF }' "$TMP/equiv.out")
	forged=$(awk '/^forged ACK dropped/ { print $NF }' "$TMP/equiv.out")
	prev=$(awk '/^old secret.s ACK passed during the overlap/ { print $NF }' "$TMP/equiv.out")
	gone=$(awk '/^old secret.s ACK dropped after it/ { print $NF }' "$TMP/equiv.out")
	# Guards against a run that compared little: each kind is common.
	check_ge "identical SYN-ACKs compared (seed $seed)" "${answered:-0}" 20000
	check_ge "cookie ACKs passed by both (seed $seed)" "${acks:-0}" 5000
	check_ge "forged ACKs dropped by both (seed $seed)" "${forged:-0}" 2000
	# The rotation in mid-run (ROTATION_KEEP handshakes kept, half each).
	check_ge "old secret's ACKs passed by both during the overlap (seed $seed)" "${prev:-0}" 10
	check_ge "old secret's ACKs dropped by both after it (seed $seed)" "${gone:-0}" 10
done
lab_finish
