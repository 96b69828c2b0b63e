#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fails when the COUNTERS section of man/synproxyd.8 and COUNTER_LIST in
# src/core/counters.h do not name exactly the same counters, in the same
# order, with the same description (capitalised, with a final full stop),
# or when a daemon-side counter or gauge printed by src/daemon/control.c is
# not named in that section.
set -eu
src=${top_srcdir:-.}
hdr=$src/src/core/counters.h
man=$src/man/synproxyd.8
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-man-counters.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# X(name, "help") -> "name Help."
sed -n 's/^[[:space:]]*X(\([a-z0-9_]*\), "\(.*\)")[[:space:]]*\\\{0,1\}$/\1 \2/p' "$hdr" |
	awk '{ name = $1; $1 = ""; help = substr($0, 2);
	       print name " " toupper(substr(help, 1, 1)) substr(help, 2) "." }' >"$tmp/hdr"
# ".It Sy name" followed by its one-line description, in the first list of
# .Sh COUNTERS (the engine's; the daemon's own follow in a second list).
awk '/^\.Sh / { in_sec = ($2 == "COUNTERS") }
     in_sec && /^\.El/ { in_sec = 0 }
     in_sec && /^\.It Sy / { name = $3; getline; print name " " $0 }' "$man" >"$tmp/man"

if [ ! -s "$tmp/hdr" ]; then
	echo "check-man-counters: no counter found in $hdr" >&2
	exit 1
fi
if ! cmp -s "$tmp/hdr" "$tmp/man"; then
	echo "check-man-counters: $man COUNTERS differs from $hdr:" >&2
	diff "$tmp/hdr" "$tmp/man" >&2 || true
	exit 1
fi
# The daemon's counters and gauges: { "name", "help", value } in control.c.
sed -n 's/^[[:space:]]*{ "\([a-z0-9_]*\)", ".*/\1/p' "$src/src/daemon/control.c" >"$tmp/daemon"
awk '/^\.Sh / { in_sec = ($2 == "COUNTERS") }
     in_sec { for (i = 1; i <= NF; i++) print $i }' "$man" >"$tmp/words"
missing=0
while read -r name; do
	if ! grep -qx "$name" "$tmp/words"; then
		echo "check-man-counters: $name (src/daemon/control.c) is not in $man COUNTERS" >&2
		missing=1
	fi
done <"$tmp/daemon"
# The XDP stage's counters: X(name, "help") in src/bpf/xdp_abi.h, each
# ".It Sy name" with that description in the list of the COUNTERS section
# that holds the xdp_ names.
sed -n 's/^[[:space:]]*X(\(xdp_[a-z0-9_]*\), "\(.*\)")[[:space:]]*\\\{0,1\}$/\1 \2/p' \
	"$src/src/bpf/xdp_abi.h" |
	awk '{ name = $1; $1 = ""; help = substr($0, 2);
	       print name " " toupper(substr(help, 1, 1)) substr(help, 2) "." }' >"$tmp/xdp"
awk '/^\.Sh / { in_sec = ($2 == "COUNTERS") }
     in_sec && /^\.It Sy xdp_/ && $3 != "xdp_map_errors" { name = $3; getline; print name " " $0 }' \
	"$man" >"$tmp/manxdp"
if [ ! -s "$tmp/xdp" ] || ! cmp -s "$tmp/xdp" "$tmp/manxdp"; then
	echo "check-man-counters: $man's XDP counters differ from src/bpf/xdp_abi.h:" >&2
	diff "$tmp/xdp" "$tmp/manxdp" >&2 || true
	missing=1
fi
[ "$missing" -eq 0 ] || exit 1
[ -s "$tmp/daemon" ] || { echo "check-man-counters: no daemon counter found" >&2; exit 1; }
echo "check-man-counters: $(wc -l <"$tmp/hdr") engine counters," \
	"$(wc -l <"$tmp/daemon") daemon counters and gauges and $(wc -l <"$tmp/xdp") XDP" \
	"counters documented"
