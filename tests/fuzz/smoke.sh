#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A few seconds of libFuzzer on one target (suite fuzz-smoke of the clang
# build that scripts/check.sh makes): the seed corpus first, then mutations.
# New inputs go to a scratch directory, never into the source corpus; a crash
# input is kept as build-fuzz/fuzz_<target>-crash-* for `make fuzz` to replay.
# usage: smoke.sh FUZZER CORPUS_DIR [--expect-crash]
#   --expect-crash: the negative control; pass only if libFuzzer stopped on a
#   sanitizer report and wrote the crashing input, so a smoke run that cannot
#   see crashes fails instead of passing quietly.
set -uo pipefail
exe=$1 corpus=$2 expect=${3:-}
secs=${FUZZ_SMOKE_TIME:-3}
name=$(basename "$exe")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out_dir=$(dirname "$exe")/../..
artifacts=$work/artifacts
mkdir -p "$work/new" "$artifacts"
"$exe" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" "$work/new" "$corpus" >"$work/log" 2>&1
rc=$?
crash=$(find "$artifacts" -type f | head -n 1)
if [ -n "$expect" ]; then
	if [ "$rc" -ne 0 ] && [ -n "$crash" ] && grep -q 'ERROR: AddressSanitizer' "$work/log"; then
		echo "PASS: $name crashed as it must (exit $rc, $(grep -m1 'ERROR: AddressSanitizer' "$work/log" | cut -c1-80))"
		exit 0
	fi
	tail -n 20 "$work/log"
	echo "FAIL: $name should have crashed (exit $rc, crash file: ${crash:-none})"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$work/log"
	if [ -n "$crash" ]; then
		keep="$out_dir/$name-$(basename "$crash")"
		cp "$crash" "$keep"
		echo "FAIL: $name: crash input kept as $(readlink -f "$keep"); replay: $(readlink -f "$exe") $(readlink -f "$keep")"
	else
		echo "FAIL: $name exited with $rc"
	fi
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
echo "PASS: $name: ${runs:-?} inputs in ${secs}s, no finding"
