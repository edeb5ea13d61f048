#!/usr/bin/python3
"""The first port of COUNT consecutive TCP ports on 127.0.0.1 that nobody listens on now,
below the ephemeral range (so no outgoing connection takes one meanwhile), tried by binding.
    free_ports.py COUNT        (also imported by the benchmarks written in Python)"""
import os
import socket
import sys


def free_port_block(count):
    low = 10000
    high = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    start = low + (os.getpid() * 97) % max(1, high - low - count)
    for base in list(range(start, high - count, 101)) + list(range(low, start, 101)):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    sys.exit(f"no {count} free consecutive ports between {low} and {high}")


if __name__ == "__main__":
    print(free_port_block(int(sys.argv[1])))
