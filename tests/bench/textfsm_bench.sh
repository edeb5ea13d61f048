#!/bin/bash
# TextFSM throughput (issue 7): nauto's engine and Python TextFSM over the same ntc-templates
# fixture corpus, in the same run; prints both and the ratio.
#   textfsm_bench.sh TEXTFSM_BENCH [CORPUS_DIR] [ROUNDS]
set -euo pipefail
bench=$1
here=$(cd "$(dirname "$0")" && pwd)
corpus=${2:-${NAUTO_NTC_TEMPLATES:-$here/../../../shared/ntc-templates}}
rounds=${3:-20}
[ -f "$corpus/ntc_templates/templates/index" ] || corpus=/work/shared/ntc-templates
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "corpus: $corpus ($rounds rounds for nauto, 3 for python)"
py=$(/usr/bin/python3 "$here/textfsm_bench.py" "$corpus" 3)
cc=$("$bench" "$corpus" "$rounds")
echo "$py" | grep -v '^RESULT'
echo "$cc" | grep -v '^RESULT'
py_s=$(echo "$py" | sed -n 's/.*parse_seconds_per_round=\([0-9.]*\).*/\1/p')
cc_s=$(echo "$cc" | sed -n 's/.*parse_seconds_per_round=\([0-9.]*\).*/\1/p')
py_c=$(echo "$py" | sed -n 's/.*compile_seconds=\([0-9.]*\).*/\1/p')
cc_c=$(echo "$cc" | sed -n 's/.*compile_seconds=\([0-9.]*\).*/\1/p')
py_o=$(echo "$py" | sed -n 's/.*ordinary=\([0-9.]*\).*/\1/p')
cc_o=$(echo "$cc" | sed -n 's/.*ordinary=\([0-9.]*\).*/\1/p')
awk -v p="$py_s" -v c="$cc_s" -v pc="$py_c" -v cc="$cc_c" -v po="$py_o" -v co="$cc_o" 'BEGIN {
  printf "ratio: whole corpus %.1fx faster than Python TextFSM; without cisco_s300_show_vlan %.1fx; index + templates %.1fx\n", p / c, po / co, pc / cc }'
