#!/usr/bin/env bash
# scripts/check_includes.py: passes on the tree, and fails on each kind of planted violation
# (in a copy of the sources, in this test's own directory), naming the file and line.
#   check_includes_test.sh SOURCE_ROOT
set -uo pipefail
root=$(realpath "$1")
work=$(mktemp -d /tmp/nauto-walls-XXXXXX)
trap 'rm -rf "$work"' EXIT
. "$root/tests/integration/checks.sh"

check_tree() { python3 "$root/scripts/check_includes.py" "$work/tree"; }
fresh_copy() {
  rm -rf "$work/tree" && mkdir -p "$work/tree" &&
    cp -r "$root/kernel" "$root/bus" "$root/text" "$root/drivers" "$root/modules" "$root/cli" \
      "$work/tree/"
}
# planted FILE LINE EXPECTED: appends an include to a fresh copy of the tree; the check must fail
# and say EXPECTED about that file.
planted() {
  local file=$1 line=$2 expected=$3
  fresh_copy && echo "$line" >>"$work/tree/$file" || return 1
  ! check_tree >"$work/check.out" 2>&1 || return 1
  grep -F "$file:" "$work/check.out" | grep -qF "$expected"
}

tree_passes() { fresh_copy && check_tree; }
check "the tree passes" tree_passes
check "the kernel including a module's header fails" \
  planted kernel/host/module_host.cpp '#include "vault_file.h"' "not kernel's own header"
check "the CLI climbing into the runbook engine's internals fails" \
  planted cli/main.cpp '#include "../kernel/runbook/run_primitives.h"' "not cli's own header"
check "a module including a component its README does not declare fails" \
  planted modules/journal/journal_module.cpp '#include "nauto/drivers/driver.h"' \
  "declare it in the module's README"
check "a module reaching another module's header fails" \
  planted modules/rules/rule.cpp '#include <inventory.h>' "not module rules's own header"
check "a library including one it does not depend on fails" \
  planted text/regex.cpp '#include "nauto/bus/envelope.h"' "text may include only nauto/base"
declared() {
  fresh_copy && echo '#include "nauto/drivers/driver.h"' >>"$work/tree/modules/journal/journal_module.cpp" &&
    sed -i 's|^Includes: nauto/store|Includes: nauto/store, nauto/drivers|' "$work/tree/modules/journal/README.md" &&
    check_tree
}
check "declaring it in the module's README makes it allowed" declared
echo "check_includes: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
