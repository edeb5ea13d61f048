#!/usr/bin/env bash
# Integration: event-triggered remediation end to end. nauto-lab devices send syslog to nautod's
# syslog module; the rules module fires runbooks/rules/interface_remediation.yaml; the
# interface_remediate runbook checks the interface, asks for approval of the exact diff,
# applies `no shutdown` and verifies. Approved in one case, denied in another; plus malformed
# input (UDP and TCP), TCP framing, IPv6, flood shedding, and the causal chain in the journal.
#   remediation_test.sh NAUTOD NAUTO NAUTO_LAB RUNBOOK_DIR
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
LIBRARY=$4
work=$(mktemp -d /tmp/nauto-remediation-it-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  [ -n "${NAUTO_KEEP_TEST_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"
send_syslog() {  # send_syslog udp|tcp HOST PORT: stdin lines (udp: one datagram each; tcp: raw)
  python3 -c '
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
data = sys.stdin.buffer.read()
if proto == "udp":
    s = socket.socket(family, socket.SOCK_DGRAM)
    for line in data.split(b"\n"):
        if line:
            s.sendto(line.replace(b"NUL", b"\0"), (host, port))
else:
    s = socket.create_connection((host, port))
    s.sendall(data)
    s.close()
' "$1" "$2" "$3"
}
stats() { "$NAUTO" call syslog.stats -o json >"$work/stats.json" && cat "$work/stats.json"; }
stat_of() { stats >/dev/null && json_get "$work/stats.json" "$1"; }

claim_ports
syslog_port=$((base_port + 37))
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 41
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
syslog: {collector: 127.0.0.1:$syslog_port, format: rfc5424}
groups:
  - {platform: cisco_ios, count: 3, site: dc1, role: edge}
YAML
check "nauto-lab is ready" start_lab

cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s, attempts: 2, retry_delay: 50ms}
  runbooks: {dirs: [$LIBRARY], approval_timeout: 5m}
  syslog:
    listen: [udp://127.0.0.1:$syslog_port, tcp://127.0.0.1:$syslog_port, "udp://[::1]:$syslog_port"]
    # Low enough that the flood below passes it however slowly a loaded machine sends (at
    # 3,000/s a sanitizer run under load once sent too slowly to be shed at all).
    rate_per_source: 500
    burst_per_source: 1000
    trust_hostname_from: [127.0.0.1]  # every lab device sends from here, as through a relay
  rules: {dirs: [$LIBRARY/rules, $work/rules], reload_interval: 200ms, settle: 2s}
YAML
mkdir -p "$work/rules"
export NAUTO_CONFIG=$work/nauto.yaml
lab_credentials
check "nautod starts with the syslog and rules modules" start_nautod syslog.stats
knows_three_devices() { [ "$(stat_of 'd["devices"]')" = 3 ]; }  # asked again on every try
check "the syslog module knows the lab's devices" wait_for 10 knows_three_devices

listed() {
  "$NAUTO" rules list >"$work/rules.txt" && grep -q "interface-admin-down" "$work/rules.txt" &&
    grep -q "runbook interface_remediate" "$work/rules.txt"
}
check "rules list shows the library's remediation rule" listed

cat >"$work/bad-rules.yaml" <<'YAML'
rules:
  - name: broken
    on: device.*.interface.down
    cooldown: later
    action: {runbook: interface_remediate}
YAML
validate() {
  "$NAUTO" rules validate "$LIBRARY/rules/interface_remediation.yaml" &&
    ! "$NAUTO" rules validate "$work/bad-rules.yaml" 2>"$work/validate.err" &&
    grep -q "bad-rules.yaml:4: rules\[0\].cooldown: 'later' is not a duration" "$work/validate.err"
}
check "rules validate accepts the library file and points at a bad line" validate

cat >"$work/event-admin.json" <<'JSON'
{"topic": "device.ios1.interface.down",
 "body": {"device": "ios1", "known": true, "fields": {"interface": "GigabitEthernet0/3", "reason": "admin"}}}
JSON
cat >"$work/event-link.json" <<'JSON'
{"topic": "device.ios1.interface.down",
 "body": {"device": "ios1", "known": true, "fields": {"interface": "GigabitEthernet0/3", "reason": "link"}}}
JSON
rule_test() {
  "$NAUTO" rules test interface-admin-down --event "$work/event-admin.json" >"$work/test-yes.txt" &&
    grep -q "WOULD FIRE" "$work/test-yes.txt" &&
    grep -q '"interface":"GigabitEthernet0/3"' "$work/test-yes.txt" &&
    ! "$NAUTO" rules test interface-admin-down --event "$work/event-link.json" >"$work/test-no.txt" &&
    grep -q "fields.reason == admin: no (it is link)" "$work/test-no.txt"
}
check "rules test says whether and why a rule would fire" rule_test

# --- Approved: ios1's interface is shut at the console; the rule fires; approve; it comes back.
interface_of() {  # the device's first GigabitEthernet
  control GET "/devices/$1" | python3 -c "import json,sys; print([i['name'] for i in json.load(sys.stdin)['interfaces'] if i['name'].startswith('GigabitEthernet')][0])"
}
admin_up() {
  control GET "/devices/$1" | python3 -c "import json,sys; print([i['admin_up'] for i in json.load(sys.stdin)['interfaces'] if i['name'] == sys.argv[1]][0])" "$2"
}
pending_for() {  # pending_for DEVICE: the id of the approval waiting for that device
  "$NAUTO" approvals list -o json >"$work/pending.json" &&
    json_get "$work/pending.json" "[a['id'] for a in d if a.get('device') == '$1'][0]"
}
if1=$(interface_of ios1)
first_shut_at=$SECONDS
check "ios1's $if1 is shut through the lab's control interface" \
  control POST /devices/ios1/interface "{\"interface\": \"$if1\", \"shutdown\": true}"
check "the rule's runbook asks for approval" wait_for 20 pending_for ios1
approval=$(pending_for ios1 2>/dev/null)
show_approval() {
  "$NAUTO" approvals show "$approval" >"$work/show.txt" &&
    grep -q "interface $if1" "$work/show.txt" && grep -q "^ *- shutdown" "$work/show.txt" &&
    grep -q "started by rule interface-admin-down" "$work/show.txt" &&
    grep -q "sha256 [0-9a-f]\{64\}" "$work/show.txt"
}
check "approvals show gives the context and the exact diff with its hash" show_approval
check "the approver approves" "$NAUTO" approvals approve "$approval" --reason "planned fix"
run1=${approval%%/*}
run_is() {  # run_is ID STATE
  "$NAUTO" runs show "$1" -o json >"$work/run.json" &&
    [ "$(json_get "$work/run.json" 'd["run"]["state"]')" = "$2" ]
}
check "the remediation run succeeds" wait_for 30 run_is "$run1" succeeded
check "ios1's $if1 is up again on the device" test "$(admin_up ios1 "$if1")" = True
check "the lab saw 'no shutdown' on ios1" \
  sh -c "$(declare -f control); base_port=$base_port; control GET /devices/ios1/commands | grep -q 'no shutdown'"
chain_of_run() { "$NAUTO" runs show "$1" -o json >"$work/run.json" && json_get "$work/run.json" 'd["run"]["chain"]'; }
chain=$(chain_of_run "$run1" 2>/dev/null)
causal_chain() {
  "$NAUTO" events tail --chain "$chain" -n 200 -o json >"$work/chain.json" &&
    python3 - "$work/chain.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
topics = [e["topic"] for e in events]
print(topics)
need = ["device.ios1.interface.down", "rule.fired", "run.started", "run.approval",
        "run.approval.decided", "run.finished"]
positions = [topics.index(t) for t in need]  # raises if one is missing
assert positions == sorted(positions), "out of causal order"
# rule.action (the run's id, once run.start answered) and the device steps sit in between.
assert positions[1] < topics.index("rule.action") < positions[-1]
assert positions[2] < topics.index("run.step") < positions[-1]
decided = [e for e in events if e["topic"] == "run.approval.decided"][0]["body"]
assert decided["approved"] and decided["reason"] == "planned fix", decided
finished = [e for e in events if e["topic"] == "run.finished"][0]["body"]
assert finished["state"] == "succeeded", finished
PY
}
check "events tail --chain shows syslog -> rule -> run -> approval -> steps -> result" causal_chain

# --- Denied: ios2's interface stays down, the run fails, the decision is recorded.
if2=$(interface_of ios2)
check "ios2's $if2 is shut" control POST /devices/ios2/interface "{\"interface\": \"$if2\", \"shutdown\": true}"
check "an approval is asked for ios2" wait_for 20 pending_for ios2
approval2=$(pending_for ios2 2>/dev/null)
check "deny needs a reason" bash -c "'$NAUTO' approvals deny '$approval2' 2>&1 | grep -q 'say why with --reason'"
check "the approver denies" "$NAUTO" approvals deny "$approval2" --reason "change freeze"
run2=${approval2%%/*}
check "the denied run fails" wait_for 20 run_is "$run2" failed
denied_recorded() {
  "$NAUTO" runs show "$run2" -o json >"$work/run2.json" &&
    grep -q "rejected by .* (change freeze)" "$work/run2.json" &&
    "$NAUTO" events tail -t run.approval.decided -n 10 -o json >"$work/decided.json" &&
    json_get "$work/decided.json" "[e for e in d if e['body']['run'] == '$run2' and not e['body']['approved'] and e['body']['reason'] == 'change freeze'][0]"
}
check "the denial is recorded with who and why" denied_recorded
check "ios2's $if2 stays shut" test "$(admin_up ios2 "$if2")" = False
nothing_pushed_to_ios2() {  # the command log was read (it has the run's reads) and has no fix
  control GET /devices/ios2/commands >"$work/ios2-commands.json" &&
    grep -q '"command"' "$work/ios2-commands.json" && ! grep -q 'no shutdown' "$work/ios2-commands.json"
}
check "nothing was pushed to ios2" nothing_pushed_to_ios2

# --- Cooldown: the same interface shut again right away is not remediated twice within 2 m.
# The rule also drops a repeat of the same event within 10 s (dedup, counted only): on a fast
# machine the test gets here sooner than that, so wait it out to see the cooldown itself.
while ((SECONDS - first_shut_at < 11)); do sleep 0.5; done
check "ios1's $if1 is shut again" control POST /devices/ios1/interface "{\"interface\": \"$if1\", \"shutdown\": true}"
skipped_for_cooldown() {
  "$NAUTO" events tail -t rule.skipped -n 20 -o json >"$work/skipped.json" &&
    json_get "$work/skipped.json" "[e for e in d if e['body']['device'] == 'ios1' and e['body']['reason'] == 'cooldown'][0]"
}
check "the second firing on ios1 is held back by the cooldown, and says so" wait_for 10 skipped_for_cooldown
no_approval_for_ios1() {
  "$NAUTO" approvals list -o json >"$work/pending2.json" &&
    [ "$(json_get "$work/pending2.json" "len([a for a in d if a.get('device') == 'ios1'])")" = 0 ]
}
check "no approval was asked for it" no_approval_for_ios1

# --- Debounce, via a rule file dropped in while nautod runs (rules reload on change).
cat >"$work/rules/debounce.yaml" <<'YAML'
rules:
  - name: config-settled
    on: device.*.config.changed
    debounce: 1s
    action: {emit: {topic: audit_trail.config_settled, body: {device: "{{device}}", user: "{{fields.user}}"}}}
YAML
check "a new rules file is picked up without a restart" \
  wait_for 10 sh -c "'$NAUTO' rules list | grep -q config-settled"
burst() {
  for user in alice bob carol; do
    printf '<189>1 2026-11-24T10:00:00Z ios3 - - - - %%SYS-5-CONFIG_I: Configured from console by %s on vty0 (192.0.2.1)\n' "$user"
  done | send_syslog udp 127.0.0.1 "$syslog_port"
}
check "a burst of three config changes is sent" burst
settled_once() {
  "$NAUTO" events tail -t audit_trail.config_settled -n 10 -o json >"$work/settled.json" &&
    [ "$(json_get "$work/settled.json" 'len([e for e in d if e["body"]["device"] == "ios3"])')" = 1 ] &&
    [ "$(json_get "$work/settled.json" '[e for e in d if e["body"]["device"] == "ios3"][0]["body"]["body"]["user"]')" = carol ]
}
check "debounce: one event for the burst, carrying the last change" wait_for 10 settled_once
sleep 1.5  # not a synchronization: a second event could only come after another debounce of 1 s
check "and still only one after the quiet period" settled_once

# --- Malformed input, other framings, IPv6: counted, logged, no crash.
malformed_before=$(stat_of 'd["counters"]["malformed"]')
garbage() {
  printf 'hello\n<999>too big\n<13>1 - - - - - [unterminated\nNULNULNUL\n<>\n' | send_syslog udp 127.0.0.1 "$syslog_port" &&
    printf 'x%.0s' $(seq 1 20000) | send_syslog tcp 127.0.0.1 "$syslog_port" &&
    printf '12x <13>broken count' | send_syslog tcp 127.0.0.1 "$syslog_port"
}
check "garbage on UDP and TCP is sent" garbage
counted() {
  [ "$(stat_of "d['counters']['malformed'] - $malformed_before")" -ge 5 ] &&
    [ "$(stat_of 'd["listener"]["tcp_broken"]')" -ge 1 ] &&
    [ "$(stat_of 'd["listener"]["tcp_truncated"]')" -ge 1 ]
}
check "malformed messages and broken TCP streams are counted" wait_for 10 counted
check "malformed syslog is logged" wait_for 5 grep -q "malformed syslog from 127.0.0.1" "$work/nautod.jsonl"
framed() {
  python3 - "$syslog_port" <<'PY'
import socket, sys
port = int(sys.argv[1])
m1 = b"<189>Nov 24 10:00:00 ios3 %LINK-3-UPDOWN: Interface GigabitEthernet0/9, changed state to up"
m2 = b"<30>1 2026-11-24T10:00:00Z ios3 sshd 77 - - Failed password for root from 192.0.2.5 port 22"
s = socket.create_connection(("127.0.0.1", port))
s.sendall(str(len(m1)).encode() + b" " + m1 + m2 + b"\n")
s.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.sendto(b"<14>Nov 24 10:00:00 ios2 app: over IPv6", ("::1", port))
# A field that would carry a second line into a runbook's device command.
m3 = b"<187>Nov 24 10:00:01 ios3 %LINK-3-UPDOWN: Interface GigabitEthernet0/8\nreload, changed state to down"
s = socket.create_connection(("127.0.0.1", port))
s.sendall(str(len(m3)).encode() + b" " + m3)
s.close()
PY
}
check "octet-counted and newline-framed TCP messages and IPv6 datagrams are sent" framed
typed_events() {
  "$NAUTO" events tail -t device.ios3 -n 50 -o json >"$work/ios3.json" &&
    json_get "$work/ios3.json" "[e for e in d if e['topic'] == 'device.ios3.interface.up' and e['body']['fields']['interface'] == 'GigabitEthernet0/9'][0]" &&
    json_get "$work/ios3.json" "[e for e in d if e['topic'] == 'device.ios3.login.failed' and e['body']['fields']['address'] == '192.0.2.5'][0]" &&
    json_get "$work/ios3.json" "[e for e in d if e['topic'] == 'device.ios3.syslog' and 'reload' in e['body']['message'] and e['body']['fields'] == {}][0]" &&
    json_get "$work/ios3.json" "[e for e in d if 'GigabitEthernet0/8' in json.dumps(e['body'].get('fields'))] == [] or [][0]"
}
check "each became a typed device event; a field with a line break in it is not captured" wait_for 10 typed_events
spoofed() {  # ::1 is no relay: the HOSTNAME "ios2" is reported, not believed
  "$NAUTO" events tail -t device._unknown.syslog -n 20 -o json >"$work/unknown.json" &&
    json_get "$work/unknown.json" "[e for e in d if e['body']['message'] == 'over IPv6' and e['body']['address'] == '::1' and e['body']['hostname'] == 'ios2' and not e['body']['known']][0]" &&
    "$NAUTO" events tail -t device.ios2.syslog -n 20 -o json >"$work/ios2.json" &&
    json_get "$work/ios2.json" "[e for e in d if e['body']['message'] == 'over IPv6'] == [] or [][0]"
}
check "a HOSTNAME from an address that is no relay does not name the device" wait_for 10 spoofed

# --- Flood: far over the per-source rate; shed with counters, nautod keeps answering.
flood() {
  python3 - "$syslog_port" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
msg = b"<190>Nov 24 10:00:00 ios3 %SYS-6-LOGGINGHOST_STARTSTOP: flood"
for i in range(30000):
    try:
        s.sendto(msg, ("127.0.0.1", port))
    except BlockingIOError:
        pass
PY
}
check "30,000 datagrams are sent as fast as Python can" flood
accounted() {
  stats >/dev/null &&
    python3 - "$work/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, l = d["counters"], d["listener"]
assert c["rate_limited"] > 0, c
assert c["received"] == c["published"] + c["malformed"] + c["rate_limited"] + c["shed"], c
assert c["received"] == l["udp_datagrams"] + l["tcp_messages"], (c, l)
print(c, l)
PY
}
check "the flood is shed by the per-source rate, every message accounted for" wait_for 10 accounted
check "the shedding is logged" wait_for 5 grep -q "shedding syslog from 127.0.0.1" "$work/nautod.jsonl"
check "nautod still answers" "$NAUTO" rules list
check "nautod is still running" kill -0 "$pid"
check "no module restarted" no_module_restarts

echo "remediation: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
