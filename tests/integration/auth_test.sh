#!/usr/bin/env bash
# Integration: principals and roles (issue 30) - real processes under different unix users,
# made by the test (it needs root, as CI runs), talking to a real nautod over its ipc socket,
# with nauto-lab devices in two sites:
#   - `nauto whoami` shows the principal the kernel verified (SO_PEERCRED) and mapped through
#     auth.users: root is admin; a mapped user has its entry's name and roles; a user named
#     through its unix group has its login name and the group's roles; an unmapped one has its
#     login name and auth.default_roles;
#   - the router enforces the roles: a viewer lists but may not start runs, push or read
#     secrets, nor publish events; an operator limited to site=dc1 starts runs and jobs on dc1
#     devices only; every refusal is answered permission_denied naming the roles that may, and
#     published as bus.refused;
#   - an approval is decided by the verified caller: an approver the runbook does not list is
#     refused, root cannot claim to be the approver, the approver's own user approves; whoever
#     started a run may not approve it (four-eyes);
#   - secrets go only to the modules that need them: vault.resolve refuses root.
#   auth_test.sh NAUTOD NAUTO LAB
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
. "$(dirname "$0")/checks.sh"
lab_test_setup auth
if [ "$(id -u)" != 0 ]; then
  echo "auth_test.sh needs root: it makes unix users" >&2
  exit 1
fi
add_test_user alice_user || exit 1
add_test_user bob_user || exit 1
add_test_user carol_user || exit 1
add_test_user dave_user || exit 1
claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 30
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 2, site: dc1, role: edge}
  - {platform: arista_eos, count: 1, site: dc2, role: leaf}
YAML
check "nauto-lab is ready" start_lab
mkdir -p "$work/runbooks"
cat >"$work/runbooks/show_version.lua" <<'LUA'
return runbook {
  name = "show_version",
  params = { device = { type = "device", required = true } },
  run = function(p)
    return { output = device(p.device):run("show version") }
  end,
}
LUA
cat >"$work/runbooks/guarded.lua" <<'LUA'
return runbook {
  name = "guarded",
  run = function()
    local decision = approve { message = "go ahead?", approvers = { "alice" }, timeout = 60 }
    return { decided_by = decision.by }
  end,
}
LUA
cat >"$work/runbooks/role_gate.lua" <<'LUA'
return runbook {
  name = "role_gate",
  run = function()
    local decision = approve { message = "an approver?", approvers = { "role:approver" }, timeout = 60 }
    return { decided_by = decision.by }
  end,
}
LUA
cat >"$work/runbooks/open_gate.lua" <<'LUA'
return runbook {
  name = "open_gate",
  run = function()
    local decision = approve { message = "anyone but the starter?", timeout = 60 }
    return { decided_by = decision.by }
  end,
}
LUA
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
auth:
  roles:
    dc1-operator: {services: ["@read", "@operate"], devices: "site=dc1"}
  users:
    - {user: $alice_user, name: alice, roles: [approver, operator]}
    - {group: $bob_user, roles: [approver]}
    - {user: $dave_user, name: dave, roles: [dc1-operator]}
  default_roles: [viewer]
modules:
  journal: {}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 4, device_timeout: 10s}
  runbooks: {dirs: [$work/runbooks]}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
lab_credentials
check "nautod starts" start_nautod run.list
open_bus_to_all

whoami_is() {  # whoami_is USER|- PRINCIPAL ROLES-JSON: `nauto whoami` as USER (- for root)
  if [ "$1" = - ]; then "$NAUTO" whoami -o json; else as_user "$1" whoami -o json; fi >"$work/me.json" &&
    python3 - "$work/me.json" "$2" "$3" "$(id -u "${1/#-/root}")" <<'PY'
import json, sys
me = json.load(open(sys.argv[1]))
print(me)
sys.exit(0 if me["principal"] == sys.argv[2] and me["roles"] == json.loads(sys.argv[3])
         and me["via"] == "ipc" and me["uid"] == int(sys.argv[4]) else 1)
PY
}
check "root is admin" whoami_is - root '["admin"]'
check "alice's unix user is the principal alice, with her roles" \
  whoami_is "$alice_user" alice '["approver", "operator"]'
check "a user named through its unix group is its login name, with the group's roles" \
  whoami_is "$bob_user" "$bob_user" '["approver"]'
check "a user auth.users does not name is its login name, with auth.default_roles" \
  whoami_is "$carol_user" "$carol_user" '["viewer"]'
check "the table output" sh -c "'$NAUTO' whoami | grep -E '^principal: root$'"
auth_roles() {
  as_user "$carol_user" auth roles >"$work/roles.out" && cat "$work/roles.out" &&
    grep -Eq '^dc1-operator \* +@read @operate +- +site=dc1$' "$work/roles.out" &&
    grep -Eq '^viewer +@read +- +all$' "$work/roles.out"
}
check "auth roles lists the builtin and custom roles" auth_roles
auth_users() {
  "$NAUTO" auth users >"$work/users.out" && cat "$work/users.out" &&
    grep -Eq "^dave +uid $(id -u "$dave_user") +dc1-operator$" "$work/users.out" &&
    grep -Eq "gid $(id -g "$bob_user") \(members\) +approver$" "$work/users.out" &&
    grep -q "default roles (a unix user no entry names): viewer" "$work/users.out"
}
check "auth users lists the mapping" auth_users

awaiting() { "$NAUTO" runs show "$1" -o json | grep -q '"approvals": \[$'; }  # awaiting RUN
decided_by() {  # decided_by RUN PRINCIPAL: the run succeeded, its approval decided by PRINCIPAL
  "$NAUTO" runs show "$1" -o json >"$work/run.json" &&
    [ "$(json_get "$work/run.json" 'd["run"]["state"]')" = succeeded ] &&
    [ "$(json_get "$work/run.json" 'd["run"]["result"]["decided_by"]')" = "$2" ]
}
id=$("$NAUTO" run guarded --detach)
check "the run waits for alice" wait_for 10 awaiting "$id"
bob_refused() {
  ! as_user "$bob_user" runs approve "$id" 2>"$work/bob.err" &&
    grep -q "'$bob_user' may not decide this approval" "$work/bob.err"
}
check "bob may not decide it" bob_refused
root_claims_alice() {
  ! "$NAUTO" call run.approve --json "{\"id\": \"$id\", \"by\": \"alice\"}" 2>"$work/claim.err" &&
    grep -q "'root' may not decide as 'alice'" "$work/claim.err"
}
check "root may not claim to be alice" root_claims_alice
check "alice approves as herself" as_user "$alice_user" runs approve "$id"
check "the run goes on, decided by alice" wait_for 10 decided_by "$id" alice
# Four-eyes: alice starts a run anyone may approve; she may not, bob may.
gate=$(as_user "$alice_user" run open_gate --detach)
check "alice starts a run" wait_for 10 awaiting "$gate"
alice_refused() {
  ! as_user "$alice_user" runs approve "$gate" 2>"$work/self.err" &&
    grep -q "'alice' started run .* and may not approve it too (four-eyes" "$work/self.err"
}
check "...and may not approve it herself" alice_refused
check "bob approves it" as_user "$bob_user" runs approve "$gate"
check "the run goes on, decided by bob" wait_for 10 decided_by "$gate" "$bob_user"

# approvers: {"role:approver"}: anyone with the role, and only them (root is admin, not approver).
role_run=$("$NAUTO" run role_gate --detach)
check "a run waits for any approver" wait_for 10 awaiting "$role_run"
root_not_approver() {
  ! "$NAUTO" runs approve "$role_run" 2>"$work/role.err" &&
    grep -q "'root' may not decide this approval" "$work/role.err"
}
check "root, an admin without the approver role, may not decide it" root_not_approver
check "bob, an approver through his unix group, approves" as_user "$bob_user" runs approve "$role_run"
check "the run goes on, decided by bob" wait_for 10 decided_by "$role_run" "$bob_user"

# The viewer: lists, and is refused anything else, each refusal naming the roles that may.
check "a viewer lists runs" as_user "$carol_user" runs list
refused() {  # refused USER SERVICE ACCESS nauto-args...: permission_denied from the router
  local user=$1 service=$2 access=$3
  shift 3
  ! as_user "$user" "$@" >"$work/refused.out" 2>&1 &&
    grep -q "may not call '$service' ($access)" "$work/refused.out" ||
    { cat "$work/refused.out"; return 1; }
}
check "a viewer may not start a run" refused "$carol_user" run.start operate run open_gate
check "the refusal names the roles that may" \
  grep -q "roles that may: admin, dc1-operator, operator" "$work/refused.out"
check "a viewer may not push" refused "$carol_user" job.run operate \
  call job.run --json '{"kind": "push", "target": "ios1", "config": "ntp server 192.0.2.1"}'
check "a viewer may not read a secret" refused "$carol_user" vault.resolve module \
  call vault.resolve --json '{"names": ["lab"]}'
check "a viewer may not change the vault" refused "$carol_user" vault.set admin \
  call vault.set --json '{"name": "x", "password": "y"}'
check "root may not read a secret over the bus" refused root vault.resolve module \
  call vault.resolve --json '{"names": ["lab"], "purpose": "curiosity"}'
check "no secret in the refusal" sh -c "! grep -q lab-pass '$work/refused.out'"
refusals_published() {
  "$NAUTO" events tail --topic bus.refused -n 100 -o json >"$work/refusals.json" &&
    python3 - "$work/refusals.json" "$carol_user" <<'PY'
import json, sys
bodies = [e.get("body", e) for e in json.load(open(sys.argv[1]))]
seen = {(b.get("principal"), b.get("service")) for b in bodies}
print(sorted(seen))
sys.exit(0 if {(sys.argv[2], "run.start"), (sys.argv[2], "vault.resolve"), ("root", "vault.resolve")} <= seen
         and all(b.get("via") == "ipc" and b.get("uid") is not None for b in bodies) else 1)
PY
}
check "every refusal is published as bus.refused" wait_for 5 refusals_published
published_anyway() {
  "$NAUTO" call journal.query --json '{"topic": "auth.forged.event"}' | grep -q forged
}
as_user "$carol_user" events publish auth.forged.event --json '{"x": 1}' >/dev/null 2>&1
"$NAUTO" events publish auth.admin.event --json '{"x": 1}' >/dev/null
admin_published() { "$NAUTO" call journal.query --json '{"topic": "auth.admin.event"}' | grep -q auth.admin.event; }
check "an admin's event is delivered" wait_for 5 admin_published
not_published() { ! published_anyway; }
check "a viewer's event is refused, not delivered" not_published
events_refused() {
  "$NAUTO" call bus.stats | python3 -c "import json,sys; t=json.load(sys.stdin)['totals']; print(t); sys.exit(0 if t['events_refused'] >= 1 and t['requests_refused'] >= 5 else 1)"
}
check "the router counts the refusals" events_refused

# The operator limited to site=dc1: runs and jobs on dc1 devices only.
eos=$(python3 -c "import yaml,sys; print(next(n for n,h in yaml.safe_load(open(sys.argv[1]))['hosts'].items() if h.get('platform') == 'arista_eos'))" "$work/lab/inventory.yaml")
run_state() {  # run_state RUN STATE
  "$NAUTO" runs show "$1" -o json >"$work/run.json" && [ "$(json_get "$work/run.json" 'd["run"]["state"]')" = "$2" ]
}
inside=$(as_user "$dave_user" run show_version --param device=ios1 --detach)
check "dave starts a run on a dc1 device" test -n "$inside"
check "...and it reads the device" wait_for 20 run_state "$inside" succeeded
outside=$(as_user "$dave_user" run show_version --param device="$eos" --detach)
check "dave starts a run on the dc2 device $eos" test -n "$outside"
check "...which fails at the device" wait_for 20 run_state "$outside" failed
check "the run's error names dave's scope" \
  grep -q "acts for a caller who may act only on devices matching 'site=dc1' (its roles); 1 selected is outside it: $eos" "$work/run.json"
dave_job_outside() {
  ! as_user "$dave_user" job run --commands "show clock" --target all >"$work/job.out" 2>&1 &&
    grep -q "may act only on devices matching 'site=dc1' (its roles); 1 selected is outside it: $eos" "$work/job.out" ||
    { cat "$work/job.out"; return 1; }
}
check "a job on every device is refused, naming the one outside dc1" dave_job_outside
check "a job on dc1 runs" as_user "$dave_user" job run --commands "show clock" --target site=dc1
check "dave may not approve" refused "$dave_user" run.approve approve runs approve "$id"
dave_session_outside() {
  ! as_user "$dave_user" call device.session.open \
    --json "{\"holder\": \"dave-shell\", \"device\": \"$eos\", \"idle_timeout\": 30}" >"$work/session.out" 2>&1 &&
    grep -q "1 selected is outside it: $eos" "$work/session.out" || { cat "$work/session.out"; return 1; }
}
check "dave may not hold a session to the dc2 device" dave_session_outside
dave_cancels_roots_job() {
  local job
  job=$("$NAUTO" job run --commands "show clock" --target ios1 --detach) || return 1
  ! as_user "$dave_user" job cancel "$job" >"$work/cancel.out" 2>&1 &&
    grep -q "may cancel only the jobs it started; job $job was started by 'root'" "$work/cancel.out" ||
    { cat "$work/cancel.out"; return 1; }
}
check "dave may not cancel root's job" dave_cancels_roots_job
# Limited to dc1, dave cannot tell where another's run acts: he cancels only his own runs.
others=$("$NAUTO" run guarded --detach)
check "root's run waits" wait_for 10 awaiting "$others"
cancel_others() {
  ! as_user "$dave_user" runs cancel "$others" >"$work/cancel.out" 2>&1 &&
    grep -q "'dave' is limited to the devices 'site=dc1' and may cancel only the runs it started; run $others was started by 'root'" "$work/cancel.out" ||
    { cat "$work/cancel.out"; return 1; }
}
check "dave may not cancel root's run" cancel_others
check "root's run still waits" awaiting "$others"
own=$(as_user "$dave_user" run guarded --detach)
check "dave's own run waits" wait_for 10 awaiting "$own"
check "dave cancels his own run" as_user "$dave_user" runs cancel "$own"
check "root cancels its run" "$NAUTO" runs cancel "$others"
check "no module restarted" no_module_restarts

echo "auth: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
