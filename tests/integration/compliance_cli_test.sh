#!/usr/bin/env bash
# Integration: compliance end to end (issue 28) - nauto-lab devices of three platforms, nautod
# with the configs and compliance modules, and `nauto compliance` as a user runs it: a policy
# with every check kind, runs from the archive (no device touched) and live (show output parsed
# with ntc-templates, NAPALM getters), changes that make rules fail and pass again with their
# violation and resolution events, history and the trend, the report in its four formats, and
# policies reloaded when their files change.
#   compliance_cli_test.sh NAUTOD NAUTO NAUTO_LAB NTC_TEMPLATES RUNBOOKS BASELINE
set -uo pipefail
NAUTOD=$1
NAUTO=$2
LAB=$3
TEMPLATES=$4
RUNBOOKS=$5
BASELINE=$6
. "$(dirname "$0")/checks.sh"
lab_test_setup compliance

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 28
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 3, ports: 4, site: dc1}
  - {platform: cisco_ios, count: 1, ports: 4, site: dc2}
  - {platform: arista_eos, count: 1, ports: 4, site: dc2}
  - {platform: juniper_junos, count: 1, ports: 4, site: dc2}
YAML
check "nauto-lab is ready" start_lab

mkdir -p "$work/policies"
cat >"$work/policies/lab.yaml" <<'YAML'
name: lab
description: what the lab's devices must have
rules:
  - id: vty-ssh-only
    severity: high
    description: VTY lines accept SSH only
    scope: platform=cisco_ios
    within: {section: '^line vty'}
    must_not_match: 'transport input .*telnet'
    remediation: {lines: "line vty 0 4\n transport input ssh"}
  - id: aaa-new-model
    severity: high
    description: AAA is on
    scope: platform=cisco_ios
    must_match: '^aaa new-model$'
  - id: linked-interfaces-described
    description: every interface with an address has a description
    scope: platform=cisco_ios
    within: {section: '^interface GigabitEthernet', having: '^ip address \d'}
    must_match: '^description .+'
  - id: timestamps
    severity: low
    scope: platform=cisco_ios
    must_contain_lines: |
      service timestamps debug datetime msec
      service timestamps log datetime msec
  - id: two-ntp-servers
    description: the two NTP servers, and no other
    validate:
      - get_ntp_servers: {_mode: strict, 10.0.0.1: {}, 10.0.0.2: {}}
  - id: bgp-established
    description: every BGP neighbor is up, and there are two
    scope: platform=cisco_ios
    command: show ip bgp summary
    expect:
      - {field: state_or_prefixes_received, regex: '^\d+$'}
      - {count: {'>=': 2}}
  - id: napalm-facts
    scope: platform=cisco_ios
    validate:
      - get_facts:
          vendor: Cisco
          interface_list: {list: [GigabitEthernet0/0, GigabitEthernet0/1]}
      - get_interfaces:
          GigabitEthernet0/0: {is_enabled: true, is_up: true}
  - id: junos-no-telnet
    scope: platform=juniper_junos
    must_not_match: '^set system services telnet'
YAML

cp "$BASELINE" "$work/policies/baseline.yaml"
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
  configs: {}
  runbooks: {dirs: [$RUNBOOKS]}
  compliance:
    dirs: [$work/policies]
    textfsm_templates: $TEMPLATES
    reload_interval: 200ms
YAML
export NAUTO_CONFIG=$work/nauto.yaml
check "nautod starts with the compliance module" start_nautod compliance.policies
check "credentials" sh -c "printf 'lab-pass\nlab-enable\n' | '$NAUTO' creds set lab --username admin --enable"

check "the policy is loaded with its 8 rules" sh -c "
  '$NAUTO' compliance policies && '$NAUTO' compliance policies lab | tee '$work/rules.txt' &&
  [ \$(grep -c -E '^(vty|aaa|linked|timestamps|two-ntp|bgp|napalm|junos)' '$work/rules.txt') = 8 ]"

cat >"$work/bad.yaml" <<'YAML'
rules:
  - id: broken
    must_match: '(unclosed'
  - id: two
    severity: urgent
    must_match: x
YAML
check "validate names each problem with file and line" sh -c "
  ! '$NAUTO' compliance validate '$work/bad.yaml' 2>'$work/bad.err'; cat '$work/bad.err';
  grep -q 'bad.yaml:3: must_match:' '$work/bad.err' && grep -q \"bad.yaml:5: severity: 'urgent'\" '$work/bad.err'"

# Before any backup the archive has nothing: the config rules cannot be checked.
run_policy() {  # run_policy EXPECTED-EXIT ARGS...: a run, its record in $work/run.json
  local expected=$1
  shift
  "$NAUTO" compliance run --policy lab "$@" -o json >"$work/run.json"
  local status=$?
  cat "$work/run.json"
  [ "$status" = "$expected" ]
}
counts() {  # counts: "state devices pass fail errors skipped violations resolved" of the last run
  json_get "$work/run.json" 'd["state"], d["devices"], d["pass"], d["fail"], d["error_count"], d["skipped"], d.get("violations", 0), d.get("resolved", 0)'
}
check "a run with no archived configs reports errors, not failures (exit 3)" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 && [ \"\$(counts)\" = 'finished 6 0 0 23 8 0 0' ] &&
  '$NAUTO' compliance results --policy lab --device ios1 | grep -q 'no archived config'"

check "the first backup" "$NAUTO" config backup --why compliance
# From the archive: 4 IOS fail aaa, all 6 fail NTP; the live rules are skipped.
check "a run over the archive: 13 passed, 10 failed, 8 skipped, 10 violations" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 && [ \"\$(counts)\" = 'finished 6 13 10 0 8 10 0' ]"
# The shipped baseline over the lab (IOS, EOS, Junos), from the same archive: the lab's IOS has
# SSH-only VTYs and a banner but no AAA, NTP or logging server; the SNMP rules wait for --live.
baseline_statuses() {  # each device's letters, one per baseline rule (p f e s, - not in scope)
  "$NAUTO" compliance results --policy baseline -o json >"$work/baseline-results.json" &&
    json_get "$work/baseline-results.json" '" ".join(x["device"] + ":" + x["statuses"].replace("-", "") for x in d["devices"])'
}
check "the shipped baseline runs over the archive: 11 passed, 20 failed, 6 skipped, no error" sh -c "
  $(declare -f json_get baseline_statuses); work='$work'; NAUTO='$NAUTO'
  '$NAUTO' compliance run --policy baseline -o json >'$work/baseline.json'; baseline_statuses;
  [ \"\$(baseline_statuses)\" = 'eos5:pffsff ios1:pffsfp ios2:pffsfp ios3:pffsfp ios4:pffsfp junos6:ppffsff' ] &&
  [ \"\$(json_get '$work/baseline.json' 'd[\"devices\"], d[\"pass\"], d[\"fail\"], d[\"skipped\"], d[\"error_count\"]')\" = '6 11 20 6 0' ]"
check "the run touched no device (no job ran)" sh -c "
  $(declare -f json_get); '$NAUTO' job list -o json >'$work/jobs.json' &&
  cat '$work/jobs.json';
  [ \"\$(json_get '$work/jobs.json' '[j[\"spec\"][\"kind\"] for j in d]')\" = \"['get_config']\" ]"
check "the violation events are in the journal" sh -c "
  '$NAUTO' events tail --topic compliance.violation -n 100 >'$work/violations.txt';
  cat '$work/violations.txt';
  [ \$(grep -c 'two-ntp-servers' '$work/violations.txt') = 6 ]"
check "results name the missing servers (NAPALM's report) and the failing rule" sh -c "
  '$NAUTO' compliance results --policy lab --device ios1 -o json >'$work/ios1.json' &&
  python3 - '$work/ios1.json' <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
device = d['devices'][0]
results = {r['rule']: r for r in device['results']}
assert set(results) == {'aaa-new-model', 'two-ntp-servers', 'bgp-established', 'napalm-facts'}, results.keys()
ntp = results['two-ntp-servers']['detail']['get_ntp_servers']
assert ntp['complies'] is False and sorted(ntp['missing']) == ['10.0.0.1', '10.0.0.2'], ntp
assert results['aaa-new-model']['missing'] == ['^aaa new-model\$']
assert device['site'] == 'dc1' and device['statuses'][:5] == 'pfppf', device['statuses']
PY"

# Changes: ios1 gets AAA and the NTP servers (two rules resolved), ios2 lets telnet in (a
# violation), ios3 brings up an interface with an address and no description (another).
printf 'aaa new-model\nntp server 10.0.0.1\nntp server 10.0.0.2\n' >"$work/fix.txt"
check "push AAA and NTP to ios1" "$NAUTO" job push --config "$work/fix.txt" -t name=ios1
printf 'line vty 0 4\n transport input ssh telnet\n' >"$work/telnet.txt"
check "let telnet in on ios2" "$NAUTO" job push --config "$work/telnet.txt" -t name=ios2
printf 'interface GigabitEthernet0/3\n ip address 10.99.0.1 255.255.255.0\n no shutdown\n' >"$work/undescribed.txt"
check "an undescribed interface on ios3" "$NAUTO" job push --config "$work/undescribed.txt" -t name=ios3
check "the second backup" "$NAUTO" config backup --why compliance
check "the next run: 2 resolved, 2 new violations" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 && [ \"\$(counts)\" = 'finished 6 13 10 0 8 2 2' ]"
check "results show the offending line under its section" sh -c "
  '$NAUTO' compliance results --policy lab --device ios2 | tee '$work/ios2.txt' &&
  grep -q 'line vty 0 4 > transport input ssh telnet' '$work/ios2.txt' &&
  '$NAUTO' compliance results --policy lab --device ios3 | grep -q 'interface GigabitEthernet0/3'"
check "resolved events for ios1" sh -c "
  '$NAUTO' events tail --topic compliance.resolved -n 100 >'$work/resolved.txt';
  cat '$work/resolved.txt'; [ \$(grep -c 'ios1' '$work/resolved.txt') = 2 ]"

# Live: show ip bgp summary parsed, facts and interfaces as NAPALM getters.
check "a live run of the IOS devices: every check made, the BGP and NAPALM rules pass" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 --live -t platform=cisco_ios && [ \"\$(counts)\" = 'finished 4 20 8 0 0 0 0' ]"
check "a BGP neighbor of ios4 goes down" control POST /devices/ios4/bgp '{"neighbor": "10.0.0.14", "up": false}'
check "the live run finds it: bgp-established fails on ios4 alone" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 --live -t platform=cisco_ios && [ \"\$(counts)\" = 'finished 4 19 9 0 0 1 0' ] &&
  '$NAUTO' compliance results --policy lab --status fail -o json >'$work/failing.json' &&
  python3 - '$work/failing.json' <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bgp = [dev['device'] for dev in d['devices'] for r in dev['results'] if r['rule'] == 'bgp-established']
assert bgp == ['ios4'], bgp
PY"

# The report, in its four formats, over the latest run with the trend of the earlier ones.
check "report as a table: scores per device, rule and site, and the trend" sh -c "
  '$NAUTO' compliance report --policy lab | tee '$work/report.txt' &&
  grep -q '^Devices' '$work/report.txt' && grep -q '^Rules' '$work/report.txt' &&
  grep -q '^Sites' '$work/report.txt' && grep -q '^Trend' '$work/report.txt' &&
  grep -q 'bgp-established' '$work/report.txt'"
check "report as JSON: the score and a trend of the 5 finished runs" sh -c "
  '$NAUTO' compliance report --policy lab --format json >'$work/report.json' &&
  python3 - '$work/report.json' <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d['score'] == 67.9, d['score']  # 19 of 28
assert len(d['trend']) == 5, d['trend']
ios4 = [x for x in d['devices'] if x['device'] == 'ios4'][0]
assert ios4['failing'] == ['aaa-new-model', 'two-ntp-servers', 'bgp-established'], ios4
assert {s['site'] for s in d['sites']} == {'dc1', 'dc2'}, d['sites']
PY"
check "report as CSV: one row per device, rule, site and run" sh -c "
  '$NAUTO' compliance report --policy lab --format csv >'$work/report.csv' &&
  python3 - '$work/report.csv' <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sections = [r['section'] for r in rows]
assert sections.count('device') == 4 and sections.count('rule') == 8, sections
assert sections.count('site') == 2 and sections.count('trend') == 5, sections
PY"
check "report as HTML: a page with its four tables" sh -c "
  '$NAUTO' compliance report --policy lab --format html >'$work/report.html' &&
  python3 - '$work/report.html' <<'PY'
import sys
from html.parser import HTMLParser
class Tables(HTMLParser):
    tables = 0
    def handle_starttag(self, tag, attrs):
        if tag == 'table': self.tables += 1
page = open(sys.argv[1]).read()
parser = Tables(); parser.feed(page)
assert parser.tables == 4 and page.startswith('<!DOCTYPE html>'), parser.tables
PY"
check "runs lists the history, newest first" sh -c "
  $(declare -f json_get); '$NAUTO' compliance runs --policy lab -o json >'$work/runs.json' &&
  [ \"\$(json_get '$work/runs.json' 'len(d[\"runs\"])')\" = 5 ]"

# A fix: ios2's telnet VTY, the rule's remediation lines - first as a dry run (the diff, nothing
# changed), then through the compliance_fix runbook, its diff approved, and the next run shows
# the rule resolved.
check "fix --dry-run shows ios2's diff and changes nothing" sh -c "
  $(declare -f control); base_port=$base_port; '$NAUTO' compliance fix --policy lab --rule vty-ssh-only --dry-run | tee '$work/fix-dry.txt' &&
  grep -q '^== ios2' '$work/fix-dry.txt' && grep -q 'transport input ssh' '$work/fix-dry.txt' &&
  [ \$(grep -c '^== ' '$work/fix-dry.txt') = 1 ] &&
  control GET /devices/ios2/config | grep -q 'transport input ssh telnet'"
check "a rule without a remediation cannot be fixed" sh -c "
  ! '$NAUTO' compliance fix --policy lab --rule aaa-new-model 2>'$work/nofix.err'; cat '$work/nofix.err';
  grep -q 'has no remediation' '$work/nofix.err'"
check "fix starts the fix runbook; ios2's diff waits for approval" sh -c "
  $(declare -f json_get); '$NAUTO' compliance fix --policy lab --rule vty-ssh-only -o json >'$work/fix.json' && cat '$work/fix.json' &&
  [ \"\$(json_get '$work/fix.json' 'd[\"devices\"]')\" = \"['ios2']\" ]"
fix_run=$(json_get "$work/fix.json" 'd["runs"][0]' 2>/dev/null)
approval_waiting() {
  "$NAUTO" approvals list -o json >"$work/approvals.json" &&
    [ "$(json_get "$work/approvals.json" '[a["device"] for a in d]')" = "['ios2']" ]
}
check "the approval is listed for ios2" wait_for 30 approval_waiting
check "approve it" sh -c "'$NAUTO' approvals approve \"\$(python3 -c \"import json; print(json.load(open('$work/approvals.json'))[0]['id'])\")\" --reason 'compliance fix'"
run_succeeded() {
  "$NAUTO" runs show "$fix_run" -o json >"$work/fix-run.json" &&
    [ "$(json_get "$work/fix-run.json" 'd.get("state", d.get("run", {}).get("state"))')" = succeeded ]
}
check "the fix run succeeds" wait_for 30 run_succeeded
check "the next live run of ios2 shows the rule resolved" sh -c "
  $(declare -f run_policy counts json_get); work='$work'; NAUTO='$NAUTO'
  run_policy 3 --live -t name=ios2 && [ \"\$(counts)\" = 'finished 1 5 2 0 0 0 1' ]"

# Policies follow their files.
cat >>"$work/policies/lab.yaml" <<'YAML'
  - id: hostname-set
    must_match: '^(hostname|set system host-name) \S+'
YAML
check "an added rule is loaded" wait_for 10 sh -c "'$NAUTO' compliance policies lab | grep -q hostname-set"
cp "$work/bad.yaml" "$work/policies/bad.yaml"
check "a broken file is left out with its problems; the others stay" wait_for 10 sh -c "
  '$NAUTO' compliance policies 2>&1 | tee '$work/policies.txt' | grep -q 'bad.yaml:3' &&
  grep -q '^lab ' '$work/policies.txt'"
check "an unknown policy is named with those loaded" sh -c "
  ! '$NAUTO' compliance run --policy nope 2>'$work/nope.err'; cat '$work/nope.err';
  grep -q \"no compliance policy 'nope' (loaded: baseline, lab)\" '$work/nope.err'"
# The gate: a policy marked gate: true is checked against each push's predicted config.
cat >"$work/policies/gate.yaml" <<'YAML'
name: gate
gate: true
rules:
  - id: no-http-server
    severity: high
    description: the HTTP server stays off
    scope: platform=cisco_ios
    must_not_match: '^ip http server$'
  - id: vty-ssh-only
    severity: high
    scope: platform=cisco_ios
    within: {section: '^line vty'}
    must_not_match: 'telnet'
YAML
check "the gate policy is loaded" wait_for 10 sh -c "'$NAUTO' compliance policies | grep -q '^gate .* yes'"
printf 'ip http server\n' >"$work/http.txt"
check "a push that would break a gate rule is refused, naming the device and the rule" sh -c "
  $(declare -f control); base_port=$base_port
  ! '$NAUTO' job push --config '$work/http.txt' -t name=ios1 2>'$work/refused.err'; cat '$work/refused.err';
  grep -q 'refused by the compliance gate: ios1: gate/no-http-server (high)' '$work/refused.err' &&
  ! control GET /devices/ios1/config | grep -q 'ip http server'"
printf 'line vty 0 4\n transport input ssh telnet\n' >"$work/telnet2.txt"
check "and one under a section: telnet on ios3's VTY" sh -c "
  ! '$NAUTO' job push --config '$work/telnet2.txt' -t name=ios3 2>'$work/refused2.err'; cat '$work/refused2.err';
  grep -q 'ios3: gate/vty-ssh-only' '$work/refused2.err'"
printf 'ip domain name lab.example.net\n' >"$work/good.txt"
check "a push that breaks no gate rule goes" sh -c "
  $(declare -f control); base_port=$base_port
  '$NAUTO' job push --config '$work/good.txt' -t 'name=ios1,ios3' &&
  control GET /devices/ios1/config | grep -q 'ip domain name lab.example.net'"
check "a dry run is never refused" "$NAUTO" job push --config "$work/http.txt" -t name=ios1 --dry-run
check "an override with a reason pushes, and the journal keeps who and why" sh -c "
  $(declare -f control); base_port=$base_port
  '$NAUTO' job push --config '$work/http.txt' -t name=ios1 --override-compliance 'CHG-7 lab test' &&
  control GET /devices/ios1/config | grep -q 'ip http server' &&
  '$NAUTO' events tail --topic compliance.gate -n 20 | tee '$work/gate-events.txt' &&
  grep 'compliance.gate.overridden' '$work/gate-events.txt' | grep -q 'CHG-7 lab test' &&
  grep 'compliance.gate.refused' '$work/gate-events.txt' | grep -q no-http-server"
check "a device already failing a gate rule may still get other changes" sh -c "
  '$NAUTO' job push --config '$work/good.txt' -t name=ios1"
# Lua rules, over the archive: each config names its device; IOS devices shut at most one port.
cat >"$work/policies/lua.yaml" <<'YAML'
name: lua
rules:
  - id: names-its-device
    lua: |
      function check(config, facts)
        if config:find("hostname " .. facts.device, 1, true) or
           config:find("<host-name>" .. facts.device .. "<", 1, true) then
          return true
        end
        return false, "the config does not name " .. facts.device
      end
  - id: at-most-one-port-shut
    scope: platform=cisco_ios
    lua: |
      function check(config)
        local shut, current = {}, nil
        for line in config:gmatch("[^\n]+") do
          local name = line:match("^interface (%S+)")
          if name then
            current = name
          elseif not line:match("^ ") then
            current = nil
          elseif current and line == " shutdown" then
            shut[#shut + 1] = "interface " .. current
          end
        end
        if #shut > 1 then return false, #shut .. " ports shut down", shut end
        return true
      end
YAML
check "the lua policy is loaded" wait_for 10 sh -c "'$NAUTO' compliance policies lua | grep -q at-most-one-port-shut"
check "lua rules over the archive: every config names its device; 3 IOS shut two ports" sh -c "
  $(declare -f json_get); '$NAUTO' compliance run --policy lua -o json >'$work/lua.json'; cat '$work/lua.json' | head -3;
  [ \"\$(json_get '$work/lua.json' 'd[\"pass\"], d[\"fail\"], d[\"error_count\"]')\" = '7 3 0' ] &&
  '$NAUTO' compliance results --policy lua --device ios1 | tee '$work/lua-ios1.txt' &&
  grep -q '2 ports shut down' '$work/lua-ios1.txt' && grep -q 'interface GigabitEthernet0/3' '$work/lua-ios1.txt'"
check "no module restarted" no_module_restarts

echo "1..$count"
[ "$failed" = 0 ]
