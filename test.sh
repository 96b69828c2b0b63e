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
# A short bounded libFuzzer pass over the engine, packet and config targets.
tests/fuzz/run.sh 20
make check-live
# The tarball builds and passes make check again, this time with ASan+UBSan.
make distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-sanitizers >/dev/null
echo "distcheck with sanitizers: ok"
