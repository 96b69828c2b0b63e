#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays every case under tests/replay/cases through synproxy-replay and
# compares the log and the output pcap with the golden files; cases with a
# `check` file are also verified by check_translation.py (its content is
# passed as extra arguments).  REGEN=1 rewrites the golden files instead.
# The captures recorded from real stacks (recorded/*.pcap, record.sh) have
# no golden files: each is replayed under recorded/synproxyd.conf and must
# pass check_translation.py (with the arguments in NAME.check).
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
tool="$(cd "$builddir" && pwd)/src/tools/synproxy-replay"
cases="$srcdir/tests/replay/cases"
checker="$srcdir/tests/replay/check_translation.py"
recorded="$srcdir/tests/replay/recorded"

# Debian's scapy lives in the system python; a python3 earlier on PATH may lack it.
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import scapy' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "run-replay.sh: python3 with scapy is needed (Debian package python3-scapy)" >&2
	exit 1
fi
if [ ! -x "$tool" ]; then
	echo "run-replay.sh: $tool is not built" >&2
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

# transparent INPUT OUTPUT CHECKFILE: check_translation.py with the
# arguments in CHECKFILE; its report is printed when it fails.
transparent() {
	# shellcheck disable=SC2046 # the check file holds checker arguments
	"$PY" "$checker" "$1" "$2" $(cat "$3") >"$2.check" 2>&1 && return 0
	sed "s/^/    /" "$2.check"
	return 1
}

# result NAME WHY: one PASS or FAIL line (FAIL when WHY is not empty).
result() {
	if [ -n "$2" ]; then
		echo "FAIL $1: $2"
		fail=$((fail + 1))
	else
		echo "PASS $1"
		pass=$((pass + 1))
	fi
}
for dir in "$cases"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	args=
	[ -f "$dir/args" ] && args=$(cat "$dir/args")
	out="$tmp/$name"
	mkdir -p "$out"
	# shellcheck disable=SC2086 # args holds several words on purpose
	if ! (cd "$dir" && "$tool" -c synproxyd.conf $args --explain \
		-o "$out/OUT.pcap" -l "$out/OUT.log" input.pcap) 2>"$out/stderr"; then
		result "$name" "synproxy-replay failed: $(cat "$out/stderr")"
		continue
	fi
	if [ "${REGEN:-0}" = 1 ]; then
		cp "$out/OUT.log" "$dir/expected.log"
		cp "$out/OUT.pcap" "$dir/expected.pcap"
	fi
	why=
	if [ ! -f "$dir/expected.log" ] || [ ! -f "$dir/expected.pcap" ]; then
		why="no expected.log/expected.pcap (run REGEN=1 make check)"
	elif ! cmp -s "$out/OUT.log" "$dir/expected.log"; then
		diff -u "$dir/expected.log" "$out/OUT.log" | sed "s/^/    /"
		why="log differs"
	elif ! cmp -s "$out/OUT.pcap" "$dir/expected.pcap"; then
		why="output pcap differs (the log is the same)"
	fi
	if [ -z "$why" ] && [ -f "$dir/check" ] &&
		! transparent "$dir/input.pcap" "$out/OUT.pcap" "$dir/check"; then
		why="translation check failed"
	fi
	result "$name" "$why"
done
for pcap in "$recorded"/*.pcap; do
	name=recorded/$(basename "$pcap" .pcap)
	out="$tmp/$name"
	mkdir -p "$out"
	why=
	if ! "$tool" -c "$recorded/synproxyd.conf" -o "$out/OUT.pcap" -l "$out/OUT.log" \
		"$pcap" 2>"$out/stderr"; then
		why="synproxy-replay failed: $(cat "$out/stderr")"
	elif ! transparent "$pcap" "$out/OUT.pcap" "${pcap%.pcap}.check"; then
		why="translation check failed"
	fi
	result "$name" "$why"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
