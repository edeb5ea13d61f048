#!/usr/bin/env python3
"""Every declared service, fed bad bodies through a real nautod with every module running.

For each service in bus/schema/*.yaml (read through generate.py --json), and each of its
request fields: the field wrongly typed, then (when required) left out; for every service an
undeclared field and a body that is not an object. Each answer must be invalid_argument (exit
status 2 from `nauto call`) naming the service, the field and the type expected; a service only
modules or worker nodes may call (access: module or worker) is refused by the router before its
body is read. Then every
declared event is published with each field wrongly typed. Afterwards `nauto status` must show
every module running with 0 restarts.

  bus_schema_test.py NAUTOD NAUTO GENERATE_PY SCHEMA.yaml...
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import port_block  # noqa: E402

NAUTOD, NAUTO, GENERATE = sys.argv[1:4]
SCHEMAS = sys.argv[4:]

# A value of each type, and one that is not of it ("any" has none).
VALID = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "object": {}, "array": [],
         "strings": ["x"], "duration": "1s", "any": None}
WRONG = {"string": 5, "integer": "five", "number": "1.5", "boolean": "yes", "object": [1],
         "array": {"a": 1}, "strings": [1], "duration": True}
EXPECTED = {"string": "a string", "integer": "an integer", "number": "a number",
            "boolean": "true or false", "object": "an object", "array": "an array",
            "strings": "an array of strings", "duration": "a duration"}

passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"not ok - {what}\n#   {detail}")


def call(service, body, env):
    done = subprocess.run([NAUTO, "call", service, "--json", json.dumps(body)], env=env,
                          capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout + done.stderr


def call_all(requests, env):
    """Every (service, body) through one `nauto call --batch`: (exit, text) per request, as
    a `nauto call` of its own would give. One process, not hundreds (each costs most of a
    second under the sanitizers on some machines)."""
    lines = "".join(json.dumps({"service": s, "body": b}) + "\n" for s, b in requests)
    done = subprocess.run([NAUTO, "call", "--batch"], env=env, input=lines, capture_output=True,
                          text=True, timeout=600)
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or len(answers) != len(requests):
        raise RuntimeError(f"nauto call --batch: exit {done.returncode}, {len(answers)} answers "
                           f"for {len(requests)}: {done.stderr.strip()}")
    return [(a.get("exit", 0), a.get("error", json.dumps(a.get("reply")))) for a in answers]


def main():
    schema = json.loads(subprocess.run([sys.executable, GENERATE, "--json", *SCHEMAS],
                                       check=True, capture_output=True, text=True).stdout)
    work = tempfile.mkdtemp(prefix="nauto-schema-it-")
    base, _claim = port_block.claim()
    config = os.path.join(work, "nauto.yaml")
    with open(os.path.join(work, "inventory.yaml"), "w") as out:
        out.write("hosts:\n  r1: {host: 127.0.0.1, platform: cisco_ios}\n")
    os.makedirs(os.path.join(work, "runbooks"))
    os.makedirs(os.path.join(work, "rules"))
    with open(config, "w") as out:
        out.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: info, file: {work}/nautod.jsonl}}
modules:
  journal: {{max_age: 1h}}
  inventory: {{files: [{work}/inventory.yaml]}}
  vault: {{}}
  devices: {{}}
  runbooks: {{dirs: [{work}/runbooks]}}
  rules: {{dirs: [{work}/rules]}}
  syslog: {{listen: [udp://127.0.0.1:{base}]}}
  webhook: {{listen: 127.0.0.1:{base + 1}, hooks: {{monitoring: {{credential: hook}}}}}}
  snmp_trap: {{listen: [udp://127.0.0.1:{base + 2}], communities: [public]}}
  example: {{}}
  scheduler: {{}}
  configs: {{}}
  compliance: {{}}
  telemetry: {{listen: "127.0.0.1:{base + 3}"}}
  audit: {{}}
  api: {{listen: "127.0.0.1:{base + 4}"}}
  outbound: {{}}
""")
    env = dict(os.environ, NAUTO_CONFIG=config)
    log = open(os.path.join(work, "nautod.log"), "w")
    daemon = subprocess.Popen([NAUTOD], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        owners = sorted({s["owner"] for s in schema["services"].values()} - {"router"})
        deadline = time.time() + 20
        running = set()
        while time.time() < deadline and daemon.poll() is None and not set(owners) <= running:
            done = subprocess.run([NAUTO, "status", "-o", "json"], env=env, capture_output=True,
                                  text=True)
            if done.returncode == 0:
                running = {m["name"] for m in json.loads(done.stdout)["modules"]
                           if m["state"] == "running"}
            time.sleep(0.1)
        check("nautod runs every module that owns a service", set(owners) <= running,
              f"owners {owners}, running {sorted(running)}")
        if failed:
            return 1

        asked = 0
        all_cases = []
        for topic, service in sorted(schema["services"].items()):
            # Only modules (module) or a worker node's role (worker) may call these: the router
            # refuses them to a user before the body is read.
            if service["access"] in ("module", "worker"):
                all_cases.append((topic, f"{topic}: refused to a user, its body unread", {"x": 1},
                                  None))
                continue
            fields = service["request"]
            good = {f["name"]: VALID[f["type"]] for f in fields if f["required"]}
            cases = []
            for f in fields:
                if f["type"] in WRONG:
                    body = dict(good, **{f["name"]: WRONG[f["type"]]})
                    cases.append((f"{topic}: '{f['name']}' wrongly typed", body,
                                  [f"field '{f['name']}' must be {EXPECTED[f['type']]}"]))
                if f["required"]:
                    body = {k: v for k, v in good.items() if k != f["name"]}
                    cases.append((f"{topic}: required '{f['name']}' missing", body,
                                  [f"field '{f['name']}' is required"]))
            if not service["open"]:
                cases.append((f"{topic}: an undeclared field", dict(good, undeclared_field=1),
                              ["unknown field 'undeclared_field'"]))
            cases.append((f"{topic}: a body that is not an object", [1, 2],
                          ["the body must be an object"]))
            all_cases += [(topic, what, body, needles) for what, body, needles in cases]
        answers = call_all([(topic, body) for topic, _, body, _ in all_cases], env)
        for (topic, what, body, needles), (code, out) in zip(all_cases, answers):
            asked += 1
            if needles is None:
                check(what, code != 0 and ("only modules inside nautod may" in out or
                                           "roles that may: worker" in out),
                      f"exit {code}: {out.strip()}")
                continue
            check(what, code == 2 and topic in out and all(n in out for n in needles),
                  f"exit {code}, wanted 2 and {needles}: {out.strip()}")
        check(f"every bad body was answered ({asked} requests)", asked > 100, f"only {asked}")
        # Events reach every subscriber, so each declared event is published with each field
        # wrongly typed and as a body that is not an object: no module may restart on them.
        events = []
        for topic, event in sorted(schema["events"].items()):
            concrete = topic.replace("<device>", "schema-test").replace("<kind>", "probe") \
                            .replace("<action>", "read")
            bodies = [[1, 2]] + [{f["name"]: WRONG[f["type"]]} for f in event["fields"]
                                 if f["type"] in WRONG]
            events += [{"topic": concrete, "body": body} for body in bodies]
        done = subprocess.run([NAUTO, "events", "publish", "--batch"], env=env,
                              input="".join(json.dumps(e) + "\n" for e in events),
                              capture_output=True, text=True, timeout=300)
        published = len(events)
        check(f"every malformed event was published ({published})",
              done.returncode == 0 and f"published {published} events" in done.stdout
              and published > 50, done.stdout + done.stderr)
        # Inside an object field the module checks: rules.test's event is {topic, body, id}.
        code, out = call("rules.test", {"rule": "x", "event": {"topic": 5}}, env)
        check("rules.test with event.topic wrongly typed is invalid_argument naming it",
              code == 2 and "'event.topic'" in out, f"exit {code}: {out.strip()}")

        done = subprocess.run([NAUTO, "status", "-o", "json"], env=env, capture_output=True,
                              text=True)
        status = json.loads(done.stdout) if done.returncode == 0 else {"modules": []}
        restarted = [f"{m['name']}: {m['restarts']} ({m.get('last_error', '')})"
                     for m in status["modules"] if m.get("restarts", 0) != 0
                     or m["state"] != "running"]
        check("no module restarted: nauto status shows 0 restarts", not restarted and
              status["modules"], "; ".join(restarted) or "no status")
        check("nautod is still running", daemon.poll() is None, "it exited")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        if failed:
            with open(os.path.join(work, "nautod.log")) as text:
                print("# nautod.log (last lines):\n" + "".join(
                    "#   " + line for line in text.readlines()[-20:]))
        shutil.rmtree(work, ignore_errors=True)
        print(f"bus_schema: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
