#!/usr/bin/env bash
# Integration: the audit trail (issue 30) on a real nautod, with a real TCP syslog receiver
# started by the test on a loopback port of its own:
#   - runs started, secrets stored and a refusal (a unix user made by the test, without
#     roles) each become a record naming the verified principal, the service, the target and
#     the outcome; nothing of a secret appears;
#   - a reload (SIGHUP) that gives that user a role applies at once and is recorded, naming who
#     sent it and the users and roles it changed;
#   - every record reaches the receiver, across a kill -9 of the receiver and a restart of
#     nautod: at least once, and exactly once after de-duplication by seq;
#   - every record reaches a second receiver over TLS, its certificate checked against a CA file;
#   - `nauto audit verify` passes, then names the record the test edits in LMDB (python3-lmdb)
#     while nautod is stopped; `nauto audit export` gives every record as a JSON line;
#   - retention removes the old records and anchors the chain, which still verifies.
#   audit_test.sh NAUTOD NAUTO
set -uo pipefail
NAUTOD=$1
NAUTO=$2
. "$(dirname "$0")/checks.sh"
lab_test_setup audit
if [ "$(id -u)" != 0 ]; then
  echo "audit_test.sh needs root: it makes a unix user" >&2
  exit 1
fi
add_test_user carol_user || exit 1
claim_ports
receiver_port=$((base_port + 1))
receiver_pid=""
stop_receiver() { [ -n "$receiver_pid" ] && kill -9 "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null; receiver_pid=""; }
trap 'stop_receiver; lab_test_cleanup' EXIT
cat >"$work/receiver.py" <<'PY'
# A syslog receiver over TCP (RFC 6587 octet counting), or TLS (RFC 5425) given a certificate
# and its key: each message on a line of its own.
import os, socket, ssl, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
if len(sys.argv) > 4:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server = context.wrap_socket(server, server_side=True)
lock = threading.Lock()
def serve(conn):
    buffer = b""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        buffer += data
        while b" " in buffer:
            size, rest = buffer.split(b" ", 1)
            if len(rest) < int(size):
                break
            message, buffer = rest[:int(size)], rest[int(size):]
            with lock, open(out, "ab") as f:
                f.write(message + b"\n")
print("ready", flush=True)
while True:
    try:
        conn, _ = server.accept()
    except (ssl.SSLError, OSError):
        continue  # a handshake that failed
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
start_receiver() {
  python3 "$work/receiver.py" "$receiver_port" "$work/received.log" >"$work/receiver.out" 2>&1 &
  receiver_pid=$!
  wait_for 5 grep -q ready "$work/receiver.out"
}
# The TLS receiver: a certificate for 127.0.0.1 that the forwarder checks against its CA file.
tls_port=$((base_port + 2))
tls_pid=""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=siem \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
  -keyout "$work/other.key" -out "$work/other.pem" 2>/dev/null
python3 "$work/receiver.py" "$tls_port" "$work/received-tls.log" "$work/tls.pem" "$work/tls.key" \
  >"$work/tls-receiver.out" 2>&1 &
tls_pid=$!
trap 'stop_receiver; kill -9 $tls_pid 2>/dev/null; lab_test_cleanup' EXIT
mkdir -p "$work/runbooks"
cat >"$work/runbooks/hello.lua" <<'LUA'
return runbook { name = "hello", params = { n = { type = "int", default = 1 } },
  run = function(p) return { n = p.n } end }
LUA
cat >"$work/nauto.yaml" <<YAML
data_dir: $work/data
run_dir: $work/run
log: {level: info, file: $work/nautod.jsonl}
modules:
  journal: {}
  vault: {file: $work/vault.json, key_file: $work/vault.key}
  runbooks: {dirs: [$work/runbooks]}
  audit:
    signing_key: $work/audit-signing.key
    sign_every: 1s
    forward:
      - {name: siem, address: "127.0.0.1:$receiver_port", transport: tcp, confirm_after: 500ms}
      - {name: siem-tls, address: "127.0.0.1:$tls_port", transport: tls, ca_file: $work/tls.pem}
      - {name: wrong-ca, address: "127.0.0.1:$tls_port", transport: tls, ca_file: $work/other.pem}
YAML
export NAUTO_CONFIG=$work/nauto.yaml
"$NAUTO" creds keygen --key-file "$work/vault.key" >/dev/null
check "the receiver starts" start_receiver
check "nautod starts with the audit module" start_nautod audit.stats
open_bus_to_all

check "runs start" sh -c "for n in 1 2 3; do '$NAUTO' run hello --param n=\$n >/dev/null || exit 1; done"
check "a secret is stored" "$NAUTO" call vault.set --json '{"name": "core", "username": "ops", "password": "s3cret-value"}'
carol_refused() { ! as_user "$carol_user" call run.start --json '{"runbook": "hello"}'; }
check "a user without roles is refused" carol_refused
# A role change by a reload (SIGHUP): applied at once, recorded with its sender and the change.
cat >>"$work/nauto.yaml" <<YAML
auth:
  users:
    - {user: $carol_user, name: carol, roles: [operator]}
YAML
kill -HUP "$pid"
carol_runs() { as_user "$carol_user" run hello >/dev/null; }
check "after a reload that makes her an operator, the same user starts a run" wait_for 5 carol_runs
reload_recorded() {
  "$NAUTO" audit list -s nautod.reload >"$work/reloads.out" && cat "$work/reloads.out" &&
    grep -Eq " root +nautod.reload +config=$work/nauto.yaml \(users: \+carol\) +ok$" "$work/reloads.out"
}
check "the reload is recorded: root sent it, and it added the user carol" wait_for 5 reload_recorded
records() {  # records FILTER-ARGS...: `nauto audit list` as JSON into $work/list.json
  "$NAUTO" audit list -n 1000 -o json "$@" >"$work/list.json"
}
listed() {
  records && python3 - "$work/list.json" "$carol_user" <<'PY'
import json, sys
records = json.load(open(sys.argv[1]))["records"]
for r in records:
    print(r["seq"], r["principal"], r["service"], r["target"], r["outcome"])
runs = [r for r in records if r["service"] == "run.start" and r["principal"] == "root" and r["outcome"] == "ok"]
stored = [r for r in records if r["service"] == "vault.set" and r["target"] == "name=core" and r["outcome"] == "ok"]
refused = [r for r in records if r["principal"] == sys.argv[2] and r["service"] == "run.start" and r["outcome"] == "refused"]
ok = len(runs) == 3 and {r["target"] for r in runs} == {"runbook=hello"} and len(stored) == 1 and len(refused) == 1
ok = ok and refused[0]["via"] == "ipc" and refused[0]["error_code"] == "permission_denied"
ok = ok and "s3cret-value" not in open(sys.argv[1]).read()
sys.exit(0 if ok else 1)
PY
}
check "each became a record naming who, what, on what, and how it ended" wait_for 5 listed
check "filters: by principal" sh -c "'$NAUTO' audit list -p '$carol_user' -o json | python3 -c 'import json,sys; r=json.load(sys.stdin)[\"records\"]; sys.exit(0 if len(r) == 1 else 1)'"
check "filters: by service glob and outcome" sh -c "'$NAUTO' audit list -s 'vault.*' --outcome ok | grep -q 'name=core'"

last_seq() { "$NAUTO" audit stats -o json | python3 -c "import json,sys; print(json.load(sys.stdin)['last_seq'])"; }
delivered() {  # delivered [LOG]: every record 1..last_seq reached the receiver (TCP's log)
  local last
  last=$(last_seq) || return 1
  python3 - "${1:-$work/received.log}" "$last" <<'PY'
import re, sys
seqs = [int(m.group(1)) for m in re.finditer(rb'\[nauto-audit@32473 seq="(\d+)"', open(sys.argv[1], "rb").read())]
missing = set(range(1, int(sys.argv[2]) + 1)) - set(seqs)
print(len(seqs), "received,", len(set(seqs)), "distinct, missing:", sorted(missing)[:20])
sys.exit(0 if not missing else 1)
PY
}
check "every record reaches the receiver" wait_for 10 delivered
check "...and the TLS receiver, which the forwarder verified" wait_for 10 delivered "$work/received-tls.log"
unverified() {  # the target whose CA did not sign the receiver's certificate sent nothing
  "$NAUTO" audit stats -o json | python3 -c "
import json, sys
f = {t['name']: t for t in json.load(sys.stdin)['forwarders']}['wrong-ca']
print(f)
sys.exit(0 if f['sent'] == 0 and not f['connected'] and 'certificate verify failed' in f['last_error'] else 1)"
}
check "...but not to a receiver whose certificate its CA did not sign" wait_for 5 unverified
check "as RFC 5424: authpriv, MSGID audit-<seq>, structured data, JSON" \
  grep -Eq '^<8[45]>1 [0-9T:.-]+Z [^ ]+ nauto - audit-[0-9]+ \[nauto-audit@32473 seq="[0-9]+" principal="' "$work/received.log"

# The receiver dies; what happens meanwhile reaches it once it is back.
stop_receiver
check "runs start while the receiver is down" sh -c "for n in 4 5; do '$NAUTO' run hello --param n=\$n >/dev/null || exit 1; done"
check "the receiver is back" start_receiver
check "...and gets what it missed" wait_for 30 delivered

# nautod restarts; its cursor was durable.
kill "$pid" && wait "$pid" 2>/dev/null
check "nautod restarts" start_nautod audit.stats
check "runs after the restart" sh -c "for n in 6 7; do '$NAUTO' run hello --param n=\$n >/dev/null || exit 1; done"
check "...reach the receiver too" wait_for 30 delivered
exactly_once() {  # after de-duplication by seq: each record once, and the same records as the list
  records && python3 - "$work/received.log" "$work/list.json" <<'PY'
import json, re, sys
received = {}
for line in open(sys.argv[1], "rb").read().splitlines():
    m = re.search(rb'seq="(\d+)"\S* .*?\] (\{.*\})$', line)
    if m:
        received.setdefault(int(m.group(1)), json.loads(m.group(2)))
listed = {r["seq"]: r for r in json.load(open(sys.argv[2]))["records"]}
print(len(received), "distinct records received,", len(listed), "listed")
same = all(received[s]["service"] == r["service"] and received[s]["principal"] == r["principal"] and received[s]["hash"] == r["hash"] for s, r in listed.items() if s in received)
sys.exit(0 if set(received) == set(listed) and same else 1)
PY
}
check "de-duplicated by seq, the receiver has each record exactly once" exactly_once

export_all() {
  "$NAUTO" audit export >"$work/export.jsonl" &&
    [ "$(wc -l <"$work/export.jsonl")" -eq "$(last_seq)" ] &&
    python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$work/export.jsonl"
}
check "audit export gives every record as a JSON line" export_all
verified() { "$NAUTO" audit verify >"$work/verify.out" && cat "$work/verify.out" && grep -q "^ok: " "$work/verify.out" && grep -Eq "^signed heads checked: [1-9]" "$work/verify.out"; }
check "audit verify: the chain is intact, with signed heads" wait_for 5 verified

# An edit straight into LMDB, nautod stopped: verify names the record.
kill "$pid" && wait "$pid" 2>/dev/null
tamper() {  # Debian's python3, which has python3-lmdb (bootstrap installs it)
  /usr/bin/python3 - "$work/data/store" <<'PY'
import lmdb, struct, sys
env = lmdb.open(sys.argv[1], max_dbs=64, map_size=1 << 30)
table = env.open_db(b"audit", create=False)
with env.begin(write=True) as txn:
    key = struct.pack(">Q", 3)
    value = txn.get(key, db=table)
    assert value and b"\xa4root" in value, value
    txn.put(key, value.replace(b"\xa4root", b"\xa4toor", 1), db=table)
print("record 3 now names 'toor'")
PY
}
check "the test edits record 3 in LMDB" tamper
check "nautod starts again" start_nautod audit.stats
tampered() {
  ! "$NAUTO" audit verify >"$work/verify.out" && cat "$work/verify.out" &&
    grep -q "^TAMPERED at record 3: its content does not match its hash (edited)" "$work/verify.out"
}
check "audit verify finds the edit and names record 3 (exit 1)" tampered
# Retention: records older than a second go, the last one removed anchors the chain, and
# what is left verifies (the edited record went with them).
kill "$pid" && wait "$pid" 2>/dev/null
sed -i 's/    sign_every: 1s/    sign_every: 1s\n    max_age: 1s\n    retention_interval: 200ms/' "$work/nauto.yaml"
check "nautod starts with a retention of one second" start_nautod audit.stats
anchored() {
  "$NAUTO" audit verify -o json >"$work/verify.json" && cat "$work/verify.json" &&
    python3 -c "import json,sys; v=json.load(open(sys.argv[1])); sys.exit(0 if v['ok'] and v['anchor']['seq'] >= 3 else 1)" "$work/verify.json"
}
check "retention removed the old records; the rest verifies from the anchor" wait_for 10 anchored
check "no module restarted" no_module_restarts

echo "audit: $((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
