#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shared library exports exactly the public API (issue 14, item 7).

Three lists must agree: the functions the public headers declare
(include/tunroom/*.h), the names the version script lists
(src/lib/libtunroom.map, explicit: no wildcard), and the dynamic symbols
libtunroom.so defines. A function declared but not exported fails to link
in an application; one exported but declared nowhere is ABI by accident.

usage: exports.py SOURCE_ROOT LIBTUNROOM_SO
"""
import os
import re
import subprocess
import sys

root, so = sys.argv[1], sys.argv[2]
inc = os.path.join(root, "include", "tunroom")
declared = set()
for h in sorted(os.listdir(inc)):
    if not h.endswith(".h"):
        continue
    text = open(os.path.join(inc, h), encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    # Prototypes: what stands between two of ';', '{', '}' and reads
    # "type name(params)" -- not static inline helpers (their body follows
    # a '{' too, but they say static), not function pointers in structs.
    for chunk in re.split(r"[;{}]", text):
        m = re.fullmatch(r"\s*([A-Za-z_][\w\s\*]*?)\b((?:tr|Wintun)\w*)\s*\((.*)\)\s*", chunk, re.S)
        if m and "static" not in m.group(1) and "typedef" not in m.group(1):
            declared.add(m.group(2))

mp = open(os.path.join(root, "src", "lib", "libtunroom.map"), encoding="utf-8").read()
glob = re.search(r"global:(.*?)local:", mp, re.S).group(1)
mapped = set(re.findall(r"([\w*]+)\s*;", glob))

out = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True, check=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "TtWiu":
        exported.add(parts[2].split("@")[0])

bad = []
bad += [f"wildcard in libtunroom.map: {n}" for n in sorted(mapped) if "*" in n]
bad += [f"declared in a public header, not in libtunroom.map: {n}" for n in sorted(declared - mapped)]
bad += [f"in libtunroom.map, declared in no public header: {n}" for n in sorted(mapped - declared)]
bad += [f"declared, not exported by {os.path.basename(so)}: {n}" for n in sorted(declared - exported)]
bad += [f"exported, declared in no public header: {n}" for n in sorted(exported - declared)]
for b in bad:
    print(b)
print(f"{len(declared)} declared, {len(mapped)} in the map, {len(exported)} exported; {len(bad)} problems")
sys.exit(1 if bad else 0)
