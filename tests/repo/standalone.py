#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The repository stands alone (issue 14, item 11).

1. Every document a source file, script or page names (WORD.md, or a
   relative link in Markdown) exists in the repository: a comment that
   cites a brief nobody can open is a rule nobody can check.
2. Every "ring-abi.md rule N" a file cites is a numbered rule in the Rules
   section of docs/ring-abi.md.
3. Nothing points at a path outside the tree of a session machine (/work/).

usage: standalone.py SOURCE_ROOT
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)) + "/../.."
root = os.path.abspath(root)
SKIP_DIRS = {".git", "corpus", "results"}
EXTS = (".c", ".h", ".md", ".sh", ".py", ".build", ".txt", ".map", ".5", ".8", ".in", "Makefile")

files = []
for d, dirs, names in os.walk(root):
    dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")]
    for n in names:
        if n.endswith(EXTS):
            files.append(os.path.join(d, n))

md_in_repo = {os.path.basename(f) for f in files if f.endswith(".md")}
rules_text = open(os.path.join(root, "docs", "ring-abi.md"), encoding="utf-8").read()
m = re.search(r"^## Rules\n(.*?)^## ", rules_text, re.S | re.M)
rules = set(int(x) for x in re.findall(r"^(\d+)\. \*\*", m.group(1), re.M)) if m else set()

bad = []
for f in files:
    rel = os.path.relpath(f, root)
    if rel == "tests/repo/standalone.py":
        continue
    text = open(f, encoding="utf-8", errors="replace").read()
    for ln, line in enumerate(text.splitlines(), 1):
        for doc in re.findall(r"\b([A-Za-z][\w-]*\.md)\b", line):
            if doc not in md_in_repo:
                bad.append(f"{rel}:{ln}: names {doc}, which is not in the repository")
        for doc in re.findall(r"\b([A-Z]{3,})(?:\.md)? §", line):
            if doc != "RFC" and doc + ".md" not in md_in_repo:
                bad.append(f"{rel}:{ln}: cites {doc} §..., a document not in the repository")
        if "/work/" in line:
            bad.append(f"{rel}:{ln}: points outside the repository: {line.strip()}")
        for doc, nums in re.findall(r"([\w/-]*ring-abi\.md) rules? ([\d, and-]+)", line):
            for a, b in re.findall(r"(\d+)(?:-(\d+))?", nums):
                for n in range(int(a), int(b or a) + 1):
                    if n not in rules:
                        bad.append(f"{rel}:{ln}: cites ring-abi.md rule {n}, not in its Rules section")
        if rel.endswith(".md"):
            for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", line):
                if not os.path.exists(os.path.join(os.path.dirname(f), target)):
                    bad.append(f"{rel}:{ln}: links to {target}, which does not exist")

if not rules:
    bad.append("docs/ring-abi.md: no numbered rules under '## Rules'")
for b in bad:
    print(b)
print(f"{len(files)} files checked, {len(rules)} rules in docs/ring-abi.md, {len(bad)} problems")
sys.exit(1 if bad else 0)
