#!/bin/bash
# Fleet jobs at scale (issues 5 and 25): one nauto-lab of DEVICES cisco_ios devices on
# 127.0.0.1, then `show version` on the first 1,000 with netmiko (thread pool, Nornir style)
# with fast_cli (the headline baseline: how its users run it for speed) and with its defaults,
# and with nauto's job engine; then nauto on all DEVICES. Same lab, same concurrency, every
# output checked and transient faults tried 3 times on both sides. ROUNDS rounds (default 3);
# the summary gives each figure's median and range.
#   jobs_bench.sh NAUTO_LAB JOBS_BENCH [DEVICES] [SESSIONS] [ROUNDS]
set -euo pipefail
lab=$1; bench=$2; devices=${3:-10000}; sessions=${4:-100}; rounds=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nauto-jobs-bench-XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
# A free block below the ephemeral port range, so no outgoing connection holds a device's port.
base=$(/usr/bin/python3 "$here/free_ports.py" $((devices + 2)))
printf 'base_port: %s\ncredentials: {username: admin, password: lab-pass, enable_secret: lab-enable}\ngroups:\n  - {platform: cisco_ios, count: %s}\n' \
  "$base" "$devices" > "$work/fleet.yaml"
"$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" > "$work/ready" &
pid=$!
until [ -s "$work/ready" ]; do kill -0 "$pid" 2>/dev/null || exit 1; sleep 0.1; done
set -a; . "$work/state/lab-credentials.env"; set +a
inventory=$work/state/inventory.yaml
lab_cpu() { awk '{print ($14 + $15) / 100}' /proc/$pid/stat; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
small=$((devices < 1000 ? devices : 1000))
measure() {  # measure COMMAND...: its result line, with the lab's CPU during it appended
  local before line
  before=$(lab_cpu)
  line=$("$@" 2>>"$work/errors" | grep -E '^(netmiko|nauto)' || true)
  echo "$line lab_cpu_s=$(awk -v a="$(lab_cpu)" -v b="$before" 'BEGIN {print a - b}')" | tee -a "$work/lines"
}
for round in $(seq "$rounds"); do
  echo "-- round $round"
  measure /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" "$small" "$sessions" --fast-cli
  measure /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" "$small" "$sessions"
  measure "$bench" "$inventory" "$small" "$sessions"
  [ "$devices" -gt 1000 ] && measure "$bench" "$inventory" "$devices" "$sessions"
done
grep -v '^ *$' "$work/errors" | sort | uniq -c | sort -rn | head -5 || true
/usr/bin/python3 - "$work/lines" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    words = line.split()
    if len(words) < 2:
        continue
    fields = dict(w.split("=", 1) for w in words[1:])
    runs[(words[0], int(fields["devices"]))].append({k: float(v) for k, v in fields.items()})
def med(rows, key):
    values = [r[key] for r in rows]
    return statistics.median(values), min(values), max(values)
print("\nmedian [range] of", max(len(r) for r in runs.values()), "rounds")
for (tool, devices), rows in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    w, c, m = med(rows, "wall_s"), med(rows, "cpu_s"), med(rows, "peak_rss_mib")
    ok, lab = med(rows, "ok"), med(rows, "lab_cpu_s")
    print(f"{tool:17s} {devices:6d} devices: wall {w[0]:7.2f} s [{w[1]:.2f}-{w[2]:.2f}]  "
          f"client CPU {c[0]:6.2f} s [{c[1]:.2f}-{c[2]:.2f}] = {c[0] / devices * 1000:.2f} ms/device  "
          f"RSS {m[0]:.0f} MiB  ok {ok[0]:.0f}  lab CPU {lab[0]:.2f} s")
key = lambda tool: runs.get((tool, min(d for _, d in runs)))
nauto, fast, slow = key("nauto_jobs"), key("netmiko_fast_cli"), key("netmiko_defaults")
if nauto and fast:
    ratio = lambda a, b, k: sorted(x[k] / y[k] for x, y in zip(a, b))
    for label, peer in [("netmiko fast_cli", fast), ("netmiko defaults", slow)]:
        if not peer:
            continue
        wall, cpu = ratio(peer, nauto, "wall_s"), ratio(peer, nauto, "cpu_s")
        print(f"nauto vs {label}: {statistics.median(wall):.2f}x faster [{wall[0]:.2f}-{wall[-1]:.2f}], "
              f"{statistics.median(cpu):.2f}x less client CPU [{cpu[0]:.2f}-{cpu[-1]:.2f}] (per-round ratios)")
PY
