# SPDX-License-Identifier: MIT
# Helpers for the namespace tests (tests/netns/*.sh), sourced, not run.
#
#   ns_add N        creates namespace tr-$$-N with lo up; only these are removed
#   n1 CMD...       runs CMD in namespace 1 (n2, n3 likewise), echoing it first
#   bg N CMD...     starts CMD in namespace N in the background; cleanup kills it
#   wait_for T CMD  polls CMD until it succeeds or T seconds pass (no fixed sleeps)
#   on_exit CMD...  runs CMD in cleanup (temporary files), before namespaces go
#   require_root    exits 77 (skipped) with the reason when we cannot create
#                   namespaces; require_tun likewise for /dev/net/tun
#
# Every test does:  source lib.sh; require_root; trap cleanup EXIT
# Addresses: 192.0.2.0/24, 198.51.100.0/24, 198.18.0.0/15, fd00::/8 only.

set -euo pipefail
export LC_ALL=C

TR_NS_PREFIX="tr-$$"
TR_NS=()   # namespaces this test created
TR_PIDS=() # processes this test started
TR_ON_EXIT=() # commands for cleanup, one string each

# bash runs no EXIT trap when a signal kills it: a test that meson times out
# (SIGTERM) or a person interrupts would leave its namespaces behind. A
# trapped signal becomes an exit, and the exit runs the test's cleanup.
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

pretty() { printf '[+] %s\n' "$*" >&2; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces (run: sudo make check)"
	command -v ip >/dev/null || skip "ip(8) not found (apt-get install iproute2)"
	# Root in a container may still lack CAP_SYS_ADMIN for namespaces.
	local probe="$TR_NS_PREFIX-probe"
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here (no CAP_SYS_ADMIN?)"
	ip netns del "$probe"
}

require_tun() {
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing (modprobe tun)"
}

ns_name() { printf '%s-%s' "$TR_NS_PREFIX" "$1"; }

ns_add() {
	local ns
	ns=$(ns_name "$1")
	pretty "ip netns add $ns"
	ip netns add "$ns"
	TR_NS+=("$ns")
	ip -n "$ns" link set lo up
}

nsexec() {
	local ns
	ns=$(ns_name "$1"); shift
	pretty "n${ns##*-}: $*"
	ip netns exec "$ns" "$@"
}
n1() { nsexec 1 "$@"; }
n2() { nsexec 2 "$@"; }
n3() { nsexec 3 "$@"; }

bg() {
	local ns
	ns=$(ns_name "$1"); shift
	pretty "n${ns##*-} (background): $*"
	ip netns exec "$ns" "$@" &
	TR_PIDS+=("$!")
}

# wait_for TIMEOUT_SECONDS CMD...: 0 once CMD succeeds, 1 after the timeout.
wait_for() {
	local timeout=$1; shift
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

on_exit() { TR_ON_EXIT+=("$(printf '%q ' "$@")"); }

cleanup() {
	local rc=$?
	set +e
	for pid in "${TR_PIDS[@]}"; do
		# CONT: a process a test stopped (SIGSTOP) takes the TERM only then.
		kill "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	for cmd in "${TR_ON_EXIT[@]}"; do
		eval "$cmd"
	done
	# Deleting a namespace takes its devices (our TUN devices too) with it.
	for ns in "${TR_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	exit "$rc"
}
