#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library never prints: an application owns its stderr. What the
# device decides on its own goes to tr_tundev_config.log (tunroom/tun.h).
# Fails on any stderr/stdout output call in the library's directories (lib, engine, codec).
# Usage: silent.sh SRC_DIR
set -euo pipefail
src=${1:?usage: silent.sh SRC_DIR}
hits=$(grep -nE '\b(stderr|stdout|perror|printf|puts|putchar|fputs)\b' \
	"$src"/lib/*.[ch] "$src"/engine/*.[ch] "$src"/codec/*.[ch] | grep -vE '\b(snprintf|vsnprintf)\(|format\(printf' |
	grep -vE '^\S+:[0-9]+:\s*(/\*|\*)' || true)
if [ -n "$hits" ]; then
	printf 'FAIL: the library prints (use the log callback or an error return):\n%s\n' "$hits"
	exit 1
fi
echo "ok: src/lib, src/engine and src/codec print nothing"
