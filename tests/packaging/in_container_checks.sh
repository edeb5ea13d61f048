#!/bin/bash
# Runs inside the Debian machine package_test.py boots with systemd-nspawn, as the oneshot unit
# nauto-package-check.service, ordered after nautod.service (so, nautod being Type=notify,
# after nautod said READY=1). Prints "ok - ..." / "not ok - ..." lines; exits 1 when a check
# failed, which the unit's SuccessAction/FailureAction=exit-force hands to systemd-nspawn.
# The machine has its own network namespace, so the lab's ports cannot collide with the host's.
#   in_container_checks.sh UPGRADE_DEB
set -u
upgrade_deb=$1
failed=0
ok() { echo "ok - $1"; }
not_ok() {
  echo "not ok - $1"
  printf '%s\n' "$2" | sed 's/^/#   /' | head -20
  failed=1
}
# expect WHAT TEXT COMMAND...: the command succeeds and its output contains TEXT.
expect() {
  local what=$1 text=$2 out
  shift 2
  if out=$("$@" 2>&1) && [[ $out == *"$text"* ]]; then ok "$what"; else not_ok "$what" "$out"; fi
}
# refused WHAT TEXT COMMAND...: the command fails and its output contains TEXT.
refused() {
  local what=$1 text=$2 out
  shift 2
  if ! out=$("$@" 2>&1) && [[ $out == *"$text"* ]]; then ok "$what"; else not_ok "$what" "$out"; fi
}
same() {  # same WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1 ($3)"; else not_ok "$1" "expected '$2', got '$3'"; fi
}
as_alice() { runuser -u alice -- "$@"; }  # an operator: member of group nauto
as_bob() { runuser -u bob -- "$@"; }      # anyone else

echo "# nautod under systemd"
same "nautod.service is active once the checks start" active "$(systemctl is-active nautod)"
same "it is Type=notify" notify "$(systemctl show -p Type --value nautod)"
same "with a watchdog" 30s "$(systemctl show -p WatchdogUSec --value nautod)"
main_pid=$(systemctl show -p MainPID --value nautod)
same "nautod runs as nauto" nauto "$(stat -c %U "/proc/$main_pid")"
same "/var/lib/nauto" "750 nauto nauto" "$(stat -c '%a %U %G' /var/lib/nauto)"
same "/run/nauto" "750 nauto nauto" "$(stat -c '%a %U %G' /run/nauto)"
same "the socket" "660 nauto nauto" "$(stat -c '%a %U %G' /run/nauto/nautod.sock)"
same "the vault key" "600 nauto nauto" "$(stat -c '%a %U %G' /etc/nauto/vault.key)"
same "/etc/nauto/nauto.yaml is a conffile" /etc/nauto/nauto.yaml \
  "$(dpkg-query -W -f='${Conffiles}' nauto | awk '{print $1}' | grep nauto.yaml)"
score=$(systemd-analyze security nautod.service --no-pager | sed -n 's/.*exposure level for nautod.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
  ok "systemd-analyze security nautod.service: exposure $score (at most 2.5)"
else
  not_ok "systemd-analyze security nautod.service: exposure at most 2.5" "got '$score'"
fi

echo "# the CLI: group nauto only"
expect "nauto status works for alice (group nauto)" journal as_alice nauto status
refused "and is refused for bob (not in it)" "permission denied" as_bob nauto status

echo "# devices through the sandbox"
# The lab's state (its known_hosts, which nautod reads) outside /home and /tmp, which the unit
# hides from nautod (ProtectHome, PrivateTmp).
lab=/srv/lab
install -d -o alice -g alice "$lab"
as_alice nauto-lab --devices 2 --platform cisco_ios --base-port 20000 \
  --state-dir "$lab" >"$lab/out.txt" 2>&1 &
lab_pid=$!
for _ in $(seq 300); do
  grep -q '"ready":true' $lab/out.txt 2>/dev/null && break
  sleep 0.1
done
expect "nauto-lab started (package nauto-lab)" '"ready":true' cat $lab/out.txt
expect "root imports the lab's inventory" "imported" nauto inventory import $lab/inventory.yaml
# shellcheck disable=SC1091
. $lab/lab-credentials.env
expect "root stores its credential in the vault" "lab" \
  sh -c "printf '%s\n%s\n' '$NAUTO_CRED_LAB_PASSWORD' '$NAUTO_CRED_LAB_ENABLE_SECRET' |
    nauto creds set lab --enable -u '$NAUTO_CRED_LAB_USERNAME' && nauto creds list"
expect "alice runs a job on both devices (SSH from the sandboxed nautod)" "Cisco IOS" \
  as_alice nauto job run --commands "show version" --target all
expect "nauto doctor: nothing to fix" "nothing to fix" as_alice nauto doctor --sample 2
expect "it reached the sampled devices" "2 of 2 devices answer" as_alice nauto doctor --sample 2

echo "# reload"
if out=$(systemctl reload nautod 2>&1); then
  ok "systemctl reload nautod"
else
  not_ok "systemctl reload nautod" "$out
$(journalctl -u nautod --no-pager -n 15 2>&1)"
fi
same "nautod kept running (same pid) after the reload" "$main_pid" \
  "$(systemctl show -p MainPID --value nautod)"

echo "# upgrade"
key_before=$(sha256sum /etc/nauto/vault.key)
expect "dpkg -i of a newer version" "" dpkg -i "$upgrade_deb"
same "the new version is installed" "$(dpkg-deb -f "$upgrade_deb" Version)" \
  "$(dpkg-query -W -f='${Version}' nauto)"
same "nautod is active after the upgrade" active "$(systemctl is-active nautod)"
if [ "$(systemctl show -p MainPID --value nautod)" != "$main_pid" ]; then
  ok "and was restarted (a new pid opened and migrated the store)"
else
  not_ok "and was restarted" "same pid $main_pid"
fi
expect "the inventory is kept" "ios2" as_alice nauto inventory list
same "the vault key is kept" "$key_before" "$(sha256sum /etc/nauto/vault.key)"
expect "and the vault still opens: the job runs again" "Cisco IOS" \
  as_alice nauto job run --commands "show version" --target ios1
kill "$lab_pid" 2>/dev/null
wait "$lab_pid" 2>/dev/null

echo "# remove, then purge"
expect "dpkg -r nauto-lab nauto" "" dpkg -r nauto-lab nauto
same "nautod is stopped" inactive "$(systemctl is-active nautod)"
expect "remove keeps the store" "data.mdb" ls /var/lib/nauto/store
expect "and the configuration" "modules" cat /etc/nauto/nauto.yaml
expect "dpkg --purge nauto" "" dpkg --purge nauto
refused "purge removes the store" "No such file" ls /var/lib/nauto
refused "the vault key" "No such file" ls /etc/nauto/vault.key
refused "and the configuration" "No such file" ls /etc/nauto/nauto.yaml

exit "$failed"
