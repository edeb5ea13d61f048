#!/usr/bin/python3
"""Real routers (issue 25): N FRR instances (Debian's frr: zebra + bgpd), each in a network
namespace of its own, each behind an OpenSSH sshd of its own on 127.0.0.1 whose login runs
vtysh (an interactive vtysh for a shell channel, `vtysh -c ...` for an exec request). Then
`show version` + `show running-config` on every router with SESSIONS at once, by each client in
turn, ROUNDS rounds:
  nauto          `nauto job run` through a nautod (the frr driver: vtysh's shell channel)
  paramiko       paramiko exec channels, two on one connection (a thread pool)
  openssh        the OpenSSH client, one `ssh host 'cmd1;cmd2'` per router (xargs -P)
  netmiko        python3-netmiko 2.4.2, device_type cisco_ios, fast_cli=True (and defaults)
  libssh         the transport's floor: nauto's shell conversation written straight on blocking
                 libssh, a thread per session (libssh_fleet.cpp; with --libssh-fleet PATH)
Every client's every output is checked (the router's FRRouting version banner and its own
`router bgp` line); a router that fails is counted, not retried, on every side.
Client CPU is the client's own processes (nauto: nautod's CPU during the job + the CLI's).
Targets: nauto <= 2 ms client CPU per router and >= 4x less than netmiko; wall <= 1.1x the
faster of paramiko and OpenSSH.
    frr_fleet_bench.py NAUTOD NAUTO N [SESSIONS] [ROUNDS] [--clients nauto,paramiko,...]
                       [--libssh-fleet PATH]
Needs root (network namespaces, sshd). Everything it starts it stops; it writes only into its
own temporary directory."""
import argparse
import atexit
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from free_ports import free_port_block  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("nautod")
parser.add_argument("nauto")
parser.add_argument("routers", type=int)
parser.add_argument("sessions", type=int, nargs="?", default=20)
parser.add_argument("rounds", type=int, nargs="?", default=3)
parser.add_argument("--clients",
                    default="nauto,libssh,paramiko,openssh,netmiko_fast_cli,netmiko_defaults")
parser.add_argument("--libssh-fleet", default="", help="the libssh_fleet binary (the floor)")
args = parser.parse_args()
if not args.libssh_fleet:
    args.clients = ",".join(c for c in args.clients.split(",") if c != "libssh")
N = args.routers
work = tempfile.mkdtemp(prefix="nauto-frr-bench-")
os.chmod(work, 0o711)  # the FRR daemons (user frr) reach their own folders in it
tag = f"nauto-frr-{os.getpid()}"
namespaces, pid_files, children = [], [], []


def cleanup():
    for child in children:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
    for pid_file in pid_files:
        try:
            os.kill(int(open(pid_file).read().split()[0]), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    time.sleep(0.5)
    for ns in namespaces:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: (cleanup(), os._exit(1)))


def run(*command, **kw):
    subprocess.run(command, check=True, **kw)


def wait_for(paths, limit=60):
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        if all(os.path.exists(p) for p in paths):
            return
        time.sleep(0.05)
    missing = [p for p in paths if not os.path.exists(p)]
    sys.exit(f"not there after {limit} s: {missing[:3]}")


# --- the routers ---------------------------------------------------------------------------
os.makedirs("/run/sshd", exist_ok=True)
run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{work}/host_key")
run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{work}/client_key")
host_key = open(f"{work}/host_key.pub").read().split()
base = free_port_block(N)
names = [f"frr{i}" for i in range(1, N + 1)]
ports = {name: base + i for i, name in enumerate(names)}
with open(f"{work}/known_hosts", "w") as known:
    for name in names:
        known.write(f"[127.0.0.1]:{ports[name]} {host_key[0]} {host_key[1]}\n")
started = time.monotonic()
waiting = []
for i, name in enumerate(names, start=1):
    d = f"{work}/{name}"
    os.makedirs(d)
    ns = f"{tag}-{i}"
    run("ip", "netns", "add", ns)
    namespaces.append(ns)
    run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    open(f"{d}/zebra.conf", "w").write(textwrap.dedent(f"""\
        hostname {name}
        interface lo
         ip address 10.255.{i // 250}.{i % 250 + 1}/32
        !
        ip forwarding
        """))
    neighbors = "".join(f" neighbor 192.0.2.{n} remote-as {65100 + n}\n"
                        f" neighbor 192.0.2.{n} description peer-{n}\n" for n in range(1, 9))
    open(f"{d}/bgpd.conf", "w").write(
        f"hostname {name}\nrouter bgp {65000 + i}\n bgp router-id 10.255.{i // 250}.{i % 250 + 1}\n"
        f"{neighbors} address-family ipv4 unicast\n  network 10.{i // 250}.{i % 250}.0/24\n"
        f" exit-address-family\n!\n")
    # As Debian runs them: user frr (zebra checks that its user is in the frrvty group).
    shutil.chown(d, "frr", "frr")
    common = ["-d", "-u", "frr", "-g", "frr", "--vty_socket", d, "-z", f"{d}/zserv.api",
              "-A", "127.0.0.1", "-P", "0"]
    run("ip", "netns", "exec", ns, "/usr/lib/frr/zebra", *common, "-f", f"{d}/zebra.conf",
        "-i", f"{d}/zebra.pid")
    run("ip", "netns", "exec", ns, "/usr/lib/frr/bgpd", *common, "-p", "0", "-f",
        f"{d}/bgpd.conf", "-i", f"{d}/bgpd.pid")
    pid_files += [f"{d}/zebra.pid", f"{d}/bgpd.pid"]
    # The login: vtysh, interactive for a shell channel, `vtysh -c` per command (';' between
    # commands) for an exec request, as a router's CLI takes either.
    open(f"{d}/login", "w").write(textwrap.dedent(f"""\
        #!/bin/sh
        [ -z "$SSH_ORIGINAL_COMMAND" ] && exec /usr/bin/vtysh --vty_socket {d}
        IFS=';'; set -f
        set -- $SSH_ORIGINAL_COMMAND
        for c; do set -- "$@" -c "$c"; shift; done
        exec /usr/bin/vtysh --vty_socket {d} "$@"
        """))
    os.chmod(f"{d}/login", 0o755)
    # HOME is the router's own folder: sshd runs the login through root's shell, and bash
    # sources ~/.bashrc for sshd (on these machines it runs `pyenv init`, 0.6 s a login, and
    # its lock, left behind by a killed login, stalled every later login for 60 s); vtysh
    # also writes its history to ~/.history_frr.
    open(f"{d}/sshd_config", "w").write(textwrap.dedent(f"""\
        ListenAddress 127.0.0.1:{ports[name]}
        HostKey {work}/host_key
        PidFile {d}/sshd.pid
        AuthorizedKeysFile {work}/client_key.pub
        PermitRootLogin prohibit-password
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        StrictModes no
        MaxStartups 100:30:200
        SetEnv HOME={d}
        ForceCommand {d}/login
        """))
    run("/usr/sbin/sshd", "-f", f"{d}/sshd_config", "-E", f"{d}/sshd.log")
    pid_files.append(f"{d}/sshd.pid")
    waiting += [f"{d}/sshd.pid", f"{d}/zebra.vty", f"{d}/bgpd.vty"]
wait_for(waiting)
print(f"machine: {os.cpu_count()} cores, "
      f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}, "
      f"{time.strftime('%Y-%m-%d', time.gmtime())}")
print(f"{N} FRR routers ({subprocess.run(['/usr/lib/frr/zebra', '-v'], capture_output=True, text=True).stdout.splitlines()[0]}) "
      f"up in {time.monotonic() - started:.1f} s; {args.sessions} sessions at once")


def check(name, version, config):
    return "FRRouting" in version and f"router bgp {65000 + names.index(name) + 1}" in config \
        and f"hostname {name}" in config


# --- the clients -----------------------------------------------------------------------------
PEER = textwrap.dedent("""\
    import json, os, resource, sys, time
    from concurrent.futures import ThreadPoolExecutor
    kind, work, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    routers = json.load(open(f"{work}/routers.json"))
    key, known = f"{work}/client_key", f"{work}/known_hosts"
    def paramiko_task(item):
        import paramiko
        name, port = item
        client = paramiko.SSHClient()
        client.load_host_keys(known)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect("127.0.0.1", port=port, username="root", key_filename=key,
                       look_for_keys=False, allow_agent=False, timeout=60)
        out = []
        for command in ("show version", "show running-config"):
            _, stdout, _ = client.exec_command(command)
            out.append(stdout.read().decode())
        client.close()
        return out
    def netmiko_task(item, fast):
        from netmiko import ConnectHandler
        name, port = item
        c = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=port, username="root",
                           use_keys=True, key_file=key, allow_agent=False, timeout=60,
                           fast_cli=fast)
        out = [c.send_command("show version"), c.send_command("show running-config")]
        c.disconnect()
        return out
    task = {"paramiko": paramiko_task,
            "netmiko_fast_cli": lambda item: netmiko_task(item, True),
            "netmiko_defaults": lambda item: netmiko_task(item, False)}[kind]
    def guarded(item):
        try:
            return item[0], task(item)
        except Exception as error:
            print(f"{item[0]}: {error}", file=sys.stderr)
            return item[0], None
    with ThreadPoolExecutor(sessions) as pool:
        results = dict(pool.map(guarded, sorted(routers.items())))
    json.dump(results, open(f"{work}/{kind}.json", "w"))
    """)
open(f"{work}/peer.py", "w").write(PEER)
json.dump(ports, open(f"{work}/routers.json", "w"))
open(f"{work}/ssh_one", "w").write(textwrap.dedent(f"""\
    #!/bin/sh
    # ssh_one NAME PORT: both commands over one OpenSSH connection, output to NAME.out
    exec ssh -F none -i {work}/client_key -o UserKnownHostsFile={work}/known_hosts \\
      -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR -p "$2" root@127.0.0.1 \\
      'show version;show running-config' > {work}/ssh/$1.out 2>&1
    """))
os.chmod(f"{work}/ssh_one", 0o755)

# nauto: a nautod with an inventory of the routers, the key as credential 'frr'.
with open(f"{work}/inventory.yaml", "w") as inv:
    inv.write(f"defaults:\n  credential: frr\n  known_hosts: {work}/known_hosts\nhosts:\n")
    for name in names:
        inv.write(f"  {name}: {{host: 127.0.0.1, port: {ports[name]}, platform: frr, site: bench}}\n")
os.makedirs(f"{work}/run")
open(f"{work}/nauto.yaml", "w").write(textwrap.dedent(f"""\
    data_dir: {work}/data
    run_dir: {work}/run
    log: {{level: warn, file: {work}/nautod.jsonl}}
    modules:
      inventory: {{files: [{work}/inventory.yaml]}}
      vault: {{}}
      devices: {{max_sessions: {args.sessions}, device_timeout: 60s}}
    """))
env = dict(os.environ, NAUTO_CONFIG=f"{work}/nauto.yaml", NAUTO_CRED_FRR_USERNAME="root",
           NAUTO_CRED_FRR_PRIVATE_KEY_FILE=f"{work}/client_key")
nautod = None
if "nauto" in args.clients.split(","):
    nautod = subprocess.Popen([args.nautod], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(f"{work}/nautod.log", "w"))
    children.append(nautod)
    give_up = time.monotonic() + 30
    while subprocess.run([args.nauto, "call", "job.list"], env=env, capture_output=True).returncode:
        if time.monotonic() > give_up:
            sys.exit("nautod did not answer: " + open(f"{work}/nautod.log").read()[-500:])
        time.sleep(0.1)


def process_cpu(pid):
    """CPU seconds of a running process: its threads' schedstat run time (nanoseconds), since
    /proc/PID/stat counts in 10 ms ticks, a fifth of a millisecond per router at N=50. Threads
    that ended are only in /proc/PID/stat, so the larger of the two is taken."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    run_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            run_ns += int(open(f"/proc/{pid}/task/{task}/schedstat").read().split()[0])
        except OSError:
            pass  # the thread ended meanwhile
    return max(ticks, run_ns / 1e9)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(kind):
    """(wall s, client CPU s, routers ok) for one client over every router."""
    cpu0, t0 = children_cpu(), time.monotonic()
    nautod0 = process_cpu(nautod.pid) if kind == "nauto" else 0
    if kind == "nauto":
        done = subprocess.run([args.nauto, "job", "run", "-t", "site=bench", "--commands",
                               "show version", "show running-config", "--attempts", "1",
                               "-o", "json"], env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        cpu = children_cpu() - cpu0 + process_cpu(nautod.pid) - nautod0
        results = json.loads(done.stdout)["results"] if done.stdout else []
        ok = sum(1 for r in results if r.get("status") == "ok" and
                 check(r["device"], r["output"][0]["text"], r["output"][1]["text"]))
        for r in [r for r in results if r.get("status") != "ok" or
                  not check(r["device"], r["output"][0]["text"], r["output"][1]["text"])][:3]:
            shown = r.get("error", "") if r.get("status") != "ok" else \
                " | ".join(repr(o["text"][:150]) for o in r["output"])
            print(f"  nauto: {r['device']} {r.get('status')}: {shown[:400]}", flush=True)
    elif kind == "openssh":
        shutil.rmtree(f"{work}/ssh", ignore_errors=True)
        os.makedirs(f"{work}/ssh")
        listing = "".join(f"{name} {ports[name]}\n" for name in names)
        subprocess.run(["xargs", "-P", str(args.sessions), "-n", "2", f"{work}/ssh_one"],
                       input=listing, text=True)
        wall = time.monotonic() - t0
        cpu = children_cpu() - cpu0
        ok = 0
        for name in names:
            text = open(f"{work}/ssh/{name}.out").read()
            ok += check(name, text, text)
    else:
        command = [args.libssh_fleet, work, str(args.sessions)] if kind == "libssh" else \
            ["/usr/bin/python3", f"{work}/peer.py", kind, work, str(args.sessions)]
        subprocess.run(command, stderr=open(f"{work}/{kind}.err", "a"))
        wall = time.monotonic() - t0
        cpu = children_cpu() - cpu0
        results = json.load(open(f"{work}/{kind}.json"))
        ok = sum(1 for name, out in results.items() if out and check(name, out[0], out[1]))
    return wall, cpu, ok


clients = args.clients.split(",")
figures = {kind: [] for kind in clients}
for round_number in range(1, args.rounds + 1):
    for kind in clients:
        wall, cpu, ok = measure(kind)
        figures[kind].append((wall, cpu, ok))
        print(f"round {round_number} {kind:17s} wall {wall:7.2f} s  client CPU {cpu:6.2f} s "
              f"= {cpu / N * 1000:6.2f} ms/router  ok {ok}/{N}", flush=True)


def med(values):
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


print(f"\n{N} routers, {args.sessions} sessions, median [range] of {args.rounds} rounds")
print("| client | wall (s) | client CPU per router (ms) | ok |\n|---|---|---|---|")
for kind in clients:
    rows = figures[kind]
    print(f"| {kind} | {med([r[0] for r in rows])} | {med([r[1] / N * 1000 for r in rows])} | "
          f"{min(r[2] for r in rows)}/{N} |")
if "nauto" in figures:
    nauto_wall = statistics.median(r[0] for r in figures["nauto"])
    nauto_cpu = statistics.median(r[1] for r in figures["nauto"])
    floor = [statistics.median(r[0] for r in figures[k]) for k in ("paramiko", "openssh") if k in figures]
    if floor:
        print(f"nauto wall / faster of paramiko and OpenSSH: {nauto_wall / min(floor):.2f}x (target <= 1.1)")
    if "libssh" in figures:
        floor_cpu = statistics.median(r[1] for r in figures["libssh"])
        print(f"nauto client CPU / bare libssh: {nauto_cpu / floor_cpu:.2f}x; nauto's own cost "
              f"{(nauto_cpu - floor_cpu) / N * 1000:.2f} ms per router above the transport's "
              f"{floor_cpu / N * 1000:.2f} ms")
    if "netmiko_fast_cli" in figures:
        peer = statistics.median(r[1] for r in figures["netmiko_fast_cli"])
        print(f"netmiko fast_cli client CPU / nauto: {peer / nauto_cpu:.2f}x (target >= 4); "
              f"nauto {nauto_cpu / N * 1000:.2f} ms per router (target <= 2)")
