#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs live tests (root, network namespaces) one after another and prints
# one line per test and a final "N passed, N failed, N skipped" line.  A test
# exits 0 (pass), 77 (cannot run here: skip) or anything else (fail).  On CI
# (CI set) a skip counts as a failure: there every live test must run.
#
# With a sanitizer build (./configure --enable-sanitizers) every ASan, LSan
# or UBSan report of any program a test runs (the daemon, synproxyctl) goes
# to a file in a private directory; a test after which such a file exists
# fails, whatever its exit status, and the report is printed.
set -u
pass=0 fail=0 skip=0
sanlog=$(mktemp -d /tmp/synproxyd-sanitizer.XXXXXX)
trap 'rm -rf "$sanlog"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$sanlog/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$sanlog/ubsan:print_stacktrace=1"
for t in "$@"; do
	[ -f "$t" ] || t="${top_srcdir:-.}/$t"
	name=$(basename "$t" .sh)
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
	77) if [ -n "${CI:-}" ]; then
		fail=$((fail + 1)); echo "FAIL: $name skipped on CI (${secs}s):"; sed 's/^/    /' "$log"
	    else
		skip=$((skip + 1)); echo "SKIP: $name ($(tail -n 1 "$log"))"
	    fi ;;
	*) fail=$((fail + 1)); echo "FAIL: $name (exit $rc, ${secs}s):"; tail -n 40 "$log" | sed 's/^/    /' ;;
	esac
	[ -z "$sanitized" ] || { echo "    sanitizer reports:"; echo "$sanitized" | sed 's/^/    /'; }
	rm -f "$log"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
