#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds tunroom twice (plain, and ASan+UBSan), runs every registered test in
# both, and ends with one line: "N passed, M failed, K skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN=${ASAN:-build-asan}
status=0

setup() { # dir, extra meson args...
	local dir=$1; shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null || return 1
	ninja -C "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
}

run() { # dir, label, meson test args...
	local dir=$1 label=$2; shift 2
	echo "== $label tests ($dir)"
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "$@" || status=1
}

if setup "$BUILD"; then
	run "$BUILD" plain
else
	echo "check: build in $BUILD failed"; status=1
fi
# ASan and UBSan abort on the first error so that a finding fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if setup "$ASAN" -Db_sanitize=address,undefined -Db_lundef=false; then
	run "$ASAN" "ASan+UBSan" --no-suite bench
else
	echo "check: build in $ASAN failed"; status=1
fi

python3 scripts/test-summary.py "$BUILD" "$ASAN" || status=1
exit $status
