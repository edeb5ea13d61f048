#!/usr/bin/python3
"""Real clients against nauto-lab: OpenSSH, netmiko, ncclient (paramiko), curl, a syslog
collector, and the ntc-templates (python3-textfsm); a missing corpus fails its check.

Usage: lab_clients_test.py NAUTO_LAB_BINARY
Prints one line per check and ends with "lab_clients: N passed, N failed".
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

LAB = sys.argv[1]
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(("ok" if condition else "not ok") + f" {len(results)} - {name}" + ("" if condition else f"  # {detail}"))
    sys.stdout.flush()


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 60), **kw)


work = tempfile.mkdtemp(prefix="nauto-lab-test-")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../support"))
import port_block  # noqa: E402

base, port_claim = port_block.claim()  # ours until this process ends
syslog_port = base + 99
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", syslog_port))
collector.settimeout(0.2)
run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{work}/id"])
with open(f"{work}/fleet.yaml", "w") as f:
    f.write(f"""
base_port: {base}
seed: 11
minute_ms: 400
credentials: {{username: admin, password: lab-pass, enable_secret: lab-enable, authorized_keys: [{work}/id.pub]}}
syslog: {{collector: 127.0.0.1:{syslog_port}, format: rfc5424}}
meraki: {{organizations: 2, networks_per_org: 2, devices_per_network: 4, requests_per_second: 3}}
groups:
  - {{platform: cisco_ios, count: 2, site: dc1}}
  - {{platform: arista_eos, count: 1, site: dc1}}
  - {{platform: cisco_nxos, count: 1, site: dc2}}
  - {{platform: juniper_junos, count: 1, site: dc2}}
devices:
  ios2: {{faults: {{latency_ms: 300}}}}
""")


def leave_time_wait(port):
    """Leaves a connection in TIME_WAIT on `port`, as an earlier test's server that closed first
    would (the block's previous holder)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first: its side goes to TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()


for leftover in (base, base + 1):  # the control API and the Meraki dashboard
    leave_time_wait(leftover)
lab = subprocess.Popen([LAB, "--fleet", f"{work}/fleet.yaml", "--state-dir", f"{work}/state"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
ready = json.loads(lab.stdout.readline() or "{}")
check("nauto-lab starts and reports ready, over ports left in TIME_WAIT", ready.get("ready"), lab.stderr.read() if not ready else "")
fleet = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{base}/fleet").read())
port = {d["name"]: d["ssh_port"] for d in fleet}
api = {d["name"]: d["api_port"] for d in fleet}
inventory = open(ready["inventory"]).read()
check("inventory lists every device with its port", all(f"port: {p}" in inventory for p in port.values()))


def control(path, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{base}{path}", data=data, method=method or ("POST" if data else "GET"))
    return urllib.request.urlopen(request).read().decode()


def syslog_messages(seconds=3.0, want=None):
    got, end = [], time.time() + seconds
    while time.time() < end:
        try:
            got.append(collector.recv(4096).decode())
        except socket.timeout:
            pass
        if want and any(want in m for m in got):
            break
    return got


# --- OpenSSH: key auth in batch mode, strict host keys from the lab's known_hosts ----------------
ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={ready['known_hosts']}",
       "-i", f"{work}/id", "-l", "admin"]
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show version"])
check("ssh exec: IOS show version", r.returncode == 0 and "Cisco IOS Software" in r.stdout and "Processor board ID" in r.stdout, r.stderr)
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show ip bgp summry"])
check("ssh exec: IOS error names the bad word", r.returncode == 1 and "% Invalid input detected at '^' marker." in r.stdout, r.stdout)
r = run(ssh + ["-p", str(port["junos5"]), "127.0.0.1", "show bgp summary"])
check("ssh exec: Junos show bgp summary", r.returncode == 0 and "Establ" in r.stdout, r.stdout + r.stderr)
r = run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null",
         "-i", f"{work}/id", "-p", str(port["ios1"]), "admin@127.0.0.1", "show clock"])
check("ssh: an unknown host key is refused under strict checking", r.returncode == 255 and "Host key verification failed" in r.stderr, r.stderr)
# Interactive shell: paging, enable, a config change, then see it.
script = "show running-config\n q" + "\nenable\nlab-enable\nterminal length 0\nconfigure terminal\ninterface Gi0/3\ndescription via-openssh\nno shutdown\nend\nshow interfaces description\nexit\n"
r = run(["ssh", "-tt", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={ready['known_hosts']}", "-i", f"{work}/id",
         "-p", str(port["ios1"]), "admin@127.0.0.1"], input=script)
check("ssh shell: banner, then the user-mode prompt", "Authorized access only" in r.stdout and "ios1>" in r.stdout, r.stdout[:400])
check("ssh shell: show running-config needs enable", "% Invalid input detected" in r.stdout)
check("ssh shell: config prompts", "ios1(config)#" in r.stdout and "ios1(config-if)#" in r.stdout, r.stdout[-800:])
check("ssh shell: change visible afterwards", "via-openssh" in r.stdout.split("show interfaces description")[-1], r.stdout[-600:])
events = syslog_messages(3, "%SYS-5-CONFIG_I")
check("syslog: RFC 5424 %SYS-5-CONFIG_I after leaving config mode",
      any(m.startswith("<189>1 ") and "ios1" in m and "%SYS-5-CONFIG_I: Configured from console by admin" in m for m in events), events)
check("syslog: %LINK-3-UPDOWN when the port came up", any("%LINK-3-UPDOWN: Interface GigabitEthernet0/3, changed state to" in m for m in events) or
      any("LINEPROTO" in m and "GigabitEthernet0/3" in m for m in events), events)
# Paging with the default terminal length.
r = run(["ssh", "-tt", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={ready['known_hosts']}", "-i", f"{work}/id",
         "-p", str(port["ios1"]), "admin@127.0.0.1"], input="show interfaces\n" + " " * 40 + "\nexit\n")
check("ssh shell: long output pages with --More--", " --More-- " in r.stdout and "GigabitEthernet0/3 is" in r.stdout, r.stdout[-400:])

# --- control interface: flip a link, see the event and the state --------------------------------
control("/devices/ios1/link", {"interface": "GigabitEthernet0/0", "up": False})
events = syslog_messages(3, "BGP-5-ADJCHANGE")
check("control: link down -> %LINEPROTO-5-UPDOWN", any("%LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/0, changed state to down" in m for m in events), events)
check("control: link down -> BGP neighbour down", any("%BGP-5-ADJCHANGE: neighbor 10." in m and "Down" in m for m in events), events)
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show ip bgp summary"])
check("control: the BGP summary shows the peer not established", "Active" in r.stdout or "Idle" in r.stdout, r.stdout)
control("/devices/ios1/link", {"interface": "GigabitEthernet0/0", "up": True})
log = json.loads(control("/devices/ios1/commands"))
check("control: the command log records what clients sent", any(c["command"] == "show version" for c in log))

# --- netmiko on all four platforms ---------------------------------------------------------------
try:
    from netmiko import ConnectHandler
    for platform, name, interface in [("cisco_ios", "ios1", "GigabitEthernet0/2"), ("arista_eos", "eos3", "Ethernet3"),
                                      ("cisco_nxos", "nxos4", "Ethernet1/3"), ("juniper_junos", "junos5", "ge-0/0/2")]:
        connection = ConnectHandler(device_type=platform, host="127.0.0.1", port=port[name], username="admin",
                                    password="lab-pass", secret="lab-enable",
                                    fast_cli=platform != "juniper_junos")
        if platform in ("cisco_ios", "arista_eos"):
            connection.enable()
        prompt = connection.find_prompt()
        check(f"netmiko {platform}: prompt", prompt.startswith(("admin@" + name, name)) and prompt.rstrip().endswith(("#", ">")), prompt)
        version = connection.send_command("show version")
        check(f"netmiko {platform}: show version", any(k in version for k in ("Cisco IOS", "Arista", "NX-OS", "Junos:")), version[:200])
        if platform == "juniper_junos":
            connection.send_config_set([f"set interfaces {interface} description netmiko-{platform}"], exit_config_mode=False)
            diff = connection.send_command("show | compare", expect_string=r"#")
            check("netmiko juniper_junos: show | compare", "+   description netmiko-juniper_junos;" in diff, diff)
            out = connection.commit()
            check("netmiko juniper_junos: commit", "commit complete" in out, out)
            connection.exit_config_mode()
            after = connection.send_command(f"show configuration interfaces {interface}")
        else:
            connection.send_config_set([f"interface {interface}", f"description netmiko-{platform}"])
            after = connection.send_command(f"show running-config | include netmiko-{platform}")
        check(f"netmiko {platform}: config change visible afterwards", f"netmiko-{platform}" in after, after)
        connection.disconnect()
except Exception as error:  # a failure here is a failed check, not a crash
    check("netmiko sessions", False, repr(error))

# --- ncclient: NETCONF 1.1 chunked framing against juniper_junos ---------------------------------
try:
    from ncclient import manager
    from ncclient.operations import RPCError
    with manager.connect(host="127.0.0.1", port=port["junos5"], username="admin", password="lab-pass",
                         hostkey_verify=False, look_for_keys=False, allow_agent=False, timeout=20) as m:
        check("ncclient: base:1.1 and candidate advertised",
              ":base:1.1" in " ".join(m.server_capabilities) and m.server_capabilities.__contains__("urn:ietf:params:netconf:capability:candidate:1.0"))
        running = m.get_config(source="running").data_xml
        check("ncclient: get-config running", "<host-name>junos5</host-name>" in running, running[:300])
        m.lock(target="candidate")
        m.edit_config(target="candidate", config="""<config><configuration><interfaces><interface>
            <name>ge-0/0/3</name><description>via-netconf</description></interface></interfaces></configuration></config>""")
        candidate = m.get_config(source="candidate").data_xml
        check("ncclient: edit-config lands in the candidate", "via-netconf" in candidate)
        check("ncclient: running unchanged before commit", "via-netconf" not in m.get_config(source="running").data_xml)
        m.validate(source="candidate")
        m.commit()
        m.unlock(target="candidate")
        check("ncclient: commit makes it running", "via-netconf" in m.get_config(source="running").data_xml)
        try:
            m.edit_config(target="running", config="<config><configuration/></config>")
            check("ncclient: rpc-error for a non-writable datastore", False, "no error")
        except RPCError as error:
            check("ncclient: rpc-error for a non-writable datastore", error.tag == "operation-not-supported", error.tag)
        # Confirmed commit that nobody confirms rolls back by itself (minute_ms 400: 60 s => 0.4 s).
        m.edit_config(target="candidate", config="""<config><configuration><system><host-name>temporary</host-name></system></configuration></config>""")
        m.commit(confirmed=True, timeout="60")
        check("ncclient: confirmed commit applies", "temporary" in m.get_config(source="running").data_xml)
        time.sleep(1.2)
        check("ncclient: unconfirmed commit rolls back", "<host-name>junos5</host-name>" in m.get_config(source="running").data_xml)
except Exception as error:
    check("ncclient session", False, repr(error))
events = syslog_messages(2, "UI_COMMIT")
check("syslog: Junos UI_COMMIT after the NETCONF commit", any(" mgd " in m and "UI_COMMIT" in m for m in events), events)

# --- curl: eAPI, NX-API and the dashboard over HTTPS with the lab's certificate -----------------
cacert = ready["certificate"]
curl = ["curl", "-sS", "--cacert", cacert, "-u", "admin:lab-pass"]
r = run(curl + ["-d", json.dumps({"jsonrpc": "2.0", "method": "runCmds", "params": {"version": 1, "cmds": ["show version", "show ip bgp summary"], "format": "json"}, "id": "1"}),
                f"https://127.0.0.1:{api['eos3']}/command-api"])
body = json.loads(r.stdout or "{}")
check("curl eAPI: runCmds json", body.get("result", [{}])[0].get("modelName", "").startswith("DCS-") and
      "peers" in body["result"][1]["vrfs"]["default"], r.stdout[:300] + r.stderr)
r = run(curl + ["-d", json.dumps({"jsonrpc": "2.0", "method": "runCmds", "params": {"version": 1, "cmds": ["enable", "configure", "interface Ethernet4", "description via-eapi", "end"], "format": "json"}, "id": 2}),
                f"https://127.0.0.1:{api['eos3']}/command-api"])
r = run(curl + ["-d", json.dumps({"jsonrpc": "2.0", "method": "runCmds", "params": {"version": 1, "cmds": ["show running-config interface Ethernet4"], "format": "text"}, "id": 3}),
                f"https://127.0.0.1:{api['eos3']}/command-api"])
check("curl eAPI: config change visible afterwards (text format)", "via-eapi" in r.stdout, r.stdout)
r = run(curl + ["-d", json.dumps({"jsonrpc": "2.0", "method": "runCmds", "params": {"version": 1, "cmds": ["show bogus"]}, "id": 4}),
                f"https://127.0.0.1:{api['eos3']}/command-api"])
check("curl eAPI: a bad command is a JSON-RPC error", json.loads(r.stdout).get("error", {}).get("code") == 1002, r.stdout)
r = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cacert, "-u", "admin:wrong", "-d", "{}",
         f"https://127.0.0.1:{api['eos3']}/command-api"])
check("curl eAPI: wrong password is 401", r.stdout == "401", r.stdout)
r = run(curl + ["-H", "Content-Type: application/json", "-d",
                json.dumps({"ins_api": {"version": "1.0", "type": "cli_show", "chunk": "0", "sid": "1", "input": "show version ;show ip bgp summary", "output_format": "json"}}),
                f"https://127.0.0.1:{api['nxos4']}/ins"])
outputs = json.loads(r.stdout or "{}").get("ins_api", {}).get("outputs", {}).get("output", [])
check("curl NX-API: cli_show with two commands", len(outputs) == 2 and outputs[0]["body"]["host_name"] == "nxos4" and
      outputs[1]["body"]["TABLE_vrf"]["ROW_vrf"]["vrf-router-id"], r.stdout[:300])
r = run(["curl", "-sS", "--cacert", cacert, "https://127.0.0.1:%d/api/v1/organizations" % ready["meraki_port"], "-H", "X-Cisco-Meraki-API-Key: lab-meraki-key"])
orgs = json.loads(r.stdout or "[]")
check("curl dashboard: organisations with the API key", len(orgs) == 2, r.stdout)
r = run(["curl", "-sS", "-D", "-", "--cacert", cacert, "https://127.0.0.1:%d/api/v1/organizations/%s/devices?perPage=3" % (ready["meraki_port"], orgs[0]["id"]),
         "-H", "Authorization: Bearer lab-meraki-key"])
check("curl dashboard: Link header pagination", "rel=next" in r.stdout and r.stdout.count('"serial"') == 3, r.stdout[:500])
codes = [run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", cacert, "-H", "X-Cisco-Meraki-API-Key: lab-meraki-key",
              "https://127.0.0.1:%d/api/v1/organizations/%s/networks" % (ready["meraki_port"], orgs[1]["id"])]).stdout for _ in range(8)]
check("curl dashboard: 429 once the organisation's rate is exceeded", "429" in codes and codes[0] == "200", codes)

# --- faults ------------------------------------------------------------------------------------
start = time.time()
r = run(ssh + ["-p", str(port["ios2"]), "127.0.0.1", "show clock"])
check("fault: latency_ms delays the reply", r.returncode == 0 and time.time() - start >= 0.3, time.time() - start)
control("/devices/ios1/faults", {"refuse_auth": True}, method="PUT")
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show clock"])
check("fault: refuse_auth", r.returncode == 255 and "Permission denied" in r.stderr, r.stderr)
control("/devices/ios1/faults", {"changed_host_key": True}, method="PUT")
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show clock"])
check("fault: changed_host_key is caught by strict checking", r.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in r.stderr, r.stderr[:300])
control("/devices/ios1/faults", {"huge_config_bytes": 5000000}, method="PUT")
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show running-config"])
check("fault: huge_config_bytes", len(r.stdout) >= 5000000 and r.stdout.rstrip().endswith("end"), len(r.stdout))
control("/devices/ios1/faults", {"drop_after_bytes": 1000}, method="PUT")
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show interfaces"])
check("fault: drop_after_bytes cuts the reply", len(r.stdout) <= 1200 and r.returncode != 0, (len(r.stdout), r.returncode))
control("/devices/ios1/faults", {}, method="PUT")
control("/reset", {})
r = run(ssh + ["-p", str(port["ios1"]), "127.0.0.1", "show running-config | include via-openssh"])
check("control: reset restores the first configuration", r.returncode == 0 and "via-openssh" not in r.stdout, r.stdout)

# --- ntc-templates parse what the devices print (python3-textfsm) -------------------------------
templates = None
for candidate in [os.environ.get("NAUTO_NTC_TEMPLATES", ""), os.path.join(os.path.dirname(__file__), "../../../../shared/ntc-templates/ntc_templates/templates"),
                  "/work/shared/ntc-templates/ntc_templates/templates"]:
    if candidate and os.path.exists(os.path.join(candidate, "index")):
        templates = candidate
        break
check("the ntc-templates corpus is found (beside the repository, or NAUTO_NTC_TEMPLATES)", templates is not None)
if templates is not None:
    from textfsm import clitable
    table = clitable.CliTable("index", templates)
    commands = {
        "cisco_ios": ["show version", "show ip interface brief", "show interfaces", "show ip route", "show ip bgp summary", "show lldp neighbors", "show inventory", "show ip bgp neighbors"],
        "arista_eos": ["show version", "show interfaces status", "show ip interface brief", "show ip route", "show ip bgp summary", "show lldp neighbors"],
        "cisco_nxos": ["show version", "show interface brief", "show ip route", "show ip bgp summary", "show lldp neighbors", "show inventory"],
        "juniper_junos": ["show version", "show interfaces", "show bgp summary", "show lldp neighbors", "show chassis hardware"],
    }
    names = {"cisco_ios": "ios1", "arista_eos": "eos3", "cisco_nxos": "nxos4", "juniper_junos": "junos5"}
    for platform, cmds in commands.items():
        for command in cmds:
            r = run(ssh + ["-p", str(port[names[platform]]), "127.0.0.1", command])
            try:
                table.ParseCmd(r.stdout.replace("\r\n", "\n"), {"Command": command, "Platform": platform})
                rows = table.size
            except Exception as error:
                rows, r = 0, error
            check(f"ntc-templates parse {platform} '{command}'", rows > 0, str(r)[:300])

lab.terminate()
lab.wait(timeout=10)
check("nauto-lab stops on SIGTERM", lab.returncode == 0, lab.returncode)
shutil.rmtree(work, ignore_errors=True)
passed = sum(results)
print(f"lab_clients: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
