#!/usr/bin/env bash
# The device path's own cost: a runbook calls one nauto-lab device N times in a row
# (device("ios1"):run("show clock")); the devices module measures every device.call from
# received to its driver starting, and from the driver's result to the reply sent
# (device.path_stats). Baseline in the same run: the driver's own time for the same calls.
#   device_path_bench.sh NAUTOD NAUTO NAUTO_LAB [CALLS]
set -uo pipefail
NAUTOD=$(realpath "$1")
NAUTO=$(realpath "$2")
LAB=$(realpath "$3")
CALLS=${4:-300}
work=$(mktemp -d /tmp/nauto-device-path-bench-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/../integration/checks.sh"

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 7
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 1, site: dc1, role: edge}
YAML
start_lab || exit 1
mkdir -p "$work/runbooks"
cat >"$work/runbooks/path.lua" <<LUA
return runbook { name = "path", run = function()
  for _ = 1, $CALLS do device("ios1"):run("show clock") end
  return $CALLS
end }
LUA
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: warn, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s}
  runbooks: {dirs: [$work/runbooks]}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
lab_credentials
start_nautod device.path_stats >/dev/null || { tail "$work/nautod.log"; exit 1; }
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
"$NAUTO" run path >/dev/null || exit 1  # warm-up: sessions, caches
"$NAUTO" call device.path_stats --json '{"clear": true}' >/dev/null
began=$(date +%s.%N)
"$NAUTO" run path >/dev/null || exit 1
ended=$(date +%s.%N)
"$NAUTO" call device.path_stats -o json >"$work/stats.json"
python3 - "$work/stats.json" "$CALLS" "$began" "$ended" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
calls, seconds = int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3])
print(f"{s['calls']} device.calls measured ({calls} in {seconds:.2f} s, {calls / seconds:.0f}/s end to end)")
for key, label in [("before_driver_ms", "received -> driver starts"),
                   ("driver_ms", "driver (baseline)"),
                   ("after_driver_ms", "driver result -> reply sent")]:
    v = s[key]
    print(f"{label:30s} p50 {v['p50']:7.3f} ms  p90 {v['p90']:7.3f}  p99 {v['p99']:7.3f}  max {v['max']:7.3f}")
overhead = s["before_driver_ms"]["p50"] + s["after_driver_ms"]["p50"]
print(f"path overhead p50 {overhead:.3f} ms = {overhead / s['driver_ms']['p50']:.2f}x the driver's p50")
PY
