#!/bin/bash
# SNMP polling at scale (issue 29): nautod polls AGENTS simulated agents (snmp_agent_sim: one
# process, one loopback address each) for 20 OIDs every 60 s. After the first full cycle it is
# measured for MINUTES more: CPU (utime + stime of nautod from /proc), memory (VmRSS, VmHWM),
# polls, failures and overruns, the poll durations, and how evenly the polls spread over the
# minute. Raw chunks are a minute long here (10 by default), so the window measured also writes
# every series' samples to the store each minute. The baseline, in the same run: net-snmp's `snmpget` run once per agent for the same
# 20 OIDs (one cycle, one agent after another), its CPU measured the same way.
#   telemetry_bench.sh NAUTOD NAUTO SNMP_AGENT_SIM [AGENTS] [MINUTES]
set -euo pipefail
NAUTOD=$1
NAUTO=$2
SIM=$3
agents=${4:-1000}
minutes=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nauto-telemetry-bench-XXXXXX)
sim_pid=""
nautod_pid=""
cleanup() {
  [ -n "$nautod_pid" ] && kill "$nautod_pid" 2>/dev/null && wait "$nautod_pid" 2>/dev/null
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
coproc PORTS { exec python3 "$here/../support/port_block.py"; }
read -r base_port <&"${PORTS[0]}"
agent_port=$base_port
metrics_port=$((base_port + 1))

"$SIM" "$agent_port" "$agents" >"$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q ready "$work/sim.out" && break; sleep 0.1; done
grep -q ready "$work/sim.out" || { cat "$work/sim.out"; exit 1; }

oids=""
for n in $(seq 1 19); do oids+="1.3.6.1.4.1.99999.$n.0 "; done
python3 - "$work" "$agents" "$agent_port" "$metrics_port" <<'PY'
import ipaddress, sys
work, agents, port, metrics = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(f"{work}/inventory.yaml", "w") as f:
    f.write("defaults: {platform: linux}\nhosts:\n")
    for i in range(agents):
        address = ipaddress.IPv4Address("127.1.0.1") + i
        f.write(f"  a{i:04d}: {{host: {address}, vars: {{snmp_port: {port}}}}}\n")
oids = "\n".join(
    f"          - {{name: {'octets' if n % 2 else 'load'}_{n}, oid: 1.3.6.1.4.1.99999.{n}.0, "
    f"type: {'counter' if n % 2 else 'gauge'}}}" for n in range(1, 20))
with open(f"{work}/nauto.yaml", "w") as f:
    f.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: warn, file: {work}/nautod.jsonl}}
modules:
  inventory: {{files: [{work}/inventory.yaml]}}
  vault: {{}}
  telemetry:
    listen: 127.0.0.1:{metrics}
    # Chunks of a minute (the default is 10): every minute measured writes every series' chunk.
    retention: {{raw_chunk: 1m, rollup_step: 1m, rollup_chunk: 10m}}
    snmp:
      - name: bench
        target: all
        credential: bench
        interval: 60s
        timeout: 2s
        retries: 1
        sets: [system]
        oids:
{oids}
""")
PY
export NAUTO_CONFIG=$work/nauto.yaml NAUTO_CRED_BENCH_PASSWORD=public
"$NAUTOD" >"$work/nautod.out" 2>&1 &
nautod_pid=$!
for _ in $(seq 150); do "$NAUTO" call telemetry.stats >/dev/null 2>&1 && break; sleep 0.1; done

polled_all() {
  "$NAUTO" metrics targets -o json | python3 -c "
import json, sys; t = json.load(sys.stdin)['targets']
sys.exit(0 if len(t) == $agents and all(x['polls'] >= 1 for x in t) else 1)"
}
echo "waiting for the first full cycle (up to 70 s)..."
for _ in $(seq 140); do polled_all && break; sleep 0.5; done
polled_all || { echo "not every agent was polled in the first cycle"; exit 1; }

ticks=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
stats() { "$NAUTO" call telemetry.stats; }
before_cpu=$(cpu_of "$nautod_pid")
before_stats=$(stats)
start=$(date +%s.%N)
sleep $((minutes * 60))
after_cpu=$(cpu_of "$nautod_pid")
after_stats=$(stats)
end=$(date +%s.%N)
"$NAUTO" metrics targets -o json >"$work/targets.json"
grep -E 'VmRSS|VmHWM' "/proc/$nautod_pid/status" | tr -s ' \t' ' ' >"$work/memory.txt"

# The baseline: snmpget once per agent, the same 20 OIDs, one after another.
base_start=$(date +%s.%N)
python3 - "$agents" "$agent_port" "$oids" >"$work/baseline.txt" <<'PY'
import ipaddress, os, resource, subprocess, sys, time
agents, port, oids = int(sys.argv[1]), sys.argv[2], sys.argv[3].split()
env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")
failed = 0
wall = time.time()
for i in range(agents):
    address = ipaddress.IPv4Address("127.1.0.1") + i
    r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1",
                        f"{address}:{port}", "1.3.6.1.2.1.1.3.0"] + oids,
                       capture_output=True, text=True, env=env)
    failed += r.returncode != 0 or r.stdout.count("\n") != 20
wall = time.time() - wall
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"baseline snmpget: {agents} agents x 20 OIDs, {failed} failed, wall {wall:.1f} s, "
      f"CPU {u.ru_utime + u.ru_stime:.2f} s")
print(f"RESULT cpu={u.ru_utime + u.ru_stime:.3f}")
PY
cat "$work/baseline.txt" | grep -v RESULT

python3 - "$work" "$before_cpu" "$after_cpu" "$ticks" "$start" "$end" "$before_stats" "$after_stats" "$agents" <<'PY'
import json, statistics, sys
work, cpu0, cpu1, ticks, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
s0, s1, agents = json.loads(sys.argv[7]), json.loads(sys.argv[8]), int(sys.argv[9])
elapsed = t1 - t0
cpu = (cpu1 - cpu0) / ticks
share = cpu / elapsed * 100
polls = s1["snmp"]["polls"] - s0["snmp"]["polls"]
failed = s1["snmp"]["failed_polls"] - s0["snmp"]["failed_polls"]
overruns = s1["overruns"] - s0["overruns"]
targets = json.load(open(f"{work}/targets.json"))["targets"]
durations = sorted(t["duration_ms"] for t in targets)
q = lambda p: durations[min(len(durations) - 1, int(p * len(durations)))]
# How evenly the polls spread over the minute: the last poll of each target, by second.
seconds = [0] * 60
for t in targets:
    seconds[(t["last_poll_ms"] // 1000) % 60] += 1
memory = dict(line.split(":")[0:2] for line in open(f"{work}/memory.txt").read().replace(" kB", "").splitlines())
base_cpu = float([l for l in open(f"{work}/baseline.txt") if l.startswith("RESULT")][0].split("=")[1])
cycles = elapsed / 60
per_cycle = cpu / cycles
print(f"nauto: {agents} agents x 20 OIDs every 60 s, measured {elapsed:.0f} s ({cycles:.1f} cycles): "
      f"{polls} polls, {failed} failed, {overruns} overruns")
print(f"nauto CPU: {cpu:.2f} s = {share:.2f}% of one core; {per_cycle:.3f} s per cycle, "
      f"{per_cycle / agents * 1e3:.3f} ms per agent poll")
print(f"nauto memory: VmRSS {int(memory['VmRSS']) / 1024:.1f} MiB, VmHWM {int(memory['VmHWM']) / 1024:.1f} MiB, "
      f"{s1['series']} series, {s1['samples']} samples, {s1['chunks_written'] - s0['chunks_written']} chunks written")
print(f"poll durations (ms): p50 {q(0.5)}, p90 {q(0.9)}, p99 {q(0.99)}, max {durations[-1]}")
print(f"spread over the minute: {min(seconds)}..{max(seconds)} polls a second (an even spread: {agents / 60:.1f})")
print(f"baseline snmpget CPU per cycle: {base_cpu:.2f} s; nauto uses {base_cpu / per_cycle:.1f}x less CPU per cycle")
PY
