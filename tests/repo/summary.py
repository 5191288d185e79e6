#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/test-summary.py, the end of make check: one line per skipped test
with the reason it printed, then the closing line in its fixed format; a
build without a log is a failure. Usage: summary.py SOURCE_ROOT"""
import json
import os
import subprocess
import sys
import tempfile

root = sys.argv[1]
script = os.path.join(root, "scripts", "test-summary.py")


def log(path, *results):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


def summary(*args):
    p = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    return p.returncode, p.stdout.splitlines()


with tempfile.TemporaryDirectory() as t:
    os.chdir(t)
    log("build/meson-logs/testlog.json",
        {"name": "cli", "result": "OK", "stdout": "ok\n"},
        {"name": "tunroom:netns / tunnel-cli", "result": "SKIP", "stdout": "[+] n1: ip link\n",
         "stderr": "SKIP: needs root for network namespaces\n"},
        {"name": "quiet", "result": "SKIP", "stdout": ""})
    log("build-asan/meson-logs/testlog.json",
        {"name": "tunnel-zerocopy", "result": "SKIP",
         "stdout": "SKIP: sanitizer build: the LD_PRELOAD shim cannot sit in front\n"},
        {"name": "unit", "result": "FAIL", "stdout": ""})
    log("build-tsan/meson-logs/tsan-workers2.json",
        {"name": "tunnel-order", "result": "SKIP", "stdo": "SKIP: no TUN device\n"})
    rc, out = summary("build", "build-asan", "build-tsan/meson-logs/tsan-workers2.json",
                      "skip:fuzz-smoke:clang not found")
    want = [
        "skipped: tunroom:netns / tunnel-cli (build): needs root for network namespaces",
        "skipped: quiet (build): (it printed no reason)",
        "skipped: tunnel-zerocopy (build-asan): sanitizer build: the LD_PRELOAD shim cannot sit in front",
        "skipped: tunnel-order (build-tsan, tsan-workers2): no TUN device",
        "skipped: fuzz-smoke: clang not found",
        "1 passed, 1 failed, 5 skipped",
    ]
    assert out == want, "\n".join(out)
    assert rc == 1, rc
    # Nothing skipped: the closing line alone; a build without a log fails.
    rc, out = summary("build-none")
    assert out == ["no test log in build-none: counted as a failure",
                   "0 passed, 1 failed, 0 skipped"], out
    assert rc == 1, rc
    log("clean/meson-logs/testlog.json", {"name": "a", "result": "OK"})
    rc, out = summary("clean")
    assert (rc, out) == (0, ["1 passed, 0 failed, 0 skipped"]), (rc, out)
print("ok: skipped tests named with their reasons, closing line unchanged")
