#!/bin/bash
# SPDX-License-Identifier: MIT
# The layers below the CLI stay below it: each directory of src/ may include
# only its own headers and those of the layers under it, and no meson.build
# compiles another directory's sources. A directory not named below may use
# every layer but the tools'. Usage: layering.sh SRC_DIR
#
#   cli, daemon          (the tools)
#   tunnel  anyconnect   ESP-over-UDP data plane, AnyConnect client
#   config   ctl  common model + parser, control socket, privilege drop
#   lib engine codec     libtunroom (public headers: tunroom/)
set -euo pipefail
src=${1:?usage: layering.sh SRC_DIR}
fail=0

# allowed DIR: the include prefixes DIR's files may use.
allowed() {
	case $1 in
	lib|engine|codec) echo "tunroom lib engine codec" ;;
	config)           echo "tunroom config" ;;
	ctl)              echo "ctl" ;;
	common)           echo "tunroom common" ;;
	tunnel)           echo "tunroom lib engine codec config ctl common tunnel" ;;
	daemon)           echo "tunroom lib engine codec common daemon" ;;
	anyconnect)       echo "tunroom lib engine codec config ctl common tunnel anyconnect" ;;
	cli)              echo "tunroom config ctl common tunnel anyconnect cli" ;;
	# Any other directory (a new protocol's client, say) sits under the
	# CLI with the tunnel: everything but the tools.
	*)                echo "tunroom lib engine codec config ctl common tunnel $1" ;;
	esac
}

for dir in "$src"/*/; do
	layer=$(basename "$dir")
	ok=$(allowed "$layer")
	while IFS= read -r hit; do
		file=${hit%%:*}
		inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$hit")
		prefix=${inc%%/*}
		[ "$prefix" = "$inc" ] && continue # same-directory include
		if ! grep -qw -- "$prefix" <<<"$ok"; then
			echo "layering: ${file#"$src"/} includes \"$inc\": src/$layer may include only: $ok" >&2
			fail=1
		fi
	done < <(grep -H '^#include "' "$dir"*.[ch] 2>/dev/null || true)
	if grep -n "'\.\./" "$dir/meson.build" >/dev/null 2>&1; then
		echo "layering: src/$layer/meson.build compiles another directory's files:" \
			"$(grep -n "'\.\./" "$dir/meson.build" | head -3)" >&2
		fail=1
	fi
done
[ "$fail" -eq 0 ] && echo "layering: every include in $src follows the layers"
exit "$fail"
