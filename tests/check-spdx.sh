#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every source file names its license (GPL-2.0-or-later, COPYING) on an
# SPDX line near its top.  Data files (captures, corpora, golden output)
# and the package list are exempt.
set -eu
cd "${top_srcdir:-.}"
[ -f COPYING ] || { echo "COPYING missing"; exit 1; }
bad=0
for f in $(find src tests bench man etc systemd scripts docs -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.md' \
	-o -name '*.5' -o -name '*.8' -o -name '*.in' -o -name '*.example' \) \
	! -path 'tests/replay/cases/*' ! -path 'tests/fuzz/corpus/*' ! -path 'tests/fuzz/build/*' \
	! -name '*.skel.h' 2>/dev/null) Makefile.am configure.ac README.md demo.sh test.sh; do
	if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: GPL-2.0-or-later'; then
		echo "no SPDX line: $f"
		bad=1
	fi
done
exit $bad
