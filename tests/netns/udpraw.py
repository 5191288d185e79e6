#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw UDP for the tunnel tests: send datagrams with a chosen source address and
port (as if from the tunnel peer), and capture one datagram's payload.

  udpraw.py send SRC:SPORT DST:DPORT --garbage N   N hostile datagrams
  udpraw.py send SRC:SPORT DST:DPORT --file F      F's bytes as one datagram
  udpraw.py send SRC:SPORT DST:DPORT --dir D       each file in D, in name order
  udpraw.py capture IFACE DPORT OUTFILE SECONDS    first UDP payload to DPORT
  udpraw.py capture-many IFACE DPORT OUTDIR N SECONDS   the first N (OUTDIR/0, 1, ...)

IPv4 only; run inside a test namespace (documentation addresses only)."""
import random
import socket
import struct
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def ipv4_udp(src, dst, payload):
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload  # checksum 0: RFC 768
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return hdr + udp  # the kernel fills the IP checksum with IP_HDRINCL


def garbage(n, spi_hint):
    """Each kind lands in exactly one drop counter of the receiver."""
    rnd = random.Random(1234)
    out = [b"", b"\xff", b"\x00\x00\x00\x00" + bytes(20)]  # empty, NAT keepalive, non-ESP marker
    while len(out) < n:
        k = len(out) % 3
        size = rnd.choice([1, 3, 7, 8, 23, 24, 40, 100, 1000, 1400])
        body = bytes(rnd.getrandbits(8) for _ in range(size))
        if k == 0 and spi_hint:  # the right SPI, garbage after: must fail authentication
            body = spi_hint + body[4:] if size >= 4 else body
        elif body[:4] == b"\x00\x00\x00\x00":
            body = b"\x01" + body[1:]
        out.append(body)
    return out[:n]


def send(argv):
    src, dst = addr(argv[0]), addr(argv[1])
    if argv[2] == "--garbage":
        spi = bytes.fromhex(argv[4][2:].rjust(8, "0")) if len(argv) > 4 else b""
        payloads = garbage(int(argv[3]), spi)
    elif argv[2] == "--dir":
        import os
        names = sorted(os.listdir(argv[3]), key=int)
        payloads = [open(os.path.join(argv[3], n), "rb").read() for n in names]
    else:
        payloads = [open(argv[3], "rb").read()]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for p in payloads:
        s.sendto(ipv4_udp(src, dst, p), (dst[0], 0))
    print(len(payloads))


def capture(argv, many=0):
    iface, port, out, secs = argv[0], int(argv[1]), argv[2], float(argv[-1])
    got = 0
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    s.bind((iface, 0))
    s.settimeout(0.2)
    end = time.time() + secs
    while time.time() < end:
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            continue
        ihl = (pkt[0] & 0xF) * 4
        if pkt[9] != 17:
            continue
        dport, length = struct.unpack("!2xH H", pkt[ihl:ihl + 6])
        if dport == port:
            if not many:
                open(out, "wb").write(pkt[ihl + 8:ihl + length])
                return
            open("%s/%d" % (out, got), "wb").write(pkt[ihl + 8:ihl + length])
            got += 1
            if got == many:
                print(got)
                return
    if many and got:
        print(got)
        return
    sys.exit("capture: nothing to port %d on %s" % (port, iface))


def capture_many(argv):
    capture(argv, many=int(argv[3]))


if __name__ == "__main__":
    {"send": send, "capture": capture, "capture-many": capture_many}[sys.argv[1]](sys.argv[2:])
