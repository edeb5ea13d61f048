#!/usr/bin/env python3
"""The HTTP API's cost (issue 31), on a real nautod serving HTTPS with a test CA's certificate:

1. GET /api/v1/jobs/{id} with wrk (Debian's): one connection (each request waits for the one
   before) and 32 connections, requests/s and p99 latency; compared, in the same run, with the
   same request (job.status) straight over the bus - api_bench_client's loop of calls on one
   connection, what `nauto call --batch` does - and with one `nauto call` process per request,
   what a shell script pays.
2. Event fan-out: CLIENTS event streams of /api/v1/events/stream while RATE events/s are
   published on the bus for SECONDS: events lost, and how late they arrive (p50/p99/max), with
   nautod's CPU over the run.

  api_bench.py NAUTOD NAUTO API_BENCH_CLIENT [--clients 100] [--rate 1000] [--seconds 10]
                                            [--duration 10]
Prints one line per figure and a JSON summary.
"""

import argparse
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import port_block  # noqa: E402
from test_ca import make_ca  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url, token, connections, duration):
    done = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections),
                           "-d", f"{duration}s", "--latency", "-H",
                           f"Authorization: Bearer {token}", url],
                          capture_output=True, text=True, timeout=duration + 60)
    text = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*", text)
    return {"requests_per_s": rate, "p99_ms": float(p99.group(1)) * scale,
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nautod")
    parser.add_argument("nauto")
    parser.add_argument("client")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("api_bench: needs wrk (apt-get install wrk)", file=sys.stderr)
        return 1

    work = tempfile.mkdtemp(prefix="nauto-api-bench-")
    base, _claim = port_block.claim()
    ca, cert, key = make_ca(work)
    config = os.path.join(work, "nauto.yaml")
    with open(config, "w") as out:
        out.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: warn, file: {work}/nautod.jsonl}}
modules:
  journal: {{max_age: 1h}}
  inventory: {{}}
  devices: {{}}
  api:
    listen: "127.0.0.1:{base}"
    tls: {{cert: {cert}, key: {key}}}
    rate_limit: {{per_token: 1000000, per_token_burst: 1000000,
                  per_address: 1000000, per_address_burst: 1000000}}
    max_streams: {args.clients + 10}
    per_address_connections: {args.clients + 100}
""")
    env = dict(os.environ, NAUTO_CONFIG=config)
    daemon = subprocess.Popen([args.nautod], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    summary = {}
    try:
        endpoint = f"ipc://{work}/run/nautod.sock"
        context = ssl.create_default_context(cafile=ca)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{base}/api/v1/openapi.json",
                                       context=context, timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        token = subprocess.run([args.nauto, "token", "create", "--principal", "bench",
                                "--roles", "operator"], env=env, capture_output=True,
                               text=True, check=True).stdout.strip()
        request = urllib.request.Request(
            f"https://127.0.0.1:{base}/api/v1/jobs",
            data=json.dumps({"target": "none-such", "commands": ["show clock"],
                             "allow_empty": True}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        job = json.load(urllib.request.urlopen(request, context=context))["id"]
        url = f"https://127.0.0.1:{base}/api/v1/jobs/{job}"

        # --- requests: the API against the bus, in the same run
        body = json.dumps({"id": job})
        bus = json.loads(subprocess.run([args.client, "bus", endpoint, "job.status", body,
                                         "20000"], capture_output=True, text=True,
                                        check=True).stdout)
        summary["bus_sequential"] = bus
        print(f"bus, one connection, sequential: {bus['requests_per_s']:.0f} req/s, "
              f"p50 {bus['p50_ms']:.3f} ms, p99 {bus['p99_ms']:.3f} ms")
        started = time.monotonic()
        for _ in range(100):
            subprocess.run([args.nauto, "call", "job.status", "--json", body], env=env,
                           capture_output=True, check=True)
        per_call = (time.monotonic() - started) / 100
        summary["nauto_call_process"] = {"requests_per_s": 1 / per_call,
                                         "mean_ms": per_call * 1000}
        print(f"nauto call, one process each: {1 / per_call:.0f} req/s, "
              f"{per_call * 1000:.2f} ms each")
        def api_over(connections):
            before = cpu_seconds(daemon.pid)
            figures = wrk(url, token, connections, args.duration)
            figures["nautod_cpu_us_per_request"] = ((cpu_seconds(daemon.pid) - before) * 1e6 /
                                                    (figures["requests_per_s"] * args.duration))
            summary[f"api_{connections}_connection" + ("s" if connections > 1 else "")] = figures
            print(f"API over HTTPS, {connections} connection{'s' if connections > 1 else ''}: "
                  f"{figures['requests_per_s']:.0f} req/s, p99 {figures['p99_ms']:.3f} ms, "
                  f"nautod CPU {figures['nautod_cpu_us_per_request']:.0f} us/request")
            return figures
        one = api_over(1)
        api_over(32)
        print(f"API / bus, sequential: {one['requests_per_s'] / bus['requests_per_s']:.2f}x "
              f"the requests/s, p99 {one['p99_ms'] / bus['p99_ms']:.2f}x")

        # --- fan-out
        before = cpu_seconds(daemon.pid)
        done = subprocess.run(
            [args.client, "sse", "127.0.0.1", str(base), token, endpoint, str(args.clients),
             str(args.rate), str(args.seconds)], capture_output=True, text=True,
            timeout=args.seconds + 120)
        if done.returncode != 0:
            print(f"api_bench_client sse: {done.stderr.strip()}", file=sys.stderr)
            return 1
        fanout = json.loads(done.stdout)
        fanout["nautod_cpu_percent"] = ((cpu_seconds(daemon.pid) - before) * 100 /
                                        args.seconds)
        summary["sse_fanout"] = fanout
        print(f"event streams: {fanout['clients']} clients, {fanout['published_per_s']:.0f} "
              f"events/s for {args.seconds:.0f} s: {fanout['received']} of "
              f"{fanout['expected']} received ({fanout['lost']} lost), late by p50 "
              f"{fanout['p50_ms']:.2f} ms, p99 {fanout['p99_ms']:.2f} ms, max "
              f"{fanout['max_ms']:.2f} ms; nautod {fanout['nautod_cpu_percent']:.0f}% of a core")
        print(json.dumps(summary))
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
