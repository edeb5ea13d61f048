#!/bin/bash
# Compliance throughput (issue 28): 100 rules over N configs of about 20 KB, nauto (1 thread, as
# a run's evaluator, and 2) beside a Python `re` loop doing the same checks, in the same run,
# three rounds each; the pass/fail counts of both must be equal.
#   compliance_bench.sh COMPLIANCE_BENCH [N]
set -euo pipefail
bench=$1
count=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/nauto-compliance-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
/usr/bin/python3 "$here/compliance_corpus.py" "$work" "$count"
median() { sort -g | sed -n 2p; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
one=() two=() py=()
for round in 1 2 3; do
  out1=$("$bench" "$work" 1); echo "$out1" | grep -v '^RESULT'
  out2=$("$bench" "$work" 2); echo "$out2" | grep -v '^RESULT'
  outp=$(/usr/bin/python3 "$here/compliance_bench.py" "$work"); echo "$outp" | grep -v '^RESULT'
  [ "$(echo "$out1" | grep RESULT | cut -d' ' -f3-)" = "$(echo "$outp" | grep RESULT | cut -d' ' -f3-)" ] ||
    { echo "the pass/fail counts differ"; exit 1; }
  one+=("$(echo "$out1" | field seconds)")
  two+=("$(echo "$out2" | field seconds)")
  py+=("$(echo "$outp" | field seconds)")
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
mp=$(printf '%s\n' "${py[@]}" | median)
echo "median of 3: nauto 1 thread ${m1} s [${one[*]}], 2 threads ${m2} s [${two[*]}], python ${mp} s [${py[*]}]"
awk -v a="$m1" -v b="$m2" -v p="$mp" 'BEGIN { printf "ratio: nauto %.1fx faster than Python re on 1 thread, %.1fx on 2\n", p / a, p / b }'
