#!/usr/bin/python3
"""The peer baseline: Debian's python3-netmiko driven by a thread pool the way Nornir drives it
(one task per host, num_workers threads), `show version` on the first DEVICES hosts of a
nauto-lab inventory. Prints wall, CPU and peak RSS in the same form as jobs_bench.
    netmiko_bench.py INVENTORY DEVICES WORKERS [--fast-cli] [--attempts N]
(NAUTO_CRED_LAB_* in the environment)

Fair to netmiko: --fast-cli is how its users run it for speed (the headline baseline), and a
host is tried again after a connection fault up to --attempts times in all, as nauto's job
engine retries transient faults (attempts 3 by default on both sides). Both sides count a
device ok only when its output is a real `show version` (it names the IOS software)."""
import argparse
import os
import resource
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko
import yaml
from netmiko import ConnectHandler
from netmiko.ssh_exception import NetMikoAuthenticationException, NetMikoTimeoutException

parser = argparse.ArgumentParser()
parser.add_argument("inventory")
parser.add_argument("devices", type=int)
parser.add_argument("workers", type=int)
parser.add_argument("--fast-cli", action="store_true")
parser.add_argument("--attempts", type=int, default=3)
args = parser.parse_args()
hosts = list(yaml.safe_load(open(args.inventory))["hosts"].items())[:args.devices]
user = os.environ["NAUTO_CRED_LAB_USERNAME"]
password = os.environ["NAUTO_CRED_LAB_PASSWORD"]
secret = os.environ["NAUTO_CRED_LAB_ENABLE_SECRET"]
# Connection faults worth another try (nauto's transient faults); a refused login is not one.
TRANSIENT = (NetMikoTimeoutException, paramiko.SSHException, EOFError, socket.error)


def task(item):
    name, host = item
    for attempt in range(1, args.attempts + 1):
        try:
            connection = ConnectHandler(device_type=host["platform"], host=host["host"],
                                        port=host["port"], username=user, password=password,
                                        secret=secret, timeout=120, fast_cli=args.fast_cli)
            connection.enable()
            output = connection.send_command("show version")
            connection.disconnect()
            if "Cisco IOS Software" in output:
                return True
            print(f"{name}: unexpected output {output[:80]!r}", file=sys.stderr)
            return False
        except NetMikoAuthenticationException as error:
            print(f"{name}: {error}", file=sys.stderr)
            return False
        except TRANSIENT as error:
            if attempt == args.attempts:
                print(f"{name}: {error} (after {attempt} attempts)", file=sys.stderr)
        except Exception as error:  # noqa: BLE001 - a failed host is counted, as Nornir does
            print(f"{name}: {error}", file=sys.stderr)
            return False
    return False


started = time.monotonic()
with ThreadPoolExecutor(max_workers=args.workers) as pool:
    results = list(pool.map(task, hosts))
wall = time.monotonic() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
ok = sum(results)
mode = "netmiko_fast_cli" if args.fast_cli else "netmiko_defaults"
print(f"{mode} devices={args.devices} sessions={args.workers} wall_s={wall:.2f} "
      f"cpu_s={usage.ru_utime + usage.ru_stime:.2f} peak_rss_mib={usage.ru_maxrss / 1024:.1f} "
      f"ok={ok} failed={args.devices - ok} rate_per_s={args.devices / wall:.1f}")
sys.exit(0 if ok == args.devices else 1)
