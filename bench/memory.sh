#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Memory: the daemon's RSS before and after N spoofed SYNs (sent at RATE
# per second, so that the queue keeps up) with a SYN cache of MAX entries
# and cookies off, so the cache fills; the bytes of one SYN cache entry
# (syncache_entry_size, from the core library); and whether the RSS growth
# stays within what the configuration allocates (memory_bytes gauge).
. "$(dirname "$0")/lib.sh"
command -v trafgen >/dev/null || die "trafgen missing (netsniff-ng; scripts/install-deps)"
N=${N:-300000}
RATE=${RATE:-40000}
MAX=${MAX:-200000}

lib=$TOP/src/core/libspcore.a
[ -f "$lib" ] || die "build first ($lib)"
printf '#include <stdio.h>\n#include "syncache.h"\nint main(void) { printf("%%zu\\n", syncache_entry_size()); return 0; }\n' \
	>"$TMP/esize.c"
gcc -O2 -I"$TOP/src/core" -o "$TMP/esize" "$TMP/esize.c" "$lib" -lm || die "entry size helper"
esize=$("$TMP/esize")

bench_net
syn_cfg
bench_conf auto "cookies = \"off\";
syncache = { buckets = 65536; bucket_limit = 16; max_entries = $MAX; synack_retries = 5; };"
bench_daemon_start
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$DPID/status"; }
sleep 0.5
before=$(rss)
ip netns exec "$CLI" timeout 120 trafgen -i "$TMP/syn.cfg" -o c0 -n "$N" -b "${RATE}pps" -q \
	>/dev/null 2>&1 || die "trafgen"
sleep 0.5
after=$(rss)
mem=$(stat_of memory_bytes)
entries=$(stat_of syncache_entries)
added=$(stat_of syncache_added)
bench_daemon_stop

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "memory: $N spoofed SYNs at ${RATE}/s, syncache max_entries $MAX, cookies off," \
	"$(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  syncache_entry_size:   $esize bytes (target <= 64)"
echo "  engine tables:         $(mib "$mem") (memory_bytes gauge, allocated at start)"
echo "  RSS before:            $(mib "$before")  (the SYN cache array is written, hence resident, at start)"
echo "  RSS after:             $(mib "$after")  (syncache_entries $entries, added $added)"
echo "  growth per live entry: $(awk -v a="$after" -v b="$before" -v n="$entries" \
	'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }') bytes"
bounded=$(awk -v a="$after" -v m="$mem" 'BEGIN { print (a <= m + 33554432) ? "yes" : "no" }')
echo "  RSS after <= engine tables + 32 MiB (code, libraries, stacks): $bounded"
