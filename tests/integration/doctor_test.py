"""`nauto doctor` (cli/doctor_commands.cpp) against a real nautod, each check made to fail and
then fixed, so that what it reports is what it found:

- a vault key readable by others is a failure naming `chmod 0600 FILE`; once fixed, ok;
- of two sampled devices, one listening (a socket this test holds) and one not (a port of the
  test's own block that nothing listens on), the silent one is named with its address, and
  only a warning; when no device answers, a failure;
- with nautod stopped: the configuration is still checked (nautod --check-config), nautod is a
  failure saying how to start it;
- a configuration with a typo fails, quoting nautod's own message with the key path;
- `-o json` gives the same findings to scripts; the exit status is 1 exactly when one failed.

  doctor_test.py NAUTOD NAUTO
"""

import json
import os
import shutil
import socket
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import port_block  # noqa: E402
from nautod_process import Checks, Nautod, run_nauto, wait_until  # noqa: E402

NAUTOD, NAUTO = sys.argv[1:3]
check = Checks()


def findings(env):
    rc, out, err = run_nauto(NAUTO, env, "doctor", "--service-user", "root",
                             "--connect-timeout", "1000", "-o", "json")
    try:
        return rc, {f["check"]: f for f in json.loads(out)}, err
    except ValueError:
        return rc, {}, out + err


def main():
    work = tempfile.mkdtemp(prefix="nauto-doctor-test-")
    base, claim = port_block.claim(2)
    listener = socket.socket()
    listener.bind(("127.0.0.1", base))
    listener.listen(8)
    nautod = None
    try:
        key = os.path.join(work, "vault.key")
        with open(key, "w") as f:
            f.write("ab" * 32 + "\n")
        os.chmod(key, 0o644)
        inventory = os.path.join(work, "inventory.yaml")
        with open(inventory, "w") as f:
            f.write("hosts:\n"
                    f"  up: {{host: 127.0.0.1, port: {base}, platform: cisco_ios}}\n"
                    f"  down: {{host: 127.0.0.1, port: {base + 1}, platform: cisco_ios}}\n")
        config = os.path.join(work, "nauto.yaml")
        text = (f"data_dir: {work}/data\nrun_dir: {work}/run\nmodules:\n  journal: {{}}\n"
                f"  inventory: {{files: [{inventory}]}}\n"
                f"  vault: {{file: {work}/vault.json, key_file: {key}}}\n")
        with open(config, "w") as f:
            f.write(text)
        env = dict(os.environ, NAUTO_CONFIG=config, NAUTO_NAUTOD=NAUTOD)
        nautod = Nautod(NAUTOD, env, work)
        wait_until(20, lambda: run_nauto(NAUTO, env, "status")[0] == 0)

        rc, found, err = findings(env)
        check("doctor answers in JSON", bool(found), err)
        check("the configuration is ok", found.get("configuration", {}).get("verdict") == "ok",
              found.get("configuration"))
        check("nautod is ok", found.get("nautod", {}).get("verdict") == "ok", found.get("nautod"))
        check("the socket is ok (0660 in a 0750 run_dir)",
              found.get("socket", {}).get("verdict") == "ok", found.get("socket"))
        vault = found.get("vault key", {})
        check("a vault key readable by others fails, saying chmod 0600",
              vault.get("verdict") == "FAIL" and f"chmod 0600 {key}" in vault.get("detail", ""),
              vault)
        devices = found.get("devices", {})
        check("the silent device is named with its address, as a warning",
              devices.get("verdict") == "warn" and f"down (127.0.0.1:{base + 1})" in
              devices.get("detail", "") and "up (" not in devices.get("detail", ""), devices)
        check("the exit status is 1 while one check fails", rc == 1, rc)

        os.chmod(key, 0o600)
        rc, found, err = findings(env)
        check("once fixed, the vault key is ok", found.get("vault key", {}).get("verdict") == "ok",
              found.get("vault key"))
        check("and the exit status is 0 (a warning is not a failure)", rc == 0, (rc, found))

        listener.close()
        rc, found, err = findings(env)
        check("when no sampled device answers, devices fail",
              found.get("devices", {}).get("verdict") == "FAIL", found.get("devices"))

        rc_table, out, _ = run_nauto(NAUTO, env, "doctor", "--service-user", "root",
                                     "--connect-timeout", "500")
        check("the table names each check and ends with the count of problems",
              "vault key" in out and "1 problem(s) to fix" in out, out)

        nautod.stop()
        nautod = None
        rc, found, err = findings(env)
        check("with nautod stopped, the configuration is still checked",
              found.get("configuration", {}).get("verdict") == "ok", found.get("configuration"))
        check("and nautod fails, saying how to start it",
              found.get("nautod", {}).get("verdict") == "FAIL" and
              "systemctl start nautod" in found.get("nautod", {}).get("detail", ""),
              found.get("nautod"))

        with open(config, "w") as f:
            f.write(text.replace("  journal: {}", "  journal: {max_agee: 1d}"))
        rc, found, err = findings(env)
        detail = found.get("configuration", {}).get("detail", "")
        check("a typo in the configuration fails with nautod's message and the key path",
              found.get("configuration", {}).get("verdict") == "FAIL" and
              "modules.journal" in detail and "max_agee" in detail, detail)
    finally:
        if nautod is not None:
            nautod.stop(show_log=check.failed > 0)
        listener.close()
        for s in claim:
            s.close()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
