#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tunroom's command line without root: help texts, genkey -> up --check round
# trip, config errors naming FILE:LINE, file modes, and show/down against a
# fake tunnel's control socket. Usage: cli.sh TUNROOM FAKE_TUNNEL MANPAGE
set -uo pipefail
TUNROOM=$1 FAKE=$2 MANPAGE=$3
tmp=$(mktemp -d /tmp/tr-cli-XXXXXX)
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export TUNROOM_RUN_DIR=$tmp/run
umask 077
fails=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# expect CODE PATTERN CMD...: exit code and a grep -E pattern over stdout+stderr
expect() {
	local code=$1 pat=$2; shift 2
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -ne "$code" ]; then bad "$* -> exit $rc, want $code: $out"; return; fi
	if ! grep -qE -- "$pat" <<<"$out"; then bad "$* -> '$out' lacks /$pat/"; return; fi
	ok "$*"
}

expect 0 'genkey +Print fresh' "$TUNROOM" --help
expect 0 '^tunroom [0-9]+\.[0-9]+' "$TUNROOM" --version
expect 2 "unknown command 'frob'" "$TUNROOM" frob
for c in up show down genkey; do
	expect 0 "Usage: tunroom $c" "$TUNROOM" "$c" --help
done
# tunroom connect: usage errors are exit 2, before any network or privilege.
expect 0 'Usage: tunroom connect \[OPTIONS\] https://SERVER' "$TUNROOM" connect --help
expect 2 'which server\?' "$TUNROOM" connect
expect 2 "'http://x' is not https://SERVER" "$TUNROOM" connect http://x
expect 2 "'https://x:99999' is not https://SERVER" "$TUNROOM" connect https://x:99999
expect 2 'one server only' "$TUNROOM" connect https://a https://b
expect 2 '--servercert takes pin-sha256:BASE64' "$TUNROOM" connect --servercert sha1:ab https://x
expect 2 '--pid-file goes with -b' "$TUNROOM" connect --pid-file p https://x
expect 2 '^tunroom connect: --pid-file: --authenticate runs no session' \
	"$TUNROOM" connect -b --pid-file p --authenticate https://x
expect 2 "option '--frob' is unknown" "$TUNROOM" connect --frob https://x
# --crypto takes up's Crypto = words; anything else is refused before any network.
expect 2 '^tunroom connect: --crypto aes: use auto or openssl$' "$TUNROOM" connect --crypto aes https://x
expect 2 "option '--crypto' is unknown or needs a value" "$TUNROOM" connect --crypto
expect 2 '-i a/b: not a device name' "$TUNROOM" connect -i a/b https://x
expect 2 '-i abcdefghijklmnop: not a device name' "$TUNROOM" connect -i abcdefghijklmnop https://x
expect 2 '--script /nonexistent: No such file' "$TUNROOM" connect -s /nonexistent https://x
expect 2 '--passwd-on-stdin: no line on stdin' "$TUNROOM" connect --passwd-on-stdin -s '' \
	https://x </dev/null
# A closed port: one line, exit 1 (the pin skips nothing: no TLS comes).
# --authenticate makes no device, so it needs no root.
expect 1 '^tunroom connect: 127\.0\.0\.1:9: connection refused' "$TUNROOM" connect -s '' -u u \
	--authenticate --servercert "pin-sha256:$(printf '%044d' 0 | tr 0 A)" https://127.0.0.1:9
# Both --crypto words are taken: the same refusal, not a usage error.
for w in auto openssl; do
	expect 1 '^tunroom connect: 127\.0\.0\.1:9: connection refused' "$TUNROOM" connect -s '' -u u \
		--crypto $w --authenticate https://127.0.0.1:9
done
# Without CAP_NET_ADMIN: refused before any network (root drops it for this).
nocap=()
[ "$(id -u)" -eq 0 ] && nocap=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin)
expect 1 '^tunroom connect: creating the TUN device needs root or CAP_NET_ADMIN' \
	"${nocap[@]}" "$TUNROOM" connect -s '' https://127.0.0.1:9
expect 2 'Usage: tunroom up FILE' "$TUNROOM" up
expect 2 'Usage: tunroom down NAME' "$TUNROOM" down
expect 2 "unknown cipher 'rot13'; use one of aes128-gcm" "$TUNROOM" genkey rot13
expect 2 "'\.\./x' is not a tunnel name" "$TUNROOM" down ../x

# genkey output is a valid [SA], for every cipher; the peer's is its mirror.
iface() {
	printf '[Interface]\nName = tr0\nAddress = 198.18.0.1/30\nListenPort = 4500\n'
	printf '[SA]\nEndpoint = 192.0.2.2:4500\n'
}
for c in aes128-gcm aes256-gcm aes128-cbc-sha1 aes256-cbc-sha256; do
	{ iface; "$TUNROOM" genkey "$c"; } >"$tmp/$c.conf"
	expect 0 "tr0: esp $c mtu [0-9]+ \(derived\)" "$TUNROOM" up --check "$tmp/$c.conf"
	sed -e 's/^Out/X/; s/^In/Out/; s/^X/In/' "$tmp/$c.conf" >"$tmp/$c.peer.conf"
	expect 0 "tr0: esp $c" "$TUNROOM" up -n "$tmp/$c.peer.conf"
	# What would seal, and the thread layout: AES-GCM by ipsec-mb or OpenSSL.
	case $c in
	*-gcm) expect 0 '^    crypto (ipsec-mb avx(512|2)|openssl) inline on workers 1 io auto checksums partial$' \
		"$TUNROOM" up -n "$tmp/$c.conf" ;;
	*) expect 0 '^    crypto openssl cbc\+hmac inline on' "$TUNROOM" up -n "$tmp/$c.conf" ;;
	esac
done
{ iface; "$TUNROOM" genkey aes128-gcm; } | sed '/^\[Interface\]/a Crypto = openssl\nWorkers = 2' >"$tmp/openssl.conf"
expect 0 '^    crypto openssl inline on workers 2 ' "$TUNROOM" up -n "$tmp/openssl.conf"
if diff -q <("$TUNROOM" genkey aes128-gcm) <("$TUNROOM" genkey aes128-gcm) >/dev/null; then
	bad "genkey printed the same keys twice"
else
	ok "genkey keys are fresh"
fi
touch "$tmp/open.keys"; chmod 644 "$tmp/open.keys"
expect 0 'warning: writing keys to a file accessible' sh -c "'$TUNROOM' genkey aes128-gcm >'$tmp/open.keys'"

# Config errors: exit 2, "tunroom up: FILE:LINE: ..." naming the key.
conf=$tmp/aes128-gcm.conf
# $rconf listens on an address no host has: every `up` below that must be
# refused runs it, so that should a refusal regress, the setup fails too and
# no tunnel comes up in this (the host's) namespace.
rconf=$tmp/refuse.conf
sed 's/^\[Interface\]$/[Interface]\nListenAddress = 192.0.2.1/' "$conf" >"$rconf"
chmod 600 "$rconf"
check_err() { # line-to-append message-pattern
	{ cat "$conf"; echo "$1"; } >"$tmp/err.conf"
	local n; n=$(wc -l <"$tmp/err.conf")
	expect 2 "^tunroom up: $tmp/err.conf:$n: $2" "$TUNROOM" up -n "$tmp/err.conf"
}
check_err 'Lead = 24' "unknown key 'Lead' in \[SA\]"
check_err 'ReplayWindow = 7' "'ReplayWindow' must be 32 to 65536"
check_err 'Name = tr1' "'Name' belongs in \[Interface\]"
check_err 'OutSPI = 17' "'OutSPI' is set twice"
check_err '[Peer]' 'unknown section \[Peer\]'
sed 's/^Endpoint = .*/Endpoint = 192.0.2.2/' "$conf" >"$tmp/err.conf"
expect 2 "err.conf:6: 'Endpoint' must be ADDRESS:PORT" "$TUNROOM" up -n "$tmp/err.conf"
# Routes: -n says where they go, and the default route's policy table.
{ cat "$conf"; echo 'Routes = 0.0.0.0/0, 203.0.113.0/24'; } >"$tmp/routes.conf"
expect 0 '^    routes 0\.0\.0\.0/0, 203\.0\.113\.0/24 \(table main; the default route in table 4500 by policy rules, the tunnel.s datagrams marked 4500\)$' \
	"$TUNROOM" up -n "$tmp/routes.conf"
expect 0 '^tr0: esp aes128-gcm mtu [0-9]+ \(derived\) queues 1 offload on$' "$TUNROOM" up -n "$tmp/routes.conf"
# User: looked up at check time; no such user, or root, is refused there.
with_user() { sed "s/^\[Interface\]\$/[Interface]\nUser = $1/" "$rconf" >"$tmp/user.conf"; chmod 600 "$tmp/user.conf"; }
with_user nobody
expect 0 '^    user nobody \(uid [0-9]+ gid [0-9]+\) after setup$' "$TUNROOM" up -n "$tmp/user.conf"
expect 0 '^    user root after setup, without capabilities' "$TUNROOM" up -n "$conf"
with_user tr-no-such-user-$$
expect 2 "^tunroom up: $tmp/user.conf:2: User = tr-no-such-user-$$: no such user on this system" \
	"$TUNROOM" up -n "$tmp/user.conf"
expect 2 "User = tr-no-such-user-$$: no such user" "$TUNROOM" up "$tmp/user.conf"
with_user root
expect 2 'User = root is root \(uid 0\), which drops nothing' "$TUNROOM" up -n "$tmp/user.conf"
chmod 644 "$rconf"
expect 2 "accessible by group or others \(mode 0644\).*chmod 600 $rconf" "$TUNROOM" up "$rconf"
chmod 600 "$rconf"
expect 2 'No such file' "$TUNROOM" up -n "$tmp/missing.conf"
# --pid-file: checked before any setup (so without root too), exit 1 with
# the file's name; never over a running process's pid, nor through a link.
expect 2 '^tunroom up: --pid-file goes with -d' "$TUNROOM" up --pid-file "$tmp/p" "$rconf"
expect 2 '^tunroom up: --pid-file needs a file name' "$TUNROOM" up -d "$rconf" --pid-file
# --NAME=VALUE, as connect takes it, is the same option
expect 2 '^tunroom up: --pid-file goes with -d' "$TUNROOM" up --pid-file="$tmp/p" "$rconf"
expect 2 '^tunroom up: --log goes with -d' "$TUNROOM" up --log="$tmp/l" "$rconf"
expect 2 "^tunroom up: unknown option '--log='" "$TUNROOM" up -d --log= "$rconf"
expect 1 "^tunroom up: --pid-file $tmp/nodir/p: No such file or directory\$" \
	"$TUNROOM" up -d --pid-file "$tmp/nodir/p" "$rconf"
echo $$ >"$tmp/live.pid"
expect 1 "^tunroom up: --pid-file $tmp/live.pid: process $$, which is still running, is in it" \
	"$TUNROOM" up -d --pid-file "$tmp/live.pid" "$rconf"
[ "$(cat "$tmp/live.pid")" = $$ ] && ok "a running process's pid file kept" || bad "live.pid changed"
# A file another tunroom holds locked (one still starting: no pid in it
# yet) is refused too; the lock, not the pid, says so.
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(20)' \
	"$tmp/locked.pid" "$tmp/locked.ready" &
locker=$!
for _ in $(seq 100); do [ -e "$tmp/locked.ready" ] && break; sleep 0.05; done
expect 1 "^tunroom up: --pid-file $tmp/locked.pid: another tunroom holds it and is still starting" \
	"$TUNROOM" up -d --pid-file "$tmp/locked.pid" "$rconf"
kill "$locker"; wait "$locker" 2>/dev/null
[ ! -s "$tmp/locked.pid" ] && ok "a locked pid file kept" || bad "locked.pid written"
# Checked before -l LOG is made; a LOG that cannot be made leaves no pid file.
expect 1 "^tunroom up: --pid-file $tmp/live.pid: process $$" \
	"$TUNROOM" up -d -l "$tmp/new.log" --pid-file "$tmp/live.pid" "$rconf"
[ ! -e "$tmp/new.log" ] && ok "no LOG made for a refused pid file" || bad "new.log made"
expect 1 "^tunroom up: --log $tmp/nodir/log: No such file or directory\$" \
	"$TUNROOM" up -d -l "$tmp/nodir/log" --pid-file "$tmp/made.pid" "$rconf"
[ ! -e "$tmp/made.pid" ] && ok "no pid file left by a failed --log" || bad "made.pid left"
ln -s "$tmp/live.pid" "$tmp/link.pid"
expect 1 "^tunroom up: --pid-file $tmp/link.pid: a symbolic link; not writing through it\$" \
	"$TUNROOM" up -d --pid-file "$tmp/link.pid" "$rconf"
expect 1 "^tunroom up: --pid-file $tmp: Is a directory\$" \
	"$TUNROOM" up -d --pid-file "$tmp" "$rconf"
expect 1 "^tunroom up: --pid-file : No such file or directory\$" \
	"$TUNROOM" up -d --pid-file '' "$rconf"
# Nor a FIFO or device (looked at, not opened), nor a second name of a file.
mkfifo "$tmp/fifo.pid"
expect 1 "^tunroom up: --pid-file $tmp/fifo.pid: not a regular file\$" \
	"$TUNROOM" up -d --pid-file "$tmp/fifo.pid" "$rconf"
echo keep >"$tmp/other"
ln "$tmp/other" "$tmp/hard.pid"
expect 1 "^tunroom up: --pid-file $tmp/hard.pid: the file has other hard links; not writing to it\$" \
	"$TUNROOM" up -d --pid-file "$tmp/hard.pid" "$rconf"
[ "$(cat "$tmp/other")" = keep ] && ok "a hard-linked pid file kept" || bad "other changed"
expect 1 "^tunroom connect: --pid-file $tmp/hard.pid: the file has other hard links" \
	"$TUNROOM" connect -b --pid-file "$tmp/hard.pid" -s '' https://127.0.0.1:9
expect 1 "^tunroom connect: --pid-file $tmp/live.pid: process $$, which is still running" \
	"$TUNROOM" connect -b --pid-file "$tmp/live.pid" -s '' https://127.0.0.1:9

# show/down with no tunnel running.
expect 0 '^tunroom show: no tunnel is running \(no control socket in ' "$TUNROOM" show
expect 0 '^\[\]$' "$TUNROOM" show --json
expect 1 'tr9: no such tunnel' "$TUNROOM" show tr9
expect 1 "no such tunnel \(nothing at $TUNROOM_RUN_DIR/tr9.sock\)" "$TUNROOM" down tr9

# A fake tunnel answering on the control socket.
"$FAKE" "$TUNROOM_RUN_DIR" tr0 >"$tmp/fake.out" &
fake_pid=$!
for _ in $(seq 100); do grep -q ready "$tmp/fake.out" 2>/dev/null && break; sleep 0.05; done
expect 0 '^tr0: esp aes128-gcm mtu 1438 state up pid [0-9]+ uptime 12s$' "$TUNROOM" show
expect 0 '^    listen 192.0.2.1:4500 endpoint 192.0.2.2:4500$' "$TUNROOM" show tr0
expect 0 '^    spi out 0x00001001 in 0x00001002 replay-window 1024$' "$TUNROOM"
expect 0 '^    RX:  packets  bytes +err_auth  drop_replay' "$TUNROOM" show -s tr0
expect 0 '^       +1000 +1400000 +3 +2 +0 +1 +2 +3$' "$TUNROOM" show tr0 -s
expect 0 '^    copies 0$' "$TUNROOM" show -s
expect 0 '^         drop_trunc  drop_socket  drop_not_esp  drop_next_header  drop_ring_full$' "$TUNROOM" show -s
if "$TUNROOM" show -s | awk 'length > 100 || / $/ { bad = 1 } END { exit bad }'; then
	ok "show -s: rows wrap before 100 columns, no trailing blanks"
else
	bad "show -s: a row is too wide or ends in a blank"
fi
if "$TUNROOM" show --json tr0 | python3 -c '
import json, sys
t = json.load(sys.stdin)[0]
assert t["name"] == "tr0" and t["mtu"] == 1438 and t["out_spi"] == "0x00001001", t
assert t["note"] == "say \"hi\"\\", t["note"]
s = t["stats"]
assert s["rx_packets"] == 1000 and s["rx_err_auth"] == 3 and s["tx_drop_ring_full"] == 0, s
assert s["copies"] == 0, s
'; then ok "show --json parses with counters"; else bad "show --json"; fi
# Completion offers the running tunnel, the subcommands and the ciphers.
complete_words() { # words...: what bash would offer for the last one
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tunroom; echo "${COMPREPLY[*]}"' \
		_ "$COMPLETION" "$@"
}
COMPLETION=$(dirname "$MANPAGE")/../completion/tunroom.bash-completion
expect 0 '^up$' complete_words tunroom u
expect 0 'tr0' complete_words tunroom down t
expect 0 '^aes256-gcm aes256-cbc-sha256$' complete_words tunroom genkey aes256
expect 0 '^--json$' complete_words tunroom show --j
expect 0 '^--servercert$' complete_words tunroom connect --serv
expect 0 '^--crypto$' complete_words tunroom connect --cry
expect 0 '^--pid-file$' complete_words tunroom up --pid
expect 0 '^openssl$' complete_words tunroom connect --crypto o
# up NAME: the names of $TUNROOM_CONF_DIR/*.conf (as wg-quick up wg0).
mkdir -p "$TUNROOM_RUN_DIR/etc" && : >"$TUNROOM_RUN_DIR/etc/tr7.conf"
expect 0 'tr7' env TUNROOM_CONF_DIR="$TUNROOM_RUN_DIR/etc" bash -c 'source "$1"; COMP_WORDS=(tunroom up tr); COMP_CWORD=2; _tunroom; echo "${COMPREPLY[*]}"' _ "$COMPLETION"
expect 0 '' "$TUNROOM" down tr0
if wait "$fake_pid"; then ok "fake tunnel stopped by down"; else bad "fake tunnel exit"; fi
fake_pid=
[ -e "$TUNROOM_RUN_DIR/tr0.sock" ] && bad "socket left behind" || ok "socket removed"

# A stale socket: show skips and removes it, down says so.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
	"$TUNROOM_RUN_DIR/tr5.sock"
expect 1 'tr5: not running \(removed its stale control socket\)' "$TUNROOM" down tr5
[ -e "$TUNROOM_RUN_DIR/tr5.sock" ] && bad "stale socket kept" || ok "stale socket removed"

# The man page renders without groff warnings.
if command -v groff >/dev/null; then
	w=$(groff -man -ww -z -Tutf8 "$MANPAGE" "$(dirname "$MANPAGE")/tunroom.conf.5" 2>&1)
	[ -z "$w" ] && ok "man page: no groff warnings" || bad "man page warnings: $w"
	if MANWIDTH=80 man -l "$MANPAGE" 2>/dev/null | grep -q 'genkey CIPHER'; then
		ok "man -l renders"
	else
		bad "man -l $MANPAGE"
	fi
else
	echo "skip man page checks: groff not installed"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
