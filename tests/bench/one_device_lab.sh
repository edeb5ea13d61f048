# Sourced by the benchmarks that drive one nauto-lab IOS device (ios1) through a real nautod:
#   . one_device_lab.sh NAME NAUTOD NAUTO NAUTO_LAB
# sets NAUTOD, NAUTO, LAB and `work` (a temporary directory, removed on exit with the lab and
# nautod), starts the lab and creates $work/runbooks. Then the benchmark writes its runbooks and
# calls `one_device_nautod SERVICE [RUNBOOKS_OPTIONS]`, which starts nautod with the inventory,
# vault, devices and runbooks modules (and the lines in $extra_modules, indented as modules)
# and waits until SERVICE answers.
NAUTOD=$(realpath "$2")
NAUTO=$(realpath "$3")
LAB=$(realpath "$4")
work=$(mktemp -d "/tmp/nauto-$1-bench-XXXXXX")
pid=""
lab_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../integration/checks.sh"

claim_ports
cat >"$work/fleet.yaml" <<YAML
base_port: $base_port
seed: 7
credentials: {username: admin, password: lab-pass, enable_secret: lab-enable}
groups:
  - {platform: cisco_ios, count: 1, site: dc1, role: edge}
YAML
start_lab || exit 1
mkdir -p "$work/runbooks"

one_device_nautod() {  # one_device_nautod SERVICE [RUNBOOKS_OPTIONS, e.g. "keep_sessions: 0"]
  cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: warn, file: $work/nautod.jsonl}
modules:
  journal: {max_age: 1h}
  inventory: {files: [$work/lab/inventory.yaml]}
  vault: {}
  devices: {max_sessions: 8, device_timeout: 10s}
  runbooks: {dirs: [$work/runbooks]${2:+, $2}}
${extra_modules:-}
YAML
  export NAUTO_CONFIG=$work/nauto.yaml
  lab_credentials
  start_nautod "$1" >/dev/null || { tail "$work/nautod.log"; exit 1; }
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
}
