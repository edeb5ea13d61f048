#!/usr/bin/env bash
# Integration: the config archive end to end (issue 27) — nauto-lab devices of every CLI
# platform, nautod with the configs module, and `nauto config` as a user runs it: three backups
# with one change between them, history, versions by number and day, unified and hierarchical
# diffs, secrets redacted (and kept when asked), volatile lines ignored, search, drift, events,
# and a backup interrupted by kill -9 of nautod, archived at the next start.
#   configs_cli_test.sh NAUTOD NAUTO NAUTO_LAB
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
. "$(dirname "$0")/checks.sh"
lab_test_setup configs
# check_pass and check_fail, the health checks pushes and rollouts call.
shared_runbooks=$(cd "$(dirname "$0")/runbooks" && pwd)

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 27
# A Junos "minute" of commit confirmed lasts 12 s here, just over the tests' 10 s windows.
minute_ms: 12000
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 2, ports: 4}
  - {platform: arista_eos, count: 1, ports: 4}
  - {platform: cisco_nxos, count: 1, ports: 4}
  - {platform: juniper_junos, count: 1, ports: 4}
YAML
check "nauto-lab is ready" start_lab

"$NAUTO" creds keygen --key-file "$work/vault.key" >/dev/null
closed_window="$(date -u -d '+2 hours' +%H):00-$(date -u -d '+3 hours' +%H):00"
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {file: $work/vault.json, key_file: $work/vault.key}
  devices:
    device_timeout: 20s
    attempts: 2
    retry_delay: 50ms
    # NX-OS may change only in a daily hour that starts two hours from now: closed for the test.
    change_windows: [{match: {platform: cisco_nxos}, windows: ["$closed_window"]}]
  configs:
    keep_versions: 50
    git: {path: $work/git/configs.git, remote: $work/git/remote.git}
    templates: {dir: $work/templates}
  runbooks: {dirs: [$work/runbooks, $shared_runbooks]}
YAML
mkdir -p "$work/templates" "$work/runbooks"
git init -q --bare "$work/git/remote.git"
export NAUTO_CONFIG=$work/nauto.yaml
check "nautod starts with the configs module" start_nautod configs.status
check "credentials" sh -c "printf 'lab-pass\nlab-enable\n' | '$NAUTO' creds set lab --username admin --enable"

backup() {  # backup WHY EXPECTED-CHANGED EXPECTED-UNCHANGED
  "$NAUTO" config backup --why "$1" -o json >"$work/backup.json" || return 1
  cat "$work/backup.json"
  [ "$(json_get "$work/backup.json" 'd["state"], d["devices"], d["changed"], d["unchanged"], d["failed"]')" = \
    "done 5 $2 $3 0" ]
}
check "the first backup archives version 1 of every device" backup first 5 0
# NX-OS prints the time of the fetch (!Time:), IOS when the config last changed: volatile lines.
check "a second backup with nothing changed stores nothing (volatile lines ignored)" backup second 0 5

# One change, made at the console: Gi0/2 of ios1 is brought up (its shutdown line goes).
check "a change on ios1" control POST /devices/ios1/interface '{"interface": "GigabitEthernet0/2", "shutdown": false}'
check "the third backup archives ios1 alone" backup third 1 4
history_two() {
  "$NAUTO" config history ios1 -o json >"$work/history.json" &&
    [ "$(json_get "$work/history.json" '[(v["version"], v["why"], v["removed"]) for v in d["versions"]]')" = \
      "[(2, 'third', 1), (1, 'first', 0)]" ] &&
    [ "$(json_get "$work/history.json" 'd["versions"][0]["by"]')" = "$(id -un)" ] &&
    "$NAUTO" config history ios1 | grep -q "^2 .* third .*+0 -1"
}
check "ios1 has 2 versions, with why, who and the change" history_two
unified_diff() {
  "$NAUTO" config diff ios1 >"$work/diff.txt" && cat "$work/diff.txt" &&
    grep -q "^--- ios1@1" "$work/diff.txt" && grep -q "^+++ ios1@2" "$work/diff.txt" &&
    [ "$(grep -c '^[-+][^-+]' "$work/diff.txt")" = 1 ] &&
    grep -q "^-  *shutdown" "$work/diff.txt" && grep -q "^ interface GigabitEthernet0/2" "$work/diff.txt"
}
check "the unified diff is the one line" unified_diff
hierarchical_diff() {
  "$NAUTO" config diff ios1 @1 @2 --hierarchical >"$work/hdiff.txt" && cat "$work/hdiff.txt" &&
    [ "$(cat "$work/hdiff.txt")" = "$(printf '  interface GigabitEthernet0/2\n-  shutdown')" ]
}
check "the hierarchical diff shows the line under its interface" hierarchical_diff
redacted() {
  "$NAUTO" config show ios1 @1 >"$work/ios1.txt" && "$NAUTO" config show eos3 >"$work/eos3.txt" &&
    "$NAUTO" config show nxos4 >"$work/nxos4.txt" &&
    grep -q "^enable secret 9 <redacted>$" "$work/ios1.txt" &&
    grep -q "^username admin privilege 15 secret 9 <redacted>$" "$work/ios1.txt" &&
    grep -q "secret sha512 <redacted>$" "$work/eos3.txt" &&
    grep -q "^username admin password 5 <redacted> role network-admin" "$work/nxos4.txt" &&
    ! grep -q 'lab\$' "$work/ios1.txt" "$work/eos3.txt" "$work/nxos4.txt" &&
    ! grep -q "Current configuration\|Last configuration change" "$work/ios1.txt" &&
    ! grep -q "^!Time:" "$work/nxos4.txt" && grep -q "^hostname ios1" "$work/ios1.txt"
}
check "secrets are redacted and volatile lines dropped in what is archived" redacted
by_day() {
  "$NAUTO" config show ios1 "@$(date -u +%F)" -o json >"$work/today.json" &&
    [ "$(json_get "$work/today.json" 'd["version"]')" = 2 ] &&
    "$NAUTO" config show ios1 previous -o json >"$work/prev.json" &&
    [ "$(json_get "$work/prev.json" 'd["version"]')" = 1 ]
}
check "versions by day and by name" by_day
unknown_version() {
  ! "$NAUTO" config show ios1 @9 2>"$work/unknown.err" && cat "$work/unknown.err" &&
    grep -q "no version 9 of ios1: ios1 has versions 1 (.*) to 2 (.*); \`nauto config history ios1\` lists them" "$work/unknown.err" &&
    ! "$NAUTO" config show ios1 @yesterday 2>"$work/bad.err" && grep -q "give a version number" "$work/bad.err"
}
check "an unknown version says which versions exist" unknown_version
search() {
  "$NAUTO" config search '^username admin' >"$work/search.txt" 2>"$work/search.err" && cat "$work/search.txt" "$work/search.err" &&
    [ "$(wc -l <"$work/search.txt")" = 4 ] && grep -q "^ios1@2:[0-9]*: username admin privilege 15 secret 9 <redacted>" "$work/search.txt" &&
    grep -q "4 lines in 5 devices searched" "$work/search.err" &&
    "$NAUTO" config search 'shutdown' --target name=ios1 >"$work/one.txt" 2>&1 && cat "$work/one.txt" &&
    grep -q "^ios1@2:" "$work/one.txt" && ! grep -v "^ios1@2:\|devices searched" "$work/one.txt" &&
    ! "$NAUTO" config search '([unclosed' 2>"$work/regex.err" && cat "$work/regex.err" &&
    grep -q "configs.search.pattern" "$work/regex.err"
}
check "search across the latest configs, by selector, with bad patterns refused" search
events() {
  "$NAUTO" events tail -t config.changed -n 100 -o json >"$work/changed.json" &&
    [ "$(json_get "$work/changed.json" '[(e["body"]["device"], e["body"]["version"]) for e in d if e["body"]["why"] == "third"]')" = "[('ios1', 2)]" ] &&
    json_get "$work/changed.json" '[e["body"]["diff"] for e in d if e["body"]["why"] == "third"][0]' >"$work/changed-diff.txt" &&
    grep -q "^- *shutdown" "$work/changed-diff.txt" &&
    "$NAUTO" events tail -t config.backup.finished -n 100 -o json >"$work/finished.json" &&
    [ "$(json_get "$work/finished.json" 'len(d)')" = 3 ]
}
check "config.changed carries the diff; config.backup.finished for each backup" events

git_history() {
  local remote="$work/git/remote.git"
  wait_for 10 sh -c "git --git-dir='$remote' log --format=%s main | grep -q third" || return 1
  git --git-dir="$remote" log --format='%an|%s' main >"$work/git-log.txt" && cat "$work/git-log.txt" &&
    [ "$(wc -l <"$work/git-log.txt")" = 2 ] &&
    grep -q "^$(id -un)|backup .*: third$" "$work/git-log.txt" && sed -n 2p "$work/git-log.txt" | grep -q ": first$" &&
    [ "$(git --git-dir="$remote" ls-tree --name-only main | tr '\n' ' ')" = "eos3 ios1 ios2 junos5 nxos4 " ] &&
    git --git-dir="$remote" show main:ios1 >"$work/git-ios1.txt" && "$NAUTO" config show ios1 >"$work/ios1-latest.txt" &&
    cmp "$work/git-ios1.txt" "$work/ios1-latest.txt" &&
    git --git-dir="$remote" log -p --format=%s main -- ios1 >"$work/git-patch.txt" &&
    grep -q "^- *shutdown" "$work/git-patch.txt" &&
    "$NAUTO" config backups -o json >"$work/backups.json" &&
    [ "$(json_get "$work/backups.json" '[b.get("git", {}).get("pushed") for b in d["backups"]]')" = "[True, None, True]" ]
}
check "Git holds the same history: a commit per backup that changed something, pushed to a bare remote" git_history

# Drift: ios2 changed at its console and not backed up; everything else as archived.
check "a change on ios2" control POST /devices/ios2/interface '{"interface": "GigabitEthernet0/3", "shutdown": false}'
drift() {
  "$NAUTO" config drift -o json >"$work/drift.json"
  [ $? = 3 ] && cat "$work/drift.json" &&
    [ "$(json_get "$work/drift.json" 'sorted((x["device"], x["state"]) for x in d["devices"])')" = \
      "[('eos3', 'same'), ('ios1', 'same'), ('ios2', 'drifted'), ('junos5', 'same'), ('nxos4', 'same')]" ] &&
    "$NAUTO" events tail -t config.drift -n 10 -o json >"$work/drift-events.json" &&
    [ "$(json_get "$work/drift-events.json" '[e["body"]["device"] for e in d]')" = "['ios2']" ] &&
    "$NAUTO" config history ios2 -o json | grep -q '"version": 1' &&
    ! "$NAUTO" config history ios2 -o json | grep -q '"version": 2'
}
check "drift finds ios2 alone, publishes config.drift and archives nothing" drift

kept() {
  "$NAUTO" config backup --target name=eos3 --keep-secrets --why keep >/dev/null &&
    "$NAUTO" config show eos3 | grep -q 'secret sha512 \$6\$lab\$'
}
check "keep_secrets archives the secrets as the device has them" kept
no_secrets_at_rest() {
  # Everything the store holds: the jobs' results, the journal's job.device events, the archive.
  ! grep -a -q 'lab\$' "$work/data"/*.mdb || [ "$(grep -a -c 'sha512 \$6\$lab\$' "$work/data"/*.mdb)" -gt 0 ] &&
    ! grep -a -q '\$9\$lab\$' "$work/data"/*.mdb
}
check "no redacted secret anywhere in the store" no_secrets_at_rest

# kill -9 of nautod while a backup runs: its job is interrupted, and the next start archives
# what was fetched and closes the backup's record.
interrupted() {
  control PUT /devices/junos5/faults '{"latency_ms": 4000}' >/dev/null &&
    control POST /devices/ios1/interface '{"interface": "GigabitEthernet0/3", "shutdown": false}' >/dev/null &&
    "$NAUTO" config backup --why interrupted --detach >"$work/id.txt" || return 1
  local id
  id=$(cat "$work/id.txt")
  # ios1's config is in the job's results once its device is done; then the kill.
  wait_for 20 sh -c "'$NAUTO' job logs $id --device ios1 -o json | grep -q '\"status\": \"ok\"'" || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  pid=""
  control PUT /devices/junos5/faults '{"latency_ms": 0}' >/dev/null
  start_nautod configs.status || return 1
  wait_for 20 sh -c "'$NAUTO' config backups -o json | grep -q '\"state\": \"done\"' &&
    '$NAUTO' config backups -o json | python3 -c 'import json,sys; b=json.load(sys.stdin)[\"backups\"][0]; sys.exit(0 if b[\"id\"]==\"$id\" and b[\"state\"]==\"done\" else 1)'" || return 1
  "$NAUTO" config history ios1 -o json >"$work/h3.json" &&
    [ "$(json_get "$work/h3.json" 'd["versions"][0]["version"], d["versions"][0]["why"]')" = "3 interrupted" ]
}
check "a backup cut by kill -9 is archived at the next start" interrupted
# Intended configs: IOS routers' template is each one's archived config (an include named
# by the host) plus an NTP server; NX-OS' uses a variable the inventory does not have.
cat >"$work/templates/cisco_ios.j2" <<'J2'
{# the archived config of the device, then what every IOS router must have #}
{% include inventory_hostname ~ '.cfg' %}
{% for server in ['10.1.1.1'] %}
ntp server {{ server }}
{% endfor %}
J2
printf 'hostname {{ name }}\n{{ vlan }}\n' >"$work/templates/cisco_nxos.j2"
render() {
  "$NAUTO" config show ios1 >"$work/templates/ios1.cfg" && "$NAUTO" config show ios2 @1 >"$work/templates/ios2.cfg" &&
    "$NAUTO" config render ios1 >"$work/rendered.txt" &&
    [ "$(tail -1 "$work/rendered.txt")" = "ntp server 10.1.1.1" ] &&
    [ "$(head -n -1 "$work/rendered.txt")" = "$(cat "$work/templates/ios1.cfg")" ] &&
    ! "$NAUTO" config render nxos4 2>"$work/render.err" && cat "$work/render.err" &&
    grep -q "cisco_nxos.j2:2: nxos4: 'vlan' is undefined" "$work/render.err" &&
    ! "$NAUTO" config render eos3 2>"$work/render2.err" && grep -q "no template 'arista_eos.j2'" "$work/render2.err"
}
check "a template renders with the inventory's variables; errors name the file, line and variable" render
plan() {
  "$NAUTO" config plan -t 'platform=cisco_ios' >"$work/plan.txt"
  [ $? = 3 ] && cat "$work/plan.txt" &&
    "$NAUTO" config plan -t 'platform=cisco_ios' -o json >"$work/plan.json"
  [ "$(json_get "$work/plan.json" '[(x["device"], x["state"]) for x in d["devices"]]')" = "[('ios1', 'changes'), ('ios2', 'changes')]" ] &&
    # ios1: only the NTP line (its secrets, redacted on both sides, are no change); ios2 also
    # gets back the shutdown its console took away (its template holds version 1).
    [ "$(json_get "$work/plan.json" '[l for l in d["devices"][0]["diff"].splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]')" = "['+ntp server 10.1.1.1']" ] &&
    [ "$(json_get "$work/plan.json" '[l.strip() for l in d["devices"][1]["diff"].splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]')" = "['+ shutdown', '+ntp server 10.1.1.1']" ] &&
    ! grep -q 'lab\$' "$work/plan.json" &&
    "$NAUTO" config history ios1 -o json | grep -q '"version": 3' && ! "$NAUTO" config history ios1 -o json | grep -q '"version": 4'
}
check "plan shows each device's diff to its intended config, secrets redacted, nothing changed" plan
drift_intended() {
  "$NAUTO" config drift --intended -t 'platform=cisco_ios' -o json >"$work/drift-i.json"
  [ $? = 3 ] && cat "$work/drift-i.json" && [ "$(json_get "$work/drift-i.json" '[(x["device"], x["state"]) for x in d["devices"]]')" = "[('ios1', 'drifted'), ('ios2', 'drifted')]" ] &&
    "$NAUTO" events tail -t config.drift -n 10 -o json >"$work/drift-i-events.json" && cat "$work/drift-i-events.json" &&
    [ "$(json_get "$work/drift-i-events.json" '[(e["body"]["device"], e["body"]["against"]) for e in d]')" = "[('ios2', 'archive'), ('ios1', 'intended'), ('ios2', 'intended')]" ]
}
check "drift against the intended configs" drift_intended
# Safe pushes. A rollback to an archived version keeps the device's real secrets.
lab_config() { control GET "/devices/$1/config"; }
rollback_to_version() {
  "$NAUTO" config rollback ios1 --to 1 >"$work/rollback.txt" && cat "$work/rollback.txt" &&
    grep -q "ios1 is back at version 1" "$work/rollback.txt" &&
    lab_config ios1 >"$work/ios1-live.txt" && grep -q 'enable secret 9 \$9\$lab\$' "$work/ios1-live.txt" &&
    ! grep -q "<redacted>" "$work/ios1-live.txt" &&
    wait_for 10 sh -c "'$NAUTO' config history ios1 -o json | grep -q 'rollback to version 1'" &&
    [ -z "$("$NAUTO" config diff ios1 @1 latest)" ] &&
    "$NAUTO" config drift -t name=ios1 -o json | grep -q '"state": "same"'
}
check "rollback --to puts a device back to a version, secrets restored from the device" rollback_to_version
printf 'ntp server 10.9.9.9\n' >"$work/ntp.cfg"
failed_check() {
  "$NAUTO" job push -t name=ios2 --config "$work/ntp.cfg" --commit-confirm 1m --check check_fail >"$work/push1.txt"
  [ $? = 3 ] && cat "$work/push1.txt" && grep -q ": rolled_back$" "$work/push1.txt" &&
    grep -q "check runbook's run .* ended failed" "$work/push1.txt" &&
    ! lab_config ios2 | grep -q "ntp server 10.9.9.9"
}
check "a commit-confirm push whose check fails is rolled back" failed_check
passed_check() {
  "$NAUTO" config push "$work/ntp.cfg" -t name=ios2 --confirm 1m --check check_pass >"$work/push2.txt" &&
    cat "$work/push2.txt" && grep -q ": confirmed$" "$work/push2.txt" &&
    lab_config ios2 | grep -q "ntp server 10.9.9.9"
}
check "a commit-confirm push whose check passes stays" passed_check
manual_confirm() {
  "$NAUTO" config push "$work/ntp.cfg" -t name=eos3 --confirm 1m -o json >"$work/push3.json" &&
    [ "$(json_get "$work/push3.json" 'd["state"]')" = waiting ] &&
    "$NAUTO" config confirm "$(json_get "$work/push3.json" 'd["id"]')" | grep -q ": confirmed$" &&
    ! "$NAUTO" config confirm "$(json_get "$work/push3.json" 'd["id"]')" 2>"$work/confirm.err" &&
    grep -q "only a push waiting in its confirm window can be confirmed" "$work/confirm.err" &&
    lab_config eos3 | grep -q "ntp server 10.9.9.9"
}
check "a push waiting in its window is confirmed by hand" manual_confirm
killed_in_window() {
  "$NAUTO" config push "$work/ntp.cfg" -t name=ios1 --confirm 10s -o json >"$work/push4.json" &&
    [ "$(json_get "$work/push4.json" 'd["state"]')" = waiting ] && lab_config ios1 | grep -q "ntp server 10.9.9.9" || return 1
  local id
  id=$(json_get "$work/push4.json" 'd["id"]')
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  pid=""
  until_window_ended "$work/push4.json" || return 1  # the window ends while nautod is down
  start_nautod configs.status || return 1
  rolled_back() {
    "$NAUTO" config pushes -o json >"$work/pushes.json" &&
      [ "$(json_get "$work/pushes.json" '[(p["state"], p.get("rollback_reason", "")[:30]) for p in d["pushes"] if p["id"] == "'"$id"'"]')" = "[('rolled_back', 'nautod restarted after the con')]" ]
  }
  wait_for 30 rolled_back &&
    ! lab_config ios1 | grep -q "ntp server 10.9.9.9"
}
check "a commit-confirm push cut by kill -9 is rolled back at the next start" killed_in_window
# Junos keeps the window itself (commit confirmed): cut off from nautod, it rolls back alone.
cat >"$work/junos-desc.xml" <<'XML'
<configuration><interfaces><interface><name>ge-0/0/2</name><description>native-confirm</description></interface></interfaces></configuration>
XML
junos_has_it() { lab_config junos5 | grep -q "native-confirm"; }
junos_native_rollback() {
  "$NAUTO" config push "$work/junos-desc.xml" -t name=junos5 --confirm 10s -o json >"$work/push5.json" || return 1
  cat "$work/push5.json"
  [ "$(json_get "$work/push5.json" 'd["state"], d["devices"][0]["native_confirm"]')" = "waiting True" ] &&
    junos_has_it || return 1
  local id
  id=$(json_get "$work/push5.json" 'd["id"]')
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  pid=""
  # nautod is down: only the device's own deadline (one lab minute) can take it back.
  wait_for 30 eval '! junos_has_it' || return 1
  start_nautod configs.status || return 1
  junos_rolled() {
    "$NAUTO" config pushes -o json >"$work/pushes.json" &&
      [ "$(json_get "$work/pushes.json" '[p["state"] for p in d["pushes"] if p["id"] == "'"$id"'"]')" = "['rolled_back']" ]
  }
  wait_for 30 junos_rolled && ! junos_has_it
}
check "Junos commits confirmed: with nautod killed in the window, the device rolls back by itself" junos_native_rollback
junos_native_confirm() {
  local started=$SECONDS
  "$NAUTO" config push "$work/junos-desc.xml" -t name=junos5 --confirm 10s -o json >"$work/push6.json" &&
    "$NAUTO" config confirm "$(json_get "$work/push6.json" 'd["id"]')" | grep -q ": confirmed$" || return 1
  # Past the device's own deadline: the confirmation's commit reached it.
  local left=$((started + 14 - SECONDS))
  [ "$left" -le 0 ] || sleep "$left"
  junos_has_it
}
check "a confirmation sends Junos the commit that confirms it" junos_native_confirm
# Commit-confirm from runbooks: the run that pushes is the check.
cat >"$work/runbooks/confirm_run.lua" <<'LUA'
return runbook {
  name = "confirm_run",
  params = { device = { type = "device" }, verdict = { type = "string", default = "pass" } },
  run = function(p)
    local r = device(p.device):push("ntp server 10.8.8.8", { commit_confirm = "1m" })
    if p.verdict ~= "pass" then fail("the post-check failed on " .. p.device) end
    return { push_id = r.push_id, changed = r.changed, state = r.state }
  end,
}
LUA
cat >"$work/runbooks/confirm_yaml.yaml" <<'YAML'
name: confirm_yaml
params:
  - {name: device, type: device, required: true}
steps:
  - name: NTP
    type: config
    lines: ["ntp server 10.6.6.6"]
    commit_confirm: 1m
  - name: must be wrong
    type: assert
    that: "1 == 2"
    message: "{{ device }}: the post-check failed"
YAML
push_state() {  # push_state ID: the push's state and who decided it
  "$NAUTO" config pushes -o json >"$work/pushes.json" &&
    json_get "$work/pushes.json" '[(p["state"], p.get("confirmed_by", ""), p.get("rollback_reason", "")) for p in d["pushes"] if p["id"] == "'"$1"'"][0]'
}
run_confirms() {
  "$NAUTO" run confirm_run -p device=ios2 -o json >"$work/crun.json" || return 1
  cat "$work/crun.json"
  local id run
  id=$(json_get "$work/crun.json" 'd["result"]["push_id"]')
  run=$(json_get "$work/crun.json" 'd["id"]')
  [ "$(json_get "$work/crun.json" 'd["result"]["changed"], d["result"]["state"]')" = "True waiting" ] &&
    wait_for 20 sh -c "'$NAUTO' config pushes -o json | grep -q '\"confirmed_by\": *\"run $run\"'" &&
    push_state "$id" && lab_config ios2 | grep -q "ntp server 10.8.8.8"
}
check "d:push{commit_confirm} stays when the run succeeds (the run confirms it)" run_confirms
run_fails() {
  "$NAUTO" run confirm_run -p device=ios1 -p verdict=fail -o json >"$work/crun2.json"
  cat "$work/crun2.json"
  [ "$(json_get "$work/crun2.json" 'd["state"]')" = failed ] || return 1
  rolled() {
    "$NAUTO" config pushes -o json >"$work/pushes.json" &&
      json_get "$work/pushes.json" '[(p["state"], p.get("rollback_reason", "")) for p in d["pushes"] if p["target"] == "name=ios1"][0]' |
      grep -q "rolled_back.*which pushed it, ended failed"
  }
  # At once, not at the end of the minute's window.
  wait_for 20 rolled && ! lab_config ios1 | grep -q "ntp server 10.8.8.8"
}
check "d:push{commit_confirm} is rolled back at once when the run fails" run_fails
yaml_fails() {
  "$NAUTO" run confirm_yaml -p device=eos3 -o json >"$work/crun3.json"
  cat "$work/crun3.json"
  [ "$(json_get "$work/crun3.json" 'd["state"]')" = failed ] || return 1
  rolled() {
    "$NAUTO" config pushes -o json >"$work/pushes.json" &&
      json_get "$work/pushes.json" '[p["state"] for p in d["pushes"] if p["target"] == "name=eos3"][0]' | grep -q rolled_back
  }
  wait_for 20 rolled && ! lab_config eos3 | grep -q "10.6.6.6"
}
check "a YAML config step with commit_confirm is rolled back when a later step fails" yaml_fails
# A rollout over every platform: one wave per platform, a run of check_pass per device, each
# wave's configs archived first.
every_platform() {
  "$NAUTO" rollout runbook check_pass -t all --wave-by platform -o json >"$work/rollout.json" || return 1
  [ "$(json_get "$work/rollout.json" 'd["state"], d["ok"], d["waves"]')" = \
    "finished 5 [['eos3'], ['ios1', 'ios2'], ['nxos4'], ['junos5']]" ] &&
    [ "$(json_get "$work/rollout.json" 'sorted(e["version"] > 0 for e in d["devices"].values())')" = "[True, True, True, True, True]" ]
}
check "a rollout over IOS, EOS, NX-OS and Junos goes wave by wave, each device snapshotted" every_platform
# Change windows and dangerous commands.
window_refuses() {
  ! "$NAUTO" job push -t name=nxos4 --config "$work/ntp.cfg" 2>"$work/window.err" && cat "$work/window.err" &&
    grep -q "1 device(s) outside their change windows: nxos4 ($closed_window UTC)" "$work/window.err" &&
    ! lab_config nxos4 | grep -q "ntp server 10.9.9.9" &&
    "$NAUTO" job push -t name=nxos4 --config "$work/ntp.cfg" --dry-run >/dev/null &&
    ! "$NAUTO" config push "$work/ntp.cfg" -t name=nxos4 >/dev/null 2>"$work/window-push.txt" &&
    grep -q "outside their change windows" "$work/window-push.txt" &&
    "$NAUTO" job push -t name=nxos4 --config "$work/ntp.cfg" --override-window "CHG-7: NTP is down" &&
    lab_config nxos4 >"$work/nxos4-live.txt" && grep -q "ntp server 10.9.9.9" "$work/nxos4-live.txt" &&
    "$NAUTO" job list -o json >"$work/jobs.json" &&
    [ "$(json_get "$work/jobs.json" '[j["spec"].get("override_window") for j in d if j["spec"]["kind"] == "push"][0]')" = "CHG-7: NTP is down" ]
}
check "a push outside the change window is refused; a dry run and an override with a reason go" window_refuses
dangerous() {
  ! "$NAUTO" job run -t name=ios2 --commands "show clock" "reload" 2>"$work/reload.err" && cat "$work/reload.err" &&
    grep -q "'reload' is a dangerous command on cisco_ios" "$work/reload.err" &&
    ! control GET /devices/ios2/commands | grep -q "reload" &&
    "$NAUTO" job run -t name=ios2 --commands "write erase" --allow-dangerous "lab test" >/dev/null 2>&1
  control GET /devices/ios2/commands | grep -q "write erase"
}
check "a dangerous command is refused unless a reason allows it" dangerous
check "no module was restarted" no_module_restarts

echo "configs cli: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
