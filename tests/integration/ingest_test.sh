#!/usr/bin/env bash
# Integration: the webhook and snmp_trap ingest modules in nautod. Signed webhooks and SNMP
# traps (sent with net-snmp's own snmptrap, v2c and v1, IPv4 and IPv6) become the same typed
# device.<name>.<kind> events as syslog, and a rule fires on them; unsigned, badly signed,
# malformed, oversized and wrong-community input is refused, counted and logged, never
# published, and nautod carries on. Secrets and communities appear in no log or event.
#   ingest_test.sh NAUTOD NAUTO
set -uo pipefail
NAUTOD=$1
NAUTO=$2
work=$(mktemp -d /tmp/nauto-ingest-it-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "${NAUTO_KEEP_TEST_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

claim_ports
hook_port=$((base_port + 1))
trap_port=$((base_port + 2))
secret="hook-secret-$$-$RANDOM"
community="traps-$$-$RANDOM"
cat >"$work/inventory.yaml" <<'YAML'
hosts:
  r1: {host: 127.0.0.1, platform: cisco_ios, site: dc1}
  r2: {host: "::1", platform: arista_eos, site: dc1}
  core1: {host: 192.0.2.10, platform: cisco_nxos, site: dc2}
YAML
mkdir -p "$work/rules"
cat >"$work/rules/ingest.yaml" <<'YAML'
rules:
  - name: any-interface-down
    on: device.*.interface.down
    when: {known: true, fields.reason: admin}
    action:
      emit: {topic: alerts.interface, body: {device: "{{device}}", via: "{{format}}", interface: "{{fields.interface}}"}}
  # The webhook action, signed, posted back to nautod's own webhook module: a closed loop.
  - name: escalate-bgp
    on: device.*.bgp.down
    when: {format: {in: [snmpv2c, snmpv1]}}
    action:
      webhook:
        url: http://127.0.0.1:HOOK_PORT/hooks/monitoring
        credential: webhook-monitoring
        body: {device: "{{device}}", kind: bgp.escalated, fields: {neighbor: "{{fields.neighbor}}"}}
  - name: notify-nobody
    on: device.*.bgp.down
    action: {webhook: {url: "http://127.0.0.1:DEAD_PORT/secret-path", timeout: 2s}}
  # Its cooldown must outlive a kill -9 of nautod (the rule state is kept in the store).
  - name: cooldown-across-restarts
    on: lab.cooldown
    cooldown: 1h
    action: {emit: {topic: alerts.cooldown, body: {n: "{{n}}"}}}
YAML
sed -i "s/HOOK_PORT/$hook_port/; s/DEAD_PORT/$((base_port + 3))/" "$work/rules/ingest.yaml"
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/inventory.yaml]}
  vault: {}
  webhook:
    listen: 127.0.0.1:$hook_port
    hooks: {monitoring: {credential: webhook-monitoring}}
    max_body: 4KiB
    trust_device_from: [127.0.0.1]   # the "monitoring system": its bodies may name devices
  snmp_trap:
    listen: [udp://127.0.0.1:$trap_port, "udp://[::1]:$trap_port"]
    communities: [$community]
    trust_agent_address_from: [127.0.0.1]   # a relay: its v1 agent addresses are believed
  rules: {dirs: [$work/rules], reload_interval: 200ms}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
export NAUTO_CRED_WEBHOOK_MONITORING_PASSWORD=$secret
"$NAUTOD" >>"$work/nautod.log" 2>&1 &
pid=$!
check "nautod starts with the webhook and snmp_trap modules" \
  wait_for 15 "$NAUTO" call snmp_trap.stats
hook_ready() {
  "$NAUTO" call webhook.stats -o json >"$work/hook-stats.json" &&
    [ "$(json_get "$work/hook-stats.json" 'd["hooks_ready"]')" = 1 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["devices"]')" = 3 ]
}
check "the webhook has its secret from the vault and knows the inventory" wait_for 10 hook_ready
alive() { kill -0 "$pid"; }

# post PATH BODY [SECRET|none] [SOURCE] [TIMES]: signs as nauto/sdk/webhook_signature.h says
# (timestamp, nonce, body), sends from SOURCE (default 127.0.0.1) TIMES times (default once,
# the same signed request each time) and prints each HTTP status and answer
post() {
  python3 - "$hook_port" "$1" "$2" "${3:-$secret}" "${4:-127.0.0.1}" "${5:-1}" <<'PY'
import hashlib, hmac, http.client, secrets, sys, time
port, path, body, secret, source, times = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4], sys.argv[5], int(sys.argv[6])
headers = {"Content-Type": "application/json"}
if secret != "none":
    timestamp, nonce = str(int(time.time()) + 1), secrets.token_hex(16)
    signed = timestamp.encode() + b"." + nonce.encode() + b"." + body
    headers.update({"X-Nauto-Timestamp": timestamp, "X-Nauto-Nonce": nonce,
                    "X-Nauto-Signature": "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()})
for _ in range(times):
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10, source_address=(source, 0))
    connection.request("POST", path, body=body, headers=headers)
    answer = connection.getresponse()
    print(answer.status, answer.read().decode())
    connection.close()
PY
}
events() {  # events TOPIC-PATTERN FILE
  "$NAUTO" events tail -t "$1" -n 50 -o json >"$2"
}
event_where() {  # event_where TOPIC PYTHON-CONDITION-ON-b (the body)
  events "$1" "$work/events.json" && python3 - "$work/events.json" "$2" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
assert any(eval(sys.argv[2], {"json": json}, {"b": e["body"]}) for e in events), json.dumps(events)[:1500]
PY
}

# --- Webhooks
signed() {
  post /hooks/monitoring '{"device": "r1", "kind": "interface.down", "message": "Gi0/1 shut by NOC tool", "severity": "error", "fields": {"interface": "GigabitEthernet0/1", "reason": "admin"}, "ticket": "CHG-1"}' >"$work/post.out" &&
    grep -q '^202 ' "$work/post.out"
}
check "a signed webhook is accepted (202)" signed
check "it is published as device.r1.interface.down with its fields and payload" \
  wait_for 10 event_where device.r1.interface.down \
  'b["format"] == "webhook" and b["known"] and b["fields"]["interface"] == "GigabitEthernet0/1" and b["severity_name"] == "error" and b["payload"]["ticket"] == "CHG-1" and b["hook"] == "monitoring"'
check "the rule fires on the webhook event" \
  wait_for 10 event_where alerts.interface \
  'b["rule"] == "any-interface-down" and b["body"]["device"] == "r1" and b["body"]["via"] == "webhook"'
by_host() {
  post /hooks/monitoring '{"host": "192.0.2.10", "kind": "bgp.down", "fields": {"neighbor": "10.1.1.1"}}' | grep -q '^202 ' &&
    wait_for 10 event_where device.core1.bgp.down 'b["fields"]["neighbor"] == "10.1.1.1"'
}
check "a device named by its address is found in the inventory" by_host
untrusted_claim() {
  post /hooks/monitoring '{"device": "r1", "host": "192.0.2.10", "kind": "claim.check"}' "$secret" 127.0.0.2 | grep -q '^202 ' &&
    wait_for 10 event_where device._unknown.claim.check 'not b["known"] and b["device"] == "" and b["address"] == "127.0.0.2" and b["peer"] == "127.0.0.2"'
}
check "a sender that is not a trusted relay cannot name the device (the body says r1: unknown)" \
  untrusted_claim
replayed() {
  post /hooks/monitoring '{"device": "r1", "kind": "replay.check"}' "$secret" 127.0.0.1 2 >"$work/replay.out"
  cat "$work/replay.out"
  [ "$(sed -n 1p "$work/replay.out" | cut -c1-3)" = 202 ] &&
    sed -n 2p "$work/replay.out" | grep -q '^401 .*already used'
}
check "the same signed request sent twice: the second is refused as a replay (401)" replayed
refused() {  # refused STATUS TEXT PATH BODY [SECRET]
  local status=$1 text=$2
  shift 2
  post "$@" >"$work/refused.out"
  cat "$work/refused.out"
  grep -q "^$status " "$work/refused.out" && grep -q -- "$text" "$work/refused.out"
}
check "an unsigned webhook is refused (401) and told how to sign" \
  refused 401 "X-Nauto-Signature" /hooks/monitoring '{"device": "r1"}' none
check "a webhook signed with another secret is refused (401)" \
  refused 401 "does not match" /hooks/monitoring '{"device": "r1"}' wrong-secret
check "a body that is not JSON is refused (400) with where" \
  refused 400 "not JSON" /hooks/monitoring '{"device": "r1", '
check "a bad kind is refused (400) with the form expected" \
  refused 400 "not an event kind" /hooks/monitoring '{"device": "r1", "kind": "Interface Down!"}'
check "an unknown hook is refused (404)" \
  refused 404 "no hook" /hooks/nobody '{"device": "r1"}'
big=$(python3 -c 'print("{\"device\": \"r1\", \"message\": \"" + "x" * 8000 + "\"}")')
check "a body over max_body is refused (413)" refused 413 "" /hooks/monitoring "$big"
check "nautod is still running after bad webhooks" alive
hook_counted() {
  "$NAUTO" call webhook.stats -o json >"$work/hook-stats.json" &&
    json_get "$work/hook-stats.json" 'd["http"]' &&
    [ "$(json_get "$work/hook-stats.json" 'd["http"]["rejected"]')" = 3 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["http"]["replayed"]')" = 1 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["http"]["malformed"]')" = 2 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["http"]["too_large"]')" = 1 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["http"]["unknown_hook"]')" = 1 ] &&
    [ "$(json_get "$work/hook-stats.json" 'd["counters"]["published"]')" = 4 ]
}
check "webhook.stats counts each refusal and each publication" wait_for 5 hook_counted

# --- SNMP traps, sent by net-snmp's snmptrap (no MIBs loaded: numeric OIDs)
export MIBS="" SNMPCONFPATH=$work
snmp() {  # snmp snmptrap|snmpinform ARGS...
  local command=$1
  shift
  "$command" -M /dev/null -m "" "$@" >>"$work/snmptrap.out" 2>&1
}
IF=1.3.6.1.2.1.2.2.1
check "snmptrap sends a v2c linkDown over IPv4" \
  snmp snmptrap -v 2c -c "$community" "udp:127.0.0.1:$trap_port" '' 1.3.6.1.6.3.1.1.5.3 \
  $IF.1.2 i 2 $IF.2.2 s GigabitEthernet0/2 $IF.7.2 i 2 $IF.8.2 i 2
check "the linkDown is device.r1.interface.down, admin, with the interface" \
  wait_for 10 event_where device.r1.interface.down \
  'b["format"] == "snmpv2c" and b["fields"]["interface"] == "GigabitEthernet0/2" and b["fields"]["reason"] == "admin" and b["rule"] == "linkDown"'
check "the same rule fires on the trap" \
  wait_for 10 event_where alerts.interface \
  'b["body"]["via"] == "snmpv2c" and b["body"]["interface"] == "GigabitEthernet0/2"'
check "snmptrap sends a v2c BGP backward transition over IPv6" \
  snmp snmptrap -v 2c -c "$community" "udp6:[::1]:$trap_port" '' 1.3.6.1.2.1.15.0.2 \
  1.3.6.1.2.1.15.3.1.14.10.0.0.2 x 0602 1.3.6.1.2.1.15.3.1.2.10.0.0.2 i 1
check "it is device.r2.bgp.down with the neighbor (the IPv6 source is r2's host)" \
  wait_for 10 event_where device.r2.bgp.down \
  'b["fields"]["neighbor"] == "10.0.0.2" and b["fields"]["state"] == "idle" and b["address"] == "::1"'
check "the webhook action posts, signed, to the webhook module: device.r2.bgp.escalated" \
  wait_for 15 event_where device.r2.bgp.escalated \
  'b["fields"]["neighbor"] == "10.0.0.2" and b["format"] == "webhook"'
check "rule.action records the webhook call and its status" \
  wait_for 10 event_where rule.action 'b["rule"] == "escalate-bgp" and b["status"] == 202'
check "a webhook nobody answers is rule.action_failed, with the reason and without the URL's path" \
  wait_for 15 event_where rule.action_failed \
  'b["rule"] == "notify-nobody" and b["error"] and "secret-path" not in json.dumps(b)'
check "snmptrap sends a v1 linkUp naming its agent" \
  snmp snmptrap -v 1 -c "$community" "udp:127.0.0.1:$trap_port" 1.3.6.1.4.1.8072.3.2.10 192.0.2.10 3 0 '' \
  $IF.2.4 s Ethernet4
check "the v1 trap is device.core1.interface.up (agent address 192.0.2.10, from a trusted relay)" \
  wait_for 10 event_where device.core1.interface.up \
  'b["format"] == "snmpv1" and b["fields"]["interface"] == "Ethernet4"'
check "a v1 linkUp naming core1 is sent from 127.0.0.2, which is no relay" \
  snmp snmptrap --clientaddr=127.0.0.2 -v 1 -c "$community" "udp:127.0.0.1:$trap_port" \
  1.3.6.1.4.1.8072.3.2.10 192.0.2.10 3 0 '' $IF.2.4 s Ethernet5
check "its agent address is not believed: the device is the unknown source 127.0.0.2" \
  wait_for 10 event_where device._unknown.interface.up \
  'b["format"] == "snmpv1" and b["fields"]["interface"] == "Ethernet5" and b["address"] == "127.0.0.2"'
check "a trap with another community is sent" \
  snmp snmptrap -v 2c -c not-the-community "udp:127.0.0.1:$trap_port" '' 1.3.6.1.6.3.1.1.5.1
# An inform wants an answer nauto does not give: snmpinform times out, which is expected.
snmp snmpinform -v 2c -c "$community" -r 0 -t 1 "udp:127.0.0.1:$trap_port" '' 1.3.6.1.6.3.1.1.5.1
garbage() {
  python3 - "$trap_port" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for data in [b"", b"not snmp at all", b"\x30\x84\xff\xff\xff\xff", b"\x30\x0b\x02\x01\x01\x04\x01c\xa7\x03\x02\x01"]:
    s.sendto(data, ("127.0.0.1", int(sys.argv[1])))
PY
}
check "malformed datagrams are sent to the trap port" garbage
trap_counted() {
  "$NAUTO" call snmp_trap.stats -o json >"$work/trap-stats.json" &&
    json_get "$work/trap-stats.json" 'd["counters"]' &&
    [ "$(json_get "$work/trap-stats.json" 'd["counters"]["rejected"]')" = 1 ] &&
    [ "$(json_get "$work/trap-stats.json" 'd["counters"]["malformed"]')" = 5 ] &&
    [ "$(json_get "$work/trap-stats.json" 'd["counters"]["unsupported"]')" = 1 ] &&
    [ "$(json_get "$work/trap-stats.json" 'd["counters"]["published"]')" = 4 ]
}
check "snmp_trap.stats: 4 published, 1 bad community, 5 malformed (1 an inform)" \
  wait_for 10 trap_counted
check "nautod is still running after bad traps" alive
no_restart_event() {
  events 'device.*.restart' "$work/restart.json" &&
    [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/restart.json")" = 0 ]
}
check "the wrong-community and inform coldStarts published nothing" no_restart_event
logged() {
  grep -q "trap from 127.0.0.1 refused" "$work/nautod.jsonl" "$work/nautod.log"
}
check "refused traps are logged with their source" logged
no_secrets() {
  "$NAUTO" events tail -n 500 -o json >"$work/all-events.json" &&
    [ -s "$work/nautod.jsonl" ] && [ -s "$work/nautod.log" ] && [ -s "$work/all-events.json" ] &&
    ! grep -q -- "$secret" "$work/nautod.jsonl" "$work/nautod.log" "$work/all-events.json" &&
    ! grep -q -- "$community" "$work/nautod.jsonl" "$work/nautod.log" "$work/all-events.json"
}
check "neither the webhook secret nor the community is in a log or an event" no_secrets

# The rules module killed mid-cooldown (nautod with it, kill -9) still refuses the repeat.
count_events() {  # count_events TOPIC: how many the journal has
  events "$1" "$work/count.json" >/dev/null &&
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/count.json"
}
fired_once() { [ "$(count_events alerts.cooldown)" = 1 ]; }
first_firing() {
  "$NAUTO" events publish lab.cooldown --json '{"n": 1}' >/dev/null && wait_for 10 fired_once
}
check "a rule with a 1 h cooldown fires" first_firing
kill -9 "$pid" && wait "$pid" 2>/dev/null
"$NAUTOD" >>"$work/nautod.log" 2>&1 &
pid=$!
check "nautod starts again after kill -9" wait_for 15 "$NAUTO" call rules.list
cooled_down() {
  events rule.skipped "$work/skipped.json" >/dev/null &&
    python3 - "$work/skipped.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))
sys.exit(0 if any(e["body"].get("rule") == "cooldown-across-restarts" and
                  e["body"].get("reason") == "cooldown" for e in events) else 1)
PY
}
repeat_refused() {
  "$NAUTO" events publish lab.cooldown --json '{"n": 2}' >/dev/null || return 1
  wait_for 10 cooled_down || { cat "$work/skipped.json"; return 1; }
  fired_once || { echo "alerts.cooldown: $(count_events alerts.cooldown) events"; return 1; }
  wait_for 5 grep -q "rules state restored" "$work/nautod.jsonl" "$work/nautod.log" ||
    { echo "no 'rules state restored' logged"; return 1; }
}
check "the restarted rules module refuses the repeat: cooldown, not fired again" repeat_refused

check "no module restarted" no_module_restarts

echo "ingest: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
