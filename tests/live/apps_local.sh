#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real applications through synproxyd in local mode (the daemon runs on the
# backend host itself; IPv4 and IPv6): redis PING, a 10 MB nginx download
# checked by sha256, iperf3 both directions; the capture on the backend's lo
# (where the daemon's SYNs to the local server travel) proves that the server
# only ever saw the daemon's SYNs for completed handshakes.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli nginx curl iperf3
lab_local
run_apps_suite
