#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every atomic of libtunroom, tunroomd and the AnyConnect client goes through src/lib/barrier.h
# (tr_load_once, tr_store_release, tr_stat_add, ...): one place that says
# what each ordering is for, and that ThreadSanitizer and review can trust.
# Fails on a raw __atomic_* or __sync_* builtin anywhere else in those
# directories. Usage: atomics.sh SRC_DIR
set -euo pipefail
src=${1:?usage: atomics.sh SRC_DIR}
hits=$(grep -nE '__(atomic|sync)_[a-z_]+' "$src"/lib/*.[ch] "$src"/engine/*.[ch] \
	"$src"/codec/*.[ch] "$src"/daemon/*.[ch] "$src"/anyconnect/*.[ch] | grep -v "^$src/lib/barrier.h:" || true)
if [ -n "$hits" ]; then
	printf 'FAIL: raw atomics outside src/lib/barrier.h (use its helpers):\n%s\n' "$hits"
	exit 1
fi
echo "ok: every atomic of lib, engine, codec, daemon and anyconnect goes through barrier.h"
