#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Real applications through synproxyd in gateway mode (client, router running
# the daemon, backend; IPv4 and IPv6): redis PING, a 10 MB nginx download
# checked by sha256, iperf3 both directions; the backend-side capture proves
# that the backend only ever saw the daemon's SYNs for completed handshakes.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init redis-server redis-cli nginx curl iperf3
lab_gateway
run_apps_suite
