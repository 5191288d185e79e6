#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the fuzz targets with clang + libFuzzer + ASan/UBSan in $FUZZ_BUILD
# and runs each for $FUZZ_TIME seconds over tests/fuzz/corpus/<target>/ (new
# inputs go to a scratch copy; add the interesting ones to the corpus by hand).
# Usage: scripts/fuzz.sh [target...]   (default: every target built)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
	CC=clang meson setup "$FUZZ_BUILD" -Dfuzzing_engine=libfuzzer \
		-Db_sanitize=address,undefined -Db_lundef=false -Dtools=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$FUZZ_BUILD" >/dev/null
targets=("$@")
# Targets live in tests/fuzz/; fuzz_selftest is the smoke run's planted
# crash, not a target.
exe_of() {
	[ -x "$FUZZ_BUILD/tests/fuzz/fuzz_$1" ] && { echo "$FUZZ_BUILD/tests/fuzz/fuzz_$1"; return; }
	echo "fuzz.sh: no fuzz_$1 in $FUZZ_BUILD" >&2
	return 1
}
if [ ${#targets[@]} -eq 0 ]; then
	for exe in "$FUZZ_BUILD"/tests/fuzz/fuzz_*; do
		[ -f "$exe" ] && [ -x "$exe" ] && [ "${exe##*/}" != fuzz_selftest ] &&
			targets+=("${exe##*/fuzz_}")
	done
fi
status=0
for t in "${targets[@]}"; do
	exe=$(exe_of "$t") || { status=1; continue; }
	work=$(mktemp -d)
	cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	echo "== fuzz_$t for ${FUZZ_TIME}s"
	"$exe" -max_total_time="$FUZZ_TIME" -max_len=4096 \
		-artifact_prefix="$FUZZ_BUILD/fuzz_$t-" "$work" 2>&1 | tail -n 3 || status=1
	rm -rf "$work"
done
exit $status
