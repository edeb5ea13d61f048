#!/usr/bin/env bash
# Integration: fleet jobs end to end — nauto-lab, nautod (inventory, vault, devices modules)
# and the nauto CLI as a user runs them: inventory, credentials, jobs with faulty devices,
# dry-run push, cancel, kill -9 of nautod mid-job, completion scripts.
#   jobs_cli_test.sh NAUTOD NAUTO NAUTO_LAB
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
work=$(mktemp -d /tmp/nauto-jobs-it-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

# Ports of our own (other tests run in parallel), all on 127.0.0.1.
claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 21
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 8, site: dc1, role: edge}
  - {platform: cisco_ios, count: 4, site: dc2, role: core}
  - {platform: arista_eos, count: 2, site: dc2, role: leaf}
YAML
check "nauto-lab is ready" start_lab

"$NAUTO" creds keygen --key-file "$work/vault.key" >/dev/null
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {file: $work/vault.json, key_file: $work/vault.key}
  devices:
    max_sessions: 6
    device_timeout: 5s
    attempts: 2
    retry_delay: 50ms
    limits: [{key: site, max_sessions: 3}]
YAML
export NAUTO_CONFIG=$work/nauto.yaml
validate_offline() {
  "$NAUTO" inventory validate "$work/lab/inventory.yaml" >"$work/validate.out" 2>&1 &&
    grep -q "inventory.yaml: 14 devices, .* groups: valid" "$work/validate.out" &&
    ! pgrep -f "nautod --config $work/nauto.yaml" >/dev/null
}
check "inventory validate with no nautod asks a private one, then stops it" validate_offline
check "nautod starts with the inventory, vault and devices modules" start_nautod job.list

# Inventory.
inventory_list() {
  "$NAUTO" inventory list 'site=dc2 and role=core' -o json >"$work/inv.json" || return 1
  [ "$(json_get "$work/inv.json" 'len(d)')" = 4 ] &&
    [ "$(json_get "$work/inv.json" 'd[0]["credential"]')" = lab ]
}
check "inventory list with a selector" inventory_list
bad_selector() {
  ! "$NAUTO" inventory list 'sitee=dc1' 2>"$work/sel.err" && grep -q "unknown key 'sitee'" "$work/sel.err"
}
check "a mistyped selector key is an error, not an empty list" bad_selector
printf 'hosts:\n  r1: {host: 10.0.0.1, platform: cisco_ios, password: hunter2, port: 99999}\n' >"$work/bad-inv.yaml"
bad_inventory() {
  ! "$NAUTO" inventory validate "$work/bad-inv.yaml" 2>"$work/bad-inv.err" &&
    grep -q "bad-inv.yaml:2: hosts.r1.password: secrets are not kept" "$work/bad-inv.err" &&
    grep -q "hosts.r1.port: expected an integer" "$work/bad-inv.err" && ! grep -q hunter2 "$work/bad-inv.err"
}
check "inventory validate reports every problem with file and line, never the secret" bad_inventory
printf '[branch]\nbr[1:3] ansible_host=127.0.0.1 ansible_network_os=ios ansible_password=x\n' >"$work/hosts.ini"
import_ansible() {
  "$NAUTO" inventory import "$work/hosts.ini" >"$work/import.out" 2>&1 &&
    grep -q "imported 3 devices" "$work/import.out" && grep -q "ansible_password not imported" "$work/import.out" &&
    "$NAUTO" inventory list 'group=branch' -o json >"$work/branch.json" &&
    [ "$(json_get "$work/branch.json" 'len(d)')" = 3 ]
}
check "an Ansible INI inventory is imported (secrets reported, not imported)" import_ansible

# Credentials: the vault holds "lab"; values never printed or journaled.
set_creds() {
  printf 'lab-pass\nlab-enable\n' | "$NAUTO" creds set lab --username admin --enable &&
    "$NAUTO" creds list >"$work/creds.out" && grep -q "lab .*admin .*password,enable_secret" "$work/creds.out" &&
    [ -s "$work/vault.json" ] && ! grep -q "lab-pass" "$work/creds.out" && ! grep -q "lab-pass" "$work/vault.json"
}
check "creds set from stdin; list shows names, never values; the file is encrypted" set_creds

# A job over healthy and faulty devices (one hung, one refusing logins).
control PUT /devices/ios3/faults '{"hang_after_bytes": 100}' >/dev/null
control PUT /devices/ios5/faults '{"refuse_auth": true}' >/dev/null
run_job() {
  "$NAUTO" job run --commands "show version" "show clock" --target 'site=dc1' >"$work/run.out" 2>"$work/run.err"
  local rc=$?
  cat "$work/run.out" "$work/run.err"
  [ $rc -eq 3 ] && [ "$(grep -cE '^ios[0-9]+ +(ok|failed|timeout) ' "$work/run.out")" = 8 ] &&
    grep -q "^ios3 .* timeout" "$work/run.out" && grep -q "^ios5 .* failed .*unauthenticated" "$work/run.out" &&
    grep -q "^ios1 .* ok" "$work/run.out" && grep -q "6 ok, 1 failed, 1 timed out" "$work/run.out"
}
check "job run: one line per device, the right status each, exit 3 when some fail" run_job
job_id=$(grep -o 'job [0-9A-Za-z.-]* done' "$work/run.out" | awk '{print $2}')
job_logs() {
  "$NAUTO" job logs "$job_id" --device ios1 >"$work/logs.out" && grep -q "Cisco IOS" "$work/logs.out" &&
    "$NAUTO" job status "$job_id" -o json >"$work/status.json" &&
    [ "$(json_get "$work/status.json" 'd["state"]')" = done ] &&
    [ "$(json_get "$work/status.json" 'd["counts"]["ok"]')" = 6 ]
}
check "job logs shows a device's output; job status its counts" job_logs
audit_events() {
  "$NAUTO" events tail --topic audit.secret -n 50 -o json >"$work/audit.json" &&
    json_get "$work/audit.json" '[e["body"]["credential"] for e in d]' >"$work/audit.names" &&
    grep -q lab "$work/audit.names" &&
    ! grep -q "lab-pass" "$work/audit.json"
}
check "every secret access is an audit event without the value" audit_events
control PUT /devices/ios3/faults '{}' >/dev/null
control PUT /devices/ios5/faults '{}' >/dev/null

# The devices module keeps vault answers a few seconds; a changed credential is used at once.
credential_change_seen() {
  "$NAUTO" job run --commands "show clock" --target ios1 >/dev/null 2>&1 || return 1
  printf 'wrong-pass\nlab-enable\n' | "$NAUTO" creds set lab --username admin --enable >/dev/null &&
    ! "$NAUTO" job run --commands "show clock" --target ios1 >"$work/wrong.out" 2>&1 &&
    grep -q "unauthenticated" "$work/wrong.out" &&
    printf 'lab-pass\nlab-enable\n' | "$NAUTO" creds set lab --username admin --enable >/dev/null &&
    "$NAUTO" job run --commands "show clock" --target ios1 >/dev/null 2>&1
}
check "a credential changed in the vault is used by the next job, not a cached one" credential_change_seen

# Dry-run push changes nothing; a real push does.
printf 'ntp server 192.0.2.55\n' >"$work/ntp.cfg"
dry_run() {
  "$NAUTO" job push --config "$work/ntp.cfg" --target ios2 --dry-run >"$work/dry.out" 2>&1 &&
    grep -q "+ntp server 192.0.2.55" "$work/dry.out" && grep -q "dry run" "$work/dry.out" &&
    control GET /devices/ios2/config >"$work/ios2.cfg" && grep -q '^hostname ios2' "$work/ios2.cfg" &&
    ! grep -q "192.0.2.55" "$work/ios2.cfg"
}
check "job push --dry-run shows the diff and changes nothing" dry_run
push() {
  "$NAUTO" job push --config "$work/ntp.cfg" --target ios2 >"$work/push.out" 2>&1 &&
    control GET /devices/ios2/config >"$work/ios2.cfg" && grep -q "ntp server 192.0.2.55" "$work/ios2.cfg"
}
check "job push applies the change" push

# Cancel mid-job.
under_way() {  # under_way [ID]: the job (default: the newest) is running and has finished a device
  local job=d
  if [ -n "${1:-}" ]; then
    "$NAUTO" job status "$1" -o json >"$work/progress.json" || return 1
  else
    "$NAUTO" job list -o json >"$work/progress.json" || return 1
    job='d[0]'
  fi
  [ "$(json_get "$work/progress.json" "$job['state'] == 'running' and $job['counts']['ok'] >= 1")" = True ]
}
# Slow enough (three commands of 1 s each per device, two at a time) that the cancel comes
# with most devices still waiting, however slowly this script polls (under the sanitizers on a
# slow machine each nauto process costs most of a second).
for d in ios1 ios2 ios4 ios6 ios7 ios8 ios9 ios10; do control PUT /devices/$d/faults '{"latency_ms": 1000}' >/dev/null; done
cancel_job() {
  local id
  id=$("$NAUTO" job run --commands "show version" "show clock" "show ip interface brief" --target 'site=dc1 or role=core' --max-parallel 2 --detach) || return 1
  wait_for 15 under_way "$id" || return 1
  "$NAUTO" job cancel "$id" || return 1
  wait_for 5 bash -c "\"$NAUTO\" job status $id -o json | grep -q '\"state\": \"cancelled\"'" || return 1
  "$NAUTO" job status "$id" -o json >"$work/cancel.json"
  cat "$work/cancel.json"
  [ "$(json_get "$work/cancel.json" 'd["counts"]["cancelled"] >= 6')" = True ] &&
    [ "$(json_get "$work/cancel.json" 'd["counts"]["total"]')" = 12 ]
}
check "job cancel stops a running job; the rest are recorded cancelled" cancel_job
# The checks below want slow devices that still finish within device_timeout (5 s).
for d in ios1 ios2 ios4 ios6 ios7 ios8 ios9 ios10; do control PUT /devices/$d/faults '{"latency_ms": 500}' >/dev/null; done

interrupt_watch() {  # Ctrl-C under `nauto job run` cancels the job it watches
  "$NAUTO" job run --commands "show version" "show clock" --target 'site=dc1' --max-parallel 1 \
    >"$work/int.out" 2>&1 &
  local watcher=$!
  wait_for 15 under_way || return 1
  kill -INT "$watcher"
  wait "$watcher"
  local rc=$?
  cat "$work/int.out"
  [ $rc -eq 3 ] && grep -q "cancelling job" "$work/int.out" && grep -qE "job [^ ]+ cancelled:" "$work/int.out"
}
check "Ctrl-C under job run cancels the job and reports it" interrupt_watch
progress_bar() {  # on a terminal: a progress bar, not device lines (script(1) gives a pty)
  script -qec "$NAUTO job run --commands 'show clock' --target 'role=core'" /dev/null >"$work/tty.out" 2>&1
  cat "$work/tty.out"
  grep -q '\[##############################\] 4/4' "$work/tty.out" && grep -q "4 ok" "$work/tty.out"
}
check "a terminal gets a live progress bar" progress_bar

# kill -9 of nautod mid-job: after a restart the job is a record, marked interrupted.
restart_mid_job() {
  local id
  id=$("$NAUTO" job run --commands "show version" "show clock" --target 'site=dc1 or role=core' --max-parallel 2 --detach) || return 1
  wait_for 15 under_way "$id" || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  start_nautod job.list || return 1
  "$NAUTO" job status "$id" -o json >"$work/interrupted.json" || return 1
  cat "$work/interrupted.json"
  local finished
  finished=$("$NAUTO" job logs "$id" -o json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
  [ "$(json_get "$work/interrupted.json" 'd["state"]')" = interrupted ] &&
    [ "$(json_get "$work/interrupted.json" 'd["counts"]["pending"] > 0')" = True ] &&
    [ "$(json_get "$work/interrupted.json" '12 - d["counts"]["pending"]')" = "$finished" ] &&
    grep -q "had finished" "$work/interrupted.json"
}
check "kill -9 mid-job: after restart the job is interrupted, finished devices kept" restart_mid_job
list_jobs() {
  "$NAUTO" job list -o json >"$work/list.json" && [ "$(json_get "$work/list.json" 'len(d) >= 5')" = True ] &&
    [ "$(json_get "$work/list.json" 'd[0]["state"]')" = interrupted ]
}
check "job list shows the jobs newest first" list_jobs

completion() {
  "$NAUTO" completion bash >"$work/nauto.bash" &&
    bash -c "source '$work/nauto.bash'; COMP_WORDS=(nauto job pu); COMP_CWORD=2; _nauto; [ \"\${COMPREPLY[*]}\" = push ]" &&
    bash -c "source '$work/nauto.bash'; COMP_WORDS=(nauto job push --dr); COMP_CWORD=3; _nauto; [ \"\${COMPREPLY[*]}\" = --dry-run ]" &&
    "$NAUTO" completion fish >"$work/nauto.fish" && "$NAUTO" completion zsh >"$work/nauto.zsh" &&
    grep -q "complete -c nauto -n 'test \"(__nauto_path)\" = \"job push\"' -l dry-run" "$work/nauto.fish" &&
    head -1 "$work/nauto.zsh" | grep -q "#compdef nauto"
}
check "completion scripts are generated from the CLI definition" completion

check "no module restarted" no_module_restarts
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
echo "jobs-cli: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
