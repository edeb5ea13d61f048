#!/usr/bin/env bash
# What the audit trail costs (issue 30: at most 5% of throughput): the same nautod with and
# without the audit module (which makes the router record every run.start and device.call and
# the module chain them into LMDB), alternated, ROUNDS rounds each (5):
#   - device.call: a runbook calls one nauto-lab device CALLS times in a row (sessions kept);
#   - run.start: RUNS runs of a runbook that returns at once, asked with `nauto call --batch`.
# The baseline is nautod without the module, measured in the same run.
#   audit_overhead_bench.sh NAUTOD NAUTO NAUTO_LAB [CALLS] [RUNS] [ROUNDS]
set -uo pipefail
CALLS=${4:-1000}
RUNS=${5:-1000}
ROUNDS=${6:-5}
. "$(dirname "$0")/one_device_lab.sh" audit-overhead "$@"
cat >"$work/runbooks/calls.lua" <<LUA
return runbook { name = "calls", run = function()
  for _ = 1, $CALLS do device("ios1"):run("show clock") end
  return $CALLS
end }
LUA
cat >"$work/runbooks/noop.lua" <<'LUA'
return runbook { name = "noop", run = function() return true end }
LUA
python3 -c "
import json
for _ in range($RUNS): print(json.dumps({'service': 'run.start', 'body': {'runbook': 'noop'}}))
" >"$work/starts.jsonl"
now() { date +%s.%N; }
measure() {  # measure LABEL: one round on a fresh nautod; appends "LABEL calls_per_s runs_per_s"
  rm -rf "$work/data"
  one_device_nautod run.list >/dev/null
  "$NAUTO" run calls >/dev/null || exit 1  # warm-up: the session, caches
  local a b c d
  a=$(now)
  "$NAUTO" run calls >/dev/null || exit 1
  b=$(now)
  c=$(now)
  "$NAUTO" call --batch <"$work/starts.jsonl" >"$work/starts.out" || exit 1
  d=$(now)
  [ "$(grep -c '"id"' "$work/starts.out")" -eq "$RUNS" ] || { echo "not every run started"; exit 1; }
  if [ -n "${extra_modules:-}" ]; then
    "$NAUTO" audit stats -o json | python3 -c "import json,sys; s=json.load(sys.stdin); print('   audit records:', s['last_seq'], 'lost:', s['lost'])"
  fi
  kill "$pid" && wait "$pid" 2>/dev/null
  pid=""
  python3 -c "print('$1', $CALLS / ($b - $a), $RUNS / ($d - $c))" | tee -a "$work/rounds.txt"
}
for ((round = 1; round <= ROUNDS; round++)); do
  extra_modules="" measure without
  extra_modules="  audit: {signing_key: $work/audit.key}" measure with
done
python3 - "$work/rounds.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def figures(label, column):
    values = [float(r[column]) for r in rows if r[0] == label]
    return statistics.median(values), min(values), max(values)
for column, name in [(1, "device.call/s (a runbook's calls)"), (2, "run.start/s (nauto call --batch)")]:
    base, with_ = figures("without", column), figures("with", column)
    print(f"{name}: without audit {base[0]:.0f} [{base[1]:.0f}-{base[2]:.0f}], "
          f"with audit {with_[0]:.0f} [{with_[1]:.0f}-{with_[2]:.0f}]: "
          f"{(1 - with_[0] / base[0]) * 100:+.1f}% throughput lost")
PY
