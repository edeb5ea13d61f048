#!/bin/bash
# WAN fleet (issue 25): DEVICES nauto-lab cisco_ios devices RTT_MS away, SESSIONS at once.
# The lab and the clients run in a network namespace of their own whose loopback carries
# `tc netem` delay (RTT_MS / 2 each way), so every packet between them crosses a WAN-like round
# trip while the traffic stays on a loopback no other process shares. (The lab serves loopback
# only, so this replaces the veth pair the issue sketches; the delay is the same.)
# Measured, in the same run:
#   - one device alone: its wall time is the latency floor of one device (round trips x RTT,
#     counted by the clock rather than by hand, plus what the CPUs add);
#   - nauto's job engine (jobs_bench, in-process, no bus) on all devices with SESSIONS at once:
#     wall against the floor (waves x one device), peak RSS, client CPU in cores;
#   - netmiko fast_cli with PEER_THREADS threads on the same devices.
# Targets: wall <= 1.3x the floor, peak RSS < 300 MB, client CPU < 1 core. Needs root.
# DELAY=lab, for kernels without sch_netem: no namespace; instead the lab holds each reply of
# every device RTT_MS before sending it (its latency_ms fault). That delays each CLI round trip
# as a WAN would, but not TCP's handshake or the SSH key exchange, so the floor has fewer
# delayed round trips; it still measures sessions in flight against the same floor.
# ROUNDS rounds (default 3); the summary gives medians [range].
#   [DELAY=netem|lab] [ROUNDS=3] wan_fleet_bench.sh NAUTO_LAB JOBS_BENCH [DEVICES] [SESSIONS] [RTT_MS] [PEER_THREADS]
set -euo pipefail
lab=$(realpath "$1"); bench=$(realpath "$2")
devices=${3:-5000}; sessions=${4:-1000}; rtt=${5:-100}; peer_threads=${6:-$sessions}
rounds=${ROUNDS:-3}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nauto-wan-bench-XXXXXX)
delay=${DELAY:-netem}
ns=nauto-wan-$$
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ "$delay" = netem ] && ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$delay" = netem ]; then
  in_ns() { ip netns exec "$ns" "$@"; }
  ip netns add "$ns"
  in_ns ip link set lo up
  # Half the round trip each way; a queue long enough for every packet in flight at once.
  in_ns tc qdisc add dev lo root netem delay "$((rtt / 2))ms" limit 1000000
  # A fresh namespace has no listener at all: any base port below the ephemeral range is free.
  base=10000
  faults=""
else
  in_ns() { "$@"; }
  base=$(/usr/bin/python3 "$here/free_ports.py" $((devices + 2)))
  faults=", faults: {latency_ms: $rtt}"
fi
printf 'base_port: %s\ncredentials: {username: admin, password: lab-pass, enable_secret: lab-enable}\ngroups:\n  - {platform: cisco_ios, count: %s%s}\n' \
  "$base" "$devices" "$faults" >"$work/fleet.yaml"
# Started directly (not through the in_ns function, which would run in a subshell whose pid
# is not the lab's), so the cleanup stops the lab itself.
if [ "$delay" = netem ]; then
  ip netns exec "$ns" "$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" >"$work/ready" &
else
  "$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" >"$work/ready" &
fi
pid=$!
until [ -s "$work/ready" ]; do kill -0 "$pid" 2>/dev/null || exit 1; sleep 0.1; done
set -a; . "$work/state/lab-credentials.env"; set +a
inventory=$work/state/inventory.yaml
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
if [ "$delay" = netem ]; then
  echo "lab: $devices devices, RTT $(in_ns ping -c 3 -q 127.0.0.1 | tail -1 | cut -d= -f2)"
else
  echo "lab: $devices devices, each reply held ${rtt} ms by the lab (DELAY=lab)"
fi
lab_cpu() { awk '{print ($14 + $15) / 100}' /proc/$pid/stat; }
measure() {  # measure NAME COMMAND...: its result line with the lab's CPU during it appended
  local name=$1 before line
  shift
  before=$(lab_cpu)
  line=$("$@" 2>>"$work/errors.$name" | grep -E '^(netmiko|nauto)' || true)
  echo "$name ${line#* } lab_cpu_s=$(awk -v a="$(lab_cpu)" -v b="$before" 'BEGIN {print a - b}')" |
    tee -a "$work/lines"
}
for round in $(seq "$rounds"); do
  echo "-- round $round"
  measure one in_ns "$bench" "$inventory" 1 1
  measure nauto in_ns "$bench" "$inventory" "$devices" "$sessions"
  measure netmiko in_ns /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" "$devices" \
    "$peer_threads" --fast-cli
  # fast_cli shortens netmiko's waits, which a 100 ms reply can outlast: its defaults beside it.
  measure netmiko_defaults in_ns /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" \
    "$devices" "$peer_threads"
done
for peer in netmiko netmiko_defaults; do
  [ -f "$work/errors.$peer" ] || continue
  echo "$peer errors:"
  grep -v '^ *$' "$work/errors.$peer" | sed 's/^[a-z0-9]*: //' | sort | uniq -c | sort -rn |
    head -3 || true  # head closing the pipe early is no failure
done
/usr/bin/python3 - "$work/lines" "$devices" "$sessions" "$(nproc)" <<'PY'
import collections, math, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    words = line.split()
    runs[words[0]].append({k: float(v) for k, v in (w.split("=", 1) for w in words[1:] if "=" in w)})
devices, sessions, cores = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def med(name, key):
    values = [r[key] for r in runs[name]]
    return statistics.median(values), min(values), max(values)
waves = math.ceil(devices / sessions)
one = med("one", "wall_s")[0]
floor = waves * one
print(f"\nmedian [range] of {len(runs['nauto'])} rounds")
print(f"latency floor: {waves} waves x {one:.2f} s (one device alone) = {floor:.2f} s")
for name in ("nauto", "netmiko", "netmiko_defaults"):
    if not runs[name] or "wall_s" not in runs[name][0]:
        continue
    w, c, r, ok, lab = (med(name, k) for k in ("wall_s", "cpu_s", "peak_rss_mib", "ok", "lab_cpu_s"))
    # Both sides share this machine's cores: what they used together bounds the wall from below.
    cpu_floor = (c[0] + lab[0]) / cores
    print(f"{name}: wall {w[0]:.2f} s [{w[1]:.2f}-{w[2]:.2f}] = {w[0] / floor:.2f}x the latency floor; "
          f"client CPU {c[0] / w[0]:.2f} cores ({c[0] / devices * 1000:.2f} ms/device), lab CPU "
          f"{lab[0]:.2f} s: the two need {cpu_floor:.2f} s of this machine's {cores} cores; "
          f"peak RSS {r[0]:.0f} MiB; ok {ok[0]:.0f}/{devices}")
    if name == "nauto":
        extra = {k: med(name, k)[0] for k in ("peak_in_flight", "threads_at_peak", "rss_per_session_kib")}
        print(f"  sessions in flight {extra['peak_in_flight']:.0f} on {extra['threads_at_peak']:.0f} "
              f"threads; {extra['rss_per_session_kib']:.0f} KiB per session in flight")
for peer in ("netmiko", "netmiko_defaults"):
    if runs["nauto"] and runs[peer] and "wall_s" in runs[peer][0]:
        print(f"nauto vs {peer}: {med(peer, 'wall_s')[0] / med('nauto', 'wall_s')[0]:.2f}x faster, "
              f"{med(peer, 'cpu_s')[0] / med('nauto', 'cpu_s')[0]:.2f}x less client CPU")
PY
