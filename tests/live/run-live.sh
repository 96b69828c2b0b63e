#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs live tests (root, network namespaces) one after another and prints
# one line per test, a "N passed, N failed, N skipped" line, and the
# settings the tests ran with that differ from what a user runs (each
# test's override declarations, tests/live/lib.sh).  A test exits 0 (pass)
# or anything else (fail); 77 means it cannot run here (no root, a tool
# missing), and that fails too: a live test that does not run proves
# nothing.  The only skip is the one asked for: LIVE_SKIP="NAME ..." (test
# names without .sh, e.g. LIVE_SKIP="soak limits") leaves those tests out,
# and names of the form TEST.PART leave out a part a test documents
# (rules_syntax.legacy).
#
# With a sanitizer build (./configure --enable-sanitizers) every ASan, LSan
# or UBSan report of any program a test runs (the daemon, synproxyctl) goes
# to a file in a private directory; a test after which such a file exists
# fails, whatever its exit status, and the report is printed.
set -u
pass=0 fail=0 skip=0
sanlog=$(mktemp -d /tmp/synproxyd-sanitizer.XXXXXX)
LIVE_OVERRIDES=$(mktemp /tmp/synproxyd-overrides.XXXXXX)
export LIVE_OVERRIDES LIVE_SKIP="${LIVE_SKIP:-}"
trap 'rm -rf "$sanlog" "$LIVE_OVERRIDES"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$sanlog/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$sanlog/ubsan:print_stacktrace=1"
for t in "$@"; do
	[ -f "$t" ] || t="${top_srcdir:-.}/$t"
	name=$(basename "$t" .sh)
	case " $LIVE_SKIP " in
	*" $name "*)
		skip=$((skip + 1))
		echo "SKIP: $name (LIVE_SKIP)"
		continue ;;
	esac
	log=$(mktemp "/tmp/synproxyd-live-$name.XXXXXX")
	start=$(date +%s)
	timeout 600 sh "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	sanitized=
	if [ "$rc" != 77 ] && [ -n "$(ls "$sanlog")" ]; then
		sanitized=$(head -n 80 "$sanlog"/*)
		rm -f "$sanlog"/*
		rc=99
	fi
	case $rc in
	0) pass=$((pass + 1)); echo "PASS: $name (${secs}s)" ;;
	77) fail=$((fail + 1))
	    echo "FAIL: $name could not run (${secs}s; LIVE_SKIP=$name leaves it out):"
	    sed 's/^/    /' "$log" ;;
	*) fail=$((fail + 1)); echo "FAIL: $name (exit $rc, ${secs}s):"
	   # Every failed check, wherever it is, then the end of the log.
	   grep '^NOT OK' "$log" | sed 's/^/    /'
	   echo "    --- the log's last 40 lines:"
	   tail -n 40 "$log" | sed 's/^/    /' ;;
	esac
	[ -z "$sanitized" ] || { echo "    sanitizer reports:"; echo "$sanitized" | sed 's/^/    /'; }
	rm -f "$log"
done
echo "$pass passed, $fail failed, $skip skipped${LIVE_SKIP:+ (LIVE_SKIP=\"$LIVE_SKIP\")}"
if [ -s "$LIVE_OVERRIDES" ]; then
	echo "Settings the tests ran with that differ from etc/synproxyd.conf.example,"
	echo "and why (settings [tests]: reason):"
	# test <TAB> setting <TAB> reason lines: the tests of each setting,
	# then the settings that share their tests and reason on one line.
	sort -u "$LIVE_OVERRIDES" | awk -F'\t' '
		{ k = $2 "\t" $3
		  if (!(k in tests)) { order[++n] = k; tests[k] = $1 }
		  else if (index(" " tests[k] " ", " " $1 " ") == 0) tests[k] = tests[k] " " $1 }
		END { for (i = 1; i <= n; i++) { split(order[i], a, "\t")
			print tests[order[i]] "\t" a[2] "\t" a[1] } }' |
		sort | awk -F'\t' '
		{ k = $1 "\t" $2
		  if (!(k in set)) { order[++n] = k; set[k] = $3 } else set[k] = set[k] "; " $3 }
		END { for (i = 1; i <= n; i++) { split(order[i], a, "\t")
			print "  " set[order[i]] " [" a[1] "]: " a[2] } }'
fi
[ "$fail" -eq 0 ]
