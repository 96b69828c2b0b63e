#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# devlog.sh SOCKET DIR CMD...: runs CMD (exec, so its pid is this
# script's) in a mount namespace of its own whose /dev/log is SOCKET, a
# listener's socket: syslog(3) writes to /dev/log, which this host may not
# have and which belongs to the host when it does.  /dev there is a tmpfs
# of symbolic links to the real one (bound at DIR, an empty directory),
# plus /dev/log; nothing outside the namespace changes.
set -eu
[ $# -ge 3 ] || { echo "usage: devlog.sh SOCKET DIR CMD..." >&2; exit 2; }
exec unshare -m --propagation private sh -c '
	set -eu
	sock=$1 dir=$2
	shift 2
	mount --rbind /dev "$dir"
	mount -t tmpfs -o mode=755 devlog /dev
	for f in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		ln -s "$f" "/dev/${f##*/}"
	done
	ln -sf "$sock" /dev/log
	exec "$@"' devlog "$@"
