#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages tunroom needs to build, test, demo and
# benchmark, but only those that are missing. Usage: deps.sh [build|check|demo|bench]
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libc6-dev libssl-dev liburing-dev libmnl-dev libseccomp-dev libsystemd-dev
  libgnutls28-dev libxml2-dev)
# AES-GCM through Intel's ipsec-mb (src/codec/aead_imb.h): Debian builds it
# for amd64 only; elsewhere tunroom builds with OpenSSL alone.
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] && build_pkgs+=(libipsec-mb-dev)
# clang only recommends libclang-rt (libFuzzer, the sanitizer runtimes); we
# install without recommends, so name it.
check_pkgs=(libcmocka-dev g++ binutils iproute2 iputils-ping python3 python3-cryptography clang libclang-rt-14-dev valgrind
  ocserv openconnect gnutls-bin nftables conntrack openssl vpnc-scripts)
demo_pkgs=(iproute2 iputils-ping iperf3 ocserv gnutls-bin openssl)
# golang-go builds the newest wireguard-go from its vendored source; the
# Debian wireguard-go (2022) stays as a labelled row. strongSwan: charon with
# kernel-libipsec (libcharon-extra-plugins) and AES-GCM through the openssl
# plugin (libstrongswan-standard-plugins).
bench_pkgs=(iproute2 iperf3 wireguard-go wireguard-tools golang-go ocserv openconnect gnutls-bin gnuplot-nox
  linux-perf openvpn strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
  libcharon-extra-plugins util-linux)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  check) want+=("${check_pkgs[@]}") ;;
  demo)  want+=("${demo_pkgs[@]}") ;;
  bench) want+=("${check_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "deps.sh: unknown set '$1' (build|check|demo|bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
# The package lists may be missing or stale on a fresh machine: refresh them
# once, up front if apt knows no candidate, else only if the install fails.
if ! apt-cache policy "${missing[0]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -qq
fi
install || { apt-get update -qq && install; }
