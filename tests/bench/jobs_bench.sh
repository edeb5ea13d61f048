#!/bin/bash
# Fleet jobs at scale (issue 5): one nauto-lab of DEVICES cisco_ios devices on 127.0.0.1, then
# `show version` on the first 1,000 with netmiko (thread pool, Nornir style) and with nauto's
# job engine, and on all DEVICES with nauto. Same lab, same run, same concurrency.
#   jobs_bench.sh NAUTO_LAB JOBS_BENCH [DEVICES] [SESSIONS]
set -euo pipefail
lab=$1; bench=$2; devices=${3:-10000}; sessions=${4:-100}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
# Below the ephemeral port range (32768+), so no outgoing connection holds a device's port.
base=20000
printf 'base_port: %s\ncredentials: {username: admin, password: lab-pass, enable_secret: lab-enable}\ngroups:\n  - {platform: cisco_ios, count: %s}\n' \
  "$base" "$devices" > "$work/fleet.yaml"
"$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" > "$work/ready" &
pid=$!
until [ -s "$work/ready" ]; do sleep 0.1; done
set -a; . "$work/state/lab-credentials.env"; set +a
inventory=$work/state/inventory.yaml
lab_cpu() { awk '{print ($14 + $15) / 100}' /proc/$pid/stat; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
small=$((devices < 1000 ? devices : 1000))
for tool in netmiko nauto; do
  before=$(lab_cpu)
  if [ "$tool" = netmiko ]; then
    /usr/bin/python3 "$here/netmiko_bench.py" "$inventory" "$small" "$sessions" 2>"$work/netmiko.err" || true
  else
    "$bench" "$inventory" "$small" "$sessions" || true
  fi
  echo "  (lab CPU during the run: $(awk -v a="$(lab_cpu)" -v b="$before" 'BEGIN {print a - b}') s)"
done
if [ "$devices" -gt 1000 ]; then
  before=$(lab_cpu)
  "$bench" "$inventory" "$devices" "$sessions" || true
  echo "  (lab CPU during the run: $(awk -v a="$(lab_cpu)" -v b="$before" 'BEGIN {print a - b}') s)"
fi
