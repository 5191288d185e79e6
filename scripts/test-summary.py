#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sums Meson's test logs of the given build dirs into one closing line.

A build dir with no log (its build failed) counts as one failure, so that a
broken build can never look like a clean run. An argument skip:NAME counts
one skipped test (a step the caller could not run, having said why); one
ending in .json is a log of its own (meson test --logbase), read the same."""
import json
import os
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    if d.startswith("skip:"):
        skipped += 1
        continue
    log = d if d.endswith(".json") else os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"no test log in {d}: counted as a failure")
        failed += 1
        continue
    with open(log) as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
