"""nauto-lab for the Python integration tests: a fleet started in the test's own directory on
its claimed ports, its control API, and the device credentials it writes for nautod.

    lab = Lab(binary, work, base, groups="- {platform: cisco_ios, count: 2}")
    lab.ready              # the lab said {"ready": true} within 20 s
    lab.control("POST", "/devices/ios1/bgp", {"neighbor": "10.0.0.2", "up": False})
    env.update(lab.credentials())   # NAUTO_CRED_* for nautod
    lab.stop()
"""
import json
import os
import subprocess
import urllib.request

from nautod_process import wait_until


class Lab:
    def __init__(self, binary, work, base, groups, seed=31):
        self.base = base
        self.work = work
        with open(os.path.join(work, "fleet.yaml"), "w") as out:
            out.write(f"""base_port: {base}
seed: {seed}
credentials: {{username: admin, password: lab-pass, enable_secret: lab-enable}}
groups:
  {groups}
""")
        self.output = os.path.join(work, "lab.out")
        self.log = open(self.output, "w")
        self.process = subprocess.Popen([binary, "--fleet", os.path.join(work, "fleet.yaml"),
                                         "--state-dir", os.path.join(work, "lab")],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.ready = wait_until(20, lambda: '"ready":true' in open(self.output).read())

    def inventory(self):
        return os.path.join(self.work, "lab", "inventory.yaml")

    def credentials(self):
        """The NAUTO_CRED_* variables the lab wrote for its devices."""
        values = {}
        with open(os.path.join(self.work, "lab", "lab-credentials.env")) as text:
            for line in text:
                if "=" in line and not line.startswith("#"):
                    key, _, value = line.strip().partition("=")
                    values[key] = value.strip("'\"")
        return values

    def control(self, method, path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.base}{path}", method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(request, timeout=10).read().decode() or "null")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
