#!/usr/bin/env bash
# Integration: runbooks end to end — the runbook library in runbooks/ against nauto-lab through
# a real nautod and the nauto CLI, approvals, cancel, dry run, and kill -9 of nautod in the
# middle of a multi-step run (the lab's command log proves no finished step was repeated).
#   runbooks_cli_test.sh NAUTOD NAUTO NAUTO_LAB RUNBOOK_DIR
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
LIBRARY=$4
work=$(mktemp -d /tmp/nauto-runbooks-it-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  remove_test_users
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"
commands_seen() {  # commands_seen DEVICE COMMAND: how often the device received the line
  control GET "/devices/$1/commands" | python3 -c "import json,sys; print(sum(1 for c in json.load(sys.stdin) if c['command'] == sys.argv[1]))" "$2"
}

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 33
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 4, site: dc1, role: edge}
  - {platform: arista_eos, count: 1, site: dc2, role: leaf}
YAML
check "nauto-lab is ready" start_lab

mkdir -p "$work/runbooks"
cat >"$work/runbooks/three_steps.lua" <<'LUA'
return runbook {
  name = "three_steps",
  params = { pause = { type = "int", default = 4 } },
  run = function(p)
    local a = device("ios1"):run("show version")
    local b = device("ios2"):run("show version")
    log.info("first two done; pausing %d s", p.pause)
    wait(p.pause)
    local c = device("ios3"):run("show version")
    return { #a > 0, #b > 0, #c > 0 }
  end,
}
LUA
cat >"$work/runbooks/ntp_change.lua" <<'LUA'
return runbook {
  name = "ntp_change",
  params = { device = { type = "device", required = true } },
  run = function(p)
    local d = device(p.device)
    local diff = d:diff(d:config() .. "\nntp server 192.0.2.123")
    approve { message = "add NTP server to " .. p.device .. "?", approvers = { "alice" }, timeout = 60 }
    local result = d:push({ "ntp server 192.0.2.123" })
    return { changed = result.changed, dry_run = result.dry_run }
  end,
}
LUA
cat >"$work/runbooks/parsed_interfaces.lua" <<'LUA'
return runbook { name = "parsed_interfaces",
  params = { device = { type = "device", required = true } },
  run = function(p)
    local rows = device(p.device):run("show ip interface brief", { parse = "textfsm" })
    local up, down = {}, {}
    for _, r in ipairs(rows) do
      if r.status == "up" then up[#up + 1] = r.interface else down[#down + 1] = r.interface end
    end
    return { count = #rows, up = up, down = down }
  end }
LUA
cat >"$work/runbooks/five_calls.lua" <<'LUA'
return runbook { name = "five_calls", run = function()
  local d = device("ios4")
  for i = 1, 5 do d:run("show clock") end
  return #device("ios4"):run("show version")
end }
LUA
cat >"$work/runbooks/slow.lua" <<'LUA'
return runbook { name = "slow", run = function() emit("slow.waiting", {}) wait(60) end }
LUA
# Issue 24's poison runbook: Lua's own matcher would hold the engine for hours.
cat >"$work/runbooks/hang.lua" <<'LUA'
return runbook { name = "hang", run = function() return ("a"):rep(30000):find(("a*"):rep(10) .. "b") end }
LUA
cat >"$work/runbooks/spin.lua" <<'LUA'
return runbook { name = "spin", run = function() log.info("spinning") while true do end end }
LUA
cat >"$work/runbooks/ok.lua" <<'LUA'
return runbook { name = "ok", run = function() return "ok" end }
LUA
cat >"$work/broken.yaml" <<'YAML'
name: broken
steps:
  - name: first
    type: comand
    command: show version
YAML

# The ntc-templates corpus (data beside the repository, never copied into it) for parse = "textfsm".
NTC_TEMPLATES=${NAUTO_NTC_TEMPLATES:-$LIBRARY/../../shared/ntc-templates}/ntc_templates/templates
[ -f "$NTC_TEMPLATES/index" ] || NTC_TEMPLATES=/work/shared/ntc-templates/ntc_templates/templates
# alice, the approver of ntp_change: a unix user of this run that auth.users names "alice".
add_test_user alice_user || exit 1
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
auth:
  users: [{user: $alice_user, name: alice, roles: [approver]}]
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s, attempts: 2, retry_delay: 50ms}
  runbooks: {dirs: [$LIBRARY, $work/runbooks], textfsm_templates: $NTC_TEMPLATES, instruction_limit: 1000000000000}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
lab_credentials
check "nautod starts with the runbooks module" start_nautod run.list
open_bus_to_all

list_library() {
  "$NAUTO" runbook list -o json >"$work/list.json" &&
    for name in config_backup security_audit onboarding_check interface_diagnostics bgp_troubleshoot \
      compliance_fix; do
      [ "$(json_get "$work/list.json" "[r for r in d if r['name'] == '$name' and 'error' not in r] != []")" = True ] || return 1
    done
}
check "runbook list shows the library, each one loading cleanly" list_library
validate_broken() {
  ! "$NAUTO" runbook validate "$work/broken.yaml" 2>"$work/broken.err" &&
    grep -q "broken.yaml:4: steps\[0\].type: unknown type 'comand'" "$work/broken.err"
}
check "runbook validate points to the file, line and key of a schema error" validate_broken

# Config backup and verify; a change on one device shows on the next run.
backup() {
  "$NAUTO" run config_backup -o json >"$work/backup1.json" &&
    [ "$(json_get "$work/backup1.json" 'd["result"]["saved"]')" = 5 ] &&
    printf 'logging host 192.0.2.77\n' | "$NAUTO" job push --config - --target ios2 >/dev/null &&
    "$NAUTO" run config_backup -o json >"$work/backup2.json" &&
    [ "$(json_get "$work/backup2.json" 'd["result"]["changed"]')" = "['ios2']" ]
}
check "config_backup saves every config and reports the one that changed" backup

# Security audit: make ios3 weak, then audit.
printf 'snmp-server community public RO\nline vty 0 4\n transport input telnet ssh\n' >"$work/weak.cfg"
audit() {
  "$NAUTO" job push --config "$work/weak.cfg" --target ios3 >/dev/null &&
    "$NAUTO" run security_audit -o json >"$work/audit.json" &&
    [ "$(json_get "$work/audit.json" 'd["result"]["findings"]["weak_snmp"]')" = "['ios3']" ] &&
    [ "$(json_get "$work/audit.json" 'd["result"]["findings"]["telnet"]')" = "['ios3']" ] &&
    [ "$(json_get "$work/audit.json" 'len(d["result"]["findings"]["no_aaa"])')" = 4 ] &&
    ! "$NAUTO" run security_audit --param fail_on=high >"$work/audit-fail.out" 2>&1 &&
    grep -q "failed: findings at or above 'high'" "$work/audit-fail.out"
}
check "security_audit finds telnet, a public community and missing AAA" audit

onboarding() {
  "$NAUTO" run onboarding_check --param device=ios1 >"$work/onboard.out" &&
    grep -q "BGP sessions established ok" "$work/onboard.out" &&
    ! "$NAUTO" run onboarding_check --param device=ios3 >"$work/onboard3.out" 2>&1 &&
    grep -q "management is SSH only FAILED" "$work/onboard3.out" &&
    ! "$NAUTO" run onboarding_check --param device=nosuch 2>"$work/onboard-x.err" &&
    grep -q "no device named 'nosuch'" "$work/onboard-x.err"
}
check "onboarding_check passes a good device, fails a telnet one, refuses an unknown one" onboarding

interfaces() {
  "$NAUTO" run interface_diagnostics -p device=ios1 -p interface=GigabitEthernet0/0 -o json >"$work/if.json" &&
    [ "$(json_get "$work/if.json" 'd["result"]["up"]')" = True ] &&
    ! "$NAUTO" run interface_diagnostics -p device=ios1 -p interface=GigabitEthernet0/3 >"$work/if-down.out" 2>&1 &&
    grep -q "administratively down" "$work/if-down.out" && grep -q "up=False" "$work/if-down.out"
}
check "interface_diagnostics: an up interface passes, a shut one fails with the reason" interfaces

bgp() {
  local neighbor
  neighbor=$("$NAUTO" job run --commands "show ip bgp summary" --target ios1 | grep -oE '^10\.[0-9.]+' | head -1)
  [ -n "$neighbor" ] &&
    "$NAUTO" run bgp_troubleshoot -p device=ios1 -p neighbor_ip="$neighbor" >"$work/bgp.out" &&
    grep -q "established=True" "$work/bgp.out" &&
    ! "$NAUTO" run bgp_troubleshoot -p device=ios1 -p neighbor_ip=198.51.100.9 >"$work/bgp-x.out" 2>&1 &&
    grep -q "198.51.100.9 is not a BGP neighbor of ios1" "$work/bgp-x.out" &&
    ! "$NAUTO" run bgp_troubleshoot -p device=ios1 -p neighbor_ip=not-an-ip 2>"$work/bgp-ip.err" &&
    grep -q "expected an IPv4 or IPv6 address" "$work/bgp-ip.err"
}
check "bgp_troubleshoot: an established neighbor, an unknown one, a bad address" bgp

textfsm_run() {
  "$NAUTO" run parsed_interfaces -p device=ios1 -o json >"$work/parsed.json" &&
    [ "$(json_get "$work/parsed.json" '"GigabitEthernet0/0" in d["result"]["up"]')" = True ] &&
    [ "$(json_get "$work/parsed.json" '"GigabitEthernet0/3" in d["result"]["down"]')" = True ] &&
    [ "$(json_get "$work/parsed.json" 'd["result"]["count"] >= 4')" = True ]
}
check "d:run(cmd, {parse = \"textfsm\"}) parses a lab device's output with ntc-templates" textfsm_run

# The same from the command line: job run --parse textfsm (templates from the config file).
job_parse() {
  "$NAUTO" job run -t ios1,ios2 --commands "show ip interface brief" "show clock" --parse textfsm \
    -o json >"$work/job_parse.json" &&
    json_get "$work/job_parse.json" '[(r["device"], len(r["output"][0]["parsed"]), r["output"][1]["parsed"][0]["time"]) for r in d["results"]]' &&
    [ "$(json_get "$work/job_parse.json" 'all(any(x["interface"] == "GigabitEthernet0/0" and x["status"] == "up" for x in r["output"][0]["parsed"]) and len(r["output"][1]["parsed"]) == 1 for r in d["results"])')" = True ] &&
    "$NAUTO" job run -t ios1 --commands "show running-config" --parse textfsm >"$work/job_parse.txt"
  local rc=$?
  cat "$work/job_parse.txt"
  # No template for that command: the output is there, unparsed, named, and the exit status says so.
  [ "$rc" = 3 ] && grep -q "ios1: show running-config: not parsed: .*" "$work/job_parse.txt"
}
check "job run --parse textfsm adds each output's records; an output without a template is named" job_parse

# Approval, then a real push; dry run changes nothing.
approval() {
  local id
  id=$("$NAUTO" run ntp_change -p device=ios4 --detach) || return 1
  wait_for 10 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"approvals\": \[$'" || return 1
  ! "$NAUTO" runs approve "$id" 2>"$work/not-alice.err" || return 1  # root is not alice
  grep -q "'root' may not decide this approval; approvers: .*alice" "$work/not-alice.err" || return 1
  # ...and cannot claim to be: the router stamps who the caller is.
  ! "$NAUTO" call run.approve --json "{\"id\": \"$id\", \"by\": \"alice\"}" 2>"$work/claim.err" || return 1
  grep -q "'root' may not decide as 'alice'" "$work/claim.err" || return 1
  as_user "$alice_user" runs approve "$id" || return 1
  wait_for 15 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"state\": \"succeeded\"'" &&
    control GET /devices/ios4/config | grep -q "ntp server 192.0.2.123"
}
check "an approval holds a push until an approver says yes" approval
dry_run() {
  local id
  id=$("$NAUTO" run ntp_change -p device=ios2 --dry-run --detach) || return 1
  wait_for 10 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"approvals\": \\[$'" || return 1
  as_user "$alice_user" runs approve "$id" || return 1
  wait_for 15 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"state\": \"succeeded\"'" &&
    "$NAUTO" runs show "$id" -o json >"$work/dry.json" &&
    [ "$(json_get "$work/dry.json" 'd["run"]["result"]["dry_run"]')" = True ] &&
    control GET /devices/ios2/config >"$work/ios2.cfg" && grep -q '^hostname ios2' "$work/ios2.cfg" &&
    ! grep -q "192.0.2.123" "$work/ios2.cfg"
}
check "run --dry-run turns pushes into diffs: the device is unchanged" dry_run

cancel() {
  local id
  id=$("$NAUTO" run slow --detach) || return 1
  wait_for 10 bash -c "\"$NAUTO\" events tail --topic slow.waiting -o json | grep -q '\"$id\"'" || return 1
  "$NAUTO" runs cancel "$id" &&
    "$NAUTO" runs show "$id" -o json >"$work/cancel.json" &&
    [ "$(json_get "$work/cancel.json" 'd["run"]["state"]')" = cancelled ]
}
check "runs cancel stops a waiting run" cancel

# A run logs in once per device: its six calls to ios4 share one SSH session, which is closed
# when the run ends (nobody holds it any more).
kept_session() {
  local before after
  before=$(control GET /stats | python3 -c "import json,sys; print(json.load(sys.stdin)['ssh_sessions_total'])")
  "$NAUTO" run five_calls >/dev/null || return 1
  after=$(control GET /stats | python3 -c "import json,sys; print(json.load(sys.stdin)['ssh_sessions_total'])")
  echo "lab logins $before -> $after"
  [ $((after - before)) -eq 1 ] &&
    wait_for 5 bash -c "\"$NAUTO\" call device.sessions -o json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"sessions\"] == [] else 1)'"
}
check "a run's calls to one device share one login, released when the run ends" kept_session

# kill -9 in the middle of a multi-step run; after the restart it finishes without repeating.
durable() {
  local before1 before2 before3 id
  before1=$(commands_seen ios1 "show version")
  before2=$(commands_seen ios2 "show version")
  before3=$(commands_seen ios3 "show version")
  id=$("$NAUTO" run three_steps --detach) || return 1
  wait_for 15 bash -c "\"$NAUTO\" runs show $id -o json | grep -q 'first two done'" || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  start_nautod run.list || return 1
  wait_for 30 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"state\": \"succeeded\"'" || return 1
  "$NAUTO" runs show "$id" -o json >"$work/durable.json"
  echo "ios1 $before1 -> $(commands_seen ios1 "show version"); ios2 $before2 -> $(commands_seen ios2 "show version"); ios3 $before3 -> $(commands_seen ios3 "show version")"
  [ "$(commands_seen ios1 "show version")" = $((before1 + 1)) ] &&
    [ "$(commands_seen ios2 "show version")" = $((before2 + 1)) ] &&
    [ "$(commands_seen ios3 "show version")" = $((before3 + 1)) ] &&
    [ "$(json_get "$work/durable.json" 'd["run"]["resumes"]')" = 1 ] &&
    [ "$(json_get "$work/durable.json" 'd["run"]["result"]')" = "[True, True, True]" ] &&
    # It resumed because the modules it calls came up, not by the 30 s bound.
    grep -q "unfinished run(s) resumed from the journal" "$work/nautod.jsonl" &&
    ! grep -q "resuming runs before every module they call is up" "$work/nautod.jsonl"
}
check "kill -9 mid-run: the run resumes and no finished device step is repeated" durable

run_state() {  # run_state ID PYTHON-CONDITION-ON-r (the run's record)
  "$NAUTO" runs show "$1" -o json >"$work/run_state.json" &&
    python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['run']; print(r.get('state'), r.get('error', '')); sys.exit(0 if ($2) else 1)" "$work/run_state.json"
}
poison() {
  local id
  id=$("$NAUTO" run hang --detach) || return 1
  wait_for 30 run_state "$id" "r['state'] == 'failed'" || return 1
  # Measured by the engine (the run's own start and end), not by this script's polling, whose
  # nauto processes cost most of a second each under the sanitizers on a slow machine.
  run_state "$id" "'string.find: computed for over 1000 ms where the engine cannot pause it' in r['error']" &&
    run_state "$id" "print('failed after', (r['finished_us'] - r['started_us']) / 1e6, 's') or r['finished_us'] - r['started_us'] < 5e6" &&
    [ "$("$NAUTO" run ok -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"])')" = ok ] &&
    no_module_restarts && cpu_idle "$pid"
}
check "the poison runbook fails alone in a second; nauto run ok still works; no restart, no CPU left" poison
quarantine() {
  local id ok_id
  id=$("$NAUTO" run spin --detach) || return 1
  wait_for 15 run_state "$id" "'computing_since_us' in r" || return 1
  ok_id=$("$NAUTO" run ok --detach) || return 1  # other runs go on while it spins
  wait_for 10 run_state "$ok_id" "r['state'] == 'succeeded'" || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  start_nautod run.list || return 1
  wait_for 15 run_state "$id" "r['state'] == 'failed' and r.get('quarantined')" &&
    run_state "$id" "'stopped the runbook engine; quarantined' in r['error']" &&
    "$NAUTO" events tail -t run.quarantined -n 5 -o json >"$work/quarantined.json" &&
    [ "$(json_get "$work/quarantined.json" "[e['body']['id'] for e in d]")" = "['$id']" ] &&
    no_module_restarts && cpu_idle "$pid"
}
check "kill -9 while a run computes: the next start quarantines it instead of replaying it" quarantine

list_runs() {
  "$NAUTO" runs list -o json >"$work/runs.json" &&
    [ "$(json_get "$work/runs.json" 'len(d) >= 10')" = True ] &&
    "$NAUTO" runs list >"$work/runs.out" && grep -q "three_steps .*succeeded" "$work/runs.out"
}
check "runs list shows the runs, newest first" list_runs
check "no module restarted" no_module_restarts

kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
echo "runbooks-cli: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
