#!/usr/bin/env bash
# Integration: the config archive and safe pushes against a real router (issue 27), and
# compliance policies over it (issue 28) - FRR's bgpd, reached through OpenSSH's sshd whose
# login runs vtysh, as in drivers_frr; nautod with the configs and compliance modules, and
# `nauto config` / `nauto compliance` as a user runs them. Everything listens on 127.0.0.1 with
# this test's own config, keys, ports and PID files, and is stopped at the end.
#   configs_frr_test.sh NAUTOD NAUTO RUNBOOKS BASELINE
set -uo pipefail
NAUTOD=$1
NAUTO=$2
RUNBOOKS=$3
BASELINE=$4
if [ "$(id -u)" != 0 ]; then
  echo "needs root (sshd, bgpd)" >&2
  exit 1
fi
work=$(mktemp -d /tmp/nauto-configs-frr-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  for file in "$work/sshd.pid" "$work/bgpd.pid"; do
    [ -s "$file" ] && kill "$(cat "$file")" 2>/dev/null
  done
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"
claim_ports
vtysh_port=$base_port

# The router: bgpd alone (no zebra, no kernel routes, no BGP listener), with a BGP password.
cat >"$work/frr.conf" <<'CONF'
hostname frr1
router bgp 65100
 bgp router-id 10.255.0.1
 neighbor 192.0.2.1 remote-as 65200
 neighbor 192.0.2.1 password s3cr3t-bgp
!
CONF
start_router() {
  /usr/lib/frr/bgpd -Z -n -S -p 0 -l 127.0.0.1 -A 127.0.0.1 -P 0 -u root -g root -d \
    -f "$work/frr.conf" -i "$work/bgpd.pid" --vty_socket "$work" &&
    mkdir -p /run/sshd &&
    ssh-keygen -q -t ed25519 -N '' -f "$work/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$work/client_key" &&
    # HOME=$work: the login runs through root's shell, which would source root's ~/.bashrc,
    # and vtysh writes ~/.history_frr; neither belongs to the test.
    cat >"$work/sshd_config" <<CONF &&
ListenAddress 127.0.0.1:$vtysh_port
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/client_key.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv HOME=$work
ForceCommand /usr/bin/vtysh --vty_socket $work
CONF
    /usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log" &&
    echo "[127.0.0.1]:$vtysh_port $(cut -d' ' -f1,2 "$work/host_key.pub")" >"$work/known_hosts" &&
    wait_for 10 test -s "$work/sshd.pid"
}
check "FRR's bgpd behind OpenSSH" start_router
vtysh() { HOME=$work /usr/bin/vtysh --vty_socket "$work" "$@"; }

cat >"$work/inventory.yaml" <<YAML
hosts:
  frr1: {host: 127.0.0.1, port: $vtysh_port, platform: frr, credential: frr, known_hosts: $work/known_hosts}
YAML
mkdir -p "$work/runbooks"
cat >"$work/runbooks/bgp_check.lua" <<'LUA'
-- Passes when every device still has its BGP peer 192.0.2.1 configured.
return runbook {
  name = "bgp_check",
  params = { target = { type = "selector", default = "all" } },
  run = function(p)
    for _, d in ipairs(inventory.select(p.target)) do
      local out = d:run("show bgp neighbors 192.0.2.1")
      if not re.test(out, "remote AS 65200") then fail(d.name .. ": peer 192.0.2.1 is gone") end
    end
    return { ok = true }
  end,
}
LUA
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {}
  inventory: {files: [$work/inventory.yaml]}
  vault: {}
  devices: {device_timeout: 20s}
  runbooks: {dirs: [$work/runbooks, $RUNBOOKS]}
  configs: {}
  compliance: {dirs: [$work/policies]}
YAML
mkdir -p "$work/policies"
cp "$BASELINE" "$work/policies/baseline.yaml"
cat >"$work/policies/frr.yaml" <<'YAML'
name: frr
description: what this router's BGP must have
rules:
  - id: bgp-router-id
    scope: platform=frr
    within: {section: '^router bgp', required: true}
    must_match: '^bgp router-id \d+\.\d+\.\d+\.\d+$'
  - id: bgp-neighbors-authenticated
    severity: high
    scope: platform=frr
    within: {section: '^router bgp'}
    must_match: '^neighbor \S+ password '
  - id: no-default-route
    scope: platform=frr
    must_not_match: '^ip route 0\.0\.0\.0/0 '
  - id: hostname
    scope: platform=frr
    must_match: '^hostname frr\d+$'
  - id: no-weak-bgp-password
    severity: high
    scope: platform=frr
    live: true
    must_not_match: ' password \S*s3cr3t'
YAML
export NAUTO_CONFIG=$work/nauto.yaml NAUTO_CRED_FRR_USERNAME=root NAUTO_CRED_FRR_PRIVATE_KEY_FILE=$work/client_key
check "nautod starts" start_nautod configs.status

backup() {  # backup WHY CHANGED UNCHANGED
  "$NAUTO" config backup --why "$1" -o json >"$work/backup.json" &&
    [ "$(json_get "$work/backup.json" 'd["state"], d["changed"], d["unchanged"], d["failed"]')" = "done $2 $3 0" ]
}
check "first backup: version 1" backup first 1 0
check "second backup, nothing changed: no version" backup second 0 1
check "a change at the router's console" vtysh -c 'configure terminal' -c 'router bgp 65100' -c 'neighbor 192.0.2.1 description core-uplink'
check "third backup: version 2" backup third 1 0
archive() {
  "$NAUTO" config history frr1 -o json >"$work/history.json" &&
    [ "$(json_get "$work/history.json" '[v["version"] for v in d["versions"]]')" = "[2, 1]" ] &&
    "$NAUTO" config diff frr1 >"$work/diff.txt" && cat "$work/diff.txt" &&
    [ "$(grep -c '^[-+][^-+]' "$work/diff.txt")" = 1 ] && grep -q "^+ neighbor 192.0.2.1 description core-uplink" "$work/diff.txt" &&
    "$NAUTO" config show frr1 >"$work/frr1.txt" &&
    grep -q "^ neighbor 192.0.2.1 password <redacted>$" "$work/frr1.txt" && ! grep -q "s3cr3t" "$work/frr1.txt" &&
    ! grep -q "^frr version\|^Building configuration\|^Current configuration" "$work/frr1.txt" &&
    ! grep -a -q "s3cr3t-bgp" "$work/data"/*.mdb
}
check "2 versions, the diff is the one line, the BGP password redacted everywhere" archive
drift() {
  vtysh -c 'configure terminal' -c 'router bgp 65100' -c 'neighbor 192.0.2.7 remote-as 65400' >/dev/null &&
    "$NAUTO" config drift -o json >"$work/drift.json"
  [ $? = 3 ] && [ "$(json_get "$work/drift.json" '[(x["device"], x["state"], x["added"]) for x in d["devices"]]')" = "[('frr1', 'drifted', 1)]" ]
}
check "drift is detected" drift
check "back to version 2" sh -c "'$NAUTO' config rollback frr1 --to 2 | grep -q 'frr1 is back at version 2'"
rolled_back_exactly() {
  vtysh -c 'show running-config' >"$work/live.txt" &&
    ! grep -q "192.0.2.7" "$work/live.txt" && grep -q "neighbor 192.0.2.1 password s3cr3t-bgp" "$work/live.txt" &&
    grep -q "neighbor 192.0.2.1 description core-uplink" "$work/live.txt"
}
check "the rollback removed the drift and kept the real BGP password" rolled_back_exactly

# Commit-confirm decided by a health check on the router.
# The "break" moves the peer to another AS: the check fails; the password line stays on the
# router, so the rollback can give it back (a secret the push itself deleted is not in the
# redacted archive: docs/configs.md).
printf 'router bgp 65100\n neighbor 192.0.2.1 remote-as 65999\n' >"$work/break.cfg"
printf 'router bgp 65100\n neighbor 192.0.2.1 description core-uplink-2\n' >"$work/ok.cfg"
failing_push() {
  "$NAUTO" job push -t frr1 --config "$work/break.cfg" --commit-confirm 1m --check bgp_check >"$work/push1.txt"
  [ $? = 3 ] && cat "$work/push1.txt" && grep -q ": rolled_back$" "$work/push1.txt" &&
    vtysh -c 'show running-config' >"$work/live1.txt" &&
    grep -q "neighbor 192.0.2.1 remote-as 65200" "$work/live1.txt" && grep -q "neighbor 192.0.2.1 password s3cr3t-bgp" "$work/live1.txt"
}
check "a push that moves the peer fails its check and is rolled back, password and all" failing_push
passing_push() {
  "$NAUTO" config push "$work/ok.cfg" -t frr1 --confirm 1m --check bgp_check >"$work/push2.txt" &&
    cat "$work/push2.txt" && grep -q ": confirmed$" "$work/push2.txt" &&
    vtysh -c 'show running-config' | grep -q "description core-uplink-2"
}
check "a push that keeps the peer passes its check and stays" passing_push
killed() {
  "$NAUTO" config push "$work/break.cfg" -t frr1 --confirm 10s -o json >"$work/push3.json" &&
    [ "$(json_get "$work/push3.json" 'd["state"]')" = waiting ] || return 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  pid=""
  vtysh -c 'show running-config' | grep -q "neighbor 192.0.2.1 remote-as 65999" || return 1  # pushed, undecided
  until_window_ended "$work/push3.json" || return 1  # the window ends while nautod is down
  start_nautod configs.status &&
    wait_for 20 sh -c "HOME='$work' vtysh --vty_socket '$work' -c 'show running-config' | grep -q 'neighbor 192.0.2.1 remote-as 65200'" &&
    vtysh -c 'show running-config' | grep -q "neighbor 192.0.2.1 password s3cr3t-bgp"
}
check "kill -9 of nautod in the confirm window: rolled back at the next start" killed
# A staged rollout on the real router: its check fails, the router goes back; then one that
# keeps the peer finishes.
printf 'router bgp 65100\n neighbor 192.0.2.1 description rollout-ok\n' >"$work/ok2.cfg"
rollout_halts() {
  "$NAUTO" rollout push "$work/break.cfg" -t frr1 --canary 1 --check bgp_check -o json >"$work/rollout1.json"
  [ $? = 3 ] || return 1
  json_get "$work/rollout1.json" 'd["state"], d["reason"], d["rolled_back"]'
  [ "$(json_get "$work/rollout1.json" 'd["state"], d["rolled_back"]')" = "rolled_back 1" ] &&
    vtysh -c 'show running-config' >"$work/live4.txt" &&
    grep -q "neighbor 192.0.2.1 remote-as 65200" "$work/live4.txt" && grep -q "neighbor 192.0.2.1 password s3cr3t-bgp" "$work/live4.txt"
}
check "a rollout whose health check fails puts the router back, password and all" rollout_halts
rollout_finishes() {
  "$NAUTO" rollout push "$work/ok2.cfg" -t frr1 --canary 1 --check bgp_check -o json >"$work/rollout2.json" &&
    [ "$(json_get "$work/rollout2.json" 'd["state"], d["ok"]')" = "finished 1" ] &&
    vtysh -c 'show running-config' | grep -q "description rollout-ok"
}
check "a rollout whose check passes finishes" rollout_finishes

# Compliance over the real router: a policy of its own from the archive and live, then the
# shipped baseline's FRR rules, one of them fixed (its diff approved) and resolved.
compliance_run() {  # compliance_run EXPECTED-EXIT "pass fail errors resolved" ARGS...
  local expected=$1 counts=$2
  shift 2
  "$NAUTO" compliance run "$@" -o json >"$work/compliance.json"
  local status=$?
  cat "$work/compliance.json"
  [ "$status" = "$expected" ] &&
    [ "$(json_get "$work/compliance.json" 'd["pass"], d["fail"], d["error_count"], d.get("resolved", 0)')" = "$counts" ]
}
check "the router's own policy passes over its archived config (the secret rule waits for --live)" compliance_run 0 "4 0 0 0" --policy frr
check "live, the weak BGP password is found; the result keeps its line redacted" sh -c "
  $(declare -f compliance_run json_get); work='$work'; NAUTO='$NAUTO'
  compliance_run 3 '4 1 0 0' --policy frr --live &&
  '$NAUTO' compliance results --policy frr -o json >'$work/frr-results.json' &&
  grep -q 'neighbor 192.0.2.1 password <redacted>' '$work/frr-results.json' &&
  ! grep -q s3cr3t-bgp '$work/frr-results.json' && ! grep -q s3cr3t-bgp '$work/nautod.jsonl'"
check "the baseline over FRR, live: VTY logins off; no logging, no banner" \
  compliance_run 3 "1 2 0 0" --policy baseline --live
check "fix --dry-run shows the logging line" sh -c "
  '$NAUTO' compliance fix --policy baseline --rule frr-logging --dry-run | tee '$work/frr-fix.txt' &&
  grep -q '^+log syslog informational' '$work/frr-fix.txt'"
frr_fix() {
  "$NAUTO" compliance fix --policy baseline --rule frr-logging -o json >"$work/frr-fix.json" || return 1
  wait_for 30 sh -c "'$NAUTO' approvals list -o json | grep -q frr1" || return 1
  "$NAUTO" approvals approve "$("$NAUTO" approvals list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" \
    --reason "baseline logging" || return 1
  wait_for 30 logging_configured
}
logging_configured() { vtysh -c 'show running-config' | grep -q 'log syslog informational'; }
check "fix: the approved diff reaches the router" frr_fix
check "the next live run shows frr-logging resolved" compliance_run 3 "2 1 0 1" --policy baseline --live
check "no module was restarted" no_module_restarts
echo "configs frr: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
