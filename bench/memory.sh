#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Memory: the daemon's RSS before and after N spoofed SYNs (sent at RATE
# per second, so that the queue keeps up) with a SYN cache of MAX entries
# and cookies off, so the cache fills; the bytes of one SYN cache entry
# (syncache_entry_size, from the core library) and the bytes per entry of
# the whole cache (entries, rows and their heap: syncache_memory over
# max_entries); and whether the RSS growth stays within what the engine
# allocated (the memory_bytes gauge, every table).
. "$(dirname "$0")/lib.sh"
N=${N:-300000}
RATE=${RATE:-40000}
MAX=${MAX:-200000}
BUCKETS=65536

bench_net trafgen gcc
lib=$top_builddir/src/core/libspcore.a
[ -f "$lib" ] || die "build first ($lib)"
cat >"$TMP/esize.c" <<EOF
#include <stdio.h>
#include "syncache.h"
int main(void)
{
	struct syncache_limits lim = { .buckets = $BUCKETS, .bucket_limit = 16,
				       .max_entries = $MAX, .retries = 5, .rto_ms = 1000 };
	uint8_t key[SIPHASH_KEY_LEN] = { 0 };
	struct syncache *sc = syncache_new(&lim, key);

	if (!sc)
		return 1;
	printf("%zu %zu\n", syncache_entry_size(), syncache_memory(sc));
	syncache_free(sc);
	return 0;
}
EOF
gcc -O2 -I"$top_srcdir/src/core" -o "$TMP/esize" "$TMP/esize.c" "$lib" -lm || die "entry size helper"
set -- $("$TMP/esize") || die "entry size helper"
esize=$1 scmem=$2

syn_cfg
override cookies "\"off\": the SYN cache alone holds every half-open connection, so that it fills"
override syncache "$MAX entries in $BUCKETS rows, 5 retries: a cache the flood fills and keeps full"
bench_conf auto "cookies = \"off\";
syncache = { buckets = $BUCKETS; bucket_limit = 16; max_entries = $MAX; synack_retries = 5; };"
daemon_start
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$DPID/status"; }
sleep 0.5
before=$(rss)
ip netns exec "$FLD" timeout 120 trafgen -i "$TMP/syn.cfg" -o f0 -n "$N" -b "${RATE}pps" -q \
	>/dev/null 2>&1 || die "trafgen"
sleep 0.5
after=$(rss)
mem=$(ctl_counter memory_bytes)
entries=$(ctl_counter syncache_entries)
added=$(ctl_counter syncache_added)
daemon_stop

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "memory: $N spoofed SYNs at ${RATE}/s, syncache max_entries $MAX in $BUCKETS rows," \
	"cookies off, $(nproc) CPUs, $(uname -r), $(date -u +%F)"
echo "  syncache_entry_size:   $esize bytes (target <= 64)"
echo "  per half-open entry:   $(awk -v m="$scmem" -v n="$MAX" 'BEGIN { printf "%.1f", m / n }') bytes" \
	"with the rows and their heap ($(mib "$scmem") for $MAX entries)"
echo "  engine tables:         $(mib "$mem") (memory_bytes gauge: every table, allocated at start)"
echo "  RSS before:            $(mib "$before")  (the SYN cache array is written, hence resident, at start)"
echo "  RSS after:             $(mib "$after")  (syncache_entries $entries, added $added)"
echo "  growth per live entry: $(awk -v a="$after" -v b="$before" -v n="$entries" \
	'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }') bytes"
bounded=$(awk -v a="$after" -v m="$mem" 'BEGIN { print (a <= m + 33554432) ? "yes" : "no" }')
echo "  RSS after <= engine tables + 32 MiB (code, libraries, stacks): $bounded"
lab_finish
