#!/usr/bin/env bash
# Step overhead: what nauto adds around a device's own time, seen from where users stand.
#  1. A runbook step: a runbook calls one nauto-lab device CALLS times (device("ios1"):run(
#     "show clock"), one session kept for the run); each step's time (the engine's run_steps
#     record, started -> finished) minus the device's own time for that line (the lab's
#     command log: line received -> reply ready).
#  2. A shell call on a kept session: `nauto shell` on a pseudo-terminal, `:connect ios1`,
#     `:timing on`, then CALLS entries `ios1:run("show clock")`; each entry's time as the shell
#     prints it minus the device's own time.
# Both include the SSH round trip over loopback (encryption both ways), so they overstate what
# nauto itself adds. Targets (issue 25): median <= 5 ms, p99 <= 20 ms.
#   step_overhead_bench.sh NAUTOD NAUTO NAUTO_LAB [CALLS]
set -uo pipefail
CALLS=${4:-300}
. "$(dirname "$0")/one_device_lab.sh" step-overhead "$@"
cat >"$work/runbooks/steps.lua" <<LUA
return runbook { name = "steps", run = function()
  local d = device("ios1")
  for _ = 1, $CALLS do d:run("show clock") end
  return $CALLS
end }
LUA
one_device_nautod run.list

"$NAUTO" run steps >/dev/null || exit 1  # warm-up: caches, vault answer
since=$(date +%s%6N)
id=$("$NAUTO" run steps --detach) || exit 1
wait_for 120 bash -c "\"$NAUTO\" runs show $id -o json | grep -q '\"state\": \"succeeded\"'" || exit 1
"$NAUTO" runs show "$id" -o json >"$work/run.json"
control GET /devices/ios1/commands >"$work/run_commands.json"

# The shell on a pseudo-terminal, one entry at a time, as a person types them.
shell_since=$(date +%s%6N)
python3 - "$NAUTO" "$CALLS" "$work/shell_times.json" <<'PY' || exit 1
import json, os, pty, re, select, sys, time
nauto, calls, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(nauto, [nauto, "shell", "--history", os.devnull])
buffer = b""
def until(pattern, limit=30):
    global buffer
    give_up = time.monotonic() + limit
    while True:
        m = re.search(pattern, buffer)
        if m:
            buffer = buffer[m.end():]
            return m
        left = give_up - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            sys.exit(f"shell: no {pattern!r} within {limit} s; it printed {buffer[-300:]!r}")
        buffer += os.read(fd, 65536)
def say(line):
    os.write(fd, line.encode() + b"\r")
until(rb"nauto> ")
say(":connect ios1"); until(rb"connected to ios1"); until(rb"nauto> ")
say(":timing on"); until(rb"timing is on"); until(rb"nauto> ")
times = []
for _ in range(calls):
    say('ios1:run("show clock")')
    m = until(rb"\((\d+\.\d+) (ms|s)\)")
    times.append(float(m.group(1)) * (1 if m.group(2) == b"ms" else 1000))
    until(rb"nauto> ")
say(":quit")
os.waitpid(pid, 0)
json.dump(times, open(out, "w"))
PY
control GET /devices/ios1/commands >"$work/shell_commands.json"

python3 - "$work" "$since" "$shell_since" "$CALLS" <<'PY'
import json, statistics, sys
work, since, shell_since, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def device_ms(path, after, before=None):
    rows = [c for c in json.load(open(f"{work}/{path}"))
            if c["command"] == "show clock" and c["time_us"] > after and (before is None or c["time_us"] < before)]
    return [(c["done_us"] - c["time_us"]) / 1000 for c in rows]
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
def report(label, totals, device):
    if len(totals) != len(device):
        sys.exit(f"{label}: {len(totals)} timed calls but the device logged {len(device)}")
    over = [t - d for t, d in zip(totals, device)]
    print(f"{label}: {len(over)} calls; call p50 {statistics.median(totals):.2f} ms; "
          f"device p50 {statistics.median(device):.3f} ms")
    print(f"  overhead p50 {statistics.median(over):.2f} ms  p90 {pct(over, 90):.2f}  "
          f"p99 {pct(over, 99):.2f}  max {max(over):.2f}  (targets: p50 <= 5, p99 <= 20)")
run = json.load(open(f"{work}/run.json"))
steps = [s for s in run["steps"] if s.get("kind") == "device"]
steps.sort(key=lambda s: s["started_us"])
totals = [(s["finished_us"] - s["started_us"]) / 1000 for s in steps]
# The first step logs in; the others use the session the run keeps.
report("runbook step (first, with login, left out)", totals[1:],
       device_ms("run_commands.json", since, shell_since)[1:])
print(f"  first step with its login: {totals[0]:.1f} ms")
shell = json.load(open(f"{work}/shell_times.json"))
report("shell call on a kept session", shell, device_ms("shell_commands.json", shell_since))
PY
