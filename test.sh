#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite: installs what it needs, builds, then runs the unit
# and offline replay tests (make check) and, as root, the live lab tests
# in network namespaces (make check-live).  README command two; .ci/run
# runs exactly this.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
./scripts/build
make check
# A short bounded libFuzzer pass over the engine, packet and config targets.
tests/fuzz/run.sh 20
make check-live
# The tarball builds out of tree, passes make check and installs cleanly.
make distcheck >/dev/null
echo "distcheck: ok"
# The Debian package, built from that tarball (without its make check,
# which ran above),
# lintian without errors; the packaged daemon accepts the packaged
# configuration file (dpkg -i and synproxyd -t run in the container below).
debdir=$(mktemp -d /tmp/synproxyd-debs.XXXXXX)
# make check ran above and in distcheck: the package build skips its copy.
deb=$(DEB_BUILD_OPTIONS=nocheck ./scripts/build-deb "$debdir" | tail -n 1)
dpkg-deb -x "$deb" "$debdir/root"
"$debdir/root/usr/sbin/synproxyd" -t -c "$debdir/root/etc/synproxyd/synproxyd.conf"
echo "Debian package: ok ($(basename "$deb"))"
# The package under a real systemd: a Debian system booted in a container
# as the lab's gateway, the service driven through start, reload, restart
# and upgrade under load and a flood, a crash, flushed firewalls, stop.
tests/package/systemd.sh "$deb"
rm -rf "$debdir"
# The same tarball built with ASan+UBSan: make check, then the whole live
# suite once more; run-live.sh fails a test after which any program left a
# sanitizer report (memory error, leak at exit, undefined behaviour).
san=$(mktemp -d /tmp/synproxyd-asan.XXXXXX)
trap 'rm -rf "$san"' EXIT
tar -xzf "$(ls -t synproxyd-*.tar.gz | head -n 1)" -C "$san"
(
	cd "$san"/synproxyd-*
	./configure --enable-werror --enable-sanitizers >/dev/null
	make -j"$(nproc)" >/dev/null
	make check
	# The load and throughput tests (the same code paths as shipped.sh and
	# hostile.sh under a flood, for minutes) are left to the plain build.
	LIVE_SKIP="soak limits apps_gateway apps_local flood" make check-live
)
echo "live suite with sanitizers: ok"
