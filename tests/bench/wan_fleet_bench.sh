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
#   [DELAY=netem|lab] wan_fleet_bench.sh NAUTO_LAB JOBS_BENCH [DEVICES] [SESSIONS] [RTT_MS] [PEER_THREADS]
set -euo pipefail
lab=$(realpath "$1"); bench=$(realpath "$2")
devices=${3:-5000}; sessions=${4:-1000}; rtt=${5:-100}; peer_threads=${6:-$sessions}
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
in_ns "$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" >"$work/ready" &
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
one=$(in_ns "$bench" "$inventory" 1 1 | grep '^nauto')
echo "one device alone:        $one"
all=$(in_ns "$bench" "$inventory" "$devices" "$sessions" | grep '^nauto' || true)
echo "nauto, $sessions sessions:  $all"
peer=$(in_ns /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" "$devices" "$peer_threads" --fast-cli \
  2>"$work/netmiko.err" | grep '^netmiko' || true)
echo "netmiko fast_cli, $peer_threads threads: $peer"
grep -v '^ *$' "$work/netmiko.err" | sed 's/^[a-z0-9]*: //' | sort | uniq -c | sort -rn | head -3 || true
/usr/bin/python3 - "$one" "$all" "$peer" "$devices" "$sessions" <<'PY'
import math, sys
def fields(line):
    return {k: float(v) for k, v in (w.split("=", 1) for w in line.split()[1:] if "=" in w)}
one, nauto, peer = (fields(x) if x else {} for x in sys.argv[1:4])
devices, sessions = int(sys.argv[4]), int(sys.argv[5])
waves = math.ceil(devices / sessions)
floor = waves * one["wall_s"]
print(f"latency floor: {waves} waves x {one['wall_s']:.2f} s (one device alone) = {floor:.2f} s")
if nauto:
    print(f"nauto: wall {nauto['wall_s']:.2f} s = {nauto['wall_s'] / floor:.2f}x the floor (target <= 1.3); "
          f"peak RSS {nauto['peak_rss_mib']:.0f} MiB (target < 300); "
          f"client CPU {nauto['cpu_s'] / nauto['wall_s']:.2f} cores (target < 1); ok {nauto['ok']:.0f}/{devices}")
if peer:
    print(f"netmiko fast_cli: wall {peer['wall_s']:.2f} s = {peer['wall_s'] / floor:.2f}x the floor; "
          f"peak RSS {peer['peak_rss_mib']:.0f} MiB; client CPU {peer['cpu_s'] / peer['wall_s']:.2f} cores; "
          f"ok {peer['ok']:.0f}/{devices}")
if nauto and peer:
    print(f"nauto vs netmiko fast_cli: {peer['wall_s'] / nauto['wall_s']:.2f}x faster")
PY
