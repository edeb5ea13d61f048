#!/usr/bin/env bash
# Integration: telemetry end to end (issue 29) - real net-snmp snmpd agents on 127.0.0.1, nautod
# with the telemetry, rules and runbooks modules, `nauto metrics` as a user runs it, and a real
# Prometheus server scraping /metrics:
#   - v2c and v3 (SHA/AES) polls, over IPv4 and IPv6 loopback, and the faults that stay with
#     their own device: a wrong v3 password (authentication), an agent that never answers
#     (timeout);
#   - IF-MIB walked; a Counter32 that wraps gives the right rate; an agent restart is a
#     discontinuity, not a spike;
#   - a threshold with `for` and a hysteresis band crosses once, drives a rule that starts a
#     runbook, does not clear inside the band and clears below it;
#   - samples raw and in rollups (downsampled), kept across a restart of nautod; raw samples
#     past a shortened raw window expire while their rollups stay (retention);
#   - /metrics passes `promtool check metrics`; Prometheus scrapes it and answers queries;
#   - show commands polled through the devices module on nauto-lab devices, its session kept:
#     IOS parsed with ntc-templates' TextFSM, EOS as eAPI JSON; a command slower than its
#     interval is an overrun, counted, not queued.
#   telemetry_test.sh NAUTOD NAUTO NAUTO_LAB NTC_TEMPLATES
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
TEMPLATES=$4
. "$(dirname "$0")/checks.sh"
lab_test_setup telemetry
agent_pids=()
prom_pid=""
stop_servers() {
  for p in "${agent_pids[@]}" $prom_pid; do kill "$p" 2>/dev/null; done
  for p in "${agent_pids[@]}" $prom_pid; do wait "$p" 2>/dev/null; done
  lab_test_cleanup
}
trap stop_servers EXIT
claim_ports
agent_a=$((base_port + 50))  # r1 (v2c) and r2 (v3); the lab has the ports below
agent_b=$((base_port + 51))  # r3: v3 with a wrong password
silent=$((base_port + 52))   # r4: nobody answers
metrics_port=$((base_port + 53))
prom_port=$((base_port + 54))
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 29
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 1, ports: 4, site: dc1}
  - {platform: arista_eos, count: 1, ports: 4, site: dc2}
YAML
check "nauto-lab is ready" start_lab
lab_credentials

# An snmpd of the test's own: its config, persistent state, log, and values under
# 1.3.6.1.4.1.99999 that the test writes (a pass_persist script: pass would cache for 30 s).
start_agent() {  # start_agent NAME PORT
  local dir=$work/agent-$1
  mkdir -p "$dir/values"
  cat >"$dir/pass.py" <<PY
import os, sys
base = [1, 3, 6, 1, 4, 1, 99999]
values = "$dir/values"
arcs = lambda text: [int(a) for a in text.strip(".").split(".") if a]
for line in sys.stdin:
    command = line.strip()
    if command == "PING":
        print("PONG", flush=True)
        continue
    asked = arcs(sys.stdin.readline())
    if command == "set":
        sys.stdin.readline()
        print("not-writable", flush=True)
        continue
    answer = "NONE"
    for oid, name in sorted((base + arcs(n), n) for n in os.listdir(values)):
        if (command == "get" and oid == asked) or (command == "getnext" and oid > asked):
            answer = "." + ".".join(map(str, oid)) + "\n" + open(os.path.join(values, name)).read().strip()
            break
    print(answer, flush=True)
PY
  cat >"$dir/snmpd.conf" <<CONF
engineID nauto-telemetry-$1
rocommunity public 127.0.0.1
rocommunity6 public ::1
createUser nauto SHA "authpass123" AES "privpass123"
rouser nauto authpriv
pass_persist .1.3.6.1.4.1.99999 /usr/bin/python3 $dir/pass.py
CONF
  SNMP_PERSISTENT_DIR=$dir/persist MIBS= MIBDIRS=$dir/no-mibs \
    /usr/sbin/snmpd -f -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" -Lf "$dir/snmpd.log" \
    -r "udp:127.0.0.1:$2${ipv6:+,udp6:[::1]:$2}" >/dev/null 2>&1 &
  agent_pids+=($!)
  wait_for 10 snmpget -v2c -c public -t 0.2 -r 0 -On "127.0.0.1:$2" 1.3.6.1.2.1.1.3.0
}
set_value() {  # set_value AGENT SUFFIX TYPE VALUE
  printf '%s\n%s\n' "$3" "$4" >"$work/agent-$1/values/$2.tmp" &&
    mv "$work/agent-$1/values/$2.tmp" "$work/agent-$1/values/$2"
}

# IPv6 loopback, where the host has it (some containers have none).
ipv6=$(python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null && echo yes)
mkdir -p "$work/agent-a/values" "$work/agent-b/values"
set_value a 2.0 gauge 30           # temperature
set_value a 3.0 counter 4294966000 # a Counter32 about to wrap
check "snmpd agent a starts (v2c and v3)" start_agent a "$agent_a"
check "snmpd agent b starts" start_agent b "$agent_b"

cat >"$work/inventory.yaml" <<YAML
hosts:
  r1: {host: 127.0.0.1, platform: linux, vars: {snmp_port: $agent_a, site: dc1, role: core}}
  r2: {host: 127.0.0.1, platform: linux, vars: {snmp_port: $agent_a, snmp_credential: snmpv3, site: dc1}}
  r3: {host: 127.0.0.1, platform: linux, vars: {snmp_port: $agent_b, snmp_credential: wrongv3}}
  r4: {host: 127.0.0.1, platform: linux, vars: {snmp_port: $silent}}
  r5: {host: 127.0.0.1, platform: linux, vars: {snmp_port: $agent_a, snmp_credential: nowhere}}
YAML
[ -z "$ipv6" ] ||
  echo "  r6: {host: \"::1\", platform: linux, vars: {snmp_port: $agent_a, snmp_credential: snmpv3}}" >>"$work/inventory.yaml"
# The lab's EOS device once more, reached over eAPI (JSON) instead of its SSH CLI.
python3 - "$work/lab/inventory.yaml" >>"$work/inventory.yaml" <<'PY'
import sys, yaml
lab = yaml.safe_load(open(sys.argv[1]))
eos = lab["hosts"]["eos2"]
print(f"  eos2-api: {{host: 127.0.0.1, platform: arista_eos, transport: eapi, "
      f"api_port: {eos['api_port']}, credential: lab, tls_ca_file: {lab['defaults']['tls_ca_file']}}}")
PY
mkdir -p "$work/runbooks" "$work/rules"
cat >"$work/runbooks/telemetry_fix.lua" <<'LUA'
return runbook {
  name = "telemetry_fix",
  params = { device = { type = "string", required = true }, metric = { type = "string" } },
  run = function(p)
    local checked = step("check", function() return p.device .. " " .. (p.metric or "") end)
    return { fixed = p.device, checked = checked }
  end,
}
LUA
cat >"$work/rules/hot.yaml" <<'YAML'
rules:
  - name: too-hot
    on: telemetry.threshold.crossed
    when: {threshold: hot}
    action:
      runbook: telemetry_fix
      params: {device: "{{device}}", metric: "{{metric}}"}
YAML
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {}
  inventory: {files: [$work/lab/inventory.yaml, $work/inventory.yaml]}
  vault: {}
  devices: {device_timeout: 20s}
  runbooks: {dirs: [$work/runbooks]}
  rules: {dirs: [$work/rules]}
  telemetry:
    listen: 127.0.0.1:$metrics_port
    self_interval: 1s
    retention: {raw: 1m, raw_chunk: 4s, rollup_step: 2s, rollup_chunk: 8s, rollup: 1h}
    snmp:
      - name: v2c
        target: name=r1,r4,r5
        credential: snmpv2
        interval: 1s
        timeout: 300ms
        retries: 0
        sets: [system, interfaces, host]
        oids:
          - {name: temperature, oid: 1.3.6.1.4.1.99999.2.0, type: gauge, help: Inlet temperature}
          - {name: wrapping, oid: 1.3.6.1.4.1.99999.3.0, type: counter}
      - name: v3
        target: name=r2,r3,r6
        version: 3
        credential: snmpv3
        interval: 1s
        timeout: 300ms
        retries: 0
        sets: [system, interfaces]
    textfsm_templates: $TEMPLATES
    cli:
      - name: ios-bgp
        target: platform=cisco_ios
        command: show ip bgp summary
        interval: 2s
        metrics:
          - {name: bgp_peer_prefixes, value: state_or_prefixes_received, labels: {peer: bgp_neighbor}}
          - {name: bgp_peer_messages_in, value: messages_received, type: counter, labels: {peer: bgp_neighbor}}
      - name: eos-bgp
        target: name=eos2-api
        command: show ip bgp summary
        parse: json
        records: vrfs.default.peers
        interval: 2s
        metrics:
          - {name: bgp_peer_prefixes, value: prefixReceived, labels: {peer: _key}}
          - {name: bgp_peer_messages_in, value: msgReceived, type: counter, labels: {peer: _key}}
    thresholds:
      - {name: hot, metric: temperature, above: 50, for: 2s, clear: 40, severity: critical}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
export NAUTO_CRED_SNMPV2_PASSWORD=public
export NAUTO_CRED_SNMPV3_USERNAME=nauto NAUTO_CRED_SNMPV3_PASSWORD=authpass123 \
  NAUTO_CRED_SNMPV3_ENABLE_SECRET=privpass123
export NAUTO_CRED_WRONGV3_USERNAME=nauto NAUTO_CRED_WRONGV3_PASSWORD=not-the-password \
  NAUTO_CRED_WRONGV3_ENABLE_SECRET=privpass123
check "nautod starts with the telemetry module" start_nautod telemetry.stats

target_state() {  # target_state DEVICE STATE [ERROR-TEXT]
  "$NAUTO" metrics targets -o json >"$work/targets.json" &&
    python3 - "$work/targets.json" "$@" <<'PY'
import json, sys
targets = {t["device"]: t for t in json.load(open(sys.argv[1]))["targets"]}
device, state = sys.argv[2], sys.argv[3]
t = targets.get(device)
print(t)
ok = t is not None and t["state"] == state and (t["polls"] >= 1 or state == "unpollable")
if len(sys.argv) > 4: ok = ok and sys.argv[4] in t["error"]
sys.exit(0 if ok else 1)
PY
}
check "r1 is polled over v2c" wait_for 10 target_state r1 ok
check "r2 is polled over v3 (SHA, AES)" wait_for 10 target_state r2 ok
check "r3's wrong v3 password is an authentication error for r3 alone" \
  wait_for 10 target_state r3 failed authentication
if [ -n "$ipv6" ]; then
  check "r6 is polled over IPv6 (v3)" wait_for 10 target_state r6 ok
else
  echo "# this host has no IPv6 loopback: r6 (IPv6) not tested"
fi
check "r4's silent agent times out, for r4 alone" wait_for 10 target_state r4 failed "no answer"
cli_state() {  # cli_state DEVICE: its show command was polled and parsed
  "$NAUTO" metrics targets -o json >"$work/cli.json" &&
    python3 - "$work/cli.json" "$1" <<'PY'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["kind"] == "cli" and t["device"] == sys.argv[2]]
print(t)
sys.exit(0 if t and t[0]["state"] == "ok" and t[0]["polls"] >= 2 else 1)
PY
}
check "ios1's show ip bgp summary is polled and parsed with TextFSM" wait_for 20 cli_state ios1
check "eos2's is polled over eAPI, as JSON" wait_for 20 cli_state eos2-api
check "r5 names a credential nobody has: r5 alone cannot be polled" \
  wait_for 10 target_state r5 unpollable nowhere
check "the table of targets" sh -c "'$NAUTO' metrics targets | tee '$work/targets.txt' &&
  grep -E '^r2 +v3 .* v3 +ok' '$work/targets.txt'"

series_value() {  # series_value METRIC DEVICE PYTHON-TEST (p: the points of the first series)
  "$NAUTO" metrics query "$1" --device "$2" --since 50s --resolution raw -o json >"$work/q.json" &&
    python3 - "$work/q.json" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
series = d["series"]
p = [v for _, v in series[0]["points"]] if series else []
print(series[:1], p[-5:])
sys.exit(0 if series and eval(sys.argv[2]) else 1)
PY
}
check "IF-MIB walked: lo is up on r1" sh -c "
  '$NAUTO' metrics query if_oper_status --device r1 --label interface=lo --since 30s -o json >'$work/lo.json' &&
  python3 -c \"import json; s=json.load(open('$work/lo.json'))['series']; print(s); assert s and s[0]['points'][-1][1] == 1\""
check "the v3 device's interfaces too" wait_for 5 series_value if_in_octets_rate r2 "len(p) >= 1"
check "a user OID (temperature) is sampled" wait_for 5 series_value temperature r1 "p[-1] == 30"
check "metrics list names the built-in and user metrics" sh -c "'$NAUTO' metrics list | tee '$work/list.txt' &&
  grep -q '^if_in_octets_rate ' '$work/list.txt' && grep -q '^temperature .*Inlet temperature' '$work/list.txt' &&
  grep -q '^memory_used_percent ' '$work/list.txt'"

check "BGP prefixes per peer from both platforms, with peer labels" sh -c "
  '$NAUTO' metrics query bgp_peer_prefixes --since 30s --resolution raw -o json >'$work/bgp.json' &&
  python3 -c \"
import json, ipaddress
series = json.load(open('$work/bgp.json'))['series']
print([(s['device'], s['labels'], s['points'][-1][1]) for s in series])
devices = {s['device'] for s in series}
assert devices == {'ios1', 'eos2-api'}, devices
for s in series: ipaddress.ip_address(s['labels']['peer'])
\""
check "a command's counters become rates" wait_for 10 series_value bgp_peer_messages_in_rate eos2-api "len(p) >= 1 and min(p) >= 0"
check "the devices module keeps telemetry's sessions open between polls" sh -c "
  '$NAUTO' call device.sessions | tee '$work/sessions.json' | grep -q telemetry"

# eAPI answers 2.5 s late, past the 2 s interval: the polls that come due meanwhile are
# overruns, counted and skipped rather than queued behind the slow one.
cli_overruns() {  # cli_overruns DEVICE MIN MAX
  "$NAUTO" metrics targets -o json >"$work/overruns.json" &&
    python3 - "$work/overruns.json" "$1" "$2" "$3" <<'PY'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["targets"] if t["kind"] == "cli" and t["device"] == sys.argv[2]]
print(t)
sys.exit(0 if t and int(sys.argv[3]) <= t[0]["overruns"] <= int(sys.argv[4]) and t[0]["state"] == "ok" else 1)
PY
}
check "eos2-api has no overrun yet" cli_overruns eos2-api 0 0
control PUT /devices/eos2/faults '{"latency_ms": 2500}' >/dev/null
check "a show command slower than its interval is an overrun, and its polls still succeed" \
  wait_for 20 cli_overruns eos2-api 2 100
check "/metrics counts it for that command" sh -c "curl -sf http://127.0.0.1:$metrics_port/metrics |
  grep -E '^nauto_telemetry_poll_overruns_total\\{device=\"eos2-api\",group=\"eos-bgp\",source=\"cli\"\\} ([2-9]|[1-9][0-9]+)$'"
control PUT /devices/eos2/faults '{}' >/dev/null

# The counter passes 2^32 - 1: 1296 to the top, then 704 more = 2000 in about a second.
check "a first reading of the wrapping counter" wait_for 5 series_value wrapping_rate r1 "len(p) >= 1"
set_value a 3.0 counter 704
check "after the wrap, the rate is the 2000 counted, not 4 billion" \
  wait_for 5 series_value wrapping_rate r1 "500 < max(p) < 8000 and min(p) >= 0"
check "/metrics counts the wrap and keeps the total monotonic" sh -c "
  curl -sf http://127.0.0.1:$metrics_port/metrics >'$work/m1.txt' &&
  grep -E '^nauto_telemetry_wraps_total [1-9]' '$work/m1.txt' &&
  grep -E '^wrapping_total\\{device=\"r1\",role=\"core\",site=\"dc1\"\\} 4294968000' '$work/m1.txt'"

# Threshold: above 50 for 2 s crosses; 45 is inside the band (clear 40): no clearing; 35 clears.
set_value a 2.0 gauge 60
crossed_at=$SECONDS
threshold_event() {  # threshold_event crossed|cleared COUNT
  "$NAUTO" events tail -t "telemetry.threshold.$1" -n 20 -o json >"$work/events-$1.json" &&
    python3 - "$work/events-$1.json" "$2" <<'PY'
import json, sys
events = [e for e in json.load(open(sys.argv[1])) if e["body"].get("threshold") == "hot"]
print(events[-1:] if events else "none")
sys.exit(0 if len(events) == int(sys.argv[2]) else 1)
PY
}
check "the threshold crosses once the value stayed above 50 for 2 s" wait_for 10 threshold_event crossed 1
check "...not before its 2 s" test $((SECONDS - crossed_at)) -ge 2
check "the crossing names the device, the metric, the value and the severity" python3 -c "
import json; e = json.load(open('$work/events-crossed.json'))[-1]['body']
assert e['device'] == 'r1' and e['metric'] == 'temperature' and e['value'] == 60
assert e['severity'] == 'critical' and e['limit'] == 50 and e['kind'] == 'above', e"
run_done() {
  "$NAUTO" runs list -o json >"$work/runs.json" &&
    python3 -c "
import json; runs = [r for r in json.load(open('$work/runs.json')) if r.get('runbook') == 'telemetry_fix']
print(runs); assert runs and runs[0]['state'] == 'succeeded'"
}
check "the rule started the runbook for the crossing, and it succeeded" wait_for 10 run_done
set_value a 2.0 gauge 45
sleep 3  # not a synchronization: three polls inside the band must not clear it
check "inside the hysteresis band (45, clear at 40) it stays crossed" sh -c "
  ! '$NAUTO' events tail -t telemetry.threshold.cleared -n 5 -o json | grep -q '\"hot\"' &&
  '$NAUTO' metrics thresholds | tee '$work/th.txt' && grep -E '^hot .* r1\$' '$work/th.txt'"
set_value a 2.0 gauge 35
check "below 40 it clears" wait_for 10 threshold_event cleared 1
check "still one crossing: no flapping" threshold_event crossed 1

# Under load the two queries can be seconds apart, with polls between them: the rollups must
# hold every raw sample taken before their query began (less two: a poll landing as it began,
# a bucket still open) and none taken after it ended.
check "raw samples and 2 s rollups of the same series (downsampling)" sh -c "
  date +%s%3N >'$work/rollup_asked_ms' &&
  '$NAUTO' metrics query temperature --device r1 --since 5m --resolution rollup -o json >'$work/rollup.json' &&
  date +%s%3N >'$work/rollup_answered_ms' &&
  '$NAUTO' metrics query temperature --device r1 --since 5m --resolution raw -o json >'$work/raw.json' &&
  python3 -c \"
import json
asked, answered = (int(open('$work/rollup_' + n + '_ms').read()) for n in ('asked', 'answered'))
raw = json.load(open('$work/raw.json'))['series'][0]['points']
buckets = json.load(open('$work/rollup.json'))['series'][0]['buckets']
before = sum(1 for p in raw if p[0] <= asked)
by_answer = sum(1 for p in raw if p[0] <= answered)
rolled = sum(b[4] for b in buckets)
print(len(raw), 'raw,', before, 'before the rollup query,', by_answer, 'by its answer;', len(buckets), 'buckets of', rolled, buckets[-3:])
assert len(buckets) < len(raw) and before - 2 <= rolled <= by_answer
assert max(b[2] for b in buckets) == 60 and min(b[1] for b in buckets) == 30
\""
check "the table output has a sparkline" sh -c "'$NAUTO' metrics query temperature --device r1 --since 5m | tee '$work/spark.txt' && grep -q '▁' '$work/spark.txt'"

# /metrics: device metrics with their labels, nauto's own, and promtool's lint.
check "/metrics has device metrics with device, site and role labels" sh -c "
  curl -sf http://127.0.0.1:$metrics_port/metrics >'$work/m2.txt' &&
  grep -E '^if_in_octets_total\\{device=\"r1\",interface=\"lo\",role=\"core\",site=\"dc1\"\\} [0-9]' '$work/m2.txt' &&
  grep -E '^temperature\\{device=\"r1\",role=\"core\",site=\"dc1\"\\} 35' '$work/m2.txt' &&
  grep -E '^# TYPE if_in_octets_total counter' '$work/m2.txt'"
check "/metrics has nauto's own: modules, router, store, runs and step latencies" sh -c "
  grep -E '^nauto_module_up\\{module=\"telemetry\"\\} 1' '$work/m2.txt' &&
  grep -E '^nauto_router_events_in_total [1-9]' '$work/m2.txt' &&
  grep -E '^nauto_store_used_bytes [1-9]' '$work/m2.txt' &&
  grep -E '^nauto_runs_finished_total\\{runbook=\"telemetry_fix\",state=\"succeeded\"\\} 1' '$work/m2.txt' &&
  grep -E '^nauto_run_step_duration_seconds_count' '$work/m2.txt' &&
  grep -E '^nauto_telemetry_target_up\\{device=\"r3\",group=\"v3\",source=\"snmp\"\\} 0' '$work/m2.txt'"
check "promtool check metrics is clean" sh -c "promtool check metrics <'$work/m2.txt'"

cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: nauto
    static_configs: [{targets: ['127.0.0.1:$metrics_port']}]
YAML
/usr/bin/prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom_query() {  # prom_query PROMQL: true when Prometheus returns at least one series
  curl -sf "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" >"$work/prom.json" &&
    python3 -c "
import json; d = json.load(open('$work/prom.json')); print(d['data']['result'][:2])
assert d['status'] == 'success' and d['data']['result']"
}
check "Prometheus scrapes nauto (up == 1)" wait_for 30 prom_query 'up{job="nauto"} == 1'
check "Prometheus returns the device series" wait_for 10 prom_query 'if_in_octets_total{device="r1",interface="lo",site="dc1"}'
check "Prometheus computes a rate over it" wait_for 15 prom_query 'rate(if_in_octets_total{device="r2",interface="lo"}[5s]) >= 0'
check "Prometheus returns nauto's own series" prom_query 'nauto_module_up{module="telemetry"} == 1'

# A restart of the agent: its sysUpTime goes back, the counters' next interval is skipped, no spike.
set_value a 3.0 counter 100000
sleep 1.5  # not a synchronization: one poll at the new value before the restart
kill "${agent_pids[0]}" && wait "${agent_pids[0]}" 2>/dev/null
set_value a 3.0 counter 50
check "agent a comes back" start_agent a "$agent_a"
# The poll after the restart is seen as one (waited for: a rate of 0 from before the restart
# would otherwise pass the next check before that poll came).
restart_seen() {
  curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^nauto_telemetry_discontinuities_total [1-9]'
}
check "the restart was seen as a discontinuity" wait_for 10 restart_seen
# Taken for a wrap, 100000 -> 50 would be a rate of 4.29e9 a second.
check "after the agent's restart the rate shows no spike" \
  wait_for 10 series_value wrapping_rate r1 "max(p) < 200000 and min(p) >= 0 and p[-1] == 0"

# A clean restart of nautod keeps the samples (the open chunks are written at stop).
"$NAUTO" metrics query temperature --device r1 --since 10m --resolution raw -o json >"$work/before.json"
kill -TERM "$pid" && wait "$pid" 2>/dev/null
echo "nautod exit status $?" >>"$work/nautod.log"  # 0: it stopped cleanly, its samples written
pid=""
check "nautod starts again" start_nautod telemetry.stats
samples_kept() {
  "$NAUTO" metrics query temperature --device r1 --since 10m --resolution raw -o json >"$work/after.json" &&
    python3 - "$work/before.json" "$work/after.json" <<'PY' || { grep -E "stop|did not|abandon|exit status" "$work/nautod.log" | tail -5; return 1; }
import json, sys
before = {p[0] for p in json.load(open(sys.argv[1]))["series"][0]["points"]}
after = {p[0] for p in json.load(open(sys.argv[2]))["series"][0]["points"]}
print(f"before {len(before)}, now {len(after)}; missing: {sorted(before - after)}")
sys.exit(0 if before <= after else 1)
PY
}
check "the samples from before the restart are still there" samples_kept
check "no module restarted" no_module_restarts

# Retention: nautod comes back with a raw window of 10 s. Raw chunks (4 s) older than that go
# at the next sweep (one every raw chunk); the rollups of the same minutes stay.
kill -TERM "$pid" && wait "$pid" 2>/dev/null
pid=""
sed -i 's/retention: {raw: 1m,/retention: {raw: 10s,/' "$work/nauto.yaml"
check "nautod starts with a 10 s raw window" start_nautod telemetry.stats
raw_expired() {
  "$NAUTO" metrics query temperature --device r1 --since 10m --resolution raw -o json >"$work/raw10.json" &&
    "$NAUTO" metrics query temperature --device r1 --since 10m --resolution rollup -o json >"$work/rollup10.json" &&
    "$NAUTO" call telemetry.stats >"$work/stats10.json" &&
    python3 - "$work/raw10.json" "$work/rollup10.json" "$work/stats10.json" <<'PY'
import json, sys, time
now = time.time() * 1000
raw = json.load(open(sys.argv[1]))["series"][0]["points"]
rollup = json.load(open(sys.argv[2]))["series"][0]["buckets"]
expired = json.load(open(sys.argv[3]))["chunks_expired"]
raw_age, rollup_age = (now - raw[0][0]) / 1000, (now - rollup[0][0]) / 1000
print(f"oldest raw sample {raw_age:.1f} s old, oldest rollup {rollup_age:.1f} s, {expired} chunks expired")
# Kept: the last 10 s, plus at most a chunk (4 s) not yet wholly past it and a sweep (4 s).
sys.exit(0 if raw_age <= 10 + 4 + 4 + 2 and rollup_age > raw_age + 20 and expired > 0 else 1)
PY
}
check "raw samples older than the window are gone, their rollups kept" wait_for 20 raw_expired

echo "telemetry: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
