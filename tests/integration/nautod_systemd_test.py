"""nautod under a service manager (kernel/service_notify.h), with systemd's side played by this
test: a datagram socket named by NOTIFY_SOCKET and a watchdog asked for by WATCHDOG_USEC.

- READY=1 only once the socket serves: `nauto status` answers right after it;
- WATCHDOG=1 keeps coming, each after the router answered the watchdog's request;
- SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 again;
- SIGTERM: STOPPING=1, then a clean exit;
- the run_dir nautod creates is 0750 and its socket 0660 under the unit's umask (0077), so
  only its group reaches the CLI.

  nautod_systemd_test.py NAUTOD NAUTO
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from nautod_process import Checks, run_nauto  # noqa: E402

NAUTOD, NAUTO = sys.argv[1:3]
check = Checks()


def messages(sock, until, deadline_s=20):
    """Notifications received until one satisfies `until` (or the deadline): the list."""
    got = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            break
        fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        got.append(fields)
        if until(fields):
            break
    return got


def main():
    work = tempfile.mkdtemp(prefix="nauto-systemd-test-")
    process = None
    try:
        run_dir = os.path.join(work, "run")
        config = os.path.join(work, "nauto.yaml")
        with open(config, "w") as f:
            f.write(f"data_dir: {work}/data\nrun_dir: {run_dir}\nmodules:\n  journal: {{}}\n")
        notify_path = os.path.join(work, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        env = dict(os.environ, NAUTO_CONFIG=config, NOTIFY_SOCKET=notify_path,
                   WATCHDOG_USEC="400000")
        env.pop("WATCHDOG_PID", None)
        log = open(os.path.join(work, "nautod.log"), "w")
        # systemd's UMask for nautod.service: the run_dir must still come out 0750.
        process = subprocess.Popen([NAUTOD], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: os.umask(0o077))

        got = messages(sock, lambda m: m.get("READY") == "1")
        ready = [m for m in got if m.get("READY") == "1"]
        check("READY=1 is sent once nautod serves", bool(ready), got)
        check("with a STATUS naming the endpoint",
              bool(ready) and run_dir in ready[0].get("STATUS", ""), ready)
        rc, out, err = run_nauto(NAUTO, env, "status")
        check("nauto status answers right after READY=1", rc == 0 and "journal" in out, err)

        run_mode = stat.S_IMODE(os.stat(run_dir).st_mode)
        check("the run_dir nautod created is 0750", run_mode == 0o750, oct(run_mode))
        sock_mode = stat.S_IMODE(os.stat(os.path.join(run_dir, "nautod.sock")).st_mode)
        check("its socket is 0660", sock_mode == 0o660, oct(sock_mode))

        # WATCHDOG_USEC 400 ms: a keep-alive every 200 ms.
        began = time.monotonic()
        pings = []
        while len(pings) < 5 and time.monotonic() - began < 10:
            pings += [m for m in messages(sock, lambda m: m.get("WATCHDOG") == "1", 5)
                      if m.get("WATCHDOG") == "1"]
        took = time.monotonic() - began
        check("WATCHDOG=1 comes every half WatchdogSec (5 in under 3 s)",
              len(pings) >= 5 and took < 3, f"{len(pings)} in {took:.2f} s")

        process.send_signal(signal.SIGHUP)
        got = messages(sock, lambda m: m.get("READY") == "1")
        reloading = [m for m in got if m.get("RELOADING") == "1"]
        check("SIGHUP: RELOADING=1 with MONOTONIC_USEC",
              bool(reloading) and reloading[0].get("MONOTONIC_USEC", "").isdigit(), got)
        check("then READY=1 again", bool(got) and got[-1].get("READY") == "1", got)

        process.send_signal(signal.SIGTERM)
        got = messages(sock, lambda m: m.get("STOPPING") == "1")
        check("SIGTERM: STOPPING=1", any(m.get("STOPPING") == "1" for m in got), got)
        rc = process.wait(timeout=30)
        check("and nautod exits cleanly", rc == 0, rc)
        process = None
    finally:
        if process is not None:
            process.kill()
            process.wait()
            with open(os.path.join(work, "nautod.log")) as text:
                print("# nautod log:\n" + "".join("# " + line for line in text.readlines()[-30:]))
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
