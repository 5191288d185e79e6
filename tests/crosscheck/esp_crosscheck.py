#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Cross-checks tunroom's ESP codec against a second ESP implementation
written here on Python's `cryptography` package: packets the codec sealed are
opened here, packets sealed here are opened by the codec (through esp_tool),
for AES-GCM (RFC 4106) and both AES-CBC + HMAC suites (RFC 3602, RFC 2404,
RFC 4868), with and without extended sequence numbers (RFC 4303 §2.2.1).

Usage: esp_crosscheck.py PATH/TO/esp_tool      (exit 77 = skipped)
"""
import os
import random
import struct
import subprocess
import sys

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as e:
    print(f"SKIP: python3-cryptography is not installed ({e}); apt-get install python3-cryptography")
    sys.exit(77)

EACCES, EALREADY, EBADMSG, ENOENT = 13, 114, 74, 2

# name: (AES key bytes, salt, HMAC key bytes, hash, ICV bytes)
SUITES = {
    "aes128-gcm": (16, 4, 0, None, 16),
    "aes256-gcm": (32, 4, 0, None, 16),
    "aes128-cbc-sha1": (16, 0, 20, hashes.SHA1, 12),
    "aes256-cbc-sha256": (32, 0, 32, hashes.SHA256, 16),
}

failures = 0


def fail(msg):
    global failures
    failures += 1
    if failures <= 20:
        print("FAIL:", msg)


class PySA:
    """One direction of an ESP SA, independent of the C code."""

    def __init__(self, suite, spi, key, akey, esn):
        self.klen, self.slen, self.alen, self.hash, self.icv = SUITES[suite]
        self.gcm = self.hash is None
        self.spi, self.esn = spi, esn
        self.key, self.akey = key[: self.klen], akey
        self.salt = key[self.klen :]
        self.ivlen = 8 if self.gcm else 16
        self.align = 4 if self.gcm else 16

    def _aad(self, seq):
        if self.esn:  # RFC 4106 §5: SPI, high half, low half
            return struct.pack(">III", self.spi, seq >> 32, seq & 0xFFFFFFFF)
        return struct.pack(">II", self.spi, seq & 0xFFFFFFFF)

    def _mac(self, data, seq):
        h = hmac.HMAC(self.akey, self.hash())
        h.update(data)
        if self.esn:  # RFC 4303 §2.2.1: high half appended, not sent
            h.update(struct.pack(">I", seq >> 32))
        return h.finalize()[: self.icv]

    def seal(self, inner, nh, seq, iv, extra_pad=0):
        pad = (self.align - (len(inner) + 2) % self.align) % self.align + extra_pad
        pt = inner + bytes(range(1, pad + 1)) + bytes([pad, nh])
        hdr = struct.pack(">II", self.spi, seq & 0xFFFFFFFF) + iv
        if self.gcm:
            return hdr + AESGCM(self.key).encrypt(self.salt + iv, pt, self._aad(seq))
        enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        body = hdr + enc.update(pt) + enc.finalize()
        return body + self._mac(body, seq)

    def open(self, pkt, seq):
        """Returns (nh, inner, iv) or raises ValueError saying why."""
        if len(pkt) < 8 + self.ivlen + 2 + self.icv:
            raise ValueError("short")
        spi, seq_lo = struct.unpack(">II", pkt[:8])
        if spi != self.spi or seq_lo != seq & 0xFFFFFFFF:
            raise ValueError(f"header spi {spi:#x} seq {seq_lo:#x}")
        iv = pkt[8 : 8 + self.ivlen]
        body = pkt[8 + self.ivlen :]
        if self.gcm:
            try:
                pt = AESGCM(self.key).decrypt(self.salt + iv, body, self._aad(seq))
            except InvalidTag:
                raise ValueError("tag")
        else:
            ct, icv = body[: -self.icv], body[-self.icv :]
            if self._mac(pkt[: -self.icv], seq) != icv:
                raise ValueError("icv")
            dec = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
            pt = dec.update(ct) + dec.finalize()
        pad, nh = pt[-2], pt[-1]
        if pad + 2 > len(pt) or pt[len(pt) - 2 - pad : -2] != bytes(range(1, pad + 1)):
            raise ValueError("padding")
        if len(pt) % self.align:
            raise ValueError("alignment")
        return nh, pt[: len(pt) - 2 - pad], iv


def inner_packet(size, v6, rnd):
    """An IPv4 or IPv6 packet of `size` bytes when a header fits; else bytes."""
    body = bytearray(rnd.randbytes(size))
    if not v6 and size >= 20:
        body[0], body[9] = 0x45, 17
        body[2:4] = struct.pack(">H", size)
        body[12:20] = bytes([198, 51, 100, 1, 198, 51, 100, 2])
    elif v6 and size >= 40:
        body[0], body[6] = 0x60, 17
        body[4:6] = struct.pack(">H", size - 40)
        body[8:40] = bytes([0xFD] + [0] * 14 + [1] + [0xFD] + [0] * 14 + [2])
    return bytes(body)


def run_tool(tool, mode, suite, spi, key, akey, esn, first, lines):
    args = [tool, mode, suite, hex(spi), key.hex(), akey.hex() or "-",
            "esn" if esn else "noesn", str(first)]
    out = subprocess.run(args, input="".join(l + "\n" for l in lines), capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"esp_tool failed ({out.returncode}): {out.stderr.strip()}")
    res = out.stdout.splitlines()
    if len(res) != len(lines):
        raise SystemExit(f"esp_tool answered {len(res)} lines for {len(lines)}")
    return res


def check_suite(tool, suite, esn, rnd):
    klen, slen, alen, _, _ = SUITES[suite]
    key, akey = rnd.randbytes(klen + slen), rnd.randbytes(alen)
    spi = rnd.randrange(0x100, 1 << 32)
    # With ESN start just below 2^32 so the high half is non-zero midway.
    first = (1 << 32) - 40 if esn else 1
    sizes = list(range(0, 48)) + [63, 64, 65, 127, 128, 129, 255, 256, 257, 576,
                                  1279, 1280, 1399, 1400, 1420, 1500, 8192, 9000]
    sizes += [rnd.randrange(0, 1500) for _ in range(40)]
    pkts = [(inner_packet(n, i % 2, rnd), 41 if i % 2 else 4) for i, n in enumerate(sizes)]
    py = PySA(suite, spi, key, akey, esn)

    # 1. the codec seals, we open
    res = run_tool(tool, "encap", suite, spi, key, akey, esn, first,
                   [f"{nh} {p.hex() or '-'}" for p, nh in pkts])
    ivs = set()
    for i, ((inner, nh), line) in enumerate(zip(pkts, res)):
        seq = first + i
        if not line.startswith("OK "):
            fail(f"{suite} esn={esn}: encap of {len(inner)} bytes: {line}")
            continue
        wire = bytes.fromhex(line[3:]) if line[3:] != "-" else b""
        try:
            got_nh, got, iv = py.open(wire, seq)
        except ValueError as e:
            fail(f"{suite} esn={esn}: our open of codec packet {i} ({len(inner)} B): {e}")
            continue
        if got != inner or got_nh != nh:
            fail(f"{suite} esn={esn}: packet {i} came back different")
        # GCM: a counter from a random per-SA base, one step per packet.
        if py.gcm:
            step = (struct.unpack(">Q", iv)[0] - seq) % (1 << 64)
            if i == 0:
                base = step
            elif step != base:
                fail(f"{suite}: GCM IV {iv.hex()} of sequence number {seq} is off the SA's counter")
        ivs.add(iv)
    if len(ivs) != len(pkts):
        fail(f"{suite} esn={esn}: IV repeated")

    # 2. we seal (random IVs, sometimes extra padding as RFC 4303 §2.4 allows),
    #    the codec opens; then replays and forgeries are refused
    lines, want = [], []
    for i, (inner, nh) in enumerate(pkts):
        extra = 0
        if i % 5 == 0:
            room = 255 - ((py.align - (len(inner) + 2) % py.align) % py.align)
            extra = rnd.randrange(0, room // py.align + 1) * py.align
        wire = py.seal(inner, nh, first + i, rnd.randbytes(py.ivlen), extra)
        lines.append(wire.hex())
        want.append(f"OK {nh} {inner.hex() or '-'}")
    replay = lines[len(lines) // 2]
    bad = bytearray(py.seal(b"\x60" + bytes(39), 41, first + len(lines) + 4, rnd.randbytes(py.ivlen)))
    bad[-1] ^= 0x01  # last ICV bit
    forged = PySA(suite, spi, rnd.randbytes(klen + slen), rnd.randbytes(alen), esn)
    wrong_key = forged.seal(b"\x45" + bytes(39), 4, first + len(lines) + 5, rnd.randbytes(py.ivlen))
    other_spi = PySA(suite, spi ^ 1, key, akey, esn).seal(b"", 59, first + len(lines) + 6,
                                                         rnd.randbytes(py.ivlen))
    lines += [replay, bad.hex(), wrong_key.hex(), other_spi.hex(), "00" * 7]
    want += [f"ERR -{EALREADY}", f"ERR -{EACCES}", f"ERR -{EACCES}", f"ERR -{ENOENT}",
             f"ERR -{EBADMSG}"]
    res = run_tool(tool, "decap", suite, spi, key, akey, esn, first, lines)
    for i, (got, exp) in enumerate(zip(res, want)):
        if got != exp:
            fail(f"{suite} esn={esn}: codec open of our packet {i}: got {got[:60]!r} want {exp[:60]!r}")
    return len(pkts)


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("usage: esp_crosscheck.py PATH/TO/esp_tool", file=sys.stderr)
        return 2
    rnd = random.Random(4303)  # deterministic: a failure reproduces
    n = 0
    for suite in SUITES:
        for esn in (False, True):
            n += check_suite(sys.argv[1], suite, esn, rnd)
    print(f"{n} packets each way over {len(SUITES)} suites x ESN on/off; {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
