#!/usr/bin/env bash
# Integration: verified principals (issue 30) - real processes under different unix users, made
# by the test (it needs root, as CI runs), talking to a real nautod over its ipc socket:
#   - `nauto whoami` shows the principal the kernel verified (SO_PEERCRED) and mapped through
#     auth.users: root is admin; a mapped user has its entry's name and roles; an unmapped one
#     has its login name and auth.default_roles;
#   - an approval is decided by the verified caller: a user who is not an approver is refused,
#     root cannot claim to be the approver, the approver's own user approves; whoever started
#     a run may not approve it (four-eyes);
#   - secrets go only to the modules that need them: vault.resolve refuses root, audited.
#   auth_test.sh NAUTOD NAUTO
set -uo pipefail
NAUTOD=$1
NAUTO=$2
. "$(dirname "$0")/checks.sh"
lab_test_setup auth
if [ "$(id -u)" != 0 ]; then
  echo "auth_test.sh needs root: it makes unix users" >&2
  exit 1
fi
add_test_user alice_user || exit 1
add_test_user bob_user || exit 1
mkdir -p "$work/runbooks"
cat >"$work/runbooks/guarded.lua" <<'LUA'
return runbook {
  name = "guarded",
  run = function()
    local decision = approve { message = "go ahead?", approvers = { "alice" }, timeout = 60 }
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
  users: [{user: $alice_user, name: alice, roles: [approver, operator]}]
modules:
  journal: {}
  vault: {}
  runbooks: {dirs: [$work/runbooks]}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
export NAUTO_CRED_LAB_USERNAME=admin NAUTO_CRED_LAB_PASSWORD=lab-secret-value
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
check "a user auth.users does not name is its login name, without roles" \
  whoami_is "$bob_user" "$bob_user" '[]'
check "the table output" sh -c "'$NAUTO' whoami | grep -E '^principal: root$'"

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

secret_refused() {
  ! "$NAUTO" call vault.resolve --json '{"names": ["lab"], "purpose": "curiosity"}' \
    >"$work/secret.out" 2>&1 &&
    grep -q "'root' may not read secrets" "$work/secret.out" &&
    ! grep -q lab-secret-value "$work/secret.out"
}
check "root may not read a secret over the bus" secret_refused
refusal_audited() {
  "$NAUTO" events tail --topic audit.secret.read -o json >"$work/audit.json" &&
    python3 - "$work/audit.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
print(text[-600:])
assert "lab-secret-value" not in text
bodies = [e.get("body", e) for e in json.loads(text)]
sys.exit(0 if any(b.get("who") == "root" and b.get("granted") is False and b.get("credential") == "lab"
                  for b in bodies) else 1)
PY
}
check "...and the refusal is audited, naming root" wait_for 5 refusal_audited
check "no module restarted" no_module_restarts

echo "auth: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
