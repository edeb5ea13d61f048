#!/usr/bin/env bash
# Integration: `nauto shell` against nauto-lab through a real nautod — scripts (-e, stdin) and
# their exit statuses, and the interactive REPL driven under a pseudo-terminal (tmux): Tab
# completion of devices, methods and commands, multi-line input, an error that does not end the
# session, Ctrl-C, paging with :more, :timing, :save producing a runbook that `nauto run` runs,
# history kept across sessions, and the private nautod the shell starts when none runs.
#   shell_test.sh NAUTOD NAUTO NAUTO_LAB
set -uo pipefail
NAUTOD=$(realpath "$1")
NAUTO=$(realpath "$2")
LAB=$(realpath "$3")
work=$(mktemp -d /tmp/nauto-shell-it-XXXXXX)
pid=""
lab_pid=""
cleanup() {
  tmux -S "$work/tmux.sock" kill-server 2>/dev/null
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 41
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 2, site: dc1, role: edge}
  - {platform: arista_eos, count: 1, site: dc2, role: leaf}
YAML
check "nauto-lab is ready" start_lab

# The ntc-templates corpus (data beside the repository, never copied into it) for textfsm.
NTC_TEMPLATES=$(realpath -m "${NAUTO_NTC_TEMPLATES:-$(dirname "$0")/../../../shared/ntc-templates}/ntc_templates/templates")
[ -f "$NTC_TEMPLATES/index" ] || NTC_TEMPLATES=/work/shared/ntc-templates/ntc_templates/templates
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s, attempts: 2, retry_delay: 50ms}
  runbooks: {dirs: [$work/runbooks], textfsm_templates: $NTC_TEMPLATES}
YAML
mkdir -p "$work/runbooks"
export NAUTO_CONFIG=$work/nauto.yaml HOME=$work NAUTO_HISTORY=$work/history NO_COLOR=1
lab_credentials
check "nautod starts" start_nautod run.list

# --- scripts -------------------------------------------------------------------------------
shell_e() {  # shell_e CODE EXPECTED-STATUS PATTERN: output (stdout+stderr) must match
  "$NAUTO" shell -e "$1" >"$work/e.out" 2>&1
  local status=$?
  cat "$work/e.out"
  [ "$status" -eq "$2" ] && grep -q -- "$3" "$work/e.out"
}
check "-e runs a command on a device and exits 0" \
  shell_e 'print(device("ios1"):run("show version"))' 0 "Cisco IOS Software"
check "-e with an unknown device exits 1 and says which" \
  shell_e 'device("nosuch"):run("show version")' 1 "no device named 'nosuch'"
check "-e with a syntax error exits 1 with Lua's position" shell_e 'x = = 1' 1 "stdin:1:"
check "-e :devices SELECTOR lists what the selector picks" \
  bash -c "'$NAUTO' shell -e ':devices site=dc1' | tee /dev/stderr | grep -q ios2 &&
           ! '$NAUTO' shell -e ':devices site=dc1' | grep -q eos3"
check "parsed records print as a table" \
  shell_e 'device("ios1"):run("show ip interface brief", {parse = "textfsm"})' 0 \
  "^INTERFACE  *IP_ADDRESS  *STATUS  *PROTO"
check "store.put in one shell, store.get in the next (kept by nautod)" \
  bash -c "'$NAUTO' shell -e 'store.put(\"seen\", {\"ios1\", 2})' &&
           '$NAUTO' shell -e 'return store.get(\"seen\")[1]' | grep -qx ios1"

cat >"$work/runbooks/hostname_of.lua" <<'LUA'
return runbook {
  name = "hostname_of",
  params = { device = { type = "string", required = true } },
  run = function(p)
    log.info("asking %s", p.device)
    return { hostname = device(p.device):facts().hostname }
  end,
}
LUA
check ":run FILE k=v runs a runbook in the shell, its log and result shown" \
  shell_e ":run $work/runbooks/hostname_of.lua device=eos3" 0 "hostname: eos3"
check ":run with a parameter it does not declare exits 1 naming it" \
  shell_e ":run $work/runbooks/hostname_of.lua devce=eos3" 1 "devce"
check "call(NAME) runs a runbook in nautod and returns its result" \
  shell_e 'return call("hostname_of", {device = "ios2"}).hostname' 0 "^ios2$"
check "an approval in a script is refused with the reason, exit 1" \
  shell_e 'device("ios1"):push({"ntp server 192.0.2.77"}, {approval = {message = "add ntp?"}})' 1 \
  "nobody is at a terminal"
nothing_pushed() {  # the config was read (it names the device), and lacks the refused line
  "$NAUTO" shell -e 'return device("ios1"):config()' >"$work/ios1.cfg" &&
    grep -q '^hostname ios1' "$work/ios1.cfg" && ! grep -q 192.0.2.77 "$work/ios1.cfg"
}
check "and nothing was pushed" nothing_pushed

cat >"$work/script.lua" <<'LUA'
-- A script on standard input: multi-line, parallel over a selector.
local hosts = inventory.select("all")
local clocks, failures = parallel(hosts, function(d)
  return d:facts().hostname
end)
table.sort(clocks)
print(table.concat(clocks, ","), #failures)
LUA
check "a script on stdin runs as one chunk (parallel fan-out) and exits 0" \
  bash -c "'$NAUTO' shell <'$work/script.lua' | tee /dev/stderr | grep -qx 'eos3,ios1,ios2	0'"
failing_script() {  # exit status 1 and the error's text
  printf 'x = 1\nerror("stop here")\n' | "$NAUTO" shell >"$work/fail.out" 2>&1
  local status=$?
  cat "$work/fail.out"
  [ "$status" -eq 1 ] && grep -q 'stop here' "$work/fail.out"
}
check "a script on stdin that fails exits 1 and says why" failing_script

# --- the REPL under a terminal -------------------------------------------------------------
tm() { tmux -S "$work/tmux.sock" "$@"; }  # a server of our own, its socket in $work
screen() { tm capture-pane -p -J -t shell -S -300; }
type_keys() { tm send-keys -t shell "$@"; }
type_text() { tm send-keys -t shell -l "$1"; }
seen() {  # seen PATTERN [SECONDS]: the terminal shows PATTERN (grep -E) within the time
  wait_for "${2:-10}" bash -c "tmux -S '$work/tmux.sock' capture-pane -p -J -t shell -S -300 | grep -qE -- \"\$0\"" "$1"
}
start_repl() {
  tm -f /dev/null new-session -d -s shell -x 160 -y 24 -c "$work" \
    "env TERM=xterm '$NAUTO' shell; echo SHELL-EXITED \$?; sleep 60"
  seen 'nauto> '
}
check "the REPL starts under a pseudo-terminal" start_repl

type_text 'r1 = device("ios'
type_keys Tab Tab
check "Tab lists the matching device names" seen 'ios1 +ios2'
type_text '1")'
type_keys Enter
type_text 'r1:ru'
type_keys Tab
type_text '("sh ip bgp su'
type_keys Tab
check "Tab completes a method and a platform command word by word" \
  seen 'nauto> r1:run\("sh ip bgp summary ?$'
type_text '")'
type_keys Enter
check "the command's output is printed" seen 'BGP router identifier'

type_text 'inventory.select("ro'
type_keys Tab
type_text 'le'
type_keys Tab
check "Tab completes selector keys and values" seen 'inventory.select\("role=leaf'
type_text '")'
type_keys Enter
check "selected hosts print as a table" seen '^eos3 .* arista_eos .* leaf'

type_text 'function name_of(d)'
type_keys Enter
check "an unfinished chunk gets the continuation prompt" seen '  \.\.\.> $'
type_text '  return d:facts().hostname'
type_keys Enter
type_text 'end'
type_keys Enter
type_text 'name_of(r1)'
type_keys Enter
check "a multi-line function defined, then called" seen '^ios1$'

type_text 'nosuch()'
type_keys Enter
check "an error is reported" seen "attempt to call a nil value \\(global 'nosuch'\\)"
type_text '20 + 22'
type_keys Enter
check "the session survives the error" seen '^42$'

type_text 'print("waiting") wait(60)'
type_keys Enter
seen '^waiting$'  # the entry runs: Ctrl-C now reaches it, not the line editor
type_keys C-c
check "Ctrl-C stops a running entry" seen 'interrupted \(Ctrl-C\)'
type_text 'name_of(device("ios2"))'
type_keys Enter
check "and the session goes on, its globals intact" seen '^ios2$'

type_text ':timing on'
type_keys Enter
type_text 'r1:run("show running-config")'
type_keys Enter
check "long output stops at a page" seen 'more lines: :more shows the next'
check ":timing shows how long an entry took" seen '^\(([0-9]+\.[0-9] ms|[0-9]+\.[0-9]{3} s)\)$'
lines_left() { screen | sed -n 's/^-- \([0-9]*\) more lines.*/\1/p' | tail -1; }
paged_on() {  # the last page is shown, or fewer lines are left than $left
  screen | grep -qx 'end' || { local now; now=$(lines_left) && [ -n "$now" ] && [ "$now" -lt "$left" ]; }
}
more_until_end() {
  for _ in 1 2 3 4 5 6; do
    screen | grep -qx 'end' && return 0
    left=$(lines_left)
    [ -n "$left" ] || return 1
    type_text ':more'
    type_keys Enter
    wait_for 10 paged_on || return 1
  done
  screen | grep -qx 'end'
}
check ":more shows the rest, page by page" more_until_end

type_text ':run runbooks/hostn'
type_keys Tab
check "Tab completes a runbook file after :run" seen 'nauto> :run runbooks/hostname_of\.lua ?$'
type_text ' device=ios1'
type_keys Enter
check ":run runs it in the REPL" seen '^runbook runbooks/hostname_of\.lua succeeded$'

sessions_total() { control GET /stats | python3 -c "import json,sys; print(json.load(sys.stdin)['ssh_sessions_total'])"; }
type_text ':connect ios2'
type_keys Enter
check ":connect logs in and shows the device's facts" seen 'connected to ios2 as `ios2`'
check "nautod keeps that session open for the shell" \
  bash -c "'$NAUTO' call device.sessions | grep -q '\"open\": *true'"
logins_before=$(sessions_total)
type_text 'for i = 1, 3 do ios2:run("show clock") end print("three calls done")'
type_keys Enter
check "calls on a connected device run" seen '^three calls done$'
logins_after=$(sessions_total)
check "and reuse the kept session: no new logins ($logins_before -> $logins_after)" \
  bash -c "[[ '$logins_before' =~ ^[0-9]+\$ ]] && [ '$logins_before' -gt 0 ] && [ '$logins_before' = '$logins_after' ]"

type_text ':save shell_saved'
type_keys Enter
check ":save writes a runbook of the session's successful entries" seen 'saved [0-9]+ entries'
check "the saved runbook holds the entries, not the failed one" \
  bash -c "grep -q 'name_of' '$HOME/shell_saved.lua' && ! grep -q nosuch '$HOME/shell_saved.lua'"
# After :save, so the saved runbook does not wait for an approval in nautod.
type_text 'device("ios1"):push({"ntp server 192.0.2.78"}, {approval = {message = "add ntp?"}})'
type_keys Enter
check "an approval at the prompt shows the diff and asks" seen 'approve\? \[y/N\]'
check "the diff is shown" seen '^\+ntp server 192.0.2.78'
type_text 'y'
type_keys Enter
check "approved, the push is applied" seen '^changed: true'
check "and the device has the line" \
  bash -c "'$NAUTO' shell -e 'return device(\"ios1\"):config()' | grep -q 'ntp server 192.0.2.78'"

type_text ':quit'
type_keys Enter
check ":quit leaves with status 0" seen 'SHELL-EXITED 0'
check "and closes the sessions it kept" \
  bash -c "'$NAUTO' call device.sessions | tee /dev/stderr | grep -q '\"sessions\": *\\[\\]'"
tm kill-server

run_saved() {
  (cd "$HOME" && "$NAUTO" run shell_saved.lua) | tee /dev/stderr | grep -q 'succeeded'
}
check "nauto run runs the saved runbook in nautod" run_saved
check "the history file keeps the entries" grep -q 'name_of(r1)' "$work/history"

check "a new REPL starts" start_repl
type_keys Up Up Up
check "Up recalls the previous session's entries" seen 'nauto> :save shell_saved *$'
type_keys C-u
type_keys C-d
check "Ctrl-D leaves with status 0" seen 'SHELL-EXITED 0'
tm kill-server

check "no module restarted" no_module_restarts

# --- no nautod: the shell starts a private one -----------------------------------------------
kill "$pid" && wait "$pid" 2>/dev/null
pid=""
private_shell() {
  "$NAUTO" shell -e 'return device("ios2"):facts().hostname' >"$work/private.out" 2>"$work/private.err"
  local status=$?
  cat "$work/private.out" "$work/private.err"
  [ "$status" -eq 0 ] && grep -qx ios2 "$work/private.out" &&
    grep -q 'started a private one' "$work/private.err"
}
check "with no nautod, the shell starts a private one and works" private_shell
private_gone() {  # the private nautod's process and its run_dir are gone
  local private dir
  private=$(sed -n 's/.*(pid \([0-9]*\),.*/\1/p' "$work/private.err")
  dir=$(sed -n 's/.*log \(.*\)\/nautod.log).*/\1/p' "$work/private.err")
  [ -n "$private" ] && [ -n "$dir" ] && ! kill -0 "$private" 2>/dev/null && [ ! -e "$dir" ]
}
check "and stops it when it ends" wait_for 10 private_gone
check "--no-private refuses instead, naming the endpoint" \
  bash -c "'$NAUTO' shell --no-private -e '1' 2>&1 | grep -q 'no nautod answers at ipc://'"

echo "shell: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
