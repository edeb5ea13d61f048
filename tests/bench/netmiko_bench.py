#!/usr/bin/python3
"""The peer baseline: Debian's python3-netmiko driven by a thread pool the way Nornir drives it
(one task per host, num_workers threads), `show version` on the first DEVICES hosts of a
nauto-lab inventory. Prints wall, CPU and peak RSS in the same form as jobs_bench.
    netmiko_bench.py INVENTORY DEVICES WORKERS   (NAUTO_CRED_LAB_* in the environment)"""
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import yaml
from netmiko import ConnectHandler

inventory_path, wanted, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hosts = list(yaml.safe_load(open(inventory_path))["hosts"].items())[:wanted]
user = os.environ["NAUTO_CRED_LAB_USERNAME"]
password = os.environ["NAUTO_CRED_LAB_PASSWORD"]
secret = os.environ["NAUTO_CRED_LAB_ENABLE_SECRET"]


def task(item):
    name, host = item
    try:
        connection = ConnectHandler(device_type=host["platform"], host=host["host"],
                                    port=host["port"], username=user, password=password,
                                    secret=secret, timeout=120)
        connection.enable()
        output = connection.send_command("show version")
        connection.disconnect()
        return "Cisco IOS" in output
    except Exception as error:  # noqa: BLE001 - a failed host is counted, as Nornir does
        print(f"{name}: {error}", file=sys.stderr)
        return False


started = time.monotonic()
with ThreadPoolExecutor(max_workers=workers) as pool:
    results = list(pool.map(task, hosts))
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
ok = sum(results)
print(f"netmiko devices={wanted} sessions={workers} wall_s={wall:.2f} "
      f"cpu_s={usage.ru_utime + usage.ru_stime:.2f} peak_rss_mib={usage.ru_maxrss / 1024:.1f} "
      f"ok={ok} failed={wanted - ok} rate_per_s={wanted / wall:.1f}")
sys.exit(0 if ok == wanted else 1)
