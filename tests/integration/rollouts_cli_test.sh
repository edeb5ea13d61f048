#!/usr/bin/env bash
# Integration: staged rollouts end to end (issue 27) — 20 nauto-lab IOS devices in three sites,
# nautod with the configs module, and `nauto rollout` as a user runs it: a canary and waves with
# a health check between them; a template rollout that halts at its failure threshold and puts
# every device it changed back to its snapshot; waves by site for a runbook; a check that fails;
# pause and resume; abort; and a kill -9 of nautod in the middle of a wave, after which the
# rollout goes on without pushing any device twice.
#   rollouts_cli_test.sh NAUTOD NAUTO NAUTO_LAB
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
. "$(dirname "$0")/checks.sh"
lab_test_setup rollouts
# check_pass and check_fail, the health checks pushes and rollouts call.
shared_runbooks=$(cd "$(dirname "$0")/runbooks" && pwd)

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 31
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 8, ports: 2, site: dc1}
  - {platform: cisco_ios, count: 6, ports: 2, site: dc2}
  - {platform: cisco_ios, count: 6, ports: 2, site: dc3}
YAML
check "nauto-lab is ready" start_lab

"$NAUTO" creds keygen --key-file "$work/vault.key" >/dev/null
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {file: $work/vault.json, key_file: $work/vault.key}
  devices: {device_timeout: 20s, attempts: 2, retry_delay: 50ms}
  configs: {templates: {dir: $work/templates}}
  runbooks: {dirs: [$work/runbooks, $shared_runbooks]}
YAML
mkdir -p "$work/templates" "$work/runbooks"
cat >"$work/runbooks/set_logging.lua" <<'LUA'
return runbook {
  name = "set_logging",
  params = { target = { type = "selector" }, server = { type = "string" } },
  run = function(p)
    for _, d in ipairs(inventory.select(p.target)) do d:push("logging host " .. p.server) end
  end,
}
LUA
# A template whose line the lab refuses on ios8 and ios9 (the third wave below).
cat >"$work/templates/cisco_ios.j2" <<'J2'
ntp server 192.0.2.77
{% if name in ["ios8", "ios9"] %}frobnicate {{ name }}
{% endif %}
J2
export NAUTO_CONFIG=$work/nauto.yaml
check "nautod starts with the configs module" start_nautod configs.status
check "credentials" sh -c "printf 'lab-pass\nlab-enable\n' | '$NAUTO' creds set lab --username admin --enable"

lab_config() { control GET "/devices/$1/config"; }
# One process asks the lab about all 20 devices (a python start per device would take seconds).
lab_fleet() {  # lab_fleet configs|commands LINE: per device, whether its config holds LINE,
  # or how many times it received LINE; printed "ios1=N ios2=N ..."
  python3 - "$1" "$2" <<PY
import json, sys, urllib.request
what, line = sys.argv[1], sys.argv[2]
out = []
for i in range(1, 21):
    device = f"ios{i}"
    path = "config" if what == "configs" else "commands"
    text = urllib.request.urlopen(f"http://127.0.0.1:$base_port/devices/{device}/{path}", timeout=10).read().decode()
    if what == "configs":
        n = int(line in text.splitlines())
    else:
        n = sum(1 for c in json.loads(text) if c["command"] == line)
    out.append(f"{device}={n}")
print(" ".join(out))
PY
}
devices_with() {  # devices_with LINE: how many of the 20 running configs hold LINE
  lab_fleet configs "$1" | tr ' ' '\n' | grep -c "=1$"
}
received() {  # received DEVICE LINE: how many times DEVICE received LINE, over all its sessions
  lab_fleet commands "$2" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2
}

# 1. A push in waves: a canary, then half of the fleet at a time, a passing check between.
echo "ntp server 192.0.2.10" >"$work/ntp.cfg"
push_in_waves() {
  "$NAUTO" rollout push "$work/ntp.cfg" -t all --canary 1 --waves 50% --check check_pass \
    --why "CHG-1" -o json >"$work/r1.json" || return 1
  json_get "$work/r1.json" 'd["state"], d["ok"], d["failed"], [len(w) for w in d["waves"]], d["waves"][0], d["waves"][1][:3]'
  [ "$(json_get "$work/r1.json" 'd["state"], d["ok"], d["failed"], [len(w) for w in d["waves"]], d["waves"][0], d["waves"][1][:3]')" = \
    "finished 20 0 [1, 10, 9] ['ios1'] ['ios2', 'ios3', 'ios4']" ] &&
    [ "$(devices_with "ntp server 192.0.2.10")" = 20 ]
}
check "a push in waves (canary 1, then 50%) with a check between reaches all 20 devices" push_in_waves
listed() {
  "$NAUTO" rollout list >"$work/list.txt" && cat "$work/list.txt" &&
    grep -q "$(json_get "$work/r1.json" 'd["id"]') .* push *finished *20 *0 *all" "$work/list.txt"
}
check "rollout list shows it" listed
status_table() {
  "$NAUTO" rollout status "$(json_get "$work/r1.json" 'd["id"]')" >"$work/status1.txt" &&
    cat "$work/status1.txt" && grep -q "finished (wave 3 of 3, 20 ok, 0 failed" "$work/status1.txt" &&
    grep -q "^1 *ios1 *ok" "$work/status1.txt" && grep -q "^3 *ios20 *ok" "$work/status1.txt"
}
check "rollout status shows every device by wave" status_table

# 2. The Done-when case: a template rollout of 20 devices whose third wave fails on 2 devices,
# with 1 failure tolerated: it halts there and puts the first waves back.
halt_and_roll_back() {
  "$NAUTO" rollout template -t all --canary 1 --waves 25% --max-fail 1 -o json >"$work/r2.json"
  [ $? = 3 ] || return 1
  json_get "$work/r2.json" 'd["state"], d["reason"], d["ok"], d["failed"], d["rolled_back"]'
  json_get "$work/r2.json" 'sorted((n, e["status"]) for n, e in d["devices"].items() if e["status"] != "rolled_back")'
  # Waves: [ios1] [ios2..ios6] [ios7..ios11] [ios12..ios16] [ios17..ios20].
  [ "$(json_get "$work/r2.json" 'd["state"], d["ok"], d["failed"], d["rolled_back"]')" = "rolled_back 9 2 11" ] &&
    json_get "$work/r2.json" 'd["reason"]' | grep -q "2 devices failed, more than the 1 tolerated" &&
    [ "$(json_get "$work/r2.json" 'sorted(n for n, e in d["devices"].items() if e["status"] == "pending")')" = \
      "['ios12', 'ios13', 'ios14', 'ios15', 'ios16', 'ios17', 'ios18', 'ios19', 'ios20']" ] &&
    json_get "$work/r2.json" 'd["devices"]["ios8"]["error"]' | grep -q "Invalid input"
}
check "a template rollout halts at the failure threshold (2 > 1) and rolls back waves 1-3" halt_and_roll_back
first_waves_back() {
  # The canary and the second wave had the template's line; now none has it. Later waves never
  # received it at all. The first rollout's line is still everywhere.
  [ "$(devices_with "ntp server 192.0.2.77")" = 0 ] &&
    [ "$(received ios1 "ntp server 192.0.2.77")" = 1 ] &&
    [ "$(received ios12 "ntp server 192.0.2.77")" = 0 ] &&
    [ "$(received ios20 "ntp server 192.0.2.77")" = 0 ] &&
    [ "$(devices_with "ntp server 192.0.2.10")" = 20 ] &&
    ! lab_config ios8 | grep -q frobnicate
}
check "the devices changed are back at their snapshot, the rest never touched" first_waves_back
archived_rollback() {
  # A backup after the rollback: it finds each device as its snapshot, so no new version.
  "$NAUTO" config backups -o json >"$work/b2.json" &&
    [ "$(json_get "$work/b2.json" '[(b["devices"], b["changed"]) for b in d["backups"] if b["why"].startswith("rollback of rollout")]')" = "[(11, 0)]" ]
}
check "a backup after the rollback finds the 11 devices as their snapshots" wait_for 20 archived_rollback

# 3. Waves by site for a runbook, one run per device.
by_site() {
  "$NAUTO" rollout runbook set_logging -p server=192.0.2.5 -t all --wave-by site -o json >"$work/r3.json" || return 1
  json_get "$work/r3.json" 'd["state"], [len(w) for w in d["waves"]]'
  [ "$(json_get "$work/r3.json" 'd["state"], d["ok"], [len(w) for w in d["waves"]], d["waves"][1][0]')" = \
    "finished 20 [8, 6, 6] ios9" ] && [ "$(devices_with "logging host 192.0.2.5")" = 20 ]
}
check "a runbook rollout by site: one wave per site (8, 6, 6), a run per device" by_site

# 4. A failing health check halts after the canary and rolls it back.
echo "ntp server 192.0.2.20" >"$work/ntp20.cfg"
failing_check() {
  "$NAUTO" rollout push "$work/ntp20.cfg" -t all --canary 1 --waves 50% --check check_fail -o json >"$work/r4.json"
  [ $? = 3 ] || return 1
  json_get "$work/r4.json" 'd["state"], d["reason"]'
  [ "$(json_get "$work/r4.json" 'd["state"], d["ok"], d["rolled_back"]')" = "rolled_back 1 1" ] &&
    json_get "$work/r4.json" 'd["reason"]' | grep -q "the health check after wave 1 (run .*) ended failed" &&
    [ "$(devices_with "ntp server 192.0.2.20")" = 0 ] && [ "$(received ios2 "ntp server 192.0.2.20")" = 0 ]
}
check "a failing health check halts after the canary and puts it back" failing_check

# 5. Pause and resume: each device answers slowly, so the pause lands during the canary.
slow() { for d in "$@"; do control PUT "/devices/$d/faults" '{"latency_ms": 150}' >/dev/null || return 1; done; }
fast() { for d in "$@"; do control PUT "/devices/$d/faults" '{}' >/dev/null || return 1; done; }
check "ios1 answers 150 ms late" slow ios1
echo "ntp server 192.0.2.30" >"$work/ntp30.cfg"
paused() {
  id=$("$NAUTO" rollout push "$work/ntp30.cfg" -t all --canary 1 --waves 100% --detach) || return 1
  echo "$id" >"$work/r5.id"
  "$NAUTO" rollout pause "$id" || return 1
  wait_for 60 sh -c "'$NAUTO' rollout status $id -o json | grep -q '\"state\": *\"paused\"'" || return 1
  "$NAUTO" rollout status "$id" -o json >"$work/r5.json"
  [ "$(json_get "$work/r5.json" 'd["state"], d["ok"], d["wave"], d["devices"]["ios2"]["status"]')" = "paused 1 1 pending" ] &&
    [ "$(devices_with "ntp server 192.0.2.30")" = 1 ]
}
check "a pause holds the rollout after its canary" paused
resumed() {
  "$NAUTO" rollout resume "$(cat "$work/r5.id")" || return 1
  wait_for 60 sh -c "'$NAUTO' rollout status $(cat "$work/r5.id") -o json | grep -q '\"state\": *\"finished\"'" &&
    [ "$(devices_with "ntp server 192.0.2.30")" = 20 ]
}
check "resume goes on to the end" resumed

# 6. Abort during the second wave: what was changed goes back.
check "the second wave answers slowly" slow ios2 ios3 ios4 ios5 ios6 ios7 ios8 ios9 ios10 ios11
echo "ntp server 192.0.2.40" >"$work/ntp40.cfg"
aborted() {
  id=$("$NAUTO" rollout push "$work/ntp40.cfg" -t all --canary 1 --waves 10 --detach) || return 1
  wait_for 60 sh -c "'$NAUTO' rollout status $id -o json | grep -q '\"status\": *\"in_flight\"'" || return 1
  "$NAUTO" rollout abort "$id" || return 1
  wait_for 90 sh -c "'$NAUTO' rollout status $id -o json | grep -q '\"state\": *\"rolled_back\"'" || return 1
  "$NAUTO" rollout status "$id" -o json >"$work/r6.json"
  json_get "$work/r6.json" 'd["reason"], d["rolled_back"]'
  json_get "$work/r6.json" 'd["reason"]' | grep -q "aborted by" &&
    [ "$(devices_with "ntp server 192.0.2.40")" = 0 ] && [ "$(received ios20 "ntp server 192.0.2.40")" = 0 ]
}
check "abort stops the rollout and puts the changed devices back" aborted

# 7. kill -9 in the middle of a wave; the push rollout waits for its config, then goes on, and
# no device receives the change twice. The second wave answers so slowly (each reply 600 ms
# late) that it is in flight for seconds, however slowly this script polls.
slower() { for d in "$@"; do control PUT "/devices/$d/faults" '{"latency_ms": 600}' >/dev/null || return 1; done; }
check "the second wave answers slower" slower ios2 ios3 ios4 ios5 ios6 ios7 ios8 ios9 ios10 ios11
echo "ntp server 192.0.2.50" >"$work/ntp50.cfg"
killed_mid_wave() {
  id=$("$NAUTO" rollout push "$work/ntp50.cfg" -t all --canary 1 --waves 10 --max-fail 50% --detach) || return 1
  echo "$id" >"$work/r7.id"
  wait_for 60 sh -c "'$NAUTO' rollout status $id -o json | grep -q '\"status\": *\"in_flight\"'" || return 1
  wait_for 60 sh -c "'$NAUTO' rollout status $id -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"wave\"] >= 1 and any(e[\"status\"] == \"in_flight\" for e in d[\"devices\"].values()) else 1)'" || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  pid=""
  start_nautod configs.status || return 1
  "$NAUTO" rollout status "$id" -o json >"$work/r7.json"
  json_get "$work/r7.json" 'd["state"], d["reason"], d["failed"]'
  [ "$(json_get "$work/r7.json" 'd["state"]')" = paused ] &&
    json_get "$work/r7.json" 'd["reason"]' | grep -q "keeps no config"
}
check "after a kill -9 mid-wave, a push rollout waits paused for its config" killed_mid_wave
wrong_config() {
  ! "$NAUTO" rollout resume "$(cat "$work/r7.id")" --config "$work/ntp40.cfg" 2>"$work/wrong.err" &&
    cat "$work/wrong.err" && grep -q "SHA-256 differs" "$work/wrong.err" &&
    ! "$NAUTO" rollout resume "$(cat "$work/r7.id")" 2>"$work/none.err" && grep -q "give the same config again" "$work/none.err"
}
check "resume refuses a missing or different config" wrong_config
goes_on() {
  id=$(cat "$work/r7.id")
  "$NAUTO" rollout resume "$id" --config "$work/ntp50.cfg" || return 1
  wait_for 90 sh -c "'$NAUTO' rollout status $id -o json | grep -q '\"state\": *\"finished\"'" || return 1
  "$NAUTO" rollout status "$id" -o json >"$work/r7b.json"
  json_get "$work/r7b.json" 'd["ok"], d["failed"], sorted(n for n, e in d["devices"].items() if e["status"] == "interrupted")'
  # Interrupted devices count as failures; with the rest ok, every device is accounted for.
  [ "$(json_get "$work/r7b.json" 'd["ok"] + d["failed"], d["failed"] == sum(1 for e in d["devices"].values() if e["status"] == "interrupted") > 0')" = "20 True" ] &&
    lab_fleet commands "ntp server 192.0.2.50" >"$work/received.txt" && cat "$work/received.txt" &&
    ! grep -qE "=([2-9]|[0-9]{2,})( |$)" "$work/received.txt" &&
    # Every device after the interrupted wave got it.
    [ "$(received ios20 "ntp server 192.0.2.50")" = 1 ]
}
check "resumed with its config, it finishes; no device received the change twice" goes_on
check "no module was restarted" no_module_restarts
fast ios1 ios2 ios3 ios4 ios5 ios6 ios7 ios8 ios9 ios10 ios11 >/dev/null

echo "1..$count"
[ "$failed" = 0 ]
