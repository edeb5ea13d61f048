#!/usr/bin/python3
"""Writes the compliance benchmark's input (issue 28): N IOS-like configs of about 20 KB, each a
little different (missing AAA here, a telnet VTY there, undescribed ports, a default SNMP
community), and one policy of 100 rules of every config check kind: whole-config must_match and
must_not_match, checks within sections (with and without `having`), and ordered blocks.

  compliance_corpus.py DIR N      -> DIR/configs/r00001.cfg ..., DIR/policy.yaml
Deterministic: the same N gives the same files.
"""
import os
import random
import sys


def config(i, rng):
    out = [f"hostname r{i:05d}", "service timestamps debug datetime msec",
           "service timestamps log datetime msec"]
    if i % 7:
        out.append("service password-encryption")
    if i % 5:
        out += ["aaa new-model", "aaa authentication login default group tacacs+ local",
                "aaa authorization exec default group tacacs+ local"]
    out += ["ip domain name example.net", "ip name-server 10.0.0.53"]
    if i % 11:
        out.append("ip ssh version 2")
    if i % 29 == 0:
        out.append("ip http server")
    out.append("ntp server 10.0.0.1")
    if i % 13:
        out.append("ntp server 10.0.0.2")
    out.append(f"logging host 10.1.{i % 250}.1")
    out.append("snmp-server community public RO" if i % 17 == 0
               else f"snmp-server community s3cr3t{i} RO")
    for vlan in range(10, 40, 3):
        out += [f"vlan {vlan}", f" name users-{vlan}"]
    for k in range(48):
        out.append(f"interface GigabitEthernet1/0/{k + 1}")
        if (i + k) % 23:
            out.append(f" description access port {k + 1} room {rng.randint(100, 999)}")
        out.append(" switchport mode access" if k % 12 else " switchport mode trunk")
        out.append(f" switchport access vlan {10 + 3 * (k % 10)}")
        out.append(" spanning-tree portfast")
        out.append(" spanning-tree bpduguard enable")
        out.append(" shutdown" if (i * 7 + k) % 9 == 0 else " no shutdown")
    out += ["interface Vlan10", " ip address 10.10.0.1 255.255.255.0", " no shutdown"]
    out.append("router bgp 65000")
    out.append(" bgp log-neighbor-changes")
    for n in range(20):
        peer = f"10.2.{n}.{i % 250 + 1}"
        out += [f" neighbor {peer} remote-as {65100 + n}", f" neighbor {peer} description peer-{n}",
                f" neighbor {peer} password 7 0{rng.randint(10**9, 10**10 - 1)}"]
    for n in range(110):
        out.append(f"access-list 100 permit tcp 10.{n}.0.0 0.0.255.255 any eq {1000 + n}")
    out.append("access-list 100 deny ip any any log")
    for n in range(25):
        out.append(f"ip prefix-list PL-{n} seq 5 permit 10.{n}.0.0/16 le 24")
    for n in range(8):
        out += [f"route-map RM-{n} permit 10", f" match ip address prefix-list PL-{n}",
                f" set local-preference {100 + n}"]
    out += ["line con 0", " logging synchronous", "line vty 0 4", " login local",
            " transport input ssh telnet" if i % 19 == 0 else " transport input ssh",
            "line vty 5 15", " login local", " transport input ssh"]
    out += ["banner motd ^Authorized access only^", "end"]
    return "\n".join(out) + "\n"


def policy():
    rules = []

    def add(body):
        rules.append(f"  - id: rule-{len(rules) + 1:03d}\n" + body)

    present = [r"^aaa new-model$", r"^ip ssh version 2$", r"^ntp server 10\.0\.0\.1$",
               r"^ntp server 10\.0\.0\.2$", r"^logging host \S+", r"^service timestamps log",
               r"^service password-encryption$", r"^hostname r\d+$", r"^ip domain name \S+",
               r"^banner motd ", r"^access-list 100 deny ip any any log$",
               r"^ip name-server \S+"]
    for k in range(30):
        add(f"    must_match: '{present[k % len(present)]}'\n" if k < len(present)
            else f"    must_match: '^ip prefix-list PL-{k} seq 5 permit'\n")
    absent = [r"^snmp-server community (public|private) ", r"^ip http server$",
              r"^no service password-encryption", r"^username \S+ password 0 ",
              r"transport input .*telnet", r"^ip source-route$", r"^service pad$",
              r"^no aaa new-model$", r"^enable password ", r"^snmp-server community \S+ RW"]
    for k in range(30):
        add(f"    must_not_match: '{absent[k % len(absent)]}'\n" if k < len(absent)
            else f"    must_not_match: '^access-list 1{k} permit ip any any'\n")
    sections = [
        ("^interface GigabitEthernet", "^no shutdown$", "must_match", r"^description .+"),
        ("^interface GigabitEthernet", "^switchport mode access$", "must_match",
         r"^spanning-tree bpduguard enable$"),
        ("^interface GigabitEthernet", "^switchport mode access$", "must_not_match",
         r"^switchport mode trunk$"),
        ("^line vty", None, "must_match", r"^transport input ssh$"),
        ("^line vty", None, "must_not_match", r"telnet"),
        ("^router bgp", None, "must_match", r"^bgp log-neighbor-changes$"),
        ("^router bgp", None, "must_not_match", r"^neighbor \S+ password 0 "),
        ("^route-map", None, "must_match", r"^match "),
        ("^vlan \d+", None, "must_match", r"^name \S+"),
        ("^interface Vlan", "^ip address", "must_not_match", r"^ip redirects$"),
    ]
    for k in range(25):
        section, having, kind, pattern = sections[k % len(sections)]
        if k >= len(sections):  # the same shapes on one port, or one route-map, each
            section = f"^interface GigabitEthernet1/0/{k}$" if k % 2 else f"^route-map RM-{k % 8} "
        within = f"{{section: '{section}'" + (f", having: '{having}'" if having else "") + "}"
        add(f"    within: {within}\n    {kind}: '{pattern}'\n")
    blocks = [["aaa new-model", "aaa authentication login default group tacacs+ local"],
              ["service timestamps debug datetime msec", "service timestamps log datetime msec"],
              ["line vty 0 4", "login local", "transport input ssh"],
              ["ntp server 10.0.0.1", "ntp server 10.0.0.2"]]
    for k in range(15):
        block = blocks[k % len(blocks)] if k < len(blocks) else \
            [f"ip prefix-list PL-{k} seq 5 permit 10.{k}.0.0/16 le 24",
             f"ip prefix-list PL-{k + 1} seq 5 permit 10.{k + 1}.0.0/16 le 24"]
        add("    must_contain_lines:\n" + "".join(f"      - '{line}'\n" for line in block))
    assert len(rules) == 100
    return "name: bench\nrules:\n" + "".join(rules)


def main():
    directory, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(os.path.join(directory, "configs"), exist_ok=True)
    rng = random.Random(28)
    total = 0
    for i in range(1, count + 1):
        text = config(i, rng)
        total += len(text)
        with open(os.path.join(directory, "configs", f"r{i:05d}.cfg"), "w") as out:
            out.write(text)
    with open(os.path.join(directory, "policy.yaml"), "w") as out:
        out.write(policy())
    print(f"{count} configs, {total / count / 1024:.1f} KiB each on average; 100 rules")


if __name__ == "__main__":
    main()
