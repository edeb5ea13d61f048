#!/usr/bin/env bash
# Integration (issue 26): `nauto schedule` against a real nautod and nauto-lab. validate needs
# no daemon (a passive one checks the file and its runbooks); schedules added from the command
# line start jobs over lab devices, with the job's events on the firing's causal chain; a
# selector that matches nothing records a job of 0 devices; bad input is refused naming the
# field and the fix; the overlap policies skip, queue and allow with a slow runbook on a lab
# device; a one-shot schedule;
# the missed policies skip and run_all after nautod was stopped across firings; added schedules,
# their pause and their last firing outlive a restart; the shipped examples validate.
#   scheduler_cli_test.sh NAUTOD NAUTO NAUTO_LAB RUNBOOK_LIBRARY SHIPPED_SCHEDULES
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
LIBRARY=$4
SHIPPED=$5
work=$(mktemp -d /tmp/nauto-schedule-cli-it-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 26
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 3, site: dc1, role: edge}
YAML
check "nauto-lab is ready" start_lab

mkdir -p "$work/runbooks" "$work/schedules"
cp "$SHIPPED" "$work/schedules/examples.yaml"
cat >"$work/runbooks/tick.lua" <<'LUA'
return runbook {
  name = "tick",
  run = function() return "tick" end,
}
LUA
cat >"$work/runbooks/slow_show.lua" <<'LUA'
return runbook {
  name = "slow_show",
  params = { device = { type = "device", required = true } },
  run = function(p)
    local out = device(p.device):run("show version")
    wait(3)
    return #out
  end,
}
LUA
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s, attempts: 2, retry_delay: 50ms}
  runbooks: {dirs: [$LIBRARY, $work/runbooks]}
  scheduler: {dirs: [$work/schedules], reload_interval: 200ms}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
lab_credentials

validate_offline() {
  "$NAUTO" schedule validate "$SHIPPED" >"$work/validate.out" 2>&1 &&
    grep -q "examples.yaml: 2 schedule(s), no problems" "$work/validate.out" &&
    ! pgrep -f "nautod --config $work/nauto.yaml" >/dev/null
}
check "schedule validate with no nautod: the shipped examples and their runbooks check out" \
  validate_offline
printf 'schedules:\n  - name: x\n    every: 1h\n    runbook: no_such_runbook\n' >"$work/unknown.yaml"
validate_unknown_runbook() {
  ! "$NAUTO" schedule validate "$work/unknown.yaml" >"$work/validate.out" 2>&1 &&
    grep -q "unknown.yaml:2: runbook: 'no_such_runbook' is not a runbook nautod knows; \`nauto runbook list\` names them" "$work/validate.out"
}
check "schedule validate names an unknown runbook, where it is, and the fix" \
  validate_unknown_runbook
check "nautod starts with the scheduler, devices and runbooks" start_nautod schedule.list

listed_examples() {
  "$NAUTO" schedule list >"$work/list.txt" &&
    grep -q "^nightly-config-backup .*cron 0 2 \* \* \* .*Europe/Berlin .*configs.backup .*paused" "$work/list.txt" &&
    grep -q "^hourly-onboarding-check .*every 1h .*paused" "$work/list.txt"
}
check "schedule list shows the shipped examples, paused" listed_examples
next_local() {
  "$NAUTO" schedule next nightly-config-backup -n 3 >"$work/next.txt" &&
    [ "$(grep -cE '^  20[0-9]{2}-[0-9]{2}-[0-9]{2} 02:(0[0-9]|10):[0-9]{2} CES?T   \(20[0-9-]+T0[01]:[0-9:]+Z\)$' "$work/next.txt")" = 3 ]
}
check "schedule next: three firings at 02:00-02:10 Berlin time (jitter), with UTC beside" next_local

# Jobs from the command line, on the causal chain.
add_job() {
  "$NAUTO" schedule add edge-facts --every 2s --late-after 1s --job facts --target role=edge \
    >"$work/add.txt" && grep -q "schedule 'edge-facts' added; next firing 20" "$work/add.txt"
}
check "schedule add: a facts job over role=edge every 2s" add_job
fired() {  # fired SCHEDULE: the schedule.fired events naming it, as JSON, in $work/fired.json
  "$NAUTO" events tail -t schedule.fired -n 1000 -o json >"$work/all-fired.json" &&
    python3 - "$work/all-fired.json" "$1" >"$work/fired.json" <<'PY'
import json, sys
print(json.dumps([e["body"] for e in json.load(open(sys.argv[1])) if e["body"]["schedule"] == sys.argv[2]]))
PY
}
job_on_chain() {
  fired edge-facts && [ "$(json_get "$work/fired.json" "len(d)")" -ge 1 ] || return 1
  local chain job
  chain=$(json_get "$work/fired.json" "d[0]['chain']")
  job=$(json_get "$work/fired.json" "d[0]['id']")
  [ "$(json_get "$work/fired.json" "d[0]['devices']")" = 3 ] || return 1
  "$NAUTO" events tail --chain "$chain" -n 100 -o json >"$work/chain.json" || return 1
  json_get "$work/chain.json" "sorted(set(e['topic'] for e in d))"
  [ "$(json_get "$work/chain.json" "sum(e['topic'] == 'job.device' and e['body']['job'] == '$job' for e in d)")" = 3 ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'job.finished' and e['body']['id'] == '$job' for e in d)")" = True ] &&
    [ "$(json_get "$work/chain.json" "any(e['topic'] == 'schedule.fired' for e in d)")" = True ]
}
check "the job's devices and end are on the firing's chain" wait_for 15 job_on_chain
shown_last() {
  "$NAUTO" schedule show edge-facts >"$work/show.txt" &&
    grep -qE "^last firing: +20.* done \(3 devices\)" "$work/show.txt" &&
    grep -q "^origin: *added by " "$work/show.txt"
}
check "schedule show: the last firing, how it ended, 3 devices; who added it" wait_for 10 shown_last
check "schedule pause" "$NAUTO" schedule pause edge-facts

check "schedule add: a job over a selector that matches nothing" \
  "$NAUTO" schedule add empty-group --every 2s --job run --target role=nothing --command "show clock"
zero_devices() {
  fired empty-group && [ "$(json_get "$work/fired.json" "len(d)")" -ge 1 ] &&
    [ "$(json_get "$work/fired.json" "d[0]['devices']")" = 0 ] &&
    "$NAUTO" schedule show empty-group >"$work/show.txt" &&
    grep -qE "^last firing: +20.* done \(0 devices\)" "$work/show.txt" &&
    ! "$NAUTO" events tail -t schedule.skipped -n 1000 | grep -q empty-group
}
check "a schedule whose target is empty fires and records 0 devices, not a failure" \
  wait_for 15 zero_devices

refused() {  # refused PATTERN nauto-args...: the command fails and says PATTERN
  local pattern=$1
  shift
  ! "$NAUTO" "$@" >"$work/refused.txt" 2>&1 && cat "$work/refused.txt" && grep -q "$pattern" "$work/refused.txt"
}
check "an unknown runbook is refused, naming the field and the fix" \
  refused "runbook: 'nope' is not a runbook nautod knows; \`nauto runbook list\` names them: fix the name, or put the runbook in a folder of modules.runbooks.dirs" \
  schedule add x --every 1h --runbook nope
check "an invalid cron field is refused, naming the field" \
  refused "cron field 2 (hour): 24 is out of range 0-23" schedule add x --cron "0 24 * * *" --runbook tick
check "an unknown time zone is refused, naming it" \
  refused "Mars/Olympus" schedule add x --cron "@daily" --tz Mars/Olympus --runbook tick
check "a name in use needs --replace" refused "schedule 'edge-facts' exists (added by .*); --replace changes it" \
  schedule add edge-facts --every 1h --runbook tick
check "a file's schedule is not removed from the command line" \
  refused "schedule 'nightly-config-backup' is defined in .*examples.yaml:10; remove it from that file" \
  schedule rm nightly-config-backup
check "nor replaced" refused "schedule 'nightly-config-backup' is defined in .*examples.yaml:10; change it there" \
  schedule add nightly-config-backup --every 1h --runbook tick --replace
check "schedule rm removes an added one" "$NAUTO" schedule rm empty-group
gone() { ! "$NAUTO" schedule list | grep -q "^empty-group "; }
check "and it is gone from the list" gone

# Overlap with a slow runbook (a device command, then 3 s) on a lab device, firing every 2 s:
# one schedule at a time, each removed once shown, to keep the load (SSH logins under the
# sanitizers) light for the tests that run beside this one.
most_at_once() {  # most_at_once SCHEDULE: prints how many of its runs went on at once, at most
  "$NAUTO" events tail -t 'run.*' -n 2000 -o json >"$work/runs.json" && fired "$1" || return 1
  python3 - "$work/runs.json" "$work/fired.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
ids = {f["id"] for f in json.load(open(sys.argv[2]))}
going, most = 0, 0
for e in events:
    if e["body"].get("id") in ids and e["topic"] in ("run.started", "run.finished"):
        going += 1 if e["topic"] == "run.started" else -1
        most = max(most, going)
print(most)
PY
}
skipped_because() {  # skipped_because SCHEDULE TEXT: a schedule.skipped of it says TEXT
  "$NAUTO" events tail -t schedule.skipped -n 1000 -o json >"$work/skipped.json" &&
    [ "$(json_get "$work/skipped.json" "any(e['body']['schedule'] == '$1' and '$2' in e['body']['reason'] for e in d)")" = True ]
}
check "schedule add: overlap allow" "$NAUTO" schedule add slow-allow --every 2s --late-after 1s \
  --overlap allow --runbook slow_show --param device=ios1
allow_works() { sleep 1 && [ "$(most_at_once slow-allow)" -ge 2 ]; }
check "overlap allow: runs of one schedule go on at once" wait_for 30 allow_works
"$NAUTO" schedule rm slow-allow >/dev/null
check "schedule add: overlap skip (the default)" "$NAUTO" schedule add slow-skip --every 2s \
  --late-after 1s --runbook slow_show --param device=ios2
skip_works() {
  sleep 1 && fired slow-skip && [ "$(json_get "$work/fired.json" "len(d)")" -ge 2 ] &&
    [ "$(most_at_once slow-skip)" = 1 ] && skipped_because slow-skip "is still going (overlap: skip)"
}
check "overlap skip: firings during a run are skipped, never two at once" wait_for 30 skip_works
"$NAUTO" schedule rm slow-skip >/dev/null
check "schedule add: overlap queue" "$NAUTO" schedule add slow-queue --every 2s --late-after 1s \
  --overlap queue --max-queued 1 --runbook slow_show --param device=ios3
queue_works() {
  sleep 1 && fired slow-queue &&
    [ "$(json_get "$work/fired.json" "sum(f['reason'] == 'queued' for f in d)")" -ge 2 ] &&
    [ "$(most_at_once slow-queue)" = 1 ] && skipped_because slow-queue "queue holds at most 1"
}
check "overlap queue: firings wait for the run before (never two at once), past the bound skipped" \
  wait_for 45 queue_works
"$NAUTO" schedule rm slow-queue >/dev/null

# A one-shot schedule fires once, then has no next firing.
at=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
check "schedule add: one-shot at $at" "$NAUTO" schedule add once --at "$at" --runbook tick
fired_once() {
  fired once && [ "$(json_get "$work/fired.json" "len(d)")" = 1 ] &&
    [ "$(json_get "$work/fired.json" "d[0]['nominal']")" = "$at" ] &&
    "$NAUTO" schedule show once -o json >"$work/once.json" &&
    [ "$(json_get "$work/once.json" "d['next']")" = "" ] &&
    [ "$(json_get "$work/once.json" "d['last']['outcome']")" = succeeded ]
}
check "a one-shot schedule fires once, at its time, and has no next firing" wait_for 15 fired_once
one_only() { sleep 3 && fired_once; }
check "and does not fire again" one_only

# Missed policies: nautod stopped across firings.
check "schedule add: missed skip" "$NAUTO" schedule add miss-skip --every 2s --late-after 1s \
  --missed skip --runbook tick
check "schedule add: missed run_all" "$NAUTO" schedule add miss-all --every 2s --late-after 1s \
  --missed run_all --max-catch-up 3 --runbook tick
at_least_once() { fired "$1" && [ "$(json_get "$work/fired.json" "len(d)")" -ge 1 ]; }
check "both fire" wait_for 10 at_least_once miss-all
"$NAUTO" schedule show edge-facts -o json >"$work/before.json"
stop_start() {
  kill "$pid" && wait "$pid" 2>/dev/null
  pid=""
  sleep 9
  start_nautod schedule.list
}
check "nautod is stopped for 9 s (four firings) and started again" stop_start
missed_skip() {
  grep -q "schedule 'miss-skip': [0-9]* firing(s) missed" "$work/nautod.jsonl" || return 1
  python3 - "$work/nautod.jsonl" <<'PY'
import json, sys
lines = [json.loads(l).get("message", "") for l in open(sys.argv[1]) if l.strip()]
print([m for m in lines if m.startswith("schedule 'miss-skip'")][-3:])
sys.exit(1 if any(m.startswith("schedule 'miss-skip' fired (catch_up)") for m in lines) else 0)
PY
}
check "missed skip: the firings are reported missed, none caught up" wait_for 10 missed_skip
missed_run_all() {
  python3 - "$work/nautod.jsonl" <<'PY'
import json, sys
lines = [json.loads(l).get("message", "") for l in open(sys.argv[1]) if l.strip()]
catch_up = [m for m in lines if m.startswith("schedule 'miss-all' fired (catch_up)")]
missed = [m for m in lines if m.startswith("schedule 'miss-all': ")]
print(catch_up, missed)
sys.exit(0 if len(catch_up) == 3 and len(missed) == 1 else 1)
PY
}
check "missed run_all: three caught up one after another (max_catch_up), the older ones reported missed" \
  wait_for 15 missed_run_all
kept() {
  "$NAUTO" schedule show edge-facts -o json >"$work/after.json" &&
    [ "$(json_get "$work/after.json" "d['paused']")" = True ] &&
    [ "$(json_get "$work/after.json" "d['added']")" = True ] &&
    [ "$(json_get "$work/after.json" "d['last']")" = "$(json_get "$work/before.json" "d['last']")" ]
}
check "an added schedule, its pause and its last firing outlive the restart" kept
check "no module restarted" no_module_restarts
echo "scheduler cli: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
