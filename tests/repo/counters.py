#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every counter `tunroom show` prints, and every field of the library's
statistics structs, is documented in docs/counters.md (issue 14, item 5).
Usage: counters.py SOURCE_ROOT"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
doc = (root / "docs/counters.md").read_text()
documented = set(re.findall(r"`([a-z][a-z0-9_]*)`", doc))

# Non-counter values the tunnel reports next to its counters.
not_counters = {"mtu", "pid", "uptime", "replay_window", "head_room", "tail_room"}
names = {}
# What the tunnel reports is put in src/tunnel/status.c (any file there counts).
for path in sorted((root / "src/tunnel").glob("*.c")):
    for key in re.findall(r'tr_ctl_put_u64\(r, "([a-z0-9_]+)"', path.read_text()):
        if key not in not_counters:
            names[key] = f"src/tunnel/{path.name} (tunroom show)"

# tunroom connect: the control plane's own counters (the data plane's are
# below, by tr_ac_dp_stats_each).
acs = (root / "src/anyconnect/session.c").read_text()
for key in re.findall(r'tr_ctl_put_u64\(r, "([a-z0-9_]+)"', acs):
    if key not in not_counters | {"dpd", "dtls_dpd", "keepalive", "dtls_mtu"}:
        names[key] = "src/anyconnect/session.c (tunroom show)"


def fields(path, struct):
    text = (root / path).read_text()
    m = re.search(r"struct %s \{(.*?)\n\};" % struct, text, re.S)
    if not m:
        sys.exit(f"counters.py: struct {struct} not found in {path}")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    body = re.sub(r"struct \w+ \w+;", "", body)  # nested structs: documented by their fields
    out = []
    for decl in re.findall(r"uint64_t ([^;]+);", body):
        out += [n.strip() for n in decl.split(",")]
    return out


for path, struct in [("include/tunroom/tunroom.h", "tr_stats"),
                     ("include/tunroom/port.h", "tr_port_stats"),
                     ("include/tunroom/tun.h", "tr_tundev_stats")]:
    for f in fields(path, struct):
        names.setdefault(f, f"{path} struct {struct}")

# The AnyConnect data plane's counters, as tr_ac_dp_stats_each names them
# (src/anyconnect/dp.c): cstp_/dtls_ + channel field, ac_ + own field.
ac = "src/anyconnect/dataplane.h"
for f in fields(ac, "tr_ac_chan_stats"):
    for pre in ("cstp_", "dtls_"):
        names.setdefault(pre + f, f"{ac} struct tr_ac_chan_stats")
for f in fields(ac, "tr_ac_dp_stats"):
    names.setdefault("ac_" + f, f"{ac} struct tr_ac_dp_stats")

missing = sorted(n for n in names if n not in documented)
for n in missing:
    print(f"FAIL: counter {n} ({names[n]}) is not documented in docs/counters.md")
if not names:
    sys.exit("counters.py: found no counters at all (parser broken?)")
print(f"{len(names)} counters, {len(missing)} undocumented")
sys.exit(1 if missing else 0)
