"""What the Python integration tests of a running nautod share:

- Checks: each check prints "ok - what" or "not ok - what" with the detail; summary() prints
  the counts and gives the exit status;
- Nautod: nautod started on the test's own configuration (NAUTO_CONFIG in `env`), its output in
  the test's directory, stopped at the end (SIGTERM, then kill after 20 s), with the tail of its
  log shown when the test failed;
- run_nauto() and api_request(): the CLI and one HTTP API request, as the tests make them;
- wait_until(): a condition polled until it holds, never a fixed wait.
"""
import json
import os
import signal
import subprocess
import time


class Checks:
    def __init__(self, quiet=False):
        self.passed = 0
        self.failed = 0
        self.quiet = quiet  # print only what fails (tests that make hundreds of checks)

    def __call__(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            if not self.quiet:
                print(f"ok - {what}")
        else:
            self.failed += 1
            print(f"not ok - {what}\n#   {detail}")
        return ok

    def summary(self):
        print(f"# {self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


class Nautod:
    def __init__(self, binary, env, work):
        self.log_path = os.path.join(work, "nautod.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary], env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)

    def running(self):
        return self.process.poll() is None

    def stop(self, show_log=False, lines=30):
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        if show_log:
            with open(self.log_path) as text:
                tail = text.readlines()[-lines:]
            print("# nautod log:\n" + "".join("# " + line for line in tail))


def run_nauto(binary, env, *args, timeout=60):
    """The nauto CLI: (exit status, stdout, stderr), each stripped."""
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def api_request(connection, method, path, token=None, body=None, raw=None, headers=None):
    """One request to the HTTP API on `connection` (http.client, closed after): the JSON body
    (or `raw` bytes), a bearer token; (status, decoded answer or its text, the response)."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if data is not None:
        sent["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    try:
        document = json.loads(text) if text else None
    except json.JSONDecodeError:
        document = text
    return response.status, document, response


def wait_until(seconds, probe, every=0.05):
    """Polls `probe` until it is true or `seconds` have passed; whether it became true. A probe
    that raises counts as not yet (its thing may not exist yet)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if probe():
                return True
        except Exception:  # noqa: BLE001
            pass
        time.sleep(every)
    return False
