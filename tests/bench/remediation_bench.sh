#!/usr/bin/env bash
# Event ingest -> rules -> action dispatch through a real nautod: syslog over UDP at fixed
# offered rates (10 s each), 100 rules, every 1000th message a trigger that starts a runbook.
# Each rate runs twice: threads scheduled normally, and with `scheduling: batch` on the router,
# syslog, rules and journal threads (docs/architecture.md).
# Prints, per rate: what the syslog module published, what the rules module saw, losses
# (kernel receive buffer, bus), and the latency from datagram received to runbook started
# (p50/p99, from the journal: run.started time minus the syslog event's received_us), and the
# same from the moment the sender sent the trigger (stamped by the sender: kernel buffers count).
# Baseline in the same run: the same parse + classify + rules on one thread without the bus.
#   remediation_bench.sh NAUTOD NAUTO SYSLOG_BENCH [RATES] [SECONDS] [SCHEDULINGS]
set -euo pipefail
NAUTOD=$1
NAUTO=$2
BENCH=$3
RATES=${4:-"5000 25000 50000 75000 100000"}
SECONDS_EACH=${5:-10}
SCHEDULINGS=${6:-"normal batch"}
EVERY=${NAUTO_BENCH_TRIGGER_EVERY:-1000}
work=$(mktemp -d /tmp/nauto-remediation-bench-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
port=$((26000 + ($$ % 3000)))

# 99 decoy rules on the kinds the mix contains (each looks, none fires), and the trigger rule.
python3 - "$work/rules.yaml" <<'PY'
import sys
out = ["rules:"]
kinds = ["device.*.interface.protocol.down", "device.*.interface.protocol.up",
         "device.*.bgp.down", "device.*.bgp.up", "device.*.interface.up", "device.*.syslog"]
for i in range(99):
    kind = kinds[i % len(kinds)]
    out.append(f"  - name: decoy-{i}")
    out.append(f"    on: {kind}")
    if "bgp" in kind:
        out.append(f"    when: {{fields.neighbor: {{regex: '^10\\\\.{200 + i}\\\\.'}}}}")
    elif "syslog" in kind:
        out.append(f"    when: {{message: {{contains: 'NO-SUCH-TEXT-{i}'}}, severity: {{lte: 3}}}}")
    else:
        out.append(f"    when: {{fields.interface: 'TenGigabitEthernet{i}/1'}}")
    out.append(f"    action: {{emit: {{topic: bench.decoy, body: {{}}}}}}")
out.append("  - name: trigger")
out.append("    on: device.*.interface.down")
out.append("    when: {fields.reason: admin, fields.interface: {regex: '^Bench'}}")
out.append("    action: {runbook: noop, params: {interface: '{{fields.interface}}'}}")
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
mkdir -p "$work/runbooks"
cat >"$work/runbooks/noop.lua" <<'LUA'
return runbook { name = "noop", params = { interface = { type = "string", required = true } },
  run = function(p) return p.interface end }
LUA
write_config() {  # SCHEDULING
  local batch=""
  [ "$1" = batch ] && batch=", scheduling: batch"
  cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: warn, file: $work/nautod.jsonl}
router: {peer_high_water_mark: 100000$batch}
modules:
  journal: {max_age: 1h, exclude: ["device.*.syslog", "device.*.interface.protocol.>", "device.*.bgp.>", "run.step", "run.log"]$batch}
  inventory: {}
  runbooks: {dirs: [$work/runbooks]}
  syslog: {listen: [udp://127.0.0.1:$port], receive_buffer: 32MiB$batch}
  rules:
    files: [$work/rules.yaml]
    rule_budget: {count: 1000000, window: 1h}
    device_budget: {count: 1000000, window: 1h}
YAML
  [ "$1" = batch ] && echo "    scheduling: batch" >>"$work/nauto.yaml"
  return 0
}
export NAUTO_CONFIG=$work/nauto.yaml
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
"$BENCH" baseline "$work/rules.yaml" 300000

numbers() {  # published kernel_dropped shed rules_events router_dropped
  "$NAUTO" call syslog.stats -o json >"$work/s.json"
  "$NAUTO" call rules.list -o json >"$work/r.json"
  "$NAUTO" status -o json >"$work/st.json"
  python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
s, r, st = (json.load(open(f"{w}/{n}.json")) for n in ("s", "r", "st"))
def dropped(d):  # the router's own count of events dropped for full peer queues
    router = d.get("router", {})
    for key in ("events_dropped", "dropped"):
        if isinstance(router.get(key), int):
            return router[key]
    return -1
print(s["counters"]["published"], s["listener"]["kernel_dropped"], s["counters"]["shed"],
      r["events"], dropped(st))
PY
}
for scheduling in $SCHEDULINGS; do
write_config "$scheduling"
rm -rf "$work/data" "$work/run"
"$NAUTOD" >"$work/nautod.log" 2>&1 &
pid=$!
for _ in $(seq 100); do "$NAUTO" call syslog.stats >/dev/null 2>&1 && break; sleep 0.1; done
echo "== end to end, scheduling $scheduling: syslog (UDP) -> syslog module -> bus -> rules (100) -> run.start"
printf "%-9s %-9s %-11s %-9s %-9s %-9s %-8s %-9s %-9s %-9s %-11s %-11s %s\n" RATE SENT PUBLISHED RULES_SAW \
  KERNEL_DROP BUS_DROP TRIGGERS RUNS P50_MS P99_MS SENT_P50_MS SENT_P99_MS SENDER_LATE_MS
for rate in $RATES; do
  read -r p0 k0 s0 e0 d0 < <(numbers)
  since=$(($(date +%s%N) / 1000))
  "$BENCH" send "$port" "$rate" "$SECONDS_EACH" "$EVERY" >"$work/sent.json"
  sleep 3  # let queues drain
  read -r p1 k1 s1 e1 d1 < <(numbers)
  "$NAUTO" call journal.query --json "{\"topic\": \"device._unknown.interface.down\", \"since_us\": $since, \"limit\": 10000}" -o json >"$work/events.json"
  "$NAUTO" call journal.query --json "{\"topic\": \"run.started\", \"since_us\": $since, \"limit\": 10000}" -o json >"$work/runs.json"
  python3 - "$work" "$rate" "$p0 $k0 $s0 $e0 $d0" "$p1 $k1 $s1 $e1 $d1" <<'PY'
import json, re, sys
w, rate = sys.argv[1], int(sys.argv[2])
p0, k0, s0, e0, d0 = map(int, sys.argv[3].split())
p1, k1, s1, e1, d1 = map(int, sys.argv[4].split())
sent = json.load(open(f"{w}/sent.json"))
events = json.load(open(f"{w}/events.json"))["events"]
received = {e["id"]: e["body"]["received_us"] for e in events}
# The trigger's number is in its interface name (Bench<n>); the sender stamped when it left.
number = {e["id"]: re.search(r"Bench(\d+)", json.dumps(e["body"])).group(1) for e in events
          if re.search(r"Bench(\d+)", json.dumps(e["body"]))}
runs = [e for e in json.load(open(f"{w}/runs.json"))["events"] if e["body"].get("chain") in received]
latencies = sorted((e["ts"] - received[e["body"]["chain"]]) / 1000.0 for e in runs)
from_sender = sorted((e["ts"] - sent["trigger_sent_us"][number[e["body"]["chain"]]]) / 1000.0
                     for e in runs if number.get(e["body"]["chain"]) in sent["trigger_sent_us"])
def pct(values, p):
    return values[min(len(values) - 1, int(p / 100 * (len(values) - 1)))] if values else float("nan")
print(f"{rate:<9} {sent['sent']:<9} {p1 - p0:<11} {e1 - e0:<9} {k1 - k0:<11} {d1 - d0:<9} "
      f"{sent['triggers']:<8} {len(latencies):<9} {pct(latencies, 50):<9.2f} {pct(latencies, 99):<9.2f} "
      f"{pct(from_sender, 50):<11.2f} {pct(from_sender, 99):<11.2f} {sent['max_late_ms']:.1f}")
PY
done
kill "$pid" && wait "$pid" 2>/dev/null
pid=""
done
