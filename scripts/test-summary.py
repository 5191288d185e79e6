#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sums Meson's test logs of the given build dirs into one closing line,
"N passed, M failed, K skipped", after one line per skipped test with the
reason it gave, so that a skip is never only a number.

A build dir with no log (its build failed) counts as one failure, so that a
broken build can never look like a clean run. An argument skip:NAME[:REASON]
counts one skipped test (a step the caller could not run, having said why);
one ending in .json is a log of its own (meson test --logbase), read the same."""
import json
import os
import re
import sys

# What the tests print when they skip: lib.sh's skip() "SKIP: reason",
# "name: SKIP: reason" (scripts/bench-*.py), a cmocka-free C test's own.
SKIP_RE = re.compile(r"\bSKIP(?:PED)?\b[:\s]*(.*)", re.IGNORECASE)


def skip_reason(r):
    """The reason a skipped test printed: its last SKIP line, else its last
    line of output, else a note that it gave none."""
    # Meson before 0.60 named them stdo and stde.
    out = "\n".join(r.get(k) or "" for k in ("stdout", "stdo", "stderr", "stde"))
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    for line in reversed(lines):
        m = SKIP_RE.search(line)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return lines[-1] if lines else "(it printed no reason)"


def where(d):
    """The run a log belongs to: its build dir; for a log of its own
    (BUILD/meson-logs/NAME.json), "BUILD, NAME"."""
    if d.endswith(".json"):
        build = os.path.dirname(os.path.dirname(os.path.normpath(d))) or "."
        return f"{build}, {os.path.splitext(os.path.basename(d))[0]}"
    return os.path.normpath(d)


def main(args):
    passed = failed = skipped = 0
    skips = []
    for d in args:
        if d.startswith("skip:"):
            name, _, reason = d[5:].partition(":")
            skipped += 1
            skips.append(f"skipped: {name}: {reason or '(see above)'}")
            continue
        log = d if d.endswith(".json") else os.path.join(d, "meson-logs", "testlog.json")
        if not os.path.exists(log):
            print(f"no test log in {d}: counted as a failure")
            failed += 1
            continue
        with open(log) as f:
            for line in f:
                r = json.loads(line)
                if r["result"] in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r["result"] == "SKIP":
                    skipped += 1
                    skips.append(f"skipped: {r['name']} ({where(d)}): {skip_reason(r)}")
                else:
                    failed += 1
    for s in skips:
        print(s)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
