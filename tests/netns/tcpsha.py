#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One file across a TCP connection, its SHA-256 taken where it arrives.

usage: tcpsha.py recv ADDR PORT OUT   accept one connection, write "SHA256 BYTES" to OUT
       tcpsha.py send ADDR PORT FILE  send FILE, then wait until the receiver closes

Used by tunnel-lib.sh's tcp(); IPv6 when ADDR has a colon. Each side gives up
after 20 s without progress."""
import hashlib
import socket
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(addr, port, out):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(20)
    c, _ = s.accept()
    c.settimeout(20)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    with open(out, "w") as f:
        f.write(f"{h.hexdigest()} {n}\n")


def send(addr, port, path):
    s = socket.create_connection((addr, port), timeout=20)
    with open(path, "rb") as f:
        s.sendall(f.read())
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the receiver closes once it has it all


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("recv", "send"):
        sys.exit(__doc__)
    (recv if sys.argv[1] == "recv" else send)(sys.argv[2], int(sys.argv[3]), sys.argv[4])
