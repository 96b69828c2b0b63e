#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fails when the COUNTERS section of man/synproxyd.8 does not list exactly
# the statistics the code defines, in the same order, each with its
# description (capitalised, with a final full stop) on the line after its
# name: its first list against the engine's COUNTER_LIST
# (src/core/counters.h), its second against the daemon's DAEMON_STATS
# (src/daemon/stats.h), its third against the XDP stage's XDP_COUNTERS
# (src/bpf/xdp_abi.h).  Every output (synproxyctl stats, the metrics
# endpoint) is generated from those three lists.
set -eu
src=${top_srcdir:-.}
man=$src/man/synproxyd.8
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man-counters.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# list_from FILE MACRO: "name Help." for each X(name, ..., "help") row of
# the X-macro MACRO in FILE (rows may span lines; the help is the last
# argument).
list_from() {
	awk -v macro="$2" '
		$0 ~ "^#define " macro "\\(X\\)" { on = 1; next }
		on && !/\\$/ { row = row $0; on = 0 }
		on { sub(/\\$/, ""); row = row $0 }
		END { print row }' "$1" |
	sed 's/X(/\nX(/g' |
	sed -n 's/^X(\([a-z0-9_]*\),.*"\(.*\)")[[:space:]]*$/\1 \2/p' |
	awk '{ name = $1; $1 = ""; help = substr($0, 2)
	       gsub(/"[[:space:]]*"/, "", help)
	       print name " " toupper(substr(help, 1, 1)) substr(help, 2) "." }'
}

# man_list N: ".It Sy name" and the line after it, for the Nth list of
# the COUNTERS section.
man_list() {
	awk -v want="$1" '
		/^\.Sh / { in_sec = ($2 == "COUNTERS") }
		in_sec && /^\.Bl/ { n++ }
		in_sec && /^\.El/ { inlist = 0; next }
		in_sec && /^\.Bl/ && n == want { inlist = 1; next }
		inlist && /^\.It Sy / { name = $3; getline; print name " " $0 }' "$man"
}

failed=0
check() {	# WHAT FILE MACRO N
	list_from "$2" "$3" >"$tmp/code"
	man_list "$4" >"$tmp/man"
	if [ ! -s "$tmp/code" ]; then
		echo "check-man-counters: no $1 found in $2 ($3)" >&2
		failed=1
	elif ! cmp -s "$tmp/code" "$tmp/man"; then
		echo "check-man-counters: $man COUNTERS list $4 differs from $3 in $2:" >&2
		diff "$tmp/code" "$tmp/man" >&2 || true
		failed=1
	fi
	wc -l <"$tmp/code" >"$tmp/$1.n"
}
check engine "$src/src/core/counters.h" COUNTER_LIST 1
check daemon "$src/src/daemon/stats.h" DAEMON_STATS 2
check xdp "$src/src/bpf/xdp_abi.h" XDP_COUNTERS 3
[ "$failed" -eq 0 ] || exit 1
echo "check-man-counters: $(cat "$tmp/engine.n") engine counters," \
	"$(cat "$tmp/daemon.n") daemon counters and gauges and $(cat "$tmp/xdp.n") XDP" \
	"counters documented"
