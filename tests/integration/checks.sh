# Sourced by the integration scripts: numbered TAP-style checks. Each check runs a command with
# its output in $work/out.N; a failing check prints the last lines of that output.
#   check "description" command...     then, at the end: summary NAME
count=0
failed=0
check() {
  local what=$1
  shift
  count=$((count + 1))
  if "$@" >"$work/out.$count" 2>&1; then
    echo "ok $count - $what"
  else
    echo "not ok $count - $what"
    sed 's/^/#   /' "$work/out.$count" | tail -30
    failed=$((failed + 1))
  fi
}
