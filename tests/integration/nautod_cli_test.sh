#!/usr/bin/env bash
# Integration: start nautod as a process with its own config, drive it with nauto.
#   nautod_cli_test.sh NAUTOD NAUTO
# Prints one "ok"/"not ok" line per check (TAP style) and exits non-zero on any failure.
set -uo pipefail
NAUTOD=$1
NAUTO=$2
work=$(mktemp -d /tmp/nauto-it-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/checks.sh"

# Under the sanitizers with two integration tests beside it on 2 cores, the child module missed
# 2 s of heartbeats and was restarted for it, and its start took more than 10 s (the script ran
# 85-125 s against 33 s alone): the heartbeat timeout is 5 s, and each wait below allows 30 s.
# They are bounds, not measurements.
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
supervisor: {heartbeat_interval: 100ms, heartbeat_timeout: 5s, backoff_initial: 100ms}
modules:
  journal: {max_age: 1h}
  example: {isolation: process, greeting: bonjour}
YAML
export NAUTO_CONFIG=$work/nauto.yaml

check "--check-config accepts the file" "$NAUTOD" --check-config
repo=$(cd "$(dirname "$0")/../.." && pwd)
check "the shipped example configuration is valid" "$NAUTOD" --config "$repo/packaging/etc/nauto/nauto.yaml" --check-config
printf 'log: {level: loud}\nmodules:\n  journal: {max_age: soon}\n' >"$work/bad.yaml"
bad_config() {
  "$NAUTOD" --config "$work/bad.yaml" --check-config >"$work/bad.out" 2>&1
  local rc=$?
  cat "$work/bad.out"
  [ $rc -eq 2 ] && grep -q "log.level: expected one of" "$work/bad.out" &&
    grep -q "modules.journal.max_age: expected a duration" "$work/bad.out"
}
check "an invalid config is refused with key paths, exit 2" bad_config

"$NAUTOD" >"$work/nautod.log" 2>&1 &
pid=$!
check "nautod answers status" wait_for 10 "$NAUTO" status
status_json() {
  "$NAUTO" status -o json >"$work/status.json" || return 1
  json_get "$work/status.json" "sorted(m['name']+':'+m['state']+':'+m['isolation'] for m in d['modules'])"
}
modules_running() {
  status_json | tee /dev/stderr | grep -q "'example:running:process', 'journal:running:thread', 'kernel:running:kernel'"
}
check "journal (thread) and example (process) are running" wait_for 30 modules_running
check "status table shows router and store lines" bash -c "'$NAUTO' status | grep -q '^router: events in' && '$NAUTO' status | grep -q '^store: commits'"
check "modules -o yaml lists services" bash -c "'$NAUTO' modules -o yaml | grep -q 'journal.query'"

echo_works() {
  "$NAUTO" call example.echo --json '{"ping": 1}' >"$work/echo.json" &&
    [ "$(json_get "$work/echo.json" "d['greeting'] + ' ' + str(d['echo']['ping'])")" = "bonjour 1" ]
}
check "a request reaches the out-of-process module" wait_for 30 echo_works
child_is_module() {  # nautod's child connects as its own unix user, and is known by its name
  "$NAUTO" call bus.stats >"$work/stats.json" &&
    [ "$(json_get "$work/stats.json" "[p['principal'] for p in d['peers'] if p['name'] == 'example']")" = "['module:example']" ]
}
check "the out-of-process module is the principal module:example" child_is_module

check "events publish" "$NAUTO" events publish device.iface.down --json '{"device":"r1","iface":"Gi0/1"}'
tail_has_event() {
  "$NAUTO" events tail --topic device. -o json >"$work/tail.json" &&
    [ "$(json_get "$work/tail.json" "d[-1]['body']['iface']")" = "Gi0/1" ]
}
check "events tail returns the published event" wait_for 5 tail_has_event
bad_json() {
  ! "$NAUTO" events publish x.y --json '{bad' >"$work/badjson.out" 2>&1 &&
    grep -q 'not valid JSON' "$work/badjson.out"
}
check "bad JSON is refused with a clear error" bad_json

# Live follow: it subscribes before it reads the history, so once it has printed an event
# from the history, an event published after that can only reach it live.
"$NAUTO" events publish live.before --json '{"n": 6}' >/dev/null
wait_for 5 bash -c "'$NAUTO' events tail --topic live. | grep -q live.before"
"$NAUTO" events tail --follow --topic live. -o json >"$work/follow.jsonl" 2>&1 &
follower=$!
check "events tail --follow first prints the history" wait_for 5 grep -q '"live.before"' "$work/follow.jsonl"
"$NAUTO" events publish live.check --json '{"n": 7}' >/dev/null
check "events tail --follow prints a live event" wait_for 5 grep -q '"live.check"' "$work/follow.jsonl"
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null

# Supervision across processes: make the example module throw, see it restarted.
"$NAUTO" call example.fail >/dev/null 2>&1
restarted() {
  status_json >/dev/null &&
    [ "$(json_get "$work/status.json" "[m['restarts'] for m in d['modules'] if m['name']=='example'][0] >= 1")" = True ]
}
check "a crashing child module is restarted" wait_for 30 restarted
check "status names the child's failure cause" bash -c "python3 -c \"import json; d=json.load(open('$work/status.json')); print([m['last_error'] for m in d['modules'] if m['name']=='example'][0])\" | grep -q 'failing on purpose (process exited with status 1)'"
check "the restarted child serves again" wait_for 30 echo_works
check "the restart is in the journal" wait_for 5 bash -c "'$NAUTO' events tail --topic kernel.module.restarted -o json | grep -q example"
check "the crash did not restart the journal" bash -c "[ \"\$(python3 -c \"import json; d=json.load(open('$work/status.json')); print([m['restarts'] for m in d['modules'] if m['name']=='journal'][0])\")\" = 0 ]"

# A hung child process (its thread blocked, no heartbeats) is killed and restarted.
"$NAUTO" --timeout 20000 call example.stall --json '{"seconds": 600}' >/dev/null 2>&1 &
staller=$!
hung_restart() {
  status_json >/dev/null &&
    python3 -c "
import json, sys
d = json.load(open('$work/status.json'))
m = [m for m in d['modules'] if m['name'] == 'example'][0]
sys.exit(0 if m['restarts'] >= 2 and 'no heartbeat' in m['last_error'] and m['state'] == 'running' else 1)"
}
check "a hung child module is killed and restarted" wait_for 30 hung_restart
stall_answered() {  # the caller got an error as soon as the module was replaced, not silence
  local started=$SECONDS
  wait "$staller"
  local rc=$?
  echo "nauto call exited $rc after $((SECONDS - started))s more"
  [ $rc -ne 0 ]
}
check "the stalled request is answered with an error, not left hanging" stall_answered
check "the replacement child serves" wait_for 30 echo_works

# Reload with a changed module config: the module restarts with it.
sed -i 's/greeting: bonjour/greeting: salut/' "$work/nauto.yaml"
kill -HUP "$pid"
greeting_changed() {
  "$NAUTO" call example.echo >"$work/echo2.json" &&
    [ "$(json_get "$work/echo2.json" "d['greeting']")" = "salut" ]
}
check "SIGHUP reload applies a changed module config" wait_for 30 greeting_changed

# Reload: drop the example module, keep the journal.
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
supervisor: {heartbeat_interval: 100ms, heartbeat_timeout: 5s}
modules:
  journal: {max_age: 1h}
YAML
kill -HUP "$pid"
example_gone() {  # status answered, lists the journal, and no longer the example
  status_json >"$work/modules.txt" && grep -q journal "$work/modules.txt" &&
    ! grep -q example "$work/modules.txt"
}
check "SIGHUP reload removes a module" wait_for 30 example_gone
printf 'data_dir: %s/data\nrun_dir: %s/run\nlog: {level: [oops]}\n' "$work" "$work" >"$work/nauto.yaml"
kill -HUP "$pid"
check "an invalid reload is rejected" wait_for 10 grep -q 'reload rejected' "$work/nautod.log"
check "and nautod keeps running" "$NAUTO" status
check "no remaining module was restarted (the example was, on purpose, and is gone)" no_module_restarts
check "the JSON log file has one object per line" python3 -c "
import json
lines = open('$work/nautod.jsonl').read().splitlines()
assert lines, 'empty log'
for l in lines: json.loads(l)
"

kill -TERM "$pid"
stopped() { ! kill -0 "$pid" 2>/dev/null; }
check "SIGTERM stops nautod gracefully" wait_for 10 stopped
wait "$pid"
rc=$?
pid=""
check "nautod exited 0" [ "$rc" -eq 0 ]
# The bracket keeps pgrep from matching this check's own command line.
check "no child module is left behind" bash -c "! pgrep -f '[-]-run-module example --connect ipc://$work'"
check "nauto reports a stopped daemon clearly" bash -c "'$NAUTO' --timeout 300 status 2>&1 | grep -q 'is nautod running'"

# A remote module over tcp with CURVE and a client allow-list.
"$NAUTO" keygen --secret-file "$work/server.key" >"$work/server.pub"
server_public=$(awk '/public key/ {print $3}' "$work/server.pub")
"$NAUTO" keygen --secret-file "$work/module.key" >"$work/module.pub"
awk '/public key/ {print $3 "  # the remote example module"}' "$work/module.pub" >"$work/clients"
"$NAUTO" keygen --secret-file "$work/stranger.key" >/dev/null
claim_ports
port=$base_port
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
router:
  tcp_endpoint: tcp://127.0.0.1:$port
  curve_secret_key_file: $work/server.key
  curve_allowed_clients_file: $work/clients
auth:
  users: [{key: "$(awk '/public key/ {print $3}' "$work/module.pub")", name: remote-example, roles: [module]}]
modules:
  journal: {}
YAML
"$NAUTOD" >"$work/nautod2.log" 2>&1 &
pid=$!
wait_for 10 "$NAUTO" status >/dev/null
"$NAUTOD" --run-module example --connect "tcp://127.0.0.1:$port" --server-public-key "$server_public" \
  --client-secret-file "$work/module.key" --module-config '{"greeting": "from afar"}' \
  >"$work/remote.log" 2>&1 &
remote=$!
remote_echo() {
  "$NAUTO" call example.echo >"$work/remote.json" &&
    [ "$(json_get "$work/remote.json" "d['greeting']")" = "from afar" ]
}
check "a remote module with an allowed CURVE key serves over tcp" wait_for 10 remote_echo
check "status lists the remote module among clients" bash -c "'$NAUTO' status | grep -q '^clients: .*example'"
kill "$remote"
wait "$remote" 2>/dev/null
"$NAUTOD" --run-module example --connect "tcp://127.0.0.1:$port" --server-public-key "$server_public" \
  --client-secret-file "$work/stranger.key" >"$work/stranger.log" 2>&1 &
stranger=$!
refused() { ! "$NAUTO" --timeout 500 call example.echo >/dev/null 2>&1 && grep -q 'not in the allow-list' "$work/nautod2.log"; }
check "a module with an unlisted CURVE key is refused" wait_for 10 refused
kill "$stranger" 2>/dev/null
wait "$stranger" 2>/dev/null
kill -TERM "$pid"
wait "$pid"
pid=""

echo "1..$count"
echo "integration: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
