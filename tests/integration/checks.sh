# Sourced by the integration scripts: numbered TAP-style checks. Each check runs a command with
# its output in $work/out.N, and prints how long it took; a failing check prints the last lines
# of that output.
#   check "description" command...     then, at the end: summary NAME
count=0
failed=0
# Debian's python3 and tools first: bootstrap installs their modules (yaml, lmdb, textfsm), and
# a python3 earlier on PATH may be a version manager's shim, which costs half a second a call
# (pyenv: 0.54 s against 0.05 s; configs_cli calls python3 136 times).
PATH=/usr/bin:/bin:$PATH
check() {
  local what=$1
  shift
  count=$((count + 1))
  local began=${EPOCHREALTIME/./}
  if "$@" >"$work/out.$count" 2>&1; then
    echo "ok $count - $what $(check_took "$began")"
  else
    echo "not ok $count - $what $(check_took "$began")"
    sed 's/^/#   /' "$work/out.$count" | tail -30
    failed=$((failed + 1))
  fi
}

check_took() {  # check_took START_US: "[1.23 s]", the time since START_US (CI budget work)
  local us=$((${EPOCHREALTIME/./} - $1))
  printf '[%d.%02d s]' $((us / 1000000)) $((us % 1000000 / 10000))
}

# Shared helpers of the integration scripts.
lab_test_setup() {  # lab_test_setup NAME: a fresh $work; at exit nautod ($pid) and nauto-lab ($lab_pid) stop and $work goes
  work=$(mktemp -d "/tmp/nauto-$1-it-XXXXXX")
  pid=""
  lab_pid=""
  trap lab_test_cleanup EXIT
}
lab_test_cleanup() {
  remove_test_users
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
# Unix users of this run (issue 30: principals are verified unix users). Root only; each is
# removed by remove_test_users, which the script's exit trap calls.
test_users=()
add_test_user() {  # add_test_user VAR: a new system user (and its group), its name in $VAR
  local name="nt$$u${#test_users[@]}"
  useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$name" || return 1
  test_users+=("$name")
  printf -v "$1" '%s' "$name"
}
remove_test_users() {
  local name
  for name in "${test_users[@]}"; do userdel "$name" 2>/dev/null; done
  test_users=()
}
open_bus_to_all() {  # open_bus_to_all: other users may connect to nautod's socket in $work/run
  chmod 0711 "$work" "$work/run" && chmod 0666 "$work/run/nautod.sock"
}
as_user() {  # as_user USER nauto-args...: $NAUTO as that unix user (its own uid and group only)
  local user=$1
  shift
  setpriv --reuid="$user" --regid="$user" --clear-groups -- \
    env -u NAUTO_CONFIG "$NAUTO" --endpoint "ipc://$work/run/nautod.sock" "$@"
}
claim_ports() {  # sets base_port: the first of 100 free loopback ports, this script's until it ends
  # tests/support/port_block.py holds the claim until its standard input (our end) closes.
  # It is a child of the script: wait for your own PIDs, never a bare `wait`, which would hang.
  coproc PORT_BLOCK { exec python3 "$(dirname "${BASH_SOURCE[0]}")/../support/port_block.py"; }
  read -r base_port <&"${PORT_BLOCK[0]}"
  if [ -z "$base_port" ]; then
    echo "no block of free loopback ports could be claimed" >&2
    exit 1
  fi
}
json_get() {  # json_get FILE PYTHON-EXPR (d is the document)
  python3 -c "import json,sys; d=json.load(open('$1')); print($2)"
}
wait_for() {  # wait_for SECONDS command...: retries the command until it succeeds or time is up
  local until=$((SECONDS + $1))
  shift
  while ((SECONDS < until)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  "$@"
}
control() {  # control METHOD PATH [BODY]: nauto-lab's control API on $base_port
  python3 - "$1" "$2" "${3:-}" <<PY
import os, sys, urllib.request
method, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request("http://127.0.0.1:$base_port" + path, method=method,
                                 data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json"})
text = urllib.request.urlopen(request, timeout=10).read().decode()
try:
    print(text, flush=True)
except BrokenPipeError:  # a reader such as grep -q stopped at its first match
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
PY
}
start_lab() {  # start_lab: nauto-lab ($LAB) on $work/fleet.yaml, state in $work/lab; sets lab_pid
  "$LAB" --fleet "$work/fleet.yaml" --state-dir "$work/lab" >"$work/lab.out" 2>&1 &
  lab_pid=$!
  wait_for 20 grep -q '"ready":true' "$work/lab.out" || { cat "$work/lab.out"; return 1; }
}
lab_credentials() {  # exports the lab's credentials (NAUTO_CRED_LAB_*) for nautod's vault
  set -a
  . "$work/lab/lab-credentials.env"
  set +a
}
start_nautod() {  # start_nautod SERVICE: $NAUTOD in the background (sets pid) until SERVICE answers
  "$NAUTOD" >>"$work/nautod.log" 2>&1 &
  pid=$!
  wait_for 15 "$NAUTO" call "$1"
}
until_window_ended() {  # until_window_ended FILE: sleeps past the deadline_us of a push record
  local left
  left=$(python3 -c "import json,time; print(max(0.0, json.load(open('$1'))['deadline_us'] / 1e6 - time.time() + 0.5))") || return 1
  sleep "$left"
}
no_module_restarts() {  # no module of the running nautod was ever restarted (issue 24)
  "$NAUTO" status -o json >"$work/restarts.json" || return 1
  python3 - "$work/restarts.json" <<'PY'
import json, sys
modules = json.load(open(sys.argv[1]))["modules"]
restarted = [f"{m['name']}: {m['restarts']} ({m.get('last_error', '')})" for m in modules if m.get("restarts")]
print("\n".join(restarted) or f"{len(modules)} modules, none restarted")
sys.exit(1 if restarted else 0)
PY
}
cpu_idle() {  # cpu_idle PID: the process used under 10% of a CPU over one second
  local before after ticks
  ticks=$(getconf CLK_TCK)
  before=$(awk '{print $14 + $15}' "/proc/$1/stat") || return 1
  sleep 1
  after=$(awk '{print $14 + $15}' "/proc/$1/stat") || return 1
  echo "cpu: $((after - before)) of $ticks ticks in 1 s"
  [ $(((after - before) * 10)) -lt "$ticks" ]
}
