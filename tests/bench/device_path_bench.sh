#!/usr/bin/env bash
# The device path's own cost: a runbook calls one nauto-lab device N times in a row
# (device("ios1"):run("show clock")); the devices module measures every device.call from
# received to its driver starting, and from the driver's result to the reply sent
# (device.path_stats). Baseline in the same run: the driver's own time for the same calls.
#   device_path_bench.sh NAUTOD NAUTO NAUTO_LAB [CALLS]
set -uo pipefail
CALLS=${4:-300}
. "$(dirname "$0")/one_device_lab.sh" device-path "$@"
cat >"$work/runbooks/path.lua" <<LUA
return runbook { name = "path", run = function()
  for _ = 1, $CALLS do device("ios1"):run("show clock") end
  return $CALLS
end }
LUA
one_device_nautod device.path_stats "keep_sessions: 0"
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
