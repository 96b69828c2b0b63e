#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets with clang (ASan + UBSan, the core compiled
# in) and runs each one for SECONDS (default 60) on its seed corpus.
# Saved regression inputs are replayed first.  A crash, leak or timeout
# becomes tests/fuzz/regressions/<target>/<name>, is printed, and the
# script exits 1.  FUZZ_BUILD_DIR sets where binaries and the growing
# working corpus go (default tests/fuzz/build, git-ignored).
set -eu
SECONDS_EACH=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$here/build}
CC=${FUZZ_CC:-clang}
CFLAGS="-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
TARGETS="packet conf engine"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi
mkdir -p "$build"
core=$(ls "$top"/src/core/*.c)
for t in $TARGETS; do
	extra=""
	[ "$t" = conf ] && extra="$top/src/daemon/conf.c $top/src/daemon/conf_rules.c $(pkg-config --cflags --libs libconfig) -lm"
	# shellcheck disable=SC2086
	$CC $CFLAGS -I"$top/src/core" -I"$top/src/daemon" -I"$here" \
		"$here/fuzz_$t.c" $core $extra -o "$build/fuzz_$t"
done
echo "fuzz: built $TARGETS in $build"

# Saves a finding as a regression input and stops.
found() {
	t=$1
	art=$(ls -t "$build/artifacts/$t"/* 2>/dev/null | head -1 || true)
	if [ -n "$art" ]; then
		mkdir -p "$here/regressions/$t"
		cp "$art" "$here/regressions/$t/"
		echo "fuzz: $t FAILED; reproducer: tests/fuzz/regressions/$t/$(basename "$art")" >&2
		echo "fuzz: rerun with $build/fuzz_$t $here/regressions/$t/$(basename "$art")" >&2
	else
		echo "fuzz: $t FAILED (no artifact; see the log above)" >&2
	fi
	exit 1
}

for t in $TARGETS; do
	reg="$here/regressions/$t"
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg" | grep -v '^\.' || true)" ]; then
		# shellcheck disable=SC2046
		if ! "$build/fuzz_$t" -runs=0 $(find "$reg" -type f ! -name '.*' | sort) \
			>"$build/$t.regressions.log" 2>&1; then
			cat "$build/$t.regressions.log" >&2
			echo "fuzz: $t fails on a saved regression input (log above)" >&2
			exit 1
		fi
		echo "fuzz: $t: regression inputs pass"
	fi
done

for t in $TARGETS; do
	mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
	rm -f "$build/artifacts/$t"/*
	if ! "$build/fuzz_$t" -max_len=4096 -max_total_time="$SECONDS_EACH" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
		"$build/corpus/$t" "$here/corpus/$t" >"$build/$t.log" 2>&1; then
		tail -40 "$build/$t.log" >&2
		found "$t"
	fi
	# The last status line: coverage, features, corpus and speed.
	line=$(grep -E '^#[0-9]+' "$build/$t.log" | tail -1 || true)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")
	echo "fuzz: $t: ${SECONDS_EACH}s, $runs runs; $line"
done
echo "fuzz: ok"
