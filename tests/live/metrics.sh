#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of the metrics endpoint (root): the gateway lab with
# metrics = { listen = "127.0.0.1:9464"; }, redis behind the proxy.  After
# a few connections, GET /metrics (curl in the daemon's namespace) is
# parsed with python3-prometheus-client's text parser: every family has
# HELP and TYPE, every statistic of `synproxyctl stats` is a family whose
# queue-labelled samples add up to the text listing's value, the verdict
# reasons carry verdict and reason labels, synproxyd_build_info, one
# synproxyd_rule_info per rule and each rule's SYNs are there; a broken reload turns
# synproxyd_config_last_reload_successful to 0 and counts a failure, a good
# one turns it back and moves the load time; a reload that reorders the
# rules keeps each one's SYN count by its name; other paths get 404, POST
# 405; the metrics thread holds no capability the main thread dropped.
set -u
. "${top_srcdir:-.}/tests/live/lib.sh"
lab_init curl redis-server redis-cli
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	cannot_run "python3-prometheus-client not installed (scripts/install-deps)"

lab_gateway
start_redis "$SRV" 120
override metrics "the endpoint under test (the example leaves it commented out)"
# Two queues, as the example has: the per-queue samples carry queue="0"
# and queue="1".
write_conf 'queue = { count = 2; };
metrics = { listen = "127.0.0.1:9464"; };'
daemon_start
URL=http://127.0.0.1:9464/metrics

for a in "$BACKEND4" "$BACKEND6" "$BACKEND4"; do
	check_eq "redis PING through the proxy ($a)" "$(redis_ping "$a")" PONG
done

# get [PATH [CURL ARGS]]: the body, or the status code with -o /dev/null.
get() {
	p=${1:-/metrics}
	[ $# -eq 0 ] || shift
	in_ns "$DAEMON_NS" curl -sS --max-time 5 "$@" "http://127.0.0.1:9464$p"
}

# Read /metrics and the text listing while nothing moves (workers publish
# every 100 ms; a timer may still end something between two reads: retry,
# bounded).
for try in 1 2 3 4 5 6; do
	sleep 0.3
	ctl stats >"$TMP/stats.txt" || fail "stats"
	get >"$TMP/metrics.txt" || fail "GET /metrics"
	ctl stats >"$TMP/stats2.txt" || fail "stats"
	cmp -s "$TMP/stats.txt" "$TMP/stats2.txt" && break
done
check "the counters did not move while read (try $try)" cmp -s "$TMP/stats.txt" "$TMP/stats2.txt"
check "GET /metrics parses and carries every statistic" "$PY" - "$TMP/stats.txt" \
	"$TMP/metrics.txt" "$CONF" "$top_srcdir/src/daemon/stats.h" <<'PY'
import re, sys, time
from prometheus_client.parser import text_string_to_metric_families

text = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    text[k] = int(v)
page = open(sys.argv[2]).read()
fams = {f.name: f for f in text_string_to_metric_families(page)}
errors = []
# HELP and TYPE for every family, read from the page itself (the parser
# makes up an "untyped" family for samples without them).
helped = {l.split()[2] for l in page.splitlines() if l.startswith("# HELP ")}
typed = {l.split()[2]: l.split()[3] for l in page.splitlines() if l.startswith("# TYPE ")}
for l in page.splitlines():
    if l and not l.startswith("#"):
        name = l.split("{")[0].split()[0]
        if name not in helped or name not in typed:
            errors.append("sample %s without HELP or TYPE" % name)
for f in fams.values():
    if f.type not in ("counter", "gauge") or not f.documentation:
        errors.append("family %s: type %s, help %r" % (f.name, f.type, f.documentation))

# The daemon-wide statistics, as src/daemon/stats.h defines them.
daemon_scope = set(re.findall(r"X\((\w+),\s*\w+,\s*DAEMON,", open(sys.argv[4]).read()))
if not {"rules_reinstalled", "flows_adopted"} <= daemon_scope:
    errors.append("stats.h: DAEMON scope not found: %r" % sorted(daemon_scope))

def family(name):
    # counters: the parser names the family without _total
    return fams.get("synproxyd_" + name)

for name, want in text.items():
    f = family(name)
    if f is None:
        errors.append("%s: no family" % name)
        continue
    got = sum(s.value for s in f.samples if not s.name.endswith("_created"))
    if int(got) != want:
        errors.append("%s: metrics %s, stats %d" % (name, got, want))
    queues = sorted(s.labels.get("queue", "-") for s in f.samples)
    # DAEMON scope in src/daemon/stats.h, and the XDP stage's counters
    daemon_wide = name in daemon_scope or \
        (name.startswith("xdp_") and name != "xdp_map_errors")
    if queues != (["-"] if daemon_wide else ["0", "1"]):
        errors.append("%s: queue labels %r" % (name, queues))
r = family("verdict_reasons")
if r is None or not r.samples:
    errors.append("no verdict reasons")
else:
    for s in r.samples:
        if s.labels.get("verdict") not in ("accept", "drop") or s.labels.get("reason") not in text:
            errors.append("verdict reason sample %r" % (s,))
    acc = sum(s.value for s in r.samples if s.labels["verdict"] == "accept")
    if acc <= 0:
        errors.append("no accepted packet has a reason")
b = family("build_info")
if b is None or len(b.samples) != 1 or b.samples[0].value != 1 or not b.samples[0].labels.get("version"):
    errors.append("build_info %r" % (b and b.samples,))
rules = family("rule_info")
got_rules = sorted((s.labels["rule"], s.labels["action"]) for s in (rules.samples if rules else []))
if got_rules != [("v4", "proxy"), ("v6", "proxy")]:
    errors.append("rule_info %r" % got_rules)
# Three connections, two over IPv4, one over IPv6: a SYN each.
syns = family("rule_syn_received")
got_syns = sorted((s.labels["rule"], s.value) for s in (syns.samples if syns else []))
if got_syns != [("v4", 2.0), ("v6", 1.0)]:
    errors.append("rule_syn_received %r" % got_syns)
ok = family("config_last_reload_successful")
if ok is None or ok.samples[0].value != 1:
    errors.append("config_last_reload_successful %r" % (ok and ok.samples,))
ts = family("config_last_reload_success_timestamp_seconds")
if ts is None or abs(ts.samples[0].value - time.time()) > 120:
    errors.append("load time %r" % (ts and ts.samples,))
if errors:
    sys.exit("\n".join(errors))
print("metrics: %d families, %d statistics of synproxyctl stats all there" % (len(fams), len(text)))
PY

# value NAME [LABEL=VALUE]: one sample's value from a fresh page.
value() {
	get | "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
want = dict(kv.split("=", 1) for kv in sys.argv[2:])
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        if s.name == sys.argv[1] and all(s.labels.get(k) == v for k, v in want.items()):
            print(repr(s.value))
' "$@"
}

t0=$(value synproxyd_config_last_reload_success_timestamp_seconds)
cp "$CONF" "$TMP/good.conf"
printf 'rules = ( { name = "x"; dst = ; } );\n' >"$CONF"
check "a broken reload is refused" sh -c "'$SYNPROXYCTL' -s '$SOCK' reload | grep -q '^error'"
check_eq "config_last_reload_successful after a broken reload" \
	"$(value synproxyd_config_last_reload_successful)" 0.0
check_eq "config_reloads_total{result=failure}" \
	"$(value synproxyd_config_reloads_total result=failure)" 1.0
check_eq "the load time stays that of the running configuration" \
	"$(value synproxyd_config_last_reload_success_timestamp_seconds)" "$t0"
cp "$TMP/good.conf" "$CONF"
sleep 1.1
check_eq "reload of the good file" "$(daemon_reload)" ok
check_eq "config_last_reload_successful after a good reload" \
	"$(value synproxyd_config_last_reload_successful)" 1.0
check_eq "config_reloads_total{result=success}" \
	"$(value synproxyd_config_reloads_total result=success)" 1.0
t1=$(value synproxyd_config_last_reload_success_timestamp_seconds)
check "the load time moved ($t0 -> $t1)" "$PY" -c "import sys; sys.exit(not $t1 > $t0)"

# A reload keeps each rule's SYN count by its name, wherever the rule now
# stands (they were reset before: a reload zeroed every series); a new
# rule starts at 0.  The rules reordered and one added in front.
cat >"$CONF" <<CONF
mode = "$MODE";
control_socket = "$SOCK";
state_file = "$TMP/state";
queue = { count = 2; };
metrics = { listen = "127.0.0.1:9464"; };
rules = (
	{ name = "extra"; dst = "203.0.113.99"; ports = [ $PORTS ]; action = "proxy"; },
	{ name = "v6"; dst = "$BACKEND6"; ports = [ $PORTS ]; action = "proxy"; },
	{ name = "v4"; dst = "$BACKEND4"; ports = [ $PORTS ]; action = "proxy"; }
);
CONF
check_eq "reload with the rules reordered and one added" "$(daemon_reload)" ok
# rule_syn_received appears once the workers published the new rules.
syn_value() {	# RULE
	i=0
	until v=$(value synproxyd_rule_syn_received_total rule="$1") && [ -n "$v" ]; do
		i=$((i + 1))
		[ $i -gt 30 ] && break
		sleep 0.1
	done
	echo "$v"
}
check_eq "rule_syn_received{rule=v4} kept across the reload" "$(syn_value v4)" 2.0
check_eq "rule_syn_received{rule=v6} kept across the reload" "$(syn_value v6)" 1.0
check_eq "rule_syn_received{rule=extra}, new, starts at 0" "$(syn_value extra)" 0.0
check_eq "redis PING through the proxy ($BACKEND6) after the reload" \
	"$(redis_ping "$BACKEND6")" PONG
sleep 0.3
check_eq "rule_syn_received{rule=v6} counts on" "$(syn_value v6)" 2.0

check_eq "GET /other" "$(get /other -o /dev/null -w '%{http_code}')" 404
check_eq "POST /metrics" "$(get /metrics -o /dev/null -w '%{http_code}' -X POST)" 405
check_eq "HEAD /metrics" "$(get /metrics -o /dev/null -w '%{http_code}' -I)" 200
check "Content-Type is the text format's" sh -c \
	"ip netns exec '$DAEMON_NS' curl -sS -D - -o /dev/null '$URL' | grep -qi '^content-type: text/plain; version=0.0.4'"

# Every thread, the metrics one included, runs with the main thread's
# reduced capabilities.
main_cap=$(awk '$1 == "CapEff:" { print $2 }' "/proc/$DPID/status")
threads=0
for t in /proc/"$DPID"/task/*; do
	threads=$((threads + 1))
	check_eq "thread $(basename "$t") CapEff" "$(awk '$1 == "CapEff:" { print $2 }' "$t/status")" "$main_cap"
done
check_ge "threads: main, two workers, metrics" "$threads" 4

daemon_stop
check_eq "daemon exit status" "$DAEMON_RC" 0
check "the metrics port is closed after stop" sh -c \
	"! ip netns exec '$DAEMON_NS' curl -s --max-time 2 '$URL' >/dev/null"
lab_finish
