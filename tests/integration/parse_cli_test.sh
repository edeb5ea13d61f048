#!/usr/bin/env bash
# Integration: `nauto parse` on ntc-templates fixtures, offline (no nautod): records as the
# corpus expects them in json, yaml and table form, and clear errors with their exit codes.
#   parse_cli_test.sh NAUTO
set -uo pipefail
NAUTO=$1
here=$(cd "$(dirname "$0")" && pwd)
corpus=${NAUTO_NTC_TEMPLATES:-$here/../../../shared/ntc-templates}
[ -f "$corpus/ntc_templates/templates/index" ] || corpus=/work/shared/ntc-templates
templates=$corpus/ntc_templates/templates
work=$(mktemp -d /tmp/nauto-parse-it-XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/checks.sh"
# same_records JSON_FILE YML_FILE: the parsed records equal the fixture's parsed_sample.
same_records() {
  /usr/bin/python3 -c "
import json, sys, yaml
got = json.load(open(sys.argv[1]))
want = yaml.safe_load(open(sys.argv[2]))['parsed_sample']
sys.exit(0 if got == want else print('parsed', got[:2], '\nexpected', want[:2]) or 1)" "$1" "$2"
}

fixture=$corpus/tests/cisco_ios/show_ip_interface_brief/cisco_ios_show_ip_interface_brief
json_records() {
  "$NAUTO" parse --templates "$templates" --platform cisco_ios --command "sh ip int br" -o json \
    "$fixture.raw" >"$work/brief.json" && same_records "$work/brief.json" "$fixture.yml"
}
check "parse -o json from a file, abbreviated command: the corpus' expected records" json_records

version=$corpus/tests/cisco_ios/show_version/cisco_ios_show_version1
stdin_table() {
  NAUTO_TEXTFSM_TEMPLATES=$templates "$NAUTO" parse --platform cisco_ios --command "show version" \
    <"$version.raw" >"$work/version.txt" &&
    head -1 "$work/version.txt" | grep -q "^software_image  *version  *release" &&
    grep -q "city-building-4-sw" "$work/version.txt"
}
check "parse from standard input, templates from NAUTO_TEXTFSM_TEMPLATES, table output" stdin_table

yaml_output() {
  "$NAUTO" parse --templates "$templates" --platform cisco_ios --command "show version" -o yaml \
    <"$version.raw" >"$work/version.yaml" &&
    /usr/bin/python3 -c "import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); sys.exit(0 if d[0]['hostname']=='city-building-4-sw' and len(d[0]['serial'])==4 else 1)" "$work/version.yaml"
}
check "parse -o yaml: lists stay lists" yaml_output

own_template() {
  printf 'Value NAME (\\S+)\nValue STATE (up|down)\n\nStart\n  ^${NAME} is ${STATE} -> Record\n' >"$work/mine.textfsm"
  printf 'eth0 is up\neth1 is down\n' | "$NAUTO" parse --template "$work/mine.textfsm" -o json >"$work/mine.json" &&
    /usr/bin/python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))==[{'name':'eth0','state':'up'},{'name':'eth1','state':'down'}] else 1)" "$work/mine.json"
}
check "parse --template FILE: one template, no index" own_template

errors() {
  printf 'Value NAME (\\S+)\n\nStart\n  ^${NAME}$\n' >"$work/bad.textfsm"
  ! echo x | "$NAUTO" parse --template "$work/bad.textfsm" 2>"$work/bad.err" &&
    grep -q "bad.textfsm:4:.*\\\$\\\$" "$work/bad.err" &&
    { echo x | "$NAUTO" parse --templates "$templates" --platform cisco_ios --command "show nothing" 2>"$work/none.err"; [ $? -eq 1 ]; } &&
    grep -q "no template in the index matches Platform 'cisco_ios', Command 'show nothing'" "$work/none.err" &&
    { echo x | NAUTO_TEXTFSM_TEMPLATES= "$NAUTO" --config "$work/none.yaml" parse --platform cisco_ios --command "show version" 2>"$work/nodir.err"; [ $? -eq 2 ]; } &&
    grep -q "give --templates DIR" "$work/nodir.err"
}
check "errors: a template's file and line, no matching template (exit 1), no directory (exit 2)" errors

echo "parse_cli: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
