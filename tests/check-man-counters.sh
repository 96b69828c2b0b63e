#!/bin/sh
# Fails when the COUNTERS section of man/synproxyd.8 and COUNTER_LIST in
# src/core/counters.h do not name exactly the same counters, in the same
# order, with the same description (capitalised, with a final full stop).
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
# ".It Sy name" followed by its one-line description, within .Sh COUNTERS.
awk '/^\.Sh / { in_sec = ($2 == "COUNTERS") }
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
echo "check-man-counters: $(wc -l <"$tmp/hdr") counters documented"
