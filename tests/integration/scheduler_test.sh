#!/usr/bin/env bash
# Integration (issue 26): the scheduler module in a real nautod with the runbooks and journal
# modules. Schedules from a directory fire runbooks; schedule.fired carries the run's id and
# a causal chain that `nauto events tail --chain` follows to the run's steps; the overlap
# policy skips a firing while a slow run goes on; a stop across two firings is caught up once
# (run_once) and reported missed; a reload adds, changes and removes schedules; pause, resume,
# run-now, next and validate answer; no module restarts.
#   scheduler_test.sh NAUTOD NAUTO
set -uo pipefail
NAUTOD=$1
NAUTO=$2
work=$(mktemp -d /tmp/nauto-scheduler-it-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

mkdir -p "$work/runbooks" "$work/schedules"
cat >"$work/runbooks/tick.lua" <<'LUA'
return runbook {
  name = "tick",
  params = { label = { type = "string", default = "none" } },
  run = function(p)
    local label = step("label", function() return p.label end)
    log.info("tick %s", label)
    return label
  end,
}
LUA
cat >"$work/runbooks/slow.lua" <<'LUA'
return runbook {
  name = "slow",
  run = function()
    wait(5)
    return "done"
  end,
}
LUA
cat >"$work/schedules/ops.yaml" <<'YAML'
schedules:
  - name: every-2s
    every: 2s
    late_after: 1s
    runbook: tick
    params: {label: two}
  - name: slow-every-2s
    every: 2s
    overlap: skip
    runbook: slow
YAML
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  runbooks: {dirs: [$work/runbooks]}
  scheduler: {dirs: [$work/schedules], reload_interval: 200ms}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
check "nautod starts with the scheduler" start_nautod schedule.list

events() {  # events TOPIC-PATTERN FILE: the journal's events as JSON
  "$NAUTO" events tail -t "$1" -n 1000 -o json >"$2"
}
fired_runs() {  # fired_runs SCHEDULE: how many schedule.fired events name it
  events 'schedule.fired' "$work/fired.json" &&
    json_get "$work/fired.json" "len([e for e in d if e['body']['schedule'] == '$1'])"
}
at_least_fired() { [ "$(fired_runs "$1")" -ge "$2" ]; }
check "an every: 2s schedule fires its runbook again and again" wait_for 20 at_least_fired every-2s 3

chain_links() {
  events 'schedule.fired' "$work/fired.json" || return 1
  local chain run
  chain=$(json_get "$work/fired.json" "[e for e in d if e['body']['schedule'] == 'every-2s'][0]['body']['chain']")
  run=$(json_get "$work/fired.json" "[e for e in d if e['body']['schedule'] == 'every-2s'][0]['body']['id']")
  "$NAUTO" events tail --chain "$chain" -n 100 -o json >"$work/chain.json" || return 1
  json_get "$work/chain.json" "sorted(set(e['topic'] for e in d))"
  [ "$(json_get "$work/chain.json" "any(e['topic'] == 'schedule.fired' for e in d)")" = True ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'run.started' and e['body']['id'] == '$run' for e in d)")" = True ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'run.finished' and e['body']['id'] == '$run' and e['body']['state'] == 'succeeded' for e in d)")" = True ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'run.step' and e['body']['run'] == '$run' and e['body']['state'] == 'ok' for e in d)")" = True ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'run.log' for e in d)")" = True ]
}
check "the chain links schedule.fired to its run: started, its step, its log, finished" \
  wait_for 10 chain_links

overlap_skipped() {
  events 'schedule.skipped' "$work/skipped.json" &&
    [ "$(json_get "$work/skipped.json" "any(e['body']['schedule'] == 'slow-every-2s' and 'is still going (overlap: skip)' in e['body']['reason'] for e in d)")" = True ]
}
check "overlap skip: firings while the slow run goes on are skipped, with the reason" \
  wait_for 15 overlap_skipped
slow_runs_alone() {  # no two slow runs at once: each slow run started after the previous ended
  "$NAUTO" events tail -t 'run.*' -n 1000 -o json >"$work/runs.json" || return 1
  python3 - "$work/runs.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
slow = {e["body"]["id"] for e in events if e["topic"] == "run.started" and e["body"].get("runbook") == "slow"}
going, most = 0, 0
for e in events:
    if e["body"].get("id") in slow and e["topic"] in ("run.started", "run.finished"):
        going += 1 if e["topic"] == "run.started" else -1
        most = max(most, going)
print(len(slow), "slow runs, at most", most, "at once")
sys.exit(0 if len(slow) >= 1 and most == 1 else 1)
PY
}
check "overlap skip: never two slow runs at once" slow_runs_alone

schedule_list() {
  "$NAUTO" call schedule.list -o json >"$work/list.json" &&
    [ "$(json_get "$work/list.json" "sorted(s['name'] for s in d['schedules'])")" = "['every-2s', 'slow-every-2s']" ] &&
    [ "$(json_get "$work/list.json" "[s for s in d['schedules'] if s['name'] == 'every-2s'][0]['timing']")" = "every 2s" ]
}
check "schedule.list shows both schedules with their timing" schedule_list
next_firings() {
  "$NAUTO" call schedule.next --json '{"name": "every-2s", "count": 3}' -o json >"$work/next.json" &&
    [ "$(json_get "$work/next.json" "len(d['firings'])")" = 3 ]
}
check "schedule.next lists the next firings" next_firings
validate_bad() {
  ! "$NAUTO" call schedule.validate --json '{"text": "schedules:\n  - name: x\n    cron: \"0 24 * * *\"\n    runbook: tick\n", "file": "bad.yaml"}' \
    >"$work/validate.out" 2>&1 && grep -q "bad.yaml:3: cron field 2 (hour): 24 is out of range 0-23" "$work/validate.out"
}
check "schedule.validate names the file, line and field" validate_bad

# Pause and run-now.
pause_resume() {
  "$NAUTO" call schedule.pause --json '{"name": "every-2s"}' -o json >/dev/null || return 1
  local before after
  before=$(fired_runs every-2s)
  sleep 5
  after=$(fired_runs every-2s)
  echo "fired $before before, $after after 5 s paused"
  [ "$before" = "$after" ] || return 1
  "$NAUTO" call schedule.run_now --json '{"name": "every-2s"}' -o json >"$work/run_now.json" &&
    [ "$(json_get "$work/run_now.json" "d['started']")" = True ] || return 1
  wait_for 10 at_least_fired every-2s $((after + 1)) || return 1
  "$NAUTO" call schedule.resume --json '{"name": "every-2s"}' >/dev/null &&
    wait_for 10 at_least_fired every-2s $((after + 3))
}
check "a paused schedule does not fire; run-now fires it; resume lets it go on" pause_resume

# A stop across two firings: run_once catches up once and reports the rest missed.
stop_and_restart() {
  kill "$pid" && wait "$pid" 2>/dev/null
  pid=""
  sleep 5
  start_nautod schedule.list || return 1
  # The log, not the journal: at nautod's start the journal may not be listening yet when the
  # scheduler decides what was missed and starts the catch-up run.
  wait_for 10 grep -q "schedule 'every-2s': [0-9]* firing(s) missed" "$work/nautod.jsonl" || return 1
  grep -o "schedule 'every-2s': [0-9]* firing(s) missed[^\"]*" "$work/nautod.jsonl" | tail -1
  # run_once: one run for the backlog, the newest firing: a catch-up, or on time when nautod
  # came back within late_after of it. It follows the missed line.
  backlog_run() {
    python3 - "$work/nautod.jsonl" <<'PY'
import datetime, json, re, sys
lines = [json.loads(l).get("message", "") for l in open(sys.argv[1]) if l.strip()]
missed = [re.search(r"missed, \S+ to (\S+)", m) for m in lines if m.startswith("schedule 'every-2s': ")]
last = datetime.datetime.fromisoformat(missed[-1].group(1).replace("Z", "+00:00"))
newest = (last + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
runs = [m for m in lines if re.match(r"schedule 'every-2s' fired \((catch_up|on_time)\) for " + newest, m)]
print("the backlog's newest firing", newest, "ran:", runs)
sys.exit(0 if len(runs) == 1 else 1)
PY
  }
  wait_for 15 backlog_run
}
check "after a stop across two firings: one run for the backlog, the rest reported missed" stop_and_restart

# Reload: add one, change one, remove one.
cat >"$work/schedules/ops.yaml" <<'YAML'
schedules:
  - name: every-2s
    every: 3s
    runbook: tick
    params: {label: three}
YAML
cat >"$work/schedules/more.yaml" <<'YAML'
schedules:
  - name: added
    every: 2s
    runbook: tick
    params: {label: added}
YAML
reloaded() {
  "$NAUTO" call schedule.list -o json >"$work/list.json" &&
    [ "$(json_get "$work/list.json" "sorted(s['name'] for s in d['schedules'])")" = "['added', 'every-2s']" ] &&
    [ "$(json_get "$work/list.json" "[s for s in d['schedules'] if s['name'] == 'every-2s'][0]['timing']")" = "every 3s" ]
}
check "a reload adds, changes and removes schedules" wait_for 10 reloaded
check "the added schedule fires" wait_for 10 at_least_fired added 1
printf 'schedules:\n  - name: broken\n    every: soon\n    runbook: tick\n' >"$work/schedules/broken.yaml"
kept_on_error() {
  grep -q "schedules not reloaded, the ones in force stay: .*broken.yaml:3: every: 'soon' is not a duration" "$work/nautod.jsonl" &&
    "$NAUTO" call schedule.list -o json >"$work/list.json" &&
    [ "$(json_get "$work/list.json" "len(d['schedules'])")" = 2 ]
}
check "a file with an error is logged with its line, and the schedules in force stay" \
  wait_for 10 kept_on_error
check "no module restarted" no_module_restarts
check "nautod idles under 10% of a CPU with schedules armed" cpu_idle "$pid"
echo "scheduler: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
