#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of the generated packet-filter rules (needs root; exits 77,
# which run-live.sh counts as a failure, otherwise).  In a network
# namespace of its own, for the nf_tables and the legacy iptables:
#  - iptables-restore --test --noflush accepts every generated text;
#  - rules_install puts one jump at position 1 of each built-in chain it
#    uses, and the kernel holds exactly the generated rules (iptables -S
#    prints them back identically);
#  - installing twice, or after a config of the other mode, leaves one copy;
#  - rules_remove, and rules_print_remove's text, restore iptables-save to
#    what it was before, unrelated rules untouched; removing twice is fine.
# Both variants must run: a missing one fails the test, unless LIVE_SKIP
# names rules_syntax.legacy.
# Uses tests/live/rules_helper (built by make check).
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "rules_syntax: cannot run: needs root" >&2
	exit 77
fi
for tool in ip iptables-restore iptables-save ip6tables-restore ip6tables-save iptables \
	    ip6tables; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "rules_syntax: cannot run: $tool not found" >&2
		exit 77
	fi
done
helper=${top_builddir:-.}/tests/live/rules_helper
if [ ! -x "$helper" ]; then
	echo "rules_syntax: FAIL: $helper not built" >&2
	exit 1
fi
helper=$(cd "$(dirname "$helper")" && pwd)/$(basename "$helper")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rules_syntax.XXXXXX")
ns=""
cleanup() {
	if [ -n "$ns" ]; then
		ip netns del "$ns" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "rules_syntax: FAIL: $*" >&2
	exit 1
}

cat >"$tmp/gateway.conf" <<'EOF'
mode = "gateway";
queue = { num = 3; count = 2; };
mark = 0x1234;
rules = (
	{ name = "web"; dst = "203.0.113.2"; ports = [ 80, 443 ]; },
	{ name = "many"; dst = "192.0.2.0/24"; action = "reset";
	  ports = [ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 ]; },
	{ name = "v6"; dst = "2001:db8::/64"; ports = [ 22 ]; },
	{ name = "mail"; dst = "2001:db8:25::/48"; ports = [ 25 ]; action = "drop"; },
	{ name = "pass"; dst = "198.51.100.7"; ports = [ 8080 ]; action = "accept"; },
	{ name = "whole"; dst = "198.51.100.8"; }
);
EOF
cat >"$tmp/local.conf" <<'EOF'
mode = "local";
queue = { num = 7; bypass = false; };
rules = (
	{ name = "ssh"; dst = "192.0.2.1"; ports = [ 22 ]; },
	{ name = "ssh6"; dst = "2001:db8::1"; ports = [ 22 ]; action = "reset"; },
	{ name = "telnet"; dst = "192.0.2.1"; ports = [ 23 ]; action = "drop"; }
);
EOF
cat >"$tmp/v4only.conf" <<'EOF'
rules = ( { name = "one"; dst = "10.0.0.0/8"; ports = [ 443 ]; } );
EOF
cat >"$tmp/any.conf" <<'EOF'
rules = (
	{ name = "all-web"; dst = "::/0"; ports = [ 443 ]; },
	{ name = "no-mail"; dst = "::/0"; ports = [ 25 ]; action = "drop"; }
);
EOF

# Unrelated rules the test must find intact, in both tables we touch.
cat >"$tmp/base4" <<'EOF'
*raw
-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack
COMMIT
*filter
:OTHER - [0:0]
-A INPUT -i lo -j ACCEPT
-A FORWARD -j OTHER
-A OUTPUT -p icmp -j ACCEPT
-A OTHER -p tcp -m tcp --dport 8080 -j DROP
COMMIT
EOF
sed 's/-p icmp/-p ipv6-icmp/' "$tmp/base4" >"$tmp/base6"

run() {
	ip netns exec "$ns" "$@"
}

# The helper in the namespace, finding the variant's tools first in PATH.
in_ns() {
	ip netns exec "$ns" env PATH="$bin:$PATH" "$helper" "$@"
}

# Both families' rule sets, without the comments and dated headers.
snapshot() {
	{
		run "$ipt-save" | grep -v '^#'
		run "$ip6t-save" | grep -v '^#'
	} >"$1"
}

# Checks that chain $2 of family tool $1 holds exactly the "-A $2" lines of
# the generated text $3, and that built-in chain $4 jumps to it first.
check_chain() {
	grep -- "^-A $2 " "$3" >"$tmp/want" || true
	run "$1" -t filter -S "$2" | { grep -v -- "^-N " || true; } >"$tmp/got"
	cmp -s "$tmp/want" "$tmp/got" || {
		diff "$tmp/want" "$tmp/got" >&2 || true
		fail "$1: chain $2 differs from the generated text"
	}
	first=$(run "$1" -t filter -S "$4" | sed -n 2p)
	[ "$first" = "-A $4 -j $2" ] || fail "$1: first rule of $4 is '$first'"
	n=$(run "$1" -t filter -S "$4" | grep -c -- "-j $2\$" || true)
	[ "$n" = 1 ] || fail "$1: $n jumps from $4 to $2"
}

check_installed() {
	conf=$1
	"$helper" print4 "$conf" >"$tmp/p4" || fail "print4 $conf"
	"$helper" print6 "$conf" >"$tmp/p6" || fail "print6 $conf"
	if grep -q '^mode = "local"' "$conf"; then
		pairs="INPUT:SYNPROXYD-IN OUTPUT:SYNPROXYD-OUT"
	else
		pairs="FORWARD:SYNPROXYD"
	fi
	for f in 4 6; do
		[ $f = 4 ] && tool=$ipt || tool=$ip6t
		for pair in $pairs; do
			check_chain "$tool" "${pair#*:}" "$tmp/p$f" "${pair%:*}"
		done
		grep -- "^-A SYNPROXYD-RAW " "$tmp/p$f" >"$tmp/want" || true
		run "$tool" -t raw -S SYNPROXYD-RAW | { grep -v -- "^-N " || true; } >"$tmp/got"
		cmp -s "$tmp/want" "$tmp/got" || fail "$tool: SYNPROXYD-RAW differs"
		first=$(run "$tool" -t raw -S OUTPUT | sed -n 2p)
		[ "$first" = "-A OUTPUT -j SYNPROXYD-RAW" ] || fail "$tool: raw OUTPUT starts '$first'"
	done
}

check_same() {
	snapshot "$tmp/after"
	cmp -s "$tmp/before" "$tmp/after" || {
		diff "$tmp/before" "$tmp/after" >&2 || true
		fail "$variant: $1 did not restore the rule set"
	}
}

variant_test() {
	variant=$1
	ns=synproxyd-rules-$$-$variant-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
	ip netns add "$ns"
	# rules.c looks its tools up in PATH: point the plain names at the variant.
	bin=$tmp/bin-$variant
	mkdir -p "$bin"
	for t in iptables ip6tables; do
		for s in "" -save -restore; do
			ln -sf "$(command -v "$t-$variant$s")" "$bin/$t$s"
		done
	done
	ipt=$bin/iptables
	ip6t=$bin/ip6tables
	run "$ipt-restore" <"$tmp/base4" || fail "$variant: cannot load the base IPv4 rules"
	run "$ip6t-restore" <"$tmp/base6" || fail "$variant: cannot load the base IPv6 rules"
	snapshot "$tmp/before"

	for conf in gateway local v4only any; do
		c=$tmp/$conf.conf
		"$helper" print4 "$c" >"$tmp/p4" || fail "print4 $conf"
		"$helper" print6 "$c" >"$tmp/p6" || fail "print6 $conf"
		run "$ipt-restore" --test --noflush <"$tmp/p4" ||
			fail "$variant: iptables-restore rejects the $conf IPv4 text"
		run "$ip6t-restore" --test --noflush <"$tmp/p6" ||
			fail "$variant: ip6tables-restore rejects the $conf IPv6 text"

		in_ns install "$c" || fail "$variant: install $conf"
		check_installed "$c"
		in_ns install "$c" || fail "$variant: reinstall $conf"
		check_installed "$c"
		in_ns remove "$c" || fail "$variant: remove $conf"
		check_same "remove ($conf)"
		in_ns remove "$c" || fail "$variant: second remove $conf"
		check_same "a second remove ($conf)"

		in_ns install "$c" || fail "$variant: install $conf"
		"$helper" remove4 "$c" >"$tmp/r4" || fail "remove4 $conf"
		"$helper" remove6 "$c" >"$tmp/r6" || fail "remove6 $conf"
		run "$ipt-restore" --noflush <"$tmp/r4" ||
			fail "$variant: the printed IPv4 removal of $conf fails"
		run "$ip6t-restore" --noflush <"$tmp/r6" ||
			fail "$variant: the printed IPv6 removal of $conf fails"
		check_same "the printed removal ($conf)"
	done

	# A change of mode: the new install must clear the old mode's chains.
	in_ns install "$tmp/gateway.conf" || fail "$variant: install"
	in_ns install "$tmp/local.conf" || fail "$variant: install"
	check_installed "$tmp/local.conf"
	if run "$ipt" -S SYNPROXYD >/dev/null 2>&1; then
		fail "$variant: gateway chain left after installing local mode"
	fi
	in_ns remove "$tmp/gateway.conf" || fail "$variant: remove"
	check_same "remove after a mode change"

	ip netns del "$ns"
	ns=""
	echo "rules_syntax: $variant: ok"
}

variant_test nft
# The legacy backend needs the ip_tables modules.  A system without them
# fails here unless the user leaves this part out: LIVE_SKIP names
# rules_syntax.legacy (tests/live/run-live.sh).
case " ${LIVE_SKIP:-} " in
*" rules_syntax.legacy "*)
	echo "rules_syntax: legacy: left out (LIVE_SKIP)" ;;
*)
	if command -v iptables-legacy-restore >/dev/null 2>&1 &&
	   command -v ip6tables-legacy-restore >/dev/null 2>&1 &&
	   unshare -n sh -c 'iptables-legacy -t raw -S && ip6tables-legacy -t raw -S' \
		>/dev/null 2>&1; then
		variant_test legacy
	else
		fail "legacy iptables not available (iptables-legacy, ip_tables); LIVE_SKIP=rules_syntax.legacy leaves it out"
	fi ;;
esac
exit 0
