#!/bin/bash
# nauto-lab at scale: start N cisco_ios devices in one process, read RSS before and after a
# burst of SSH sessions (OpenSSH exec, key auth, P in parallel, spread over all devices),
# and print sessions/s. Usage: lab_scale_bench.sh NAUTO_LAB [DEVICES] [SESSIONS] [PARALLEL]
set -euo pipefail
lab=$1; devices=${2:-1000}; sessions=${3:-400}; parallel=${4:-8}
work=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
base=$((10000 + RANDOM % 100 * 100))  # below the ephemeral ports (32768+), for up to ~12,000 devices
ssh-keygen -q -t ed25519 -N "" -f "$work/id"
printf 'base_port: %s\ncredentials: {authorized_keys: [%s]}\ngroups:\n  - {platform: cisco_ios, count: %s}\n' \
  "$base" "$work/id.pub" "$devices" > "$work/fleet.yaml"
start=$(date +%s.%N)
"$lab" --fleet "$work/fleet.yaml" --state-dir "$work/state" > "$work/ready" &
pid=$!
until [ -s "$work/ready" ]; do sleep 0.05; done
ready=$(date +%s.%N)
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
rss_idle=$(rss)
# Idle CPU: the lab's own ticks over 5 s with nobody connected (its timers only).
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
idle_t0=$(ticks)
sleep 5
idle_ticks=$(($(ticks) - idle_t0))
seq 1 "$sessions" | xargs -P "$parallel" -I{} sh -c \
  'ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i '"$work"'/id \
     -p $(('"$base"' + 2 + ({} % '"$devices"'))) admin@127.0.0.1 "show ip interface brief" > /dev/null'
t0=$(date +%s.%N)
seq 1 "$sessions" | xargs -P "$parallel" -I{} sh -c \
  'ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i '"$work"'/id \
     -p $(('"$base"' + 2 + ({} % '"$devices"'))) admin@127.0.0.1 "show ip interface brief" > /dev/null'
t1=$(date +%s.%N)
rss_after=$(rss)
# Baseline in the same run: the same client doing the same key exchange and exec against
# itself is not available without sshd, so the client cost is measured alone: ssh -V startup.
python3 - "$devices" "$sessions" "$parallel" "$start" "$ready" "$rss_idle" "$rss_after" "$t0" "$t1" "$idle_ticks" "$(getconf CLK_TCK)" <<'PY'
import sys
d, s, p = map(int, sys.argv[1:4]); start, ready = float(sys.argv[4]), float(sys.argv[5])
idle, after = int(sys.argv[6]), int(sys.argv[7]); t0, t1 = float(sys.argv[8]), float(sys.argv[9])
print(f"lab_scale: {d} devices ready in {ready-start:.2f} s; RSS {idle/1024:.1f} MiB idle = {idle/d:.1f} KiB/device; "
      f"{after/1024:.1f} MiB after {2*s} sessions")
print(f"lab_scale: {s} OpenSSH exec sessions, {p} in parallel: {s/(t1-t0):.1f} sessions/s")
idle_ticks, hz = int(sys.argv[10]), int(sys.argv[11])
print(f"lab_scale: idle CPU {100 * idle_ticks / hz / 5:.2f}% of a core over 5 s ({idle_ticks} ticks at {hz} Hz)")
PY
