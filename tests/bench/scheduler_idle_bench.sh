#!/usr/bin/env bash
# A real nautod holding 100,000 schedules (issue 26): how long it takes to read them and
# compute every next firing (from its log), the CPU it uses while idle with them all armed
# (target: under 1% of one core), and its memory per schedule. Baseline in the same run: the
# same nautod with the scheduler and no schedule. None is due in the window measured (the mix
# of scheduler_bench --write: cron on January 1, every: from February 2027, at: in 2027); the
# count of firings is printed all the same.
#   scheduler_idle_bench.sh NAUTOD NAUTO SCHEDULER_BENCH [N] [IDLE_SECONDS]
set -euo pipefail
NAUTOD=$1
NAUTO=$2
BENCH=$3
N=${4:-100000}
IDLE=${5:-30}
work=$(mktemp -d /tmp/nauto-scheduler-bench-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ticks=$(getconf CLK_TCK)

measure() {  # measure LABEL SCHEDULE_COUNT: prints one line of figures
  local label=$1 count=$2 dir="$work/$1"
  mkdir -p "$dir/schedules"
  [ "$count" -gt 0 ] && "$BENCH" --write "$dir/schedules/bench.yaml" "$count"
  cat >"$dir/nauto.yaml" <<YAML
data_dir: $dir/data
run_dir: $dir/run
log: {level: info, file: $dir/nautod.jsonl}
modules:
  scheduler: {dirs: [$dir/schedules], reload_interval: 2s}
YAML
  local began=$SECONDS
  NAUTO_CONFIG=$dir/nauto.yaml "$NAUTOD" >"$dir/nautod.out" 2>&1 &
  pid=$!
  until grep -q "schedules in force: $count " "$dir/nautod.jsonl" 2>/dev/null; do
    sleep 0.2
    ((SECONDS - began < 300)) || { echo "$label: not loaded in 300 s"; return 1; }
  done
  local loaded
  loaded=$(grep -o "schedules in force: $count ([^)]*)" "$dir/nautod.jsonl" | tail -1)
  sleep 5  # past the start's own work
  local before after rss
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep "$IDLE"
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  local fired
  fired=$(grep -c "fired (\|could not start" "$dir/nautod.jsonl" || true)
  kill "$pid" && wait "$pid" 2>/dev/null || true
  pid=""
  local cpu
  cpu=$(python3 -c "print(f'{100.0 * ($after - $before) / $ticks / $IDLE:.3f}')")
  echo "$label $count $cpu $rss $fired $loaded"
}

base=$(measure baseline 0)
full=$(measure schedules "$N")
python3 - "$base" "$full" "$IDLE" <<'PY'
import sys
base, full, idle = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3]
b_cpu, b_rss = float(base[2]), int(base[3])
f_n, f_cpu, f_rss, f_fired = int(full[1]), float(full[2]), int(full[3]), int(full[4])
print(f"scheduler_idle_bench: nautod with the scheduler, {idle} s idle each")
print(f"  baseline, no schedule:  {b_cpu:.3f}% of a core, RSS {b_rss / 1024:.1f} MiB")
print(f"  {f_n} schedules: {f_cpu:.3f}% of a core ({f_fired} fired in the window), "
      f"RSS {f_rss / 1024:.1f} MiB -> {(f_rss - b_rss) * 1024 / f_n:.0f} bytes/schedule")
print(f"  load: {' '.join(full[5:])}")
print(f"  idle target < 1% of a core: {'met' if f_cpu < 1.0 else 'NOT met'}")
PY
