#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The core library may call only pure C library functions: no system
# call wrapper, no clock, no I/O (STYLE.md, "a pure core").  Every symbol
# the core leaves undefined must be defined by the core itself or be on
# this list.  Run by `make check`.
set -eu
lib="${top_builddir:-.}/src/core/libspcore.a"
[ -f "$lib" ] || { echo "check-core-purity: $lib not built" >&2; exit 1; }
allowed='^(memcpy|memmove|memset|memcmp|malloc|calloc|free|qsort|strlen|strchr|strtoul|inet_pton|inet_ntop|__assert_fail|__stack_chk_fail|__asan_.*|__ubsan_.*|__sanitizer_.*|_GLOBAL_OFFSET_TABLE_)$'
defined=$(nm --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
bad=$(nm -u "$lib" | awk 'NF == 2 { print $2 }' | sort -u | while read -r sym; do
	echo "$defined" | grep -qx "$sym" && continue
	echo "$sym" | grep -Eq "$allowed" && continue
	echo "$sym"
done)
if [ -n "$bad" ]; then
	echo "FAIL: src/core calls outside the pure C library:"
	echo "$bad" | sed 's/^/  /'
	echo "0 passed, 1 failed"
	exit 1
fi
echo "core purity: $(echo "$defined" | wc -l) symbols defined, every external call allowed"
echo "1 passed, 0 failed"
