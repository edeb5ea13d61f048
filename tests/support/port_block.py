#!/usr/bin/python3
"""Claims consecutive free loopback ports (whole blocks of 100) for one test, so tests run in
parallel without colliding.

The ports from 10000 to 32699 (below the kernel's ephemeral range, where an outgoing
connection could hold a listener's port) form 227 blocks of 100. A test claims a block by
binding the abstract Unix socket "nauto-test-port-block-N": the kernel lets one process hold
that name, and frees it when the process ends however it ends, so a claim never outlives its
test and leaves no file behind. A claimed block is used only when every one of its ports is
also free for TCP and UDP on 127.0.0.1 (and ::1 where the host has IPv6), so a port that some
other program holds is never handed out. tests/support/port_block.h claims blocks the same way
from C++; keep the two in step.

As a module: claim(count) -> (base, sockets); keep the sockets open while the ports are in use.
As a command (for shell scripts): `port_block.py [COUNT]` prints the base port, then holds the claim until its
standard input closes — run it as a coprocess, so the claim ends when the script does:
    coproc PORTS { exec python3 port_block.py; }; read -r base_port <&"${PORTS[0]}"
"""
import errno
import random
import socket
import sys

FIRST_PORT = 10000
BLOCK_SIZE = 100
BLOCKS = (32700 - FIRST_PORT) // BLOCK_SIZE


def _port_free(family, address, port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        probe = socket.socket(family, kind)
        try:
            # As the servers under test bind: a port left in TIME_WAIT still counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address, port))
        except OSError as e:
            if e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue  # no such address family here: nothing can collide on it
            return False
        finally:
            probe.close()
    return True


def _block_free(base):
    return all(_port_free(socket.AF_INET, "127.0.0.1", p) and _port_free(socket.AF_INET6, "::1", p)
               for p in range(base, base + BLOCK_SIZE))


def claim(count=BLOCK_SIZE):
    """Returns (base port, claim sockets) for `count` consecutive free ports (whole blocks).
    Raises RuntimeError when none are free."""
    needed = -(-count // BLOCK_SIZE)
    start = random.randrange(BLOCKS)
    for k in range(BLOCKS):
        first = (start + k) % BLOCKS
        if first + needed > BLOCKS:
            continue
        holders = []
        for block in range(first, first + needed):
            holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                holder.bind(f"\0nauto-test-port-block-{block}")
                holders.append(holder)
            except OSError:
                holder.close()  # another test holds it
                break
        base = FIRST_PORT + first * BLOCK_SIZE
        if len(holders) == needed and all(_block_free(FIRST_PORT + b * BLOCK_SIZE)
                                          for b in range(first, first + needed)):
            return base, holders
        for holder in holders:
            holder.close()
    raise RuntimeError(f"no {count} free loopback ports between 10000 and 32699")


def main():
    base, holders = claim(int(sys.argv[1]) if len(sys.argv) > 1 else BLOCK_SIZE)
    print(base, flush=True)
    sys.stdin.read()  # until the test closes our standard input (it ended)
    for holder in holders:
        holder.close()


if __name__ == "__main__":
    main()
