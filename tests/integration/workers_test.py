"""Distributed workers on Redis Streams (docs/workers.md), with real processes on 127.0.0.1: a
redis-server (TLS only, an ACL user, AOF) this test configures and starts, a control nautod
(tcp + CURVE for its workers), three worker nodes (`nautod --worker`, each its own CURVE key
and principal with the role `worker`), and nauto-lab fleets in two pools (site=lon -> emea,
site=sin -> apac) plus a few devices that stay on the control node.

- a 1,005-device job split across the pools and workers: every result present once, each
  remote one carrying the worker that ran it, every worker taking part;
- kill -9 of a worker mid-job: its items are claimed by the other worker of the pool and
  finished; the read-only ones run again;
- a push in the "sent" state when its worker died is reported "outcome unknown", not repeated;
- a Redis restart mid-job: nothing lost, nothing run or recorded twice;
- a forged item (signed by another key) is refused and shown by `nauto workers`; a forged
  result is refused by the control node;
- `nauto workers`: pools, workers, heartbeats, lag.

  workers_test.py NAUTOD NAUTO NAUTO_LAB
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
import lab_process  # noqa: E402
import port_block  # noqa: E402
import test_ca  # noqa: E402
from nautod_process import Checks, Nautod, run_nauto, wait_until  # noqa: E402

NAUTOD, NAUTO, LAB = sys.argv[1:4]
REDIS_PASSWORD = "redis-pass-6d1e0b"
check = Checks()


class Redis:
    """redis-server with TLS only, an ACL user `nauto`, AOF with appendfsync always. The default
    user keeps the same rights with a password nobody uses: Redis 7.0 replays the AOF's
    MULTI/EXEC blocks (which XREADGROUP and XCLAIM propagate) with the default user's ACL, so
    `user default off` loses consumer groups' pending entries at a restart (docs/workers.md)."""

    def __init__(self, work, port, ca, cert, key):
        self.work, self.port, self.ca = work, port, ca
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as out:
            out.write(f"""bind 127.0.0.1
port 0
tls-port {port}
tls-cert-file {cert}
tls-key-file {key}
tls-ca-cert-file {ca}
tls-auth-clients no
dir {self.dir}
pidfile {self.dir}/redis.pid
logfile {self.dir}/redis.log
appendonly yes
appendfsync always
save ""
user default on >default-{REDIS_PASSWORD}-unused ~nauto:* &* +@all
user nauto on >{REDIS_PASSWORD} ~nauto:* &* +@all
""")
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(["redis-server", self.conf])
        return wait_until(10, lambda: self.cli("PING") == "PONG")

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)

    def cli(self, *args):
        done = subprocess.run(["redis-cli", "--tls", "--cacert", self.ca, "-p", str(self.port),
                               "--user", "nauto", "--pass", REDIS_PASSWORD, "--no-auth-warning",
                               *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip()


def names_in(inventory_text, site):
    """The lab inventory's hosts of one site (its YAML as the lab writes it: one host a line)."""
    import yaml
    hosts = yaml.safe_load(inventory_text).get("hosts", {})
    return [name for name, host in hosts.items() if host.get("site") == site or
            host.get("vars", {}).get("site") == site]


def keygen(work, name):
    secret = os.path.join(work, f"{name}.key")
    _, out, _ = run_nauto(NAUTO, dict(os.environ), "keygen", "--secret-file", secret)
    public = next(line.split()[2] for line in out.splitlines() if "public key" in line)
    return secret, public


class Worker:
    def __init__(self, work, name, pool, redis_port, control_port, server_public, ca,
                 max_sessions=20):
        self.name = name
        self.secret, self.public = keygen(work, name)
        self.args = [NAUTOD, "--worker", "--pool", pool,
                     "--redis", f"rediss://nauto@127.0.0.1:{redis_port}", "--redis-ca", ca,
                     "--connect", f"tcp://127.0.0.1:{control_port}",
                     "--server-public-key", server_public, "--client-secret-file", self.secret,
                     "--max-sessions", str(max_sessions), "--host-name", f"{name}-host",
                     # Retries spread past a burst the lab cannot take on two cores.
                     "--module-config", '{"attempts": 5, "retry_delay": "300ms"}']
        self.log_path = os.path.join(work, f"{name}.log")
        self.process = None

    def start(self):
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.log.close()


def main():
    work = tempfile.mkdtemp(prefix="nauto-workers-it-")
    fleet_base, _fleet_claim = port_block.claim(1100)
    base, _claim = port_block.claim()
    redis_port, control_port, metrics_port = base, base + 1, base + 2
    ca, cert, key = test_ca.make_ca(work)
    lab = lab_process.Lab(LAB, work, fleet_base, """- {platform: cisco_ios, count: 500, site: lon}
  - {platform: cisco_ios, count: 500, site: sin}
  - {platform: cisco_ios, count: 5, site: hq}""", seed=11)
    redis = Redis(work, redis_port, ca, cert, key)
    daemon = None
    workers = []
    try:
        check("nauto-lab is ready with 1,005 devices", lab.ready)
        check("redis-server answers over TLS as the ACL user", redis.cli("PING") == "PONG")
        if not lab.ready:
            return 1
        server_secret, server_public = keygen(work, "control")
        workers = [Worker(work, "w-lon-1", "emea", redis_port, control_port, server_public, ca),
                   Worker(work, "w-lon-2", "emea", redis_port, control_port, server_public, ca),
                   Worker(work, "w-sin-1", "apac", redis_port, control_port, server_public, ca)]
        rogue_secret, rogue_public = keygen(work, "rogue")
        with open(os.path.join(work, "clients"), "w") as out:
            for w in workers:
                out.write(w.public + "\n")
            out.write(rogue_public + "\n")
        users = "".join(f"\n    - {{key: \"{w.public}\", name: {w.name}, roles: [worker]}}"
                        for w in workers)
        config = os.path.join(work, "nauto.yaml")
        with open(config, "w") as out:
            out.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: info}}
router:
  tcp_endpoint: tcp://127.0.0.1:{control_port}
  curve_secret_key_file: {server_secret}
  curve_allowed_clients_file: {work}/clients
auth:
  users:{users}
    - {{key: "{rogue_public}", name: rogue, roles: [viewer]}}
modules:
  journal: {{max_age: 1h}}
  telemetry: {{listen: "127.0.0.1:{metrics_port}", self_interval: 1s}}
  inventory: {{files: [{lab.inventory()}]}}
  vault: {{}}
  devices:
    device_timeout: 20s
    attempts: 2
    retry_delay: 50ms
    distribution:
      redis: rediss://nauto@127.0.0.1:{redis_port}
      credential: redis
      ca_file: {ca}
      signing_key: {work}/work-signing.key
      min_idle: 3s
      pools:
        - {{name: emea, match: "site=lon"}}
        - {{name: apac, match: "site=sin"}}
""")
        env = dict(os.environ, NAUTO_CONFIG=config, NAUTO_CRED_REDIS_PASSWORD=REDIS_PASSWORD)
        env.update(lab.credentials())
        daemon = Nautod(NAUTOD, env, work)
        up = wait_until(20, lambda: run_nauto(NAUTO, env, "status")[0] == 0)
        check("the control nautod starts with remote pools", up)
        if not up:
            return 1

        def nauto(*args, timeout=60):
            return run_nauto(NAUTO, env, *args, timeout=timeout)

        def status():
            rc, out, err = nauto("workers", "-o", "json")
            return json.loads(out) if rc == 0 else {"error": err}

        def alive(names):
            now = {w["name"]: w for w in status().get("workers", [])}
            return all(n in now and now[n]["alive"] for n in names)

        for w in workers:
            w.start()
        names = [w.name for w in workers]
        if not check("three workers join their pools and beat",
                     wait_until(30, lambda: alive(names)), json.dumps(status())[:800]):
            return 1

        def run_job(*args, timeout=300):
            rc, out, err = nauto("job", *args, "-o", "json", timeout=timeout)
            try:
                return rc, json.loads(out), err
            except json.JSONDecodeError:
                return rc, {}, out + err

        # --- 1,005 devices over two pools and three workers ----------------------------------
        started = time.time()
        rc, record, err = run_job("run", "--commands", "show version", "--target", "all",
                                  "--job-timeout", "240s")
        elapsed = time.time() - started
        job = record.get("job", {})
        results = record.get("results", [])
        devices = [r["device"] for r in results]
        failed = [(r["device"], r.get("worker"), r["attempts"], r["error"]) for r in results
                  if r["status"] != "ok"]
        check(f"the 1,005-device job ends ok on every device ({elapsed:.1f} s)",
              rc == 0 and job.get("counts", {}).get("ok") == 1005,
              f"{rc} {job.get('counts')} {failed[:5]} {err[:300]}")
        check("every device's result is present once", len(devices) == 1005 and
              len(set(devices)) == 1005, f"{len(devices)} results, {len(set(devices))} devices")
        by_worker = {}
        for r in results:
            by_worker.setdefault(r.get("worker", "(here)"), []).append(r["device"])
        check("all three workers and the control node ran devices",
              set(by_worker) == {"w-lon-1", "w-lon-2", "w-sin-1", "(here)"},
              {k: len(v) for k, v in by_worker.items()})
        check("apac's 500 devices ran on its one worker, emea's 500 on its two, hq's 5 here",
              len(by_worker.get("w-sin-1", [])) == 500 and
              len(by_worker.get("w-lon-1", [])) + len(by_worker.get("w-lon-2", [])) == 500 and
              len(by_worker.get("(here)", [])) == 5, {k: len(v) for k, v in by_worker.items()})
        output_ok = all(any("Cisco IOS" in o.get("text", "") for o in r.get("output") or [])
                        for r in results)
        check("each result holds the device's output", output_ok,
              json.dumps(results[:1])[:400])
        print(f"# 1,005 devices: {elapsed:.1f} s; "
              f"{ {k: len(v) for k, v in by_worker.items()} }")

        inventory = open(lab.inventory()).read()
        lon = sorted(n for n in names_in(inventory, "lon"))
        sin = sorted(n for n in names_in(inventory, "sin"))

        def slow(devices, ms):
            for name in devices:
                lab.control("PUT", f"/devices/{name}/faults", {"latency_ms": ms})

        def worker_named(name):
            return next(w for w in workers if w.name == name)

        def detach(*args):
            rc, out, err = nauto("job", *args, "--detach")
            return out.strip().split()[-1] if rc == 0 else ""

        def wait_job(job_id, seconds=120):
            def ended():
                rc, out, _ = nauto("job", "status", job_id, "-o", "json")
                return rc == 0 and json.loads(out).get("state") != "running"
            return wait_until(seconds, ended, every=0.2)

        def job_results(job_id):
            rc, out, err = nauto("job", "logs", job_id, "-o", "json", timeout=120)
            return json.loads(out) if rc == 0 else []

        # --- kill -9 of a worker mid-job -----------------------------------------------------
        slow(lon, 250)
        job_id = detach("run", "--commands", "show version", "--target", "site=lon")
        check("a slow job over emea starts", job_id != "", job_id)
        w1 = worker_named("w-lon-1")
        busy = wait_until(30, lambda: any(w["name"] == "w-lon-1" and w["in_flight"] > 0
                                          and w["done"] > 263 for w in status()["workers"]))
        check("w-lon-1 has devices in flight", busy)
        w1.kill()
        ended = wait_job(job_id)
        results = job_results(job_id)
        devices = [r["device"] for r in results]
        by_worker = {}
        for r in results:
            by_worker[r.get("worker")] = by_worker.get(r.get("worker"), 0) + 1
        check("after kill -9 of w-lon-1 the job still ends with every device ok",
              ended and len(results) == 500 and all(r["status"] == "ok" for r in results),
              f"{len(results)} {[(r['device'], r['error']) for r in results if r['status'] != 'ok'][:5]}")
        check("every device is recorded once", len(set(devices)) == 500 == len(devices))
        view = {w["name"]: w for w in status()["workers"]}
        check("w-lon-2 claimed w-lon-1's items and ran them again (read-only)",
              view.get("w-lon-2", {}).get("claimed", 0) > 0 and by_worker.get("w-lon-2", 0) > 0,
              f"{view.get('w-lon-2')} {by_worker}")
        check("nauto workers shows w-lon-1 dead",
              wait_until(10, lambda: not {w["name"]: w for w in status()["workers"]}
                         .get("w-lon-1", {}).get("alive", True)))
        def metrics():
            import urllib.request
            return urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                          timeout=10).read().decode()
        check("telemetry's /metrics shows the pools and workers",
              wait_until(15, lambda: 'nauto_pool_workers{pool="emea"}' in metrics() and
                         'nauto_worker_up{pool="emea",worker="w-lon-1"} 0' in metrics() and
                         'nauto_worker_items_claimed_total{pool="emea",worker="w-lon-2"}'
                         in metrics()),
              "\n".join(line for line in metrics().splitlines()
                        if "worker" in line and not line.startswith("#"))[:600])
        rc, table, _ = nauto("workers")
        check("nauto workers prints pools and workers",
              rc == 0 and "emea" in table and "apac" in table and "DEAD" in table, table[:600])

        # --- a push in the "sent" state when its worker dies ---------------------------------
        w2 = worker_named("w-lon-2")
        w2.stop()
        w1.start()
        check("w-lon-1 is back", wait_until(30, lambda: alive(["w-lon-1"])))
        push_devices = lon[:60]
        config = os.path.join(work, "logging.cfg")
        with open(config, "w") as out:
            out.write("logging host 10.77.0.1\n")
        slow(push_devices, 600)
        job_id = detach("push", "--config", config, "--target", ",".join(push_devices))
        marked = wait_until(30, lambda: int(redis.cli("HLEN", "nauto:sent:emea") or 0) >= 20)
        sent_at_kill = int(redis.cli("HLEN", "nauto:sent:emea") or 0)
        w1.kill()
        check(f"pushes were marked sent before w-lon-1 was killed ({sent_at_kill})", marked)
        w2.start()
        ended = wait_job(job_id)
        results = job_results(job_id)
        unknown = [r for r in results if "outcome unknown after worker loss" in r["error"]]
        pushed = [r for r in results if r["status"] == "ok"]
        check("the push job ends with a result for each device, once",
              ended and sorted(r["device"] for r in results) == sorted(push_devices),
              f"{len(results)}")
        check("each push that was in flight at the kill is reported 'outcome unknown'",
              len(unknown) == sent_at_kill and all(r["status"] == "failed" for r in unknown),
              f"{len(unknown)} unknown of {sent_at_kill} sent; {[r['error'] for r in results if r['status'] != 'ok'][:3]}")
        check("and never sent again: no attempt was made after the claim",
              all(r["attempts"] == 0 and r["started_us"] == 0 for r in unknown))
        check("the pushes not yet sent ran once, on w-lon-2",
              len(pushed) == 60 - len(unknown) and all(r.get("worker") == "w-lon-2" for r in pushed),
              f"{len(pushed)}")
        check("no sent mark is left", redis.cli("HLEN", "nauto:sent:emea") == "0")
        slow(lon, 0)
        w1.start()

        def done_counts():
            return {w["name"]: w["done"] for w in status()["workers"]}

        def slow_apac_job():
            """A job over apac's 500 slowed devices, once w-sin-1 has done 50 of them: the
            workers' done counts before it, and its id."""
            slow(sin, 150)
            before = done_counts()
            job_id = detach("run", "--commands", "show version", "--target", "site=sin")
            wait_until(30, lambda: done_counts().get("w-sin-1", 0) > before["w-sin-1"] + 50)
            return before, job_id

        def check_ran_once(what, before):
            """w-sin-1's done count grew by exactly 500: no device ran twice."""
            after = wait_until(10, lambda: done_counts().get("w-sin-1", 0) - before["w-sin-1"]
                               >= 500)
            done = done_counts().get("w-sin-1", 0)
            check(what, after and done - before["w-sin-1"] == 500, f"{before} -> {done}")

        # --- a Redis restart mid-job ---------------------------------------------------------
        before, job_id = slow_apac_job()
        redis.stop()
        stalled = wait_until(15, lambda: status().get("redis", {}).get("error", "") != "")
        redis.start()
        ended = wait_job(job_id, 180)
        results = job_results(job_id)
        devices = [r["device"] for r in results]
        check("nauto workers said Redis was unreachable while it was down", stalled)
        check("after a Redis restart mid-job every device is ok, recorded once",
              ended and len(devices) == 500 == len(set(devices)) and
              all(r["status"] == "ok" for r in results),
              f"{len(devices)} {[(r['device'], r['error']) for r in results if r['status'] != 'ok'][:3]}")
        check_ran_once("w-sin-1 ran each of the 500 devices once (its done count grew by 500)",
                       before)
        check("nothing is left in Redis: no work, no results, nothing pending",
              redis.cli("XLEN", "nauto:work:apac") == "0" and
              redis.cli("XLEN", "nauto:results") == "0",
              f"{redis.cli('XLEN', 'nauto:work:apac')} {redis.cli('XLEN', 'nauto:results')}")
        slow(sin, 0)

        # --- the control node restarts mid-job ----------------------------------------------
        before, job_id = slow_apac_job()
        daemon.stop()
        second = os.path.join(work, "second")
        os.makedirs(second)
        daemon = Nautod(NAUTOD, env, second)
        check("the control nautod starts again",
              wait_until(20, lambda: run_nauto(NAUTO, env, "status")[0] == 0))
        ended = wait_job(job_id, 180)
        results = job_results(job_id)
        devices = [r["device"] for r in results]
        rc, out, _ = nauto("job", "status", job_id, "-o", "json")
        record = json.loads(out) if rc == 0 else {}
        check("after a restart of the control node the job resumes and ends done",
              ended and record.get("state") == "done" and "resumed_us" in record,
              json.dumps(record)[:300])
        check("every device is ok, recorded once, although nautod restarted in between",
              len(devices) == 500 == len(set(devices)) and
              all(r["status"] == "ok" for r in results),
              f"{len(devices)} {[(r['device'], r['error']) for r in results if r['status'] != 'ok'][:3]}")
        check_ran_once("and each ran once on w-sin-1", before)
        slow(sin, 0)

        # --- forged work and forged results --------------------------------------------------
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        rogue = Ed25519PrivateKey.generate()
        payload = json.dumps({"v": 1, "job": "forged-job", "device": lon[0], "pool": "emea",
                              "spec": {"kind": "push", "commands": [], "structured": False,
                                       "config": "username evil privilege 15 secret x",
                                       "replace": False, "dry_run": False,
                                       "approved_diff_sha256": "", "redact_secrets": False,
                                       "restore_secrets": False, "save": False,
                                       "confirm_minutes": 0, "confirm_commit": False,
                                       "device_timeout": 0, "attempts": 0,
                                       "lock": "wait"},
                              "host": {"name": lon[0]}, "deadline_us": 4102444800000000,
                              "issued_us": 1})
        redis.cli("XADD", "nauto:work:emea", "*", "i", payload, "s",
                  rogue.sign(payload.encode()).hex())

        def refused():
            return any("forged or altered" in r["reason"] for r in status()["refused"])
        check("a forged item is refused by the worker and listed by nauto workers",
              wait_until(20, refused), json.dumps(status().get("refused"))[:400])
        rc, running, _ = nauto("call", "device.call", "--json",
                               json.dumps({"device": lon[0], "kind": "commands",
                                           "commands": ["show running-config | include evil"]}),
                               "-o", "json")
        check("the forged push never reached the device",
              rc == 0 and "evil" not in json.loads(running)[0]["text"], running[:300])
        redis.cli("XADD", "nauto:results", "*", "r",
                  json.dumps({"v": 1, "job": "x", "device": lon[0], "worker": "w-lon-1",
                              "outcome": {"status": "ok"}}), "m", "00" * 32)
        check("a forged result is refused by the control node",
              wait_until(10, lambda: "refused: the result's MAC does not verify"
                         in open(os.path.join(work, "second", "nautod.log")).read()))
        rc, _, err = nauto("call", "work.credentials", "--json",
                           json.dumps({"devices": [lon[0]]}))
        check("an admin may not call work.credentials (only a worker's role grants it)",
              rc != 0 and "permission_denied" in err or "may not" in err, err[:300])
        return 0
    finally:
        failed = check.failed > 0
        for w in workers:
            w.stop()
        if daemon:
            daemon.stop(show_log=failed)
        redis.stop()
        lab.stop()
        if failed:
            for w in workers:
                if os.path.exists(w.log_path):
                    print(f"# {w.name} log:")
                    with open(w.log_path) as text:
                        print("".join("# " + line for line in text.readlines()[-15:]))
        if failed and os.environ.get("NAUTO_KEEP_WORK"):
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    code = main()
    sys.exit(check.summary() or code)
