#!/bin/sh
# The whole test suite: installs what it needs, builds, then runs the unit
# and offline replay tests (make check) and, as root, the live lab tests
# in network namespaces (make check-live).  README command two; .ci/run
# runs exactly this.
set -eu
cd "$(dirname "$0")"
./scripts/install-deps
./scripts/build
make check
if grep -q '^check-live:' Makefile; then
	make check-live
fi
make distcheck >/dev/null
echo "distcheck: ok"
